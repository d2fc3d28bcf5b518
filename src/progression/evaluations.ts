import type { Queryable } from '../db/index.ts';
import { SqlState, sqlStateOf } from '../db/index.ts';
import { reviewOf } from '../codereview/index.ts';
import { findEnrollment, type Viewer } from '../school/index.ts';
import { getSession } from '../sessions/index.ts';
import { conflict, forbidden, notFound, unprocessable } from '../shared/errors.ts';
import { attendanceStatus, countsAsAttended } from './attended.ts';
import { audit, setProjectState } from './audit.ts';
import type { ProgressionDeps } from './deps.ts';

export type EvaluationOutcome = 'validated' | 'needs_revision';

export interface CodeReviewComment {
  file?: string;
  line?: number;
  body: string;
  /** The review comment it was taken from, when attached from the session's code review. */
  reviewCommentId?: string;
}

export interface Evaluation {
  id: string;
  sessionId: string;
  enrollmentId: string;
  projectId: string;
  mentorId: string;
  outcome: EvaluationOutcome;
  feedback: string;
  codeReviewComments: CodeReviewComment[];
  createdAt: Date;
}

const COLUMNS = `id, session_id AS "sessionId", enrollment_id AS "enrollmentId", project_id AS "projectId", mentor_id AS "mentorId",
  outcome, feedback, code_review_comments AS "codeReviewComments", created_at AS "createdAt"`;

export async function evaluationsOfEnrollment(q: Queryable, enrollmentId: string): Promise<Evaluation[]> {
  return q.query<Evaluation>(`SELECT ${COLUMNS} FROM evaluations WHERE enrollment_id = $1 ORDER BY created_at, id`, [enrollmentId]);
}

export interface EvaluationInput {
  outcome: EvaluationOutcome;
  feedback: string;
  codeReviewComments?: CodeReviewComment[] | undefined;
  /** Attach the comments written in the session's live code review (codereview capability). */
  attachSessionReview?: boolean | undefined;
}

/** The session's live code review as evaluation comments (file name, line, text). */
async function sessionReviewComments(db: Queryable, sessionId: string): Promise<CodeReviewComment[]> {
  const review = await reviewOf(db, sessionId);
  const names = new Map(review.documents.map((d) => [d.id, d.name]));
  return review.comments.map((c) => ({ file: names.get(c.documentId) ?? '', line: c.line, body: c.body, reviewCommentId: c.id }));
}

/**
 * The mentor's evaluation of the project assessed in a mentoring session.
 * Only the student's assigned mentor, only for a session that took place, only
 * once per session, and only for a project that is being worked on
 * (in progress or resubmitted). Validated unlocks the next project.
 */
