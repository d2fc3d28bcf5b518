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
import type { JoinResult } from './messages.ts';
import type { Peer } from './peer.ts';
import { Room, sessionChannel, type RoomCloseReason } from './room.ts';
import type { WorkerPool } from './workers.ts';

export interface RoomsServiceDeps {
  db: Db;
  pool: WorkerPool;
  directory: RoomDirectory;
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

  constructor(deps: RoomsServiceDeps) {
    this.#deps = deps;
  }

  get pool(): WorkerPool {
    return this.#deps.pool;
  }

  get directory(): RoomDirectory {
    return this.#deps.directory;
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
    socket.emit('rejoinRequired', { reason: 'peer-expired' });
  }

  /** A session was rescheduled or cancelled: keep the live room in step. */
  async sessionChanged(sessionId: string, cancelled: boolean): Promise<void> {
    const room = this.#rooms.get(sessionId);
    if (!room) return;
    if (cancelled) return room.close('session-cancelled');
    const session = await findSession(this.#deps.db, sessionId);
    if (!session || session.status === 'cancelled') return room.close('session-cancelled');
    room.updateSession(session);
  }

  /** Stops taking rooms and closes every room with the reason (shutdown: 'server-draining'). */
  async closeAll(reason: RoomCloseReason): Promise<void> {
    this.#draining = true;
    await Promise.allSettled([...this.#creating.values()]);
    await Promise.allSettled([...this.#rooms.values()].map((room) => room.close(reason)));
  }

  async #getOrCreate(session: Session): Promise<Room> {
    if (this.#draining) throw new DomainError('unavailable', 'server_draining', 'The server is shutting down');
    const existing = this.#rooms.get(session.id);
    if (existing && !existing.closed) return existing;
    if (existing) await existing.whenClosed();
    const pending = this.#creating.get(session.id);
    if (pending) return pending;
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
        return room;
      } finally {
        this.#creating.delete(session.id);
      }
    })();
    this.#creating.set(session.id, creation);
    return creation;
  }
}
