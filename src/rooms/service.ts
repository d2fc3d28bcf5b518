import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { Namespace, Socket } from 'socket.io';
import type { Db } from '../db/index.ts';
import type { DomainEvents } from '../events/index.ts';
import { authorizeRoomEntry, findSession, type Session } from '../sessions/index.ts';
import type { Clock } from '../shared/clock.ts';
import { conflict, DomainError } from '../shared/errors.ts';
import type { SocketIdentity } from '../shared/socket.ts';
import type { RoomsConfig } from './config.ts';
import type { RoomDirectory } from './directory.ts';
import type { RoomCommands } from './commands.ts';
import type { RoomPlacement } from './placement.ts';
import type { NodeEntry, NodeLoad, NodeRegistry } from './registry.ts';
import type { JoinResult } from './messages.ts';
import type { Peer } from './peer.ts';
import { Room, type RoomCloseReason } from './room.ts';
import { sessionChannel } from '../shared/socket.ts';
import type { WorkerPool } from './workers.ts';

export interface RoomsServiceDeps {
  db: Db;
  pool: WorkerPool;
  directory: RoomDirectory;
  registry: NodeRegistry;
  placement: RoomPlacement;
  config: RoomsConfig;
  events: DomainEvents;
  clock: Clock;
  logger: FastifyBaseLogger;
  nsp: Namespace;
}

/**
 * The live rooms of this process (`app.rooms`). Rooms are created at the first
 * authorized join, one per session (creation is serialised per session id so
 * peers arriving together share one room), and forgotten when they close.
 *
 * `observer` emits 'newroom' (room) when a room is created (addition to the
 * contract, so other capabilities can attach to rooms as they appear).
 */
export class RoomsService {
  readonly observer = new EventEmitter<{ newroom: [Room] }>();
  readonly #deps: RoomsServiceDeps;
  readonly #rooms = new Map<string, Room>();
  readonly #creating = new Map<string, Promise<Room>>();
  #draining = false;
  /** Commands on a live room from any node (set by the plugin once the service exists). */
  commands!: RoomCommands;

  constructor(deps: RoomsServiceDeps) {
    this.#deps = deps;
  }

  get pool(): WorkerPool {
    return this.#deps.pool;
  }

  get directory(): RoomDirectory {
    return this.#deps.directory;
  }

  get registry(): NodeRegistry {
    return this.#deps.registry;
  }

  get placement(): RoomPlacement {
    return this.#deps.placement;
  }

