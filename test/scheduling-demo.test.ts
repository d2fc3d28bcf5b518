import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';
import { seedSchedulingDemo } from '../src/scheduling/index.ts';
import { authorizeRoomEntry } from '../src/sessions/index.ts';

// The demo seed: availability of the mentor and the jury, and a session whose room opens right away.
t.test('demo seed', async (t) => {
  const now = new Date('2026-03-02T08:00:00Z');
  const { url, db, demo, login } = await startTestApp(t, { clock: { now: () => now } });
  const { sessionId } = await seedSchedulingDemo(db, demo, now);
  const student = await login(demo.student);
  const coordinator = await login(demo.coordinator);

  const mine = await api(url, 'GET', '/sessions', student);
  t.equal(mine.body.sessions.length, 1);
  t.equal(mine.body.sessions[0].id, sessionId);
  t.equal(mine.body.sessions[0].startsAt, '2026-03-02T08:03:00.000Z', 'starts three minutes after the seed');
  const entry = await authorizeRoomEntry(db, sessionId, { userId: demo.student.id, role: 'student' }, now, { joinEarlyMinutes: 10, graceAfterEndMinutes: 10 });
  t.equal(entry.role, 'student', 'the room can be joined at once');

  const slots = await api(url, 'GET', `/hosts/${demo.mentor.id}/slots?from=2026-03-03T00:00:00Z&to=2026-03-04T00:00:00Z`, student);
  t.ok(slots.body.slots.length > 0, 'the mentor offers slots');
  await db.execute(`UPDATE project_progress SET state = 'validated' WHERE enrollment_id = $1`, [demo.enrollmentId]);
  const panel = await api(
    url,
    'GET',
    `/defences/slots?studentId=${demo.student.id}&juryIds=${demo.jury[0].id}&juryIds=${demo.jury[1].id}&from=2026-03-03T00:00:00Z&to=2026-03-04T00:00:00Z`,
    coordinator,
  );
  t.equal(panel.status, 200);
  t.equal(panel.body.slots[0].startsAt, '2026-03-03T13:00:00.000Z', 'Kolkata 18:30 and New York 08:00 overlap');
});
