import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * BullMQ workers block on Redis and must never give up a command
 * (maxRetriesPerRequest: null); producers called from HTTP fail fast so a
 * request does not hang while Redis is away.
 */
export type RedisRole = 'worker' | 'producer' | 'general';

export function createRedis(url: string, role: RedisRole, logger: RedisLogger, name: string, extra: RedisOptions = {}): Redis {
  const options: RedisOptions = {
    ...extra,
    connectionName: name,
    maxRetriesPerRequest: role === 'worker' ? null : role === 'producer' ? 1 : 3,
    enableOfflineQueue: role !== 'producer',
    retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
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

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
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

/**
 * REDIS_URL if given; else the local default port if it answers; else a private
 * redis-server child (data under dataDir/redis, stopped with the server).
 */
export async function resolveRedis(
  configured: string | undefined,
  dataDir: string,
  logger: RedisLogger,
  local = 'redis://127.0.0.1:6379',
): Promise<ResolvedRedis> {
  if (configured) return { url: configured, stop: async () => undefined };
  if (await answers(local)) return { url: local, stop: async () => undefined };
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error(
      'Redis is required: set REDIS_URL, start Redis on 127.0.0.1:6379, or install redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis).',
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
