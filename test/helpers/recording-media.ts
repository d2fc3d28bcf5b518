/**
 * Media fixtures for the recording tests, without rooms or browsers: a
 * mediasoup worker + router, and FFmpeg as an RTP sender (test pattern VP8 +
 * sine Opus) into comedia PlainTransports with separate RTCP (with rtcp-mux,
 * FFmpeg's RTCP socket can claim the tuple and all RTP is dropped).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from 'werift';
import { RecorderPool } from '../../src/recording/recorder-pool.ts';
import { checkFfmpeg } from '../../src/server/preflight.ts';
import type { Teardown } from './db.ts';

// Every file that feeds media runs FFmpeg: without it, fail at once with the
// line that installs it (not a recorder timeout later on).
checkFfmpeg({ ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' });

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

/** The recorders' FFmpeg pool of a test (no spares unless asked for), closed at teardown. */
export function recorderPool(t: Teardown, sparesPerContainer = 0, lingerMs?: number): RecorderPool {
  const pool = new RecorderPool({ ffmpegPath: 'ffmpeg', portRange: { min: 61000, max: 64999 }, sparesPerContainer, ...(lingerMs === undefined ? {} : { lingerMs }) });
  t.teardown(() => pool.close());
  return pool;
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

// ---------------------------------------------------------------- real media over a werift peer

function sampleFile(kind: 'audio' | 'video', ext: 'ivf' | 'ogg'): Buffer {
  const file = join(tmpdir(), 'ml-recording-samples', `${kind}-v1.${ext}`);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.${ext}`;
    const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', encodedSample(kind), '-c', 'copy', '-f', ext, '-y', tmp]);
    if (r.status !== 0) throw new Error(`could not extract ${kind} frames: ${r.stderr}`);
    spawnSync('mv', [tmp, file]);
  }
  return readFileSync(file);
}

/** VP8 frames of the sample (IVF: a header, then 12-byte frame headers). */
export function vp8SampleFrames(): Buffer[] {
  return ivfFrames(sampleFile('video', 'ivf'));
}

/** VP8 frames of an IVF file's bytes. */
export function ivfFrames(data: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  let at = data.readUInt16LE(6);
  while (at + 12 <= data.length) {
    const size = data.readUInt32LE(at);
    frames.push(data.subarray(at + 12, at + 12 + size));
    at += 12 + size;
  }
  return frames;
}

/** Opus packets (20 ms each) of the sample, from its Ogg pages (OpusHead and OpusTags skipped). */
export function opusSamplePackets(): Buffer[] {
  return oggOpusPackets(sampleFile('audio', 'ogg'));
}

/** Opus packets of an Ogg Opus file's bytes (OpusHead and OpusTags skipped). */
export function oggOpusPackets(data: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let partial: Buffer[] = [];
  let at = 0;
  while (at + 27 <= data.length && data.toString('latin1', at, at + 4) === 'OggS') {
    const segments = data[at + 26]!;
    let body = at + 27 + segments;
    for (let i = 0; i < segments; i++) {
      const lace = data[at + 27 + i]!;
      partial.push(data.subarray(body, body + lace));
      body += lace;
      if (lace < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    at = body;
  }
  return packets.slice(2);
}

interface SignallingPeer {
  request<T = any>(event: string, payload?: unknown): Promise<T>;
}

interface SendTransportInfo {
  transportId: string;
  iceParameters: { usernameFragment: string; password: string };
  iceCandidates: Array<{ foundation: string; priority: number; ip?: string; address?: string; protocol: 'udp' | 'tcp'; port: number; type: string }>;
  dtlsParameters: { fingerprints: Array<{ algorithm: string; value: string }> };
}

export interface RealMediaSender {
  producerId: string;
  /**
   * Sends nothing for `ms` while the socket and the transport stay open (a
   * network cut): the frames due meanwhile are lost ('drop': their sequence
   * numbers are skipped, the file gets a hole as long as the cut), or the
   * last second of them is held back and sent at once when the cut ends, with
   * its old timestamps, after a gap in sequence numbers for the rest ('burst':
   * a stale burst, as a browser's pacer flushes its queue).
   */
  interrupt(ms: number, mode?: 'drop' | 'burst'): void;
  stop(): Promise<void>;
}

/**
 * Produces real, decodable media through a room's signalling: werift
 * RTCPeerConnection, ICE/DTLS/SRTP into mediasoup, the sample's VP8 frames
 * (RFC 7741 packetisation, 30 fps) or Opus packets (20 ms), paced by the wall
 * clock so media time follows real time even when timers run late (the
 * werift test peer's synthetic frames can be neither probed by a recorder
 * nor trusted for timing).
 */
export async function produceRealMedia(
  peer: SignallingPeer,
  kind: 'audio' | 'video',
  source: 'mic' | 'webcam' | 'screen' = kind === 'audio' ? 'mic' : 'webcam',
  options: {
    /** Media to loop instead of the sample (VP8 frames at 30 fps, or 20 ms Opus packets). */
    frames?: Buffer[];
    /**
     * A performance.now() origin shared by several senders: frame i of the loop
     * goes out at origin + i × frame duration, so senders with loops of the same
     * length stay in step (an A/V sync feed), whenever each one started.
     */
    clockOrigin?: number;
  } = {},
): Promise<RealMediaSender> {
  const frames = options.frames ?? (kind === 'video' ? vp8SampleFrames() : opusSamplePackets());
  const codec = kind === 'video' ? { mimeType: 'video/VP8', clockRate: 90000, sdp: 'VP8/90000', step: 3000, frameMs: 1000 / 30 } : { mimeType: 'audio/opus', clockRate: 48000, channels: 2, sdp: 'opus/48000/2', step: 960, frameMs: 20 };
  const pc = new RTCPeerConnection({
    codecs: {
      [kind]: [new RTCRtpCodecParameters({ mimeType: codec.mimeType, clockRate: codec.clockRate, payloadType: kind === 'video' ? 96 : 111, ...(kind === 'audio' ? { channels: 2 } : {}), rtcpFeedback: [] })],
    },
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
  });
  const track = new MediaStreamTrack({ kind });
  pc.addTransceiver(track, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  const offer = pc.localDescription!.sdp;
  const line = (re: RegExp) => {
    const m = offer.match(re);
    if (!m) throw new Error(`SDP line not found: ${re}`);
    return m;
  };
  const mid = line(/a=mid:(\S+)/)[1]!;
  const [, ssrcText, cname] = line(/a=ssrc:(\d+) cname:(\S+)/);
  const ssrc = Number(ssrcText);
  const pt = Number(line(new RegExp(`a=rtpmap:(\\d+) ${codec.sdp}`, 'i'))[1]);
  const [, fpAlg, fpValue] = line(/a=fingerprint:(\S+) (\S+)/);
  const transport = await peer.request<SendTransportInfo>('createTransport', { direction: 'send' });
  await peer.request('connectTransport', { transportId: transport.transportId, dtlsParameters: { role: 'client', fingerprints: [{ algorithm: fpAlg!.toLowerCase(), value: fpValue! }] } });
  const candidates = transport.iceCandidates.filter((c) => c.protocol === 'udp');
  const fp = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0]!;
  const ipOf = (c: (typeof candidates)[number]) => c.address ?? c.ip!;
  const answer =
    [
      'v=0', 'o=mediasoup 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=ice-lite', `a=group:BUNDLE ${mid}`, 'a=msid-semantic: WMS *',
      `m=${kind} ${candidates[0]!.port} UDP/TLS/RTP/SAVPF ${pt}`, `c=IN IP4 ${ipOf(candidates[0]!)}`, 'a=rtcp-mux', 'a=rtcp-rsize', `a=mid:${mid}`, 'a=recvonly',
      `a=ice-ufrag:${transport.iceParameters.usernameFragment}`, `a=ice-pwd:${transport.iceParameters.password}`, `a=fingerprint:${fp.algorithm} ${fp.value}`,
      'a=setup:passive', `a=rtpmap:${pt} ${codec.sdp}`,
      ...candidates.map((c) => `a=candidate:${c.foundation} 1 udp ${c.priority} ${ipOf(c)} ${c.port} typ ${c.type}`), 'a=end-of-candidates',
    ].join('\r\n') + '\r\n';
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  const { producerId } = await peer.request<{ producerId: string }>('produce', {
    transportId: transport.transportId,
    kind,
    rtpParameters: {
      mid,
      codecs: [{ mimeType: codec.mimeType, payloadType: pt, clockRate: codec.clockRate, ...(kind === 'audio' ? { channels: 2 } : {}), rtcpFeedback: [] }],
      headerExtensions: [],
      encodings: [{ ssrc }],
      rtcp: { cname, reducedSize: true },
    },
    appData: { source },
  });
  let seq = Math.floor(Math.random() * 30000);
  const firstTimestamp = Math.floor(Math.random() * 1e6);
  const startedAt = options.clockOrigin ?? performance.now();
  let sent = options.clockOrigin === undefined ? 0 : Math.floor((performance.now() - startedAt) / codec.frameMs);
  const send = (frameIndex: number) => {
    const frame = frames[frameIndex % frames.length]!;
    const timestamp = (firstTimestamp + frameIndex * codec.step) >>> 0;
    // Video: a 1-byte VP8 payload descriptor (S=1 on the frame's first packet), marker on its last packet.
    const chunks: Buffer[] = [];
    if (kind === 'video') for (let at = 0; at < frame.length; at += 1100) chunks.push(Buffer.concat([Buffer.from([at === 0 ? 0x10 : 0x00]), frame.subarray(at, at + 1100)]));
    else chunks.push(frame);
    chunks.forEach((payload, i) => {
      const header = new RtpHeader({ payloadType: pt, sequenceNumber: seq++ & 0xffff, timestamp, ssrc, marker: kind === 'video' ? i === chunks.length - 1 : false });
      try {
        track.writeRtp(new RtpPacket(header, payload));
      } catch {
        /* closing */
      }
    });
  };
  let holdUntil = 0;
  let holdMode: 'drop' | 'burst' = 'drop';
  const packetsOf = (frameIndex: number) => (kind === 'video' ? Math.ceil(frames[frameIndex % frames.length]!.length / 1100) : 1);
  const HELD_BACK_MS = 1000;
  const timer = setInterval(() => {
    const now = performance.now();
    const due = Math.floor((now - startedAt) / codec.frameMs);
    // Lost frames: nothing sent, their sequence numbers skipped.
    const lostUpTo = now < holdUntil ? (holdMode === 'drop' ? due : due - Math.floor(HELD_BACK_MS / codec.frameMs)) : -1;
    while (sent <= lostUpTo) seq += packetsOf(sent++);
    if (now < holdUntil) return;
    while (sent <= due) send(sent++);
  }, 10);
  return {
    producerId,
    interrupt(ms, mode = 'drop') {
      holdUntil = performance.now() + ms;
      holdMode = mode;
    },
    async stop() {
      clearInterval(timer);
      await pc.close();
    },
  };
}
