import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Teardown } from './db.ts';

/**
 * A private HAProxy (Debian's `haproxy` package) running the documented
 * configuration, docs/haproxy.cfg, unchanged: the addresses it binds and the
 * nodes it balances over come from its environment ("${NODE1_ADDR}" etc.,
 * which HAProxy expands itself), so the file in docs is the file tested.
 */
export const haproxyPath = process.env.HAPROXY_PATH ?? '/usr/sbin/haproxy';
export const HAPROXY_MISSING = `HAProxy is not installed (no ${haproxyPath}): sudo apt-get install -y --no-install-recommends haproxy (\`npm test\` does it when it can: scripts/system-packages.txt, group browser), or set HAPROXY_PATH`;
export const documentedConfig = join(import.meta.dirname, '..', '..', 'docs', 'haproxy.cfg');

export interface Haproxy {
  /** What HAProxy logged so far (its log goes to stdout: requests, server state changes). */
  log(): string;
  /** Resolves with the first log line matching `re` (already logged or to come). */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
}

const accepts = (hostPort: string) =>
  new Promise<boolean>((resolve) => {
    const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(':')), Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))];
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * Starts `haproxy -db -f docs/haproxy.cfg` (foreground, no daemon) with `env`
 * and resolves once every address in `binds` accepts connections. A missing
 * binary fails with the line that installs it. Stopped at teardown.
 */
export async function startHaproxy(t: Teardown, env: Record<string, string>, binds: string[]): Promise<Haproxy> {
  if (!existsSync(haproxyPath)) throw new Error(HAPROXY_MISSING);
  const child = spawn(haproxyPath, ['-db', '-f', documentedConfig], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters = new Set<() => void>();
  const append = (d: Buffer) => {
    out += d;
    for (const w of waiters) w();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${out}`);
    if ((await Promise.all(binds.map(accepts))).every(Boolean)) break;
    if (Date.now() > deadline) throw new Error(`haproxy does not listen on ${binds.join(', ')}:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    log: () => out,
    waitForLog: (re, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const line = out.split('\n').find((l) => re.test(l));
          if (line === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(line);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`haproxy logged no line matching ${re} within ${timeoutMs} ms:\n${out.slice(-3000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}
