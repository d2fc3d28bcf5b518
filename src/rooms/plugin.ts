import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { RoomDirectory } from './directory.ts';
import { roomsRoutes } from './routes.ts';
import { RoomsService } from './service.ts';
import { attachSignalling } from './signalling.ts';
import { WorkerPool } from './workers.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The live rooms of this process (see src/rooms/service.ts). */
    rooms: RoomsService;
  }
}

const services = new WeakMap<object, RoomsService>();

/**
 * The RoomsService of an app from any scope. `app.rooms` is decorated in the
 * API scope (where the capabilities live); the root instance (tests, main.ts)
 * reaches it through this function.
 */
export function roomsOf(app: FastifyInstance): RoomsService {
  const rooms = services.get(app.server);
  if (!rooms) throw new Error('the rooms plugin is not registered');
  return rooms;
}

/**
 * Live rooms: the mediasoup worker pool, the room → node directory in Redis,
 * the rooms themselves and the `/rooms` Socket.IO namespace. Decorates
 * `app.rooms` for attendance, recording and progression.
 *
 * Shutdown: preClose closes every room ('server-draining', clients told while
 * their sockets still exist); onClose closes the workers.
 */
export const roomsPlugin = fp(
  async (app) => {
    const config = app.config.rooms;
    const pool = await WorkerPool.create({
      count: config.workers,
      listenIp: config.listenIp,
      announcedAddress: config.announcedAddress,
      port: config.webRtcServerPort,
      logLevel: config.workerLogLevel,
      logger: app.log,
    });
    const nodeId = config.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const directory = new RoomDirectory(app.redis, app.config.redisPrefix, nodeId, (err) => app.log.error({ err }, 'refreshing the room directory failed'));
    const nsp = app.io.of('/rooms');
    nsp.use(app.socketAuth);
    const rooms = new RoomsService({ db: app.db, pool, directory, config, events: app.events, clock: app.clock, logger: app.log, nsp });
    attachSignalling(nsp, rooms, app.log);
    app.decorate('rooms', rooms);
    services.set(app.server, rooms);

    await app.register(roomsRoutes(rooms));

    const offCancelled = app.events.on('session.cancelled', ({ sessionId }) => rooms.sessionChanged(sessionId, true));
    const offRescheduled = app.events.on('session.rescheduled', ({ sessionId }) => rooms.sessionChanged(sessionId, false));

    app.addHook('preClose', async () => {
      offCancelled();
      offRescheduled();
      await rooms.closeAll('server-draining');
      // Upgraded connections keep the HTTP server open: drop this namespace's sockets.
      nsp.local.disconnectSockets(true);
    });
    app.addHook('onClose', async () => {
      await rooms.closeAll('server-draining');
      directory.stop();
      pool.close();
    });
  },
  { name: 'rooms', dependencies: ['sockets'] },
);
