/**
 * FFmpeg as a pass-through RTP recorder, and the small file tools around it
 * (ffprobe, remux, sha256). Facts this relies on (Debian FFmpeg 5.1):
 * - FFmpeg opens port+1 for RTCP whatever the SDP says: ports go in even pairs.
 * - `-fpsprobesize 0` removes a ~1 s wait before the first video frame; the
 *   flush flags keep a killed recorder's file recoverable (remux repairs it).
 * - SIGINT finalises the file (exit 255). If the input went silent the first
 *   SIGINT may be ignored: a second one after ~1.5 s stops it.
 * - A bind failure (port taken) makes FFmpeg exit 1 before listening.
 * - With no packet for 10 s (the SDP demuxer's `listen_timeout`) FFmpeg ends its
 *   file and exits 0: how a recorder whose server was killed finishes its file.
 * - An SDP read from stdin (`-i pipe:0`) is read to its end: until then the
 *   process waits, and an empty SDP (the pipe closed) makes it exit 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createReadStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';

export interface SdpCodec {
  kind: 'audio' | 'video';
  /** e.g. "video/VP8", "audio/opus" */
  mimeType: string;
  payloadType: number;
  clockRate: number;
  channels?: number | undefined;
  parameters?: Record<string, unknown> | undefined;
}

/** SDP for one track, received on 127.0.0.1:port (RTCP on port + 1). */
export function buildSdp(codec: SdpCodec, port: number): string {
  const name = codec.mimeType.split('/')[1] ?? codec.mimeType;
  const rtpmap = `${name}/${codec.clockRate}${codec.kind === 'audio' && codec.channels && codec.channels > 1 ? `/${codec.channels}` : ''}`;
  const fmtp = Object.entries(codec.parameters ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(';');
  return [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=recorder',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=${codec.kind} ${port} RTP/AVP ${codec.payloadType}`,
    `a=rtcp:${port + 1}`,
    `a=rtpmap:${codec.payloadType} ${rtpmap}`,
    ...(fmtp ? [`a=fmtp:${codec.payloadType} ${fmtp}`] : []),
    'a=recvonly',
    '',
  ].join('\n');
}

/** WebM takes VP8, VP9, AV1, Opus, Vorbis; anything else goes to Matroska. */
export function containerFor(mimeType: string): 'webm' | 'mkv' {
  return /^(video\/(vp8|vp9|av1)|audio\/(opus|vorbis))$/i.test(mimeType) ? 'webm' : 'mkv';
}

// ---------------------------------------------------------------- ports

const reserved = new Set<number>();

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * An even port whose pair (port, port + 1) is free now and not handed out by
 * this process. Another process may still take it before FFmpeg binds: the
 * caller retries when FFmpeg exits before listening.
 */
export async function allocatePortPair(range: { min: number; max: number }): Promise<number> {
  const evenMin = range.min + (range.min % 2);
  const slots = Math.floor((range.max - 1 - evenMin) / 2) + 1;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = evenMin + 2 * Math.floor(Math.random() * slots);
    if (reserved.has(port)) continue;
    reserved.add(port);
    if ((await canBind(port)) && (await canBind(port + 1))) return port;
    reserved.delete(port);
  }
  throw new Error(`no free UDP port pair in ${range.min}-${range.max}`);
}

export function releasePortPair(port: number): void {
  reserved.delete(port);
}

/** Whether something listens on UDP `port` (any address), from /proc/net/udp{,6}. */
export async function udpPortOpen(port: number): Promise<boolean> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      // "  sl  local_address rem_address ..." → local address is the 2nd column
      const local = line.trim().split(/\s+/)[1];
      if (local && `${local} `.endsWith(hex)) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------- recorder process

export interface FfmpegRecorderOptions {
  ffmpegPath: string;
  outPath: string;
  container: 'webm' | 'mkv';
  /** Called for each progress block (`-progress pipe:1`). */
  onProgress?: (p: { outTimeMs: number; sizeBytes: number }) => void;
}

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Last lines of stderr, for the log. */
  stderr: string;
}

