import t from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/server/app.ts';
import { closeWithinDeadline } from '../src/server/shutdown.ts';
import { createTestDb, type Teardown } from './helpers/db.ts';
import { deleteRedisPrefix, isolatedConfig, testRedisUrl } from './helpers/app.ts';

// One shutdown deadline for every step: a step that hangs is left behind at
// the deadline, the steps after it still run, the database closes last, and
// the process exits. The bound asserted is the deadline itself plus a margin
// for a loaded machine (timers fire late there), not a performance target.
const DEADLINE_MS = 2_000;
const MARGIN_MS = 3_000;

const isolated = (t: Teardown) => {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'ml-data-'));
  t.teardown(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await deleteRedisPrefix(testRedisUrl, prefix);
  });
  return { prefix, dataDir };
};

t.test('a hung step and a job that never ends: the other steps still run, Redis and the database close, within the deadline', async (t) => {
  const { db } = await createTestDb(t, 'pg');
  const { prefix, dataDir } = isolated(t);
  const app = await buildApp(isolatedConfig(dataDir, prefix, { SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS) }), { db, redisUrl: testRedisUrl });
  let jobStarted!: () => void;
  const running = new Promise<void>((resolve) => (jobStarted = resolve));
  // Worker.close() waits for this job for ever: only the deadline ends the wait.
  const stuck = app.jobs.define('stuck', () => {
    jobStarted();
    return new Promise(() => undefined);
  });
  // A first step that never returns (a recorder whose FFmpeg never exits).
  app.beforeShutdown(() => new Promise(() => undefined));
  await app.listen({ host: '127.0.0.1', port: 0 });
  await stuck.add({});
  await running;

  const redisClosed = new Promise<void>((resolve) => app.redis.once('end', () => resolve()));
  const started = performance.now();
  const clean = await closeWithinDeadline(app, () => db.close());
  const tookMs = performance.now() - started;

  t.equal(clean, false, 'reported as not clean: a step was left behind');
  t.ok(tookMs < DEADLINE_MS + MARGIN_MS, `closed in ${Math.round(tookMs)} ms (deadline ${DEADLINE_MS} ms)`);
  await t.rejects(db.one('SELECT 1'), 'the database is closed');
  await redisClosed;
  t.equal(app.redis.status, 'end', 'the Redis connection is closed');
});

t.test('a real server process whose close hook never returns still closes its database and exits by the deadline', async (t) => {
  const { url } = await createTestDb(t, 'pg');
  const { prefix, dataDir } = isolated(t);
  const child = spawn(process.execPath, ['test/fixtures/hung-shutdown-server.ts'], {
    env: { ...process.env, DATABASE_URL: url!, DATA_DIR: dataDir, REDIS_PREFIX: prefix, SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const check = () => out.includes('ready') && resolve();
    child.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`fixture exited with ${code}:\n${out}`)));
  });

  const started = performance.now();
  child.kill('SIGTERM');
  const code = await exited;
  const tookMs = performance.now() - started;
  t.equal(code, 1, 'exits, saying the close was not clean');
  t.match(out, /database closed/, 'the database was closed before exiting');
  t.match(out, /shutdown deadline passed with a step still running/);
  t.ok(tookMs < DEADLINE_MS + MARGIN_MS, `exited ${Math.round(tookMs)} ms after SIGTERM (deadline ${DEADLINE_MS} ms)`);
});
