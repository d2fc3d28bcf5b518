import type { Queryable } from '../db/index.ts';
import type { Phase } from './defence-machine.ts';

/**
 * What progression knows about one session, for its recording's replay and
 * for the archive a coordinator hands to an appeal: the defence phases with
 * the times they started (from the audit trail, which every phase change
 * writes in the same transaction), the final verdict, or the mentor's
 * evaluation of a mentoring session. Read-only, no access check: callers
 * check that the viewer may see the session.
 */
export interface PhaseMark {
  phase: Phase;
  at: Date;
}

export interface SessionOutcome {
  phases: PhaseMark[];
  verdict: {
    outcome: 'pass' | 'fail';
    marks: unknown;
    comment: string;
    proposedBy: string;
    finalizedAt: string | null;
    confirmedBy: string[];
  } | null;
  evaluation: {
    outcome: 'validated' | 'needs_revision';
    feedback: string;
    mentorId: string;
    codeReviewComments: unknown;
    createdAt: string;
  } | null;
}

export async function defencePhasesOf(q: Queryable, sessionId: string): Promise<PhaseMark[]> {
  return q.query<PhaseMark>(
    `SELECT to_state AS phase, at FROM progression_audit WHERE entity = 'defence' AND entity_id = $1 AND to_state IS NOT NULL ORDER BY id`,
    [sessionId],
  );
}

export async function sessionOutcomeOf(q: Queryable, sessionId: string): Promise<SessionOutcome> {
  const phases = await defencePhasesOf(q, sessionId);
  const v = await q.one<{ id: string; outcome: 'pass' | 'fail'; marks: unknown; comment: string; proposedBy: string; finalizedAt: Date | null }>(
    `SELECT id, outcome, marks, comment, proposed_by AS "proposedBy", finalized_at AS "finalizedAt"
       FROM verdicts WHERE session_id = $1 AND status = 'final'`,
    [sessionId],
  );
  const confirmedBy = v
    ? (await q.query<{ juryId: string }>('SELECT jury_id AS "juryId" FROM verdict_confirmations WHERE verdict_id = $1 ORDER BY confirmed_at', [v.id])).map((c) => c.juryId)
    : [];
  const e = await q.one<{ outcome: 'validated' | 'needs_revision'; feedback: string; mentorId: string; codeReviewComments: unknown; createdAt: Date }>(
    `SELECT outcome, feedback, mentor_id AS "mentorId", code_review_comments AS "codeReviewComments", created_at AS "createdAt"
       FROM evaluations WHERE session_id = $1`,
    [sessionId],
  );
  return {
    phases,
    verdict: v
      ? { outcome: v.outcome, marks: v.marks, comment: v.comment, proposedBy: v.proposedBy, finalizedAt: v.finalizedAt?.toISOString() ?? null, confirmedBy }
      : null,
    evaluation: e ? { outcome: e.outcome, feedback: e.feedback, mentorId: e.mentorId, codeReviewComments: e.codeReviewComments, createdAt: e.createdAt.toISOString() } : null,
  };
}
