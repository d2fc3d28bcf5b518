import Fastify, { type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import type { Db } from '../db/index.ts';
import { Jobs } from '../jobs/index.ts';
import { DomainEvents } from '../events/index.ts';
import { createRedis } from '../redis/index.ts';
import { authRoutes } from '../auth/index.ts';
import { schoolRoutes } from '../school/index.ts';
import { schedulingPlugin } from '../scheduling/index.ts';
import { roomsPlugin } from '../rooms/index.ts';
import { attendancePlugin } from '../attendance/index.ts';
import { recordingPlugin } from '../recording/index.ts';
import { progressionPlugin } from '../progression/index.ts';
import { webPlugin } from '../web/index.ts';
import { codereviewPlugin } from '../codereview/index.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import type { AppConfig } from './config.ts';
import { authPlugin, enforceAccess } from './plugins/auth.ts';
import { docsPlugin } from './plugins/docs.ts';
import { problemPlugin } from './plugins/problem.ts';
import { socketsPlugin } from './plugins/sockets.ts';

declare module 'fastify' {
  interface FastifyInstance {
    config: AppConfig;
    db: Db;
    /** General-purpose Redis client (room directory, caches). */
    redis: Redis;
    jobs: Jobs;
    events: DomainEvents;
    clock: Clock;
    /**
     * Registers work that must run first when the server shuts down, while rooms
     * and media are still up (e.g. recorders finalise their files while packets
     * still flow). Runs before sockets are dropped and rooms closed.
     */
    beforeShutdown(step: () => Promise<void>): void;
  }
}

export interface AppDependencies {
  /** The store; the app owns it from here on and closes it last. */
  db: Db;
  redisUrl: string;
  clock?: Clock;
  /** Run BullMQ workers in this process (default true). */
  runWorkers?: boolean;
}

/**
 * Builds the whole server: Fastify with Socket.IO on the same HTTP server,
 * every capability registered, nothing listening yet. Used by `npm start` and
 * by the tests alike.
 *
 * Shutdown order (app.close()): beforeShutdown steps (recorders stop while
 * media still flows) → preClose drops sockets → HTTP stops accepting
 * and in-flight requests finish → capabilities close in reverse order of
 * registration (rooms, recorders, …) → BullMQ workers, queues, Redis → the
 * database last.
 */
export async function buildApp(config: AppConfig, deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: config.logLevel },
    trustProxy: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const redis = createRedis(deps.redisUrl, 'general', app.log, 'app');
  // The Socket.IO adapter duplicates this client for PUB/SUB. ioredis runs an INFO
  // "ready check" on every (re)connect, which a connection already in subscriber
  // mode refuses with an unhandled error that kills the process: no ready check.
  const adapterRedis = createRedis(deps.redisUrl, 'general', app.log, 'socketio-adapter', { enableReadyCheck: false });
  const jobs = new Jobs({ redisUrl: deps.redisUrl, prefix: config.redisPrefix, logger: app.log, runWorkers: deps.runWorkers ?? true });
  const events = new DomainEvents((err, event) => app.log.error({ err, event }, 'domain event listener failed'));

  app.decorate('config', config);
  app.decorate('db', deps.db);
  app.decorate('redis', redis);
  app.decorate('jobs', jobs);
  app.decorate('events', events);
  app.decorate('clock', deps.clock ?? systemClock);
  const shutdownSteps: Array<() => Promise<void>> = [];
  app.decorate('beforeShutdown', (step: () => Promise<void>) => void shutdownSteps.push(step));
  // The root's preClose hooks run before any plugin's, and this one is added first.
  app.addHook('preClose', async () => {
    await Promise.allSettled(shutdownSteps.map((step) => step()));
  });

  // Registered first, so they run last (onClose hooks run in reverse order).
  app.addHook('onClose', async () => {
    await deps.db.close();
  });
  app.addHook('onClose', async () => {
    await events.drain();
    await jobs.close(config.shutdownTimeoutMs);
    await redis.quit().catch(() => redis.disconnect());
    await adapterRedis.quit().catch(() => adapterRedis.disconnect());
  });

  await app.register(problemPlugin);
  await app.register(rateLimit, { global: false });
  await app.register(authPlugin, { secret: config.jwtSecret, accessTokenTtlSeconds: config.accessTokenTtlSeconds });
  await app.register(docsPlugin, { publicUrl: config.publicUrl });
  await app.register(socketsPlugin, { redis: adapterRedis, streamName: `${config.redisPrefix}:sio` });

  app.get('/health', { schema: { tags: ['ops'], summary: 'Liveness and dependencies' } }, async (_request, reply) => {
    const [dbOk, redisOk] = await Promise.all([
      deps.db.one('SELECT 1 AS ok').then(() => true, () => false),
      redis.ping().then(() => true, () => false),
    ]);
    const ok = dbOk && redisOk;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', db: dbOk ? 'ok' : 'down', redis: redisOk ? 'ok' : 'down', store: deps.db.kind });
  });

  // The API: every route inside this scope must declare config.access.
  await app.register(async (api) => {
    api.addHook('onRoute', enforceAccess);
    await api.register(authRoutes, { loginRateLimitPerMinute: config.loginRateLimitPerMinute });
    await api.register(schoolRoutes);
    await api.register(schedulingPlugin);
    await api.register(roomsPlugin);
    await api.register(attendancePlugin);
    await api.register(recordingPlugin);
    await api.register(progressionPlugin);
    await api.register(codereviewPlugin);
  });
  await app.register(webPlugin);

  return app;
}
