import t from 'tap';
import { hashPassword } from '../src/auth/index.ts';
import { startTestApp } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage } from './helpers/browser.ts';
import { settled, shootScreen } from './helpers/screens.ts';
import { insertSession } from './helpers/sessions.ts';

buildWebClient();

const MINUTE = 60_000;
const full = (d: Date, timeZone: string) => new Intl.DateTimeFormat('en', { dateStyle: 'full', timeStyle: 'short', timeZone }).format(d);
const short = (d: Date, timeZone: string) => new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit', timeZone }).format(d);

// Issue 21, jury member: their upcoming defences (candidate, path, time in
// their zone, fellow members, the candidate's path) and the way into the room
// once it opens, through the UI only; another panel's defence is not there.
t.test("browser: in Chromium: a jury member's upcoming defences, in their zone, with the room link when it opens", async (t) => {
  const ctx = await startTestApp(t);
  const { demo, db, url } = ctx;
  const thirdId = (await db.one<{ id: string }>(
    `INSERT INTO users (email, name, role, time_zone, locale, password_hash) VALUES ('jury3@demo.school', 'Amara Okafor', 'jury', 'Africa/Lagos', 'en', $1) RETURNING id`,
    [await hashPassword('jury-demo-3')],
  ))!.id;
  const defence = (startsAt: Date, jury: string[], student = demo.student.id, enrollmentId = demo.enrollmentId) =>
    insertSession(db, {
      kind: 'defence',
      enrollmentId,
      hostId: jury[0]!,
      startsAt,
      endsAt: new Date(startsAt.getTime() + 60 * MINUTE),
      participants: [{ userId: student, role: 'student' }, ...jury.map((userId) => ({ userId, role: 'jury' as const }))],
    });
  const early = ctx.config.rooms.joinEarlyMinutes * MINUTE;
  // Opens in 20 seconds: the list turns its link on by itself.
  const soon = new Date(Date.now() + early + 20_000);
  const later = new Date(Math.ceil((Date.now() + 50 * 60 * MINUTE) / (15 * MINUTE)) * 15 * MINUTE);
  const soonId = await defence(soon, [demo.jury[0].id, demo.jury[1].id]);
  const laterId = await defence(later, [demo.jury[0].id, demo.jury[1].id]);
  await defence(new Date(later.getTime() - 24 * 60 * MINUTE), [demo.jury[1].id, thirdId], demo.soloStudent.id, demo.soloEnrollmentId);

  const browser = await launchBrowser(t);
  const { page, errors } = await newPage(browser, url, { locale: 'en-GB' });
  await loginThroughForm(page, demo.jury[0]);
  await page.locator('#nav-defences').click();
  await page.locator('#defences-list:not([aria-busy])').waitFor();
  await settled(page);

  const items = page.locator('#defences-list > li[data-session-id]');
  t.same(await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-session-id'))), [soonId, laterId], 'their two defences, soonest first; not the other panel’s');
  t.notMatch(await page.locator('#defences-list').textContent(), /Lucía Romero|Amara Okafor/, "nothing of another panel's defence");
  t.match(await page.locator('#defences-zone').textContent(), /Asia\/Kolkata/, "the jury member's zone is named");

  const next = page.locator(`li[data-session-id="${laterId}"]`);
  t.equal(await next.locator('h2').textContent(), 'Camille Tremblay', 'the candidate');
  t.match(await next.locator('.path-title').textContent(), /^Path: .+/, 'their path');
  t.match(await next.locator('time').first().textContent(), full(later, 'Asia/Kolkata'), 'the start in Kolkata time');
  t.match(await next.textContent(), `The candidate's time: ${short(later, 'America/Montreal')}`, "and in the candidate's");
  const panel = await next.locator('ul.panel li').allTextContents();
  t.same(panel.length, 2, 'the panel');
  t.ok(panel.includes('Priya Raman (you)'), 'oneself, marked');
  t.ok(panel.some((p) => p.startsWith(`Daniel Brooks — ${short(later, 'America/New_York')} their time, America/New_York`)), `the fellow member at his own time: ${panel.join(' | ')}`);
  t.equal(await next.getAttribute('data-room-open'), 'false');
  t.equal(await next.locator('a.join').count(), 0, 'no way in before the room opens');
  t.match(await next.locator('.opens').textContent(), `The room opens ${full(new Date(later.getTime() - early), 'Asia/Kolkata')}`, 'when it opens, in their zone');
  t.equal(await next.locator('a.candidate-path').getAttribute('href'), `#/students/${demo.student.id}/path`, "the candidate's path and evaluations");

  // The first one opens while the list is on screen: the link appears without a reload.
  const first = page.locator(`li[data-session-id="${soonId}"]`);
  t.equal(await first.getAttribute('data-room-open'), 'false', 'not open yet');
  await page.locator(`li[data-session-id="${soonId}"][data-room-open="true"] a.join`).waitFor({ timeout: 60_000 });
  t.pass('the room link appeared at the opening time');

  const found = await shootScreen(page, 'jury-defences', '#defences-list:not([aria-busy])', 'en');
  t.same(found, { en: [], fr: [], es: [] }, 'no serious accessibility violation in any language');
  t.match(await page.locator('h1').textContent(), 'Upcoming defences');

  // Into the room from the list.
  await page.locator(`li[data-session-id="${soonId}"] a.join`).click();
  await page.waitForURL(`**/#/sessions/${soonId}`);
  await page.locator('.room[data-status="joined"]').waitFor({ state: 'attached' });
  t.pass('joined the defence room from the list');
  t.same(errors, [], 'no page error');
});
