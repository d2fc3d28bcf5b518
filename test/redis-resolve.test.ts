import t from 'tap';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { resolveRedis } from '../src/redis/index.ts';
import { testRedisUrl } from './helpers/app.ts';

const silent = { info() {}, warn() {}, error() {} };

t.test('REDIS_URL wins over the local default', async (t) => {
  const r = await resolveRedis(testRedisUrl, '/tmp', silent, 'redis://127.0.0.1:1');
  t.equal(r.url, testRedisUrl);
});

t.test('a REDIS_URL that does not answer stops the start, naming it, its password masked', async (t) => {
  await t.rejects(resolveRedis('redis://app:hunter2@127.0.0.1:1', '/tmp', silent), {
    name: 'StartupError',
    message: /^Cannot start: REDIS_URL=redis:\/\/app:\*\*\*@127\.0\.0\.1:1 does not answer/,
  });
});

t.test('the local default is used when it answers', async (t) => {
  const r = await resolveRedis(undefined, '/tmp', silent, testRedisUrl);
  t.equal(r.url, testRedisUrl);
});

t.test('nothing answers: a private redis-server is started under the data dir and stopped', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ml-redis-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const r = await resolveRedis(undefined, dataDir, silent, 'redis://127.0.0.1:1');
  t.not(r.url, 'redis://127.0.0.1:1');
  const client = new Redis(r.url);
  t.equal(await client.set('k', 'v'), 'OK');
  await client.quit();
  await r.stop();
  t.ok(existsSync(join(dataDir, 'redis')), 'its data lives under DATA_DIR/redis');
  const probe = new Redis(r.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => undefined);
  await t.rejects(probe.connect(), 'stopped with the server');
});
