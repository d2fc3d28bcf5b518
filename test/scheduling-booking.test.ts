import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';
import { insertSession } from './helpers/sessions.ts';
import { hashPassword } from '../src/auth/index.ts';

// Availability, slot search, bookings, reschedule/cancel and defences through
// the real server (PostgreSQL, Redis) with an injected clock.
const Z = (iso: string) => Date.parse(iso);

t.test('scheduling over HTTP', async (t) => {
  let now = Z('2026-03-02T08:00:00Z'); // Monday, 09:00 in Paris
  const clock = { now: () => new Date(now) };
  const { url, demo, db, app, login } = await startTestApp(t, { clock });
  const [student, mentor, solo, coordinator, jury1, jury2] = await Promise.all([
    login(demo.student),
    login(demo.mentor),
    login(demo.soloStudent),
    login(demo.coordinator),
    login(demo.jury[0]),
    login(demo.jury[1]),
  ]);
  const events: string[] = [];
  app.events.on('session.booked', (e) => void events.push(`booked:${e.sessionId}`));
  app.events.on('session.rescheduled', (e) => void events.push(`rescheduled:${e.sessionId}`));
  app.events.on('session.cancelled', (e) => void events.push(`cancelled:${e.sessionId}:${e.late}`));

  // A second premium_plus student of the same mentor.
  const other = await db.one<{ id: string }>(
    `INSERT INTO users (email, name, role, time_zone, password_hash) VALUES ('other@demo.school', 'Other Student', 'student', 'Asia/Kolkata', $1) RETURNING id`,
    [await hashPassword('other-demo-1')],
  );
  await db.execute(`INSERT INTO enrollments (student_id, path_id, mentor_id, tier) VALUES ($1, $2, $3, 'premium_plus')`, [other!.id, demo.pathId, demo.mentor.id]);
  const otherStudent = await login({ email: 'other@demo.school', password: 'other-demo-1' });
  // Sessions are about a project the student works on now: both students are on the second project.
  await db.execute(`UPDATE project_progress SET state = 'validated' WHERE enrollment_id = $1 AND project_id = $2`, [demo.enrollmentId, demo.projectIds[0]]);
  await db.execute(`UPDATE project_progress SET state = 'in_progress' WHERE enrollment_id = $1 AND project_id = $2`, [demo.enrollmentId, demo.projectIds[1]]);
  await db.execute(`INSERT INTO project_progress (enrollment_id, project_id, state) SELECT id, $2, 'in_progress' FROM enrollments WHERE student_id = $1`, [other!.id, demo.projectIds[1]]);

  const slotsPath = (from: string, to: string, extra = '') => `/hosts/${demo.mentor.id}/slots?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}${extra}`;
  const book = (token: string, startsAt: string) => api(url, 'POST', '/sessions', token, { startsAt, projectId: demo.projectIds[1] });

  t.test('bad availability is refused with problem+json', async (t) => {
    const put = (body: unknown) => api(url, 'PUT', `/hosts/${demo.mentor.id}/availability`, mentor, body);
    const cases: Array<[unknown, string]> = [
      [{ timeZone: 'Europe/Paris', weekly: [{ weekday: 1, start: '12:00', end: '09:00' }] }, 'end_before_start'],
      [{ timeZone: 'Europe/Paris', weekly: [{ weekday: 2, start: '09:00', end: '12:00' }, { weekday: 2, start: '11:30', end: '13:00' }] }, 'overlapping_rules'],
      [{ timeZone: 'Europe/Pariss', weekly: [] }, 'unknown_time_zone'],
      [{ timeZone: 'Europe/Paris', weekly: [{ weekday: 1, start: '9h', end: '10:00' }] }, 'validation_failed'],
    ];
    for (const [body, code] of cases) {
      const res = await put(body);
      t.equal(res.status, 400, code);
      t.equal(res.body.code, code);
      t.match(res.headers.get('content-type'), /^application\/problem\+json/);
    }
    const notMine = await api(url, 'PUT', `/hosts/${demo.mentor.id}/availability`, jury1, { timeZone: 'Asia/Kolkata', weekly: [] });
    t.equal(notMine.status, 403);
    t.equal(notMine.body.code, 'not_your_availability');
  });

  t.test('the mentor publishes availability; the student sees slots in both zones across DST', async (t) => {
    const res = await api(url, 'PUT', `/hosts/${demo.mentor.id}/availability`, mentor, {
      timeZone: 'Europe/Paris',
      bufferMinutes: 15,
      weekly: [
        ...[1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '12:00' })),
        { weekday: 2, start: '18:00', end: '21:00' },
      ],
      overrides: [{ date: '2026-03-27', intervals: [] }],
    });
    t.equal(res.status, 200);
    t.equal(res.body.weekly.length, 6);
    t.equal(res.body.minimumNoticeMinutes, 120);

    const slots = await api(url, 'GET', slotsPath('2026-03-23T00:00:00Z', '2026-04-04T00:00:00Z'), student);
    t.equal(slots.status, 200);
    t.equal(slots.body.viewerTimeZone, 'America/Montreal');
    t.equal(slots.body.durationMinutes, 45);
    const starts = slots.body.slots.map((s: { startsAt: string }) => s.startsAt);
    t.ok(starts.includes('2026-03-24T17:00:00.000Z'), 'Tue 24 March 18:00 Paris is 17:00Z');
    t.ok(starts.includes('2026-03-31T16:00:00.000Z'), 'Tue 31 March 18:00 Paris is 16:00Z');
    t.notOk(starts.includes('2026-03-31T17:00:00.000Z') && !starts.includes('2026-03-31T16:00:00.000Z'));
    t.notOk(starts.some((s: string) => s.startsWith('2026-03-27')), 'the override closes Friday 27');
    const tue = slots.body.slots.find((s: { startsAt: string }) => s.startsAt === '2026-03-31T16:00:00.000Z');
    t.equal(tue.local.startsAt, '2026-03-31T12:00:00-04:00', "rendered in the student's zone");
    t.equal(tue.hosts[0].startsAt, '2026-03-31T18:00:00+02:00', "and in the mentor's");
    const inKolkata = await api(url, 'GET', slotsPath('2026-03-31T00:00:00Z', '2026-04-01T00:00:00Z', '&timeZone=Asia/Kolkata'), student);
    t.equal(inKolkata.body.slots.find((s: { startsAt: string }) => s.startsAt === '2026-03-31T16:00:00.000Z').local.startsAt, '2026-03-31T21:30:00+05:30');
  });

  t.test('minimum notice and horizon', async (t) => {
    const today = await api(url, 'GET', slotsPath('2026-03-02T00:00:00Z', '2026-03-03T00:00:00Z'), student);
    t.equal(today.body.slots[0].startsAt, '2026-03-02T10:00:00.000Z', 'nothing before now + 2 h (11:00 Paris)');
    const late = await api(url, 'GET', slotsPath('2026-04-29T00:00:00Z', '2026-05-03T00:00:00Z'), student);
    const last = late.body.slots.at(-1).startsAt;
    t.equal(last, '2026-05-01T08:00:00.000Z', 'the last slot starts at now + 60 days');
    const tooSoon = await book(student, '2026-03-02T09:00:00Z');
    t.equal(tooSoon.status, 422);
    t.equal(tooSoon.body.code, 'slot_not_offered');
    t.match(tooSoon.body.detail, /minimum notice/);
    const tooFar = await book(student, '2026-05-04T08:00:00Z');
    t.equal(tooFar.body.code, 'slot_not_offered');
    t.match(tooFar.body.detail, /horizon/);
    const notOffered = await book(student, '2026-03-03T12:00:00Z');
    t.equal(notOffered.status, 422);
    t.equal(notOffered.body.code, 'slot_not_offered');
  });

  t.test('a search starting off the grid offers the same slots booking accepts', async (t) => {
    // From 08:08:35.705Z on a Tuesday (09:08 Paris, inside the 09:00-12:00 window).
    const res = await api(url, 'GET', slotsPath('2026-03-10T08:08:35.705Z', '2026-03-10T12:00:00Z'), student);
    t.equal(res.status, 200);
    const starts: string[] = res.body.slots.map((s: { startsAt: string }) => s.startsAt);
    t.ok(starts.length > 0);
    t.equal(starts[0], '2026-03-10T08:15:00.000Z', 'the first slot is on the window grid, after the range start');
    t.ok(starts.every((iso) => Date.parse(iso) % (15 * 60_000) === 0), 'every slot is on the quarter-hour grid');
    const booked = await book(otherStudent, starts[0]!);
    t.equal(booked.status, 201, 'the offered slot can be booked');
    t.equal((await api(url, 'POST', `/sessions/${booked.body.id}/cancel`, otherStudent, { reason: 'test' })).status, 200);
  });

  t.test('time off removes slots; a backwards interval is refused', async (t) => {
    const path = `/hosts/${demo.mentor.id}/time-off`;
    const backwards = await api(url, 'POST', path, mentor, { startsAt: '2026-03-10T09:00:00Z', endsAt: '2026-03-10T08:00:00Z' });
    t.equal(backwards.status, 400);
    t.equal(backwards.body.code, 'end_before_start');
    t.match(backwards.headers.get('content-type'), /^application\/problem\+json/);
    t.equal((await api(url, 'POST', path, student, { startsAt: '2026-03-10T08:00:00Z', endsAt: '2026-03-10T09:30:00Z' })).status, 403);
    const added = await api(url, 'POST', path, mentor, { startsAt: '2026-03-10T08:00:00Z', endsAt: '2026-03-10T09:30:00Z', reason: 'dentist' });
    t.equal(added.status, 201);
    const day = () => api(url, 'GET', slotsPath('2026-03-10T00:00:00Z', '2026-03-10T12:00:00Z'), student);
    t.equal((await day()).body.slots[0].startsAt, '2026-03-10T09:30:00.000Z', 'Tuesday morning starts after the time off');
    t.equal((await api(url, 'GET', path, mentor)).body.length, 1);
    t.equal((await api(url, 'DELETE', `${path}/${added.body.id}`, mentor)).status, 204);
    t.equal((await day()).body.slots[0].startsAt, '2026-03-10T08:00:00.000Z', 'and back once removed');
  });

  t.test('bad queries and refused callers', async (t) => {
    const backwards = await api(url, 'GET', slotsPath('2026-03-05T00:00:00Z', '2026-03-04T00:00:00Z'), student);
    t.equal(backwards.status, 400);
    t.equal(backwards.body.code, 'end_before_start');
    const zone = await api(url, 'GET', slotsPath('2026-03-04T00:00:00Z', '2026-03-05T00:00:00Z', '&timeZone=Nowhere/Land'), student);
    t.equal(zone.body.code, 'unknown_time_zone');
    const soloSlots = await api(url, 'GET', slotsPath('2026-03-04T00:00:00Z', '2026-03-05T00:00:00Z'), solo);
    t.equal(soloSlots.status, 403);
    t.equal(soloSlots.body.code, 'premium_plus_required');
    const soloBook = await book(solo, '2026-03-04T08:00:00Z');
    t.equal(soloBook.status, 403);
    t.equal(soloBook.body.code, 'premium_plus_required');
    t.match(soloBook.headers.get('content-type'), /^application\/problem\+json/);
    const noZone = await book(student, '2026-03-04T08:00:00');
    t.equal(noZone.status, 400);
    t.equal(noZone.body.code, 'invalid_instant');
  });

  t.test('60 parallel requests for one slot: exactly one booking, 59 clear 409s', async (t) => {
    const slot = '2026-03-03T08:00:00.000Z';
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => book(i % 2 === 0 ? student : otherStudent, slot)));
    const created = results.filter((r) => r.status === 201);
    const conflicts = results.filter((r) => r.status === 409);
    t.equal(created.length, 1, 'one 201');
    t.equal(conflicts.length, 59, 'the rest 409');
    t.same([...new Set(conflicts.map((r) => r.body.code))], ['slot_taken']);
    const rows = await db.query('SELECT 1 FROM session_participants WHERE user_id = $1 AND busy AND starts_at = $2', [demo.mentor.id, slot]);
    t.equal(rows.length, 1, 'one row holds the mentor');
    const after = await api(url, 'GET', slotsPath('2026-03-03T00:00:00Z', '2026-03-04T00:00:00Z'), student);
    const starts = after.body.slots.map((s: { startsAt: string }) => s.startsAt);
    t.notOk(starts.includes(slot), 'the slot is gone');
    t.notOk(starts.includes('2026-03-03T08:45:00.000Z'), 'the buffer after it too');
    t.ok(starts.includes('2026-03-03T09:00:00.000Z'));
    const buffered = await book(student, '2026-03-03T08:45:00Z');
    t.equal(buffered.status, 409);
    t.equal(buffered.body.code, 'buffer_conflict');
    t.ok(events.some((e) => e === `booked:${created[0]!.body.id}`), 'session.booked emitted');
  });

  t.test('reschedule and cancel by either side keep a full history and flag late cancellations', async (t) => {
    const booked = await book(student, '2026-03-04T08:00:00Z'); // Wed 09:00 Paris
    t.equal(booked.status, 201);
    const id = booked.body.id;
    t.equal(booked.body.sequence, 0);
    t.equal(booked.body.joinUrl, `${app.config.publicUrl}/#/sessions/${id}`);
    t.same(booked.body.participants.map((p: { role: string }) => p.role).sort(), ['mentor', 'student']);

    const notOffered = await api(url, 'POST', `/sessions/${id}/reschedule`, mentor, { startsAt: '2026-03-04T12:00:00Z' });
    t.equal(notOffered.status, 422);
    t.equal(notOffered.body.code, 'slot_not_offered');
    const stranger = await api(url, 'POST', `/sessions/${id}/reschedule`, otherStudent, { startsAt: '2026-03-04T09:00:00Z' });
    t.equal(stranger.status, 404, "someone else's booking");
    t.equal(stranger.body.code, 'session_not_found');
    t.equal((await api(url, 'POST', `/sessions/${id}/cancel`, jury1, {})).status, 404);

    const moved = await api(url, 'POST', `/sessions/${id}/reschedule`, mentor, { startsAt: '2026-03-04T09:00:00Z', reason: 'a meeting' });
    t.equal(moved.status, 200);
    t.equal(moved.body.startsAt, '2026-03-04T09:00:00.000Z');
    t.equal(moved.body.endsAt, '2026-03-04T09:45:00.000Z');
    t.equal(moved.body.sequence, 1);

    now = Z('2026-03-04T00:00:00Z'); // 9 hours before: late
    const cancelled = await api(url, 'POST', `/sessions/${id}/cancel`, student, { reason: 'sick' });
    t.equal(cancelled.status, 200);
    t.equal(cancelled.body.status, 'cancelled');
    t.equal(cancelled.body.late, true);
    t.equal(cancelled.body.sequence, 2);
    t.equal(cancelled.body.cancellation.late, true);
    const again = await api(url, 'POST', `/sessions/${id}/cancel`, mentor, {});
    t.equal(again.status, 409);
    t.equal(again.body.code, 'session_cancelled');

    const history = await api(url, 'GET', `/sessions/${id}/history`, mentor);
    t.same(
      history.body.map((h: { change: string; changedBy: string; late: boolean; sequence: number }) => [h.change, h.changedBy, h.late, h.sequence]),
      [
        ['booked', demo.student.id, false, 0],
        ['rescheduled', demo.mentor.id, false, 1],
        ['cancelled', demo.student.id, true, 2],
      ],
    );
    t.equal(history.body[1].oldStartsAt, '2026-03-04T08:00:00.000Z');
    t.equal(history.body[1].newStartsAt, '2026-03-04T09:00:00.000Z');
    t.equal(history.body[1].reason, 'a meeting');
    t.ok(events.includes(`rescheduled:${id}`) && events.includes(`cancelled:${id}:true`), 'events emitted');

    // Cancelled time is free again; an early cancellation is not late.
    const rebook = await book(otherStudent, '2026-03-04T09:00:00Z');
    t.equal(rebook.status, 201);
    const early = await api(url, 'POST', `/sessions/${rebook.body.id}/cancel`, mentor, {});
    t.equal(early.body.late, true, 'still within 24 h of the start');
    now = Z('2026-03-02T08:00:00Z');
    const planned = await book(otherStudent, '2026-03-06T08:00:00Z');
    const earlyCancel = await api(url, 'POST', `/sessions/${planned.body.id}/cancel`, otherStudent, {});
    t.equal(earlyCancel.body.late, false, 'four days ahead is not late');
  });

  t.test('GET /sessions lists the caller’s upcoming sessions in UTC and local time', async (t) => {
    t.equal((await book(student, '2026-03-05T10:00:00Z')).status, 201);
    const mine = await api(url, 'GET', '/sessions', student);
    t.equal(mine.status, 200);
    t.equal(mine.body.timeZone, 'America/Montreal');
    t.ok(mine.body.sessions.length >= 1);
    t.ok(mine.body.sessions.every((s: { status: string }) => s.status === 'scheduled'));
    const first = mine.body.sessions[0];
    t.match(first.local.startsAt, /-05:00$/);
    const withCancelled = await api(url, 'GET', '/sessions?includeCancelled=true', student);
    t.ok(withCancelled.body.sessions.length > mine.body.sessions.length);
    const detail = await api(url, 'GET', `/sessions/${first.id}`, coordinator);
    t.equal(detail.status, 200, 'coordinators see any session');
    t.equal((await api(url, 'GET', `/sessions/${first.id}`, solo)).status, 404);
    t.equal((await api(url, 'GET', '/sessions/not-a-uuid', student)).status, 404);
  });

  t.test('defences: validated projects, a search over three calendars, an atomic hold', async (t) => {
    for (const [id, zone, start, end] of [
      [demo.jury[0].id, 'Asia/Kolkata', '17:30', '21:30'], // 12:00–16:00Z
      [demo.jury[1].id, 'America/New_York', '09:00', '17:00'], // 14:00Z in EST, 13:00Z in EDT
    ] as const) {
      const token = id === demo.jury[0].id ? jury1 : jury2;
      const res = await api(url, 'PUT', `/hosts/${id}/availability`, token, { timeZone: zone, bufferMinutes: 0, weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start, end })) });
      t.equal(res.status, 200);
    }
    // The candidate is busy Monday 9 March 14:00–15:00Z.
    await insertSession(db, {
      kind: 'mentoring',
      enrollmentId: demo.enrollmentId,
      projectId: demo.projectIds[0],
      hostId: demo.mentor.id,
      startsAt: new Date('2026-03-09T14:00:00Z'),
      endsAt: new Date('2026-03-09T15:00:00Z'),
      participants: [{ userId: demo.student.id, role: 'student' }],
    });
    const juryQuery = `juryIds=${demo.jury[0].id}&juryIds=${demo.jury[1].id}`;
    const search = (from: string, to: string) =>
      api(url, 'GET', `/defences/slots?studentId=${demo.student.id}&${juryQuery}&from=${from}&to=${to}&durationMinutes=60&timeZone=UTC`, coordinator);

    const refused = await search('2026-03-09T00:00:00Z', '2026-03-10T00:00:00Z');
    t.equal(refused.status, 422);
    t.equal(refused.body.code, 'projects_not_validated');
    await db.execute(`UPDATE project_progress SET state = 'validated' WHERE enrollment_id = $1`, [demo.enrollmentId]);

    const friday = await search('2026-03-06T00:00:00Z', '2026-03-07T00:00:00Z');
    t.same(
      friday.body.slots.map((s: { startsAt: string }) => s.startsAt.slice(11, 16)),
      ['14:00', '14:15', '14:30', '14:45', '15:00'],
      'before New York changes: 14:00–16:00Z',
    );
    const monday = await search('2026-03-09T00:00:00Z', '2026-03-10T00:00:00Z');
    t.same(
      monday.body.slots.map((s: { startsAt: string }) => s.startsAt.slice(11, 16)),
      ['13:00', '15:00'],
      'after: 13:00–16:00Z, minus the candidate’s 14:00–15:00',
    );
    const slot = monday.body.slots[0];
    t.same(
      slot.hosts.map((h: { startsAt: string }) => h.startsAt),
      ['2026-03-09T18:30:00+05:30', '2026-03-09T09:00:00-04:00'],
    );

    const wrongJury = await api(url, 'POST', '/defences', coordinator, { studentId: demo.student.id, juryIds: [demo.jury[0].id, demo.mentor.id], startsAt: slot.startsAt });
    t.equal(wrongJury.status, 422);
    t.equal(wrongJury.body.code, 'not_a_jury_member');
    const one = await api(url, 'POST', '/defences', coordinator, { studentId: demo.student.id, juryIds: [demo.jury[0].id], startsAt: slot.startsAt });
    t.equal(one.status, 400);
    const tooLong = await api(url, 'POST', '/defences', coordinator, { studentId: demo.student.id, juryIds: [demo.jury[0].id, demo.jury[1].id], startsAt: slot.startsAt, durationMinutes: 120 });
    t.equal(tooLong.body.code, 'invalid_duration');
    const byStudent = await api(url, 'POST', '/defences', student, { studentId: demo.student.id, juryIds: [demo.jury[0].id, demo.jury[1].id], startsAt: slot.startsAt });
    t.equal(byStudent.status, 403);
    const solo = await api(url, 'POST', '/defences', coordinator, { studentId: demo.soloStudent.id, juryIds: [demo.jury[0].id, demo.jury[1].id], startsAt: slot.startsAt });
    t.equal(solo.body.code, 'premium_plus_required');

    const defence = await api(url, 'POST', '/defences', coordinator, { studentId: demo.student.id, juryIds: [demo.jury[0].id, demo.jury[1].id], startsAt: slot.startsAt });
    t.equal(defence.status, 201);
    t.equal(defence.body.kind, 'defence');
    t.equal(defence.body.durationMinutes, 60);
    t.same(defence.body.participants.map((p: { role: string }) => p.role).sort(), ['jury', 'jury', 'student']);
    const held = await db.query('SELECT user_id FROM session_participants WHERE session_id = $1 AND busy', [defence.body.id]);
    t.equal(held.length, 3, 'all three held');
    const again = await api(url, 'POST', '/defences', coordinator, { studentId: demo.student.id, juryIds: [demo.jury[0].id, demo.jury[1].id], startsAt: '2026-03-09T15:00:00Z' });
    t.equal(again.status, 409);
    t.equal(again.body.code, 'defence_already_scheduled');
    t.equal((await api(url, 'GET', `/sessions/${defence.body.id}`, jury2)).status, 200, 'a jury member sees it');
    const after = await search('2026-03-09T00:00:00Z', '2026-03-10T00:00:00Z');
    t.same(after.body.slots.map((s: { startsAt: string }) => s.startsAt.slice(11, 16)), ['15:00']);

    const byCandidate = await api(url, 'POST', `/sessions/${defence.body.id}/cancel`, student, {});
    t.equal(byCandidate.status, 403);
    t.equal(byCandidate.body.code, 'coordinator_only');
    t.equal(defence.body.createdBy, demo.coordinator.id);

    // The coordinator moves it; every participant moves at once.
    const moved = await api(url, 'POST', `/sessions/${defence.body.id}/reschedule`, coordinator, { startsAt: '2026-03-09T15:00:00Z' });
    t.equal(moved.status, 200);
    const rows = await db.query<{ startsAt: Date }>('SELECT starts_at AS "startsAt" FROM session_participants WHERE session_id = $1', [defence.body.id]);
    t.ok(rows.every((r) => r.startsAt.toISOString() === '2026-03-09T15:00:00.000Z'));
  });
});
