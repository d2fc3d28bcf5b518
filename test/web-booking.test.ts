import t from 'tap';
import { startTestApp } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage } from './helpers/browser.ts';
import { settled, shootScreen } from './helpers/screens.ts';

buildWebClient();

const hourIn = (iso: string, timeZone: string) => Number(new Intl.DateTimeFormat('en-GB', { hour: '2-digit', hourCycle: 'h23', timeZone }).format(new Date(iso)));

// Issue 21, student and mentor: the mentor publishes weekly hours in Paris
// through the availability screen; the student (Montreal) books a slot seen
// in their own zone, and it appears on the mentor's page in Paris time; the
// mentor adds afternoon hours and the student sees the new slots; the
// student moves and cancels with the policy shown first. Through the UI only.
t.test('browser: in Chromium: a mentor publishes availability, a student books, moves and cancels', async (t) => {
  const ctx = await startTestApp(t);
  const { demo } = ctx;
  const browser = await launchBrowser(t);
  const mentor = await newPage(browser, ctx.url);
  const student = await newPage(browser, ctx.url);
  const m = mentor.page;
  const s = student.page;

  // ---- mentor: weekly hours 09:00–12:00 every day, in their own zone
  await loginThroughForm(m, demo.mentor);
  await m.locator('#nav-availability').click();
  await m.locator('#avail-form').waitFor();
  await settled(m);
  t.equal(await m.locator('#avail-zone').inputValue(), 'Europe/Paris', 'hours are set in the mentor’s own zone');
  t.match(await m.locator('#avail-preview').textContent(), /Aucun créneau/, 'no slot before any hours');
  for (let day = 1; day <= 7; day++) await m.locator(`#avail-add-${day}`).click();
  await m.locator('#avail-save').click();
  await m.locator('#avail-status', { hasText: 'Enregistré' }).waitFor();
  await settled(m);
  t.match(await m.locator('#avail-preview').textContent(), /\d+ créneaux/, 'the preview shows the slots students now see');

  // ---- student: the next free slot, in Montreal time, booked
  await loginThroughForm(s, demo.student);
  await s.locator('#nav-book').click();
  await s.locator('#book-next-slot').waitFor();
  await settled(s);
  t.match(await s.locator('#book-zone').textContent(), /America\/Montreal/);
  const weekStarts = await s.locator('#book-week button.slot').evaluateAll((els) => els.map((e) => e.getAttribute('data-starts-at')!));
  t.ok(weekStarts.length > 0, 'the week of the next free slot is shown');
  t.ok(weekStarts.every((iso) => hourIn(iso, 'Europe/Paris') >= 9 && hourIn(iso, 'Europe/Paris') < 12), 'only the morning hours in Paris');
  const startsAt = (await s.locator('#book-next-slot').getAttribute('data-starts-at'))!;
  t.equal(startsAt, [...weekStarts].sort()[0], 'the next free slot comes first');
  const shown = (await s.locator(`#book-week button.slot[data-starts-at="${startsAt}"]`).textContent())!;
  const montreal = new Intl.DateTimeFormat('fr', { hour: '2-digit', minute: '2-digit', timeZone: 'America/Montreal' }).format(new Date(startsAt));
  t.equal(shown.trim(), montreal, 'the slot is labelled in the student’s zone');
  t.ok(hourIn(startsAt, 'America/Montreal') < 7, 'a Paris morning is a Montreal night');
  await s.locator('#book-next-slot').click();
  await s.locator('#book-confirm-button').click();
  await s.locator('#book-status', { hasText: 'Réservé' }).waitFor();
  await settled(s);
  t.equal(await s.locator('#book-mine li.session').count(), 1, 'listed among the student’s sessions');
  t.equal(await s.locator(`#book-week button.slot[data-starts-at="${startsAt}"]`).count(), 0, 'the slot is no longer offered');

  // ---- mentor: the booking on their page, in Paris time
  await m.goto('/#/sessions');
  const booked = m.locator('#sessions-list li.session').first();
  await booked.waitFor();
  t.equal(await booked.locator('time').first().getAttribute('datetime'), startsAt);
  const paris = new Intl.DateTimeFormat('fr', { dateStyle: 'full', timeStyle: 'short', timeZone: 'Europe/Paris' }).format(new Date(startsAt));
  t.equal(await booked.locator('time').first().textContent(), paris, 'the mentor reads it in Paris time');

  // ---- mentor: adds afternoons; the student then sees them
  await m.locator('#nav-availability').click();
  await m.locator('#avail-form').waitFor();
  await settled(m);
  for (let day = 1; day <= 7; day++) {
    await m.locator(`#avail-add-${day}`).click();
    await m.locator(`#avail-day-${day} .interval >> nth=1 >> input.from`).fill('14:00');
    await m.locator(`#avail-day-${day} .interval >> nth=1 >> input.to`).fill('18:00');
  }
  await m.locator('#avail-save').click();
  await m.locator('#avail-status', { hasText: 'Enregistré' }).waitFor();
  await s.reload();
  await s.locator('#book-next-slot').waitFor();
  await settled(s);
  const after = await s.locator('#book-week button.slot').evaluateAll((els) => els.map((e) => e.getAttribute('data-starts-at')!));
  const afternoon = after.filter((iso) => hourIn(iso, 'Europe/Paris') >= 14);
  t.ok(afternoon.length > 0, 'the student sees the new afternoon slots');
  t.ok(afternoon.every((iso) => hourIn(iso, 'America/Montreal') >= 8 && hourIn(iso, 'America/Montreal') < 12), 'in their own zone: 14:00–18:00 in Paris is 08:00–12:00 in Montreal');

  // ---- student: moves the session, the policy stated before
  const late = (iso: string) => Date.parse(iso) - Date.now() < 24 * 3_600_000;
  await s.locator('#book-mine li.session button', { hasText: 'Déplacer' }).click();
  t.match(await s.locator('#book-mode').textContent(), late(startsAt) ? /compte comme tardif/ : /dans les temps/, 'the policy is shown before moving');
  const target = afternoon[0]!;
  await s.locator(`#book-week button.slot[data-starts-at="${target}"]`).click();
  t.match(await s.locator('#book-confirm').textContent(), late(startsAt) ? /tardif/ : /dans les temps/);
  await s.locator('#book-confirm-button').click();
  await s.locator('#book-status', { hasText: 'Déplacée' }).waitFor();
  await settled(s);
  t.equal(await s.locator('#book-mine li.session time').getAttribute('datetime'), new Date(target).toISOString());

  // Shot with the confirmation open, so that it is checked too.
  const openConfirm = async (p: typeof s) => {
    await p.locator('#book-next-slot').click();
    await p.locator('#book-confirm-button').waitFor();
  };
  await shootScreen(s, 'book', '#book-next-slot', 'fr', openConfirm).then((v) => t.same(v, { en: [], fr: [], es: [] }, 'booking: no serious accessibility violation'));
  await shootScreen(m, 'availability', '#avail-form', 'fr').then((v) => t.same(v, { en: [], fr: [], es: [] }, 'availability: no serious accessibility violation'));

  // ---- student: cancels, told first whether it counts as late
  await s.locator('#book-mine li.session button', { hasText: 'Annuler' }).click();
  const policy = (await s.locator('#book-mine .policy-panel .policy').textContent())!;
  t.match(policy, late(target) ? /compte comme une annulation tardive/ : /dans les temps/, 'the cancellation policy is shown before it applies');
  await s.locator('#book-mine button', { hasText: "Oui, l'annuler" }).click();
  await s.locator('#book-status', { hasText: 'annulée' }).waitFor();
  await settled(s);
  t.equal(await s.locator('#book-mine li.session').count(), 0);

  t.same(mentor.errors, [], 'no page errors (mentor)');
  t.same(student.errors, [], 'no page errors (student)');
});
