import type { Test } from 'tap';
import { api, type TestApp } from './app.ts';

/**
 * The booking the calendar tests start from: the mentor open on weekday
 * mornings (09:00–12:00, Paris), the student working on the third project (a
 * session is about a project unlocked), a session booked for Wednesday
 * 2026-03-04 at 08:00 UTC. Returns the session's id.
 */
export async function bookCalendarSession(t: Test, ctx: Pick<TestApp, 'url' | 'demo' | 'db'>, tokens: { student: string; mentor: string }): Promise<string> {
  const { url, demo, db } = ctx;
  t.equal(
    (
      await api(url, 'PUT', `/hosts/${demo.mentor.id}/availability`, tokens.mentor, {
        timeZone: 'Europe/Paris',
        weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '12:00' })),
      })
    ).status,
    200,
  );
  await db.execute(`UPDATE project_progress SET state = 'in_progress' WHERE enrollment_id = $1 AND project_id = $2`, [demo.enrollmentId, demo.projectIds[2]]);
  const booked = await api(url, 'POST', '/sessions', tokens.student, { startsAt: '2026-03-04T08:00:00Z', projectId: demo.projectIds[2] });
  t.equal(booked.status, 201);
  return booked.body.id as string;
}
