import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/server/app.ts';
import { seedDemoSchool } from '../src/school/index.ts';
import { redactUrl } from '../src/server/log-redaction.ts';
import { api, deleteRedisPrefix, isolatedConfig, testRedisUrl } from './helpers/app.ts';
import { createTestDb } from './helpers/db.ts';

t.test('request logs carry no calendar-feed secret, query token or authorization header', async (t) => {
  const { db } = await createTestDb(t);
  const demo = (await seedDemoSchool(db))!;
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'ml-data-'));
  const lines: string[] = [];
  const app = await buildApp(isolatedConfig(dataDir, prefix, { LOG_LEVEL: 'info' }), { db, redisUrl: testRedisUrl, logStream: { write: (l) => void lines.push(l) } });
  t.teardown(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    await deleteRedisPrefix(testRedisUrl, prefix);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  const login = await api(url, 'POST', '/auth/login', undefined, { email: demo.mentor.email, password: demo.mentor.password });
  const token: string = login.body.accessToken;
  const feed = await api(url, 'GET', '/calendar/feed', token);
  const feedPath = new URL(feed.body.url).pathname;
  const feedSecret = feedPath.split('/').pop()!.replace(/\.ics$/, '');
  t.equal((await fetch(`${url}${feedPath}`)).status, 200, 'the feed is served');
  await fetch(`${url}/me?token=${token}&access_token=${token}`);
  await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } });

  const log = lines.join('');
  t.match(log, /\/calendar\/\[redacted\]/, 'the feed request is logged, masked');
  t.notOk(log.includes(feedSecret), 'no feed secret in the log');
  t.notOk(log.includes(token), 'no access token in the log');
  t.notOk(log.includes(login.body.refreshToken), 'no refresh token in the log');
  t.match(log, /token=\[redacted\]/);
});

t.test('redactUrl', async (t) => {
  t.equal(redactUrl('/calendar/abc123.ics'), '/calendar/[redacted]');
  t.equal(redactUrl('/calendar/feed'), '/calendar/feed');
  t.equal(redactUrl('/x?a=1&token=s3cret&b=2'), '/x?a=1&token=[redacted]&b=2');
  t.equal(redactUrl('/x?accessToken=s3cret'), '/x?accessToken=[redacted]');
});
