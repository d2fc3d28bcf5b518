/**
 * Records one mediasoup Producer into files, one FFmpeg per segment:
 * PlainTransport (comedia off, RTCP on its own port) → consumer created paused
 * with capabilities limited to the producer's codec → an FFmpeg from the
 * RecorderPool (a spare already listening when there is one) `-c copy` into
 * WebM/Matroska. The consumer is resumed (and a keyframe requested, twice)
 * only once FFmpeg listens, so the first keyframe is not lost.
 *
 * A recorder that dies is noticed: the segment ends with `recorder_died`, a gap
 * opens, and a new segment (new transport, ports and FFmpeg) takes over. The
 * recorder knows nothing of rooms or the database: it reports to a listener.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { types as ms } from 'mediasoup';
import { containerFor, type FfmpegExit, type FfmpegRecorder } from './ffmpeg.ts';
import type { RecorderPool, RecorderProcess } from './recorder-pool.ts';

export type SegmentEndReason = 'stopped' | 'producer_closed' | 'router_closed' | 'recorder_died' | 'server_shutdown' | 'room_closed' | 'start_failed';

export interface SegmentInfo {
  id: string;
  /** 0, 1, … within this track recorder. */
  index: number;
  producerId: string;
  kind: 'audio' | 'video';
  mimeType: string;
  container: 'webm' | 'mkv';
  /** Absolute path of the media file. */
  path: string;
  fileName: string;
  /** When the pipeline was ready (consumer resumed). */
  openedAt: Date;
  /** Wall-clock time of the first packet sent to FFmpeg (= the file's time 0). */
  startedAt?: Date;
  endedAt?: Date;
  endReason?: SegmentEndReason;
}

export interface TrackGap {
  from: Date;
  to: Date;
  /** `layer_switch` is a marker (from = to): the recorded simulcast layer changed then. */
  reason: 'recorder_died' | 'paused' | 'layer_switch';
}

export interface TrackRecorderListener {
  onSegmentOpened?(segment: SegmentInfo): void;
  onSegmentStarted?(segment: SegmentInfo): void;
  /** The segment's start, refined from its first seconds of packets (earlier than first said). */
  onSegmentStartRefined?(segment: SegmentInfo): void;
  onSegmentEnded?(segment: SegmentInfo, exit: FfmpegExit | undefined): void;
  onGap?(gap: TrackGap): void;
  /** The track recorder is done (stopped, producer closed, or gave up). */
  onClosed?(reason: SegmentEndReason): void;
}

export interface TrackRecorderOptions {
  router: ms.Router;
  producer: ms.Producer;
  /** Folder of the files (must exist). */
  dir: string;
  /** File name stem; segments are `<baseName>-<index>.<ext>`. */
  baseName: string;
  /** Where the FFmpegs come from. */
  recorders: RecorderPool;
  now?: () => Date;
  listener?: TrackRecorderListener;
  /** Delay of the second keyframe request (a keyframe can come late when several consumers start together). */
  keyFrameRetryMs?: number;
  /** Pin a simulcast/SVC video consumer to this spatial layer (default: the highest the sender gives). */
  preferredSpatialLayer?: number | undefined;
  /** Restarts allowed after FFmpeg deaths before giving up (an FFmpeg that ends its file after 10 s of silence does not count). */
  maxRestarts?: number;
  /**
   * An FFmpeg that writes nothing for this long while the consumer sends it
   * packets is stuck: it is killed and replaced like a dead one (default 4 s).
   */
  stallTimeoutMs?: number;
  log?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
}

/** How often a track whose file ended in silence looks for its media's return. */
const MEDIA_RETURN_POLL_MS = 100;

/** Packets to FFmpeg that resume after this long a silence get a keyframe requested at once. */
const RESUME_AFTER_SILENCE_MS = 1000;

interface Pipeline {
  segment: SegmentInfo;
  recorder: RecorderProcess;
  transport: ms.PlainTransport;
  consumer: ms.Consumer;
  keyFrameTimer?: NodeJS.Timeout;
  watchdog?: NodeJS.Timeout;
}

