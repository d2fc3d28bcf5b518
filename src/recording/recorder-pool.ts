/**
 * Where every recorder FFmpeg comes from, and why some are started before they
 * are needed. An FFmpeg takes 0.5–0.7 s from spawn to listening on an idle
 * machine and several seconds on a loaded one; a track that starts while the
 * session is already running (a worker restart re-creating every producer at
 * once, a recorder replaced after it died or stalled, a screen share begun)
 * would lose that much media at its start. So, while recordings run, the pool
 * keeps spares: FFmpegs already listening for the codecs it has seen, one per
 * track in use up to `sparesPerCodec`.
 *
 * A spare is started before its file is known. FFmpeg opens its output only
 * once the first packets have been probed, so a spare is given a symbolic link
 * in the pool's own folder as its output; taking it points that link at the
 * segment's file (FFmpeg follows it when it opens the output, and the media
 * lands in the recording's folder under the segment's name). The consumer
 * feeding it is paused until then, so no packet reaches a spare unclaimed.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocatePortPair, buildSdp, containerFor, FfmpegRecorder, releasePortPair, type SdpCodec } from './ffmpeg.ts';

/** A recorder FFmpeg handed to a track: listening on `port`, writing to the file it was given. */
export interface RecorderProcess {
  readonly ffmpeg: FfmpegRecorder;
  readonly port: number;
  /** Whether it was a spare (already listening when asked for). */
  readonly spare: boolean;
  /** After its process exited: removes its SDP and link and gives its ports back. */
  release(): Promise<void>;
}

export interface RecorderPoolOptions {
  ffmpegPath: string;
  portRange: { min: number; max: number };
  /** Most spares kept per codec (0: none, every recorder starts when asked for). */
  sparesPerCodec: number;
  /**
   * How long spares outlive the recorders they were kept for (default 30 s). A worker restart ends every
   * track of its rooms and re-creates them a second or two later: their spares must still be there.
   */
  lingerMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

interface Spare {
  key: string;
  process: RecorderProcess;
  /** The output FFmpeg was given: a link, pointed at the segment's file when the spare is taken. */
  linkPath: string;
}

/** A spare that exits before listening this many times in a row stops spares of its codec (the fresh path still works). */
const MAX_SPARE_FAILURES = 3;

export class RecorderPool {
  readonly #o: RecorderPoolOptions;
  readonly #dir: string;
  /** Listening spares, per codec. */
  readonly #ready = new Map<string, Spare[]>();
  /** Spares being started, per codec. */
  readonly #starting = new Map<string, number>();
  /** Recorders handed out and not released, per codec: how many spares a codec deserves. */
  readonly #inUse = new Map<string, number>();
  readonly #failures = new Map<string, number>();
  readonly #codecs = new Map<string, SdpCodec>();
  #closed = false;
  #trimTimer: NodeJS.Timeout | undefined;

  constructor(options: RecorderPoolOptions) {
    this.#o = options;
    this.#dir = mkdtempSync(join(tmpdir(), 'mentor-live-recorders-'));
  }

