import type { Server } from 'socket.io';
import type { Db, Queryable } from '../db/index.ts';
import type { DomainEvents, PresenceType } from '../events/index.ts';
import type { Outbox } from '../outbox/index.ts';
import type { JobQueue } from '../jobs/index.ts';
import type { Clock } from '../shared/clock.ts';
import { conflict, forbidden, notFound } from '../shared/errors.ts';
import { sessionChannel } from '../shared/socket.ts';
import { findSession, getSession, listParticipants, type ParticipantRole, type Session } from '../sessions/index.ts';
import { assertCanViewStudent } from '../school/index.ts';
import type { Role } from '../auth/index.ts';
import type { AttendanceConfig } from './config.ts';
import { assess, deriveParticipant, deriveQuality, type AttendanceStatus, type MediaSource, type PresenceEvent, type PresenceFigures, type QualityLevel, type QualitySummary } from './derive.ts';

import type { Viewer } from '../auth/index.ts';
export type { Viewer };

export interface PresenceInput {
  sessionId: string;
  userId: string;
  type: PresenceType;
  source?: MediaSource | undefined;
  at: Date;
}

export interface QualityInput {
  sessionId: string;
  userId: string;
  level: QualityLevel;
  at: Date;
}

/** Connection quality over the participant's presence: seconds per level, and the periods below excellent. */
export interface QualityView {
  seconds: Record<QualityLevel, number>;
  periods: Array<{ level: QualityLevel; from: string; to: string }>;
}

export interface IntervalView {
  from: string;
  to: string | null;
  networkGaps: number;
  networkGapSeconds: number;
}

export interface CorrectionView {
  at: string;
  by: string;
  reason: string;
  before: CorrectableFields;
  after: CorrectableFields;
}

export interface CorrectableFields {
  status: AttendanceStatus;
  attendedSeconds: number;
}

export interface ParticipantAttendance extends PresenceFigures {
  userId: string;
  name: string;
  email: string;
  role: ParticipantRole;
  status: AttendanceStatus;
  late: boolean;
  leftEarly: boolean;
  presentNow: boolean;
  firstJoinAt: string | null;
  lastLeaveAt: string | null;
  latenessSeconds: number | null;
  intervals: IntervalView[];
  quality: QualityView;
  noShowMarkedAt: string | null;
  presenceEvents: number;
  corrected: boolean;
  corrections: CorrectionView[];
}

export interface SessionAttendance {
  sessionId: string;
  kind: Session['kind'];
  sessionStatus: Session['status'];
  startsAt: string;
  endsAt: string;
  /** live: derived from the log now; finalized: the frozen record. */
  state: 'live' | 'finalized';
  finalizedAt: string | null;
  noShowCheckedAt: string | null;
  participants: ParticipantAttendance[];
}

export interface AttendanceRecordOfUser {
  userId: string;
  noShows: number;
  lateCancellations: number;
  sessions: Array<{ sessionId: string; startsAt: string; kind: Session['kind']; status: AttendanceStatus | 'cancelled' }>;
}

export interface Correction {
  userId: string;
  status?: Exclude<AttendanceStatus, 'pending'> | undefined;
  attendedSeconds?: number | undefined;
  reason: string;
}

export interface NoShowJob {
  sessionId: string;
  startsAt: string;
}
export interface FinalizeJob {
  sessionId: string;
  endsAt: string;
}

