import type { Queryable } from '../db/index.ts';

export type AuditEntity = 'project_progress' | 'evaluation' | 'defence' | 'verdict' | 'diploma' | 'enrollment' | 'webhook_subscription';

export interface AuditEntry {
  entity: AuditEntity;
  entityId: string;
  enrollmentId?: string | null;
  action: string;
  from?: string | null;
  to?: string | null;
  actorId?: string | null;
  data?: Record<string, unknown>;
  at: Date;
}

/** Appends one row to the audit trail; call it inside the transaction that makes the change. */
export async function audit(q: Queryable, e: AuditEntry): Promise<void> {
  await q.execute(
    `INSERT INTO progression_audit (entity, entity_id, enrollment_id, action, from_state, to_state, actor_id, data, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [e.entity, e.entityId, e.enrollmentId ?? null, e.action, e.from ?? null, e.to ?? null, e.actorId ?? null, JSON.stringify(e.data ?? {}), e.at],
  );
}

export interface AuditRow {
  id: string;
  entity: AuditEntity;
  entityId: string;
  action: string;
  from: string | null;
  to: string | null;
  actorId: string | null;
  data: Record<string, unknown>;
  at: Date;
}

export async function auditOfEnrollment(q: Queryable, enrollmentId: string): Promise<AuditRow[]> {
  return q.query<AuditRow>(
    `SELECT id::text AS id, entity, entity_id AS "entityId", action, from_state AS "from", to_state AS "to", actor_id AS "actorId", data, at
       FROM progression_audit WHERE enrollment_id = $1 ORDER BY id`,
    [enrollmentId],
  );
}

/**
 * The audit trail as `viewer` may read it: entries about a verdict that is not
 * final (a proposal with its outcome and marks, confirmations, superseded
 * proposals) only for the panel of that defence and coordinators, as on every
 * other read path of an unconfirmed verdict.
 */
export async function auditOfEnrollmentFor(q: Queryable, enrollmentId: string, viewer: { userId: string; role: string }): Promise<AuditRow[]> {
  const rows = await auditOfEnrollment(q, enrollmentId);
  if (viewer.role === 'coordinator') return rows;
  const visible = await q.query<{ id: string }>(
    `SELECT v.id FROM verdicts v JOIN defences d ON d.session_id = v.session_id
      WHERE d.enrollment_id = $1
        AND (v.status = 'final'
             OR EXISTS (SELECT 1 FROM session_participants p WHERE p.session_id = v.session_id AND p.user_id = $2 AND p.role = 'jury'))`,
    [enrollmentId, viewer.userId],
  );
  const ids = new Set(visible.map((v) => v.id));
  return rows.filter((r) => r.entity !== 'verdict' || ids.has(r.entityId));
}

/**
 * Moves one project's progress to a new state (creating the row if missing)
 * and records the change. Returns the previous state.
 */
export async function setProjectState(
  q: Queryable,
  p: { enrollmentId: string; projectId: string; to: string; actorId: string | null; at: Date; reason: string; data?: Record<string, unknown> },
): Promise<string> {
  const before = await q.one<{ state: string }>('SELECT state FROM project_progress WHERE enrollment_id = $1 AND project_id = $2 FOR UPDATE', [
    p.enrollmentId,
    p.projectId,
  ]);
  await q.execute(
    `INSERT INTO project_progress (enrollment_id, project_id, state, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (enrollment_id, project_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
    [p.enrollmentId, p.projectId, p.to, p.at],
  );
  const from = before?.state ?? 'locked';
  await audit(q, {
    entity: 'project_progress',
    entityId: p.projectId,
    enrollmentId: p.enrollmentId,
    action: p.reason,
    from,
    to: p.to,
    actorId: p.actorId,
    ...(p.data ? { data: p.data } : {}),
    at: p.at,
  });
  return from;
}
