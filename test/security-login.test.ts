import t from 'tap';
import { buildApp } from '../src/server/app.ts';
import { openDb } from '../src/db/index.ts';
import { startTestApp, testRedisUrl } from './helpers/app.ts';

let n = 0;
/** A login from a client claiming a fresh X-Forwarded-For address each time (unless `forwardedFor` is given). */
async function loginFrom(base: string, email: string, password: string, forwardedFor = `198.51.100.${++n % 250}`) {
  const res = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ email, password }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { code?: string; detail?: string } };
}

t.test('TRUST_PROXY off (default): forwarded headers are ignored and the limit is shared by every node', async (t) => {
  const a = await startTestApp(t, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '4' } });
  t.same(a.config.trustProxy, [], 'no proxy trusted by default');
  // A second node on the same Redis prefix and database, as behind a load balancer.
  const dbB = await openDb({ databaseUrl: a.dbUrl, pgliteDir: undefined });
  const appB = await buildApp(a.config, { db: dbB, redisUrl: testRedisUrl });
  t.teardown(() => appB.close());
  await appB.listen({ host: '127.0.0.1', port: 0 });
  const urlB = `http://127.0.0.1:${(appB.server.address() as { port: number }).port}`;

  const { email } = a.demo.student;
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await loginFrom(i % 2 === 0 ? a.url : urlB, email, 'wrong-password')).status);
  t.same(statuses, [401, 401, 401, 401], 'four attempts over two nodes, each with a fresh X-Forwarded-For');
  const limited = await loginFrom(urlB, a.demo.mentor.email, a.demo.mentor.password);
  t.equal(limited.status, 429, 'the fifth, even with the right password of another account and a new header, is refused');
  t.match(limited.headers.get('content-type'), /^application\/problem\+json/);
  t.equal(limited.body.code, 'login_rate_limited');
  const retryAfter = Number(limited.headers.get('retry-after'));
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After in seconds (${retryAfter})`);
  t.equal((await loginFrom(a.url, email, a.demo.student.password)).status, 429, 'node A refuses too');
});

t.test('TRUST_PROXY set: the proxy\'s X-Forwarded-For is the client; failures per account are limited whatever the address', async (t) => {
  const c = await startTestApp(t, { env: { TRUST_PROXY: '127.0.0.1/8, ::1', LOGIN_RATE_LIMIT_PER_MINUTE: '4', LOGIN_ACCOUNT_FAILURE_LIMIT: '3' } });
  const mentor = c.demo.mentor;
  for (let i = 0; i < 3; i++) t.equal((await loginFrom(c.url, mentor.email, 'wrong-password')).status, 401);
  const locked = await loginFrom(c.url, mentor.email.toUpperCase(), mentor.password);
  t.equal(locked.status, 429, 'the fourth login of the account is refused from a new address, right password or not');
  t.equal(locked.body.code, 'login_rate_limited');
  t.ok(Number(locked.headers.get('retry-after')) > 60, 'until the account window (15 minutes by default) ends');
  t.equal((await loginFrom(c.url, c.demo.student.email, c.demo.student.password)).status, 200, 'another account from another address is not affected');

  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await loginFrom(c.url, c.demo.student.email, c.demo.student.password, '203.0.113.7')).status);
  t.same(statuses, [200, 200, 200, 200, 429], 'one forwarded address is limited on its own');
});

t.test('TRUST_PROXY refuses what is not an address or CIDR', async (t) => {
  const { loadConfig } = await import('../src/server/config.ts');
  t.throws(() => loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40), TRUST_PROXY: 'true' }), /TRUST_PROXY/);
  t.throws(() => loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40), TRUST_PROXY: '10.0.0.0/33' }), /TRUST_PROXY/);
  t.same(loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40), TRUST_PROXY: '10.0.0.0/8, 192.168.1.2' }).trustProxy, ['10.0.0.0/8', '192.168.1.2']);
});