export interface AttendanceDeps {
  db: Db;
  config: AttendanceConfig;
  clock: Clock;
  events: DomainEvents;
  outbox: Outbox;
  io: Server;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

interface EventRow {
  id: string;
  sessionId: string;
  userId: string;
  type: PresenceType;
  source: MediaSource | null;
  at: Date;
}

interface TrackingRow {
  sessionId: string;
  noShowJobId: string | null;
  finalizeJobId: string | null;
  noShowCheckedAt: Date | null;
  finalizedAt: Date | null;
  frozenUntil: Date | null;
}

interface RecordRow extends PresenceFigures {
  sessionId: string;
  userId: string;
  role: ParticipantRole;
  status: Exclude<AttendanceStatus, 'pending'>;
  firstJoinAt: Date | null;
  lastLeaveAt: Date | null;
  latenessSeconds: number | null;
  intervals: IntervalView[];
  quality: QualityView | null;
  late: boolean;
  leftEarly: boolean;
  corrected: boolean;
}

interface PersonRow {
  sessionId: string;
  userId: string;
  role: ParticipantRole;
  name: string;
  email: string;
}

export interface PresentPerson {
  userId: string;
  name: string;
  role: ParticipantRole;
  /** Start of the current presence interval. */
  since: string;
  /** false while within the reconnect grace after a drop. */
  connected: boolean;
}

/** The presence log's types that change who is in the room or whether they are connected (and are broadcast). */
const PRESENCE_CHANGES: ReadonlySet<PresenceType> = new Set(['join', 'leave', 'disconnect', 'reconnect', 'media_flowing', 'media_lost', 'media_idle']);
const PRESENCE_CHANGE_SQL = `('join', 'leave', 'disconnect', 'reconnect', 'media_flowing', 'media_lost', 'media_idle')`;

/**
 * The frozen attendance of a session (undefined until finalized), for
 * capabilities holding only the store (progression: did the student attend?).
 */
export async function finalizedAttendance(
  db: Queryable,
  sessionId: string,
): Promise<Array<{ userId: string; role: ParticipantRole; status: Exclude<AttendanceStatus, 'pending'>; attendedSeconds: number; corrected: boolean }> | undefined> {
  const tracking = await db.one<{ finalizedAt: Date | null }>('SELECT finalized_at AS "finalizedAt" FROM attendance_sessions WHERE session_id = $1', [sessionId]);
  if (!tracking?.finalizedAt) return undefined;
  return db.query(
    `SELECT user_id AS "userId", role, status, attended_seconds AS "attendedSeconds", corrected
       FROM attendance_records WHERE session_id = $1 ORDER BY role, user_id`,
    [sessionId],
  );
}

/**
 * A user's no-show and late-cancellation counts (the booking policy's input)
 * with the sessions behind them. A no-show is a frozen record with status
 * no_show, or, before the freeze, a no-show mark with no join since. A late
 * cancellation counts against whoever cancelled (the student when unknown).
 */
export async function attendanceRecordOf(db: Queryable, userId: string): Promise<AttendanceRecordOfUser> {
  const rows = await db.query<{ sessionId: string; startsAt: Date; kind: Session['kind']; status: AttendanceStatus | 'cancelled' }>(
    `SELECT s.id AS "sessionId", s.starts_at AS "startsAt", s.kind, r.status
       FROM attendance_records r JOIN sessions s ON s.id = r.session_id
      WHERE r.user_id = $1 AND r.status = 'no_show'
     UNION ALL
     SELECT s.id, s.starts_at, s.kind, 'no_show'
       FROM attendance_no_shows m JOIN sessions s ON s.id = m.session_id
       LEFT JOIN attendance_sessions t ON t.session_id = m.session_id
      WHERE m.user_id = $1 AND t.finalized_at IS NULL AND s.status <> 'cancelled'
        AND NOT EXISTS (SELECT 1 FROM presence_events e WHERE e.session_id = m.session_id AND e.user_id = m.user_id AND e.type IN ('join', 'reconnect'))
     UNION ALL
     SELECT s.id, s.starts_at, s.kind, 'cancelled'
       FROM attendance_cancellations c JOIN sessions s ON s.id = c.session_id
      WHERE c.late AND (c.cancelled_by = $1 OR (c.cancelled_by IS NULL AND EXISTS (
        SELECT 1 FROM session_participants p WHERE p.session_id = c.session_id AND p.user_id = $1 AND p.role = 'student')))
     ORDER BY 2`,
    [userId],
  );
  return {
    userId,
    noShows: rows.filter((r) => r.status === 'no_show').length,
    lateCancellations: rows.filter((r) => r.status === 'cancelled').length,
    sessions: rows.map((r) => ({ sessionId: r.sessionId, startsAt: r.startsAt.toISOString(), kind: r.kind, status: r.status })),
  };
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
const ATTENDING_ROLES: ReadonlySet<ParticipantRole> = new Set(['student', 'mentor', 'jury']);

/** Everything needed to build the attendance of a batch of sessions, read in a few queries. */
async function loadBatch(db: Queryable, sessionIds: string[]) {
  const [tracking, records, people, observers, events, marks, corrections, quality] = await Promise.all([
    db.query<TrackingRow>(
      `SELECT session_id AS "sessionId", no_show_job_id AS "noShowJobId", finalize_job_id AS "finalizeJobId",
              no_show_checked_at AS "noShowCheckedAt", finalized_at AS "finalizedAt", frozen_until AS "frozenUntil"
         FROM attendance_sessions WHERE session_id = ANY($1::uuid[])`,
      [sessionIds],
    ),
    db.query<RecordRow>(
      `SELECT session_id AS "sessionId", user_id AS "userId", role, status, first_join_at AS "firstJoinAt",
              last_leave_at AS "lastLeaveAt", lateness_seconds AS "latenessSeconds", attended_seconds AS "attendedSeconds",
              network_gaps AS "networkGaps", network_gap_seconds AS "networkGapSeconds", mic_seconds AS "micSeconds",
              camera_seconds AS "cameraSeconds", screen_seconds AS "screenSeconds", transport_failures AS "transportFailures",
              intervals, quality, late, left_early AS "leftEarly", corrected
         FROM attendance_records WHERE session_id = ANY($1::uuid[])`,
      [sessionIds],
    ),
    db.query<PersonRow>(
      `SELECT p.session_id AS "sessionId", p.user_id AS "userId", p.role, u.name, u.email
         FROM session_participants p JOIN users u ON u.id = p.user_id
        WHERE p.session_id = ANY($1::uuid[]) ORDER BY p.role, u.name`,
      [sessionIds],
    ),
    // People in the log who are not participants (coordinators observing).
    db.query<PersonRow>(
      `SELECT DISTINCT e.session_id AS "sessionId", e.user_id AS "userId", 'observer' AS role, u.name, u.email
         FROM presence_events e JOIN users u ON u.id = e.user_id
        WHERE e.session_id = ANY($1::uuid[])
          AND NOT EXISTS (SELECT 1 FROM session_participants p WHERE p.session_id = e.session_id AND p.user_id = e.user_id)
        ORDER BY u.name`,
      [sessionIds],
    ),
    db.query<EventRow>(
      `SELECT id, session_id AS "sessionId", user_id AS "userId", type, source, at
         FROM presence_events WHERE session_id = ANY($1::uuid[]) ORDER BY session_id, at, id`,
      [sessionIds],
    ),
    db.query<{ sessionId: string; userId: string; markedAt: Date }>(
      `SELECT session_id AS "sessionId", user_id AS "userId", marked_at AS "markedAt" FROM attendance_no_shows WHERE session_id = ANY($1::uuid[])`,
      [sessionIds],
    ),
    db.query<{ sessionId: string; userId: string; at: Date; by: string; reason: string; before: CorrectableFields; after: CorrectableFields }>(
      `SELECT session_id AS "sessionId", user_id AS "userId", at, corrected_by AS by, reason, before, after
         FROM attendance_corrections WHERE session_id = ANY($1::uuid[]) ORDER BY id`,
      [sessionIds],
    ),
    db.query<{ sessionId: string; userId: string; level: QualityLevel; at: Date }>(
      `SELECT session_id AS "sessionId", user_id AS "userId", level, at
         FROM connection_quality_events WHERE session_id = ANY($1::uuid[]) ORDER BY session_id, id`,
      [sessionIds],
    ),
  ]);
  const group = <T extends { sessionId: string }>(rows: T[]) => {
    const m = new Map<string, T[]>();
    for (const r of rows) {
      let list = m.get(r.sessionId);
      if (!list) m.set(r.sessionId, (list = []));
      list.push(r);
    }
    return (id: string) => m.get(id) ?? [];
  };
  return {
    tracking: (id: string) => tracking.find((r) => r.sessionId === id),
    records: group(records),
    people: group([...people, ...observers]),
    events: group(events),
    marks: group(marks),
    corrections: group(corrections),
    quality: group(quality),
  };
}

/**
 * Presence log, derived attendance, no-show and finalize jobs, corrections and
 * reports. Transport-free: routes, socket broadcasts and job processors call it.
 */
export class AttendanceService {
  readonly #db: Db;
  readonly #config: AttendanceConfig;
  readonly #clock: Clock;
  readonly #events: DomainEvents;
  readonly #outbox: Outbox;
  readonly #io: Server;
  readonly #log: AttendanceDeps['log'];
  #noShowQueue: JobQueue<NoShowJob> | undefined;
  #finalizeQueue: JobQueue<FinalizeJob> | undefined;

  constructor(deps: AttendanceDeps) {
    this.#db = deps.db;
    this.#config = deps.config;
    this.#clock = deps.clock;
    this.#events = deps.events;
    this.#outbox = deps.outbox;
    this.#io = deps.io;
    this.#log = deps.log;
  }

  attachQueues(noShow: JobQueue<NoShowJob>, finalize: JobQueue<FinalizeJob>): void {
    this.#noShowQueue = noShow;
    this.#finalizeQueue = finalize;
  }

  // ---- the log ------------------------------------------------------------

  /** Appends one presence event (server time) and tells the room who is present. */
  async recordPresence(e: PresenceInput): Promise<void> {
    if (e.type === 'join') e = await this.#joinAfterLostNode(e);
    await this.#db.execute('INSERT INTO presence_events (session_id, user_id, type, source, at) VALUES ($1, $2, $3, $4, $5)', [
      e.sessionId,
      e.userId,
      e.type,
      e.source ?? null,
      e.at,
    ]);
    if (PRESENCE_CHANGES.has(e.type)) await this.broadcastPresence(e.sessionId, { userId: e.userId, type: e.type, at: e.at.toISOString() });
  }