/**
 * One FFmpeg copying one RTP stream into a file. It is started first and
 * reads its SDP on stdin: until `listen` writes it, the process is loaded and
 * waits (no port, no timeout, no CPU), which is what a spare is
 * (recorder-pool.ts); if this process dies first, the pipe's end makes it exit.
 * `exited` resolves when the process ends, whatever the reason.
 */
export class FfmpegRecorder {
  readonly child: ChildProcess;
  readonly exited: Promise<FfmpegExit>;
  #exit: FfmpegExit | undefined;
  #stderr = '';
  #stopping: Promise<FfmpegExit> | undefined;
  lastProgress: { outTimeMs: number; sizeBytes: number; at: number } | undefined;

  constructor(options: FfmpegRecorderOptions) {
    const args = [
      '-hide_banner',
      '-nostdin',
      '-loglevel', 'warning',
      '-protocol_whitelist', 'file,pipe,udp,rtp',
      '-fpsprobesize', '0',
      // A short RTP reorder queue (FFmpeg's default is 500 packets): after an outage the first packet's sequence
      // number is far ahead of the last one seen, and a long queue held or dropped seconds of in-order media
      // waiting for the missing ones (a 5 s cut left a 9-10 s hole in the file; with 32 packets, 5.0-7.1 s).
      // 32 still takes a NACK-repaired packet that arrives a few packets late (mediasoup forwards it as is).
      '-reorder_queue_size', '32',
      '-f', 'sdp',
      '-i', 'pipe:0',
      '-map', '0',
      '-c', 'copy',
      '-flush_packets', '1',
      '-cluster_time_limit', '1000',
      '-cluster_size_limit', '262144',
      '-progress', 'pipe:1',
      '-stats_period', '0.5',
      '-f', options.container === 'webm' ? 'webm' : 'matroska',
      '-y',
      options.outPath,
    ];
    this.child = spawn(options.ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    // A process that exits before its SDP is written closes the pipe: not an error of ours.
    this.child.stdin?.on('error', () => undefined);
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    let block: Record<string, string> = {};
    let buffered = '';
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        const eq = line.indexOf('=');
        if (eq < 0) continue;
        const key = line.slice(0, eq);
        const value = line.slice(eq + 1);
        block[key] = value;
        if (key === 'progress') {
          const outTimeUs = Number(block.out_time_us ?? block.out_time_ms ?? 0);
          const p = { outTimeMs: Number.isFinite(outTimeUs) ? Math.max(0, Math.round(outTimeUs / 1000)) : 0, sizeBytes: Number(block.total_size ?? 0) || 0 };
          this.lastProgress = { ...p, at: Date.now() };
          options.onProgress?.(p);
          block = {};
        }
      }
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.#stderr += `\n${err.message}`;
      });
      this.child.once('close', (code, signal) => {
        this.#exit = { code, signal, stderr: this.#stderr };
        resolve(this.#exit);
      });
    });
  }

  get hasExited(): boolean {
    return this.#exit !== undefined;
  }

  /**
   * Gives FFmpeg its SDP (the stream it receives on `port`) and resolves once it
   * listens there; rejects as `waitListening` does. FFmpeg opens its ports
   * some 30 ms after reading the SDP, where a cold start takes 0.5 s or more.
   */
  async listen(sdp: string, port: number, timeoutMs?: number): Promise<void> {
    this.child.stdin?.end(sdp);
    await this.waitListening(port, timeoutMs);
  }

  /**
   * Resolves once FFmpeg listens on `port`; rejects if it exits first (a port
   * taken: it exits at once) or after timeoutMs. The timeout is generous: on a
   * loaded machine FFmpeg took over 5 s to start, and killing it to start
   * another only lengthened the hole.
   */
  async waitListening(port: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#exit) throw new Error(`ffmpeg exited before listening (code ${this.#exit.code}): ${this.#exit.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      if (await udpPortOpen(port)) return;
      await new Promise((r) => setTimeout(r, 15));
    }
    throw new Error(`ffmpeg did not open UDP port ${port} within ${timeoutMs} ms`);
  }

  /**
   * SIGINT (the file is finalised), a second SIGINT after `secondSignalMs`
   * when the input had gone silent, SIGKILL after `killMs` as a last resort
   * (the flush flags keep what was written; post-processing remuxes it).
   */
  stop(options: { secondSignalMs?: number; killMs?: number } = {}): Promise<FfmpegExit> {
    this.#stopping ??= (async () => {
      if (this.#exit) return this.#exit;
      this.child.kill('SIGINT');
      const second = setTimeout(() => this.child.kill('SIGINT'), options.secondSignalMs ?? 1500);
      const kill = setTimeout(() => this.child.kill('SIGKILL'), options.killMs ?? 6000);
      try {
        return await this.exited;
      } finally {
        clearTimeout(second);
        clearTimeout(kill);
      }
    })();
    return this.#stopping;
  }

  /** Immediate SIGKILL (tests simulating a crash use this). */
  kill(): void {
    this.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- files

export interface ProbeStream {
  index: number;
  codecType: string;
  codecName: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
}

export interface ProbeResult {
  formatName: string;
  /** Container duration in ms; undefined when the file has none (unfinalised). */
  durationMs: number | undefined;
  streams: ProbeStream[];
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function ffprobe(ffprobePath: string, file: string): Promise<ProbeResult> {
  const { code, stdout, stderr } = await run(ffprobePath, ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file], 60_000);
  if (code !== 0) throw new Error(`ffprobe failed (${code}): ${stderr.trim().split('\n').slice(-2).join(' | ')}`);
  const json = JSON.parse(stdout) as {
    format?: { format_name?: string; duration?: string };
    streams?: Array<{ index: number; codec_type?: string; codec_name?: string; width?: number; height?: number; sample_rate?: string; channels?: number; duration?: string }>;
  };
  const duration = Number(json.format?.duration);
  return {
    formatName: json.format?.format_name ?? 'unknown',
    durationMs: Number.isFinite(duration) && duration > 0 ? Math.round(duration * 1000) : undefined,
    streams: (json.streams ?? []).map((s) => ({
      index: s.index,
      codecType: s.codec_type ?? 'unknown',
      codecName: s.codec_name ?? 'unknown',
      ...(s.width ? { width: s.width } : {}),
      ...(s.height ? { height: s.height } : {}),
      ...(s.sample_rate ? { sampleRate: Number(s.sample_rate) } : {}),
      ...(s.channels ? { channels: s.channels } : {}),
    })),
  };
}

/**
 * The packet times of a file's first stream, in ms (`ffprobe -show_packets`):
 * what really is in the file, to find its holes.
 */
export async function probePackets(ffprobePath: string, file: string): Promise<Array<{ ptsMs: number; durationMs: number }>> {
  const { code, stdout, stderr } = await run(
    ffprobePath,
    ['-v', 'error', '-select_streams', '0', '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', file],
    120_000,
  );
  if (code !== 0) throw new Error(`ffprobe -show_packets failed (${code}): ${stderr.trim().split('\n').slice(-2).join(' | ')}`);
  const packets: Array<{ ptsMs: number; durationMs: number }> = [];
  for (const line of stdout.split('\n')) {
    const [pts, duration] = line.trim().split(',');
    const ptsMs = Number(pts) * 1000;
    if (!pts || !Number.isFinite(ptsMs)) continue;
    const durationMs = Number(duration) * 1000;
    packets.push({ ptsMs, durationMs: Number.isFinite(durationMs) ? durationMs : 0 });
  }
  return packets;
}

/** Stream-copies `file` into a fresh container (writes duration and cues of an unfinalised file) and replaces it. */
export async function remuxInPlace(ffmpegPath: string, file: string, container: 'webm' | 'mkv'): Promise<void> {
  const tmp = `${file}.remux.${container}`;
  const { code, stderr } = await run(
    ffmpegPath,
    ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', file, '-map', '0', '-c', 'copy', '-f', container === 'webm' ? 'webm' : 'matroska', '-y', tmp],
    120_000,
  );
  if (code !== 0) {
    await rm(tmp, { force: true });
    throw new Error(`remux failed (${code}): ${stderr.trim().split('\n').slice(-2).join(' | ')}`);
  }
  await rename(tmp, file);
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function fileSize(file: string): Promise<number | undefined> {
  return stat(file).then(
    (s) => s.size,
    () => undefined,
  );
}
