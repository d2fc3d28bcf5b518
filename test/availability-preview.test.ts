import { DateTime } from 'luxon';
import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';

// Issue 21, mentor: the slots an availability would produce, shown while the
// rules are edited, computed by the server (the same slot rules as booking),
// nothing saved; only the host (or a coordinator) previews their hours.
t.test('POST /hosts/:id/availability/preview: the slots of unsaved rules, in the host’s zone, time off kept, nothing saved', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, url } = ctx;
  const [mentor, student, jury, coordinator] = await Promise.all([ctx.login(demo.mentor), ctx.login(demo.student), ctx.login(demo.jury[0]), ctx.login(demo.coordinator)]);
  const path = `/hosts/${demo.mentor.id}/availability`;
  const saved = (await api(url, 'GET', path, mentor)).body;

  const draft = { timeZone: 'Europe/Paris', weekly: [{ weekday: 1, start: '09:00', end: '12:00' }, { weekday: 4, start: '14:00', end: '15:30' }] };
  const res = await api(url, 'POST', `${path}/preview`, mentor, draft);
  t.equal(res.status, 200);
  t.equal(res.body.viewerTimeZone, 'Europe/Paris', "in the draft's zone");
  t.equal(res.body.durationMinutes, ctx.config.scheduling.mentoringMinutes, 'mentoring slots for a mentor');
  t.ok(res.body.slots.length > 0, `${res.body.slots.length} slots`);
  const local = res.body.slots.map((s: any) => DateTime.fromISO(s.startsAt, { zone: 'Europe/Paris' }));
  t.ok(local.every((d: DateTime) => d.weekday === 1 || d.weekday === 4), 'only on Mondays and Thursdays');
  const mondays = local.filter((d: DateTime) => d.weekday === 1).map((d: DateTime) => d.toFormat('HH:mm'));
  t.equal(mondays.sort()[0], '09:00', 'from 09:00 Paris time');
  t.ok(mondays.every((hm: string) => hm <= DateTime.fromFormat('12:00', 'HH:mm').minus({ minutes: ctx.config.scheduling.mentoringMinutes }).toFormat('HH:mm')), 'the last one ends by 12:00');
  t.ok(res.body.slots.every((s: any) => new Date(s.startsAt).getTime() < Date.now() + 14 * 86_400_000 + 60_000), 'the next 14 days');
  t.same((await api(url, 'GET', path, mentor)).body, saved, 'nothing saved');

  // A day off: its slots go from the preview.
  const monday = local.find((d: DateTime) => d.weekday === 1)!.startOf('day');
  t.equal((await api(url, 'POST', `/hosts/${demo.mentor.id}/time-off`, mentor, { startsAt: monday.toUTC().toISO(), endsAt: monday.plus({ days: 1 }).toUTC().toISO() })).status, 201);
  const after = await api(url, 'POST', `${path}/preview`, mentor, draft);
  t.notOk(after.body.slots.some((s: any) => DateTime.fromISO(s.startsAt, { zone: 'Europe/Paris' }).hasSame(monday, 'day')), 'no slot on the day off');

  t.equal((await api(url, 'POST', `${path}/preview?timeZone=America/Montreal`, mentor, draft)).body.viewerTimeZone, 'America/Montreal', 'another zone on request');
  const overlap = await api(url, 'POST', `${path}/preview`, mentor, { timeZone: 'Europe/Paris', weekly: [{ weekday: 1, start: '09:00', end: '12:00' }, { weekday: 1, start: '11:00', end: '13:00' }] });
  t.equal(overlap.status, 400);
  t.equal(overlap.body.code, 'overlapping_rules', 'an invalid draft is refused with its code');
  for (const [who, token] of [['another host', jury], ['a student', student]] as const) {
    const refused = await api(url, 'POST', `${path}/preview`, token, draft);
    t.equal(refused.status, 403, `${who} may not preview the mentor's hours`);
  }
  t.equal((await api(url, 'POST', `${path}/preview`, coordinator, draft)).status, 200, 'a coordinator may');
  const juryPreview = await api(url, 'POST', `/hosts/${demo.jury[0].id}/availability/preview`, jury, { timeZone: 'Asia/Kolkata', weekly: [{ weekday: 2, start: '10:00', end: '18:00' }] });
  t.equal(juryPreview.status, 200, 'a jury member previews their own hours');
  t.equal(juryPreview.body.durationMinutes, ctx.config.scheduling.defenceDefaultMinutes, "a defence's length");
});
