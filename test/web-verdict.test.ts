import t from 'tap';
import { api, request as socketRequest, startTestApp } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage, screenshot } from './helpers/browser.ts';
import { insertLiveDefence } from './helpers/sessions.ts';
import { competenceBlocksOf, parseMark } from '../src/web/client/verdict.ts';

buildWebClient();

t.test('browser: jury verdict in Chromium: one jury member proposes a pass, both confirm, the candidate sees the diploma', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, db } = ctx;
  const sessionId = await insertLiveDefence(db, demo);
  const browser = await launchBrowser(t);
  const pages = { jury1: await newPage(browser, ctx.url), jury2: await newPage(browser, ctx.url), candidate: await newPage(browser, ctx.url) };
  const jury1 = pages.jury1.page;
  const jury2 = pages.jury2.page;
  const candidate = pages.candidate.page;
  for (const [page, who] of [[jury1, demo.jury[0]], [jury2, demo.jury[1]], [candidate, demo.student]] as const) {
    await loginThroughForm(page, who, `/#/sessions/${sessionId}`);
    await page.locator('.room[data-status="joined"]').waitFor({ state: 'attached' });
    await page.locator('#defence-panel .phase[data-phase="lobby"]').waitFor();
  }

  // The jury walks the defence to the verdict phase.
  await jury1.getByRole('button', { name: 'Admit the candidate' }).click();
  for (const phase of ['Questions', 'Deliberation', 'Verdict']) {
    await jury1.getByRole('button', { name: `Go to: ${phase}` }).click();
    await jury2.locator(`#defence-panel .phase[data-phase="${phase.toLowerCase()}"]`).waitFor();
  }
  await candidate.locator('#defence-panel .phase[data-phase="verdict"]').waitFor();

  // Both jury members get the form; the candidate gets none.
  const form = jury1.getByRole('form', { name: 'Propose the verdict' });
  await form.waitFor();
  await jury2.getByRole('form', { name: 'Propose the verdict' }).waitFor();
  t.equal(await candidate.locator('#verdict-form').count(), 0, 'the candidate has no verdict form');

  // An empty proposal is refused in the page: an alert, the first field marked and focused.
  await form.getByRole('button', { name: 'Propose this verdict' }).click();
  await form.getByRole('alert').waitFor();
  t.match(await form.getByRole('alert').textContent(), /Choose pass or fail/);
  t.equal(await jury1.evaluate(() => (document.activeElement as HTMLInputElement | null)?.value), 'pass', 'the focus goes to the first field in error');
  t.equal(await form.getByRole('radio', { name: 'Pass' }).getAttribute('aria-invalid'), 'true');

  // Filled by keyboard: the radio with Space, a block added with Enter (the focus moves to the new row), tabbing through fields.
  await form.getByRole('radio', { name: 'Pass' }).focus();
  await jury1.keyboard.press('Space');
  t.ok(await form.getByRole('radio', { name: 'Pass' }).isChecked(), 'pass chosen with the keyboard');
  await form.getByLabel('Block 1: code').fill('B1');
  await form.getByLabel('Block 1: mark out of 20').fill('15');
  for (const [n, code, mark] of [[2, 'B2', '14.5'], [3, 'B3', '16']] as const) {
    await form.getByRole('button', { name: 'Add a block' }).focus();
    await jury1.keyboard.press('Enter');
    t.equal(await jury1.evaluate(() => document.activeElement?.id), await form.getByLabel(`Block ${n}: code`).getAttribute('id'), `block ${n}: the new row has the focus`);
    await jury1.keyboard.type(code);
    await jury1.keyboard.press('Tab');
    await jury1.keyboard.type(mark);
  }
  await form.getByLabel('Comment').fill('A clear, well-argued defence.');
  await form.getByRole('button', { name: 'Propose this verdict' }).focus();
  await jury1.keyboard.press('Enter');
  await form.getByRole('status').filter({ hasText: 'Verdict proposed' }).waitFor();

  // Every jury member sees the proposal; the candidate does not.
  for (const page of [jury1, jury2]) {
    const proposal = page.getByRole('region', { name: 'Proposed verdict' });
    await proposal.waitFor();
    t.match(await proposal.locator('.proposed-by').textContent(), /Proposed by Priya Raman/);
    t.equal(await proposal.locator('.proposal-outcome').getAttribute('data-outcome'), 'pass');
    t.same(await proposal.locator('.marks li').allTextContents(), ['B1: 15/20', 'B2: 14.5/20', 'B3: 16/20']);
    t.match(await proposal.locator('.confirmations').textContent(), /Confirmations: 0 of 2/);
  }
  t.ok(await candidate.locator('#verdict-proposal').isHidden(), 'the candidate does not see the proposal');
  await screenshot(jury2, 'verdict-proposal');

  // The proposer confirms, then the second jury member: the defence is over.
  await jury1.getByRole('button', { name: 'Confirm this verdict' }).click();
  await jury1.locator('.confirmed-note').waitFor();
  t.equal(await jury1.getByRole('button', { name: 'Confirm this verdict' }).count(), 0, 'no second confirmation');
  await jury2.locator('.confirmations[data-count="1"]').waitFor();
  t.match(await jury2.locator('.confirmations').textContent(), /1 of 2 — confirmed by Priya Raman/);
  await jury2.getByRole('button', { name: 'Confirm this verdict' }).focus();
  await jury2.keyboard.press('Enter');

  // The candidate (in French) sees the pass and the diploma; the jury sees the result too.
  const result = candidate.locator('#verdict-outcome .result[data-outcome="pass"]');
  await result.waitFor();
  t.match(await result.textContent(), /Félicitations, vous êtes admis·e ! Votre diplôme a été délivré\./);
  await candidate.locator('#verdict-outcome .diploma-reference:not([hidden])').waitFor();
  t.match(await candidate.locator('#verdict-outcome .diploma-reference').textContent(), /Référence du diplôme : DIP-/);
  t.same(await candidate.locator('#verdict-outcome .marks li').allTextContents(), ['B1 : 15/20', 'B2 : 14,5/20', 'B3 : 16/20'], 'marks in French');
  await jury1.locator('#verdict-outcome .result[data-outcome="pass"]').waitFor();
  t.equal(await jury1.locator('#verdict-form').count(), 0, 'the form is gone once the defence is over');
  await screenshot(candidate, 'verdict-pass');

  const token = await ctx.login(demo.student);
  const progress = await api(ctx.url, 'GET', `/students/${demo.student.id}/progress`, token);
  t.equal(progress.status, 200);
  t.ok(progress.body.diploma, 'the diploma exists');
  t.equal(progress.body.diploma?.defenceSessionId, sessionId);
  t.match(await candidate.locator('#verdict-outcome .diploma-reference').textContent(), progress.body.diploma?.reference);
  t.equal(progress.body.defences.at(-1)?.outcome, 'pass');

  t.same([...pages.jury1.errors, ...pages.jury2.errors, ...pages.candidate.errors], [], 'no page error');
});

