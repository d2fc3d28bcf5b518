/**
 * Follows a live room while it records: one TrackRecorder per producer, so a
 * producer that appears, is replaced (closed and re-created) or leaves gives
 * its own segments, each with its wall-clock start. Knows the room only
 * through `RecordableRoom` (what the rooms capability's Room exposes).
 */
import type { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import type { types as ms } from 'mediasoup';
import type { FfmpegExit } from './ffmpeg.ts';
import type { RecorderPool } from './recorder-pool.ts';
import { TrackRecorder, type SegmentEndReason, type SegmentInfo, type TrackGap } from './track-recorder.ts';

export interface RoomProducer {
  producer: ms.Producer;
  userId: string;
  source: string;
}

/** The part of a rooms Room the recorder needs. */
export interface RecordableRoom {
  readonly sessionId: string;
  readonly router: ms.Router;
  listProducers(): RoomProducer[];
  /** Emits 'newproducer' (RoomProducer), 'producerclose', 'close' (reason). */
  readonly observer: EventEmitter;
}

export interface TrackKey {
  producerId: string;
  userId: string;
  source: string;
  kind: 'audio' | 'video';
}

export type RecordingGap = Omit<TrackGap, 'reason'> & { reason: TrackGap['reason'] | 'start_failed' };

/** Called in order, one at a time (each may write to the database). */
export interface SessionRecordingListener {
  onSegmentOpened?(track: TrackKey, segment: SegmentInfo): unknown;
  onSegmentStarted?(track: TrackKey, segment: SegmentInfo): unknown;
  onSegmentStartRefined?(track: TrackKey, segment: SegmentInfo): unknown;
  onSegmentEnded?(track: TrackKey, segment: SegmentInfo, exit: FfmpegExit | undefined): unknown;
  onGap?(track: TrackKey, gap: RecordingGap): unknown;
}

export interface SessionRecordingOptions {
  room: RecordableRoom;
  /** Folder of this recording's files (created). */
  dir: string;
  /** Where the track recorders' FFmpegs come from. */
  recorders: RecorderPool;
  now?: () => Date;
  preferredSpatialLayer?: number | undefined;
  listener?: SessionRecordingListener;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export class SessionRecording {
  readonly room: RecordableRoom;
  readonly #o: SessionRecordingOptions;
  readonly #now: () => Date;
  readonly #tracks = new Map<string, TrackRecorder>();
  readonly #starting = new Set<Promise<void>>();
  #chain: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;
  #stopReason: SegmentEndReason | undefined;
  readonly #onNewProducer = (p: RoomProducer) => void this.#addTrack(p);
  // A room closed by a draining server stops the recording as a shutdown, not as the end of the session.
  readonly #onRoomClose = (reason: unknown) => void this.stop(/draining|shutdown/.test(String(reason)) ? 'server_shutdown' : 'room_closed');
  #onStopped: ((reason: SegmentEndReason) => void) | undefined;
  #done = false;

  private constructor(options: SessionRecordingOptions) {
    this.#o = options;
    this.room = options.room;
    this.#now = options.now ?? (() => new Date());
  }

  /** Starts recording every producer of the room, and every producer that appears later. */
  static async start(options: SessionRecordingOptions): Promise<SessionRecording> {
    const recording = new SessionRecording(options);
    await mkdir(options.dir, { recursive: true });
    options.room.observer.on('newproducer', recording.#onNewProducer);
    options.room.observer.once('close', recording.#onRoomClose);
    await Promise.all(options.room.listProducers().map((p) => recording.#addTrack(p)));
    return recording;
  }

  get stopped(): boolean {
    return this.#stopReason !== undefined;
  }

  get stopReason(): SegmentEndReason | undefined {
    return this.#stopReason;
  }

  /** Track recorders by producer id (current and finished). */
  get tracks(): ReadonlyMap<string, TrackRecorder> {
    return this.#tracks;
  }

  /** Called once when the recording stops, whatever the reason (the room closing included). */
  onStopped(fn: (reason: SegmentEndReason) => void): void {
    this.#onStopped = fn;
    if (this.#done) fn(this.#stopReason!);
  }

  stop(reason: SegmentEndReason = 'stopped'): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopReason = reason;
      this.room.observer.off('newproducer', this.#onNewProducer);
      this.room.observer.off('close', this.#onRoomClose);
      await Promise.allSettled([...this.#starting]);
      await Promise.allSettled([...this.#tracks.values()].map((t) => t.stop(reason)));
      await this.#chain;
      this.#done = true;
      try {
        this.#onStopped?.(reason);
      } catch (err) {
        this.#o.log?.error({ err }, 'recording stop listener failed');
      }
    })();
    return this.#stopping;
  }

  #enqueue(fn: () => unknown): void {
    this.#chain = this.#chain.then(async () => {
      try {
        await fn();
      } catch (err) {
        this.#o.log?.error({ err, sessionId: this.room.sessionId }, 'recording listener failed');
      }
    });
  }

  #addTrack(p: RoomProducer): Promise<void> {
    const { producer, userId, source } = p;
    if (this.#stopReason || producer.closed || this.#tracks.has(producer.id)) return Promise.resolve();
    const key: TrackKey = { producerId: producer.id, userId, source, kind: producer.kind };
    const l = this.#o.listener;
    const run = (async () => {
      try {
        const recorder = await TrackRecorder.start({
          router: this.room.router,
          producer,
          dir: this.#o.dir,
          baseName: `${source}-${userId.slice(0, 8)}-${producer.id.slice(0, 8)}`,
          recorders: this.#o.recorders,
          now: this.#now,
          preferredSpatialLayer: this.#o.preferredSpatialLayer,
          ...(this.#o.log ? { log: this.#o.log } : {}),
          listener: {
            onSegmentOpened: (s) => this.#enqueue(() => l?.onSegmentOpened?.(key, s)),
            onSegmentStarted: (s) => this.#enqueue(() => l?.onSegmentStarted?.(key, s)),
            onSegmentStartRefined: (s) => this.#enqueue(() => l?.onSegmentStartRefined?.(key, s)),
            onSegmentEnded: (s, exit) => this.#enqueue(() => l?.onSegmentEnded?.(key, s, exit)),
            onGap: (g) => this.#enqueue(() => l?.onGap?.(key, g)),
          },
        });
        this.#tracks.set(producer.id, recorder);
        // Stopped while it was starting: stop it too.
        if (this.#stopReason) await recorder.stop(this.#stopReason);
      } catch (err) {
        if (producer.closed || this.#stopReason) return;
        this.#o.log?.warn({ err: (err as Error).message, producerId: producer.id, userId, source }, 'could not record a producer');
        const at = this.#now();
        this.#enqueue(() => l?.onGap?.(key, { from: at, to: at, reason: 'start_failed' }));
      }
    })();
    this.#starting.add(run);
    void run.finally(() => this.#starting.delete(run));
    return run;
  }
}