/** The router capabilities for one codec only: no RTX, no RTCP feedback, no header extensions. */
export function recorderRtpCapabilities(router: ms.Router, producer: ms.Producer): ms.RtpCapabilities {
  const codec = producer.rtpParameters.codecs.find((c) => !/\/(rtx|red|ulpfec)$/i.test(c.mimeType));
  if (!codec) throw new Error(`producer ${producer.id} has no media codec`);
  const candidates = (router.rtpCapabilities.codecs ?? []).filter((c) => c.mimeType.toLowerCase() === codec.mimeType.toLowerCase());
  const match =
    candidates.find((c) => {
      if (!/h264/i.test(c.mimeType)) return true;
      const a = c.parameters ?? {};
      const b = codec.parameters ?? {};
      return String(a['packetization-mode'] ?? 0) === String(b['packetization-mode'] ?? 0) && String(a['profile-level-id'] ?? '') === String(b['profile-level-id'] ?? '');
    }) ?? candidates[0];
  if (!match) throw new Error(`router cannot consume ${codec.mimeType}`);
  return { codecs: [{ ...match, rtcpFeedback: [] }], headerExtensions: [] };
}

export class TrackRecorder {
  readonly producer: ms.Producer;
  readonly segments: SegmentInfo[] = [];
  readonly #o: TrackRecorderOptions;
  readonly #now: () => Date;
  #current: Pipeline | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #stopReason: SegmentEndReason | undefined;
  #closed = false;
  #restarts = 0;
  #openGap: { from: Date; reason: TrackGap['reason'] } | undefined;
  #pausedAt: Date | undefined;

  private constructor(options: TrackRecorderOptions) {
    this.#o = options;
    this.producer = options.producer;
    this.#now = options.now ?? (() => new Date());
  }

