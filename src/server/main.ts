/**
 * `npm start`: configuration from the environment (`--print-config` prints it
 * and exits), checks that refuse a start before anything is opened (ports,
 * FFmpeg, the embedded store's lock), Redis and the store made ready (embedded
 * PGlite and a private redis-server when nothing is configured), migrations,
 * the demo on an empty store, then listen and print where to log in. Every
 * refused start is one line naming the setting and its value, exit code 1,
 * after closing what the start had opened. SIGTERM or SIGINT close everything
 * in order within SHUTDOWN_TIMEOUT_MS (one deadline for all steps, the database
 * closed last; src/server/shutdown.ts), after a drain of the live rooms
 * (ROOMS_DRAIN_DEADLINE_SECONDS; a second signal ends it).
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type * as DbModule from '../db/index.ts';
import type { Db } from '../db/index.ts';
import { maskValue, StartupError } from '../shared/env.ts';
import { effectiveConfig } from './config-docs.ts';
import { loadConfig, serverEnv, type AppConfig } from './config.ts';
import { checkFfmpeg, checkPorts, lockEmbeddedStore } from './preflight.ts';
import { describeMailDestination } from '../mail/sender.ts';
import { exitOnSignals } from './shutdown.ts';

/** What a start opened so far, closed in reverse order when the start fails. */
const opened: Array<() => Promise<void> | void> = [];

async function openStore(config: AppConfig, { checkPostgres, openDb }: typeof DbModule): Promise<Db> {
  if (config.databaseUrl) {
    const shown = maskValue(serverEnv.properties.DATABASE_URL, config.databaseUrl);
    await checkPostgres(config.databaseUrl).catch((err: Error) => {
      throw new StartupError('DATABASE_URL', shown, `does not answer (${err.message || (err as NodeJS.ErrnoException).code}); start that PostgreSQL or correct DATABASE_URL`);
    });
    return openDb({ databaseUrl: config.databaseUrl, pgliteDir: undefined, poolSize: config.databasePoolSize });
  }
  const dir = join(config.dataDir, 'pglite');
  return openDb({ databaseUrl: undefined, pgliteDir: dir, poolSize: config.databasePoolSize }).catch((err: Error) => {
    throw new StartupError('DATA_DIR', config.dataDir, `holds an embedded store that cannot be opened (${dir}: ${err.message})`);
  });
}

async function listen(app: FastifyInstance, config: AppConfig): Promise<void> {
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    // The port was free a moment ago (checkPorts): another process took it since.
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new StartupError('PORT', String(config.port), `is in use on ${config.host} (TCP port ${config.port}); stop what listens there or set PORT to a free port`);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  if (process.argv.includes('--print-config')) {
    console.log(effectiveConfig(process.env));
    return;
  }
  await checkPorts(config);
  checkFfmpeg(config.recording);
  if (!config.databaseUrl) opened.push(lockEmbeddedStore(config.dataDir));

  // The server's modules load only after the checks (the capabilities' only after
  // Redis and the store answer): a refused start does not pay for loading them.
  const [{ default: pino }, dbModule, { resolveRedis }] = await Promise.all([import('pino'), import('../db/index.ts'), import('../redis/index.ts')]);
  const log = pino({ level: config.logLevel });
  const redis = await resolveRedis(config.redisUrl, config.dataDir, log);
  opened.push(() => redis.stop());
  const db = await openStore(config, dbModule);
  opened.push(() => db.close());

  const [{ buildApp }, { seedDemo }, { demoLogins }] = await Promise.all([import('./app.ts'), import('./demo.ts'), import('../school/index.ts')]);
  const applied = await dbModule.migrate(db);
  if (applied.length > 0) log.info({ applied }, 'migrations applied');
  const seeded = config.seedDemo ? await seedDemo(db) : undefined;

  const app = await buildApp(config, { db, redisUrl: redis.url });
  opened.pop(); // the app owns the store from here on and closes it last
  opened.push(() => app.close());
  await listen(app, config);

  // SIGTERM/SIGINT: one deadline for the whole shutdown (shutdown.ts): the app's steps, the database
  // last even if a step hangs, then what the start opened before the app (private redis-server, store lock).
  opened.pop(); // the app itself: closed by exitOnSignals within the deadline
  // Draining first (live rooms go on until they end or ROOMS_DRAIN_DEADLINE_SECONDS; this node takes no new ones).
  // At its end, recorders stop first (files finalised while media flows), then the rooms left close.
  exitOnSignals(app, () => db.close(), closeAll, (force) =>
    app.rooms.drainUntilEmpty(config.rooms.drainDeadlineSeconds * 1000, force, () => app.recordings.shutdown()),
  );

  const store = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${join(config.dataDir, 'pglite')}`;
  const lines = [`\nMentor Live is running at ${config.publicUrl}  (API docs: ${config.publicUrl}/docs, store: ${store}, redis: ${redis.url})`, `Mail: ${describeMailDestination(config.mail, config.dataDir)}`];
  const logins = config.seedDemo ? await demoLogins(db) : [];
  if (logins.length > 0) {
    lines.push(`\n${seeded ? 'Demo school seeded. ' : ''}Log in with (demo accounts; SEED_DEMO=false hides this):`);
    for (const p of logins) lines.push(`  ${p.role.padEnd(12)} ${p.email.padEnd(26)} ${p.password.padEnd(20)} ${p.timeZone}`);
  } else if (config.seedDemo && !seeded) {
    lines.push('\nThe store already has users (no demo seeded): log in with yours.');
  }
  // One write, so whoever reads the URL line also has the logins.
  console.log(lines.join('\n'));
}

/** Closes what was opened, last first, each step on its own. */
async function closeAll(): Promise<void> {
  while (opened.length > 0) {
    const close = opened.pop()!;
    try {
      await close();
    } catch (err) {
      console.error(err instanceof Error ? err.message : err);
    }
  }
}

main().catch(async (err: unknown) => {
  // ConfigError and StartupError messages are the one line naming the setting and its value.
  console.error(err instanceof Error ? err.message : err);
  const deadline = setTimeout(() => process.exit(1), 5_000);
  deadline.unref();
  await closeAll();
  process.exit(1);
});
