/**
 * Recordings of live sessions: who may start and stop them, consent,
 * the running SessionRecordings of this process, their rows, post-processing
 * (probe, repair, hash, integrity report), file access and retention.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { rm, stat } from 'node:fs/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/index.ts';
import { SqlState, sqlStateOf } from '../db/index.ts';
import type { DomainEvents } from '../events/index.ts';
import type { Outbox } from '../outbox/index.ts';
import type { Viewer } from '../auth/index.ts';
import { assertCanViewSession, getSession, listParticipants, participantRole, type Session } from '../sessions/index.ts';
import type { Clock } from '../shared/clock.ts';
import { conflict, forbidden, notFound, unavailable, unprocessable } from '../shared/errors.ts';
import type { RecordingConfig } from './config.ts';
import { ffprobe, fileSize, probePackets, remuxInPlace, sha256File, type ProbeResult } from './ffmpeg.ts';
import { integrityReport, packetHoles, type IntegrityReport, type ReportSegment } from './report.ts';
import { RecorderPool } from './recorder-pool.ts';
import { SessionRecording, type RecordableRoom, type SessionRecordingListener, type TrackKey } from './session-recording.ts';
import type { SegmentEndReason, SegmentInfo } from './track-recorder.ts';

export type RecordingStatus = 'recording' | 'processing' | 'ready' | 'failed';
export type StopReason = 'stopped' | 'room_closed' | 'server_shutdown' | 'interrupted' | 'consent_withdrawn' | 'recorder_failed' | 'node_lost';

/** What the orphan sweep (RecordingService.closeOrphans) needs from the rooms and Redis. */
export interface OrphanSweepDeps {
  /** Whether some node holds the session's room (its lease in Redis): that node records it, or adopts the recording. */
  roomHeld(sessionId: string): Promise<boolean>;
  /**
   * How long (ms) the recording has been seen with no room anywhere, shared
   * by every node (the first sighting is noted now if there was none).
   */
  orphanedForMs(recordingId: string): Promise<number>;
  /** Forgets the sighting (the room is held again, or the recording is closed). */
  forget(recordingId: string): Promise<void>;
  /** How long a recording must stay without a room before it is closed. */
  graceMs: number;
}

/** A live room as the recording service sees it (the rooms capability's Room fits). */
export type RecordingRoom = RecordableRoom & { notify?(event: string, payload: unknown): void };

/** The part of RoomCommands (src/rooms/commands.ts) recording uses. */
export interface RemoteRun {
  handle(name: string, handler: (sessionId: string, payload: Record<string, unknown>) => Promise<unknown>): void;
  run(sessionId: string, name: string, payload?: Record<string, unknown>): Promise<{ ran: true; result: unknown } | { ran: false }>;
}

/** The caller of a recording action (the house's one `Viewer`). */
export type Actor = Viewer;

export interface RecordingServiceDeps {
  db: Db;
  config: RecordingConfig;
  clock: Clock;
  log: FastifyBaseLogger;
  events: DomainEvents;
  outbox: Outbox;
  /** The open room of a session in this process, if any. */
  getRoom(sessionId: string): RecordingRoom | undefined;
  /** Tells every participant of a session (used when the room has no notify). */
  broadcast(sessionId: string, event: string, payload: unknown): void;
  /** Queues the post-processing of a stopped recording. */
  enqueueProcessing(recordingId: string): Promise<void>;
}

export interface RecordingStateEvent {
  sessionId: string;
  recordingId: string;
  recording: boolean;
  startedAt: string;
  /** null when started automatically (defence). */
  startedBy: string | null;
  stopReason?: string;
}

export interface SegmentView {
  id: string;
  userId: string;
  source: string;
  kind: 'audio' | 'video';
  mimeType: string;
  fileName: string;
  status: string;
  startedAt: string | null;
  /** Where this file starts on the recording's timeline (ms after the recording started). */
  offsetMs: number | null;
  endedAt: string | null;
  endReason: string | null;
  durationMs: number | null;
  sizeBytes: number | null;
  sha256: string | null;
}

export interface RecordingView {
  id: string;
  sessionId: string;
  status: RecordingStatus;
  automatic: boolean;
  startedBy: string | null;
  startedAt: string;
  stoppedBy: string | null;
  stoppedAt: string | null;
  stopReason: string | null;
  filesDeletedAt: string | null;
  error: string | null;
  report: IntegrityReport | null;
  segments: SegmentView[];
  gaps: Array<{ userId: string; source: string; fromAt: string; toAt: string; reason: string }>;
}

interface RecordingRow {
  id: string;
  sessionId: string;
  status: RecordingStatus;
  startedBy: string | null;
  startedAt: Date;
  stoppedBy: string | null;
  stoppedAt: Date | null;
  stopReason: string | null;
  filesDeletedAt: Date | null;
  error: string | null;
  report: IntegrityReport | null;
}

interface SegmentRow {
  id: string;
  recordingId: string;
  producerId: string;
  userId: string;
  source: string;
  kind: 'audio' | 'video';
  mimeType: string;
  fileName: string;
  openedAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  endReason: string | null;
  status: string;
  durationMs: number | null;
  sizeBytes: string | null;
  sha256: string | null;
}

interface GapRow {
  recordingId: string;
  userId: string;
  source: string;
  fromAt: Date;
  toAt: Date;
  reason: string;
}

const RECORDING_COLUMNS = `id, session_id AS "sessionId", status, started_by AS "startedBy", started_at AS "startedAt", stopped_by AS "stoppedBy",
  stopped_at AS "stoppedAt", stop_reason AS "stopReason", files_deleted_at AS "filesDeletedAt", error, report`;
