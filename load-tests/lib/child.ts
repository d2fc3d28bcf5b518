import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));

export interface ServerStats {
  elapsedMs: number;
  /** CPU of the Node process, % of one core. */
  cpuPercent: number;
  /** Event-loop utilisation 0..1. */
  elu: number;
  rss: number;
  heapUsed: number;
  external: number;
  workers: Array<{ pid: number; cpuPercent: number; rss: number }>;
  /** FFmpeg recorders (children reading an SDP). */
  recorders: Array<{ pid: number; cpuPercent: number; rss: number; pss: number }>;
}

export interface ServerHandle {
  url: string;
  pid: number;
  demo: any;
  /** The server's fresh database (app mode). */
  databaseUrl: string | undefined;
  call<T = unknown>(cmd: string, args?: unknown): Promise<T>;
  mark(): Promise<void>;
  stats(gc?: boolean): Promise<ServerStats>;
  close(): Promise<void>;
  /** kill -9 of the server process (its mediasoup worker and FFmpeg children are killed after it, as orphans). */
  kill(): Promise<void>;
}

export interface ServerOptions {
  /** Script to fork (default load-tests/server.ts). */
  script?: string;
  mode?: 'app' | 'echo' | 'bare-media' | 'node';
  /** Node mode: the shared database and Redis prefix (load-tests/harness.ts BenchNodeOptions). */
  node?: { databaseUrl: string; prefix: string; seed: boolean; port: number };
  /** Environment given to loadConfig in the server (app mode). */
  env?: Record<string, string>;
  /** Write a V8 CPU profile of the server into this folder. */
  cpuProfileDir?: string;
  cpuProfileName?: string;
}

/** Every process under `pid` (children, grandchildren…), from pgrep. */
function descendants(pid: number): number[] {
  let out: number[] = [];
  try {
    out = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return out.flatMap((c) => [c, ...descendants(c)]);
}

export const SINK_SCRIPT = join(here, '..', 'sink.ts');

/** Starts load-tests/server.ts (or another script speaking the same IPC) as a child process. */
export async function startServer(options: ServerOptions = {}): Promise<ServerHandle> {
  const execArgv = ['--expose-gc', '--max-old-space-size=4096'];
  if (options.cpuProfileDir) {
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
    if (options.cpuProfileName) execArgv.push(`--cpu-prof-name=${options.cpuProfileName}`);
  }
  const child: ChildProcess = fork(options.script ?? join(here, '..', 'server.ts'), [options.mode ?? 'app'], {
    execArgv,
    env: { ...process.env, BENCH_SERVER_ENV: JSON.stringify(options.env ?? {}), ...(options.node ? { BENCH_NODE: JSON.stringify(options.node) } : {}) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let seq = 0;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let exited = false;
  child.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: string }) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(`server: ${msg.error}`));
  });
  const exitPromise = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exited = true;
      for (const p of pending.values()) p.reject(new Error(`server exited with ${code}`));
      pending.clear();
      resolve();
    }),
  );
  const call = <T>(cmd: string, args?: unknown, id = ++seq): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(new Error('server has exited'));
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (id !== 0) child.send({ id, cmd, args });
    });
  const info = await call<{ url: string; demo?: unknown; databaseUrl?: string }>('start', undefined, 0);
  return {
    url: info.url,
    databaseUrl: info.databaseUrl,
    pid: child.pid!,
    demo: info.demo,
    call,
    async mark() {
      await call('mark');
    },
    stats(gc = false) {
      return call<ServerStats>('stats', { gc });
    },
    async kill() {
      if (exited) return;
      const children = descendants(child.pid!);
      child.kill('SIGKILL');
      await exitPromise;
      for (const pid of children) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    },
    async close() {
      if (exited) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await call('close').catch(() => undefined);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
