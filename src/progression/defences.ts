import type { Queryable } from '../db/index.ts';
import { SqlState, sqlStateOf } from '../db/index.ts';
import { assertPremiumPlus, findEnrollment, getPath, type Viewer } from '../school/index.ts';
import { getSession, listParticipants, type Session } from '../sessions/index.ts';
import { conflict, forbidden, notFound, unprocessable } from '../shared/errors.ts';
import { audit } from './audit.ts';
import {
  candidateIsolated,
  candidateView,
  checkAdvance,
  checkMarks,
  phaseEndsAt,
  recordingAllowed,
  timeline,
  type CandidateView,
  type Mark,
  type Phase,
  type TimedPhase,
} from './defence-machine.ts';
import type { ProgressionDeps } from './deps.ts';

export interface VerdictView {
  id: string;
  outcome: 'pass' | 'fail';
  marks: Mark[];
  comment: string;
  proposedBy: string;
  status: 'proposed' | 'final';
  createdAt: string;
  confirmedBy: string[];
}

export interface DefenceState {
  sessionId: string;
  candidateId: string;
  phase: Phase;
  candidateView: CandidateView;
  candidateIsolated: boolean;
  /** Whether the room may be recorded now (deliberation follows RECORD_DELIBERATION). */
  recording: boolean;
  phaseStartedAt: string | null;
  phaseEndsAt: string | null;
  timeline: Array<{ phase: TimedPhase; minutes: number }>;
  jury: Array<{ userId: string; name: string }>;
  /** The path's competence blocks, each marked in the verdict. */
  competenceBlocks: CompetenceBlock[];
  verdict: VerdictView | null;
  outcome: 'pass' | 'fail' | null;
  completedAt: string | null;
  retakeAllowedFrom: string | null;
  diplomaId: string | null;
  version: number;
}

interface DefenceRow {
  sessionId: string;
  enrollmentId: string;
  candidateId: string;
  phase: Phase;
  phaseStartedAt: Date | null;
  phaseEndsAt: Date | null;
  outcome: 'pass' | 'fail' | null;
  completedAt: Date | null;
  retakeAllowedFrom: Date | null;
  version: number;
}

const DEFENCE_COLUMNS = `session_id AS "sessionId", enrollment_id AS "enrollmentId", candidate_id AS "candidateId", phase,
  phase_started_at AS "phaseStartedAt", phase_ends_at AS "phaseEndsAt", outcome, completed_at AS "completedAt",
  retake_allowed_from AS "retakeAllowedFrom", version`;

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

/**
 * May this enrollment hold a defence at `at`? Every project validated, no
 * diploma yet, and past the retake delay after a failed defence. Scheduling
 * may call it before booking a defence; the flow checks it again when the
 * candidate is admitted.
 */
export async function assertDefenceEligible(q: Queryable, enrollmentId: string, at: Date): Promise<void> {
  const enrollment = await findEnrollment(q, enrollmentId);
  if (!enrollment) throw notFound('enrollment_not_found', 'No such enrollment');
  assertPremiumPlus(enrollment);
  const diploma = await q.one('SELECT 1 FROM diplomas WHERE enrollment_id = $1', [enrollmentId]);
  if (diploma) throw conflict('already_graduated', 'This path is already completed with a diploma');
  const remaining = await q.one<{ n: number }>(
    `SELECT count(*)::int AS n FROM enrollments e JOIN projects p ON p.path_id = e.path_id
       LEFT JOIN project_progress pp ON pp.enrollment_id = e.id AND pp.project_id = p.id
      WHERE e.id = $1 AND COALESCE(pp.state, 'locked') <> 'validated'`,
    [enrollmentId],
  );
  if (remaining && remaining.n > 0) {
    throw unprocessable('projects_not_validated', `A defence needs every project of the path validated (${remaining.n} still open)`, { remaining: remaining.n });
  }
  const failed = await q.one<{ retakeAllowedFrom: Date }>(
    `SELECT retake_allowed_from AS "retakeAllowedFrom" FROM defences
      WHERE enrollment_id = $1 AND outcome = 'fail' ORDER BY completed_at DESC LIMIT 1`,
    [enrollmentId],
  );
  if (failed && failed.retakeAllowedFrom.getTime() > at.getTime()) {
    throw unprocessable('retake_too_early', `A new defence is possible from ${failed.retakeAllowedFrom.toISOString()}`, {
      retakeAllowedFrom: failed.retakeAllowedFrom.toISOString(),
    });
  }
}

