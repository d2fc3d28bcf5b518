import type { TestApp } from './app.ts';
import { insertSession } from './sessions.ts';
import { insertProcessedRecording } from './recording-fixtures.ts';

/** Who calls: nobody, or one user of each role (the demo school's student, mentor, first jury member, coordinator). */
export const CALLERS = ['anonymous', 'student', 'mentor', 'jury', 'coordinator'] as const;
export type Caller = (typeof CALLERS)[number];

/**
 * Another user's world, for the authorization matrix and the fuzz test: a second
 * mentor with two students of their own, a panel the caller does not sit on
 * (the demo's second jury member and a third one), and every kind of resource
 * those people own: a live mentoring session with a processed recording, a live
 * defence in deliberation with an unconfirmed verdict, time off, a notification,
 * an attendance record. None of the callers (demo student, demo mentor, first
 * jury member) takes part in any of it; only the coordinator may see it.
 */
export interface World {
  tokens: Record<Exclude<Caller, 'anonymous'>, string>;
  /** The callers' own ids. */
  callers: Record<Exclude<Caller, 'anonymous'>, string>;
  pathId: string;
  projectIds: string[];
  /** The other users: a mentor, their two students (one booked, one defending) and the jury of the defence. */
  mentor: string;
  student: string;
  candidate: string;
  jury: [string, string];
  enrollmentId: string;
  candidateEnrollmentId: string;
  mentoringSessionId: string;
  defenceSessionId: string;
  verdictId: string;
  recordingId: string;
  segmentId: string;
  timeOffId: string;
  notificationId: string;
  subscriptionId: string;
  deliveryId: string;
  /** Every id, name, e-mail and text of the other users: none may reach a caller who is refused. */
  secrets: string[];
}

const VERDICT_COMMENT = 'Unconfirmed verdict comment 7f3a: must not leak';
const TIME_OFF_REASON = 'Private time off 9c1d: must not leak';
const NOTIFICATION_TEXT = 'Private notification 4be2: must not leak';

