import t from 'tap';
import { hashPassword } from '../src/auth/index.ts';
import { api, startTestApp } from './helpers/app.ts';
import { insertSession } from './helpers/sessions.ts';

const HOUR = 3_600_000;

// Issue 21, jury member: GET /defences lists one's own upcoming defences (the
// panels one sits on), never another panel's; a coordinator sees them all;
// students and mentors are refused.
t.test("GET /defences: a jury member's own panels only, with candidate, path, panel and room opening", async (t) => {
  const ctx = await startTestApp(t);
  const { demo, db, url } = ctx;
  // A third jury member, for a panel the first one is not on.
  const third = { email: 'jury3@demo.school', password: 'jury-demo-3', name: 'Amara Okafor', timeZone: 'Africa/Lagos' };
  const thirdId = (await db.one<{ id: string }>(
    `INSERT INTO users (email, name, role, time_zone, locale, password_hash) VALUES ($1, $2, 'jury', $3, 'en', $4) RETURNING id`,
    [third.email, third.name, third.timeZone, await hashPassword(third.password)],
  ))!.id;
  const at = (hoursFromNow: number) => {
    const d = new Date(Date.now() + hoursFromNow * HOUR);
    d.setUTCSeconds(0, 0);
    return d;
  };
  const defence = async (startsIn: number, jury: string[], student = demo.student.id, enrollmentId = demo.enrollmentId) =>
    insertSession(db, {
      kind: 'defence',
      enrollmentId,
      hostId: jury[0]!,
      startsAt: at(startsIn),
      endsAt: new Date(at(startsIn).getTime() + HOUR),
      participants: [{ userId: student, role: 'student' }, ...jury.map((userId) => ({ userId, role: 'jury' as const }))],
    });
  const live = await defence(-0.25, [demo.jury[0].id, demo.jury[1].id]);
  const later = await defence(50, [demo.jury[0].id, demo.jury[1].id]);
  const otherPanel = await defence(30, [demo.jury[1].id, thirdId], demo.soloStudent.id, demo.soloEnrollmentId);
  await defence(-30, [demo.jury[0].id, demo.jury[1].id]); // over
  const cancelled = await defence(70, [demo.jury[0].id, thirdId]);
  await db.execute(`UPDATE sessions SET status = 'cancelled' WHERE id = $1`, [cancelled]);
  // The first jury member also observes a defence of another panel: that is not theirs to judge.
  const observed = await defence(80, [demo.jury[1].id, thirdId], demo.soloStudent.id, demo.soloEnrollmentId);
  await db.execute(`INSERT INTO session_participants (session_id, user_id, role, starts_at, ends_at) SELECT id, $2, 'observer', starts_at, ends_at FROM sessions WHERE id = $1`, [observed, demo.jury[0].id]);

  const [jury1, jury2, jury3, coordinator, student, mentor] = await Promise.all([
    ctx.login(demo.jury[0]),
    ctx.login(demo.jury[1]),
    ctx.login(third),
    ctx.login(demo.coordinator),
    ctx.login(demo.student),
    ctx.login(demo.mentor),
  ]);

  const mine = await api(url, 'GET', '/defences', jury1);
  t.equal(mine.status, 200);
  t.equal(mine.body.timeZone, 'Asia/Kolkata', "in the jury member's own zone");
  t.same(mine.body.defences.map((d: any) => d.id), [live, later], 'only the panels they sit on, soonest first; past, cancelled and observed ones left out');
  const [now, next] = mine.body.defences;
  t.equal(now.candidate.name, 'Camille Tremblay');
  t.equal(now.candidate.timeZone, 'America/Montreal');
  t.ok(now.pathTitle.length > 0, 'the path');
  t.same(now.jury.map((j: any) => j.name).sort(), ['Daniel Brooks', 'Priya Raman'], 'the whole panel');
  t.equal(now.roomOpen, true, 'the live one is open');
  t.equal(next.roomOpen, false, 'the later one is not yet');
  t.equal(new Date(next.startsAt).getTime() - new Date(next.roomOpensAt).getTime(), ctx.config.rooms.joinEarlyMinutes * 60_000, 'the room opens ROOM_JOIN_EARLY_MINUTES before');
  t.match(next.local, { timeZone: 'Asia/Kolkata' });
  t.match(next.joinUrl, new RegExp(`${next.id}$`));

  const zoned = await api(url, 'GET', `/defences?timeZone=${encodeURIComponent('Europe/Paris')}`, jury1);
  t.equal(zoned.body.timeZone, 'Europe/Paris', 'another zone on request');

  t.same((await api(url, 'GET', '/defences', jury2)).body.defences.map((d: any) => d.id), [live, otherPanel, later, observed], 'the second member sits on both panels');
  t.same((await api(url, 'GET', '/defences', jury3)).body.defences.map((d: any) => d.id), [otherPanel, observed], "the third member: their panels, not the first's");
  t.same((await api(url, 'GET', '/defences', coordinator)).body.defences.map((d: any) => d.id), [live, otherPanel, later, observed], 'a coordinator sees every upcoming defence');
  for (const [who, token] of [['student', student], ['mentor', mentor]] as const) {
    const refused = await api(url, 'GET', '/defences', token);
    t.equal(refused.status, 403, `a ${who} is refused`);
    t.equal(refused.body.code, 'role_not_allowed');
  }
  t.equal((await api(url, 'GET', '/defences')).status, 401, 'no token, no list');
});
