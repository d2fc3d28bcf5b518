import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { RoomCommands } from './commands.ts';
import { RoomDirectory } from './directory.ts';
import { RoomPlacement } from './placement.ts';
import { NodeRegistry } from './registry.ts';
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


/**
 * Live rooms: the mediasoup worker pool, the room → node directory in Redis,
 * the rooms themselves and the `/rooms` Socket.IO namespace. Decorates
 * `app.rooms` for attendance, recording and progression.
 *
 * Shutdown: preClose closes every room ('server_draining', clients told while
 * their sockets still exist); onClose closes the workers.
 * Kept whole (~105 lines): set-up and its shutdown hooks side by side, in the order they run.
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
    const prefix = app.config.redisPrefix;
    const directory = new RoomDirectory(app.redis, prefix, nodeId, (err) => app.log.warn({ err }, 'renewing a room lease failed'), config.leaseSeconds * 1000);
    // Late-bound: the registry publishes the rooms service's load, made just below.
    let service: RoomsService | undefined;
    const registry = new NodeRegistry({
      redis: app.redis,
      prefix,
      id: nodeId,
      url: config.nodeUrl ?? app.config.publicUrl,
      mediaAddress: config.announcedAddress ?? config.listenIp,
      load: () => service!.load(),
      onError: (err) => app.log.warn({ err }, 'publishing this node in the registry failed'),
    });
    const placement = new RoomPlacement(app.redis, prefix, registry, directory);
    const nsp = app.io.of('/rooms');
    nsp.use(app.socketAuth);
    const rooms = new RoomsService({ db: app.db, pool, directory, registry, placement, config, events: app.events, clock: app.clock, logger: app.log, nsp });
    service = rooms;
    directory.onLost = (sessionId) => rooms.leaseLost(sessionId);

    // Commands on a live room from any node: run where the room is (commands.ts).
    const commandsSub = app.redis.duplicate({ enableReadyCheck: false, connectionName: 'room-commands' });
    commandsSub.on('error', () => undefined); // reconnects by itself; the general client logs Redis outages
    const commands = new RoomCommands({
      pub: app.redis,
      sub: commandsSub,
      prefix,
      nodeId,
      directory,
      holds: (sessionId) => {
        const room = rooms.getRoom(sessionId);
        return room !== undefined && !room.closed;
      },
      onError: (err) => app.log.error({ err }, 'a room command failed'),
    });
    rooms.commands = commands;
    commands.handle('room.isolate', async (sessionId, { userId, isolated, reason }) => {
      rooms.getRoom(sessionId)?.setIsolated(String(userId), Boolean(isolated), String(reason));
      return null;
    });
    commands.handle('room.sessionChanged', async (sessionId, { cancelled }) => rooms.sessionChanged(sessionId, Boolean(cancelled)));
    commands.handle('room.removeParticipant', async (sessionId, { userId }) => {
      const room = rooms.getRoom(sessionId);
      const peer = room?.peerOfUser(String(userId));
      if (room && peer) {
        peer.notify('roomClosing', { reason: 'removed' });
        room.removePeer(peer, 'leave');
      }
      return { removed: Boolean(peer) };
    });
    await commands.start();
    attachSignalling(nsp, rooms, app.log);
    app.decorate('rooms', rooms);

    await app.register(roomsRoutes(rooms));
    app.addHook('onReady', async () => {
      await registry.publish();
      registry.start();
    });
    // A Redis outage ends (the general client is ready again after losing its connection): re-assert
    // our leases first, then publish this node at once; neither waits for its period (docs/deployment.md).
    let redisLost = false;
    app.redis.on('close', () => {
      redisLost = true;
    });
    app.redis.on('ready', () => {
      if (!redisLost) return;
      redisLost = false;
      const returnedAt = Date.now();
      void directory
        .redisReturned()
        .then(() => registry.publish())
        .then(() => app.log.info({ rooms: rooms.listRooms().length, ms: Date.now() - returnedAt }, 'redis is back: room leases re-asserted, node published'));
    });

    // The change happened on this node; the room may live on another one.
    const sessionChanged = (sessionId: string, cancelled: boolean) =>
      void commands.run(sessionId, 'room.sessionChanged', { cancelled }).catch((err: unknown) => app.log.error({ err, sessionId }, 'the live room could not follow the session change'));
    const offCancelled = app.events.on('session.cancelled', ({ sessionId }) => sessionChanged(sessionId, true));
    const offRescheduled = app.events.on('session.rescheduled', ({ sessionId }) => sessionChanged(sessionId, false));

    app.addHook('preClose', async () => {
      offCancelled();
      offRescheduled();
      await app.shutdown.step('rooms', () => rooms.closeAll('server_draining'));
      // Upgraded connections keep the HTTP server open: drop this namespace's sockets.
      nsp.local.disconnectSockets(true);
    });
    app.addHook('onClose', async () => {
      await app.shutdown.step('rooms', () => rooms.closeAll('server_draining'));
      directory.stop();
      await app.shutdown.step('node registry', () => registry.stop());
      await app.shutdown.step('room commands', () => commands.stop());
      pool.close();
    });
  },
  { name: 'rooms', dependencies: ['sockets'] },
);