export async function buildWorld(ctx: TestApp): Promise<World> {
  const { db, demo } = ctx;
  const person = async (role: 'student' | 'mentor' | 'jury', email: string, name: string) =>
    (await db.one<{ id: string }>(`INSERT INTO users (email, name, role, time_zone, password_hash) VALUES ($1, $2, $3, 'Europe/Berlin', 'x') RETURNING id`, [email, name, role]))!.id;
  const mentor = await person('mentor', 'other.mentor@matrix.test', 'Otto Othermentor');
  const student = await person('student', 'other.student@matrix.test', 'Olga Otherstudent');
  const candidate = await person('student', 'other.candidate@matrix.test', 'Cyril Othercandidate');
  const jury3 = await person('jury', 'other.jury@matrix.test', 'Jana Otherjury');
  const enroll = async (studentId: string) => {
    const row = await db.one<{ id: string }>(
      `INSERT INTO enrollments (student_id, path_id, mentor_id, tier, started_at) VALUES ($1, $2, $3, 'premium_plus', now() - interval '90 days') RETURNING id`,
      [studentId, demo.pathId, mentor],
    );
    for (const [i, projectId] of demo.projectIds.entries()) {
      await db.execute('INSERT INTO project_progress (enrollment_id, project_id, state) VALUES ($1, $2, $3)', [row!.id, projectId, i === 0 ? 'in_progress' : 'locked']);
    }
    return row!.id;
  };
  const enrollmentId = await enroll(student);
  const candidateEnrollmentId = await enroll(candidate);

  const now = Date.now();
  const mentoringSessionId = await insertSession(db, {
    kind: 'mentoring',
    enrollmentId,
    projectId: demo.projectIds[0]!,
    hostId: mentor,
    startsAt: new Date(now - 5 * 60_000),
    endsAt: new Date(now + 40 * 60_000),
    participants: [
      { userId: student, role: 'student' },
      { userId: mentor, role: 'mentor' },
    ],
  });
  const defenceSessionId = await insertSession(db, {
    kind: 'defence',
    enrollmentId: candidateEnrollmentId,
    hostId: demo.jury[1].id,
    startsAt: new Date(now - 10 * 60_000),
    endsAt: new Date(now + 50 * 60_000),
    participants: [
      { userId: candidate, role: 'student' },
      { userId: demo.jury[1].id, role: 'jury' },
      { userId: jury3, role: 'jury' },
    ],
  });
  await db.execute(
    `INSERT INTO defences (session_id, enrollment_id, candidate_id, phase, phase_started_at, updated_at) VALUES ($1, $2, $3, 'deliberation', now(), now())`,
    [defenceSessionId, candidateEnrollmentId, candidate],
  );
  const verdictId = (await db.one<{ id: string }>(
    `INSERT INTO verdicts (session_id, outcome, marks, comment, proposed_by, created_at) VALUES ($1, 'fail', '[]', $2, $3, now()) RETURNING id`,
    [defenceSessionId, VERDICT_COMMENT, demo.jury[1].id],
  ))!.id;

  const recordingId = await insertProcessedRecording(db, {
    recordingsDir: ctx.config.recording.dir,
    sessionId: mentoringSessionId,
    startedAt: new Date(now - 4 * 60_000),
    durationMs: 1000,
    tracks: [{ userId: student, source: 'mic', offsetMs: 0, durationMs: 1000 }],
  });
  const segmentId = (await db.one<{ id: string }>('SELECT id FROM recording_segments WHERE recording_id = $1', [recordingId]))!.id;
  const timeOffId = (await db.one<{ id: string }>(
    `INSERT INTO time_off (user_id, starts_at, ends_at, reason) VALUES ($1, now() + interval '3 days', now() + interval '4 days', $2) RETURNING id`,
    [mentor, TIME_OFF_REASON],
  ))!.id;
  const notificationId = (await db.one<{ id: string }>(`INSERT INTO notifications (user_id, kind, session_id, payload) VALUES ($1, 'reminder', $2, $3) RETURNING id`, [
    student,
    mentoringSessionId,
    JSON.stringify({ text: NOTIFICATION_TEXT }),
  ]))!.id;
  const subscriptionId = (await db.one<{ id: string }>(
    `INSERT INTO webhook_subscriptions (url, secret, events, created_by, created_at) VALUES ('https://hooks.example.com/matrix', 'whsec-matrix-0123456789', '{path.completed}', $1, now()) RETURNING id`,
    [demo.coordinator.id],
  ))!.id;
  const deliveryId = (await db.one<{ id: string }>(
    `INSERT INTO webhook_deliveries (subscription_id, event, payload, status, attempts, created_at, dead_at) VALUES ($1, 'path.completed', '{}', 'dead_letter', 8, now(), now()) RETURNING id`,
    [subscriptionId],
  ))!.id;

  const [s, m, j, c] = await Promise.all([ctx.login(demo.student), ctx.login(demo.mentor), ctx.login(demo.jury[0]), ctx.login(demo.coordinator)]);
  return {
    tokens: { student: s, mentor: m, jury: j, coordinator: c },
    callers: { student: demo.student.id, mentor: demo.mentor.id, jury: demo.jury[0].id, coordinator: demo.coordinator.id },
    pathId: demo.pathId,
    projectIds: demo.projectIds,
    mentor,
    student,
    candidate,
    jury: [demo.jury[1].id, jury3],
    enrollmentId,
    candidateEnrollmentId,
    mentoringSessionId,
    defenceSessionId,
    verdictId,
    recordingId,
    segmentId,
    timeOffId,
    notificationId,
    subscriptionId,
    deliveryId,
    secrets: [
      mentor, student, candidate, demo.jury[1].id, jury3, enrollmentId, candidateEnrollmentId, mentoringSessionId, defenceSessionId, verdictId,
      recordingId, segmentId, timeOffId, notificationId,
      'other.mentor@matrix.test', 'Otto Othermentor', 'other.student@matrix.test', 'Olga Otherstudent', 'other.candidate@matrix.test', 'Cyril Othercandidate',
      'other.jury@matrix.test', 'Jana Otherjury', demo.jury[1].email, demo.jury[1].name, VERDICT_COMMENT, TIME_OFF_REASON, NOTIFICATION_TEXT,
    ],
  };
}
