import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { api, testRedisUrl } from './helpers/app.ts';
import type { Teardown } from './helpers/db.ts';
import { freePort, startServerProcess } from './helpers/server-process.ts';

/**
 * Starts the server as `npm start` does and waits for it to give up: the exit
 * code, everything it printed, and how long it took (printed, not asserted: a
 * loaded machine is slow; 60 s is a deadline for a hang).
 */
async function refusedStart(env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['src/server/main.ts', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after 60 s:\n${output}`));
    }, 60_000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, output, ms: Date.now() - started };
}

/** A DATA_DIR of its own, removed at teardown. */
function dataDirFor(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'ml-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
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
  const [port, mediaPort] = [await freePort(), await freePort()];
  const env = { DATA_DIR: dataDir, PORT: String(port), REDIS_URL: testRedisUrl, REDIS_PREFIX: prefix, LOG_LEVEL: 'warn', MEDIASOUP_WORKERS: '1', MEDIASOUP_PORT: String(mediaPort) };
  const url = `http://127.0.0.1:${port}`;

  const first = await startServerProcess(env);
  t.match(first.output(), /student@demo\.school\s+student-demo-1/, 'prints the demo logins');
  t.match(first.output(), /embedded PGlite/);
  t.equal((await api(url, 'GET', '/health')).body.store, 'pglite');
  const login = await api(url, 'POST', '/auth/login', undefined, { email: 'student@demo.school', password: 'student-demo-1' });
  t.equal(login.status, 200);
  const changed = await api(url, 'PATCH', '/me', login.body.accessToken, { timeZone: 'America/Vancouver' });
  t.equal(changed.status, 200);

  // While it runs, `npm start` again is refused at once, naming what to change, and opens nothing.
  await t.test('a second server on the same ports or the same embedded store exits 1 naming PORT, MEDIASOUP_PORT or DATA_DIR', async (t) => {
    const otherDir = dataDirFor(t);
    const samePorts = await refusedStart({ ...env, DATA_DIR: otherDir });
    t.equal(samePorts.code, 1);
    t.match(samePorts.output.trim(), new RegExp(`^Cannot start: PORT=${port} is in use on 127\\.0\\.0\\.1 \\(TCP port ${port};.*set PORT to a free port$`), 'one line naming PORT and its value');
    t.comment(`PORT refusal took ${samePorts.ms} ms`);

    const otherPort = String(await freePort());
    const sameMedia = await refusedStart({ ...env, DATA_DIR: otherDir, PORT: otherPort });
    t.equal(sameMedia.code, 1);
    t.match(sameMedia.output.trim(), new RegExp(`^Cannot start: MEDIASOUP_PORT=${mediaPort} is in use on 127\\.0\\.0\\.1 \\(UDP port ${mediaPort};.*set MEDIASOUP_PORT to a free port$`));
    t.comment(`MEDIASOUP_PORT refusal took ${sameMedia.ms} ms`);
    t.notOk(existsSync(join(otherDir, 'pglite')), 'the refused starts opened no store');

    const sameStore = await refusedStart({ ...env, PORT: otherPort, MEDIASOUP_PORT: '0' });
    t.equal(sameStore.code, 1);
    t.match(sameStore.output.trim(), new RegExp(`^Cannot start: DATA_DIR=${dataDir} is in use by another running server \\(pid ${first.child.pid},`));
  });
  t.equal(await stop(first.child), 0, 'SIGTERM exits cleanly');

  const second = await startServerProcess(env);
  t.notMatch(second.output(), /Demo school seeded/, 'does not seed again');
  t.match(second.output(), /student@demo\.school\s+student-demo-1/, 'every start prints the demo logins, not only the first');
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

t.test('unreachable database or Redis, missing FFmpeg: exit 1 with the setting and its value', async (t) => {
  const closed = await freePort(); // nothing listens there
  const base = { PORT: '0', MEDIASOUP_PORT: '0', MEDIASOUP_WORKERS: '1', REDIS_URL: testRedisUrl, LOG_LEVEL: 'warn' };
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ REDIS_URL: `redis://user:pw-secret@127.0.0.1:${closed}` }, new RegExp(`^Cannot start: REDIS_URL=redis://user:\\*\\*\\*@127\\.0\\.0\\.1:${closed} does not answer`)],
    [{ DATABASE_URL: `postgres://postgres:pw-secret@127.0.0.1:${closed}/x` }, new RegExp(`^Cannot start: DATABASE_URL=postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${closed}/x does not answer \\(connect ECONNREFUSED`)],
    [{ FFMPEG_PATH: '/nonexistent/ffmpeg' }, /^Cannot start: FFMPEG_PATH=\/nonexistent\/ffmpeg does not run \(ENOENT\); install FFmpeg/],
    [{ HOST: '10.255.255.1' }, /^Cannot start: HOST=10\.255\.255\.1 is not an address of this machine/],
  ];
  await Promise.all(
    cases.map(async ([env, line]) => {
      const run = await refusedStart({ ...base, DATA_DIR: dataDirFor(t), ...env });
      t.equal(run.code, 1, Object.keys(env)[0]!);
      t.match(run.output.trim(), line);
      t.notMatch(run.output, /pw-secret/, 'no password printed');
      t.equal(run.output.trim().split('\n').length, 1, 'one line');
    }),
  );
});

t.test('npm start -- --print-config: every variable, set or default, secrets masked', async (t) => {
  const run = await refusedStart({ DATA_DIR: dataDirFor(t), JWT_SECRET: 'printed-never-0123456789-0123456789-0123', PORT: '4123' }, ['--print-config']);
  t.equal(run.code, 0);
  t.match(run.output, /^PORT=4123\s+# set$/m);
  t.match(run.output, /^JWT_SECRET=\*{8}\s+# set$/m);
  t.match(run.output, /^ROOM_ICE_SERVERS=\s+# default: none$/m);
  t.notMatch(run.output, /printed-never/);
});
