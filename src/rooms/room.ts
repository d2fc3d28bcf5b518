import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { FastifyBaseLogger } from 'fastify';
import type { Namespace, Socket } from 'socket.io';
import type { ConnectionQuality, DomainEvents, PresenceType } from '../events/index.ts';
import type { ParticipantRole, Session } from '../sessions/index.ts';
import type { Clock, Timer } from '../shared/clock.ts';
import { conflict, DomainError, forbidden, invalid, unprocessable, type CodeOf } from '../shared/errors.ts';
import { sessionChannel } from '../shared/socket.ts';
import { mediaCodecs } from './codecs.ts';
import type { RoomsConfig } from './config.ts';
import type { RoomDirectory } from './directory.ts';
import { MediaMonitor } from './media-monitor.ts';
import type { JoinResult, PeerInfo, RoomCloseReason, ServerEvents, Source } from './messages.ts';
export type { RoomCloseReason } from './messages.ts';
import { Peer, type MediaData, type PeerConsumer, type PeerProducer, type PeerTransport, type TransportData } from './peer.ts';
import { iceServersFor } from './turn.ts';
import type { WorkerPool } from './workers.ts';



export interface RoomProducer {
  producer: types.Producer;
  userId: string;
  source: Source;
}

/**
 * Events of `room.observer` for other capabilities (recording, attendance,
 * progression): 'newproducer' ({ producer, userId, source }), 'producerclose'
 * ({ producerId, userId, source }), 'close' (reason), 'peerjoined' ({ userId,
 * role }), 'peerleft' ({ userId }), and (addition) 'rebuilt' ({ router, reason })
 * after the room moved to a new router because its worker died: everything
 * made on the old router is gone.
 */
export interface RoomObserverEvents {
  newproducer: [RoomProducer];
  producerclose: [{ producerId: string; userId: string; source: Source }];
  close: [string];
  peerjoined: [{ userId: string; role: ParticipantRole }];
  peerleft: [{ userId: string }];
  rebuilt: [{ router: types.Router; reason: string }];
}

export interface RoomDeps {
  session: Session;
  pool: WorkerPool;
  directory: RoomDirectory;
  config: RoomsConfig;
  events: DomainEvents;
  clock: Clock;
  logger: FastifyBaseLogger;
  nsp: Namespace;
  /** Called once the room is closed, so the service forgets it. */
  onClosed: (room: Room) => void;
}

/** Runs a mediasoup call whose failure means the client sent something unusable. */
async function clientMedia<T>(code: CodeOf<'invalid'>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw invalid(code, (err as Error).message);
  }
}

/**
 * The live room of one session: its router (on the least loaded worker), the
 * peers, their transports, producers and consumers, the active-speaker
 * observer and the timers that close it. Created by `Room.create` (which does
 * every await); closed once, with a reason, by `close`.
 */
export class Room {
  readonly sessionId: string;
  readonly observer = new EventEmitter<RoomObserverEvents>();
  #session: Session;
  #router: types.Router;
  #webRtcServer: types.WebRtcServer;
  #speakerObserver: types.ActiveSpeakerObserver;
  readonly #deps: RoomDeps;
  readonly #peers = new Map<string, Peer>(); // by userId
  readonly #isolated = new Set<string>();
  #pendingScreens = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  #rebuilding: Promise<void> | undefined;
  #emptyTimer: Timer | undefined;
  #endTimer: Timer | undefined;
  #activeSpeaker: string | null = null;
  /** Presence and connection quality from each peer's media (media-monitor.ts). */
  readonly #monitor: MediaMonitor;

