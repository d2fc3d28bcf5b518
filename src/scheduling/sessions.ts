import type { Queryable } from '../db/index.ts';

/** Read models of sessions as scheduling shows them (with names, project, cancellation). */
export interface SessionDetail {
  id: string;
  kind: 'mentoring' | 'defence';
  status: 'scheduled' | 'cancelled' | 'completed';
  startsAt: Date;
  endsAt: Date;
  sequence: number;
  createdAt: Date;
  updatedAt: Date;
  projectId: string | null;
  projectTitle: string | null;
  pathTitle: string;
  hostId: string;
  hostName: string;
  enrollmentId: string;
  studentId: string;
  studentName: string;
  createdBy: string | null;
}

export const DETAIL_SELECT = `
  SELECT s.id, s.kind, s.status, s.starts_at AS "startsAt", s.ends_at AS "endsAt", s.sequence,
         s.created_at AS "createdAt", s.updated_at AS "updatedAt", s.project_id AS "projectId",
         p.title AS "projectTitle", pa.title AS "pathTitle", s.host_id AS "hostId", hu.name AS "hostName",
         s.enrollment_id AS "enrollmentId", e.student_id AS "studentId", su.name AS "studentName",
         s.created_by AS "createdBy"
    FROM sessions s
    JOIN enrollments e ON e.id = s.enrollment_id
    JOIN paths pa ON pa.id = e.path_id
    JOIN users su ON su.id = e.student_id
    JOIN users hu ON hu.id = s.host_id
    LEFT JOIN projects p ON p.id = s.project_id`;

export async function sessionDetail(db: Queryable, sessionId: string): Promise<SessionDetail | undefined> {
  return db.one<SessionDetail>(`${DETAIL_SELECT} WHERE s.id = $1`, [sessionId]);
}

/**
 * Sessions of a user overlapping [from, to) (to = null: no end): the ones they
 * take part in, and for a coordinator also the ones they scheduled.
 */
export async function sessionsForUser(db: Queryable, userId: string, from: Date, to: Date | null, includeCancelled: boolean): Promise<SessionDetail[]> {
  return db.query<SessionDetail>(
    `${DETAIL_SELECT}
      WHERE (EXISTS (SELECT 1 FROM session_participants sp WHERE sp.session_id = s.id AND sp.user_id = $1) OR s.created_by = $1)
        AND s.ends_at > $2 AND ($3::timestamptz IS NULL OR s.starts_at < $3) AND ($4 OR s.status <> 'cancelled')
      ORDER BY s.starts_at, s.id`,
    [userId, from, to, includeCancelled],
  );
}

export interface ParticipantDetail {
  userId: string;
  name: string;
  role: 'student' | 'mentor' | 'jury' | 'observer';
  timeZone: string;
}

export async function participantsOf(db: Queryable, sessionId: string): Promise<ParticipantDetail[]> {
  return db.query<ParticipantDetail>(
    `SELECT sp.user_id AS "userId", u.name, sp.role, u.time_zone AS "timeZone"
       FROM session_participants sp JOIN users u ON u.id = sp.user_id
      WHERE sp.session_id = $1 ORDER BY array_position(ARRAY['student','mentor','jury','observer'], sp.role), u.name`,
    [sessionId],
  );
}

export interface SessionChange {
  id: number;
  change: 'booked' | 'rescheduled' | 'cancelled';
  changedBy: string | null;
  changedByRole: string | null;
  oldStartsAt: Date | null;
  oldEndsAt: Date | null;
  newStartsAt: Date | null;
  newEndsAt: Date | null;
  late: boolean;
  reason: string;
  sequence: number;
  at: Date;
}

export async function changesOf(db: Queryable, sessionId: string): Promise<SessionChange[]> {
  return db.query<SessionChange>(
    `SELECT id::int AS id, change, changed_by AS "changedBy", changed_by_role AS "changedByRole", old_starts_at AS "oldStartsAt",
            old_ends_at AS "oldEndsAt", new_starts_at AS "newStartsAt", new_ends_at AS "newEndsAt", late, reason, sequence, at
       FROM session_changes WHERE session_id = $1 ORDER BY id`,
    [sessionId],
  );
}

export async function recordChange(
  db: Queryable,
  c: Omit<SessionChange, 'id' | 'changedByRole'> & { sessionId: string; changedByRole: string | null },
): Promise<void> {
  await db.execute(
    `INSERT INTO session_changes (session_id, change, changed_by, changed_by_role, old_starts_at, old_ends_at, new_starts_at, new_ends_at, late, reason, sequence, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [c.sessionId, c.change, c.changedBy, c.changedByRole, c.oldStartsAt, c.oldEndsAt, c.newStartsAt, c.newEndsAt, c.late, c.reason, c.sequence, c.at],
  );
}
