/**
 * Media fixtures for the recording tests, without rooms or browsers: a
 * mediasoup worker + router, and FFmpeg as an RTP sender (test pattern VP8 +
 * sine Opus) into comedia PlainTransports with separate RTCP (with rtcp-mux,
 * FFmpeg's RTCP socket can claim the tuple and all RTP is dropped).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import type { Teardown } from './db.ts';

export const mediaCodecs: ms.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: {} },
];

export async function createRouter(t: Teardown): Promise<{ worker: ms.Worker; router: ms.Router }> {
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  const router = await worker.createRouter({ mediaCodecs });
  t.teardown(() => worker.close());
  return { worker, router };
}

export interface RtpSender {
  producer: ms.Producer;
  transport: ms.PlainTransport;
  process: ChildProcess;
  /** Kills the sender and closes its producer. */
  close(): void;
}

/**
 * Media encoded once per machine (VP8 320x240 30 fps with a keyframe every
 * second; Opus 48 kHz stereo) and sent with `-c copy`: a sender that encodes
 * live falls behind on a busy machine and its RTCP sender reports then re-time
 * the recorder's stream, which is the sender's fault, not the recorder's.
 */
function encodedSample(kind: 'audio' | 'video'): string {
  const dir = join(tmpdir(), 'ml-recording-samples');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${kind}-v1.webm`);
  if (existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.webm`;
  const args =
    kind === 'video'
      ? ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30:duration=20', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '30']
      : ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=20', '-c:a', 'libopus', '-ac', '2'];
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args, '-y', tmp]);
  if (r.status !== 0) throw new Error(`could not encode the ${kind} sample: ${r.stderr}`);
  spawnSync('mv', [tmp, file]);
  return file;
}

/**
 * One producer fed by one FFmpeg sending `kind` for `seconds` (bounded so a
 * leaked process ends by itself).
 */
export async function startRtpSender(t: Teardown, router: ms.Router, kind: 'audio' | 'video', seconds = 60): Promise<RtpSender> {
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
  const ssrc = 10_000_000 + Math.floor(Math.random() * 1_000_000);
  const pt = kind === 'video' ? 101 : 100;
  const producer = await transport.produce({
    kind,
    rtpParameters:
      kind === 'video'
        ? { codecs: [{ mimeType: 'video/VP8', payloadType: pt, clockRate: 90000 }], encodings: [{ ssrc }] }
        : { codecs: [{ mimeType: 'audio/opus', payloadType: pt, clockRate: 48000, channels: 2 }], encodings: [{ ssrc }] },
  });
  const rtpPort = transport.tuple.localPort;
  const rtcpPort = transport.rtcpTuple?.localPort;
  const input = ['-re', '-stream_loop', '-1', '-i', encodedSample(kind), '-t', String(seconds), '-map', '0', '-c', 'copy'];
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', ...input, '-payload_type', String(pt), '-ssrc', String(ssrc), '-f', 'rtp', `rtp://127.0.0.1:${rtpPort}?rtcpport=${rtcpPort}&pkt_size=1200`];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const close = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!producer.closed) producer.close();
    if (!transport.closed) transport.close();
  };
  t.teardown(close);
  // Wait until RTP flows (the producer has a score) so tests start from a live stream.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no RTP from the ${kind} sender`)), 10_000);
    const check = async () => {
      const stats = await producer.getStats();
      if (stats.some((s) => s.packetCount > 0)) {
        clearTimeout(timer);
        resolve();
      } else setTimeout(() => void check(), 50);
    };
    void check();
  });
  return { producer, transport, process: child, close };
}

/** Waits for `predicate` to hold, polling every 25 ms (for states with no event to wait on). */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
