/**
 * Where every recorder FFmpeg comes from, and why some are started before they
 * are needed. An FFmpeg takes 0.5–0.7 s from spawn to listening on an idle
 * machine and several seconds on a loaded one; a track that starts while the
 * session is already running (a worker restart re-creating every producer at
 * once, a recorder replaced after it died or stalled, a screen share begun)
 * lost that much media at its start. So, while recordings run, the pool keeps
 * spares: FFmpegs started and waiting for their SDP on stdin (no port, no
 * timeout, no CPU), one per recorder in use up to `sparesPerContainer` per
 * container. Taking one costs the ~30 ms FFmpeg needs to open its ports once
 * it reads the SDP.
 *
 * A spare is started before its file is known. FFmpeg opens its output only
 * once the first packets have been probed, so a spare is given a symbolic link
 * in the pool's own folder as its output; taking it points that link at the
 * segment's file (FFmpeg follows it when it opens the output, and the media
 * lands in the recording's folder under the segment's name).
 *
 * A spare of a server that dies (even by kill -9) sees its stdin close and
 * exits; a recorder in use ends its file 10 s after its last packet.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocatePortPair, buildSdp, containerFor, FfmpegRecorder, releasePortPair, type SdpCodec } from './ffmpeg.ts';

type Container = 'webm' | 'mkv';

/** A recorder FFmpeg handed to a track: listening on `port`, writing to the file it was given. */
export interface RecorderProcess {
  readonly ffmpeg: FfmpegRecorder;
  readonly port: number;
  /** Whether it was a spare (already started when asked for). */
  readonly spare: boolean;
  /** After its process exited: gives its ports back and removes its link. */
  release(): Promise<void>;
}

export interface RecorderPoolOptions {
  ffmpegPath: string;
  portRange: { min: number; max: number };
  /** Most spares kept per container (0: none, every recorder starts when asked for). */
  sparesPerContainer: number;
  /**
   * How long spares outlive the recorders they were kept for (default 30 s). A worker restart ends every
   * track of its rooms and re-creates them a second or two later: their spares must still be there.
   */
  lingerMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

interface Spare {
  ffmpeg: FfmpegRecorder;
  /** The output FFmpeg was given: a link, pointed at the segment's file when the spare is taken. */
  linkPath: string;
}

export class RecorderPool {
  readonly #o: RecorderPoolOptions;
  readonly #dir: string;
  /** Spares waiting for their SDP, per container. */
  readonly #ready = new Map<Container, Spare[]>();
  /** Recorders handed out and not released, per container: how many spares a container deserves. */
  readonly #inUse = new Map<Container, number>();
  #closed = false;
  #trimTimer: NodeJS.Timeout | undefined;

  constructor(options: RecorderPoolOptions) {
    this.#o = options;
    this.#dir = mkdtempSync(join(tmpdir(), 'mentor-live-recorders-'));
  }

