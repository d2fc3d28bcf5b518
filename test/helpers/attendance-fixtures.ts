import type { Queryable } from '../../src/db/index.ts';

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