  /**
   * A room writes `join` for someone it does not hold. If their log still has
   * them in the room (no `leave` after their last entry), the server that held
   * them died (kill -9 of its node) before it could say so: they did not leave,
   * their connection was cut. So their media and socket go down at the last
   * moment that server is known to have seen them, and this entry is their
   * `reconnect`: within the grace it is one network gap, not a new visit.
   */
  async #joinAfterLostNode(e: PresenceInput): Promise<PresenceInput> {
    const last = await this.#db.one<{ type: PresenceType; at: Date }>(
      `SELECT type, at FROM presence_events WHERE session_id = $1 AND user_id = $2 AND type IN ${PRESENCE_CHANGE_SQL} AND at <= $3
        ORDER BY at DESC, id DESC LIMIT 1`,
      [e.sessionId, e.userId, e.at],
    );
    if (!last || last.type === 'leave') return e;
    const seen = await this.#db.one<{ at: Date }>(
      `SELECT GREATEST(
          (SELECT MAX(at) FROM presence_events WHERE session_id = $1 AND user_id = $2 AND at <= $3),
          (SELECT MAX(at) FROM connection_quality_events WHERE session_id = $1 AND user_id = $2 AND at <= $3)) AS at`,
      [e.sessionId, e.userId, e.at],
    );
    const lostAt = seen?.at ?? last.at;
    if (last.type !== 'disconnect') {
      await this.#db.execute(
        `INSERT INTO presence_events (session_id, user_id, type, at) VALUES ($1, $2, 'media_idle', $3), ($1, $2, 'disconnect', $3)`,
        [e.sessionId, e.userId, lostAt],
      );
    }
    return { ...e, type: 'reconnect' };
  }

  /** Appends a change of a participant's connection quality (rooms samples it every second). */
  async recordQuality(e: QualityInput): Promise<void> {
    await this.#db.execute('INSERT INTO connection_quality_events (session_id, user_id, level, at) VALUES ($1, $2, $3, $4)', [e.sessionId, e.userId, e.level, e.at]);
  }

  /** Who is in the room now (or within the reconnect grace). */
  async presentNow(sessionId: string): Promise<PresentPerson[]> {
    const events = await this.#db.query<EventRow & { name: string; role: ParticipantRole }>(
      `SELECT e.id, e.session_id AS "sessionId", e.user_id AS "userId", e.type, e.source, e.at, u.name, COALESCE(p.role, 'observer') AS role
         FROM presence_events e JOIN users u ON u.id = e.user_id
         LEFT JOIN session_participants p ON p.session_id = e.session_id AND p.user_id = e.user_id
        WHERE e.session_id = $1 AND e.type IN ${PRESENCE_CHANGE_SQL}
        ORDER BY e.at, e.id`,
      [sessionId],
    );
    const now = this.#clock.now();
    const present: PresentPerson[] = [];
    for (const userId of new Set(events.map((e) => e.userId))) {
      const mine = events.filter((e) => e.userId === userId);
      const p = deriveParticipant(mine, { reconnectGraceSeconds: this.#config.reconnectGraceSeconds, until: now });
      const last = p.intervals[p.intervals.length - 1];
      if (p.presentNow && last) present.push({ userId, name: mine[0]!.name, role: mine[0]!.role, since: last.from.toISOString(), connected: p.connectedNow });
    }
    return present.sort((a, b) => a.since.localeCompare(b.since) || a.name.localeCompare(b.name));
  }

  /** Socket.IO `presence` to everyone in the room: the change and who is present now. */
  async broadcastPresence(sessionId: string, change: { userId: string; type: PresenceType; at: string }): Promise<void> {
    const present = await this.presentNow(sessionId);
    this.#io.of('/rooms').to(sessionChannel(sessionId)).emit('presence', { sessionId, change, present });
  }

  // ---- jobs -----------------------------------------------------------------

  /**
   * (Re)schedules the no-show check (start + N minutes) and the finalize job
   * (end + M minutes) of a session from its current times; called when a
   * session is booked or rescheduled. Job ids carry the time they are for, so
   * a rescheduled session gets new jobs and a stale one does nothing.
   */
  async scheduleSession(sessionId: string): Promise<void> {
    const session = await getSession(this.#db, sessionId);
    if (session.status === 'cancelled') return this.unscheduleSession(sessionId);
    const tracking = await this.#tracking(sessionId);
    if (tracking.finalizedAt) return;
    const now = this.#clock.now().getTime();
    const noShowAt = session.startsAt.getTime() + this.#config.noShowAfterMinutes * 60_000;
    const finalizeAt = session.endsAt.getTime() + this.#config.finalizeAfterEndMinutes * 60_000;
    const noShowJobId = `noshow-${sessionId}-${session.startsAt.getTime()}`;
    const finalizeJobId = `finalize-${sessionId}-${session.endsAt.getTime()}`;
    if (tracking.noShowJobId && tracking.noShowJobId !== noShowJobId) await this.#queues().noShow.remove(tracking.noShowJobId);
    if (tracking.finalizeJobId && tracking.finalizeJobId !== finalizeJobId) await this.#queues().finalize.remove(tracking.finalizeJobId);
    await ensureJob(this.#queues().noShow, noShowJobId, { sessionId, startsAt: session.startsAt.toISOString() }, noShowAt - now);
    await ensureJob(this.#queues().finalize, finalizeJobId, { sessionId, endsAt: session.endsAt.toISOString() }, finalizeAt - now);
    await this.#db.execute('UPDATE attendance_sessions SET no_show_job_id = $2, finalize_job_id = $3 WHERE session_id = $1', [sessionId, noShowJobId, finalizeJobId]);
  }

  async unscheduleSession(sessionId: string): Promise<void> {
    const tracking = await this.#tracking(sessionId);
    if (tracking.noShowJobId) await this.#queues().noShow.remove(tracking.noShowJobId);
    if (tracking.finalizeJobId) await this.#queues().finalize.remove(tracking.finalizeJobId);
    await this.#db.execute('UPDATE attendance_sessions SET no_show_job_id = NULL, finalize_job_id = NULL WHERE session_id = $1', [sessionId]);
  }

  async recordCancellation(sessionId: string, late: boolean, cancelledBy?: string): Promise<void> {
    await this.#db.execute(
      `INSERT INTO attendance_cancellations (session_id, late, cancelled_at, cancelled_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (session_id) DO UPDATE SET late = EXCLUDED.late, cancelled_at = EXCLUDED.cancelled_at, cancelled_by = EXCLUDED.cancelled_by`,
      [sessionId, late, this.#clock.now(), cancelledBy ?? null],
    );
    await this.unscheduleSession(sessionId);
  }

  /** The no-show job: marks every student, mentor or jury member who never joined. Returns who was marked. */
  async checkNoShows(sessionId: string, expectedStartsAt?: Date): Promise<string[]> {
    const session = await findSession(this.#db, sessionId);
    if (!session || session.status === 'cancelled') return [];
    if (expectedStartsAt && expectedStartsAt.getTime() !== session.startsAt.getTime()) return []; // rescheduled since
    const now = this.#clock.now();
    const marked = await this.#db.tx(async (q) => {
      const tracking = await this.#lockTracking(q, sessionId);
      if (tracking.finalizedAt) return [];
      const absent = await q.query<{ userId: string }>(
        `SELECT p.user_id AS "userId" FROM session_participants p
          WHERE p.session_id = $1 AND p.role IN ('student', 'mentor', 'jury')
            AND NOT EXISTS (SELECT 1 FROM presence_events e WHERE e.session_id = p.session_id AND e.user_id = p.user_id AND e.type IN ('join', 'reconnect'))`,
        [sessionId],
      );
      for (const { userId } of absent) {
        await q.execute('INSERT INTO attendance_no_shows (session_id, user_id, marked_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [sessionId, userId, now]);
      }
      await q.execute('UPDATE attendance_sessions SET no_show_checked_at = COALESCE(no_show_checked_at, $2) WHERE session_id = $1', [sessionId, now]);
      return absent.map((a) => a.userId);
    });
    if (marked.length > 0) {
      this.#log.info({ sessionId, userIds: marked }, 'no-show marked');
      this.#events.emit('attendance.no_show', { sessionId, userIds: marked });
    }
    return marked;
  }

  /**
   * Freezes the attendance record of a session: derives it from the log up to
   * min(now, end + finalize delay), writes one row per participant, and never
   * again (a second call returns the first freeze). Appends 'attendance.finalized' to the outbox once, with the freeze.
   */
  async finalize(sessionId: string, expectedEndsAt?: Date): Promise<{ finalizedAt: Date; alreadyFinalized: boolean } | undefined> {
    const session = await findSession(this.#db, sessionId);
    if (!session) throw notFound('session_not_found', 'No such session');
    if (expectedEndsAt && expectedEndsAt.getTime() !== session.endsAt.getTime()) return undefined; // rescheduled since
    const now = this.#clock.now();
    const until = new Date(Math.min(now.getTime(), session.endsAt.getTime() + this.#config.finalizeAfterEndMinutes * 60_000));
    const result = await this.#db.tx(async (q) => {
      const tracking = await this.#lockTracking(q, sessionId);
      if (tracking.finalizedAt) return { finalizedAt: tracking.finalizedAt, alreadyFinalized: true };
      const batch = await loadBatch(q, [sessionId]);
      const events = batch.events(sessionId);
      const lastEventId = events.reduce((max, e) => (BigInt(e.id) > max ? BigInt(e.id) : max), 0n);
      if (session.status !== 'cancelled') {
        for (const person of batch.people(sessionId)) {
          const mine = events.filter((e) => e.userId === person.userId);
          const p = deriveParticipant(mine, { reconnectGraceSeconds: this.#config.reconnectGraceSeconds, until, close: true });
          const a = assess(p, { ...this.#thresholds(session), noShowDue: true });
          if (a.status === 'pending') continue; // unreachable: noShowDue
          const quality = qualityView(deriveQuality(batch.quality(sessionId).filter((c) => c.userId === person.userId), p.intervals, until));
          if (person.role === 'observer' && !p.firstJoinAt) continue;
          await q.execute(
            `INSERT INTO attendance_records (session_id, user_id, role, status, first_join_at, last_leave_at, lateness_seconds,
               attended_seconds, network_gaps, network_gap_seconds, mic_seconds, camera_seconds, screen_seconds, transport_failures,
               intervals, late, left_early, finalized_at, quality)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
            [
              sessionId,
              person.userId,
              person.role,
              a.status,
              p.firstJoinAt,
              p.lastLeaveAt,
              a.latenessSeconds,
              p.attendedSeconds,
              p.networkGaps,
              p.networkGapSeconds,
              p.micSeconds,
              p.cameraSeconds,
              p.screenSeconds,
              p.transportFailures,
              JSON.stringify(p.intervals.map(intervalView)),
              a.late,
              a.leftEarly,
              now,
              JSON.stringify(quality),
            ],
          );
        }
      }
      await q.execute('UPDATE attendance_sessions SET finalized_at = $2, frozen_until = $3, last_event_id = $4 WHERE session_id = $1', [
        sessionId,
        now,
        until,
        lastEventId.toString(),
      ]);
      await this.#outbox.append(q, 'attendance.finalized', { sessionId });
      // The record is closed, so the session is over: it says so, and other systems hear it once (webhooks).
      const completed = await q.one<{ id: string }>(`UPDATE sessions SET status = 'completed', updated_at = $2 WHERE id = $1 AND status = 'scheduled' RETURNING id`, [sessionId, now]);
      if (completed) await this.#outbox.append(q, 'session.completed', { sessionId });
      return { finalizedAt: now, alreadyFinalized: false };
    });
    if (!result.alreadyFinalized) this.#log.info({ sessionId }, 'attendance finalized');
    return result;
  }

  // ---- reads ----------------------------------------------------------------

  /** GET /sessions/:id/attendance, for a participant or a coordinator (checked by the caller). */
  async sessionAttendance(session: Session): Promise<SessionAttendance> {
    const batch = await loadBatch(this.#db, [session.id]);
    return this.#build(session, batch);
  }

  /** Attendance of a batch of sessions (the CSV export's pages). */
  async sessionsAttendance(sessions: Session[]): Promise<SessionAttendance[]> {
    if (sessions.length === 0) return [];
    const batch = await loadBatch(this.#db, sessions.map((s) => s.id));
    return sessions.map((s) => this.#build(s, batch));
  }

  // Kept whole (~80 lines): one session's report from the batch, each participant's row built in one pass.
  #build(session: Session, batch: Awaited<ReturnType<typeof loadBatch>>): SessionAttendance {
    const tracking = batch.tracking(session.id);
    const finalized = Boolean(tracking?.finalizedAt);
    const events = batch.events(session.id);
    const marks = batch.marks(session.id);
    const corrections = batch.corrections(session.id);
    const records = batch.records(session.id);
    const until = new Date(Math.min(this.#clock.now().getTime(), session.endsAt.getTime() + this.#config.finalizeAfterEndMinutes * 60_000));
    const participants: ParticipantAttendance[] = [];
    for (const person of batch.people(session.id)) {
      const mine = events.filter((e) => e.userId === person.userId);
      const mark = marks.find((m) => m.userId === person.userId);
      const common = {
        userId: person.userId,
        name: person.name,
        email: person.email,
        role: person.role,
        noShowMarkedAt: iso(mark?.markedAt),
        presenceEvents: mine.length,
        corrections: corrections
          .filter((c) => c.userId === person.userId)
          .map((c) => ({ at: c.at.toISOString(), by: c.by, reason: c.reason, before: c.before, after: c.after })),
      };
      if (finalized) {
        const r = records.find((x) => x.userId === person.userId);
        if (!r) continue; // an observer who never joined, or a cancelled session
        participants.push({
          ...common,
          status: r.status,
          late: r.late,
          leftEarly: r.leftEarly,
          presentNow: false,
          firstJoinAt: iso(r.firstJoinAt),
          lastLeaveAt: iso(r.lastLeaveAt),
          latenessSeconds: r.latenessSeconds,
          attendedSeconds: r.attendedSeconds,
          networkGaps: r.networkGaps,
          networkGapSeconds: r.networkGapSeconds,
          micSeconds: r.micSeconds,
          cameraSeconds: r.cameraSeconds,
          screenSeconds: r.screenSeconds,
          transportFailures: r.transportFailures,
          intervals: r.intervals,
          quality: r.quality ?? qualityView(deriveQuality([], [], until)),
          corrected: r.corrected,
        });
        continue;
      }
      const p = deriveParticipant(mine, { reconnectGraceSeconds: this.#config.reconnectGraceSeconds, until });
      const noShowDue = ATTENDING_ROLES.has(person.role) && Boolean(tracking?.noShowCheckedAt);
      const a = assess(p, { ...this.#thresholds(session), noShowDue });
      participants.push({
        ...common,
        status: a.status,
        late: a.late,
        leftEarly: a.leftEarly,
        presentNow: p.presentNow,
        firstJoinAt: iso(p.firstJoinAt),
        lastLeaveAt: iso(p.lastLeaveAt),
        latenessSeconds: a.latenessSeconds,
        attendedSeconds: p.attendedSeconds,
        networkGaps: p.networkGaps,
        networkGapSeconds: p.networkGapSeconds,
        micSeconds: p.micSeconds,
        cameraSeconds: p.cameraSeconds,
        screenSeconds: p.screenSeconds,
        transportFailures: p.transportFailures,
        intervals: p.intervals.map(intervalView),
        quality: qualityView(deriveQuality(batch.quality(session.id).filter((c) => c.userId === person.userId), p.intervals, until)),
        corrected: false,
      });
    }
    return {
      sessionId: session.id,
      kind: session.kind,
      sessionStatus: session.status,
      startsAt: session.startsAt.toISOString(),
      endsAt: session.endsAt.toISOString(),
      state: finalized ? 'finalized' : 'live',
      finalizedAt: iso(tracking?.finalizedAt),
      noShowCheckedAt: iso(tracking?.noShowCheckedAt),
      participants,
    };
  }

  /** GET /users/:id/attendance-record: coordinators, the person, or for a student whoever may see them. */
  async recordOf(userId: string, viewer?: Viewer): Promise<AttendanceRecordOfUser> {
    if (viewer && viewer.role !== 'coordinator' && viewer.userId !== userId) {
      const target = await this.#db.one<{ role: Role }>('SELECT role FROM users WHERE id = $1', [userId]);
      if (!target) throw notFound('user_not_found', 'No such user');
      if (target.role !== 'student') throw forbidden('not_allowed', 'You may not see this attendance record');
      await assertCanViewStudent(this.#db, viewer, userId);
    }
    return attendanceRecordOf(this.#db, userId);
  }

  // ---- corrections ----------------------------------------------------------

  /** A coordinator's correction of a frozen record; the reason and the before/after go to history. */
  async correct(sessionId: string, by: string, c: Correction): Promise<void> {
    const now = this.#clock.now();
    await this.#db.tx(async (q) => {
      const tracking = await this.#lockTracking(q, sessionId);
      if (!tracking.finalizedAt) throw conflict('attendance_not_finalized', 'The attendance of this session is not finalized yet; it can be corrected once frozen');
      const row = await q.one<{ status: Exclude<AttendanceStatus, 'pending'>; attendedSeconds: number }>(
        'SELECT status, attended_seconds AS "attendedSeconds" FROM attendance_records WHERE session_id = $1 AND user_id = $2 FOR UPDATE',
        [sessionId, c.userId],
      );
      if (!row) throw notFound('attendance_record_not_found', 'This person has no attendance record in this session');
      const after = { status: c.status ?? row.status, attendedSeconds: c.attendedSeconds ?? row.attendedSeconds };
      await q.execute('UPDATE attendance_records SET status = $3, attended_seconds = $4, corrected = true WHERE session_id = $1 AND user_id = $2', [
        sessionId,
        c.userId,
        after.status,
        after.attendedSeconds,
      ]);
      await q.execute(
        'INSERT INTO attendance_corrections (session_id, user_id, corrected_by, reason, before, after, at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [sessionId, c.userId, by, c.reason, JSON.stringify(row), JSON.stringify(after), now],
      );
    });
  }

  // ---- helpers --------------------------------------------------------------

  #thresholds(session: Session) {
    return {
      startsAt: session.startsAt,
      endsAt: session.endsAt,
      lateAfterSeconds: this.#config.lateAfterSeconds,
      leftEarlyBeforeSeconds: this.#config.leftEarlyBeforeSeconds,
    };
  }

  #queues() {
    if (!this.#noShowQueue || !this.#finalizeQueue) throw new Error('attendance queues are not defined');
    return { noShow: this.#noShowQueue, finalize: this.#finalizeQueue };
  }

  async #tracking(sessionId: string): Promise<TrackingRow> {
    await this.#db.execute('INSERT INTO attendance_sessions (session_id) VALUES ($1) ON CONFLICT DO NOTHING', [sessionId]);
    return (await this.#db.one<TrackingRow>(TRACKING_SQL, [sessionId]))!;
  }

  async #lockTracking(q: Queryable, sessionId: string): Promise<TrackingRow> {
    await q.execute('INSERT INTO attendance_sessions (session_id) VALUES ($1) ON CONFLICT DO NOTHING', [sessionId]);
    return (await q.one<TrackingRow>(`${TRACKING_SQL} FOR UPDATE`, [sessionId]))!;
  }
}

/**
 * Adds the job due in `delayMs`, or, if it is already waiting under that id,
 * moves its due time to `delayMs` from now (the clock may have moved since it
 * was scheduled). A job that already ran is left alone.
 */
async function ensureJob<D>(queue: JobQueue<D>, jobId: string, data: D, delayMs: number): Promise<void> {
  const existing = await queue.get(jobId);
  if (!existing) {
    await queue.add(data, { jobId, delay: Math.max(0, delayMs) });
    return;
  }
  if ((await existing.getState()) !== 'delayed') return;
  if (delayMs <= 0) await existing.promote();
  else await existing.changeDelay(delayMs);
}

const TRACKING_SQL = `SELECT session_id AS "sessionId", no_show_job_id AS "noShowJobId", finalize_job_id AS "finalizeJobId",
  no_show_checked_at AS "noShowCheckedAt", finalized_at AS "finalizedAt", frozen_until AS "frozenUntil"
  FROM attendance_sessions WHERE session_id = $1`;

const intervalView = (i: { from: Date; to: Date | null; networkGaps: number; networkGapSeconds: number }): IntervalView => ({
  from: i.from.toISOString(),
  to: iso(i.to),
  networkGaps: i.networkGaps,
  networkGapSeconds: i.networkGapSeconds,
});

const qualityView = (q: QualitySummary): QualityView => ({
  seconds: q.seconds,
  periods: q.periods.map((p) => ({ level: p.level, from: p.from.toISOString(), to: p.to.toISOString() })),
});

export type { PresenceEvent };
