import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { recordingRoutes } from './routes.ts';
import { compositeRoutes, setUpComposites } from './composite-plugin.ts';
import { roomsLookup, watchRooms } from './rooms-link.ts';
import { sessionChannel } from '../shared/socket.ts';
import { RecordingService } from './service.ts';
import type { CompositeService } from './composite.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Recordings of live sessions (src/recording/service.ts). */
    recordings: RecordingService;
    /** Composite MP4s of finished recordings (src/recording/composite.ts). */
    composites: CompositeService;
  }
}

/**
 * Recording: HTTP routes, the post-processing and retention jobs, automatic
 * defence recording, and the shutdown that stops every FFmpeg with SIGINT so
 * the files are finalised (preClose, while the database and queues are up).
 * Needs 'sockets', 'rooms' (the live rooms it records, and their commands on
 * other nodes) and 'attendance' (the presence shown in composites, replays and
 * archives).
 */
export const recordingPlugin = fp(
  async (app) => {
    const log = app.log.child({ capability: 'recording' });
    const processing = app.jobs.define<{ recordingId: string }>('recording-process', async (job) => service.process(job.data.recordingId), { concurrency: 1 });
    const retention = app.jobs.define<Record<string, never>>('recording-retention', async () => service.purgeExpired(), { concurrency: 1 });
    // Recordings left 'recording' by a node that died while nobody came back to the room (service.closeOrphans):
    // swept every third of the lease by whichever node takes the job, closed after a whole lease without a room.
    const leaseMs = app.config.rooms.leaseSeconds * 1000;
    const orphanKey = (recordingId: string) => `${app.config.redisPrefix}:recording-orphan:${recordingId}`;
    const orphans = app.jobs.define<Record<string, never>>(
      'recording-orphans',
      async () => {
        // Just after a Redis outage leases are being re-asserted: a missing one proves nothing yet.
        if (app.rooms.directory.settlingMs() > 0) return [];
        const closed = await service.closeOrphans({
          graceMs: leaseMs,
          roomHeld: async (sessionId) => (await app.rooms.directory.lookup(sessionId)) !== undefined,
          // The first sighting is a key with a known expiry: its remaining time tells how long ago it was set,
          // on Redis's clock (no skew between the nodes' clocks).
          orphanedForMs: async (recordingId) => {
            const span = leaseMs * 4;
            await app.redis.set(orphanKey(recordingId), '1', 'PX', span, 'NX');
            const left = await app.redis.pttl(orphanKey(recordingId));
            return left < 0 ? 0 : span - left;
          },
          forget: async (recordingId) => {
            await app.redis.del(orphanKey(recordingId));
          },
        });
        return closed;
      },
      { concurrency: 1 },
    );
    const service: RecordingService = new RecordingService({
      db: app.db,
      config: app.config.recording,
      clock: app.clock,
      log,
      events: app.events,
      outbox: app.outbox,
      getRoom: roomsLookup(app),
      broadcast: (sessionId, event, payload) => {
        // The rooms namespace (rooms is a declared dependency: its auth middleware is in place).
        app.io.of('/rooms').to(sessionChannel(sessionId)).emit(event, payload);
      },
      enqueueProcessing: async (recordingId) => {
        await processing.add({ recordingId }, { jobId: `process-${recordingId}`, attempts: 3, backoff: { type: 'exponential', delay: 2000 } });
      },
    });
    // Start and stop from any node: they run on the node that holds the room.
    service.useRemote(app.rooms.commands);
    app.decorate('recordings', service);
    await app.register(recordingRoutes, { service });
    // Watching it again: the composite job, replay timeline and archive (composite-plugin.ts).
    const composites = await setUpComposites(app, service);
    app.decorate('composites', composites);
    await app.register(compositeRoutes, { recordings: service, composites });
    const stopWatching = watchRooms(app, service);

    app.addHook('onReady', async () => {
      await app.jobs.every(retention, 'recording-retention', 3_600_000, {});
      await app.jobs.every(orphans, 'recording-orphans', Math.max(1_000, Math.floor(leaseMs / 3)), {}, { removeOnComplete: true, removeOnFail: 100 });
      const recovered = await service.recoverInterrupted();
      if (recovered.length > 0) log.warn({ recovered }, 'recordings interrupted by a crash are being repaired');
    });
    // Recorders must stop while packets still flow (FFmpeg stopped on a silent
    // input is slow and leaves a file without its duration), so they stop in the
    // server's first shutdown step, before sockets drop and rooms close.
    // Both bounded by what is left of the one shutdown deadline (app.shutdown).
    app.beforeShutdown(async () => {
      stopWatching();
      await service.shutdown();
    });
    app.addHook('onClose', async () => {
      await app.shutdown.step('recording', () => service.shutdown());
    });
  },
  { name: 'recording', dependencies: ['sockets', 'rooms', 'attendance'] },
);

