import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { StartupError } from '../shared/env.ts';

export interface RedisLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

/**
 * BullMQ workers block on Redis and must never give up a command
 * (maxRetriesPerRequest: null); producers called from HTTP fail fast so a
 * request does not hang while Redis is away.
 */
export type RedisRole = 'worker' | 'producer' | 'general';

/**
 * Reconnect delay: quick at first, then once a second for ever. Never null:
 * a client that gives up would leave the process running without Redis until
 * it is restarted (the fault that makes a Redis blip restart every node).
 * Capped at a second so that, after an outage, every node is back within
 * about a second of Redis (lease re-assertion and registry publication follow
 * the reconnect; src/rooms/plugin.ts).
 */
export const retryStrategy = (attempt: number): number => Math.min(attempt * 100, 1_000);

export function createRedis(url: string, role: RedisRole, logger: RedisLogger, name: string, extra: RedisOptions = {}): Redis {
  const options: RedisOptions = {
    ...extra,
    connectionName: name,
    maxRetriesPerRequest: role === 'worker' ? null : role === 'producer' ? 1 : 3,
    enableOfflineQueue: role !== 'producer',
    retryStrategy,
  };
  const client = new Redis(url, options);
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) logger.warn({ err: err.message, name }, 'redis connection error; retrying');
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info({ name }, 'redis connection restored');
    down = false;
  });
  return client;
}

async function answers(url: string, connectTimeout = 500): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface ResolvedRedis {
  url: string;
  /** Stops the private redis-server, if one was started. */
  stop(): Promise<void>;
}

/** A URL as it may be printed: its password masked. */
const shown = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]+@/, '//$1:***@');

/**
 * REDIS_URL if given and it answers (a StartupError naming it otherwise,
 * within seconds, rather than clients retrying for ever); else the local
 * default port if it answers; else a private redis-server child (data under
 * dataDir/redis, stopped with the server).
 */
export async function resolveRedis(
  configured: string | undefined,
  dataDir: string,
  logger: RedisLogger,
  local = 'redis://127.0.0.1:6379',
): Promise<ResolvedRedis> {
  if (configured) {
    if (!(await answers(configured, 3_000))) throw new StartupError('REDIS_URL', shown(configured), 'does not answer PING within 3 s; start that Redis or correct REDIS_URL');
    return { url: configured, stop: async () => undefined };
  }
  if (await answers(local)) return { url: local, stop: async () => undefined };
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new StartupError(
      'REDIS_URL',
      '(unset)',
      `but nothing answers on ${local} and redis-server is not installed; set REDIS_URL, start Redis, or install redis-server (Debian: sudo apt-get install -y redis-server, which \`npm install\` does when it can)`,
    );
  }
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '60 1', '--appendonly', 'yes'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await answers(url)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await answers(url))) {
    child.kill('SIGTERM');
    throw new Error(`Started redis-server on port ${port} but it does not answer`);
  }
  logger.info({ url, dir }, 'started a private redis-server');
  return {
    url,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM'); // redis saves on SIGTERM
      }),
  };
}