t.test('browser: a failed defence in Chromium: the candidate sees when a new defence is possible, in their language and time zone', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, db } = ctx;
  const sessionId = await insertLiveDefence(db, demo);
  const browser = await launchBrowser(t);
  const { page: candidate, errors } = await newPage(browser, ctx.url);
  await loginThroughForm(candidate, demo.student, `/#/sessions/${sessionId}`);
  await candidate.locator('#defence-panel .phase[data-phase="lobby"]').waitFor();

  // The jury, over the socket contract: to the verdict, a fail proposed and confirmed by both.
  const [a, b] = await Promise.all(demo.jury.map(async (j) => ctx.socket(await ctx.login(j), '/defence')));
  const ask = async (socket: typeof a, event: string, payload: object) => {
    const res = await socketRequest<{ id?: string }>(socket!, event, payload);
    t.notOk(res.error, `${event} accepted`);
    return res.data;
  };
  await ask(a, 'join', { sessionId });
  await ask(b, 'join', { sessionId });
  await ask(a, 'admit', { sessionId });
  for (const to of ['questions', 'deliberation', 'verdict']) await ask(a, 'advance', { sessionId, to });
  await candidate.locator('#defence-panel .phase[data-phase="verdict"]').waitFor();
  const marks = [{ block: 'B1', mark: 8 }, { block: 'B2', mark: 9.5 }, { block: 'B3', mark: 11 }];
  const verdict = await ask(a, 'proposeVerdict', { sessionId, verdict: { outcome: 'fail', marks, comment: 'Not yet: B1 and B2 need more work.' } });
  t.ok(await candidate.locator('#verdict-proposal').isHidden(), 'no proposal shown to the candidate');
  await ask(a, 'confirmVerdict', { sessionId, verdictId: verdict!.id });
  await ask(b, 'confirmVerdict', { sessionId, verdictId: verdict!.id });

  const result = candidate.locator('#verdict-outcome .result[data-outcome="fail"]');
  await result.waitFor();
  const text = (await result.textContent()) ?? '';
  const token = await ctx.login(demo.student);
  const progress = await api(ctx.url, 'GET', `/students/${demo.student.id}/progress`, token);
  const retake = progress.body.defences.at(-1)?.retakeAllowedFrom as string;
  t.ok(retake, 'a retake date');
  t.equal(progress.body.diploma, null, 'no diploma');
  const day = new Intl.DateTimeFormat('en', { day: 'numeric', timeZone: 'America/Montreal' }).format(new Date(retake));
  const year = new Intl.DateTimeFormat('en', { year: 'numeric', timeZone: 'America/Montreal' }).format(new Date(retake));
  t.match(text, /^Vous n’êtes pas admis·e cette fois-ci\. Une nouvelle soutenance est possible à partir du /);
  t.match(text, new RegExp(`\\b${day} \\S+ ${year}\\b`), 'the date in French, in the student’s zone');
  t.ok(await candidate.locator('#verdict-outcome .diploma-reference').isHidden(), 'no diploma reference');
  t.same(await candidate.locator('#verdict-outcome .marks li').allTextContents(), ['B1 : 8/20', 'B2 : 9,5/20', 'B3 : 11/20']);
  await screenshot(candidate, 'verdict-fail');
  t.same(errors, [], 'no page error');
});

t.test('marks as typed', async (t) => {
  t.equal(parseMark('15'), 15);
  t.equal(parseMark(' 14,5 '), 14.5);
  t.equal(parseMark('20'), 20);
  t.equal(parseMark('0'), 0);
  t.equal(parseMark('20.5'), undefined);
  t.equal(parseMark('-1'), undefined);
  t.equal(parseMark(''), undefined);
  t.equal(parseMark('1e1'), undefined);
});

t.test('competence blocks from the state, when it names them', async (t) => {
  const base = { sessionId: 's', candidateId: 'c', phase: 'verdict' };
  t.equal(competenceBlocksOf(base), undefined);
  t.equal(competenceBlocksOf({ ...base, competenceBlocks: [] }), undefined);
  t.same(competenceBlocksOf({ ...base, competenceBlocks: [{ code: 'B1', title: 'Design' }, { code: 'B2' }, 7] }), [{ code: 'B1', title: 'Design' }, { code: 'B2' }]);
  t.same(competenceBlocksOf({ ...base, blocks: ['B1', 'B2'] }), [{ code: 'B1' }, { code: 'B2' }]);
});
