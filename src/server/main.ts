/**
 * `npm start`: configuration from the environment, Redis and the store made
 * ready (embedded PGlite and a private redis-server when nothing is
 * configured), migrations, demo data on an empty store, then listen. SIGTERM
 * or SIGINT close everything in order within SHUTDOWN_TIMEOUT_MS.
 */
import { join } from 'node:path';
import pino from 'pino';
import { migrate, openDb } from '../db/index.ts';
import { resolveRedis } from '../redis/index.ts';
import { seedDemoSchool } from '../school/index.ts';
import { ConfigError } from '../shared/env.ts';
import { buildApp } from './app.ts';
import { loadConfig, type AppConfig } from './config.ts';
import { seedDemoExtras } from './demo.ts';

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const log = pino({ level: config.logLevel });

  const redis = await resolveRedis(config.redisUrl, config.dataDir, log);
  const db = await openDb({ databaseUrl: config.databaseUrl, pgliteDir: join(config.dataDir, 'pglite'), poolSize: config.databasePoolSize });
  const applied = await migrate(db);
  if (applied.length > 0) log.info({ applied }, 'migrations applied');

  const demo = config.seedDemo ? await seedDemoSchool(db) : undefined;
  if (demo) await seedDemoExtras(db, demo);

  const app = await buildApp(config, { db, redisUrl: redis.url });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      app.log.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5_000);
    timer.unref();
    try {
      await app.close();
      await redis.stop();
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  const store = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${join(config.dataDir, 'pglite')}`;
  const lines = [`\nMentor Live is running at ${config.publicUrl}  (API docs: ${config.publicUrl}/docs, store: ${store}, redis: ${redis.url})`];
  if (demo) {
    lines.push('\nDemo school seeded. Log in with:');
    for (const p of [demo.student, demo.soloStudent, demo.mentor, ...demo.jury, demo.coordinator]) {
      lines.push(`  ${p.role.padEnd(12)} ${p.email.padEnd(26)} ${p.password.padEnd(20)} ${p.timeZone}`);
    }
  }
  // One write, so whoever reads the URL line also has the logins.
  console.log(lines.join('\n'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
