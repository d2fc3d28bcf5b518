/**
 * An A/V sync feed and its measurement. The feed: VP8 frames (30 fps, black
 * with a white flash) and Opus packets (20 ms, silence with a 1 kHz beep),
 * made by FFmpeg's lavfi once per machine, looping every PERIOD_MS with the
 * flash and the beep at the same instant of each loop. Sent with a shared
 * clock origin (produceRealMedia's clockOrigin), they flash and beep together
 * in wall-clock time. The measurement decodes a file and lists when the
 * picture turns bright and when the sound turns loud.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ivfFrames, oggOpusPackets } from './recording-media.ts';

export const PERIOD_MS = 2000;
/** Where in each loop the flash and the beep start, and how long they last. */
export const MARK_AT_MS = 500;
export const MARK_MS = 100;

function encoded(name: string, args: string[]): Buffer {
  const dir = join(tmpdir(), 'ml-recording-samples');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args, '-y', tmp]);
    if (r.status !== 0) throw new Error(`could not encode ${name}: ${r.stderr}`);
    spawnSync('mv', [tmp, file]);
  }
  return readFileSync(file);
}

const from = MARK_AT_MS / 1000;
const to = (MARK_AT_MS + MARK_MS) / 1000;
const seconds = PERIOD_MS / 1000;

/** VP8 frames of one loop (30 fps, a keyframe every 10 frames so a late starter decodes soon). */
export function flashFrames(): Buffer[] {
  return ivfFrames(
    encoded('flash-v1.ivf', [
      '-f', 'lavfi', '-i', `color=c=black:s=320x240:r=30:d=${seconds},drawbox=c=white:t=fill:enable='between(t,${from},${to - 0.001})'`,
      '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-g', '10', '-f', 'ivf',
    ]),
  );
}

/**
 * Opus packets of one loop (20 ms each), exactly PERIOD_MS of them: the encoder adds a packet for its
 * pre-skip (101 for 2 s), and a loop 20 ms longer than the video's drifts 20 ms from it at every turn.
 */
export function beepPackets(): Buffer[] {
  return encodedBeep().slice(0, PERIOD_MS / 20);
}

function encodedBeep(): Buffer[] {
  return oggOpusPackets(
    encoded('beep-v1.ogg', [
      '-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=48000:duration=${seconds},volume=volume=0:enable='not(between(t,${from},${to - 0.001}))'`,
      '-c:a', 'libopus', '-ac', '2', '-b:a', '64k', '-frame_duration', '20', '-f', 'ogg',
    ]),
  );
}

function decode(args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`ffmpeg decode failed: ${stderr}`))));
  });
}

/** Times (ms into the file) at which the picture's mean brightness rises past the middle. */
export async function flashTimes(file: string, fps = 25): Promise<number[]> {
  const w = 32;
  const h = 18;
  // Constant frame rate out of the decoder: frame i is at i / fps.
  const raw = await decode(['-i', file, '-map', '0:v:0', '-vf', `fps=${fps},scale=${w}:${h}`, '-pix_fmt', 'gray', '-f', 'rawvideo', 'pipe:1']);
  const times: number[] = [];
  let bright = false;
  for (let i = 0; (i + 1) * w * h <= raw.length; i++) {
    let sum = 0;
    for (let p = i * w * h; p < (i + 1) * w * h; p++) sum += raw[p]!;
    const mean = sum / (w * h);
    if (!bright && mean > 128) times.push(Math.round((i * 1000) / fps));
    bright = mean > 128;
  }
  return times;
}

/** Times (ms into the file) at which the sound's level (10 ms windows) rises past a loud threshold. */
export async function beepTimes(file: string): Promise<number[]> {
  const rate = 8000;
  const raw = await decode(['-i', file, '-map', '0:a:0', '-ac', '1', '-ar', String(rate), '-f', 's16le', 'pipe:1']);
  const win = rate / 100;
  const times: number[] = [];
  let loud = false;
  for (let i = 0; (i + 1) * win * 2 <= raw.length; i++) {
    let sq = 0;
    for (let s = 0; s < win; s++) {
      const v = raw.readInt16LE((i * win + s) * 2) / 32768;
      sq += v * v;
    }
    const rms = Math.sqrt(sq / win);
    if (!loud && rms > 0.05) times.push(i * 10);
    loud = rms > 0.05;
  }
  return times;
}

/** For each beep, the nearest flash and the distance (ms). */
export function pairMarks(flashes: number[], beeps: number[]): Array<{ beepMs: number; flashMs: number | undefined; skewMs: number }> {
  return beeps.map((b) => {
    const nearest = flashes.reduce<number | undefined>((best, f) => (best === undefined || Math.abs(f - b) < Math.abs(best - b) ? f : best), undefined);
    return { beepMs: b, flashMs: nearest, skewMs: nearest === undefined ? Infinity : b - nearest };
  });
}
