import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';
import { insertAttendedMentoring } from './helpers/attendance-fixtures.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage } from './helpers/browser.ts';
import { settled, shootScreen } from './helpers/screens.ts';
import { startWebhookReceiver } from './helpers/webhook-receiver.ts';

buildWebClient();

const hm = (iso: string, timeZone: string) => new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }).format(new Date(iso));

// Issue 21, coordinator: a defence scheduled on a slot where the candidate
// and both jury members (Kolkata, New York) are free, shown in the
// coordinator's zone; a session's attendance read and the path's attendance
// exported as CSV. Through the UI; the fixtures stand for what other
// screens and the room wrote (validated projects, jury hours, a past session).
t.test('browser: in Chromium: a coordinator schedules a defence on a common slot and exports the attendance CSV', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, db, url } = ctx;
  await db.execute(`UPDATE project_progress SET state = 'validated' WHERE enrollment_id = $1`, [demo.enrollmentId]);
  const everyDay = (start: string, end: string) => [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start, end }));
  for (const [who, weekly] of [
    [demo.jury[0], everyDay('13:30', '21:30')],
    [demo.jury[1], everyDay('08:00', '16:00')],
  ] as const) {
    const res = await api(url, 'PUT', `/hosts/${who.id}/availability`, await ctx.login(who), { timeZone: who.timeZone, weekly });
    t.equal(res.status, 200, `hours of ${who.name}`);
  }
  const startsAt = new Date(Date.now() - 26 * 3_600_000);
  const pastId = await insertAttendedMentoring(db, demo, { startsAt, projectIndex: 5 });
  // Its recording, processed, with an integrity report that finds the mentor's audio missing and a network gap.
  const report = {
    scheduledMs: 45 * 60_000,
    expectedMs: 40 * 60_000,
    recordedMs: 38 * 60_000,
    sessionCoverage: 0.89,
    stopReason: 'stopped',
    tracks: [],
    gaps: [{ userId: demo.student.id, source: 'all', fromOffsetMs: 60_000, toOffsetMs: 90_000, durationMs: 30_000, reason: 'participant_network' }],
    unplayableSegments: [],
    missingTracks: [{ userId: demo.mentor.id, role: 'mentor', missing: ['audio'] }],
    ok: false,
  };
  const recordingId = (await db.one<{ id: string }>(
    `INSERT INTO recordings (session_id, status, started_at, stopped_at, stop_reason, processed_at, report) VALUES ($1, 'ready', $2, $3, 'stopped', $3, $4) RETURNING id`,
    [pastId, startsAt, new Date(startsAt.getTime() + 40 * 60_000), JSON.stringify(report)],
  ))!.id;

  const browser = await launchBrowser(t);
  const { page, errors } = await newPage(browser, url);
  await loginThroughForm(page, demo.coordinator);

  // ---- a webhook subscription for the school's other systems
  const receiver = await startWebhookReceiver(t);
  await page.locator('#nav-webhooks').click();
  await page.locator('#hooks-list:not([aria-busy])').waitFor();
  await page.locator('#hooks-url').fill(receiver.url);
  await page.locator('#hooks-description').fill('Registrar');
  await page.locator('#hooks-create').click();
  await page.locator('#hooks-secret-value').waitFor();
  t.ok(((await page.locator('#hooks-secret-value').textContent()) ?? '').length >= 16, 'the signing secret is shown once');
  await page.locator('#hooks-list li[data-subscription-id]').waitFor();
  await page.goto('/#/sessions');

  // ---- the defence
  await page.locator('#nav-defences-new').click();
  await page.locator(`#defence-jury input[value="${demo.jury[0].id}"]`).waitFor();
  await page.locator('#defence-candidate').selectOption(demo.student.id);
  await page.locator('#defence-find').click();
  await page.locator('#defence-status', { hasText: '2 ou 3' }).waitFor();
  t.pass('fewer than two jury members: asked for 2 or 3 before any request');
  await page.locator(`#defence-jury input[value="${demo.jury[0].id}"]`).check();
  await page.locator(`#defence-jury input[value="${demo.jury[1].id}"]`).check();
  // A candidate who may not hold a defence: the server's refusal, in the coordinator's language.
  await page.locator('#defence-candidate').selectOption(demo.soloStudent.id);
  await page.locator('#defence-find').click();
  await page.locator('#defence-status.error').waitFor();
  const refusal = (await page.locator('#defence-status').textContent())!;
  t.match(refusal, /Premium Plus|n'a pas encore validé/, `the refusal is translated: "${refusal}"`);
  t.notMatch(refusal, /premium_plus|required|not validated/i, 'no raw English detail or code inside');
  await page.locator('#defence-candidate').selectOption(demo.student.id);
  await page.locator('#defence-find').click();
  await page.locator('#defence-slots button.slot').first().waitFor();
  await settled(page);
  const slots = await page.locator('#defence-slots button.slot').evaluateAll((els) => els.map((e) => e.getAttribute('data-starts-at')!));
  t.ok(slots.length > 0, 'common free slots are shown');
  // Kolkata 13:30–21:30 and New York 08:00–16:00 meet from 13:30 to 16:00 New York time in winter (a 60-minute defence).
  t.ok(slots.every((s) => hm(s, 'Asia/Kolkata') >= '13:30' && hm(s, 'America/New_York') >= '08:00' && hm(s, 'America/New_York') <= '15:00'), 'every slot lies in both jury members’ hours');
  // Each language change redraws the form: the jury is chosen again and the common slots shown before each shot.
  const showSlots = async (p: typeof page) => {
    await p.locator(`#defence-jury input[value="${demo.jury[0].id}"]`).check();
    await p.locator(`#defence-jury input[value="${demo.jury[1].id}"]`).check();
    await p.locator('#defence-find').click();
    await p.locator('#defence-slots button.slot').first().waitFor();
  };
  await shootScreen(page, 'defence-schedule', '#defence-form', 'fr', showSlots).then((v) => t.same(v, { en: [], fr: [], es: [] }, 'defence scheduling: no serious accessibility violation'));
  const chosen = slots[0]!;
  const button = page.locator(`#defence-slots button.slot[data-starts-at="${chosen}"]`);
  t.equal((await button.textContent())!.trim(), new Intl.DateTimeFormat('fr', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Paris' }).format(new Date(chosen)), 'in the coordinator’s zone');
  await button.click();
  await page.locator('#defence-status', { hasText: 'Soutenance planifiée' }).waitFor();
  const juryView = await api(url, 'GET', '/sessions', await ctx.login(demo.jury[0]));
  const defence = juryView.body.sessions.find((s: { kind: string }) => s.kind === 'defence');
  t.equal(defence?.startsAt, chosen, 'the jury member has the defence at that time');
  t.same(defence.participants.map((p: { userId: string }) => p.userId).sort(), [demo.student.id, demo.jury[0].id, demo.jury[1].id].sort());

  // ---- its delivery to the other systems, on the webhooks screen
  await receiver.until((r) => r.some((h) => h.json.event === 'session.booked'));
  await page.goto('/#/webhooks');
  await page.locator('#hooks-list .show-deliveries').click();
  const row = page.locator('#hooks-deliveries-table tr', { hasText: 'session.booked' });
  await row.waitFor();
  t.ok(['delivered', 'pending', 'retrying'].includes((await row.getAttribute('data-status'))!), 'the booking of the defence is among the deliveries');
  await shootScreen(page, 'webhooks', '#hooks-form', 'fr').then((v) => t.same(v, { en: [], fr: [], es: [] }, 'webhooks: no serious accessibility violation'));

  // ---- the jury member, before the defence: the candidate's path from the sessions page
  const jury = await newPage(browser, url);
  await loginThroughForm(jury.page, demo.jury[0]);
  await jury.page.locator(`#sessions-list li[data-session-id="${defence.id}"] a.candidate-path`).click();
  await jury.page.locator('#path-projects').waitFor();
  await settled(jury.page);
  t.equal(await jury.page.locator('#path-projects li[data-state="validated"]').count(), 6, "the jury reads the candidate's path: every project validated");
  t.same(jury.errors, [], 'no page errors (jury)');

  // ---- attendance of a session, and the CSV export
  await page.goto('/#/attendance');
  await page.locator('#att-pick').waitFor();
  await page.locator(`#att-student option[value="${demo.student.id}"]`).waitFor({ state: 'attached' });
  await page.locator('#att-student').selectOption(demo.student.id);
  await page.locator('#att-show').click();
  await page.locator(`#att-sessions li[data-session-id="${pastId}"] button`).click();
  await page.locator('#att-table').waitFor();
  t.equal(await page.locator(`#att-table tr[data-user-id="${demo.student.id}"] td`).nth(1).textContent(), 'Présent·e', 'the student attended, in the coordinator’s language');
  await settled(page);
  await shootScreen(page, 'attendance', '#att-pick', 'fr').then((v) => t.same(v, { en: [], fr: [], es: [] }, 'attendance: no serious accessibility violation'));
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#att-export').click()]);
  await page.locator('#att-status', { hasText: 'Export téléchargé' }).waitFor();
  const rows = parse(readFileSync((await download.path())!, 'utf8'), { columns: true }) as Array<Record<string, string>>;
  const mine = rows.filter((r) => r.session_id === pastId);
  t.same(mine.map((r) => r.participant_email).sort(), [demo.mentor.email, demo.student.email].sort(), 'the CSV has the session, one row per participant');
  t.match(download.suggestedFilename(), /^attendance-.*\.csv$/);

  // ---- the session's recording and its integrity report
  await page.locator('#att-student').selectOption(demo.student.id);
  await page.locator('#att-show').click();
  await page.locator(`#att-sessions li[data-session-id="${pastId}"] a.recordings-link`).click();
  const integrity = page.locator(`#recordings-list li[data-recording-id="${recordingId}"] .integrity`);
  await integrity.waitFor();
  t.equal(await integrity.getAttribute('data-ok'), 'false');
  const summary = (await integrity.textContent())!;
  t.match(summary, /Incomplet/);
  t.match(summary, /Manquant : Julien Moreau \(son\)/, "whose audio is missing, by name, in the coordinator's language");
  t.match(summary, /1 trous, 30 s au total/);
  t.match(summary, /Enregistré 38 min sur 40 min \(89 % de la session prévue\)/);
  await shootScreen(page, 'recordings-integrity', '#recordings-list .integrity', 'fr').then((v) => t.same(v, { en: [], fr: [], es: [] }, 'recordings: no serious accessibility violation'));

  t.same(errors, [], 'no page errors');
});
