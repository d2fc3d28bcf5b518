import type { Queryable } from '../../src/db/index.ts';
import { insertDemoMentoring, type MentoringDemo } from './sessions.ts';

/**
 * Test fixture: the presence log of people who were in a session's room from
 * `from` to `to` (what the rooms capability would have written), so the
 * attendance finalize job records them as present.
 */
export async function insertPresence(db: Queryable, sessionId: string, userIds: string[], from: Date, to: Date): Promise<void> {
  for (const userId of userIds) {
    await db.execute(`INSERT INTO presence_events (session_id, user_id, type, at) VALUES ($1, $2, 'join', $3), ($1, $2, 'leave', $4)`, [sessionId, userId, from, to]);
  }
}

/**
 * A 45-minute mentoring session of the demo student with their mentor that
 * took place: both were in the room from start to end.
 */
export async function insertAttendedMentoring(db: Queryable, demo: MentoringDemo, s: { startsAt: Date; projectIndex?: number }): Promise<string> {
  const endsAt = new Date(s.startsAt.getTime() + 45 * 60_000);
  const sessionId = await insertDemoMentoring(db, demo, { startsAt: s.startsAt, endsAt, projectIndex: s.projectIndex ?? 0 });
  await insertPresence(db, sessionId, [demo.student.id, demo.mentor.id], s.startsAt, endsAt);
  return sessionId;
}