  /** Spares waiting now (all containers). */
  get spareCount(): number {
    let n = 0;
    for (const list of this.#ready.values()) n += list.length;
    return n;
  }

  /** The process ids of the spares waiting now. */
  sparePids(): number[] {
    return [...this.#ready.values()].flat().flatMap((s) => (s.ffmpeg.child.pid ? [s.ffmpeg.child.pid] : []));
  }

  /**
   * A recorder listening for `codec` and writing `outPath`: a spare when one is
   * waiting, else one started now. Rejects when it exits before it listens (a
   * port taken by another process): the caller retries.
   */
  async acquire(codec: SdpCodec, outPath: string): Promise<RecorderProcess> {
    if (this.#closed) throw new Error('recorder pool closed');
    const container = containerFor(codec.mimeType);
    const spare = await this.#claimSpare(container, outPath);
    const ffmpeg = spare?.ffmpeg ?? new FfmpegRecorder({ ffmpegPath: this.#o.ffmpegPath, outPath, container });
    let port: number | undefined;
    const cleanUp = async () => {
      if (port !== undefined) releasePortPair(port);
      if (spare) await rm(spare.linkPath, { force: true });
    };
    try {
      port = await allocatePortPair(this.#o.portRange);
      await ffmpeg.listen(buildSdp(codec, port), port);
    } catch (err) {
      if (!ffmpeg.hasExited) ffmpeg.kill();
      await ffmpeg.exited;
      await cleanUp();
      throw err;
    }
    this.#inUse.set(container, (this.#inUse.get(container) ?? 0) + 1);
    this.#topUp(container);
    let released = false;
    return {
      ffmpeg,
      port,
      spare: spare !== undefined,
      release: async () => {
        if (released) return;
        released = true;
        this.#inUse.set(container, Math.max(0, (this.#inUse.get(container) ?? 1) - 1));
        await cleanUp();
        this.#scheduleTrim();
      },
    };
  }

  /** Kills every spare and removes the pool's folder. Recorders handed out are their tracks' to stop. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#trimTimer);
    // Out of their lists first: a spare that exits while it is in one is reported as unexpected.
    const spares = [...this.#ready.values()].flatMap((list) => list.splice(0));
    await Promise.all(spares.map((s) => this.#discard(s)));
    await rm(this.#dir, { recursive: true, force: true });
  }

  /** A waiting spare of this container, its link pointed at `outPath`; undefined when none is left. */
  async #claimSpare(container: Container, outPath: string): Promise<Spare | undefined> {
    const list = this.#ready.get(container);
    while (list?.length) {
      const spare = list.shift()!;
      if (spare.ffmpeg.hasExited) continue;
      try {
        await symlink(outPath, spare.linkPath);
        return spare;
      } catch (err) {
        this.#o.log?.warn({ err: (err as Error).message }, 'could not claim a spare recorder');
        void this.#discard(spare);
      }
    }
    return undefined;
  }

  /** Spares a container deserves: one per recorder of it in use, up to the cap; none when nothing records. */
  #wanted(container: Container): number {
    return Math.min(this.#o.sparesPerContainer, this.#inUse.get(container) ?? 0);
  }

  #topUp(container: Container): void {
    if (this.#closed) return;
    const list = this.#ready.get(container) ?? [];
    this.#ready.set(container, list);
    while (list.length < this.#wanted(container)) {
      const linkPath = join(this.#dir, `${randomUUID()}.${container}`);
      const spare: Spare = { linkPath, ffmpeg: new FfmpegRecorder({ ffmpegPath: this.#o.ffmpegPath, outPath: linkPath, container }) };
      list.push(spare);
      // A spare that dies while it waits (it should not) is dropped; the next acquire tops up again.
      void spare.ffmpeg.exited.then((exit) => {
        const i = list.indexOf(spare);
        if (i < 0) return;
        list.splice(i, 1);
        this.#o.log?.warn({ code: exit.code, signal: exit.signal, stderr: exit.stderr.slice(-300) }, 'a spare recorder exited while it waited');
      });
    }
  }

  #scheduleTrim(): void {
    clearTimeout(this.#trimTimer);
    this.#trimTimer = setTimeout(() => this.#trim(), this.#o.lingerMs ?? 30_000);
    this.#trimTimer.unref();
  }

  /** Spares beyond what each container deserves are stopped (a recording ended). */
  #trim(): void {
    for (const [container, list] of this.#ready) {
      while (list.length > this.#wanted(container)) void this.#discard(list.pop()!);
    }
  }

  async #discard(spare: Spare): Promise<void> {
    // Closing its stdin ends a waiting spare (an empty SDP); SIGKILL if it had started anything.
    spare.ffmpeg.child.stdin?.end();
    const killer = setTimeout(() => spare.ffmpeg.kill(), 2000);
    await spare.ffmpeg.exited;
    clearTimeout(killer);
    await rm(spare.linkPath, { force: true });
  }
}
