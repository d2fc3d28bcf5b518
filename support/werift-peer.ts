import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from 'werift';
import { io as connectSocket, type Socket as ClientSocket } from 'socket.io-client';

/**
 * A real WebRTC peer on Node (werift) that talks to our `/rooms` signalling
 * like a browser would: it joins, produces synthetic VP8 key frames or Opus
 * packets over ICE/DTLS/SRTP into mediasoup, and consumes other peers'
 * producers, counting the RTP packets and bytes it really receives.
 *
 *   const a = await WeriftPeer.connect(url, tokenA);
 *   await a.join(sessionId);
 *   const { producerId } = await a.produce('video', 'webcam');
 *   const b = await WeriftPeer.connect(url, tokenB);
 *   await b.join(sessionId);
 *   const track = await b.consume(producerId);       // resumed, counting
 *   await b.waitForPackets(track.consumerId, 50);
 *   b.inboundStats(track.consumerId)                   // { packets, bytes, ... }
 *   await a.close(); await b.close();                  // (or t.teardown(() => peer.close()))
 *
 * Each produce and each consume uses its own transport and RTCPeerConnection
 * (one m-line each), which keeps the SDP trivial. Facts this relies on: see
 * /work/shared/testing/README.md (werift section) and werift-test.js.
 */

export type Source = 'mic' | 'webcam' | 'screen';
export type Kind = 'audio' | 'video';

/** An error ack from the server: `code` is the stable error code. */
export class RoomRequestError extends Error {
  readonly code: string;
  readonly event: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(event: string, code: string, message: string, details?: Record<string, unknown>) {
    super(`${event} failed: ${code}: ${message}`);
    this.name = 'RoomRequestError';
    this.code = code;
    this.event = event;
    this.details = details;
  }
}

export interface JoinData {
  sessionId: string;
  peerId: string;
  userId: string;
  role: string;
  routerRtpCapabilities: { codecs?: Array<Record<string, any>>; headerExtensions?: unknown[] };
  peers: Array<{ peerId: string; userId: string; name: string; role: string; producers: Array<{ producerId: string; kind: Kind; source: Source; paused: boolean }> }>;
  iceServers: unknown[];
  resumed?: boolean;
  isolated?: boolean;
}

interface TransportInfo {
  transportId: string;
  iceParameters: { usernameFragment: string; password: string };
  iceCandidates: Array<{ foundation: string; priority: number; ip?: string; address?: string; protocol: 'udp' | 'tcp'; port: number; type: string }>;
  dtlsParameters: { fingerprints: Array<{ algorithm: string; value: string }> };
}

export interface InboundTrack {
  consumerId: string;
  producerId: string;
  transportId: string;
  kind: Kind;
  source: Source;
  /** userId of the producer's owner. */
  userId: string;
  packets: number;
  /** RTP payload bytes received. */
  bytes: number;
}

export interface OutboundTrack {
  producerId: string;
  /** Audio only: the level sent in the ssrc-audio-level extension, in -dBov (0 loudest, 127 silence). */
  audioLevel?: number;
  transportId: string;
  kind: Kind;
  source: Source;
  /** RTP packets written into the track so far. */
  packetsSent: number;
}