  /** This node's load, as published in the node registry. */
  async load(): Promise<NodeLoad> {
    let peers = 0;
    let consumers = 0;
    for (const room of this.#rooms.values()) {
      const counts = room.counts();
      peers += counts.peers;
      consumers += counts.consumers;
    }
    return { rooms: this.#rooms.size + this.#creating.size, peers, consumers, workerCpu: await this.#deps.pool.sampleCpu() };
  }

  getRoom(sessionId: string): Room | undefined {
    return this.#rooms.get(sessionId);
  }

  listRooms(): Room[] {
    return [...this.#rooms.values()];
  }

  /** Authorizes the socket's user for the session now, then joins (or creates) its room. */
  async join(socket: Socket, identity: SocketIdentity, sessionId: string): Promise<JoinResult> {
    const { db, config, clock } = this.#deps;
    const { session, role } = await authorizeRoomEntry(db, sessionId, identity, clock.now(), {
      joinEarlyMinutes: config.joinEarlyMinutes,
      graceAfterEndMinutes: config.graceAfterEndMinutes,
    });
    const user = await db.one<{ name: string }>('SELECT name FROM users WHERE id = $1', [identity.userId]);
    // One room per socket: joining another session leaves the previous one.
    const current = this.peerOfSocket(socket);
    if (current && current.room.sessionId !== session.id) current.room.removePeer(current.peer, 'leave');
    for (let attempt = 0; ; attempt++) {
      const open = this.#rooms.get(session.id);
      if (!open || open.closed) await this.#placeHere(session.id);
      const room = await this.#getOrCreate(session);
      try {
        return await room.join({ userId: identity.userId, role, name: user?.name ?? '' }, socket);
      } catch (err) {
        // The room closed between lookup and join: a new one is made once.
        if (err instanceof DomainError && err.code === 'room_closed' && attempt === 0) continue;
        throw err;
      }
    }
  }

  /**
   * Resolves where the room lives; returns only when this node is to host it.
   * Otherwise the join is answered `room_elsewhere` naming the owner's
   * signalling URL and media address: the client reconnects there (README:
   * why a redirect rather than a relay).
   */
  async #placeHere(sessionId: string): Promise<void> {
    const placed = await this.#deps.placement.place(sessionId);
    if (placed.kind === 'elsewhere') throw elsewhere(placed.node);
    if (this.#draining) throw new DomainError('unavailable', 'server_draining', 'The server is shutting down');
  }

  /** The room and peer this socket joined, or `not_joined`. */
  requirePeer(socket: Socket): { room: Room; peer: Peer } {
    const found = this.peerOfSocket(socket);
    if (!found) throw conflict('not_joined', 'Join a room first');
    return found;
  }

  peerOfSocket(socket: Socket): { room: Room; peer: Peer } | undefined {
    const binding = socket.data.room as { sessionId: string } | undefined;
    const room = binding && this.#rooms.get(binding.sessionId);
    const peer = room?.peerOfSocket(socket);
    return room && peer ? { room, peer } : undefined;
  }

  leave(socket: Socket): Record<string, never> {
    const { room, peer } = this.requirePeer(socket);
    room.removePeer(peer, 'leave');
    return {};
  }

  socketGone(socket: Socket): void {
    this.peerOfSocket(socket)?.room.socketGone(socket);
  }

  /** Socket.IO restored a socket (connection-state recovery): give it back its peer. */
  socketRecovered(socket: Socket): void {
    const binding = socket.data.room as { sessionId: string } | undefined;
    if (!binding) return;
    const room = this.#rooms.get(binding.sessionId);
    if (room?.socketRecovered(socket)) return;
    // The peer is gone (grace over, room closed or rebuilt elsewhere): out of the channel, and told to join again.
    delete socket.data.room;
    void socket.leave(sessionChannel(binding.sessionId));
    socket.emit('rejoinRequired', { reason: 'peer_expired' });
  }

  /** A session was rescheduled or cancelled: keep the live room in step. */
  async sessionChanged(sessionId: string, cancelled: boolean): Promise<void> {
    const room = this.#rooms.get(sessionId);
    if (!room) return;
    if (cancelled) return room.close('session_cancelled');
    const session = await findSession(this.#deps.db, sessionId);
    if (!session || session.status === 'cancelled') return room.close('session_cancelled');
    room.updateSession(session);
  }

  /** Stops taking new rooms; live rooms go on (SIGTERM drain). */
  async drain(): Promise<void> {
    this.#draining = true;
    await this.#deps.registry.drain();
  }

  /**
   * SIGTERM's first phase: this node turns `draining` (no new rooms placed
   * here, /readyz 503) and its live rooms go on until they all end, the
   * deadline passes, or `force` aborts (a second SIGTERM). Resolves then; the
   * shutdown that follows closes what is left with `server_draining`, which
   * tells the clients to join again: they are placed on another node.
   */
  async drainUntilEmpty(deadlineMs: number, force: AbortSignal, beforeMove: () => Promise<void> = async () => undefined): Promise<void> {
    await this.drain();
    const endsAt = Date.now() + deadlineMs;
    this.#deps.logger.info({ rooms: this.#rooms.size, deadlineMs }, 'draining: live rooms go on until they end or the deadline');
    while (this.#rooms.size + this.#creating.size > 0 && Date.now() < endsAt && !force.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(1_000, Math.max(0, endsAt - Date.now())));
        force.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
    this.#deps.logger.info({ rooms: this.#rooms.size, forced: force.aborted }, 'drain over; moving the clients that are left');
    if (this.#rooms.size + this.#creating.size === 0) return;
    // What must end while media still flows (recorders finalise their files) goes first.
    await beforeMove();
    // Told now, while every socket is up (the shutdown drops sockets first): `server_draining` makes
    // clients join again, and the rooms are placed on nodes that are serving (leases released by the close).
    await this.closeAll('server_draining');
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Our lease on a room was found in other hands: close our copy (its clients rejoin and reach the new owner). */
  leaseLost(sessionId: string): void {
    const room = this.#rooms.get(sessionId);
    if (!room) return;
    this.#deps.logger.warn({ sessionId }, 'the room lease is held by another node; closing this copy');
    void room.close('lease_lost');
  }

  /** Stops taking rooms and closes every room with the reason (shutdown: 'server_draining'). */
  async closeAll(reason: RoomCloseReason): Promise<void> {
    this.#draining = true;
    await Promise.allSettled([...this.#creating.values()]);
    await Promise.allSettled([...this.#rooms.values()].map((room) => room.close(reason)));
  }

  async #getOrCreate(session: Session): Promise<Room> {
    const existing = this.#rooms.get(session.id);
    if (existing && !existing.closed) return existing;
    if (existing) await existing.whenClosed();
    const pending = this.#creating.get(session.id);
    if (pending) return pending;
    if (this.#draining) throw new DomainError('unavailable', 'server_draining', 'The server is shutting down');
    const creation = (async () => {
      try {
        const room = await Room.create({
          ...this.#deps,
          session,
          onClosed: (closed) => {
            if (this.#rooms.get(closed.sessionId) === closed) this.#rooms.delete(closed.sessionId);
          },
        });
        this.#rooms.set(session.id, room);
        this.observer.emit('newroom', room);
        // Published at once: placement elsewhere sees this room without waiting for the period.
        void this.#deps.registry.publish();
        return room;
      } catch (err) {
        // Another node won the lease between placement and claim: send the client there.
        if (err instanceof DomainError && err.code === 'room_elsewhere') {
          const nodeId = err.details?.nodeId as string;
          const node = await this.#deps.registry.get(nodeId).catch(() => undefined);
          if (node) throw elsewhere(node);
        }
        throw err;
      } finally {
        this.#creating.delete(session.id);
      }
    })();
    this.#creating.set(session.id, creation);
    return creation;
  }
}

/** The join answer that sends a client to the node holding the room. */
function elsewhere(node: NodeEntry): DomainError {
  return new DomainError('unavailable', 'room_elsewhere', 'This room is hosted by another server', { nodeId: node.id, url: node.url, mediaAddress: node.mediaAddress });
}
