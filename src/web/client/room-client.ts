/**
 * The media side of a session room, against the live-room contract of the
 * `/rooms` namespace: join, one send and one receive WebRTC transport
 * (mediasoup-client), producers for mic, webcam and screen, consumers for
 * everyone else's producers. Reconnects by itself: an ICE restart when a
 * transport drops, a full rejoin when that does not bring it back or when the
 * signalling connection was lost.
 */
import { Device, type types } from 'mediasoup-client';
import type { Socket } from 'socket.io-client';
import { connect, request, RequestError } from './signal.ts';

// The contract's shapes come from the server's own definitions (type-only: nothing of the server is bundled).
import type { PeerInfo, ProducerInfo, Source } from '../../rooms/messages.ts';
export type { PeerInfo, ProducerInfo, Source };

interface JoinResult {
  sessionId: string;
  peerId: string;
  userId: string;
  role: string;
  routerRtpCapabilities: types.RtpCapabilities;
  peers: PeerInfo[];
  /** STUN/TURN servers; a TURN entry carries credentials that expire, so every (re)join brings fresh ones. */
  iceServers?: RTCIceServer[];
  /** 'relay' when the server wants media through TURN only. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Rooms' additions: an existing peer was taken over; the user is isolated (defence lobby). */
  resumed?: boolean;
  isolated?: boolean;
}

interface TransportOptions {
  transportId: string;
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
}

interface ConsumeResult {
  consumerId: string;
  producerId: string;
  kind: 'audio' | 'video';
  rtpParameters: types.RtpParameters;
  type: string;
  producerPaused: boolean;
  appData: { source: Source; userId: string };
}

export interface RemoteMedia {
  consumerId: string;
  producerId: string;
  userId: string;
  source: Source;
  kind: 'audio' | 'video';
  track: MediaStreamTrack;
  paused: boolean;
}

export type RoomStatus = 'joining' | 'joined' | 'reconnecting' | 'closed';

export interface RoomListener {
  status(status: RoomStatus, detail?: { code?: string; message?: string; details?: Record<string, unknown> }): void;
  peers(peers: PeerInfo[]): void;
  remoteAdded(media: RemoteMedia): void;
  remoteRemoved(media: RemoteMedia): void;
  remotePaused(media: RemoteMedia): void;
  localChanged(source: Source, track: MediaStreamTrack | undefined, paused: boolean): void;
  activeSpeaker(userId: string | null): void;
  recording(state: { active: boolean; recordingId: string | undefined }): void;
  isolation(userId: string, isolated: boolean, reason: string): void;
}

/** Three simulcast layers for the camera; the server picks what each viewer gets. */
const WEBCAM_ENCODINGS: RTCRtpEncodingParameters[] = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
];

const ICE_RESTART_GRACE_MS = 2_000;
const ICE_RESTART_TIMEOUT_MS = 8_000;
/** How long a signalling probe waits before the network counts as out, and the pause between probes. */
const SIGNALLING_PROBE_MS = 1_500;
const SIGNALLING_PROBE_PAUSE_MS = 1_000;

export class RoomClient {
  readonly sessionId: string;
  #socket: Socket;
  /** The node we talk to when it is not the page's own server (the room's owner, from a `room_elsewhere` answer). */
  #nodeUrl: string | undefined;
  #listener: RoomListener;
  #device: Device | undefined;
  #send: types.Transport | undefined;
  #recv: types.Transport | undefined;
  #producers = new Map<Source, types.Producer>();
  #tracks = new Map<Source, MediaStreamTrack>();
  #paused = new Set<Source>();
  #consumers = new Map<string, { consumer: types.Consumer; media: RemoteMedia }>();
  #consumedProducers = new Set<string>();
  #peers = new Map<string, PeerInfo>();
  #self: { userId: string; peerId: string; role: string } | undefined;
  #joining: Promise<void> | undefined;
  #joinedOnce = false;
  #closed = false;
  #iceTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #generation = 0;

  constructor(sessionId: string, listener: RoomListener) {
    this.sessionId = sessionId;
    this.#listener = listener;
    this.#socket = connect('/rooms');
    this.#wireSocket();
  }

  /** The signalling connection (to the node that holds the room). */
  get socket(): Socket {
    return this.#socket;
  }