const PEER_OPTIONS = { iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' } } as const;

const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const AUDIO_LEVEL_ID = 1;

const SEND_CODECS = {
  audio: { mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111, sdpName: 'opus/48000/2' },
  video: { mimeType: 'video/VP8', clockRate: 90000, payloadType: 96, sdpName: 'VP8/90000' },
} as const;

/** The RTP capabilities this peer can receive: Opus and VP8 with the router's payload types, no RTX, no extensions. */
export function weriftRtpCapabilities(router: JoinData['routerRtpCapabilities']) {
  const codecs = (router.codecs ?? [])
    .filter((c) => /^(audio\/opus|video\/VP8)$/i.test(String(c.mimeType)))
    .map((c) => ({
      kind: c.kind,
      mimeType: c.mimeType,
      preferredPayloadType: c.preferredPayloadType,
      clockRate: c.clockRate,
      ...(c.channels ? { channels: c.channels } : {}),
      parameters: c.parameters ?? {},
      rtcpFeedback: c.kind === 'video' ? [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] : [],
    }));
  return { codecs, headerExtensions: [] };
}

const match = (sdp: string, re: RegExp): RegExpMatchArray => {
  const m = sdp.match(re);
  if (!m) throw new Error(`SDP line not found: ${re}`);
  return m;
};
const fingerprintOf = (sdp: string) => {
  const [, algorithm, value] = match(sdp, /a=fingerprint:(\S+) (\S+)/);
  return { algorithm: algorithm!.toLowerCase(), value: value! };
};

/** SDP for the mediasoup side of one transport carrying one m-line (mediasoup is ICE-lite). */
function mediasoupSdp(o: {
  kind: Kind;
  transport: TransportInfo;
  mid: string;
  direction: 'recvonly' | 'sendonly';
  setup: 'passive' | 'actpass';
  codec: { payloadType: number; sdpName: string; feedback?: string[] };
  ssrc?: { ssrc: number; cname: string };
}): string {
  const { iceParameters, dtlsParameters } = o.transport;
  const candidates = o.transport.iceCandidates.filter((c) => c.protocol === 'udp');
  const fp = dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? dtlsParameters.fingerprints[0]!;
  const first = candidates[0]!;
  const ipOf = (c: (typeof candidates)[number]) => c.address ?? c.ip!;
  const lines = [
    'v=0',
    'o=mediasoup 1 1 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${o.mid}`,
    'a=msid-semantic: WMS *',
    `m=${o.kind} ${first.port} UDP/TLS/RTP/SAVPF ${o.codec.payloadType}`,
    `c=IN IP4 ${ipOf(first)}`,
    'a=rtcp-mux',
    'a=rtcp-rsize',
    `a=mid:${o.mid}`,
    `a=${o.direction}`,
    `a=ice-ufrag:${iceParameters.usernameFragment}`,
    `a=ice-pwd:${iceParameters.password}`,
    `a=fingerprint:${fp.algorithm} ${fp.value}`,
    `a=setup:${o.setup}`,
    `a=rtpmap:${o.codec.payloadType} ${o.codec.sdpName}`,
    ...(o.codec.feedback ?? []).map((f) => `a=rtcp-fb:${o.codec.payloadType} ${f}`),
    ...candidates.map((c) => `a=candidate:${c.foundation} 1 udp ${c.priority} ${ipOf(c)} ${c.port} typ ${c.type}`),
    'a=end-of-candidates',
  ];
  if (o.ssrc) {
    lines.push('a=msid:stream0 track0', `a=ssrc:${o.ssrc.ssrc} cname:${o.ssrc.cname}`, `a=ssrc:${o.ssrc.ssrc} msid:stream0 track0`);
  }
  return lines.join('\r\n') + '\r\n';
}

/** A VP8 payload descriptor (S=1, PID=0) followed by a key frame header. */
function vp8KeyFrame(size = 300): Buffer {
  const b = Buffer.alloc(size, 0x42);
  Buffer.from([0x10, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]).copy(b);
  return b;
}

export class WeriftPeer {
  readonly socket: ClientSocket;
  joinData: JoinData | undefined;
  readonly #pcs = new Set<RTCPeerConnection>();
  readonly #senders = new Map<string, { timer: NodeJS.Timeout; info: OutboundTrack }>();
  readonly #inbound = new Map<string, InboundTrack>();
  #closed = false;

  private constructor(socket: ClientSocket) {
    this.socket = socket;
  }

  /** Connects a Socket.IO client to `${url}/rooms` with the access token (rejects on connect_error). */
  static async connect(url: string, token: string, options: { reconnection?: boolean } = {}): Promise<WeriftPeer> {
    const socket = connectSocket(`${url}/rooms`, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: options.reconnection ?? false });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) => reject(err));
    });
    return new WeriftPeer(socket);
  }

  /** Sends a request and returns its `data`; an error ack throws RoomRequestError. */
  async request<T = any>(event: string, payload: unknown = {}, timeoutMs = 10_000): Promise<T> {
    const reply = (await this.socket.timeout(timeoutMs).emitWithAck(event, payload)) as { data?: T; error?: { code: string; message: string; details?: Record<string, unknown> } };
    if (reply.error) throw new RoomRequestError(event, reply.error.code, reply.error.message, reply.error.details);
    return reply.data as T;
  }

  async join(sessionId: string): Promise<JoinData> {
    this.joinData = await this.request<JoinData>('join', { sessionId });
    return this.joinData;
  }

  get peerId(): string {
    if (!this.joinData) throw new Error('not joined');
    return this.joinData.peerId;
  }

  /**
   * Produces synthetic media: VP8 key frames every 33 ms (video) or 120-byte
   * Opus-typed packets every 20 ms (audio), until stopSending/close. Audio
   * packets carry the ssrc-audio-level header extension (options.audioLevel,
   * default 20 = speaking; see setAudioLevel) so the ActiveSpeakerObserver works.
   */
  async produce(kind: Kind, source: Source = kind === 'audio' ? 'mic' : 'webcam', options: { audioLevel?: number } = {}): Promise<OutboundTrack> {
    const codec = SEND_CODECS[kind];
    const pc = this.#newPc({
      [kind]: [
        new RTCRtpCodecParameters({
          mimeType: codec.mimeType,
          clockRate: codec.clockRate,
          payloadType: codec.payloadType,
          ...('channels' in codec ? { channels: codec.channels } : {}),
          rtcpFeedback: [],
        }),
      ],
    });
    const track = new MediaStreamTrack({ kind });
    pc.addTransceiver(track, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const offer = pc.localDescription!.sdp;
    const mid = match(offer, /a=mid:(\S+)/)[1]!;
    const [, ssrcText, cname] = match(offer, /a=ssrc:(\d+) cname:(\S+)/);
    const ssrc = Number(ssrcText);
    const payloadType = Number(match(offer, new RegExp(`a=rtpmap:(\\d+) ${codec.sdpName}`, 'i'))[1]);

    const transport = await this.request<TransportInfo>('createTransport', { direction: 'send' });
    // werift is the DTLS client; mediasoup answers passive.
    await this.request('connectTransport', { transportId: transport.transportId, dtlsParameters: { role: 'client', fingerprints: [fingerprintOf(offer)] } });
    await pc.setRemoteDescription({
      type: 'answer',
      sdp: mediasoupSdp({ kind, transport, mid, direction: 'recvonly', setup: 'passive', codec: { payloadType, sdpName: codec.sdpName } }),
    });
    const { producerId } = await this.request<{ producerId: string }>('produce', {
      transportId: transport.transportId,
      kind,
      rtpParameters: {
        mid,
        codecs: [
          {
            mimeType: codec.mimeType,
            payloadType,
            clockRate: codec.clockRate,
            ...('channels' in codec ? { channels: codec.channels } : {}),
            rtcpFeedback: [],
          },
        ],
        headerExtensions: kind === 'audio' ? [{ uri: AUDIO_LEVEL_URI, id: AUDIO_LEVEL_ID, encrypt: false, parameters: {} }] : [],
        encodings: [{ ssrc }],
        rtcp: { cname, reducedSize: true },
      },
      appData: { source },
    });

    const info: OutboundTrack = {
      producerId,
      transportId: transport.transportId,
      kind,
      source,
      packetsSent: 0,
      ...(kind === 'audio' ? { audioLevel: options.audioLevel ?? 20 } : {}),
    };
    let seq = Math.floor(Math.random() * 30000);
    let timestamp = Math.floor(Math.random() * 1e6);
    const timer = setInterval(
      () => {
        const payload = kind === 'video' ? vp8KeyFrame() : Buffer.alloc(120, 0x11);
        const header = new RtpHeader({ payloadType, sequenceNumber: seq & 0xffff, timestamp: timestamp >>> 0, ssrc, marker: true });
        if (info.audioLevel !== undefined) {
          // Speech-like: syllables at the chosen level between pauses at a room-noise
          // level (the dominant-speaker algorithm measures speech above each
          // speaker's own noise floor, so a constant level never counts as talking).
          const level = info.audioLevel >= 127 ? 127 : info.packetsSent % 15 < 10 ? info.audioLevel : 110;
          header.extensions = [{ id: AUDIO_LEVEL_ID, payload: Buffer.from([(level < 127 ? 0x80 : 0) | (level & 0x7f)]) }];
        }
        seq++;
        timestamp += kind === 'video' ? 3000 : 960;
        try {
          track.writeRtp(new RtpPacket(header, payload));
          info.packetsSent++;
        } catch {
          /* the transport is closing */
        }
      },
      kind === 'video' ? 33 : 20,
    );
    this.#senders.set(producerId, { timer, info });
    return info;
  }

  /** Changes the audio level an audio producer reports (0 loudest … 127 silence). */
  setAudioLevel(producerId: string, level: number): void {
    const sender = this.#senders.get(producerId);
    if (!sender || sender.info.audioLevel === undefined) throw new Error(`no audio producer ${producerId}`);
    sender.info.audioLevel = Math.max(0, Math.min(127, Math.round(level)));
  }

  /** Stops writing RTP for a producer (the producer itself stays open on the server). */
  stopSending(producerId: string): void {
    const sender = this.#senders.get(producerId);
    if (sender) clearInterval(sender.timer);
    this.#senders.delete(producerId);
  }

  /**
   * Consumes a producer on a fresh recv transport: consume (created paused),
   * answer mediasoup's offer, connect, resume. Packets are counted from then on.
   */
  async consume(producerId: string): Promise<InboundTrack> {
    if (!this.joinData) throw new Error('join first');
    const transport = await this.request<TransportInfo>('createTransport', { direction: 'recv' });
    const consumer = await this.request<{
      consumerId: string;
      producerId: string;
      kind: Kind;
      rtpParameters: {
        mid: string;
        codecs: Array<{ mimeType: string; payloadType: number; clockRate: number; channels?: number; rtcpFeedback?: Array<{ type: string; parameter?: string }> }>;
        encodings: Array<{ ssrc: number }>;
        rtcp: { cname: string };
      };
      appData: { source: Source; userId: string };
    }>('consume', { transportId: transport.transportId, producerId, rtpCapabilities: weriftRtpCapabilities(this.joinData.routerRtpCapabilities) });
    const codec = consumer.rtpParameters.codecs[0]!;
    const feedback = (codec.rtcpFeedback ?? []).map((f) => (f.parameter ? `${f.type} ${f.parameter}` : f.type));
    const pc = this.#newPc({
      [consumer.kind]: [
        new RTCRtpCodecParameters({
          mimeType: codec.mimeType,
          clockRate: codec.clockRate,
          payloadType: codec.payloadType,
          ...(codec.channels ? { channels: codec.channels } : {}),
          rtcpFeedback: codec.rtcpFeedback ?? [],
        }),
      ],
    });
    const inbound: InboundTrack = {
      consumerId: consumer.consumerId,
      producerId,
      transportId: transport.transportId,
      kind: consumer.kind,
      source: consumer.appData.source,
      userId: consumer.appData.userId,
      packets: 0,
      bytes: 0,
    };
    this.#inbound.set(consumer.consumerId, inbound);
    pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        inbound.packets++;
        inbound.bytes += rtp.payload.length;
      });
    });
    const sdpName = `${codec.mimeType.split('/')[1]}/${codec.clockRate}${codec.channels ? `/${codec.channels}` : ''}`;
    await pc.setRemoteDescription({
      type: 'offer',
      sdp: mediasoupSdp({
        kind: consumer.kind,
        transport,
        mid: consumer.rtpParameters.mid,
        direction: 'sendonly',
        setup: 'actpass',
        codec: { payloadType: codec.payloadType, sdpName, feedback },
        ssrc: { ssrc: consumer.rtpParameters.encodings[0]!.ssrc, cname: consumer.rtpParameters.rtcp.cname },
      }),
    });
    await pc.setLocalDescription(await pc.createAnswer());
    const answer = pc.localDescription!.sdp;
    const setup = match(answer, /a=setup:(\S+)/)[1];
    await this.request('connectTransport', {
      transportId: transport.transportId,
      dtlsParameters: { role: setup === 'active' ? 'client' : 'server', fingerprints: [fingerprintOf(answer)] },
    });
    await this.request('resumeConsumer', { consumerId: consumer.consumerId });
    return inbound;
  }

  /** Live counters of one consumed track (packets and payload bytes received so far). */
  inboundStats(consumerId: string): InboundTrack {
    const inbound = this.#inbound.get(consumerId);
    if (!inbound) throw new Error(`no consumer ${consumerId}`);
    return { ...inbound };
  }

  inbound(): InboundTrack[] {
    return [...this.#inbound.values()].map((i) => ({ ...i }));
  }

  outbound(): OutboundTrack[] {
    return [...this.#senders.values()].map((s) => ({ ...s.info }));
  }

  /** Resolves once the consumer has received at least `packets` RTP packets more than `from` (default: from zero). */
  async waitForPackets(consumerId: string, packets: number, options: { from?: number; timeoutMs?: number } = {}): Promise<InboundTrack> {
    const target = (options.from ?? 0) + packets;
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    for (;;) {
      const stats = this.inboundStats(consumerId);
      if (stats.packets >= target) return stats;
      if (Date.now() > deadline) throw new Error(`consumer ${consumerId}: ${stats.packets} packets received, waited for ${target}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Resolves with the next `event` pushed by the server (optionally matching). */
  nextEvent<T = any>(event: string, matchFn: (payload: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket.off(event, listener);
        reject(new Error(`timed out waiting for ${event}`));
      }, timeoutMs);
      const listener = (payload: T) => {
        if (!matchFn(payload)) return;
        clearTimeout(timer);
        this.socket.off(event, listener);
        resolve(payload);
      };
      this.socket.on(event, listener);
    });
  }

  /** Stops media and closes every RTCPeerConnection (the socket stays). */
  async closeMedia(): Promise<void> {
    for (const { timer } of this.#senders.values()) clearInterval(timer);
    this.#senders.clear();
    this.#inbound.clear();
    const pcs = [...this.#pcs];
    this.#pcs.clear();
    await Promise.allSettled(pcs.map((pc) => pc.close()));
  }

  /** Closes media and the socket; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.closeMedia();
    this.socket.disconnect();
  }

  #newPc(codecs: Partial<Record<Kind, RTCRtpCodecParameters[]>>): RTCPeerConnection {
    const pc = new RTCPeerConnection({ codecs, ...PEER_OPTIONS, iceAdditionalHostAddresses: [...PEER_OPTIONS.iceAdditionalHostAddresses] });
    this.#pcs.add(pc);
    return pc;
  }
}