export type DefenceRole = 'candidate' | 'jury' | 'coordinator';

/** Who is this user in this defence? Participants only (and coordinators, who may step in). */
export async function defenceRoleOf(q: Queryable, session: Session, viewer: Viewer): Promise<DefenceRole> {
  const participants = await listParticipants(q, session.id);
  const me = participants.find((p) => p.userId === viewer.userId);
  if (me?.role === 'jury') return 'jury';
  if (me?.role === 'student') return 'candidate';
  if (viewer.role === 'coordinator') return 'coordinator';
  throw forbidden('not_a_participant', 'You are not a participant of this defence');
}

export async function getDefenceSession(q: Queryable, sessionId: string): Promise<Session> {
  const session = await getSession(q, sessionId);
  if (session.kind !== 'defence') throw unprocessable('not_a_defence', 'This session is not a defence');
  return session;
}

/** The defence's row, created in the lobby on first use. */
export async function ensureDefence(deps: ProgressionDeps, session: Session): Promise<DefenceRow> {
  const { db, clock } = deps;
  const existing = await db.one<DefenceRow>(`SELECT ${DEFENCE_COLUMNS} FROM defences WHERE session_id = $1`, [session.id]);
  if (existing) return existing;
  const enrollment = await findEnrollment(db, session.enrollmentId);
  if (!enrollment) throw notFound('enrollment_not_found', 'The defence has no enrollment');
  await db.execute(
    `INSERT INTO defences (session_id, enrollment_id, candidate_id, phase, updated_at) VALUES ($1, $2, $3, 'lobby', $4)
     ON CONFLICT (session_id) DO NOTHING`,
    [session.id, enrollment.id, enrollment.studentId, clock.now()],
  );
  return (await db.one<DefenceRow>(`SELECT ${DEFENCE_COLUMNS} FROM defences WHERE session_id = $1`, [session.id]))!;
}

async function juryOf(q: Queryable, sessionId: string): Promise<Array<{ userId: string; name: string }>> {
  return (await listParticipants(q, sessionId)).filter((p) => p.role === 'jury').map((p) => ({ userId: p.userId, name: p.name }));
}

async function currentVerdict(q: Queryable, sessionId: string): Promise<VerdictView | null> {
  const v = await q.one<Omit<VerdictView, 'createdAt' | 'confirmedBy'> & { createdAt: Date }>(
    `SELECT id, outcome, marks, comment, proposed_by AS "proposedBy", status, created_at AS "createdAt"
       FROM verdicts WHERE session_id = $1 AND status IN ('proposed', 'final')`,
    [sessionId],
  );
  if (!v) return null;
  const confirmations = await q.query<{ juryId: string }>('SELECT jury_id AS "juryId" FROM verdict_confirmations WHERE verdict_id = $1 ORDER BY confirmed_at', [v.id]);
  return { ...v, createdAt: v.createdAt.toISOString(), confirmedBy: confirmations.map((c) => c.juryId) };
}

export interface CompetenceBlock {
  code: string;
  title: string;
}

async function competenceBlocksOfEnrollment(db: Queryable, enrollmentId: string): Promise<CompetenceBlock[]> {
  return db.query<CompetenceBlock>(
    `SELECT b.code, b.title FROM competence_blocks b JOIN enrollments e ON e.path_id = b.path_id
      WHERE e.id = $1 ORDER BY b.position, b.code`,
    [enrollmentId],
  );
}

