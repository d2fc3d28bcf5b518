import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { io as connectSocket, type Socket as ClientSocket } from 'socket.io-client';
import { buildApp } from '../../src/server/app.ts';
import { loadConfig, type AppConfig } from '../../src/server/config.ts';
import { checkFfmpeg } from '../../src/server/preflight.ts';
import { seedDemoSchool, type DemoSchool } from '../../src/school/index.ts';
import type { Db } from '../../src/db/index.ts';
import type { Env } from '../../src/shared/env.ts';
import { withRealTimers, type Clock } from '../../src/shared/clock.ts';
import { createTestDb, type Teardown } from './db.ts';
import { deleteRedisPrefix } from '../../support/redis.ts';

export const testRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

export interface TestApp {
  app: FastifyInstance;
  /** http://127.0.0.1:PORT */
  url: string;
  db: Db;
  /** postgres:// URL of this file's database (undefined on PGlite), e.g. for a second server process. */
  dbUrl: string | undefined;
  config: AppConfig;
  demo: DemoSchool;
  /** Logs in and returns an access token. */
  login(who: { email: string; password: string }): Promise<string>;
  /** A Socket.IO client on `namespace`, connected with the token; disconnected at teardown. */
  socket(token: string, namespace?: string, options?: { autoConnect?: boolean }): ClientSocket;
}

/**
 * A test's clock: a whole Clock (e.g. a ManualClock, test/helpers/clock.ts,
 * whose timers the test fires), or only `now` (timers then run in real time).
 */
export type TestClock = Clock | Pick<Clock, 'now'>;

export const toClock = (clock: TestClock): Clock => ('setTimer' in clock ? clock : withRealTimers(() => clock.now()));

export interface TestAppOptions {
  env?: Env;
  clock?: TestClock;
  store?: 'pg' | 'pglite';
  /** Seed the demo school (default true). */
  seed?: boolean;
  /** Address to listen on (default 127.0.0.1; `url` stays http://127.0.0.1:PORT unless this is a specific address). */
  host?: string;
}

/**
 * Configuration of a server isolated from every other one on the machine: its
 * own data dir and Redis key prefix, one mediasoup worker on free ports.
 */
export function isolatedConfig(dataDir: string, prefix: string, env: Env = {}): AppConfig {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: dataDir,
    REDIS_PREFIX: prefix,
    MEDIASOUP_WORKERS: '1',
    MEDIASOUP_PORT: '0',
    // Tests' webhook receivers listen on loopback, refused by default (SSRF guard).
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1,::1,localhost',
    ...env,
  });
  // The server refuses to start without FFmpeg (npm start checks it too): so does a
  // test server, failing with the line that installs it rather than a recorder timeout.
  checkFfmpeg(config.recording);
  return config;
}

export { deleteRedisPrefix };

/**
 * The real server for one test file: its own database, its own Redis key
 * prefix (BullMQ queues, Socket.IO streams), listening on a free port, closed
 * and cleaned at teardown.
 */
export async function startTestApp(t: Teardown, options: TestAppOptions = {}): Promise<TestApp> {
  const { db, url: dbUrl } = await createTestDb(t, options.store ?? 'pg');
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'ml-data-'));
  const config = isolatedConfig(dataDir, prefix, options.env);
  const demo = options.seed === false ? undefined : await seedDemoSchool(db);
  const app = await buildApp(config, { db, redisUrl: testRedisUrl, ...(options.clock ? { clock: toClock(options.clock) } : {}) });
  const sockets: ClientSocket[] = [];
  t.teardown(async () => {
    for (const s of sockets) s.disconnect();
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    await deleteRedisPrefix(testRedisUrl, prefix);
  });
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: 0 });
  const address = app.server.address();
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${typeof address === 'object' && address ? address.port : 0}`;

  return {
    app,
    url,
    db,
    dbUrl,
    config,
    demo: demo as DemoSchool,
    async login(who) {
      const res = await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: who.email, password: who.password }),
      });
      if (res.status !== 200) throw new Error(`login of ${who.email} failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { accessToken: string }).accessToken;
    },
    socket(token, namespace = '/', opts = {}) {
      const s = connectSocket(`${url}${namespace}`, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false, autoConnect: opts.autoConnect ?? true });
      sockets.push(s);
      return s;
    },
  };
}

/** Emits a request and resolves with its ack (`{ data }` or `{ error }`). */
export function request<T = unknown>(socket: ClientSocket, event: string, payload?: unknown, timeoutMs = 10_000): Promise<{ data?: T; error?: { code: string; message: string } }> {
  return socket.timeout(timeoutMs).emitWithAck(event, payload ?? {}) as Promise<{ data?: T; error?: { code: string; message: string } }>;
}

/** Resolves when `socket` receives `event` (optionally matching), rejects after timeoutMs. */
export function nextEvent<T = unknown>(socket: ClientSocket, event: string, match: (payload: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`timed out waiting for ${event}`));
    }, timeoutMs);
    const listener = (payload: T) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(payload);
    };
    socket.on(event, listener);
  });
}

/** fetch with a bearer token and JSON body. */
export async function api(base: string, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