  /** Starts recording; resolves once the first segment's FFmpeg listens and the consumer is resumed. */
  static async start(options: TrackRecorderOptions): Promise<TrackRecorder> {
    const recorder = new TrackRecorder(options);
    await recorder.#openSegment();
    return recorder;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get current(): SegmentInfo | undefined {
    return this.#current?.segment;
  }

  /** The FFmpeg of the current segment (tests use it to simulate a crash). */
  get ffmpeg(): FfmpegRecorder | undefined {
    return this.#current?.recorder.ffmpeg;
  }

  /** Stops while packets still flow (SIGINT), then closes consumer and transport. Idempotent. */
  stop(reason: SegmentEndReason = 'stopped'): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopReason = reason;
      await this.#starting?.catch(() => undefined);
      await this.#endSegment(reason);
      this.#finish(reason);
    })();
    return this.#stopping;
  }

  #finish(reason: SegmentEndReason): void {
    if (this.#closed) return;
    this.#closed = true;
    const at = this.#now();
    if (this.#openGap) {
      this.#o.listener?.onGap?.({ from: this.#openGap.from, to: at, reason: this.#openGap.reason });
      this.#openGap = undefined;
    }
    if (this.#pausedAt) {
      this.#o.listener?.onGap?.({ from: this.#pausedAt, to: at, reason: 'paused' });
      this.#pausedAt = undefined;
    }
    this.#o.listener?.onClosed?.(reason);
  }

  #openSegment(): Promise<void> {
    const run = (async () => {
      let lastError: unknown;
      for (let attempt = 0; attempt < 3; attempt++) {
        if (this.#stopReason || this.producer.closed) return;
        try {
          this.#current = await this.#buildPipeline();
          return;
        } catch (err) {
          lastError = err;
          this.#o.log?.warn({ err: (err as Error).message, producerId: this.producer.id, attempt }, 'recorder pipeline failed to start; retrying');
        }
      }
      throw lastError;
    })();
    this.#starting = run;
    return run;
  }

  async #buildPipeline(): Promise<Pipeline> {
    const { router, producer } = this.#o;
    const rtpCapabilities = recorderRtpCapabilities(router, producer);
    let transport: ms.PlainTransport | undefined;
    let recorder: RecorderProcess | undefined;
    let opened: Pipeline | undefined;
    try {
      transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
      const layers = producer.kind === 'video' && this.#o.preferredSpatialLayer !== undefined ? { preferredLayers: { spatialLayer: this.#o.preferredSpatialLayer } } : {};
      const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true, ...layers });
      const codec = consumer.rtpParameters.codecs[0];
      if (!codec) throw new Error('consumer has no codec');
      const container = containerFor(codec.mimeType);
      const index = this.segments.length;
      const fileName = `${this.#o.baseName}-${index}.${container}`;
      const path = join(this.#o.dir, fileName);
      recorder = await this.#o.recorders.acquire({ kind: producer.kind, mimeType: codec.mimeType, payloadType: codec.payloadType, clockRate: codec.clockRate, channels: codec.channels, parameters: codec.parameters }, path);
      const { port } = recorder;
      await transport.connect({ ip: '127.0.0.1', port, rtcpPort: port + 1 });
      if (this.#stopReason) throw new Error('stopped while starting');

      const segment: SegmentInfo = {
        id: randomUUID(),
        index,
        producerId: producer.id,
        kind: producer.kind,
        mimeType: codec.mimeType,
        container,
        path,
        fileName,
        openedAt: this.#now(),
      };
      const pipeline: Pipeline = { segment, recorder, transport, consumer };
      opened = pipeline;
      this.segments.push(segment);
      this.#o.listener?.onSegmentOpened?.(segment);
      this.#watch(pipeline);

      await consumer.enableTraceEvent(['rtp']);
      await consumer.resume();
      if (producer.kind === 'video') {
        await consumer.requestKeyFrame();
        pipeline.keyFrameTimer = setTimeout(() => {
          if (!consumer.closed) consumer.requestKeyFrame().catch(() => undefined);
        }, this.#o.keyFrameRetryMs ?? 500);
      }
      if (producer.paused && !this.#pausedAt) this.#pausedAt = segment.openedAt;
      return pipeline;
    } catch (err) {
      if (opened?.keyFrameTimer) clearTimeout(opened.keyFrameTimer);
      if (opened?.watchdog) clearInterval(opened.watchdog);
      const exit = recorder && !recorder.ffmpeg.hasExited ? await recorder.ffmpeg.stop({ secondSignalMs: 200, killMs: 1000 }) : undefined;
      transport?.close();
      await recorder?.release();
      // A segment already announced is closed, so no row is left "recording".
      if (opened) {
        opened.segment.endedAt = this.#now();
        opened.segment.endReason = 'start_failed';
        this.#o.listener?.onSegmentEnded?.(opened.segment, exit);
      }
      throw err;
    }
  }

  // Kept whole (~90 lines): every event of one pipeline's consumer and FFmpeg, wired in one place, sharing its clock estimate.
  #watch(p: Pipeline): void {
    const { consumer, segment } = p;
    const { ffmpeg } = p.recorder;
    // The file's time 0 is its first packet's media time. Where that sits on the wall clock: the
    // first packet's sending time, then, over the segment's first seconds, the earliest of
    // (sent − media time since the first packet): a packet held up on its way (a sender's late
    // timer, a jittery network, our own event loop) only makes its estimate later, so the least
    // one is the packet that came on time (as RTCP-less receivers align streams).
    const clockRate = consumer.rtpParameters.codecs[0]?.clockRate ?? 90_000;
    let first: { rtpTs: number; workerMs: number; best: number } | undefined;
    consumer.on('trace', (trace) => {
      if (trace.type !== 'rtp') return;
      const info = trace.info as { rtpPacket?: { timestamp?: number }; isRtx?: boolean } | undefined;
      const rtpTs = info?.rtpPacket?.timestamp;
      const sent = sentAt(this.#now(), trace.timestamp);
      if (!segment.startedAt) {
        segment.startedAt = sent;
        if (this.#openGap) {
          this.#o.listener?.onGap?.({ from: this.#openGap.from, to: segment.startedAt, reason: this.#openGap.reason });
          this.#openGap = undefined;
        }
        this.#o.listener?.onSegmentStarted?.(segment);
        if (rtpTs === undefined) consumer.enableTraceEvent([]).catch(() => undefined);
        else first = { rtpTs, workerMs: trace.timestamp, best: sent.getTime() };
        return;
      }
      if (!first || rtpTs === undefined || info?.isRtx) return;
      const mediaMs = (rtpTimestampDelta(rtpTs, first.rtpTs) / clockRate) * 1000;
      first.best = Math.min(first.best, sent.getTime() - mediaMs);
      if (trace.timestamp - first.workerMs < START_ESTIMATE_WINDOW_MS) return;
      // Once, at the end of the window (a start that moves earlier by a few ms is not worth a write).
      if (first.best < segment.startedAt.getTime() - 5 && !segment.endedAt) {
        segment.startedAt = new Date(Math.round(first.best));
        this.#o.listener?.onSegmentStartRefined?.(segment);
      }
      first = undefined;
      consumer.enableTraceEvent([]).catch(() => undefined);
    });
    consumer.on('producerpause', () => {
      this.#pausedAt ??= this.#now();
    });
    consumer.on('producerresume', () => {
      if (this.#pausedAt) this.#o.listener?.onGap?.({ from: this.#pausedAt, to: this.#now(), reason: 'paused' });
      this.#pausedAt = undefined;
      if (consumer.kind === 'video') consumer.requestKeyFrame().catch(() => undefined);
    });
    consumer.on('producerclose', () => void this.stop('producer_closed'));
    // A simulcast consumer that changes layer mid-file (the sender dropped the
    // recorded layer, or brought it back): a marker that names the hole it causes.
    let layer: number | undefined;
    consumer.on('layerschange', (layers) => {
      const next = layers?.spatialLayer;
      if (layer !== undefined && next !== layer) this.#o.listener?.onGap?.({ from: this.#now(), to: this.#now(), reason: 'layer_switch' });
      if (next !== undefined) layer = next;
    });
    consumer.on('transportclose', () => void this.stop('router_closed'));
    // Watchdog: packets go out to FFmpeg but its progress stands still. And
    // when packets come back after a silence (an outage, a stale burst), a
    // keyframe is asked for at once, so the file resumes with a decodable frame.
    const stallMs = this.#o.stallTimeoutMs ?? 4000;
    let sentBefore = -1;
    let lastSentAt = Date.now();
    let lastAdvance = Date.now();
    let lastOutTime = -1;
    p.watchdog = setInterval(() => {
      void (async () => {
        if (this.#current !== p || ffmpeg.hasExited || consumer.closed) return;
        const stats = await consumer.getStats().catch(() => []);
        const sent = stats.reduce((sum, st) => sum + (st.type === 'outbound-rtp' ? st.packetCount : 0), 0);
        const flowing = sentBefore >= 0 && sent > sentBefore;
        sentBefore = sent;
        if (flowing) {
          if (Date.now() - lastSentAt >= RESUME_AFTER_SILENCE_MS && consumer.kind === 'video') consumer.requestKeyFrame().catch(() => undefined);
          lastSentAt = Date.now();
        }
        const outTime = ffmpeg.lastProgress?.outTimeMs ?? -1;
        if (outTime !== lastOutTime || !flowing) {
          lastOutTime = outTime;
          lastAdvance = Date.now();
          return;
        }
        if (Date.now() - lastAdvance >= stallMs && this.#current === p && !this.#stopReason) {
          this.#o.log?.warn({ producerId: this.producer.id, stalledMs: Date.now() - lastAdvance }, 'recorder process stalled; replacing it');
          ffmpeg.kill();
        }
      })();
    }, Math.max(250, Math.min(500, stallMs / 4)));
    p.watchdog.unref();
    void ffmpeg.exited.then((exit) => {
      if (this.#current !== p || this.#stopReason) return;
      // Ended on its own: end the segment, open a gap, start a new segment.
      if (exit.code === 0) this.#o.log?.info?.({ producerId: this.producer.id }, 'recorder ended its file after 10 s without media; a new segment waits for it');
      else this.#o.log?.warn({ producerId: this.producer.id, code: exit.code, signal: exit.signal, stderr: exit.stderr.slice(-500) }, 'recorder process died; starting a new segment');
      void this.#recover(exit);
    });
  }

  async #recover(exit: FfmpegExit): Promise<void> {
    const at = this.#now();
    await this.#endSegment('recorder_died');
    if (this.#stopReason) return;
    this.#openGap = { from: at, reason: 'recorder_died' };
    // Exit 0 without our signal is FFmpeg ending its file after 10 s without a packet (the participant's
    // media stopped): not a failure, however long the outage, so it does not use up the restarts.
    const silence = exit.code === 0;
    if (!silence && this.#restarts >= (this.#o.maxRestarts ?? 5)) {
      this.#o.log?.warn({ producerId: this.producer.id }, 'recorder died too often; giving up on this track');
      return void this.stop('recorder_died');
    }
    if (!silence) this.#restarts++;
    // After silence, the next file opens when the media comes back (a spare listens ~30 ms after it is
    // asked for), not at once: an FFmpeg waiting for a muted mic would end another empty file every 20 s.
    if (silence && !(await this.#untilMediaReturns())) return;
    try {
      await this.#openSegment();
    } catch (err) {
      this.#o.log?.warn({ err: (err as Error).message, producerId: this.producer.id }, 'could not restart the recorder');
      void this.stop('start_failed');
    }
  }

  /** Resolves true once the producer, not paused, receives packets again; false if the recorder stops or the producer closes first. */
  async #untilMediaReturns(): Promise<boolean> {
    const received = async () => (await this.producer.getStats().catch(() => [])).reduce((n, st) => n + st.packetCount, 0);
    const before = await received();
    while (!this.#stopReason && !this.producer.closed) {
      await new Promise((r) => setTimeout(r, MEDIA_RETURN_POLL_MS));
      // A paused producer may still receive packets (a sender that does not stop): nothing reaches a recorder.
      if (!this.producer.paused && (await received()) > before) return !this.#stopReason;
    }
    return false;
  }

  async #endSegment(reason: SegmentEndReason): Promise<void> {
    const p = this.#current;
    if (!p) return;
    this.#current = undefined;
    if (p.keyFrameTimer) clearTimeout(p.keyFrameTimer);
    if (p.watchdog) clearInterval(p.watchdog);
    p.segment.endedAt = this.#now();
    p.segment.endReason = reason;
    // Stop FFmpeg first, while packets still flow, then tear the path down.
    const exit = await p.recorder.ffmpeg.stop();
    try {
      p.consumer.close();
    } catch {
      /* already closed with its transport */
    }
    try {
      p.transport.close();
    } catch {
      /* already closed with the router */
    }
    await p.recorder.release();
    this.#o.listener?.onSegmentEnded?.(p.segment, exit);
  }
}

/**
 * When the worker sent the packet a trace event reports, on this process's clock: the event
 * reaches us after the event loop gets to it (100 ms and more while FFmpeg processes start),
 * and a segment placed at its arrival sits that much late on the recording's timeline (its
 * sound or picture out of sync with the others'). The worker stamps the event with
 * uv_hrtime (CLOCK_MONOTONIC, ms), the clock of process.hrtime here, so the delay is known.
 */
export function sentAt(now: Date, workerTimestampMs: number): Date {
  const delayMs = Number(process.hrtime.bigint() / 1_000_000n) - workerTimestampMs;
  // Outside 0..10 s the stamp is not what it is expected to be: keep the arrival time.
  return delayMs > 0 && delayMs < 10_000 ? new Date(now.getTime() - delayMs) : now;
}

/** How long after its first packet a segment's start keeps being refined (see #watch). */
const START_ESTIMATE_WINDOW_MS = 2_000;

/** `later − earlier` of two 32-bit RTP timestamps, across a wrap. */
export function rtpTimestampDelta(later: number, earlier: number): number {
  const d = (later - earlier) >>> 0;
  return d >= 2 ** 31 ? d - 2 ** 32 : d;
}