export async function defenceState(deps: ProgressionDeps, sessionId: string): Promise<DefenceState> {
  const { db, config } = deps;
  const row = await db.one<DefenceRow>(`SELECT ${DEFENCE_COLUMNS} FROM defences WHERE session_id = $1`, [sessionId]);
  if (!row) throw notFound('defence_not_found', 'This defence has not been opened');
  const diploma = row.outcome === 'pass' ? await db.one<{ id: string }>('SELECT id FROM diplomas WHERE defence_session_id = $1', [sessionId]) : undefined;
  return {
    sessionId,
    candidateId: row.candidateId,
    phase: row.phase,
    candidateView: candidateView(row.phase),
    candidateIsolated: candidateIsolated(row.phase),
    recording: recordingAllowed(row.phase, config.recording.recordDeliberation),
    phaseStartedAt: iso(row.phaseStartedAt),
    phaseEndsAt: iso(row.phaseEndsAt),
    timeline: timeline(config.progression.defencePhases),
    jury: await juryOf(db, sessionId),
    competenceBlocks: await competenceBlocksOfEnrollment(db, row.enrollmentId),
    verdict: await currentVerdict(db, sessionId),
    outcome: row.outcome,
    completedAt: iso(row.completedAt),
    retakeAllowedFrom: iso(row.retakeAllowedFrom),
    diplomaId: diploma?.id ?? null,
    version: row.version,
  };
}

/**
 * Who may see a verdict that is not final yet (its outcome, marks, comment,
 * confirmations): the panel of that defence and coordinators. Never the
 * candidate nor their mentor, whatever the read path (progress, audit, sockets).
 */
export function seesOpenVerdict(viewer: Viewer, state: Pick<DefenceState, 'jury'>): boolean {
  return viewer.role === 'coordinator' || state.jury.some((j) => j.userId === viewer.userId);
}

/** A defence's state as `viewer` may see it: without an unconfirmed verdict unless on the panel or a coordinator. */
export function defenceStateFor(viewer: Viewer, state: DefenceState): DefenceState {
  return seesOpenVerdict(viewer, state) ? state : candidateCopy(state);
}

/** What the candidate may see: no verdict before it is final. */
export function candidateCopy(state: DefenceState): DefenceState {
  return state.verdict && state.verdict.status !== 'final' ? { ...state, verdict: null } : state;
}

async function lockDefence(q: Queryable, sessionId: string): Promise<DefenceRow> {
  const row = await q.one<DefenceRow>(`SELECT ${DEFENCE_COLUMNS} FROM defences WHERE session_id = $1 FOR UPDATE`, [sessionId]);
  if (!row) throw notFound('defence_not_found', 'This defence has not been opened');
  return row;
}

async function moveTo(deps: ProgressionDeps, q: Queryable, row: DefenceRow, to: Phase, actorId: string, action: string): Promise<void> {
  const now = deps.clock.now();
  await q.execute(
    `UPDATE defences SET phase = $2, phase_started_at = $3, phase_ends_at = $4, version = version + 1, updated_at = $3 WHERE session_id = $1`,
    [row.sessionId, to, now, phaseEndsAt(to, now, deps.config.progression.defencePhases) ?? null],
  );
  await audit(q, { entity: 'defence', entityId: row.sessionId, enrollmentId: row.enrollmentId, action, from: row.phase, to, actorId, at: now });
}

export interface PhaseChange {
  sessionId: string;
  candidateId: string;
  from: Phase;
  to: Phase;
}

