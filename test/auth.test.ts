import t from 'tap';
import { createHmac } from 'node:crypto';
import { api, startTestApp, TEST_JWT_SECRET } from './helpers/app.ts';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const sign = (header: object, payload: object, secret: string) => {
  const unsigned = `${b64(header)}.${b64(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
};

t.test('login, tokens and refresh', async (t) => {
  const { url, demo, login, db } = await startTestApp(t);

  t.test('login succeeds with the right password and returns the user', async (t) => {
    const res = await api(url, 'POST', '/auth/login', undefined, { email: demo.student.email, password: demo.student.password });
    t.equal(res.status, 200);
    t.equal(res.body.user.id, demo.student.id);
    t.equal(res.body.user.role, 'student');
    t.equal(res.body.user.timeZone, 'America/Montreal');
    t.equal(res.body.tokenType, 'Bearer');
    const me = await api(url, 'GET', '/me', res.body.accessToken);
    t.equal(me.status, 200);
    t.equal(me.body.email, demo.student.email);
  });

  t.test('a wrong password and an unknown e-mail get the same 401 problem', async (t) => {
    for (const body of [
      { email: demo.student.email, password: 'wrong' },
      { email: 'nobody@demo.school', password: 'whatever' },
    ]) {
      const res = await api(url, 'POST', '/auth/login', undefined, body);
      t.equal(res.status, 401);
      t.match(res.headers.get('content-type'), /^application\/problem\+json/);
      t.equal(res.body.code, 'invalid_credentials');
    }
  });

  t.test('malformed bodies get 400 problem+json', async (t) => {
    const missing = await api(url, 'POST', '/auth/login', undefined, { email: demo.student.email });
    t.equal(missing.status, 400);
    t.equal(missing.body.code, 'validation_failed');
    t.match(missing.headers.get('content-type'), /^application\/problem\+json/);
    const notJson = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":' });
    t.equal(notJson.status, 400);
    t.equal(((await notJson.json()) as { code: string }).code, 'malformed_body');
    const badEmail = await api(url, 'POST', '/auth/login', undefined, { email: 'not-an-email', password: 'x' });
    t.equal(badEmail.status, 400);
  });

  t.test('refresh rotates the token; the old one is revoked, and reusing it revokes all', async (t) => {
    const first = await api(url, 'POST', '/auth/login', undefined, { email: demo.mentor.email, password: demo.mentor.password });
    const second = await api(url, 'POST', '/auth/refresh', undefined, { refreshToken: first.body.refreshToken });
    t.equal(second.status, 200);
    t.not(second.body.refreshToken, first.body.refreshToken);
    // Past the grace of parallel refreshes (REFRESH_GRACE_SECONDS, test/security-refresh.test.ts).
    await db.execute(`UPDATE refresh_tokens SET revoked_at = revoked_at - interval '1 hour' WHERE revoked_at IS NOT NULL`);
    const reuse = await api(url, 'POST', '/auth/refresh', undefined, { refreshToken: first.body.refreshToken });
    t.equal(reuse.status, 401);
    t.equal(reuse.body.code, 'refresh_token_revoked');
    const afterTheft = await api(url, 'POST', '/auth/refresh', undefined, { refreshToken: second.body.refreshToken });
    t.equal(afterTheft.status, 401, 'the token issued from the stolen one is revoked too');
  });

  t.test('logout revokes the refresh token', async (t) => {
    const res = await api(url, 'POST', '/auth/login', undefined, { email: demo.mentor.email, password: demo.mentor.password });
    t.equal((await api(url, 'POST', '/auth/logout', undefined, { refreshToken: res.body.refreshToken })).status, 204);
    const again = await api(url, 'POST', '/auth/refresh', undefined, { refreshToken: res.body.refreshToken });
    t.equal(again.status, 401);
  });

  t.test('missing, expired, tampered and alg-none tokens are refused', async (t) => {
    const good = await login(demo.student);
    t.equal((await api(url, 'GET', '/me')).body.code, 'token_missing');

    const now = Math.floor(Date.now() / 1000);
    const expired = sign({ alg: 'HS256', typ: 'JWT' }, { sub: demo.student.id, role: 'student', iat: now - 3600, exp: now - 60 }, TEST_JWT_SECRET);
    const expiredRes = await api(url, 'GET', '/me', expired);
    t.equal(expiredRes.status, 401);
    t.equal(expiredRes.body.code, 'token_expired');

    const wrongKey = sign({ alg: 'HS256', typ: 'JWT' }, { sub: demo.student.id, role: 'coordinator', iat: now, exp: now + 600 }, 'another-secret-another-secret-another-secret');
    t.equal((await api(url, 'GET', '/me', wrongKey)).status, 401);

    const [h, , s] = good.split('.');
    const elevated = `${h}.${b64({ sub: demo.student.id, role: 'coordinator', iat: now, exp: now + 600 })}.${s}`;
    const elevatedRes = await api(url, 'GET', '/me', elevated);
    t.equal(elevatedRes.status, 401);
    t.equal(elevatedRes.body.code, 'token_invalid');

    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: demo.student.id, role: 'coordinator', iat: now, exp: now + 600 })}.`;
    t.equal((await api(url, 'GET', '/me', none)).status, 401);
  });

  t.test('login is rate limited', async (t) => {
    let limited = 0;
    for (let i = 0; i < 15; i++) {
      const res = await api(url, 'POST', '/auth/login', undefined, { email: 'someone@demo.school', password: 'x' });
      if (res.status === 429) {
        limited++;
        t.equal(res.body.code, 'login_rate_limited');
        t.ok(Number(res.headers.get('retry-after')) >= 1, 'with Retry-After');
      }
    }
    t.ok(limited > 0, 'some attempts were refused with 429');
  });
});
