import fp from 'fastify-plugin';
import Fastify, { type FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import type { Db } from '../db/index.ts';
import { Jobs } from '../jobs/index.ts';
import { DomainEvents } from '../events/index.ts';
import { Outbox } from '../outbox/index.ts';
import { createRedis } from '../redis/index.ts';
import { accountsPlugin } from '../auth/index.ts';
import { schoolPlugin } from '../school/index.ts';
import { schedulingPlugin } from '../scheduling/index.ts';
import { roomsPlugin } from '../rooms/index.ts';
import { attendancePlugin } from '../attendance/index.ts';
import { recordingPlugin } from '../recording/index.ts';
import { progressionPlugin } from '../progression/index.ts';
import { mailPlugin } from '../mail/index.ts';
import { webPlugin } from '../web/index.ts';
import { codereviewPlugin } from '../codereview/index.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import { RedisRateLimiter } from '../shared/rate-limit.ts';
import type { AppConfig } from './config.ts';
import { ShutdownDeadline } from './shutdown.ts';
import { authPlugin, enforceAccess } from './plugins/auth.ts';
import { docsPlugin } from './plugins/docs.ts';
import { opsPlugin } from './plugins/ops.ts';
import { clientErrorHandler, frameworkErrors, problemPlugin } from './plugins/problem.ts';
import { socketsPlugin } from './plugins/sockets.ts';
import { buildValidator } from './validation.ts';
import { loggerRedaction } from './log-redaction.ts';

declare module 'fastify' {
  interface FastifyInstance {
    config: AppConfig;
    db: Db;
    /** General-purpose Redis client (room directory, caches). */
    redis: Redis;
    jobs: Jobs;
    events: DomainEvents;
    /** Durable events: appended in the change's transaction, delivered to handlers by a BullMQ relay. */
    outbox: Outbox;
    clock: Clock;
    /** Rate limits counted in Redis (shared by every node). */
    limiter: RedisRateLimiter;
    /**
     * Registers work that must run first when the server shuts down, while rooms
     * and media are still up (e.g. recorders finalise their files while packets
     * still flow). Runs before sockets are dropped and rooms closed, with what
     * is left of the shutdown deadline.
     */
    beforeShutdown(step: () => Promise<void>): void;
    /** The one shutdown deadline (SHUTDOWN_TIMEOUT_MS): `app.shutdown.step(name, fn)` bounds a close step by what is left. */
    shutdown: ShutdownDeadline;
  }
}

/**
 * The capabilities, in the order they are registered inside the API scope. Each
 * is a fastify-plugin with a `name` and its `dependencies` (checked by Fastify
 * when it is registered: a missing one stops the start-up with "The dependency
 * 'x' of plugin 'y' is not registered"), and exposes its typed face as a
 * decorator where others use it (app.rooms, app.attendance, app.recordings,
 * app.composites, app.scheduling, app.progression).
 */
export const CAPABILITIES = [
  accountsPlugin,
  schoolPlugin,
  schedulingPlugin,
  mailPlugin,
  roomsPlugin,
  attendancePlugin,
  recordingPlugin,
  progressionPlugin,
  codereviewPlugin,
] as const;

export interface AppDependencies {
  /** The store; the app owns it from here on and closes it last. */
  db: Db;
  redisUrl: string;
  clock?: Clock;
  /** Run BullMQ workers in this process (default true). */
  runWorkers?: boolean;
  /** Where the log goes (default stdout); tests read it. */
  logStream?: { write(line: string): void };
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
 * database last. One deadline (SHUTDOWN_TIMEOUT_MS, `app.shutdown`) bounds
 * them all: each step gets what is left, and the database keeps a reserve.
 * Kept whole (~110 lines): the registration order is the design, read in one place.
 */
export async function buildApp(config: AppConfig, deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: config.logLevel, ...loggerRedaction(), ...(deps.logStream ? { stream: deps.logStream } : {}) },
    // X-Forwarded-For is believed only from the configured proxies (TRUST_PROXY): from anyone else,
    // a fresh header per request would be a fresh client address (and a fresh login limit).
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    forceCloseConnections: 'idle',
    // The capabilities start inside one plugin ('api'): media workers, Redis subscriptions, BullMQ queues. On
    // two busy cores that took longer than Fastify's 10 s default (a test failed with "Plugin did not start in
    // time: 'api'"); a real hang is still reported, after a minute.
    pluginTimeout: 60_000,
    // Errors before routing and of the HTTP parser leave as problem+json too (one warn line each).
    frameworkErrors,
    clientErrorHandler,
    // Query strings, parameters and headers are coerced to their schema's types; JSON bodies never (validation.ts).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    schemaController: { compilersFactory: { buildValidator } },
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
  app.decorate('limiter', new RedisRateLimiter(redis, config.redisPrefix));
  app.decorate('jobs', jobs);
  app.decorate('events', events);
  const clock = deps.clock ?? systemClock;
  app.decorate('clock', clock);
  const outbox = new Outbox({ db: deps.db, jobs, events, clock, log: app.log });
  app.decorate('outbox', outbox);
  // Handlers are registered by the capabilities below; once they all are, deliver what is pending.
  app.addHook('onReady', () => outbox.start());
  const shutdown = new ShutdownDeadline(config.shutdownTimeoutMs, app.log);
  app.decorate('shutdown', shutdown);
  const shutdownSteps: Array<() => Promise<void>> = [];
  app.decorate('beforeShutdown', (step: () => Promise<void>) => void shutdownSteps.push(step));
  // The root's preClose hooks run before any plugin's, and this one is added first: the deadline starts here.
  app.addHook('preClose', async () => {
    shutdown.start();
    await Promise.all(shutdownSteps.map((step, i) => shutdown.step(`beforeShutdown#${i}`, step)));
  });

  // Registered first, so they run last (onClose hooks run in reverse order): the database
  // closes last, in the reserve the deadline keeps for it, whatever the steps before did.
  app.addHook('onClose', async () => {
    await shutdown.last('database', () => deps.db.close());
  });
  app.addHook('onClose', async () => {
    await shutdown.step('domain events', () => events.drain());
    // Most of what is left (Jobs.close splits it between running jobs, forcing, queues and connections); the rest for Redis.
    await shutdown.step('jobs', () => jobs.close(shutdown.remaining() * 0.8));
    await shutdown.step('redis', async () => {
      await redis.quit().catch(() => redis.disconnect());
      await adapterRedis.quit().catch(() => adapterRedis.disconnect());
    });
  });

  await app.register(problemPlugin);
  // Browser protections on every answer: a CSP the client passes (scripts from the server only, no inline
  // script), no MIME sniffing, no framing, no referrer to other sites.
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // The client sets styles from code (element.style); stylesheets come from the server.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:'],
        // The page's own server, and every node of the deployment: a room may live on another node,
        // and the client is sent there (src/rooms/README.md). Read from the node registry.
        connectSrc: ["'self'", () => app.rooms?.registry.peerOrigins.join(' ') ?? ''],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    // The API and media are read cross-origin by nobody but calendar apps and other servers.
    crossOriginResourcePolicy: { policy: 'same-site' },
  });
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

  // The browser client's static files come first: public, and outside the access rule below.
  await app.register(webPlugin);

  // The API: every route added from here on must declare config.access. The capabilities are
  // registered at the root (fastify-plugin), so each one's typed decorator (app.rooms,
  // app.attendance, …) is the one way in for the others and for tests.
  await app.register(fp(async (api) => {
    api.addHook('onRoute', enforceAccess);
    for (const capability of CAPABILITIES) await api.register(capability);
  }, { name: 'api', dependencies: ['auth', 'sockets'] }));
  // Health, readiness and metrics (their routes declare public access; they read the rooms capability).
  await app.register(opsPlugin);

  return app;
}