export async function recordEvaluation(deps: ProgressionDeps, sessionId: string, viewer: Viewer, input: EvaluationInput): Promise<Evaluation> {
  const { db, clock, outbox } = deps;
  const session = await getSession(db, sessionId);
  const enrollment = await findEnrollment(db, session.enrollmentId);
  if (!enrollment) throw notFound('enrollment_not_found', 'The session has no enrollment');
  if (viewer.userId !== enrollment.mentorId) throw forbidden('not_assigned_mentor', "Only the student's assigned mentor may evaluate");
  if (session.kind !== 'mentoring' || !session.projectId) throw unprocessable('not_a_mentoring_session', 'Only a mentoring session is evaluated');
  const now = clock.now();
  const attendance = await attendanceStatus(db, session, enrollment.studentId, now);
  if (!countsAsAttended(attendance)) {
    throw unprocessable('session_not_attended', `This session did not take place (${attendance})`, { attendance });
  }
  const projectId = session.projectId;
  const comments = [...(input.codeReviewComments ?? []), ...(input.attachSessionReview ? await sessionReviewComments(db, session.id) : [])];

  const result = await db
    .tx(async (q) => {
      if (await q.one('SELECT 1 FROM evaluations WHERE session_id = $1', [session.id])) {
        throw conflict('already_evaluated', 'This session already has an evaluation');
      }
      const progress = await q.one<{ state: string }>('SELECT state FROM project_progress WHERE enrollment_id = $1 AND project_id = $2 FOR UPDATE', [
        enrollment.id,
        projectId,
      ]);
      const state = progress?.state ?? 'locked';
      if (state === 'validated') throw conflict('project_already_validated', 'This project is already validated');
      if (state === 'locked') throw unprocessable('project_locked', 'This project is not unlocked yet');
      if (state === 'needs_revision') throw unprocessable('resubmission_required', 'The student has not resubmitted this project since the last evaluation');

      const evaluation = await q.one<Evaluation>(
        `INSERT INTO evaluations (session_id, enrollment_id, project_id, mentor_id, outcome, feedback, code_review_comments, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
        [session.id, enrollment.id, projectId, viewer.userId, input.outcome, input.feedback, JSON.stringify(comments), now],
      );
      await audit(q, {
        entity: 'evaluation',
        entityId: evaluation!.id,
        enrollmentId: enrollment.id,
        action: 'recorded',
        to: input.outcome,
        actorId: viewer.userId,
        data: { sessionId: session.id, projectId, comments: comments.length },
        at: now,
      });
      let unlocked: string | undefined;
      if (input.outcome === 'validated') {
        await setProjectState(q, { enrollmentId: enrollment.id, projectId, to: 'validated', actorId: viewer.userId, at: now, reason: 'evaluation', data: { evaluationId: evaluation!.id } });
        const next = await q.one<{ id: string; state: string | null }>(
          `SELECT pr.id, pp.state FROM projects pr
             JOIN projects cur ON cur.id = $2 AND cur.path_id = pr.path_id
             LEFT JOIN project_progress pp ON pp.project_id = pr.id AND pp.enrollment_id = $1
            WHERE pr.position > cur.position ORDER BY pr.position LIMIT 1`,
          [enrollment.id, projectId],
        );
        if (next && (next.state === null || next.state === 'locked')) {
          await setProjectState(q, { enrollmentId: enrollment.id, projectId: next.id, to: 'in_progress', actorId: viewer.userId, at: now, reason: 'unlocked' });
          unlocked = next.id;
        }
        await outbox.append(q, 'project.validated', { enrollmentId: enrollment.id, projectId, studentId: enrollment.studentId });
      } else {
        await setProjectState(q, { enrollmentId: enrollment.id, projectId, to: 'needs_revision', actorId: viewer.userId, at: now, reason: 'evaluation', data: { evaluationId: evaluation!.id } });
      }
      return { evaluation: evaluation!, unlocked };
    })
    .catch((err: unknown) => {
      if (sqlStateOf(err) === SqlState.uniqueViolation) throw conflict('already_evaluated', 'This session already has an evaluation');
      throw err;
    });

  return result.evaluation;
}

/**
 * The student hands a project in (first time or after "needs revision"), which
 * lets a new mentoring session be booked and the mentor evaluate again.
 */
export async function submitProject(deps: ProgressionDeps, studentId: string, projectId: string, viewer: Viewer, note: string | undefined): Promise<{ state: 'submitted' }> {
  const { db, clock } = deps;
  if (viewer.userId !== studentId) throw forbidden('not_your_project', 'Only the student submits their own project');
  const enrollment = await db.one<{ id: string }>(
    `SELECT e.id FROM enrollments e JOIN projects p ON p.path_id = e.path_id AND p.id = $2
      WHERE e.student_id = $1 ORDER BY (e.status = 'active') DESC, e.started_at DESC LIMIT 1`,
    [studentId, projectId],
  );
  if (!enrollment) throw notFound('project_not_found', 'This project is not part of your path');
  const now = clock.now();
  await db.tx(async (q) => {
    const row = await q.one<{ state: string }>('SELECT state FROM project_progress WHERE enrollment_id = $1 AND project_id = $2 FOR UPDATE', [enrollment.id, projectId]);
    const state = row?.state ?? 'locked';
    if (state === 'submitted') throw conflict('already_submitted', 'This project is already submitted and awaits its evaluation');
    if (state === 'validated') throw conflict('project_already_validated', 'This project is already validated');
    if (state === 'locked') throw unprocessable('project_locked', 'This project is not unlocked yet');
    await setProjectState(q, { enrollmentId: enrollment.id, projectId, to: 'submitted', actorId: viewer.userId, at: now, reason: state === 'needs_revision' ? 'resubmitted' : 'submitted', data: note ? { note } : {} });
  });
  return { state: 'submitted' };
}
