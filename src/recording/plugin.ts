import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { recordingRoutes } from './routes.ts';
import { roomsLookup, watchRooms } from './rooms-link.ts';
import { RecordingService } from './service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Recordings of live sessions (src/recording/service.ts). */
    recordings: RecordingService;
  }
}

/**
 * Recording: HTTP routes, the post-processing and retention jobs, automatic
 * defence recording, and the shutdown that stops every FFmpeg with SIGINT so
 * the files are finalised (preClose, while the database and queues are up).
 */
export const recordingPlugin = fp(
  async (app) => {
    const log = app.log.child({ capability: 'recording' });
    const processing = app.jobs.define<{ recordingId: string }>('recording-process', async (job) => service.process(job.data.recordingId), { concurrency: 1 });
    const retention = app.jobs.define<Record<string, never>>('recording-retention', async () => service.purgeExpired(), { concurrency: 1 });
    const service: RecordingService = new RecordingService({
      db: app.db,
      config: app.config.recording,
      clock: app.clock,
      log,
      events: app.events,
      getRoom: roomsLookup(app),
      broadcast: (sessionId, event, payload) => {
        // Only through the rooms namespace when it exists (it carries the auth middleware).
        if (app.io._nsps.has('/rooms')) app.io.of('/rooms').to(`session:${sessionId}`).emit(event, payload);
      },
      enqueueProcessing: async (recordingId) => {
        await processing.add({ recordingId }, { jobId: `process-${recordingId}`, attempts: 3, backoff: { type: 'exponential', delay: 2000 } });
      },
    });
    app.decorate('recordings', service);
    services.set(app.server, service);
    await app.register(recordingRoutes, { service });
    const stopWatching = watchRooms(app, service);

    app.addHook('onReady', async () => {
      await retention.queue.upsertJobScheduler('recording-retention', { every: 3_600_000 }, { name: 'recording-retention', data: {} });
      const recovered = await service.recoverInterrupted();
      if (recovered.length > 0) log.warn({ recovered }, 'recordings interrupted by a crash are being repaired');
    });
    // Recorders must stop while packets still flow (FFmpeg stopped on a silent
    // input is slow and leaves a file without its duration), so they stop in the
    // server's first shutdown step, before sockets drop and rooms close.
    app.beforeShutdown(async () => {
      stopWatching();
      const deadline = new Promise((r) => setTimeout(r, app.config.shutdownTimeoutMs).unref());
      await Promise.race([service.shutdown(), deadline]);
    });
    app.addHook('onClose', async () => {
      await service.shutdown();
    });
  },
  { name: 'recording' },
);

const services = new WeakMap<object, RecordingService>();

/**
 * The recording service of a built app, from any scope (the decorator lives in
 * the API scope; tests and tools hold the root instance).
 */
export function recordingsOf(app: FastifyInstance): RecordingService {
  const service = services.get(app.server);
  if (!service) throw new Error('the recording plugin is not registered on this server');
  return service;
}