  /**
   * Moves signalling to another node (undefined: back to the page's server,
   * i.e. the load balancer). The old connection is dropped without a trace for
   * the person; the caller joins again on the new one.
   */
  #moveTo(nodeUrl: string | undefined): void {
    const old = this.#socket;
    old.off();
    old.disconnect();
    this.#nodeUrl = nodeUrl;
    this.#socket = connect('/rooms', nodeUrl);
    this.#wireSocket();
  }

  get self() {
    return this.#self;
  }

  /** This user's own connection quality, as the server measures it. */
  selfQuality: PeerInfo['quality'] = 'excellent';

  get peers(): PeerInfo[] {
    return [...this.#peers.values()];
  }

  /** ICE/DTLS state of the send and receive transports. */
  transportStates(): { send: string | undefined; recv: string | undefined } {
    return { send: this.#send?.connectionState, recv: this.#recv?.connectionState };
  }

  isPaused(source: Source): boolean {
    return this.#paused.has(source);
  }

  localTrack(source: Source): MediaStreamTrack | undefined {
    return this.#tracks.get(source);
  }

  /** The server ids of this page's producers, by source (diagnostics, tests). */
  producerIds(): Partial<Record<Source, string>> {
    return Object.fromEntries([...this.#producers].map(([source, p]) => [source, p.id]));
  }

  /** Joins the room; throws RequestError (too_early, not_a_participant, …) when refused. */
  async join(): Promise<void> {
    this.#listener.status('joining');
    await this.#join();
    this.#joinedOnce = true;
    this.#listener.status('joined');
  }

  #join(): Promise<void> {
    this.#joining ??= this.#doJoin().finally(() => {
      this.#joining = undefined;
    });
    return this.#joining;
  }

  async #doJoin(): Promise<void> {
    const generation = ++this.#generation;
    this.#teardownTransports();
    const joined = await this.#joinRequest(generation);
    this.#self = { userId: joined.userId, peerId: joined.peerId, role: joined.role };
    // The room as of the join; peerJoined/newProducer events that arrive while the
    // transports are being made update this map and are consumed below.
    this.#peers.clear();
    for (const peer of joined.peers) if (peer.userId !== joined.userId) this.#peers.set(peer.peerId, peer);
    this.#listener.peers(this.peers);
    const device = new Device();
    await device.load({ routerRtpCapabilities: joined.routerRtpCapabilities });
    this.#device = device;
    const ice = { iceServers: joined.iceServers ?? [], iceTransportPolicy: joined.iceTransportPolicy ?? 'all' };
    this.#send = await this.#createTransport(device, 'send', ice);
    this.#recv = await this.#createTransport(device, 'recv', ice);
    this.#listener.peers(this.peers);
    if (joined.isolated !== undefined) this.#listener.isolation(joined.userId, joined.isolated, 'join');
    // Our own media again (after a rejoin), then everyone else's.
    for (const [source, track] of this.#tracks) {
      if (track.readyState === 'live') await this.#produce(source, track);
    }
    if (generation !== this.#generation) return;
    await Promise.all(
      [...this.#peers.values()].flatMap((peer) => peer.producers.map((p) => this.#consume({ ...p, peerId: peer.peerId, userId: peer.userId }))),
    );
  }

  /**
   * The join request, following the deployment's answers: `room_elsewhere`
   * (the room lives on another node: reconnect there, src/rooms/README.md)
   * and `room_moving` (its node died; the room is placed anew within seconds).
   */
  async #joinRequest(generation: number): Promise<JoinResult> {
    for (let hops = 0; ; hops++) {
      if (!this.socket.connected) {
        try {
          await this.#connected();
        } catch (err) {
          // A node named in a room_elsewhere answer that does not answer (died since): back through the page's server.
          if (this.#nodeUrl === undefined || hops >= 40) throw err;
          this.#moveTo(undefined);
          continue;
        }
      }
      try {
        return await request<JoinResult>(this.socket, 'join', { sessionId: this.sessionId });
      } catch (err) {
        if (!(err instanceof RequestError) || generation !== this.#generation || this.#closed) throw err;
        const url = typeof err.details.url === 'string' ? err.details.url : undefined;
        if (err.code === 'room_elsewhere' && url && url !== this.#nodeUrl && hops < 5) {
          this.#moveTo(url);
          continue;
        }
        if ((err.code === 'room_moving' || err.code === 'no_node_available') && hops < 40) {
          const wait = typeof err.details.retryAfterMs === 'number' ? err.details.retryAfterMs : 1_000;
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        throw err;
      }
    }
  }

  /**
   * Resolves once signalling is up; rejects when the server refuses the
   * namespace for good, or (on another node than the page's) when that node
   * does not answer.
   */
  #connected(): Promise<void> {
    const onNode = this.#nodeUrl !== undefined;
    return new Promise<void>((resolve, reject) => {
      const onConnect = () => {
        this.socket.off('connect_error', onError);
        resolve();
      };
      const onError = (err: Error & { data?: { code?: string } }) => {
        if (this.socket.active && !onNode) return; // Socket.IO retries by itself
        this.socket.off('connect', onConnect);
        this.socket.off('connect_error', onError);
        reject(new RequestError(err.data?.code ?? 'rooms_unavailable', err.message));
      };
      this.socket.once('connect', onConnect);
      this.socket.on('connect_error', onError);
    });
  }

  async #createTransport(
    device: Device,
    direction: 'send' | 'recv',
    ice: { iceServers: RTCIceServer[]; iceTransportPolicy: RTCIceTransportPolicy },
  ): Promise<types.Transport> {
    const o = await request<TransportOptions>(this.socket, 'createTransport', { direction });
    const options = { id: o.transportId, iceParameters: o.iceParameters, iceCandidates: o.iceCandidates, dtlsParameters: o.dtlsParameters, ...ice };
    const transport = direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      request(this.socket, 'connectTransport', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        request<{ producerId: string }>(this.socket, 'produce', { transportId: transport.id, kind, rtpParameters, appData: { source: appData.source } }).then(
          ({ producerId }) => callback({ id: producerId }),
          errback,
        );
      });
    }
    transport.on('connectionstatechange', (state) => this.#onTransportState(transport, state));
    return transport;
  }

  /** ICE restart when a transport drops; a full rejoin when that does not bring it back. */
  #onTransportState(transport: types.Transport, state: types.ConnectionState): void {
    if (this.#closed || transport.closed) return;
    const timer = this.#iceTimers.get(transport.id);
    if (state === 'connected') {
      if (timer) clearTimeout(timer);
      this.#iceTimers.delete(transport.id);
      if (this.#joinedOnce && this.#allConnected()) this.#listener.status('joined');
      return;
    }
    if ((state === 'disconnected' || state === 'failed') && !timer) {
      this.#listener.status('reconnecting');
      this.#iceTimers.set(
        transport.id,
        setTimeout(() => void this.#restartIce(transport), state === 'failed' ? 0 : ICE_RESTART_GRACE_MS),
      );
    }
  }

  #allConnected(): boolean {
    return [this.#send, this.#recv].every((t) => !t || t.connectionState === 'connected' || t.connectionState === 'new');
  }

  async #restartIce(transport: types.Transport, force = false): Promise<void> {
    if (this.#closed || transport.closed || (!force && transport.connectionState === 'connected')) {
      this.#iceTimers.delete(transport.id);
      return;
    }
    // When the signalling does not answer either, the whole network is out (a frozen link, a
    // tunnel): new ICE credentials would only reach the server late, behind TCP's retransmission
    // backoff, and replace a path that revives by itself the moment the link returns (the browser
    // keeps checking it; the server keeps it for its ICE consent timeout). Wait for either.
    // A browser that sees its link go down closes the socket at once (the WebSocket fails
    // with the network change): then the socket's return is the signal.
    if (!force) {
      // With the socket down, its 'connect' decides (state recovered: check; otherwise rejoin).
      const answers = this.socket.connected && (await this.#signallingAnswers(transport));
      if (this.#closed || transport.closed || transport.connectionState === 'connected') {
        this.#iceTimers.delete(transport.id);
        return;
      }
      if (!answers) {
        this.#iceTimers.set(transport.id, setTimeout(() => void this.#restartIce(transport), SIGNALLING_PROBE_PAUSE_MS));
        return;
      }
    }
    try {
      if (!this.socket.connected) throw new Error('signalling is down');
      const { iceParameters } = await request<{ iceParameters: types.IceParameters }>(this.socket, 'restartIce', { transportId: transport.id });
      await transport.restartIce({ iceParameters });
      this.#iceTimers.set(
        transport.id,
        setTimeout(() => {
          this.#iceTimers.delete(transport.id);
          if (!transport.closed && transport.connectionState !== 'connected') void this.#rejoin('ice_restart_failed');
        }, ICE_RESTART_TIMEOUT_MS),
      );
    } catch {
      this.#iceTimers.delete(transport.id);
      void this.#rejoin('ice_restart_failed');
    }
  }

  /** True when the server answers a cheap request on this transport within SIGNALLING_PROBE_MS. */
  async #signallingAnswers(transport: types.Transport): Promise<boolean> {
    try {
      await request(this.socket, 'getTransportStats', { transportId: transport.id }, SIGNALLING_PROBE_MS);
      return true;
    } catch (err) {
      // An error answer is an answer: the server is reachable.
      return err instanceof RequestError && err.code !== 'timeout';
    }
  }

  async #checkAfterRecovery(): Promise<void> {
    try {
      for (const transport of [this.#send, this.#recv]) {
        if (!transport || transport.closed) continue;
        await request(this.socket, 'getTransportStats', { transportId: transport.id });
        if (transport.connectionState === 'failed' || transport.connectionState === 'disconnected') await this.#restartIce(transport);
      }
      if (this.#allConnected()) this.#listener.status('joined');
    } catch {
      void this.#rejoin('recovery_incomplete');
    }
  }

  /** Restarts ICE on both transports now (the same path a dropped transport takes). */
  async restartIce(): Promise<void> {
    for (const transport of [this.#send, this.#recv]) if (transport && !transport.closed) await this.#restartIce(transport, true);
  }

  /** Full rejoin: new transports, our media produced again, everyone consumed again. */
  async #rejoin(reason: string): Promise<void> {
    if (this.#closed) return;
    this.#listener.status('reconnecting', { code: reason });
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        await this.#join();
        this.#listener.status('joined');
        return;
      } catch (err) {
        if (err instanceof RequestError && ['too_early', 'not_a_participant', 'session_over', 'session_cancelled', 'session_not_found'].includes(err.code)) {
          this.#close({ code: err.code, message: err.message, details: err.details });
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(1_000 * 2 ** attempt, 10_000)));
      }
    }
  }

  /** The room's socket events, by concern (each group below); called for every new signalling socket. */
  #wireSocket(): void {
    const s = this.socket;
    this.#wireConnection(s);
    this.#wirePeers(s);
    this.#wireMedia(s);
    this.#wireRoom(s);
  }

  /** Signalling lost and found again: reconnect, recover or rejoin; an expired or missing token ends the room. */
  #wireConnection(s: Socket): void {
    s.on('connect', () => {
      if (!this.#joinedOnce || this.#closed) return;
      // Signalling came back. Restored by Socket.IO's connection-state recovery: the
      // server kept our peer and transports; check them. Otherwise join again (the
      // server hands our peer to this new socket; we rebuild transports and media).
      if (s.recovered) void this.#checkAfterRecovery();
      else void this.#rejoin('signalling_reconnected');
    });
    s.on('disconnect', (reason) => {
      if (this.#closed || reason === 'io client disconnect') return;
      this.#listener.status('reconnecting', { code: reason });
      // Lost the room's node: it may be dead or draining. Back through the page's server, which sends us to
      // wherever the room is (again) — the 'connect' of the new socket rejoins.
      if (this.#nodeUrl !== undefined) {
        setTimeout(() => !this.#closed && s === this.#socket && this.#moveTo(undefined), 500);
        return;
      }
      // A server that disconnects us on purpose (restart, drain) does not make Socket.IO retry: we do.
      if (reason === 'io server disconnect') setTimeout(() => !this.#closed && s.connect(), 500);
    });
    s.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      if (err.data?.code === 'token_missing' || err.data?.code === 'token_invalid') this.#close({ code: 'token_invalid', message: err.message });
    });
  }

  /** Who is in the room: arrivals, departures, their connection and its quality, who speaks. */
  #wirePeers(s: Socket): void {
    s.on('peerJoined', ({ peer }: { peer: PeerInfo }) => {
      if (peer.userId === this.#self?.userId) return;
      for (const [id, p] of this.#peers) if (p.userId === peer.userId) this.#peers.delete(id);
      this.#peers.set(peer.peerId, peer);
      this.#listener.peers(this.peers);
      for (const p of peer.producers ?? []) void this.#consume({ ...p, peerId: peer.peerId, userId: peer.userId });
    });
    s.on('peerLeft', ({ peerId, userId }: { peerId: string; userId: string }) => {
      this.#peers.delete(peerId);
      this.#listener.peers(this.peers);
      for (const { consumer, media } of [...this.#consumers.values()]) {
        if (media.userId === userId && ![...this.#peers.values()].some((p) => p.userId === userId)) this.#dropConsumer(consumer.id);
      }
    });
    s.on('peerConnection', ({ peerId, connected }: { peerId: string; userId: string; connected: boolean }) => {
      const peer = this.#peers.get(peerId);
      if (!peer) return;
      peer.connected = connected;
      this.#listener.peers(this.peers);
    });
    s.on('connectionQuality', ({ peerId, userId, level }: { peerId: string; userId: string; level: PeerInfo['quality'] }) => {
      const peer = this.#peers.get(peerId);
      if (peer) peer.quality = level;
      else if (userId === this.#self?.userId) this.selfQuality = level;
      else return;
      this.#listener.peers(this.peers);
    });
    s.on('activeSpeaker', ({ userId }: { userId: string | null }) => this.#listener.activeSpeaker(userId));
  }

  /** Everyone else's media: new producers are consumed, closed ones dropped, pauses shown. */
  #wireMedia(s: Socket): void {
    s.on('newProducer', (p: { peerId: string; userId: string; producerId: string; kind: 'audio' | 'video'; source: Source }) => {
      const peer = this.#peers.get(p.peerId);
      if (peer && !peer.producers.some((x) => x.producerId === p.producerId)) peer.producers.push({ producerId: p.producerId, kind: p.kind, source: p.source, paused: false });
      void this.#consume({ ...p, paused: false });
    });
    s.on('producerClosed', ({ producerId }: { producerId: string }) => {
      for (const peer of this.#peers.values()) peer.producers = peer.producers.filter((p) => p.producerId !== producerId);
      for (const { consumer } of [...this.#consumers.values()]) if (consumer.producerId === producerId) this.#dropConsumer(consumer.id);
      this.#consumedProducers.delete(producerId);
    });
    s.on('consumerClosed', ({ consumerId, producerId }: { consumerId: string; producerId: string }) => {
      this.#dropConsumer(consumerId);
      this.#consumedProducers.delete(producerId);
    });
    const setRemotePaused = (producerId: string, paused: boolean) => {
      for (const peer of this.#peers.values()) for (const p of peer.producers) if (p.producerId === producerId) p.paused = paused;
      for (const { media } of this.#consumers.values()) {
        if (media.producerId === producerId) {
          media.paused = paused;
          this.#listener.remotePaused(media);
        }
      }
    };
    s.on('producerPaused', ({ producerId }: { producerId: string }) => setRemotePaused(producerId, true));
    s.on('producerResumed', ({ producerId }: { producerId: string }) => setRemotePaused(producerId, false));
  }

  /** The room itself: closing or moving (rejoin), isolation (defence lobby), recording state. */
  #wireRoom(s: Socket): void {
    s.on('roomClosing', ({ reason }: { reason: string }) => {
      // A server going away or a crashed media worker: the room comes back (elsewhere) when we join again.
      if (reason === 'server_draining' || reason === 'worker_died' || reason === 'lease_lost') void this.#rejoin(reason);
      else this.#close({ code: 'room_closed', message: reason });
    });
    s.on('rejoinRequired', ({ reason }: { reason: string }) => void this.#rejoin(reason));
    s.on('isolationChanged', ({ userId, isolated, reason }: { userId: string; isolated: boolean; reason: string }) =>
      this.#listener.isolation(userId, isolated, reason),
    );
    s.on('recordingState', (state: unknown) =>
      this.#listener.recording({ active: isRecording(state), recordingId: (state as { recordingId?: string } | null)?.recordingId }),
    );
  }

  async #consume(p: { producerId: string; peerId: string; userId: string; kind: 'audio' | 'video'; source: Source; paused: boolean }): Promise<void> {
    if (this.#closed || !this.#recv || !this.#device || p.userId === this.#self?.userId) return;
    if (this.#consumedProducers.has(p.producerId)) return;
    this.#consumedProducers.add(p.producerId);
    const recv = this.#recv;
    try {
      const c = await request<ConsumeResult>(this.socket, 'consume', {
        transportId: recv.id,
        producerId: p.producerId,
        rtpCapabilities: this.#device.recvRtpCapabilities,
      });
      if (recv.closed) return;
      const consumer = await recv.consume({ id: c.consumerId, producerId: c.producerId, kind: c.kind, rtpParameters: c.rtpParameters, appData: { ...c.appData } });
      const media: RemoteMedia = {
        consumerId: consumer.id,
        producerId: c.producerId,
        userId: c.appData.userId ?? p.userId,
        source: c.appData.source ?? p.source,
        kind: c.kind,
        track: consumer.track,
        paused: c.producerPaused,
      };
      this.#consumers.set(consumer.id, { consumer, media });
      consumer.on('transportclose', () => this.#dropConsumer(consumer.id));
      consumer.on('trackended', () => this.#dropConsumer(consumer.id));
      this.#listener.remoteAdded(media);
      await request(this.socket, 'resumeConsumer', { consumerId: consumer.id });
    } catch (err) {
      this.#consumedProducers.delete(p.producerId);
      console.warn('consume failed', p, err);
    }
  }

  #dropConsumer(consumerId: string): void {
    const entry = this.#consumers.get(consumerId);
    if (!entry) return;
    this.#consumers.delete(consumerId);
    if (!entry.consumer.closed) entry.consumer.close();
    this.#listener.remoteRemoved(entry.media);
  }

  async #produce(source: Source, track: MediaStreamTrack): Promise<void> {
    const send = this.#send;
    if (!send || !this.#device?.canProduce(track.kind as 'audio' | 'video')) return;
    const producer = await send.produce({
      track,
      appData: { source },
      stopTracks: false,
      ...(source === 'webcam' ? { encodings: WEBCAM_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 } } : {}),
      ...(source === 'mic' ? { codecOptions: { opusStereo: false, opusDtx: true, opusFec: true } } : {}),
      ...(source === 'screen' ? { encodings: [{ maxBitrate: 1_500_000 }] } : {}),
    });
    this.#producers.set(source, producer);
    producer.on('transportclose', () => this.#producers.delete(source));
    if (this.#paused.has(source)) {
      producer.pause();
      await request(this.socket, 'pauseProducer', { producerId: producer.id }).catch(() => undefined);
    }
  }

  /** Starts (or switches the device of) the camera or microphone. */
  async startDevice(source: 'mic' | 'webcam', deviceId?: string): Promise<void> {
    const constraints: MediaStreamConstraints =
      source === 'mic'
        ? { audio: deviceId ? { deviceId: { exact: deviceId } } : true }
        : { video: { ...(deviceId ? { deviceId: { exact: deviceId } } : {}), width: { ideal: 1280 }, height: { ideal: 720 } } };
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    const track = (source === 'mic' ? stream.getAudioTracks() : stream.getVideoTracks())[0]!;
    await this.#useTrack(source, track);
  }

  async startScreen(): Promise<void> {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = stream.getVideoTracks()[0]!;
    track.addEventListener('ended', () => void this.stopSource('screen'));
    await this.#useTrack('screen', track);
  }

  async #useTrack(source: Source, track: MediaStreamTrack): Promise<void> {
    const old = this.#tracks.get(source);
    this.#tracks.set(source, track);
    const producer = this.#producers.get(source);
    try {
      if (producer && !producer.closed) await producer.replaceTrack({ track });
      else await this.#produce(source, track);
    } catch (err) {
      // Refused (e.g. someone else is already sharing a screen): back to how it was.
      track.stop();
      if (old && old.readyState === 'live') this.#tracks.set(source, old);
      else this.#tracks.delete(source);
      throw err;
    }
    if (old && old !== track) old.stop();
    this.#listener.localChanged(source, track, this.#paused.has(source));
  }

  /** Mute/unmute (or camera off/on): pauses the producer and tells the room. */
  async setPaused(source: Source, paused: boolean): Promise<void> {
    if (paused) this.#paused.add(source);
    else this.#paused.delete(source);
    const producer = this.#producers.get(source);
    const track = this.#tracks.get(source);
    if (track) track.enabled = !paused;
    if (producer && !producer.closed) {
      if (paused) producer.pause();
      else producer.resume();
      await request(this.socket, paused ? 'pauseProducer' : 'resumeProducer', { producerId: producer.id });
    }
    this.#listener.localChanged(source, track, paused);
  }

  /** Stops a source entirely (screen share ended). */
  async stopSource(source: Source): Promise<void> {
    const producer = this.#producers.get(source);
    this.#producers.delete(source);
    const track = this.#tracks.get(source);
    this.#tracks.delete(source);
    track?.stop();
    if (producer && !producer.closed) {
      producer.close();
      await request(this.socket, 'closeProducer', { producerId: producer.id }).catch(() => undefined);
    }
    this.#listener.localChanged(source, undefined, false);
  }

  /** Decoded video frames and received audio packets per consumer (for the status panel and tests). */
  async stats(): Promise<Array<{ userId: string; source: Source; kind: string; framesDecoded: number; packetsReceived: number; frameWidth: number }>> {
    const out = [];
    for (const { consumer, media } of this.#consumers.values()) {
      const report = await consumer.getStats();
      let framesDecoded = 0;
      let packetsReceived = 0;
      let frameWidth = 0;
      report.forEach((s: { type: string; framesDecoded?: number; packetsReceived?: number; frameWidth?: number }) => {
        if (s.type === 'inbound-rtp') {
          framesDecoded += s.framesDecoded ?? 0;
          packetsReceived += s.packetsReceived ?? 0;
          frameWidth = Math.max(frameWidth, s.frameWidth ?? 0);
        }
      });
      out.push({ userId: media.userId, source: media.source, kind: media.kind, framesDecoded, packetsReceived, frameWidth });
    }
    return out;
  }

  /**
   * The network path each transport's media takes, from its selected ICE
   * candidate pair: 'relay' on the local side means through the TURN server
   * (with the protocol the browser speaks to it).
   */
  async paths(): Promise<Partial<Record<'send' | 'recv', { local: string; remote: string; relayProtocol: string | undefined }>>> {
    const out: Partial<Record<'send' | 'recv', { local: string; remote: string; relayProtocol: string | undefined }>> = {};
    for (const [direction, transport] of [['send', this.#send], ['recv', this.#recv]] as const) {
      if (!transport || transport.closed) continue;
      type Stat = { id: string; type: string; selectedCandidatePairId?: string; localCandidateId?: string; remoteCandidateId?: string; candidateType?: string; relayProtocol?: string; nominated?: boolean; state?: string };
      const byId = new Map<string, Stat>();
      (await transport.getStats()).forEach((s: Stat) => byId.set(s.id, s));
      const pairId = [...byId.values()].find((s) => s.type === 'transport' && s.selectedCandidatePairId)?.selectedCandidatePairId;
      // Without a transport entry naming it, the nominated pair that succeeded is the one in use.
      const pair = pairId ? byId.get(pairId) : [...byId.values()].find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
      const local = pair?.localCandidateId ? byId.get(pair.localCandidateId) : undefined;
      const remote = pair?.remoteCandidateId ? byId.get(pair.remoteCandidateId) : undefined;
      if (local?.candidateType && remote?.candidateType) out[direction] = { local: local.candidateType, remote: remote.candidateType, relayProtocol: local.relayProtocol };
    }
    return out;
  }

  #teardownTransports(): void {
    for (const timer of this.#iceTimers.values()) clearTimeout(timer);
    this.#iceTimers.clear();
    for (const { consumer } of [...this.#consumers.values()]) this.#dropConsumer(consumer.id);
    this.#consumedProducers.clear();
    this.#producers.clear();
    this.#send?.close();
    this.#recv?.close();
    this.#send = undefined;
    this.#recv = undefined;
  }

  #close(detail: { code?: string; message?: string; details?: Record<string, unknown> }): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#teardownTransports();
    for (const track of this.#tracks.values()) track.stop();
    this.#tracks.clear();
    this.#socket.disconnect();
    this.#listener.status('closed', detail);
  }

  /** Leaves the room (tells the server, stops the camera, mic and screen). */
  async leave(): Promise<void> {
    if (this.#closed) return;
    if (this.socket.connected) await request(this.socket, 'leave', {}, 3_000).catch(() => undefined);
    this.#close({ code: 'left' });
  }
}

/** `recordingState` as the recording capability sends it: accepts `{ recording }`, `{ active }` or `{ state }`. */
export function isRecording(state: unknown): boolean {
  if (typeof state === 'boolean') return state;
  if (typeof state !== 'object' || state === null) return false;
  const s = state as { recording?: unknown; active?: unknown; state?: unknown; status?: unknown };
  if (typeof s.recording === 'boolean') return s.recording;
  if (typeof s.active === 'boolean') return s.active;
  const word = s.state ?? s.status;
  return word === 'recording' || word === 'started' || word === 'running';
}
