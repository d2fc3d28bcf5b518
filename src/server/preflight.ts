/**
 * Checks `npm start` runs before it opens anything: the ports it will listen
 * on, the FFmpeg it will record with, and that no other server uses the same
 * embedded store. Each failure is a StartupError naming the setting to change
 * and its value, and happens before migrations or the demo seed touch the
 * store, so a refused start leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { StartupError } from '../shared/env.ts';
import type { RecordingConfig } from '../recording/config.ts';
import type { AppConfig } from './config.ts';

type Protocol = 'tcp' | 'udp';

/** Binds host:port once and lets it go; resolves with the bind error's code, or undefined when free. */
function bindProbe(protocol: Protocol, host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const failed = (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message);
    if (protocol === 'tcp') {
      const server = createServer();
      server.once('error', failed);
      server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
    } else {
      const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
      socket.once('error', (err) => {
        socket.close();
        failed(err);
      });
      socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve(undefined)));
    }
  });
}

/** Why a bind failed, in words, naming the variable that holds the address when that is the cause. */
function refuse(setting: string, value: string, code: string, what: string, addressSetting: string, host: string): StartupError {
  if (code === 'EADDRINUSE') return new StartupError(setting, value, `is in use on ${host} (${what}; another server, perhaps another Mentor Live, listens there); stop it or set ${setting} to a free port`);
  if (code === 'EADDRNOTAVAIL') return new StartupError(addressSetting, host, `is not an address of this machine; set ${addressSetting} to one of its addresses (127.0.0.1 or 0.0.0.0)`);
  if (code === 'EACCES') return new StartupError(setting, value, `needs privileges to bind (${what}); set ${setting} to a port above 1023`);
  return new StartupError(setting, value, `cannot be bound on ${host} (${what}: ${code})`);
}

export async function checkPorts(config: AppConfig): Promise<void> {
  // Port 0 too: it still tells whether HOST is an address of this machine.
  const code = await bindProbe('tcp', config.host, config.port);
  if (code) throw refuse('PORT', String(config.port), code, `TCP port ${config.port}`, 'HOST', config.host);
  const { webRtcServerPort: first, workers, listenIp } = config.rooms;
  if (first === 0) return;
  for (let i = 0; i < workers; i++) {
    for (const protocol of ['udp', 'tcp'] as const) {
      const code = await bindProbe(protocol, listenIp, first + i);
      const what = `${protocol.toUpperCase()} port ${first + i}${workers > 1 ? `, where mediasoup worker ${i + 1} of ${workers} listens: MEDIASOUP_PORT + ${i}` : ''}`;
      if (code) throw refuse('MEDIASOUP_PORT', String(first), code, what, 'MEDIASOUP_LISTEN_IP', listenIp);
    }
  }
}

/** The recorders' FFmpeg must run: recordings would otherwise fail only when someone presses Record. */
export function checkFfmpeg({ ffmpegPath, ffprobePath }: Pick<RecordingConfig, 'ffmpegPath' | 'ffprobePath'>): void {
  for (const [setting, path] of [
    ['FFMPEG_PATH', ffmpegPath],
    ['FFPROBE_PATH', ffprobePath],
  ] as const) {
    const run = spawnSync(path, ['-version'], { stdio: 'ignore', timeout: 10_000 });
    if (run.error || run.status !== 0) {
      throw new StartupError(setting, path, `does not run (${run.error ? ((run.error as NodeJS.ErrnoException).code ?? run.error.message) : `exit ${run.status}`}); install FFmpeg (Debian: sudo apt-get install -y ffmpeg, which \`npm install\` does when it can) or set ${setting}`);
    }
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * One server per embedded store: two processes writing one PGlite directory
 * corrupt it. A lock file holds the owner's pid; a stale one (its process
 * gone) is taken over. Returns the release function.
 */
export function lockEmbeddedStore(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'pglite.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new StartupError('DATA_DIR', dataDir, `is in use by another running server (pid ${owner}, ${file}); stop it, or set DATA_DIR to another folder or DATABASE_URL to a PostgreSQL server`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new StartupError('DATA_DIR', dataDir, `cannot be locked (${file})`);
}
