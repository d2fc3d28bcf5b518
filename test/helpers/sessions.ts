import type { Queryable } from '../../src/db/index.ts';

/**
 * Test fixture: a session row with its participants, written directly, for
 * tests of capabilities that need a session but not the booking flow.
 */
export async function insertSession(
  db: Queryable,
  s: {
    kind: 'mentoring' | 'defence';
    enrollmentId: string;
    projectId?: string | null;
    hostId: string;
    startsAt: Date;
    endsAt: Date;
    participants: Array<{ userId: string; role: 'student' | 'mentor' | 'jury' | 'observer' }>;
  },
): Promise<string> {
  const row = await db.one<{ id: string }>(
    `INSERT INTO sessions (kind, enrollment_id, project_id, host_id, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [s.kind, s.enrollmentId, s.projectId ?? null, s.hostId, s.startsAt, s.endsAt],
  );
  for (const p of s.participants) {
    await db.execute('INSERT INTO session_participants (session_id, user_id, role, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5)', [
      row!.id,
      p.userId,
      p.role,
      s.startsAt,
      s.endsAt,
    ]);
  }
  return row!.id;
}
