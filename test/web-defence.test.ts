import t from 'tap';
import { startTestApp } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage, screenshot } from './helpers/browser.ts';
import { insertLiveDefence } from './helpers/sessions.ts';

buildWebClient();

t.test('browser: jury defence in Chromium: the candidate waits in the lobby, the jury admits and moves the phases', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, db } = ctx;
  const sessionId = await insertLiveDefence(db, demo);
  const browser = await launchBrowser(t);
  const jury = await newPage(browser, ctx.url);
  const candidate = await newPage(browser, ctx.url);
  await loginThroughForm(jury.page, demo.jury[0], `/#/sessions/${sessionId}`);
  await jury.page.locator('.room[data-status="joined"]').waitFor({ state: 'attached' });
  await loginThroughForm(candidate.page, demo.student, `/#/sessions/${sessionId}`);
  await candidate.page.locator('.room[data-status="joined"]').waitFor({ state: 'attached' });

  // The candidate: lobby screen and phase (in French, the student's language); recording shown.
  await candidate.page.locator('#lobby:not([hidden])').waitFor();
  await candidate.page.locator('#defence-panel .phase[data-phase="lobby"]').waitFor();
  t.match(await candidate.page.locator('#defence-panel .phase').textContent(), /Salle d'attente/);
  t.equal(await candidate.page.locator('#defence-panel button').count(), 0, 'the candidate has no jury controls');
  await candidate.page.locator('#recording-indicator:not([hidden])').waitFor();
  t.pass('the candidate sees that the defence is recorded');
  await screenshot(candidate.page, 'defence-lobby');

  // The jury admits the candidate: the phase moves for both, the lobby goes, the jury sees the candidate.
  await jury.page.locator('#defence-panel .phase[data-phase="lobby"]').waitFor();
  await jury.page.getByRole('button', { name: 'Admit the candidate' }).click();
  await candidate.page.locator('#defence-panel .phase[data-phase="presentation"]').waitFor();
  await candidate.page.locator('#lobby').waitFor({ state: 'hidden' });
  await jury.page.waitForFunction((uid) => {
    const v = document.querySelector<HTMLVideoElement>(`video[data-user-id="${uid}"][data-source="webcam"]`);
    return !!v && v.videoWidth > 0;
  }, demo.student.id);
  t.pass('admitted: the jury sees the candidate');

  await jury.page.getByRole('button', { name: 'Go to: Questions' }).click();
  await candidate.page.locator('#defence-panel .phase[data-phase="questions"]').waitFor();
  t.match(await candidate.page.locator('#defence-panel .phase').textContent(), /Questions/);
  await screenshot(jury.page, 'defence-jury');
  t.same([...jury.errors, ...candidate.errors], [], 'no page error');
});
