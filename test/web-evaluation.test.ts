import t from 'tap';
import { startTestApp } from './helpers/app.ts';
import { insertAttendedMentoring } from './helpers/attendance-fixtures.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage } from './helpers/browser.ts';
import { settled, shootScreen } from './helpers/screens.ts';

buildWebClient();

// Issue 21, mentor and student: after a session that took place, the mentor
// finds it on the student's path, reads its record and validates the
// project on the same page; the student's path then shows it validated and
// the next project unlocked, with the mentor's comments. Through the UI only
// (the past session and its presence log are fixtures: the room wrote them).
t.test('browser: in Chromium: a mentor validates a project after a session, the student sees the next one unlocked', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, db } = ctx;
  const sessionId = await insertAttendedMentoring(db, demo, { startsAt: new Date(Date.now() - 3 * 3_600_000) });

  const browser = await launchBrowser(t);
  const mentor = await newPage(browser, ctx.url);
  const student = await newPage(browser, ctx.url);
  const m = mentor.page;
  const s = student.page;

  // ---- mentor: students → the student's path → the session → evaluation
  await loginThroughForm(m, demo.mentor);
  await m.locator('#nav-students').click();
  await m.locator(`#students-list li[data-student-id="${demo.student.id}"] a`).waitFor();
  await shootScreen(m, 'students', '#students-list', 'fr').then((v) => t.same(v, { en: [], fr: [], es: [] }, 'students: no serious accessibility violation'));
  await m.locator(`#students-list li[data-student-id="${demo.student.id}"] a`).click();
  await m.locator('#path-projects').waitFor();
  await settled(m);
  t.match(await m.locator('#path-title').textContent(), /Camille Tremblay/);
  t.equal(await m.locator(`#path-projects li[data-project-id="${demo.projectIds[0]}"]`).getAttribute('data-state'), 'in_progress');
  await shootScreen(m, 'student-path-mentor', '#path-projects', 'fr').then((v) => t.same(v, { en: [], fr: [], es: [] }, 'path (mentor): no serious accessibility violation'));
  await m.locator(`#path-sessions li[data-session-id="${sessionId}"] a.evaluate`).click();
  await m.locator('#eval-form').waitFor();
  await settled(m);
  t.equal(await m.locator(`#eval-attendance tr[data-user-id="${demo.student.id}"]`).count(), 1, 'the session record is on the same page');
  t.match(await m.locator('#eval-record').textContent(), /Set up your developer environment/);
  await shootScreen(m, 'evaluation', '#eval-form', 'fr').then((v) => t.same(v, { en: [], fr: [], es: [] }, 'evaluation: no serious accessibility violation'));
  await m.locator('#eval-validated').check();
  await m.locator('#eval-feedback').fill('Environnement prêt, page publiée. Bravo !');
  await m.locator('#eval-submit').click();
  await m.locator('#eval-status', { hasText: 'Évaluation enregistrée' }).waitFor();
  t.equal(await m.locator('.evaluation[data-outcome="validated"]').count(), 1, 'the evaluation replaces the form');

  // ---- student: the path shows the project validated and the next unlocked
  await loginThroughForm(s, demo.student);
  await s.locator('#nav-path').click();
  await s.locator('#path-projects').waitFor();
  await settled(s);
  const state = (i: number) => s.locator(`#path-projects li[data-project-id="${demo.projectIds[i]}"]`).getAttribute('data-state');
  t.equal(await state(0), 'validated', 'the first project is validated');
  t.equal(await state(1), 'in_progress', 'the next project is unlocked');
  t.equal(await state(2), 'locked');
  t.match(await s.locator(`#path-projects li[data-project-id="${demo.projectIds[0]}"]`).textContent(), /Validé.*Bravo/s, "the mentor's evaluation is shown with the project");
  t.match(await s.locator('#path-count').textContent(), /1 projets validés sur 6/);
  await shootScreen(s, 'path', '#path-projects', 'fr').then((v) => t.same(v, { en: [], fr: [], es: [] }, 'path: no serious accessibility violation'));

  // Coming back to an evaluated session shows its evaluation, not the form again.
  await m.reload(); // the same hash: a reload reads the session again
  await m.locator('#eval-existing').waitFor();
  t.match(await m.locator('#eval-existing').textContent(), /a été évaluée/);

  t.same(mentor.errors, [], 'no page errors (mentor)');
  t.same(student.errors, [], 'no page errors (student)');
});
