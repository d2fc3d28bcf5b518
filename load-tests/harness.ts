import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp } from '../src/server/app.ts';
import { loadConfig, type AppConfig } from '../src/server/config.ts';
import { seedDemoSchool, type DemoSchool } from '../src/school/index.ts';
import { seedDemoExtras } from '../src/server/demo.ts';
import { migrate, openDb, type Db } from '../src/db/index.ts';
import { createPostgresDb } from '../src/db/postgres.ts';
import type { Env } from '../src/shared/env.ts';
import { deleteRedisPrefix } from '../support/redis.ts';

export const benchRedisUrl = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const benchAdminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const BENCH_JWT_SECRET = 'bench-secret-that-is-long-enough-for-hs256-0123456789';

export interface BenchServer {
  app: FastifyInstance;
  url: string;
  db: Db;
  /** The fresh database's URL (for fixtures written from outside the server). */
  databaseUrl: string;
  config: AppConfig;
  demo: DemoSchool;
  close(): Promise<void>;
}

/** A fresh, migrated PostgreSQL database, dropped by the returned `drop`. */
export async function createBenchDb(): Promise<{ db: Db; url: string; drop(): Promise<void> }> {
  const name = `bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: benchAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(benchAdminUrl);
  url.pathname = `/${name}`;
  // BENCH_DB_POOL: pool size of the server's store (the server's default is 10), for experiments.
  const db = process.env.BENCH_DB_POOL
    ? createPostgresDb(url.toString(), { max: Number(process.env.BENCH_DB_POOL) })
    : await openDb({ databaseUrl: url.toString(), pgliteDir: undefined });
  await migrate(db);
  return {
    db,
    url: url.toString(),
    async drop() {
      const cleanup = new pg.Client({ connectionString: benchAdminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

/** Statements run through the Db (outside transactions): count and total time per SQL text. */
export const queryCounts = new Map<string, { count: number; ms: number }>();
/** Every statement sent to PostgreSQL by this process (transactions included). */
export const statements = { count: 0 };
const clientQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements.count++;
  return (clientQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;
function countQueries(db: Db): void {
  for (const method of ['query', 'one', 'execute'] as const) {
    const original = db[method].bind(db) as (sql: string, params?: unknown[]) => Promise<unknown>;
    (db as unknown as Record<string, unknown>)[method] = async (sql: string, params?: unknown[]) => {
      const t0 = performance.now();
      try {
        return await original(sql, params);
      } finally {
        const key = sql.replace(/\s+/g, ' ').slice(0, 100);
        const entry = queryCounts.get(key) ?? { count: 0, ms: 0 };
        entry.count++;
        entry.ms += performance.now() - t0;
        queryCounts.set(key, entry);
      }
    };
  }
}

/** A node of a deployment under test (load-tests/parts/cluster.ts): a database and Redis prefix shared with other nodes. */
export interface BenchNodeOptions {
  /** The shared, migrated database (made and dropped by the driver). */
  databaseUrl: string;
  /** The shared Redis prefix (deleted by the driver). */
  prefix: string;
  /** Seed the demo school (one node does). */
  seed: boolean;
  /** The port it listens on, known to the other nodes beforehand (their allowed origins). */
  port: number;
}

/**
 * The real server as the tests build it (buildApp on a fresh PostgreSQL
 * database, its own Redis prefix, the demo school seeded), plus the baseline
 * route `GET /bench/hello` registered on the same Fastify instance, so the
 * HTTP baseline runs in the same process, on the same event loop. With `node`:
 * one node of several on a shared database and Redis prefix instead.
 */
export async function startBenchServer(env: Env = {}, node?: BenchNodeOptions): Promise<BenchServer> {
  const own = node ? undefined : await createBenchDb();
  const db = own?.db ?? (await openDb({ databaseUrl: node!.databaseUrl, pgliteDir: undefined }));
  const databaseUrl = own?.url ?? node!.databaseUrl;
  const prefix = node?.prefix ?? `bench${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'ml-bench-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
    JWT_SECRET: BENCH_JWT_SECRET,
    DATA_DIR: dataDir,
    REDIS_PREFIX: prefix,
    MEDIASOUP_WORKERS: '1',
    MEDIASOUP_PORT: '0',
    // The benchmark measures the routes, not the per-user limiters in front of them
    // (one user sends thousands of requests a second here).
    LOGIN_RATE_LIMIT_PER_MINUTE: '100000000',
    EXPENSIVE_RATE_LIMIT_PER_MINUTE: '100000000',
    ...(node ? { PORT: String(node.port) } : {}),
    ...env,
  });
  const demo = node && !node.seed ? (undefined as unknown as DemoSchool) : ((await seedDemoSchool(db)) as DemoSchool);
  if (demo) await seedDemoExtras(db, demo); // availability of the mentor and jury, a session
  if (process.env.BENCH_COUNT_QUERIES) countQueries(db);
  const app = await buildApp(config, { db, redisUrl: benchRedisUrl });
  // Baseline: a bare route on the same instance (no auth, no database).
  app.get('/bench/hello', { config: { access: 'public' } }, async () => ({ hello: 'world' }));
  await app.listen({ host: '127.0.0.1', port: node?.port ?? 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  let closed: Promise<void> | undefined;
  return {
    app,
    url,
    db,
    databaseUrl,
    config,
    demo,
    close() {
      closed ??= (async () => {
        await app.close(); // closes db too
        if (own) {
          await own.drop();
          await deleteRedisPrefix(benchRedisUrl, prefix);
        }
        rmSync(dataDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
