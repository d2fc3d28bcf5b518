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

/** The demo people a mentoring fixture needs. */
export type MentoringDemo = { enrollmentId: string; projectIds: string[]; student: { id: string }; mentor: { id: string } };

/** The demo people a defence fixture needs. */
type DefenceDemo = { enrollmentId: string; student: { id: string }; jury: readonly [{ id: string }, { id: string }] };

/**
 * A mentoring session of the demo student with their mentor at the given
 * times, on the project at `projectIndex` of the path (the first by default).
 */
export function insertDemoMentoring(db: Queryable, demo: MentoringDemo, s: { startsAt: Date; endsAt: Date; projectIndex?: number }): Promise<string> {
  return insertSession(db, {
    kind: 'mentoring',
    enrollmentId: demo.enrollmentId,
    projectId: demo.projectIds[s.projectIndex ?? 0]!,
    hostId: demo.mentor.id,
    startsAt: s.startsAt,
    endsAt: s.endsAt,
    participants: [
      { userId: demo.student.id, role: 'student' },
      { userId: demo.mentor.id, role: 'mentor' },
    ],
  });
}

/**
 * The common fixture: a mentoring session of the demo student with their
 * mentor (first project), live now: started `startedMsAgo` ago, ending in
 * `endsInMs`.
 */
export function insertLiveMentoring(db: Queryable, demo: MentoringDemo, options: { startedMsAgo?: number; endsInMs?: number } = {}): Promise<string> {
  const now = Date.now();
  return insertDemoMentoring(db, demo, {
    startsAt: new Date(now - (options.startedMsAgo ?? 5 * 60_000)),
    endsAt: new Date(now + (options.endsInMs ?? 40 * 60_000)),
  });
}

/**
 * A defence of the demo student before both demo jury members (the first
 * hosts it) at the given times.
 */
export function insertDemoDefence(db: Queryable, demo: DefenceDemo, s: { startsAt: Date; endsAt: Date }): Promise<string> {
  return insertSession(db, {
    kind: 'defence',
    enrollmentId: demo.enrollmentId,
    hostId: demo.jury[0].id,
    startsAt: s.startsAt,
    endsAt: s.endsAt,
    participants: [
      { userId: demo.student.id, role: 'student' },
      { userId: demo.jury[0].id, role: 'jury' },
      { userId: demo.jury[1].id, role: 'jury' },
    ],
  });
}

/**
 * The common defence fixture: the demo student's path marked validated (a
 * defence follows a finished path) and their defence live now, started five
 * minutes ago, 55 minutes to go.
 */
export async function insertLiveDefence(db: Queryable, demo: DefenceDemo): Promise<string> {
  await db.execute(`UPDATE project_progress SET state = 'validated' WHERE enrollment_id = $1`, [demo.enrollmentId]);
  const now = Date.now();
  return insertDemoDefence(db, demo, { startsAt: new Date(now - 5 * 60_000), endsAt: new Date(now + 55 * 60_000) });
}
