/**
 * Media load shared by the bare mediasoup baseline and our server: producers
 * fed by FFmpeg (VP8 + Opus, `-c copy` of a clip encoded once, so the sender
 * costs almost nothing) into comedia PlainTransports, and subscribers added in
 * steps, each a PlainTransport with SRTP (the per-packet cost a WebRTC
 * consumer has) carrying one video and one audio consumer towards a UDP sink.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types as ms } from 'mediasoup';

export const benchMediaCodecs: ms.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: {} },
];

/** A 20 s VP8 640x360 (~500 kb/s, keyframe every second) + Opus clip, encoded once per machine. */
export function encodedClip(): string {
  const dir = join(tmpdir(), 'ml-bench-media');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'clip-v1.webm');
  if (existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.webm`;
  const r = spawnSync('ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30:duration=20',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=20',
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '500k', '-g', '30',
    '-c:a', 'libopus', '-ac', '2', '-b:a', '48k', '-y', tmp,
  ]);
  if (r.status !== 0) throw new Error(`could not encode the clip: ${r.stderr}`);
  renameSync(tmp, file);
  return file;
}

export interface Feed {
  producers: ms.Producer[];
  close(): void;
}

/**
 * Two producers (VP8, Opus) on `router`, fed by one FFmpeg for `seconds`. `produce` lets the caller register them (e.g. in a room);
 * `kinds` limits the feed to some of the two (a screen share is video only).
 */
export async function startFeed(
  router: ms.Router,
  seconds: number,
  produce: (transport: ms.PlainTransport, kind: 'audio' | 'video', rtpParameters: ms.RtpParameters) => Promise<ms.Producer> = (t, kind, rtpParameters) => t.produce({ kind, rtpParameters }),
  kinds: ReadonlyArray<'video' | 'audio'> = ['video', 'audio'],
): Promise<Feed> {
  const clip = encodedClip();
  const transports: ms.PlainTransport[] = [];
  const producers: ms.Producer[] = [];
  const outputs: string[] = [];
  for (const kind of kinds) {
    const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
    transports.push(transport);
    const ssrc = 20_000_000 + Math.floor(Math.random() * 1_000_000);
    const pt = kind === 'video' ? 101 : 100;
    const rtpParameters: ms.RtpParameters =
      kind === 'video'
        ? { codecs: [{ mimeType: 'video/VP8', payloadType: pt, clockRate: 90000 }], encodings: [{ ssrc }] }
        : { codecs: [{ mimeType: 'audio/opus', payloadType: pt, clockRate: 48000, channels: 2 }], encodings: [{ ssrc }] };
    producers.push(await produce(transport, kind, rtpParameters));
    outputs.push('-map', kind === 'video' ? '0:v' : '0:a', '-c', 'copy', '-payload_type', String(pt), '-ssrc', String(ssrc), '-f', 'rtp', `rtp://127.0.0.1:${transport.tuple.localPort}?rtcpport=${transport.rtcpTuple?.localPort}&pkt_size=1200`);
  }
  const child: ChildProcess = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip, '-t', String(seconds), ...outputs], { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const stats = await Promise.all(producers.map((p) => p.getStats()));
    if (stats.every((s) => s.some((x) => x.packetCount > 0))) break;
    if (Date.now() > deadline) throw new Error('no RTP from FFmpeg');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    producers,
    close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const t of transports) if (!t.closed) t.close();
    },
  };
}

export interface Subscribers {
  router: ms.Router;
  count(): number;
  /** Adds `n` subscribers (2 consumers each) sending to `sinkPorts` round-robin; returns their consumer SSRCs. */
  add(n: number, sinkPorts: number[]): Promise<number[]>;
  close(): void;
}

const srtpKey = () => randomBytes(30).toString('base64');

export function subscribers(router: ms.Router, producers: ms.Producer[]): Subscribers {
  const transports: ms.PlainTransport[] = [];
  let next = 0;
  return {
    router,
    count: () => transports.length,
    async add(n, sinkPorts) {
      const ssrcs: number[] = [];
      for (let i = 0; i < n; i++) {
        const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false, enableSrtp: true, srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80' });
        transports.push(transport);
        await transport.connect({ ip: '127.0.0.1', port: sinkPorts[next++ % sinkPorts.length]!, srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: srtpKey() } });
        for (const producer of producers) {
          const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, paused: false });
          ssrcs.push(consumer.rtpParameters.encodings![0]!.ssrc!);
        }
      }
      return ssrcs;
    },
    close() {
      for (const t of transports) if (!t.closed) t.close();
    },
  };
}
