import type { Queryable } from '../db/index.ts';
import { conflict, forbidden, notFound, unprocessable } from '../shared/errors.ts';
import type { Role } from '../auth/index.ts';

/**
 * The read side of live sessions, shared by rooms, attendance, recording and
 * progression. Scheduling creates and changes sessions; everyone else asks
 * here ("who takes part, may this person enter now?") instead of reading the
 * tables themselves.
 */
export type SessionKind = 'mentoring' | 'defence';
export type SessionStatus = 'scheduled' | 'cancelled' | 'completed';
export type ParticipantRole = 'student' | 'mentor' | 'jury' | 'observer';

export interface Session {
  id: string;
  kind: SessionKind;
  enrollmentId: string;
  projectId: string | null;
  hostId: string;
  startsAt: Date;
  endsAt: Date;
  status: SessionStatus;
  sequence: number;
  updatedAt: Date;
}

export interface Participant {
  userId: string;
  role: ParticipantRole;
  name: string;
}

interface SessionRow {
  id: string;
  kind: SessionKind;
  enrollment_id: string;
  project_id: string | null;
  host_id: string;
  starts_at: Date;
  ends_at: Date;
  status: SessionStatus;
  sequence: number;
  updated_at: Date;
}

const fromRow = (r: SessionRow): Session => ({
  id: r.id,
  kind: r.kind,
  enrollmentId: r.enrollment_id,
  projectId: r.project_id,
  hostId: r.host_id,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  status: r.status,
  sequence: r.sequence,
  updatedAt: r.updated_at,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function findSession(db: Queryable, sessionId: string): Promise<Session | undefined> {
  if (!UUID.test(sessionId)) return undefined;
  const row = await db.one<SessionRow>(
    'SELECT id, kind, enrollment_id, project_id, host_id, starts_at, ends_at, status, sequence, updated_at FROM sessions WHERE id = $1',
    [sessionId],
  );
  return row && fromRow(row);
}

export async function getSession(db: Queryable, sessionId: string): Promise<Session> {
  const session = await findSession(db, sessionId);
  if (!session) throw notFound('session_not_found', 'No such session');
  return session;
}

export async function listParticipants(db: Queryable, sessionId: string): Promise<Participant[]> {
  return db.query<Participant>(
    `SELECT p.user_id AS "userId", p.role, u.name
       FROM session_participants p JOIN users u ON u.id = p.user_id
      WHERE p.session_id = $1 ORDER BY p.role, u.name`,
    [sessionId],
  );
}

export async function participantRole(db: Queryable, sessionId: string, userId: string): Promise<ParticipantRole | undefined> {
  const row = await db.one<{ role: ParticipantRole }>('SELECT role FROM session_participants WHERE session_id = $1 AND user_id = $2', [
    sessionId,
    userId,
  ]);
  return row?.role;
}

/**
 * May this user see this session (its details, attendance, recordings)?
 * Participants and coordinators may; anyone else gets 404, so the existence of
 * other people's sessions is not revealed.
 */
export async function assertCanViewSession(db: Queryable, sessionId: string, viewer: { userId: string; role: Role }): Promise<Session> {
  const session = await findSession(db, sessionId);
  if (!session) throw notFound('session_not_found', 'No such session');
  if (viewer.role === 'coordinator') return session;
  if (!(await participantRole(db, sessionId, viewer.userId))) throw notFound('session_not_found', 'No such session');
  return session;
}

export interface EntryWindow {
  joinEarlyMinutes: number;
  graceAfterEndMinutes: number;
}

/**
 * Decides whether a user may enter a session's live room now, and with which
 * role: participants within [start - early, end + grace]; a coordinator as an
 * observer. Throws a DomainError with a stable code otherwise.
 */
export async function authorizeRoomEntry(
  db: Queryable,
  sessionId: string,
  user: { userId: string; role: Role },
  now: Date,
  window: EntryWindow,
): Promise<{ session: Session; role: ParticipantRole }> {
  const session = await findSession(db, sessionId);
  if (!session) throw notFound('session_not_found', 'No such session');
  const role = (await participantRole(db, sessionId, user.userId)) ?? (user.role === 'coordinator' ? 'observer' : undefined);
  if (!role) throw forbidden('not_a_participant', 'You are not a participant of this session');
  if (session.status === 'cancelled') throw conflict('session_cancelled', 'This session was cancelled');
  const opensAt = session.startsAt.getTime() - window.joinEarlyMinutes * 60_000;
  const closesAt = session.endsAt.getTime() + window.graceAfterEndMinutes * 60_000;
  if (now.getTime() < opensAt) {
    throw unprocessable('too_early', `The room opens ${window.joinEarlyMinutes} minutes before the start`, { opensAt: new Date(opensAt).toISOString() });
  }
  if (now.getTime() > closesAt) throw unprocessable('session_over', 'This session is over', { closedAt: new Date(closesAt).toISOString() });
  return { session, role };
}

/** Sessions a user takes part in that overlap [from, to), cancelled included. */
export async function listSessionsOfUser(db: Queryable, userId: string, from: Date, to: Date): Promise<Session[]> {
  const rows = await db.query<SessionRow>(
    `SELECT s.id, s.kind, s.enrollment_id, s.project_id, s.host_id, s.starts_at, s.ends_at, s.status, s.sequence, s.updated_at
       FROM sessions s JOIN session_participants p ON p.session_id = s.id
      WHERE p.user_id = $1 AND s.ends_at > $2 AND s.starts_at < $3
      ORDER BY s.starts_at`,
    [userId, from, to],
  );
  return rows.map(fromRow);
}
