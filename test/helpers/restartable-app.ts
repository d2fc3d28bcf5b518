import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { io as connectSocket, type Socket as ClientSocket } from 'socket.io-client';
import { buildApp } from '../../src/server/app.ts';
import type { AppConfig } from '../../src/server/config.ts';
import { openDb, type Db } from '../../src/db/index.ts';
import { seedDemoSchool, type DemoSchool } from '../../src/school/index.ts';
import type { Env } from '../../src/shared/env.ts';
import { createTestDb, type Teardown } from './db.ts';
import { deleteRedisPrefix, isolatedConfig, testRedisUrl, toClock, type TestClock } from './app.ts';

export interface RunningApp {
  app: FastifyInstance;
  url: string;
  db: Db;
}

export interface RestartableApp {
  config: AppConfig;
  demo: DemoSchool;
  /** The server running now (changes after restart()). */
  current(): RunningApp;
  /**
   * Closes the running server and starts a new one on the same database and
   * Redis prefix (what a deploy or a crash-restart does).
   */
  restart(options?: { runWorkers?: boolean }): Promise<RunningApp>;
  login(who: { email: string; password: string }): Promise<string>;
  /** A Socket.IO client of the current server; disconnected at teardown. */
  socket(token: string, namespace?: string): ClientSocket;
}

/**
 * Like startTestApp, but the server can be restarted on the same PostgreSQL
 * database and Redis prefix, e.g. to prove that delayed jobs survive.
 * `runWorkers: false` for the first server keeps it from processing jobs.
 */
export async function startRestartableApp(
  t: Teardown,
  options: { env?: Env; clock?: TestClock; runWorkers?: boolean } = {},
): Promise<RestartableApp> {
  const { db: firstDb, url: dbUrl } = await createTestDb(t, 'pg');
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'ml-data-'));
  const config = isolatedConfig(dataDir, prefix, options.env);
  const demo = (await seedDemoSchool(firstDb)) as DemoSchool;
  const sockets: ClientSocket[] = [];

  const start = async (db: Db, runWorkers: boolean): Promise<RunningApp> => {
    const app = await buildApp(config, { db, redisUrl: testRedisUrl, runWorkers, ...(options.clock ? { clock: toClock(options.clock) } : {}) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    return { app, db, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
  };

  let running = await start(firstDb, options.runWorkers ?? true);

  t.teardown(async () => {
    for (const s of sockets) s.disconnect();
    await running.app.close();
    rmSync(dataDir, { recursive: true, force: true });
    await deleteRedisPrefix(testRedisUrl, prefix);
  });

  return {
    config,
    demo,
    current: () => running,
    async restart(restartOptions = {}) {
      for (const s of sockets.splice(0)) s.disconnect();
      await running.app.close(); // closes its database connection too
      const db = await openDb({ databaseUrl: dbUrl, pgliteDir: undefined });
      running = await start(db, restartOptions.runWorkers ?? true);
      return running;
    },
    async login(who) {
      const res = await fetch(`${running.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: who.email, password: who.password }),
      });
      if (res.status !== 200) throw new Error(`login of ${who.email} failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { accessToken: string }).accessToken;
    },
    socket(token, namespace = '/') {
      const s = connectSocket(`${running.url}${namespace}`, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false });
      sockets.push(s);
      return s;
    },
  };
}
