import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../../support/cluster.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Teardown } from './db.ts';

export { freePort };

/**
 * The environment of a server process on this test's database and Redis: its
 * own data dir (removed at teardown) and a free port; `url` is where it listens.
 */
export async function serverProcessEnv(
  t: Teardown,
  options: { databaseUrl: string; redisUrl: string; redisPrefix: string },
): Promise<{ env: Record<string, string>; url: string; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ml-process-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const env = {
    DATABASE_URL: options.databaseUrl,
    DATA_DIR: dataDir,
    PORT: String(port),
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.redisPrefix,
    LOG_LEVEL: 'warn',
    MEDIASOUP_WORKERS: '1',
    MEDIASOUP_PORT: '0',
    // Tests' webhook receivers listen on loopback, refused by default (SSRF guard).
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1,::1,localhost',
  };
  return { env, url: `http://127.0.0.1:${port}`, dataDir };
}

export interface ServerProcess {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
}

/** Starts the server exactly as `npm start` does (src/server/main.ts) and waits for its URL line. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['src/server/main.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 120_000);
    child.stdout!.on('data', () => {
      if (out.includes('is running at')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  return { child, output: () => out };
}

/** Sends `signal` (SIGTERM by default) and resolves with the exit code (null when killed by a signal). */
export const stopProcess = (child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });

export interface PrivateRedis {
  url: string;
  /** Freezes the server (SIGSTOP): connections stay open, no command is answered. */
  pause(): void;
  /** Thaws it (SIGCONT). */
  resume(): void;
  /** Kills the server (SIGKILL): every connection drops, and with no persistence its data is gone. */
  kill(): Promise<void>;
  /** Starts a new, empty server on the same port (after `kill`); resolves once it answers PING. */
  restart(): Promise<void>;
}

/**
 * A redis-server of this test alone, on a free port in a temp dir, stopped at
 * teardown: for tests that must stop, freeze or restart Redis without touching
 * the shared one. No persistence: a restart starts empty, as a Redis without
 * AOF/RDB (or a failed-over replica that lagged) does.
 */
export async function startPrivateRedis(t: Teardown): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'ml-redis-'));
  const port = await freePort();
  const spawnRedis = () =>
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
  let child = spawnRedis();
  t.teardown(async () => {
    child.kill('SIGCONT');
    await stopProcess(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `redis://127.0.0.1:${port}`;
  const answering = async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      for (let i = 0; ; i++) {
        try {
          if (probe.status !== 'ready') await probe.connect();
          await probe.ping();
          return;
        } catch (err) {
          if (i >= 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      probe.disconnect();
    }
  };
  await answering();
  return {
    url,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    kill: async () => {
      await stopProcess(child, 'SIGKILL');
    },
    restart: async () => {
      if (child.exitCode === null && child.signalCode === null) throw new Error('redis-server is still running');
      child = spawnRedis();
      await answering();
    },
  };
}
