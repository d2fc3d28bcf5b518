import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { api, testRedisUrl } from './helpers/app.ts';

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });

/** Starts the server exactly as `npm start` does (src/server/main.ts) and waits for its URL line. */
async function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['src/server/main.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
    const check = () => {
      if (out.includes('is running at')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  return { child, output: () => out };
}

const stop = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });

t.test('npm start on an empty data dir: embedded store, demo logins, clean SIGTERM, data kept across restarts', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ml-start-'));
  const prefix = `tp${randomBytes(3).toString('hex')}`;
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const env = { DATA_DIR: dataDir, PORT: String(port), REDIS_URL: testRedisUrl, REDIS_PREFIX: prefix, LOG_LEVEL: 'warn', MEDIASOUP_WORKERS: '1', MEDIASOUP_PORT: '0' };
  const url = `http://127.0.0.1:${port}`;

  const first = await startServer(env);
  t.match(first.output(), /student@demo\.school\s+student-demo-1/, 'prints the demo logins');
  t.match(first.output(), /embedded PGlite/);
  t.equal((await api(url, 'GET', '/health')).body.store, 'pglite');
  const login = await api(url, 'POST', '/auth/login', undefined, { email: 'student@demo.school', password: 'student-demo-1' });
  t.equal(login.status, 200);
  const changed = await api(url, 'PATCH', '/me', login.body.accessToken, { timeZone: 'America/Vancouver' });
  t.equal(changed.status, 200);
  t.equal(await stop(first.child), 0, 'SIGTERM exits cleanly');

  const second = await startServer(env);
  t.notMatch(second.output(), /Demo school seeded/, 'does not seed again');
  const again = await api(url, 'POST', '/auth/login', undefined, { email: 'student@demo.school', password: 'student-demo-1' });
  t.equal(again.status, 200);
  t.equal(again.body.user.timeZone, 'America/Vancouver', 'the change survived the restart');
  t.equal(await stop(second.child), 0);
});

t.test('a wrong configuration value stops the server with the variable named', async (t) => {
  const child = spawn(process.execPath, ['src/server/main.ts'], { env: { ...process.env, PORT: 'abc' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.equal(code, 1);
  t.match(err, /PORT must be an integer/);
});