/** A jury member or a coordinator lets the candidate in: the presentation starts. */
export async function admitCandidate(deps: ProgressionDeps, sessionId: string, viewer: Viewer): Promise<PhaseChange> {
  const session = await getDefenceSession(deps.db, sessionId);
  const role = await defenceRoleOf(deps.db, session, viewer);
  if (role === 'candidate') throw forbidden('jury_only', 'Only the jury or a coordinator admits the candidate');
  if (session.status === 'cancelled') throw conflict('session_cancelled', 'This defence was cancelled');
  const now = deps.clock.now();
  const opensAt = session.startsAt.getTime() - deps.config.progression.defenceOpenEarlyMinutes * 60_000;
  if (now.getTime() < opensAt) throw unprocessable('too_early', 'This defence has not opened yet', { opensAt: new Date(opensAt).toISOString() });
  const row = await ensureDefence(deps, session);
  return deps.db.tx(async (q) => {
    const locked = await lockDefence(q, row.sessionId);
    const check = checkAdvance(locked.phase, 'presentation');
    if (!check.ok) throw conflict(check.code, check.message);
    await assertDefenceEligible(q, locked.enrollmentId, now);
    await moveTo(deps, q, locked, 'presentation', viewer.userId, 'candidate_admitted');
    return { sessionId, candidateId: locked.candidateId, from: locked.phase, to: 'presentation' as Phase };
  });
}

/** The next phase, by a jury member or a coordinator (state in the DB: anyone of them can carry on). */
export async function advancePhase(deps: ProgressionDeps, sessionId: string, viewer: Viewer, to: Phase): Promise<PhaseChange> {
  const session = await getDefenceSession(deps.db, sessionId);
  const role = await defenceRoleOf(deps.db, session, viewer);
  if (role === 'candidate') throw forbidden('jury_only', 'Only the jury or a coordinator moves the defence on');
  const row = await ensureDefence(deps, session);
  return deps.db.tx(async (q) => {
    const locked = await lockDefence(q, row.sessionId);
    const check = checkAdvance(locked.phase, to);
    if (!check.ok) throw conflict(check.code, check.message);
    await moveTo(deps, q, locked, to, viewer.userId, 'phase_changed');
    return { sessionId, candidateId: locked.candidateId, from: locked.phase, to };
  });
}

export interface VerdictInput {
  outcome: 'pass' | 'fail';
  marks: Mark[];
  comment: string;
}

async function assertOnJury(q: Queryable, sessionId: string, userId: string): Promise<void> {
  const jury = await juryOf(q, sessionId);
  if (!jury.some((j) => j.userId === userId)) throw forbidden('not_on_jury', 'Only a member of this defence jury may do this');
}