  /** Spares listening now (all codecs). */
  get spareCount(): number {
    let n = 0;
    for (const list of this.#ready.values()) n += list.length;
    return n;
  }

  /** The process ids of the spares listening now. */
  sparePids(): number[] {
    return [...this.#ready.values()].flat().flatMap((s) => (s.process.ffmpeg.child.pid ? [s.process.ffmpeg.child.pid] : []));
  }

  /**
   * A listening recorder writing `outPath`: a spare when one is ready for this
   * codec, else one started now. Rejects when a fresh one exits before it
   * listens (a port taken by another process): the caller retries.
   */
  async acquire(codec: SdpCodec, outPath: string): Promise<RecorderProcess> {
    if (this.#closed) throw new Error('recorder pool closed');
    const key = codecKey(codec);
    this.#codecs.set(key, codec);
    const spare = this.#takeSpare(key);
    let taken: RecorderProcess | undefined;
    if (spare) {
      try {
        await symlink(outPath, spare.linkPath);
        taken = spare.process;
      } catch (err) {
        this.#o.log?.warn({ err: (err as Error).message }, 'could not claim a spare recorder; starting one');
        spare.process.ffmpeg.kill();
        await spare.process.ffmpeg.exited;
        await spare.process.release();
      }
    }
    taken ??= await this.#start(codec, outPath, false);
    this.#inUse.set(key, (this.#inUse.get(key) ?? 0) + 1);
    this.#topUp(key);
    let released = false;
    return {
      ffmpeg: taken.ffmpeg,
      port: taken.port,
      spare: taken.spare,
      release: async () => {
        if (released) return;
        released = true;
        this.#inUse.set(key, Math.max(0, (this.#inUse.get(key) ?? 1) - 1));
        await taken.release();
        this.#scheduleTrim();
      },
    };
  }

  /** Kills every spare and removes the pool's folder. Recorders handed out are their tracks' to stop. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#trimTimer);
    const spares = [...this.#ready.values()].flat();
    this.#ready.clear();
    await Promise.all(spares.map((s) => this.#discard(s)));
    await rm(this.#dir, { recursive: true, force: true });
  }

  #takeSpare(key: string): Spare | undefined {
    const list = this.#ready.get(key);
    while (list?.length) {
      const spare = list.shift()!;
      if (!spare.process.ffmpeg.hasExited) return spare;
      void spare.process.release();
    }
    return undefined;
  }

  /** Spares a codec deserves: one per recorder of it in use, up to the cap; none when nothing records. */
  #wanted(key: string): number {
    return Math.min(this.#o.sparesPerCodec, this.#inUse.get(key) ?? 0);
  }

  #topUp(key: string): void {
    if (this.#closed || (this.#failures.get(key) ?? 0) >= MAX_SPARE_FAILURES) return;
    const codec = this.#codecs.get(key)!;
    const have = (this.#ready.get(key)?.length ?? 0) + (this.#starting.get(key) ?? 0);
    for (let i = have; i < this.#wanted(key); i++) void this.#startSpare(key, codec);
  }

  #scheduleTrim(): void {
    clearTimeout(this.#trimTimer);
    this.#trimTimer = setTimeout(() => this.#trim(), this.#o.lingerMs ?? 30_000);
    this.#trimTimer.unref();
  }

  /** Spares beyond what each codec deserves are stopped (a recording ended). */
  #trim(): void {
    for (const [key, list] of this.#ready) {
      while (list.length > this.#wanted(key)) void this.#discard(list.pop()!);
    }
  }

  async #startSpare(key: string, codec: SdpCodec): Promise<void> {
    this.#starting.set(key, (this.#starting.get(key) ?? 0) + 1);
    const linkPath = join(this.#dir, `${randomUUID()}.${containerFor(codec.mimeType)}`);
    let spare: Spare | undefined;
    try {
      spare = { key, linkPath, process: await this.#start(codec, linkPath, true) };
      this.#failures.set(key, 0);
    } catch (err) {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      this.#o.log?.warn({ err: (err as Error).message, failures }, 'a spare recorder did not start');
    } finally {
      this.#starting.set(key, (this.#starting.get(key) ?? 1) - 1);
    }
    if (!spare) return this.#topUp(key);
    const list = this.#ready.get(key) ?? [];
    this.#ready.set(key, list);
    if (this.#closed || list.length >= this.#wanted(key)) return void this.#discard(spare);
    list.push(spare);
    // A spare that dies while it waits is replaced.
    void spare.process.ffmpeg.exited.then(() => {
      const i = list.indexOf(spare);
      if (i < 0) return;
      list.splice(i, 1);
      void spare.process.release();
      this.#topUp(key);
    });
  }

  async #discard(spare: Spare): Promise<void> {
    // SIGKILL: a spare has received nothing, and SIGINT would make it write an empty file.
    spare.process.ffmpeg.kill();
    await spare.process.ffmpeg.exited;
    await spare.process.release();
  }

  async #start(codec: SdpCodec, outPath: string, spare: boolean): Promise<RecorderProcess> {
    const port = await allocatePortPair(this.#o.portRange);
    const sdpPath = join(this.#dir, `${randomUUID()}.sdp`);
    const release = async () => {
      releasePortPair(port);
      await rm(sdpPath, { force: true });
      if (spare) await rm(outPath, { force: true });
    };
    let ffmpeg: FfmpegRecorder | undefined;
    try {
      await writeFile(sdpPath, buildSdp(codec, port));
      ffmpeg = new FfmpegRecorder({ ffmpegPath: this.#o.ffmpegPath, sdpPath, outPath, container: containerFor(codec.mimeType), port });
      await ffmpeg.waitListening(port);
      return { ffmpeg, port, spare, release };
    } catch (err) {
      if (ffmpeg && !ffmpeg.hasExited) {
        ffmpeg.kill();
        await ffmpeg.exited;
      }
      await release();
      throw err;
    }
  }
}

/** Spares are interchangeable only for the same SDP: kind, codec, payload type, clock, channels and parameters. */
function codecKey(c: SdpCodec): string {
  const params = Object.entries(c.parameters ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([c.kind, c.mimeType.toLowerCase(), c.payloadType, c.clockRate, c.channels ?? 0, params]);
}