  private constructor(deps: RoomDeps, router: types.Router, webRtcServer: types.WebRtcServer, speakerObserver: types.ActiveSpeakerObserver) {
    this.#deps = deps;
    this.sessionId = deps.session.id;
    this.#session = deps.session;
    this.#router = router;
    this.#webRtcServer = webRtcServer;
    this.#speakerObserver = speakerObserver;
    this.#attachRouter();
    this.#monitor = new MediaMonitor({
      peers: () => this.#peers.values(),
      clock: deps.clock,
      log: deps.logger,
      onMedia: (peer, type, at) => {
        if (!peer.removed) this.#presence(peer, type, undefined, at);
      },
      onQuality: (peer, level, at) => {
        if (this.#closed || peer.removed) return;
        this.notify('connectionQuality', { peerId: peer.id, userId: peer.userId, level });
        this.#deps.events.emit('room.quality', { sessionId: this.sessionId, userId: peer.userId, level, at });
      },
    });
  }

  static async create(deps: RoomDeps): Promise<Room> {
    await deps.directory.claim(deps.session.id);
    let router: types.Router | undefined;
    try {
      const placed = await deps.pool.createRouter(mediaCodecs, { sessionId: deps.session.id });
      router = placed.router;
      const speakerObserver = await router.createActiveSpeakerObserver({ interval: 300 });
      const room = new Room(deps, router, placed.webRtcServer, speakerObserver);
      room.#armEmptyTimer(deps.config.emptyTimeoutSeconds, 'empty_timeout');
      room.#armEndTimer();
      room.#monitor.start();
      deps.logger.info({ sessionId: room.sessionId }, 'room created');
      return room;
    } catch (err) {
      router?.close();
      await deps.directory.release(deps.session.id).catch((e: unknown) => deps.logger.error({ err: e }, 'releasing the room directory entry failed'));
      throw err;
    }
  }

  get router(): types.Router {
    return this.#router;
  }

  /** True from the moment closing starts. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Resolves when a close under way has finished (immediately when the room is open). */
  async whenClosed(): Promise<void> {
    await this.#closing;
  }

  get session(): Session {
    return this.#session;
  }

  peers(): Array<{ userId: string; role: ParticipantRole; peerId: string; name: string; connected: boolean }> {
    return [...this.#peers.values()].map((p) => ({ userId: p.userId, role: p.role, peerId: p.id, name: p.name, connected: p.connected }));
  }

  peerOfUser(userId: string): Peer | undefined {
    return this.#peers.get(userId);
  }

  /** Peers, producers and consumers in this room (node load and metrics). */
  counts(): { peers: number; producers: number; consumers: number } {
    let producers = 0;
    let consumers = 0;
    for (const peer of this.#peers.values()) {
      producers += peer.producers.size;
      consumers += peer.consumers.size;
    }
    return { peers: this.#peers.size, producers, consumers };
  }

  listProducers(): RoomProducer[] {
    const out: RoomProducer[] = [];
    for (const peer of this.#peers.values()) {
      for (const producer of peer.producers.values()) out.push({ producer, userId: peer.userId, source: producer.appData.source });
    }
    return out;
  }

  isIsolated(userId: string): boolean {
    return this.#isolated.has(userId);
  }

  /** Broadcasts to every socket in the room. */
  notify<E extends keyof ServerEvents>(event: E, payload: ServerEvents[E]): void;
  notify(event: string, payload: unknown): void;
  notify(event: string, payload: unknown): void {
    this.#deps.nsp.to(sessionChannel(this.sessionId)).emit(event, payload);
  }

  /** The session changed (rescheduled): re-arm the end-of-session timer. */
  updateSession(session: Session): void {
    this.#session = session;
    this.#armEndTimer();
  }

  // ------------------------------------------------------------------ peers

  /**
   * Adds the user's peer, or hands their existing peer to this socket (same
   * peerId: reconnection within the grace, a second tab, or a rejoin after
   * `rejoinRequired`). A rejoin closes the peer's old transports: the client
   * builds new ones from the returned capabilities.
   */
  async join(user: { userId: string; role: ParticipantRole; name: string }, socket: Socket): Promise<JoinResult> {
    await this.#ready();
    this.#assertOpen();
    let peer = this.#peers.get(user.userId);
    let resumed = false;
    if (peer) {
      resumed = true;
      const wasConnected = peer.connected;
      const previous = peer.socket;
      peer.clearGrace();
      if (previous && previous !== socket) {
        previous.emit('roomClosing', { reason: 'joined_elsewhere' } satisfies ServerEvents['roomClosing']);
        void previous.leave(sessionChannel(this.sessionId));
        delete previous.data.room;
      }
      peer.closeMedia();
      // Its old transports are gone: its media says nothing until new producers run.
      this.#monitor.reset(peer);
      peer.socket = socket;
      if (!wasConnected) {
        this.#presence(peer, 'reconnect');
        this.#broadcast(peer, 'peerConnection', { peerId: peer.id, userId: peer.userId, connected: true });
      }
    } else {
      peer = new Peer({ id: randomUUID(), userId: user.userId, name: user.name, role: user.role, socket });
      this.#peers.set(user.userId, peer);
      this.#clearEmptyTimer();
      this.#broadcast(peer, 'peerJoined', { peer: this.#peerInfo(peer, peer) });
      this.#presence(peer, 'join');
      this.observer.emit('peerjoined', { userId: peer.userId, role: peer.role });
    }
    socket.data.room = { sessionId: this.sessionId, peerId: peer.id };
    const self = peer;
    const result: JoinResult = {
      sessionId: this.sessionId,
      peerId: peer.id,
      userId: peer.userId,
      role: peer.role,
      routerRtpCapabilities: this.#router.rtpCapabilities,
      peers: [...this.#peers.values()].filter((p) => p !== self).map((p) => this.#peerInfo(p, self)),
      iceServers: iceServersFor(this.#deps.config, peer.userId, this.#deps.clock.now()),
      iceTransportPolicy: this.#deps.config.iceTransportPolicy,
      resumed,
      isolated: this.#isolated.has(peer.userId),
    };
    await socket.join(sessionChannel(this.sessionId));
    return result;
  }

  /** The peer bound to this socket, if the socket joined this room and was not taken over. */
  peerOfSocket(socket: Socket): Peer | undefined {
    const binding = socket.data.room as { sessionId: string; peerId: string } | undefined;
    if (!binding || binding.sessionId !== this.sessionId) return undefined;
    for (const peer of this.#peers.values()) if (peer.id === binding.peerId && peer.socket === socket) return peer;
    return undefined;
  }

  /** The peer's socket dropped: keep its place for the reconnection grace, then remove it. */
  socketGone(socket: Socket): void {
    const peer = this.peerOfSocket(socket);
    if (!peer || this.#closed) return;
    peer.socket = undefined;
    this.#presence(peer, 'disconnect');
    this.#broadcast(peer, 'peerConnection', { peerId: peer.id, userId: peer.userId, connected: false });
    const grace = this.#deps.config.reconnectGraceSeconds;
    if (grace <= 0) return this.removePeer(peer, 'leave');
    peer.graceTimer = this.#deps.clock.setTimer(() => this.removePeer(peer, 'leave'), grace * 1000);
  }

  /** The same socket came back through Socket.IO's connection-state recovery: nothing was lost. */
  socketRecovered(socket: Socket): boolean {
    const binding = socket.data.room as { sessionId: string; peerId: string } | undefined;
    if (!binding || binding.sessionId !== this.sessionId || this.#closed) return false;
    const peer = [...this.#peers.values()].find((p) => p.id === binding.peerId);
    if (!peer || (peer.socket && peer.socket !== socket)) return false;
    const wasConnected = peer.connected;
    peer.clearGrace();
    peer.socket = socket;
    if (!wasConnected) {
      this.#presence(peer, 'reconnect');
      this.#broadcast(peer, 'peerConnection', { peerId: peer.id, userId: peer.userId, connected: true });
    }
    return true;
  }

  /** Removes a peer for good (leave, grace over, room closing); others get `peerLeft`. */
  removePeer(peer: Peer, presence: PresenceType = 'leave'): void {
    if (peer.removed) return;
    peer.removed = true;
    peer.clearGrace();
    peer.closeMedia();
    this.#peers.delete(peer.userId);
    const socket = peer.socket;
    if (socket) {
      void socket.leave(sessionChannel(this.sessionId));
      delete socket.data.room;
    }
    peer.socket = undefined;
    if (!this.#closed) this.#broadcast(peer, 'peerLeft', { peerId: peer.id, userId: peer.userId });
    this.#presence(peer, presence);
    this.observer.emit('peerleft', { userId: peer.userId });
    if (!this.#closed && this.#peers.size === 0) this.#armEmptyTimer(this.#deps.config.departureGraceSeconds, 'departure_timeout');
  }

  // ------------------------------------------------------------ isolation

  /**
   * Isolated: nobody consumes the user's media and the user consumes nobody's
   * (defence lobby, jury deliberation). Works before the user joins too.
   */
  setIsolated(userId: string, isolated: boolean, reason: string): void {
    this.#assertOpen();
    if (isolated === this.#isolated.has(userId)) return;
    if (isolated) this.#isolated.add(userId);
    else this.#isolated.delete(userId);
    const subject = this.#peers.get(userId);
    if (isolated) {
      for (const peer of this.#peers.values()) {
        for (const consumer of [...peer.consumers.values()]) {
          const crosses = peer.userId === userId ? consumer.appData.userId !== userId : consumer.appData.userId === userId;
          if (crosses) consumer.close();
        }
      }
    }
    this.notify('isolationChanged', { userId, isolated, reason });
    if (!isolated) {
      // Announce again what became visible, so clients consume it.
      for (const peer of this.#peers.values()) {
        for (const other of this.#peers.values()) {
          if (other === peer || (peer.userId !== userId && other.userId !== userId) || !this.#visible(other.userId, peer.userId)) continue;
          for (const producer of other.producers.values()) peer.notify('newProducer', this.#producerAnnouncement(other, producer));
        }
      }
    }
    this.#deps.logger.info({ sessionId: this.sessionId, userId, isolated, reason, present: subject !== undefined }, 'isolation changed');
  }

  // ------------------------------------------------------------ transports

  async createTransport(peer: Peer, direction: 'send' | 'recv') {
    await this.#ready();
    this.#assertOpen();
    if (direction === 'send' && peer.role === 'observer') throw forbidden('observer_cannot_produce', 'Observers cannot send media');
    if (peer.transports.size >= this.#deps.config.maxTransportsPerPeer) {
      throw conflict('too_many_transports', `At most ${this.#deps.config.maxTransportsPerPeer} transports per peer`);
    }
    const transport = await this.#router.createWebRtcTransport<TransportData>({
      webRtcServer: this.#webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
      appData: { direction, peerId: peer.id, connected: false },
    });
    if (peer.removed || this.#closed) {
      transport.close();
      throw conflict('not_joined', 'You left the room');
    }
    peer.transports.set(transport.id, transport);
    transport.observer.once('close', () => peer.transports.delete(transport.id));
    transport.on('dtlsstatechange', (state) => {
      if (state === 'connected') this.#presence(peer, 'transport_connected');
      if (state === 'failed' || state === 'closed') {
        this.#presence(peer, 'transport_failed');
        transport.close();
      }
    });
    return {
      transportId: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  async connectTransport(peer: Peer, transportId: string, dtlsParameters: types.DtlsParameters): Promise<Record<string, never>> {
    const transport = peer.transport(transportId);
    if (transport.appData.connected) throw conflict('already_connected', 'This transport is already connected');
    transport.appData.connected = true;
    try {
      await clientMedia('invalid_dtls_parameters', () => transport.connect({ dtlsParameters }));
    } catch (err) {
      transport.appData.connected = false;
      throw err;
    }
    return {};
  }

  async restartIce(peer: Peer, transportId: string) {
    const transport = peer.transport(transportId);
    return { iceParameters: await transport.restartIce() };
  }

  async transportStats(peer: Peer, transportId: string) {
    return peer.transport(transportId).getStats();
  }

  closeTransport(peer: Peer, transportId: string): Record<string, never> {
    peer.transport(transportId).close();
    return {};
  }

  // ------------------------------------------------------------- producers

  async produce(peer: Peer, req: { transportId: string; kind: 'audio' | 'video'; rtpParameters: types.RtpParameters; source: Source }) {
    if (peer.role === 'observer') throw forbidden('observer_cannot_produce', 'Observers cannot send media');
    const transport = peer.transport(req.transportId);
    if (transport.appData.direction !== 'send') throw invalid('wrong_transport_direction', 'Produce on a send transport');
    const expected = req.source === 'mic' ? 'audio' : 'video';
    if (req.kind !== expected) throw invalid('source_kind_mismatch', `A ${req.source} producer must be ${expected}`);
    for (const p of peer.producers.values()) {
      if (p.appData.source === req.source) throw conflict('already_producing', `You already send ${req.source}`);
    }
    const screen = req.source === 'screen';
    if (screen) {
      const screens = this.listProducers().filter((p) => p.source === 'screen').length + this.#pendingScreens;
      if (screens >= this.#deps.config.maxScreenShares) throw conflict('screen_share_busy', 'Someone is already sharing a screen');
      this.#pendingScreens++;
    }
    let producer: PeerProducer;
    try {
      producer = await clientMedia('invalid_rtp_parameters', () =>
        transport.produce<MediaData>({ kind: req.kind, rtpParameters: req.rtpParameters, appData: { source: req.source, userId: peer.userId, peerId: peer.id } }),
      );
    } finally {
      if (screen) this.#pendingScreens--;
    }
    if (producer.closed) throw conflict('not_joined', 'The transport closed');
    peer.producers.set(producer.id, producer);
    producer.observer.once('close', () => this.#producerClosed(peer, producer));
    // Attendance counts media time only while a producer runs: mediasoup's
    // observer fires on real transitions only (a repeated pauseProducer, or
    // two racing ones, make one event).
    producer.observer.on('pause', () => this.#presence(peer, 'producer_paused', req.source));
    producer.observer.on('resume', () => this.#presence(peer, 'producer_resumed', req.source));
    if (req.kind === 'audio') {
      this.#speakerObserver.addProducer({ producerId: producer.id }).catch((err: unknown) => this.#deps.logger.warn({ err }, 'active speaker observer refused a producer'));
    }
    for (const other of this.#peers.values()) {
      if (other !== peer && this.#visible(peer.userId, other.userId)) other.notify('newProducer', this.#producerAnnouncement(peer, producer));
    }
    this.#presence(peer, 'producer_started', req.source);
    this.observer.emit('newproducer', { producer, userId: peer.userId, source: req.source });
    return { producerId: producer.id };
  }

  async pauseProducer(peer: Peer, producerId: string): Promise<Record<string, never>> {
    const producer = peer.producer(producerId);
    await producer.pause();
    this.#broadcastVisible(peer, 'producerPaused', { producerId, peerId: peer.id });
    return {};
  }

  async resumeProducer(peer: Peer, producerId: string): Promise<Record<string, never>> {
    const producer = peer.producer(producerId);
    await producer.resume();
    this.#broadcastVisible(peer, 'producerResumed', { producerId, peerId: peer.id });
    return {};
  }

  closeProducer(peer: Peer, producerId: string): Record<string, never> {
    peer.producer(producerId).close();
    return {};
  }

  // ------------------------------------------------------------- consumers

  async consume(peer: Peer, req: { transportId: string; producerId: string; rtpCapabilities: types.RtpCapabilities }) {
    const transport = peer.transport(req.transportId);
    if (transport.appData.direction !== 'recv') throw invalid('wrong_transport_direction', 'Consume on a recv transport');
    const owner = [...this.#peers.values()].find((p) => p.producers.has(req.producerId));
    const producer = owner?.producers.get(req.producerId);
    if (!owner || !producer) throw new DomainError('not_found', 'producer_not_found', 'No such producer');
    if (owner === peer) throw invalid('own_producer', 'You cannot consume your own producer');
    if (!this.#visible(owner.userId, peer.userId)) throw forbidden('isolated', 'This media is not available to you now');
    const canConsume = await clientMedia('invalid_rtp_capabilities', async () =>
      this.#router.canConsume({ producerId: producer.id, rtpCapabilities: req.rtpCapabilities }),
    );
    if (!canConsume) throw unprocessable('cannot_consume', 'Your RTP capabilities cannot receive this producer');
    const consumer: PeerConsumer = await clientMedia('invalid_rtp_capabilities', () =>
      transport.consume<MediaData>({
        producerId: producer.id,
        rtpCapabilities: req.rtpCapabilities,
        paused: true,
        appData: { source: producer.appData.source, userId: owner.userId, peerId: owner.id },
      }),
    );
    peer.consumers.set(consumer.id, consumer);
    // However it closes (producer gone, isolation, transport or router closed), the client is told.
    consumer.observer.once('close', () => {
      peer.consumers.delete(consumer.id);
      if (!this.#closed) peer.notify('consumerClosed', { consumerId: consumer.id, producerId: producer.id });
    });
    return {
      consumerId: consumer.id,
      producerId: producer.id,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters,
      type: consumer.type,
      producerPaused: consumer.producerPaused,
      appData: { source: producer.appData.source, userId: owner.userId },
    };
  }

  async resumeConsumer(peer: Peer, consumerId: string): Promise<Record<string, never>> {
    const consumer = peer.consumer(consumerId);
    await consumer.resume();
    if (consumer.kind === 'video') await consumer.requestKeyFrame().catch(() => undefined /* the producer may be gone meanwhile */);
    return {};
  }

  async pauseConsumer(peer: Peer, consumerId: string): Promise<Record<string, never>> {
    await peer.consumer(consumerId).pause();
    return {};
  }

  async setPreferredLayers(peer: Peer, consumerId: string, spatialLayer: number, temporalLayer: number | undefined): Promise<Record<string, never>> {
    const consumer = peer.consumer(consumerId);
    if (consumer.type !== 'simulcast' && consumer.type !== 'svc') throw unprocessable('not_layered', 'This consumer has no layers');
    await consumer.setPreferredLayers({ spatialLayer, ...(temporalLayer !== undefined ? { temporalLayer } : {}) });
    return {};
  }

  // ------------------------------------------------------------ lifecycle

  /** Closes the room once; later calls return the same promise. */
  close(reason: RoomCloseReason): Promise<void> {
    this.#closing ??= this.#close(reason);
    return this.#closing;
  }

  async #close(reason: RoomCloseReason): Promise<void> {
    const { logger, events, directory } = this.#deps;
    logger.info({ sessionId: this.sessionId, reason }, 'room closing');
    this.#clearEmptyTimer();
    this.#monitor.stop();
    this.#endTimer?.cancel();
    // Told socket by socket: a broadcast through the adapter may land after the sockets left the channel.
    for (const peer of this.#peers.values()) peer.notify('roomClosing', { reason });
    this.#closed = true;
    // A planned restart is not a departure: everyone's visit is suspended (a
    // network gap for attendance) and resumes when they rejoin the new process.
    const presence: PresenceType = reason === 'server_draining' ? 'disconnect' : 'leave';
    for (const peer of [...this.#peers.values()]) {
      try {
        // Their media ends with the room: it no longer vouches for them.
        if (presence === 'disconnect') this.#monitor.reset(peer);
        this.removePeer(peer, presence);
      } catch (err) {
        logger.error({ err, userId: peer.userId }, 'removing a peer at room close failed');
      }
    }
    try {
      this.#router.close();
    } catch (err) {
      logger.error({ err }, 'closing the router failed');
    }
    try {
      await directory.release(this.sessionId);
    } catch (err) {
      logger.error({ err }, 'releasing the room directory entry failed');
    }
    this.#deps.onClosed(this);
    // Heard once everything is released: a listener may open the session's room again.
    try {
      this.observer.emit('close', reason);
    } catch (err) {
      logger.error({ err }, 'a room close observer failed');
    }
    events.emit('room.closed', { sessionId: this.sessionId, reason });
  }

  #attachRouter(): void {
    const router = this.#router;
    router.on('workerclose', () => {
      if (this.#closed || router !== this.#router) return;
      this.#rebuilding = this.#rebuild('worker_died');
    });
    this.#speakerObserver.on('dominantspeaker', ({ producer }) => {
      const userId = (producer.appData as Partial<MediaData>).userId ?? null;
      this.#setActiveSpeaker(userId);
    });
  }

  async #rebuild(reason: 'worker_died'): Promise<void> {
    const { logger, pool } = this.#deps;
    logger.warn({ sessionId: this.sessionId, reason }, 'room lost its router; rebuilding it');
    // Producers/consumers/transports were closed with the router (their close
    // handlers already told the peers); forget anything left.
    for (const peer of this.#peers.values()) peer.closeMedia();
    this.#setActiveSpeaker(null);
    try {
      const placed = await pool.createRouter(mediaCodecs, { sessionId: this.sessionId });
      if (this.#closed) {
        placed.router.close();
        return;
      }
      const speakerObserver = await placed.router.createActiveSpeakerObserver({ interval: 300 });
      this.#router = placed.router;
      this.#webRtcServer = placed.webRtcServer;
      this.#speakerObserver = speakerObserver;
      this.#attachRouter();
    } catch (err) {
      logger.error({ err, sessionId: this.sessionId }, 'rebuilding the room failed; closing it');
      this.#rebuilding = undefined;
      void this.close(reason);
      return;
    }
    this.#rebuilding = undefined;
    this.observer.emit('rebuilt', { router: this.#router, reason });
    this.notify('rejoinRequired', { reason });
  }

  async #ready(): Promise<void> {
    while (this.#rebuilding) await this.#rebuilding;
  }

  #assertOpen(): void {
    if (this.#closed) throw conflict('room_closed', 'This room is closed');
  }

  #producerClosed(peer: Peer, producer: PeerProducer): void {
    peer.producers.delete(producer.id);
    const source = producer.appData.source;
    if (this.#activeSpeaker === peer.userId && source === 'mic') this.#setActiveSpeaker(null);
    if (!this.#closed) this.#broadcastVisible(peer, 'producerClosed', { producerId: producer.id, peerId: peer.id });
    this.#presence(peer, 'producer_stopped', source);
    this.observer.emit('producerclose', { producerId: producer.id, userId: peer.userId, source });
  }

  #setActiveSpeaker(userId: string | null): void {
    if (userId === this.#activeSpeaker) return;
    this.#activeSpeaker = userId;
    if (!this.#closed) this.notify('activeSpeaker', { userId });
  }

  /** May `viewer` see `owner`'s media? Not when either is isolated. */
  #visible(ownerUserId: string, viewerUserId: string): boolean {
    return ownerUserId === viewerUserId || (!this.#isolated.has(ownerUserId) && !this.#isolated.has(viewerUserId));
  }

  #producerAnnouncement(owner: Peer, producer: PeerProducer): ServerEvents['newProducer'] {
    return { peerId: owner.id, userId: owner.userId, producerId: producer.id, kind: producer.kind, source: producer.appData.source };
  }

  #peerInfo(peer: Peer, viewer: Peer): PeerInfo {
    const visible = this.#visible(peer.userId, viewer.userId);
    return {
      peerId: peer.id,
      userId: peer.userId,
      name: peer.name,
      role: peer.role,
      producers: visible
        ? [...peer.producers.values()].map((p) => ({ producerId: p.id, kind: p.kind, source: p.appData.source, paused: p.paused }))
        : [],
      connected: peer.connected,
      quality: this.#monitor.qualityOf(peer),
    };
  }

  /** To every other peer. */
  #broadcast<E extends keyof ServerEvents>(from: Peer, event: E, payload: ServerEvents[E]): void {
    for (const peer of this.#peers.values()) if (peer !== from) peer.notify(event, payload);
  }

  /** To every other peer allowed to see `from`'s media. */
  #broadcastVisible<E extends keyof ServerEvents>(from: Peer, event: E, payload: ServerEvents[E]): void {
    for (const peer of this.#peers.values()) if (peer !== from && this.#visible(from.userId, peer.userId)) peer.notify(event, payload);
  }

  #presence(peer: Peer, type: PresenceType, source?: Source, at: Date = this.#deps.clock.now()): void {
    this.#deps.events.emit('room.presence', {
      sessionId: this.sessionId,
      userId: peer.userId,
      type,
      ...(source ? { source } : {}),
      at,
    });
  }

  #armEmptyTimer(seconds: number, reason: RoomCloseReason): void {
    this.#clearEmptyTimer();
    this.#emptyTimer = this.#deps.clock.setTimer(() => {
      if (this.#peers.size === 0) void this.close(reason);
    }, seconds * 1000);
  }

  #clearEmptyTimer(): void {
    this.#emptyTimer?.cancel();
    this.#emptyTimer = undefined;
  }

  #armEndTimer(): void {
    this.#endTimer?.cancel();
    const closesAt = this.#session.endsAt.getTime() + this.#deps.config.graceAfterEndMinutes * 60_000;
    const delay = closesAt - this.#deps.clock.now().getTime();
    // Re-checked when it fires: the session may have been rescheduled (sessionChanged re-arms it too).
    this.#endTimer = this.#deps.clock.setTimer(() => {
      if (this.#deps.clock.now().getTime() >= closesAt) void this.close('session_ended');
      else this.#armEndTimer();
    }, delay);
  }
}