/** A jury member proposes the verdict (superseding an open proposal and its confirmations). */
export async function proposeVerdict(deps: ProgressionDeps, sessionId: string, viewer: Viewer, input: VerdictInput): Promise<VerdictView> {
  const session = await getDefenceSession(deps.db, sessionId);
  await assertOnJury(deps.db, sessionId, viewer.userId);
  const blocks = await competenceBlocksOfEnrollment(deps.db, session.enrollmentId);
  const marksOk = checkMarks(input.marks, blocks.map((b) => b.code));
  if (!marksOk.ok) throw unprocessable(marksOk.code, marksOk.message);
  const now = deps.clock.now();
  await deps.db.tx(async (q) => {
    const locked = await lockDefence(q, sessionId);
    if (locked.phase !== 'verdict') throw unprocessable('not_verdict_phase', 'The verdict is given in the verdict phase, with the candidate back');
    const superseded = await q.query<{ id: string }>(`UPDATE verdicts SET status = 'superseded' WHERE session_id = $1 AND status = 'proposed' RETURNING id`, [sessionId]);
    const v = await q.one<{ id: string }>(
      `INSERT INTO verdicts (session_id, outcome, marks, comment, proposed_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [sessionId, input.outcome, JSON.stringify(input.marks), input.comment, viewer.userId, now],
    );
    await q.execute('UPDATE defences SET version = version + 1, updated_at = $2 WHERE session_id = $1', [sessionId, now]);
    await audit(q, {
      entity: 'verdict',
      entityId: v!.id,
      enrollmentId: locked.enrollmentId,
      action: 'proposed',
      to: input.outcome,
      actorId: viewer.userId,
      data: { marks: input.marks, supersedes: superseded.map((s) => s.id) },
      at: now,
    });
  });
  return (await currentVerdict(deps.db, sessionId))!;
}

export interface VerdictConfirmation {
  verdict: VerdictView;
  /** Set when this confirmation was the last one: the defence is over. */
  completed?: { outcome: 'pass' | 'fail'; studentId: string; enrollmentId: string; diplomaId?: string };
}

/**
 * A jury member confirms the open verdict. When every jury member of the
 * session has confirmed, the verdict is final: a pass completes the path and
 * issues the diploma; a fail opens a new defence after the retake delay.
 */
export async function confirmVerdict(deps: ProgressionDeps, sessionId: string, viewer: Viewer, verdictId: string): Promise<VerdictConfirmation> {
  await getDefenceSession(deps.db, sessionId);
  await assertOnJury(deps.db, sessionId, viewer.userId);
  const now = deps.clock.now();
  const completed = await deps.db.tx(async (q) => {
    const locked = await lockDefence(q, sessionId);
    if (locked.phase !== 'verdict') throw unprocessable('not_verdict_phase', 'The verdict is confirmed in the verdict phase');
    const verdict = await q.one<{ id: string; outcome: 'pass' | 'fail'; status: string }>('SELECT id, outcome, status FROM verdicts WHERE id = $1 AND session_id = $2', [verdictId, sessionId]);
    if (!verdict) throw notFound('verdict_not_found', 'No such verdict for this defence');
    if (verdict.status !== 'proposed') throw conflict('verdict_not_open', `This verdict is ${verdict.status}`);
    try {
      await q.execute('INSERT INTO verdict_confirmations (verdict_id, jury_id, confirmed_at) VALUES ($1, $2, $3)', [verdictId, viewer.userId, now]);
    } catch (err) {
      if (sqlStateOf(err) === SqlState.uniqueViolation) throw conflict('already_confirmed', 'You already confirmed this verdict');
      throw err;
    }
    await audit(q, { entity: 'verdict', entityId: verdictId, enrollmentId: locked.enrollmentId, action: 'confirmed', actorId: viewer.userId, at: now });
    const jury = await juryOf(q, sessionId);
    const confirmed = await q.query<{ juryId: string }>('SELECT jury_id AS "juryId" FROM verdict_confirmations WHERE verdict_id = $1', [verdictId]);
    const missing = jury.filter((j) => !confirmed.some((c) => c.juryId === j.userId));
    await q.execute('UPDATE defences SET version = version + 1, updated_at = $2 WHERE session_id = $1', [sessionId, now]);
    if (missing.length > 0) return undefined;
    const done = await finalize(deps, q, locked, verdict, jury, viewer.userId, now);
    await deps.outbox.append(q, 'defence.completed', { sessionId, studentId: done.studentId, outcome: done.outcome });
    if (done.diplomaId) await deps.outbox.append(q, 'diploma.issued', { diplomaId: done.diplomaId, studentId: done.studentId });
    return done;
  });
  const verdict = (await currentVerdict(deps.db, sessionId))!;
  return completed ? { verdict, completed } : { verdict };
}

async function finalize(
  deps: ProgressionDeps,
  q: Queryable,
  defence: DefenceRow,
  verdict: { id: string; outcome: 'pass' | 'fail' },
  jury: Array<{ userId: string; name: string }>,
  actorId: string,
  now: Date,
): Promise<NonNullable<VerdictConfirmation['completed']>> {
  await q.execute(`UPDATE verdicts SET status = 'final', finalized_at = $2 WHERE id = $1`, [verdict.id, now]);
  await audit(q, { entity: 'verdict', entityId: verdict.id, enrollmentId: defence.enrollmentId, action: 'finalized', from: 'proposed', to: 'final', actorId, data: { outcome: verdict.outcome }, at: now });
  const retakeFrom = verdict.outcome === 'fail' ? new Date(now.getTime() + deps.config.progression.retakeDelayDays * 86_400_000) : null;
  await q.execute(
    `UPDATE defences SET phase = 'completed', outcome = $2, completed_at = $3, retake_allowed_from = $4, phase_started_at = $3, phase_ends_at = NULL,
            version = version + 1, updated_at = $3 WHERE session_id = $1`,
    [defence.sessionId, verdict.outcome, now, retakeFrom],
  );
  await audit(q, {
    entity: 'defence',
    entityId: defence.sessionId,
    enrollmentId: defence.enrollmentId,
    action: 'completed',
    from: defence.phase,
    to: 'completed',
    actorId,
    data: { outcome: verdict.outcome, ...(retakeFrom ? { retakeAllowedFrom: retakeFrom.toISOString() } : {}) },
    at: now,
  });
  if (verdict.outcome === 'fail') return { outcome: 'fail', studentId: defence.candidateId, enrollmentId: defence.enrollmentId };

  const enrollment = (await findEnrollment(q, defence.enrollmentId))!;
  const path = await getPath(q, enrollment.pathId);
  await q.execute(`UPDATE enrollments SET status = 'completed' WHERE id = $1`, [enrollment.id]);
  await audit(q, { entity: 'enrollment', entityId: enrollment.id, enrollmentId: enrollment.id, action: 'path_completed', from: enrollment.status, to: 'completed', actorId, at: now });
  const seq = await q.one<{ n: number }>('SELECT count(*)::int + 1 AS n FROM diplomas');
  const reference = `DIP-${now.getUTCFullYear()}-${String(seq!.n).padStart(5, '0')}-${enrollment.id.slice(0, 8).toUpperCase()}`;
  const diploma = await q.one<{ id: string }>(
    `INSERT INTO diplomas (reference, enrollment_id, student_id, path_id, path_title, eqf_level, issued_on, jury, defence_session_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::date, $8, $9, $10) RETURNING id`,
    [reference, enrollment.id, enrollment.studentId, path.id, path.title, path.eqfLevel, now.toISOString().slice(0, 10), JSON.stringify(jury), defence.sessionId, now],
  );
  await audit(q, { entity: 'diploma', entityId: diploma!.id, enrollmentId: enrollment.id, action: 'issued', to: 'issued', actorId, data: { reference }, at: now });
  return { outcome: 'pass', studentId: enrollment.studentId, enrollmentId: enrollment.id, diplomaId: diploma!.id };
}

export interface Diploma {
  id: string;
  reference: string;
  enrollmentId: string;
  studentId: string;
  pathId: string;
  pathTitle: string;
  eqfLevel: number;
  issuedOn: string;
  jury: Array<{ userId: string; name: string }>;
  defenceSessionId: string;
}

export async function diplomaOfEnrollment(q: Queryable, enrollmentId: string): Promise<Diploma | undefined> {
  return q.one<Diploma>(
    `SELECT id, reference, enrollment_id AS "enrollmentId", student_id AS "studentId", path_id AS "pathId", path_title AS "pathTitle",
            eqf_level AS "eqfLevel", to_char(issued_on, 'YYYY-MM-DD') AS "issuedOn", jury, defence_session_id AS "defenceSessionId"
       FROM diplomas WHERE enrollment_id = $1`,
    [enrollmentId],
  );
}

export async function defencesOfEnrollment(deps: ProgressionDeps, enrollmentId: string): Promise<DefenceState[]> {
  const rows = await deps.db.query<{ sessionId: string }>(
    `SELECT d.session_id AS "sessionId" FROM defences d JOIN sessions s ON s.id = d.session_id WHERE d.enrollment_id = $1 ORDER BY s.starts_at`,
    [enrollmentId],
  );
  return Promise.all(rows.map((r) => defenceState(deps, r.sessionId)));
}