const SEGMENT_COLUMNS = `id, recording_id AS "recordingId", producer_id AS "producerId", user_id AS "userId", source, kind, mime_type AS "mimeType",
  file_name AS "fileName", opened_at AS "openedAt", started_at AS "startedAt", ended_at AS "endedAt", end_reason AS "endReason", status,
  duration_ms AS "durationMs", size_bytes AS "sizeBytes", sha256`;

interface ActiveRecording {
  recordingId: string;
  sessionId: string;
  startedAt: Date;
  startedBy: string | null;
  rec: SessionRecording;
  stoppedBy?: string;
  reasonOverride?: StopReason;
  finalizing?: Promise<void>;
  /** Participants whose media is lost now (rooms said so), since when. */
  network: Map<string, Date>;
}

/**
 * The shortest stretch with no packet that is a hole, per track: a camera
 * sends 15-30 frames a second and a mic a packet every 20 ms; a shared screen
 * with nothing moving may send a frame a second or less.
 */
export function minHoleMs(kind: 'audio' | 'video', source: string): number {
  if (kind === 'audio') return 1000;
  return source === 'screen' ? 3000 : 1500;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export class RecordingService {
  readonly #d: RecordingServiceDeps;
  readonly #active = new Map<string, ActiveRecording>();
  readonly #pending = new Set<string>();
  readonly #finalizing = new Set<Promise<void>>();
  #shuttingDown = false;
  #getRoom: (sessionId: string) => RecordingRoom | undefined;
  #remote: RemoteRun | undefined;
  /** Every recorder FFmpeg of this process, with spares ready while recordings run. */
  readonly #recorders: RecorderPool;

  constructor(deps: RecordingServiceDeps) {
    this.#d = deps;
    this.#getRoom = deps.getRoom;
    const { config, log } = deps;
    this.#recorders = new RecorderPool({ ffmpegPath: config.ffmpegPath, portRange: { min: config.portMin, max: config.portMax }, sparesPerContainer: config.spareRecorders, log });
  }

  /** Recorder FFmpegs started and waiting for a track (tests read it). */
  get spareRecorders(): number {
    return this.#recorders.spareCount;
  }

  /**
   * How a command reaches the node that holds a session's room when it is not
   * this one (the rooms capability's RoomCommands): start and stop then run
   * there, where the room's media and the recorder are.
   */
  useRemote(run: RemoteRun): void {
    this.#remote = run;
    run.handle('recording.start', (sessionId, { actor }) => this.start(sessionId, (actor as Actor | null) ?? null));
    run.handle('recording.stop', (sessionId, { recordingId, actor }) => this.stop(sessionId, String(recordingId), actor as Actor));
  }

  /** Where live rooms come from: the rooms capability, unless a tool or a test gives another source. */
  useRooms(getRoom: (sessionId: string) => RecordingRoom | undefined): void {
    this.#getRoom = getRoom;
  }

  /** Folder of one recording's files. */
  dirOf(sessionId: string, recordingId: string): string {
    return join(this.#d.config.dir, sessionId, recordingId);
  }

  /** The recording running for a session in this process, if any. */
  activeOf(sessionId: string): { recordingId: string; rec: SessionRecording } | undefined {
    const a = this.#active.get(sessionId);
    return a && { recordingId: a.recordingId, rec: a.rec };
  }

  // ------------------------------------------------------------ start / stop

  async #assertMayControl(session: Session, actor: Actor): Promise<void> {
    if (actor.role === 'coordinator') return;
    const role = await participantRole(this.#d.db, session.id, actor.userId);
    if (!role) throw notFound('session_not_found', 'No such session');
    if (role !== 'mentor' && role !== 'jury') {
      throw forbidden('not_allowed_to_record', 'Only the mentor, a jury member or a coordinator may start or stop a recording');
    }
  }

  /** Starts recording a session's open room; `actor` null = automatic (defence). */
  async start(sessionId: string, actor: Actor | null): Promise<RecordingView> {
    if (this.#remote && !this.#getRoom(sessionId)) {
      const remote = await this.#remote.run(sessionId, 'recording.start', { actor });
      if (remote.ran) return remote.result as RecordingView;
    }
    const { db, clock, config, log } = this.#d;
    const session = await getSession(db, sessionId);
    if (actor) await this.#assertMayControl(session, actor);
    if (this.#shuttingDown) throw unavailable('server_draining', 'The server is shutting down');
    if (session.status === 'cancelled') throw conflict('session_cancelled', 'This session was cancelled');
    if (session.kind === 'mentoring') {
      const consent = await this.#consentOf(session);
      if (consent !== true) throw unprocessable('consent_required', 'The student has not agreed to this session being recorded');
    }
    if (this.#active.has(sessionId) || this.#pending.has(sessionId)) throw conflict('already_recording', 'This session is already being recorded');
    const room = this.#getRoom(sessionId);
    if (!room) throw conflict('room_not_open', "The session's room is not open");

    this.#pending.add(sessionId);
    try {
      const startedAt = clock.now();
      let recordingId: string;
      try {
        const row = await db.one<{ id: string }>(
          `INSERT INTO recordings (session_id, status, started_by, started_at, recorder_host, recorder_pid)
           VALUES ($1, 'recording', $2, $3, $4, $5) RETURNING id`,
          [sessionId, actor?.userId ?? null, startedAt, hostname(), process.pid],
        );
        recordingId = row!.id;
      } catch (err) {
        if (sqlStateOf(err) === SqlState.uniqueViolation) throw conflict('already_recording', 'This session is already being recorded');
        throw err;
      }
      let rec: SessionRecording;
      try {
        rec = await SessionRecording.start({
          room,
          dir: this.dirOf(sessionId, recordingId),
          recorders: this.#recorders,
          now: () => clock.now(),
          preferredSpatialLayer: config.videoSpatialLayer,
          listener: this.#listenerFor(recordingId),
          log,
        });
      } catch (err) {
        log.error({ err, sessionId, recordingId }, 'recording failed to start');
        await db.execute(`UPDATE recordings SET status = 'failed', stopped_at = $2, stop_reason = 'recorder_failed', error = $3 WHERE id = $1`, [
          recordingId,
          clock.now(),
          (err as Error).message,
        ]);
        throw unprocessable('recording_failed', 'The recording could not start');
      }
      this.#track({ recordingId, sessionId, startedAt, startedBy: actor?.userId ?? null, rec, network: new Map() });
      log.info({ sessionId, recordingId, automatic: actor === null }, 'recording started');
      this.announce(sessionId);
      return this.get(sessionId, recordingId);
    } finally {
      this.#pending.delete(sessionId);
    }
  }

  async stop(sessionId: string, recordingId: string, actor: Actor): Promise<RecordingView> {
    if (this.#remote && !this.#active.has(sessionId) && !this.#getRoom(sessionId)) {
      const remote = await this.#remote.run(sessionId, 'recording.stop', { recordingId, actor });
      if (remote.ran) return remote.result as RecordingView;
    }
    const session = await getSession(this.#d.db, sessionId);
    await this.#assertMayControl(session, actor);
    const entry = this.#active.get(sessionId);
    if (!entry || entry.recordingId !== recordingId) {
      const row = await this.#row(sessionId, recordingId);
      if (!row) throw notFound('recording_not_found', 'No such recording');
      throw conflict('not_recording', 'This recording is not running in this server', { status: row.status });
    }
    entry.stoppedBy ??= actor.userId;
    await this.#stopEntry(entry, 'stopped');
    return this.get(sessionId, recordingId);
  }

  async #stopEntry(entry: ActiveRecording, reason: SegmentEndReason | 'consent_withdrawn'): Promise<void> {
    if (reason === 'consent_withdrawn') entry.reasonOverride ??= 'consent_withdrawn';
    await entry.rec.stop(reason === 'consent_withdrawn' ? 'stopped' : reason);
    await entry.finalizing;
  }

  /**
   * What rooms says of a participant's media while a recording runs: a loss
   * opens a network outage, its return (or their leaving) closes it into a gap
   * row `participant_network`, the evidence that names the holes it left in
   * their tracks.
   */
  async noteMedia(sessionId: string, userId: string, type: 'media_lost' | 'media_flowing' | 'media_idle' | 'leave', at: Date): Promise<void> {
    const entry = this.#active.get(sessionId);
    if (!entry) return;
    if (type === 'media_lost') {
      if (!entry.network.has(userId)) entry.network.set(userId, at);
      return;
    }
    await this.#closeOutage(entry, userId, at);
  }

  async #closeOutage(entry: ActiveRecording, userId: string, at: Date): Promise<void> {
    const from = entry.network.get(userId);
    if (!from) return;
    entry.network.delete(userId);
    await this.#d.db.execute(
      `INSERT INTO recording_gaps (recording_id, producer_id, user_id, source, from_at, to_at, reason) VALUES ($1, '', $2, 'all', $3, $4, 'participant_network')`,
      [entry.recordingId, userId, from, at],
    );
  }

  /** A recording running on this node: known as active, finalized (and awaited at close) when it stops. */
  #track(entry: ActiveRecording): void {
    this.#active.set(entry.sessionId, entry);
    entry.rec.onStopped((reason) => {
      const run = this.#finalize(entry, reason);
      entry.finalizing = run;
      this.#finalizing.add(run);
      void run.finally(() => this.#finalizing.delete(run));
    });
  }

  async #finalize(entry: ActiveRecording, reason: SegmentEndReason): Promise<void> {
    const { db, clock, log } = this.#d;
    if (this.#active.get(entry.sessionId) === entry) this.#active.delete(entry.sessionId);
    const stoppedAt = clock.now();
    for (const userId of [...entry.network.keys()]) await this.#closeOutage(entry, userId, stoppedAt).catch((err: unknown) => log.warn({ err }, 'could not record a network outage'));
    const stopReason: StopReason =
      entry.reasonOverride ?? (reason === 'server_shutdown' ? 'server_shutdown' : reason === 'room_closed' || reason === 'router_closed' ? 'room_closed' : 'stopped');
    try {
      await db.execute(
        `UPDATE recordings SET status = 'processing', stopped_at = $2, stopped_by = $3, stop_reason = $4 WHERE id = $1 AND status = 'recording'`,
        [entry.recordingId, stoppedAt, entry.stoppedBy ?? null, stopReason],
      );
      log.info({ sessionId: entry.sessionId, recordingId: entry.recordingId, stopReason }, 'recording stopped');
      this.#notify(entry.sessionId, {
        sessionId: entry.sessionId,
        recordingId: entry.recordingId,
        recording: false,
        startedAt: entry.startedAt.toISOString(),
        startedBy: entry.startedBy,
        stopReason,
      });
      await this.#d.enqueueProcessing(entry.recordingId);
    } catch (err) {
      log.error({ err, recordingId: entry.recordingId }, 'finalizing a recording failed');
    }
  }

  /** Tells the room's participants whether it records (again, for newcomers). */
  announce(sessionId: string): void {
    const entry = this.#active.get(sessionId);
    if (!entry) return;
    this.#notify(sessionId, {
      sessionId,
      recordingId: entry.recordingId,
      recording: true,
      startedAt: entry.startedAt.toISOString(),
      startedBy: entry.startedBy,
    });
  }

  #notify(sessionId: string, payload: RecordingStateEvent): void {
    try {
      const room = this.#getRoom(sessionId);
      if (room?.notify) room.notify('recordingState', payload);
      else this.#d.broadcast(sessionId, 'recordingState', payload);
    } catch (err) {
      this.#d.log.warn({ err, sessionId }, 'could not announce the recording state');
    }
  }

  #listenerFor(recordingId: string): SessionRecordingListener {
    const { db } = this.#d;
    const setStart = (_track: TrackKey, s: SegmentInfo) => db.execute('UPDATE recording_segments SET started_at = $2 WHERE id = $1', [s.id, s.startedAt]);
    return {
      onSegmentOpened: (track, s) =>
        db.execute(
          `INSERT INTO recording_segments (id, recording_id, producer_id, user_id, source, kind, mime_type, file_name, opened_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [s.id, recordingId, track.producerId, track.userId, track.source, track.kind, s.mimeType, s.fileName, s.openedAt],
        ),
      onSegmentStarted: setStart,
      onSegmentStartRefined: setStart,
      onSegmentEnded: (_track, s) =>
        db.execute(`UPDATE recording_segments SET ended_at = $2, end_reason = $3, status = 'recorded' WHERE id = $1`, [s.id, s.endedAt, s.endReason]),
      onGap: (track, g) =>
        db.execute(
          'INSERT INTO recording_gaps (recording_id, producer_id, user_id, source, from_at, to_at, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [recordingId, track.producerId, track.userId, track.source, g.from, g.to, g.reason],
        ),
    };
  }

  /**
   * A defence records on its own once its room is open (called when someone
   * joins a room). Not again after someone stopped it by hand.
   */
  async maybeAutoStart(sessionId: string): Promise<void> {
    if (this.#shuttingDown) return;
    if (!this.#active.has(sessionId) && !this.#pending.has(sessionId) && this.#getRoom(sessionId)) {
      if (await this.adoptOrphan(sessionId).catch((err: unknown) => this.#d.log.error({ err, sessionId }, 'could not continue an orphaned recording'))) return;
    }
    if (!this.#d.config.autoRecordDefences) return;
    if (this.#active.has(sessionId)) return this.announce(sessionId);
    if (this.#pending.has(sessionId) || !this.#getRoom(sessionId)) return;
    const session = await getSession(this.#d.db, sessionId).catch(() => undefined);
    if (!session || session.kind !== 'defence' || session.status === 'cancelled') return;
    const stoppedByHand = await this.#d.db.one(`SELECT 1 AS x FROM recordings WHERE session_id = $1 AND stop_reason IN ('stopped') LIMIT 1`, [sessionId]);
    if (stoppedByHand) return;
    try {
      await this.start(sessionId, null);
    } catch (err) {
      if ((err as { kind?: string }).kind === 'conflict') return;
      this.#d.log.error({ err, sessionId }, 'automatic defence recording failed to start');
    }
  }

  /**
   * A room rebuilt here while PostgreSQL still says its session records: the
   * node that held the room died (kill -9) with its recorder running. This
   * node holds the room's lease now, so that recorder is gone (on this host we
   * also check its pid, so a draining process finishing its own recording is
   * left alone). The recording goes on here in new segments, as after a
   * worker restart, with a `node_lost` gap per participant from the dead
   * node's last known progress to now. Returns whether it adopted one.
   */
  async adoptOrphan(sessionId: string): Promise<boolean> {
    const { db, clock, config, log } = this.#d;
    const orphan = await db.one<{ id: string; startedAt: Date; startedBy: string | null; host: string | null; pid: number | null }>(
      `SELECT id, started_at AS "startedAt", started_by AS "startedBy", recorder_host AS host, recorder_pid AS pid
         FROM recordings WHERE session_id = $1 AND status = 'recording'`,
      [sessionId],
    );
    if (!orphan || [...this.#active.values()].some((a) => a.recordingId === orphan.id)) return false;
    if (orphan.host === hostname() && orphan.pid !== null && (orphan.pid === process.pid || pidAlive(orphan.pid))) return false;
    const room = this.#getRoom(sessionId);
    if (!room || this.#active.has(sessionId) || this.#pending.has(sessionId)) return false;
    this.#pending.add(sessionId);
    try {
      // Take it over first (compare-and-set on the old recorder), so two adopters never both record.
      const taken = await db.execute(
        `UPDATE recordings SET recorder_host = $2, recorder_pid = $3 WHERE id = $1 AND status = 'recording'
            AND recorder_host IS NOT DISTINCT FROM $4 AND recorder_pid IS NOT DISTINCT FROM $5`,
        [orphan.id, hostname(), process.pid, orphan.host, orphan.pid],
      );
      if (taken === 0) return false;
      const resumedAt = clock.now();
      const { userIds, lastAt } = await this.#lastProgress(sessionId, orphan.id, orphan.startedAt, resumedAt);
      const lost = userIds.map((userId) => ({ userId }));
      for (const { userId } of lost) {
        await db.execute(
          `INSERT INTO recording_gaps (recording_id, producer_id, user_id, source, from_at, to_at, reason) VALUES ($1, '', $2, 'all', $3, $4, 'node_lost')`,
          [orphan.id, userId, lastAt, resumedAt],
        );
      }
      // Its unfinished segments end with the node; processing repairs their files and reads their end from the media.
      await db.execute(
        `UPDATE recording_segments SET end_reason = COALESCE(end_reason, 'node_lost'), status = 'recorded' WHERE recording_id = $1 AND status = 'recording'`,
        [orphan.id],
      );
      const rec = await SessionRecording.start({
        room,
        dir: this.dirOf(sessionId, orphan.id),
        recorders: this.#recorders,
        now: () => clock.now(),
        preferredSpatialLayer: config.videoSpatialLayer,
        listener: this.#listenerFor(orphan.id),
        log,
      });
      this.#track({ recordingId: orphan.id, sessionId, startedAt: orphan.startedAt, startedBy: orphan.startedBy, rec, network: new Map() });
      log.warn({ sessionId, recordingId: orphan.id, from: lastAt, to: resumedAt }, 'recording continued after its node was lost');
      this.announce(sessionId);
      return true;
    } finally {
      this.#pending.delete(sessionId);
    }
  }

  /**
   * The dead recorder's last known progress: the last write to one of its
   * files (when this node sees its recording folder, e.g. a shared
   * RECORDINGS_DIR), else the latest moment one of its segments opened,
   * started or ended; and the people it recorded.
   */
  async #lastProgress(sessionId: string, recordingId: string, startedAt: Date, now: Date): Promise<{ userIds: string[]; lastAt: Date }> {
    const lost = await this.#d.db.query<{ userId: string; fileName: string; lastAt: Date }>(
      `SELECT user_id AS "userId", file_name AS "fileName", GREATEST(opened_at, started_at, ended_at) AS "lastAt"
         FROM recording_segments WHERE recording_id = $1`,
      [recordingId],
    );
    let last = startedAt.getTime();
    for (const l of lost) {
      const written = await stat(join(this.dirOf(sessionId, recordingId), l.fileName)).then((st) => st.mtime.getTime(), () => 0);
      last = Math.max(last, l.lastAt.getTime(), Math.min(written, now.getTime()));
    }
    return { userIds: [...new Set(lost.map((l) => l.userId))], lastAt: new Date(Math.min(last, now.getTime())) };
  }

  /**
   * The orphan sweep (a BullMQ job every few seconds, one node at a time):
   * a recording still 'recording' whose room no node holds (the node that
   * recorded it died, its lease lapsed, and nobody came back to the room, so
   * no node adopted it) is closed once it has stayed so for `graceMs` (the
   * lease time: a room closing normally releases its lease before its
   * recorder has written 'processing', and after a Redis restart owners need
   * a renew period to re-assert their leases). Closed as `node_lost` at the
   * moment of the sweep, with a `node_lost` gap per recorded person from the
   * dead recorder's last known progress to then, its open segments ended
   * `node_lost`, and processed like any stopped recording (files repaired
   * where this node sees them; 'failed' when nothing is left to read).
   * Skipped: recordings of this process, and of a live process on this host.
   * The close is a compare-and-set on the recorder, so an adoption by a node
   * that rebuilds the room at the same moment wins or loses cleanly. Returns
   * the ids closed.
   */
  async closeOrphans(sweep: OrphanSweepDeps): Promise<string[]> {
    const { db, clock, log } = this.#d;
    const rows = await db.query<{ id: string; sessionId: string; startedAt: Date; startedBy: string | null; host: string | null; pid: number | null }>(
      `SELECT id, session_id AS "sessionId", started_at AS "startedAt", started_by AS "startedBy", recorder_host AS host, recorder_pid AS pid
         FROM recordings WHERE status = 'recording'`,
    );
    const closed: string[] = [];
    for (const r of rows) {
      if (this.#active.has(r.sessionId) || this.#pending.has(r.sessionId) || [...this.#active.values()].some((a) => a.recordingId === r.id)) continue;
      if (r.host === hostname() && r.pid !== null && (r.pid === process.pid || pidAlive(r.pid))) continue;
      if (await sweep.roomHeld(r.sessionId)) {
        await sweep.forget(r.id);
        continue;
      }
      const orphanedMs = await sweep.orphanedForMs(r.id);
      if (orphanedMs < sweep.graceMs) continue;
      const stoppedAt = clock.now();
      const { userIds, lastAt } = await this.#lastProgress(r.sessionId, r.id, r.startedAt, stoppedAt);
      const done = await db.tx(async (q) => {
        const n = await q.execute(
          `UPDATE recordings SET status = 'processing', stopped_at = $2, stop_reason = 'node_lost'
             WHERE id = $1 AND status = 'recording' AND recorder_host IS NOT DISTINCT FROM $3 AND recorder_pid IS NOT DISTINCT FROM $4`,
          [r.id, stoppedAt, r.host, r.pid],
        );
        if (n === 0) return false;
        if (lastAt.getTime() < stoppedAt.getTime()) {
          for (const userId of userIds) {
            await q.execute(
              `INSERT INTO recording_gaps (recording_id, producer_id, user_id, source, from_at, to_at, reason) VALUES ($1, '', $2, 'all', $3, $4, 'node_lost')`,
              [r.id, userId, lastAt, stoppedAt],
            );
          }
        }
        await q.execute(`UPDATE recording_segments SET end_reason = COALESCE(end_reason, 'node_lost'), status = 'recorded' WHERE recording_id = $1 AND status = 'recording'`, [r.id]);
        return true;
      });
      await sweep.forget(r.id);
      if (!done) continue;
      closed.push(r.id);
      log.warn({ sessionId: r.sessionId, recordingId: r.id, lastAt, stoppedAt, orphanedMs }, 'recording closed: its node was lost and nobody came back to the room');
      this.#notify(r.sessionId, { sessionId: r.sessionId, recordingId: r.id, recording: false, startedAt: r.startedAt.toISOString(), startedBy: r.startedBy, stopReason: 'node_lost' });
      await this.#d.enqueueProcessing(r.id);
    }
    return closed;
  }

  // ------------------------------------------------------------ consent

  async #consentOf(session: Session): Promise<boolean | null> {
    const students = (await listParticipants(this.#d.db, session.id)).filter((p) => p.role === 'student');
    if (students.length === 0) return null;
    const rows = await this.#d.db.query<{ studentId: string; granted: boolean }>(
      'SELECT student_id AS "studentId", granted FROM recording_consents WHERE session_id = $1',
      [session.id],
    );
    if (rows.some((r) => !r.granted)) return false;
    return students.every((s) => rows.some((r) => r.studentId === s.userId && r.granted)) ? true : null;
  }

  async consent(sessionId: string, viewer: Actor): Promise<{ sessionId: string; required: boolean; granted: boolean | null }> {
    const session = await assertCanViewSession(this.#d.db, sessionId, viewer);
    if (session.kind !== 'mentoring') return { sessionId, required: false, granted: null };
    return { sessionId, required: true, granted: await this.#consentOf(session) };
  }

  /** The student agrees (or no longer agrees) to a mentoring session being recorded. Withdrawal stops a running recording. */
  async setConsent(sessionId: string, actor: Actor, granted: boolean): Promise<{ sessionId: string; required: boolean; granted: boolean | null }> {
    const { db, clock } = this.#d;
    const session = await getSession(db, sessionId);
    const role = await participantRole(db, sessionId, actor.userId);
    if (!role) throw notFound('session_not_found', 'No such session');
    if (role !== 'student') throw forbidden('not_the_student', "Only the session's student decides about recording");
    if (session.kind !== 'mentoring') throw unprocessable('consent_not_asked', 'Defences are recorded as proof; no consent is asked');
    await db.execute(
      `INSERT INTO recording_consents (session_id, student_id, granted, decided_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (session_id, student_id) DO UPDATE SET granted = EXCLUDED.granted, decided_at = EXCLUDED.decided_at`,
      [sessionId, actor.userId, granted, clock.now()],
    );
    const entry = this.#active.get(sessionId);
    if (!granted && entry) {
      entry.stoppedBy ??= actor.userId;
      await this.#stopEntry(entry, 'consent_withdrawn');
    }
    return { sessionId, required: true, granted: await this.#consentOf(session) };
  }

  // ------------------------------------------------------------ reading

  async #row(sessionId: string, recordingId: string): Promise<RecordingRow | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(recordingId)) return undefined;
    return this.#d.db.one<RecordingRow>(`SELECT ${RECORDING_COLUMNS} FROM recordings WHERE id = $1 AND session_id = $2`, [recordingId, sessionId]);
  }

  async #views(rows: RecordingRow[]): Promise<RecordingView[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const segments = await this.#d.db.query<SegmentRow>(`SELECT ${SEGMENT_COLUMNS} FROM recording_segments WHERE recording_id = ANY($1::uuid[]) ORDER BY opened_at`, [ids]);
    const gaps = await this.#d.db.query<GapRow>(
      `SELECT recording_id AS "recordingId", user_id AS "userId", source, from_at AS "fromAt", to_at AS "toAt", reason
         FROM recording_gaps WHERE recording_id = ANY($1::uuid[]) ORDER BY from_at`,
      [ids],
    );
    return rows.map((r) => ({
      id: r.id,
      sessionId: r.sessionId,
      status: r.status,
      automatic: r.startedBy === null,
      startedBy: r.startedBy,
      startedAt: r.startedAt.toISOString(),
      stoppedBy: r.stoppedBy,
      stoppedAt: iso(r.stoppedAt),
      stopReason: r.stopReason,
      filesDeletedAt: iso(r.filesDeletedAt),
      error: r.error,
      report: r.report,
      segments: segments
        .filter((s) => s.recordingId === r.id)
        .map((s) => ({
          id: s.id,
          userId: s.userId,
          source: s.source,
          kind: s.kind,
          mimeType: s.mimeType,
          fileName: s.fileName,
          status: s.status,
          startedAt: iso(s.startedAt),
          offsetMs: s.startedAt ? s.startedAt.getTime() - r.startedAt.getTime() : null,
          endedAt: iso(s.endedAt),
          endReason: s.endReason,
          durationMs: s.durationMs,
          sizeBytes: s.sizeBytes === null ? null : Number(s.sizeBytes),
          sha256: s.sha256,
        })),
      gaps: gaps
        .filter((g) => g.recordingId === r.id)
        .map((g) => ({ userId: g.userId, source: g.source, fromAt: g.fromAt.toISOString(), toAt: g.toAt.toISOString(), reason: g.reason })),
    }));
  }

  async get(sessionId: string, recordingId: string): Promise<RecordingView> {
    const row = await this.#row(sessionId, recordingId);
    if (!row) throw notFound('recording_not_found', 'No such recording');
    return (await this.#views([row]))[0]!;
  }

  /** A session's recordings, for its participants and coordinators. */
  async list(sessionId: string, viewer: Actor): Promise<RecordingView[]> {
    await assertCanViewSession(this.#d.db, sessionId, viewer);
    const rows = await this.#d.db.query<RecordingRow>(`SELECT ${RECORDING_COLUMNS} FROM recordings WHERE session_id = $1 ORDER BY started_at`, [sessionId]);
    return this.#views(rows);
  }

  async view(sessionId: string, recordingId: string, viewer: Actor): Promise<RecordingView> {
    await assertCanViewSession(this.#d.db, sessionId, viewer);
    return this.get(sessionId, recordingId);
  }

  /** The file of one segment, for a participant or a coordinator. */
  async fileOf(
    sessionId: string,
    recordingId: string,
    segmentId: string,
    viewer: Actor,
  ): Promise<{ path: string; mimeType: string; fileName: string; sha256: string | null }> {
    await assertCanViewSession(this.#d.db, sessionId, viewer);
    const row = await this.#row(sessionId, recordingId);
    if (!row) throw notFound('recording_not_found', 'No such recording');
    if (row.filesDeletedAt) throw notFound('recording_files_deleted', 'The files of this recording were deleted after the retention period');
    if (!/^[0-9a-f-]{36}$/i.test(segmentId)) throw notFound('segment_not_found', 'No such segment');
    const seg = await this.#d.db.one<SegmentRow>(`SELECT ${SEGMENT_COLUMNS} FROM recording_segments WHERE id = $1 AND recording_id = $2`, [segmentId, recordingId]);
    if (!seg) throw notFound('segment_not_found', 'No such segment');
    if (seg.status === 'recording') throw conflict('segment_still_recording', 'This segment is still being recorded');
    const container = seg.fileName.endsWith('.webm') ? 'webm' : 'x-matroska';
    return { path: join(this.dirOf(sessionId, recordingId), seg.fileName), mimeType: `${seg.kind}/${container}`, fileName: seg.fileName, sha256: seg.sha256 };
  }

  // ------------------------------------------------------------ post-processing

  /**
   * The post-processing job: probe every file (a file whose recorder did not
   * finalise it is remuxed), hash it, write the integrity report, and move the
   * recording to ready (some playable media) or failed. Kept whole (~115
   * lines): the job's steps in the order they run, ending in one transaction.
   */
  async process(recordingId: string): Promise<RecordingStatus | undefined> {
    const { db, config, clock, log } = this.#d;
    const rec = await db.one<RecordingRow>(`SELECT ${RECORDING_COLUMNS} FROM recordings WHERE id = $1`, [recordingId]);
    if (!rec || rec.status !== 'processing') return rec?.status;
    const segments = await db.query<SegmentRow>(`SELECT ${SEGMENT_COLUMNS} FROM recording_segments WHERE recording_id = $1 ORDER BY opened_at`, [recordingId]);
    // What the files really hold: holes between packets, and where the media ends.
    const media = new Map<string, Pick<ReportSegment, 'holes' | 'mediaEndAt'>>();
    for (const seg of segments) {
      const path = join(this.dirOf(rec.sessionId, rec.id), seg.fileName);
      const container = seg.fileName.endsWith('.webm') ? 'webm' : 'mkv';
      let status = 'broken';
      let probe: ProbeResult | undefined;
      try {
        const size = await fileSize(path);
        if (size === undefined || size === 0 || seg.startedAt === null) {
          status = 'empty';
        } else {
          probe = await ffprobe(config.ffprobePath, path).catch(() => undefined);
          if (!probe || probe.durationMs === undefined) {
            await remuxInPlace(config.ffmpegPath, path, container);
            probe = await ffprobe(config.ffprobePath, path);
          }
          status = probe.streams.length > 0 && probe.durationMs !== undefined ? 'ready' : 'broken';
        }
      } catch (err) {
        log.warn({ err: (err as Error).message, segmentId: seg.id }, 'a recording segment could not be probed');
        status = 'broken';
      }
      const sizeBytes = await fileSize(path);
      const sha256 = sizeBytes ? await sha256File(path) : null;
      const durationMs = probe?.durationMs ?? null;
      // A segment cut short by a crash has no end: its media says how long it ran.
      const endedAt = seg.endedAt ?? (seg.startedAt && durationMs !== null ? new Date(seg.startedAt.getTime() + durationMs) : seg.openedAt);
      await db.execute(
        `UPDATE recording_segments SET status = $2, duration_ms = $3, size_bytes = $4, sha256 = $5, probe = $6, ended_at = $7,
           end_reason = COALESCE(end_reason, 'interrupted') WHERE id = $1`,
        [seg.id, status, durationMs, sizeBytes ?? null, sha256, probe ? JSON.stringify(probe) : null, endedAt],
      );
      Object.assign(seg, { status, durationMs, endedAt });
      if (status === 'ready' && seg.startedAt) {
        const packets = await probePackets(config.ffprobePath, path).catch((err: unknown) => {
          log.warn({ err: (err as Error).message, segmentId: seg.id }, 'the packets of a recording segment could not be read');
          return [];
        });
        if (packets.length > 0) {
          // The first packet is the file's time 0 = the segment's wall-clock start.
          const first = packets.reduce((min, p) => Math.min(min, p.ptsMs), Infinity);
          const last = packets.reduce((a, b) => (b.ptsMs > a.ptsMs ? b : a));
          const wall = (ms: number) => new Date(seg.startedAt!.getTime() + ms - first);
          media.set(seg.id, {
            holes: packetHoles(packets, minHoleMs(seg.kind, seg.source)).map((h) => ({ from: wall(h.fromMs), to: wall(h.toMs) })),
            mediaEndAt: wall(last.ptsMs + last.durationMs),
          });
        }
      }
    }
    // A node_lost gap starts at the dead recorder's last progress as guessed when it was written (the files'
    // last write: an orphaned FFmpeg may still write after its node died). Its media says when it really ended:
    // the last packet of the segments that began before the gap ends.
    const lostGaps = await db.query<{ id: string; fromAt: Date; toAt: Date }>(
      `SELECT id, from_at AS "fromAt", to_at AS "toAt" FROM recording_gaps WHERE recording_id = $1 AND reason = 'node_lost'`,
      [recordingId],
    );
    for (const g of lostGaps) {
      const ends = segments
        .filter((seg) => seg.status === 'ready' && seg.startedAt && seg.startedAt.getTime() < g.toAt.getTime())
        .map((seg) => media.get(seg.id)?.mediaEndAt?.getTime() ?? seg.startedAt!.getTime() + (seg.durationMs ?? 0));
      const deadEnd = ends.length > 0 ? Math.max(...ends) : undefined;
      if (deadEnd !== undefined && deadEnd < g.toAt.getTime() && deadEnd !== g.fromAt.getTime()) {
        await db.execute('UPDATE recording_gaps SET from_at = $2 WHERE id = $1', [g.id, new Date(deadEnd)]);
      }
    }
    let stoppedAt = rec.stoppedAt;
    if (rec.stopReason === 'interrupted') {
      const ends = segments.map((s) => s.endedAt?.getTime() ?? 0);
      stoppedAt = new Date(Math.max(rec.startedAt.getTime(), ...ends));
    }
    const session = await getSession(db, rec.sessionId);
    const participants = (await listParticipants(db, rec.sessionId)).filter((p) => p.role !== 'observer');
    const gaps = await db.query<GapRow>(
      'SELECT recording_id AS "recordingId", user_id AS "userId", source, from_at AS "fromAt", to_at AS "toAt", reason FROM recording_gaps WHERE recording_id = $1',
      [recordingId],
    );
    const report = integrityReport({
      session,
      recording: { startedAt: rec.startedAt, stoppedAt, stopReason: rec.stopReason },
      participants,
      segments: segments.map((s) => ({
        id: s.id,
        userId: s.userId,
        source: s.source,
        kind: s.kind,
        startedAt: s.startedAt,
        endedAt: s.endedAt,
        durationMs: s.durationMs,
        status: s.status,
        endReason: s.endReason,
        ...media.get(s.id),
      })),
      gaps,
    });
    const ready = segments.some((s) => s.status === 'ready');
    const status: RecordingStatus = ready ? 'ready' : 'failed';
    await db.tx(async (q) => {
      await q.execute(`UPDATE recordings SET status = $2, report = $3, processed_at = $4, stopped_at = $5, error = $6 WHERE id = $1`, [
        recordingId,
        status,
        JSON.stringify(report),
        clock.now(),
        stoppedAt,
        ready ? null : segments.length === 0 ? 'nothing was recorded' : 'no playable media',
      ]);
      if (ready) await this.#d.outbox.append(q, 'recording.ready', { sessionId: rec.sessionId, recordingId });
    });
    log.info({ recordingId, status, ok: report.ok }, 'recording processed');
    return status;
  }

  // ------------------------------------------------------------ retention, recovery, shutdown

  /** Deletes the files of recordings older than the retention period; their rows and reports stay. */
  async purgeExpired(now: Date = this.#d.clock.now()): Promise<number> {
    const { db, config, log } = this.#d;
    const cutoff = new Date(now.getTime() - config.retentionDays * 86_400_000);
    const rows = await db.query<{ id: string; sessionId: string }>(
      `SELECT id, session_id AS "sessionId" FROM recordings
        WHERE files_deleted_at IS NULL AND status IN ('ready', 'failed') AND stopped_at < $1`,
      [cutoff],
    );
    for (const r of rows) {
      await rm(this.dirOf(r.sessionId, r.id), { recursive: true, force: true });
      await db.tx(async (q) => {
        await q.execute(`UPDATE recording_segments SET status = 'deleted' WHERE recording_id = $1`, [r.id]);
        await q.execute('UPDATE recordings SET files_deleted_at = $2 WHERE id = $1', [r.id, now]);
      });
      log.info({ recordingId: r.id }, 'recording files deleted after the retention period');
    }
    return rows.length;
  }

  /**
   * At start-up: recordings this host was making when its process died
   * (SIGKILL, power loss) are marked interrupted and processed, which
   * repairs the files their recorders left.
   */
  async recoverInterrupted(): Promise<string[]> {
    const { db, clock } = this.#d;
    const rows = await db.query<{ id: string; pid: number | null }>(
      `SELECT id, recorder_pid AS pid FROM recordings WHERE status = 'recording' AND recorder_host = $1`,
      [hostname()],
    );
    const recovered: string[] = [];
    for (const r of rows) {
      if (r.pid !== null && r.pid !== process.pid && pidAlive(r.pid)) continue;
      if ([...this.#active.values()].some((a) => a.recordingId === r.id)) continue;
      const n = await db.execute(`UPDATE recordings SET status = 'processing', stopped_at = $2, stop_reason = 'interrupted' WHERE id = $1 AND status = 'recording'`, [
        r.id,
        clock.now(),
      ]);
      if (n > 0) {
        recovered.push(r.id);
        await this.#d.enqueueProcessing(r.id);
      }
    }
    return recovered;
  }

  /** Stops every recording of this process (SIGINT to FFmpeg, files finalised) and marks them server_shutdown. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    while (this.#pending.size > 0) await new Promise((r) => setTimeout(r, 20));
    await Promise.allSettled([...this.#active.values()].map((e) => this.#stopEntry(e, 'server_shutdown')));
    await Promise.allSettled([...this.#finalizing]);
    await this.#recorders.close();
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
