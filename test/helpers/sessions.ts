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

/**
 * The common fixture: a mentoring session of the demo student with their
 * mentor (first project), live now: started `startedMsAgo` ago, ending in
 * `endsInMs`.
 */
export function insertLiveMentoring(
  db: Queryable,
  demo: { enrollmentId: string; projectIds: string[]; student: { id: string }; mentor: { id: string } },
  options: { startedMsAgo?: number; endsInMs?: number } = {},
): Promise<string> {
  const now = Date.now();
  return insertSession(db, {
    kind: 'mentoring',
    enrollmentId: demo.enrollmentId,
    projectId: demo.projectIds[0]!,
    hostId: demo.mentor.id,
    startsAt: new Date(now - (options.startedMsAgo ?? 5 * 60_000)),
    endsAt: new Date(now + (options.endsInMs ?? 40 * 60_000)),
    participants: [
      { userId: demo.student.id, role: 'student' },
      { userId: demo.mentor.id, role: 'mentor' },
    ],
  });
}
