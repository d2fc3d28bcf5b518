import t from 'tap';
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket as ClientSocket } from 'socket.io-client';
import { api, nextEvent, request, startTestApp, TEST_JWT_SECRET, type TestApp } from './helpers/app.ts';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const sign = (payload: object) => {
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${unsigned}.${createHmac('sha256', TEST_JWT_SECRET).update(unsigned).digest('base64url')}`;
};
const nowS = () => Math.floor(Date.now() / 1000);

async function loginFull(s: TestApp, who: { email: string; password: string }) {
  const res = await api(s.url, 'POST', '/auth/login', undefined, { email: who.email, password: who.password });
  if (res.status !== 200) throw new Error(`login failed ${res.status}`);
  return res.body as { accessToken: string; refreshToken: string };
}

const connectError = (socket: ClientSocket) => new Promise<{ code?: string }>((resolve) => socket.once('connect_error', (err) => resolve((err as Error & { data?: { code?: string } }).data ?? {})));

/** An event that reaches a handler on /defence and is always acked (not joined): proves the event got through. */
const probe = (socket: ClientSocket) => request(socket, 'state', { sessionId: '00000000-0000-4000-8000-000000000000' });

t.test('access tokens: expiry required, revocation at once, identity from the store, sockets bound to their token', async (t) => {
  const s = await startTestApp(t, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
  const { url, demo } = s;

  t.test('a token without exp is refused on HTTP and at the socket handshake', async (t) => {
    const forever = sign({ sub: demo.student.id, role: 'student', iat: nowS() });
    const res = await api(url, 'GET', '/me', forever);
    t.equal(res.status, 401);
    t.equal(res.body.code, 'token_invalid');
    const sock = s.socket(forever, '/defence');
    t.equal((await connectError(sock)).code, 'token_invalid');
  });

  t.test('logout revokes the access tokens of the user at once, on HTTP and on open sockets', async (t) => {
    const tokens = await loginFull(s, demo.student);
    const sock = s.socket(tokens.accessToken, '/defence');
    await nextEvent(sock, 'connect');
    t.equal((await probe(sock)).error?.code, 'not_joined', 'the socket works before logout');
    t.equal((await api(url, 'GET', '/me', tokens.accessToken)).status, 200);
    t.equal((await api(url, 'POST', '/auth/logout', undefined, { refreshToken: tokens.refreshToken })).status, 204);
    const after = await api(url, 'GET', '/me', tokens.accessToken);
    t.equal(after.status, 401);
    t.equal(after.body.code, 'token_revoked');
    const ended = nextEvent<{ code: string }>(sock, 'auth:ended');
    const disconnected = nextEvent(sock, 'disconnect');
    t.equal((await probe(sock)).error?.code, 'token_revoked', 'the next event is refused');
    t.equal((await ended).code, 'token_revoked');
    await disconnected;
    t.equal((await connectError(s.socket(tokens.accessToken, '/defence'))).code, 'token_revoked', 'and a new socket with it');
    t.equal((await api(url, 'GET', '/me', await s.login(demo.student))).status, 200, 'a new login works');
  });

  t.test('a password change revokes every token of the user', async (t) => {
    const tokens = await loginFull(s, demo.mentor);
    const wrong = await api(url, 'POST', '/me/password', tokens.accessToken, { currentPassword: 'nope', newPassword: 'a-new-password-1' });
    t.equal(wrong.status, 401);
    t.equal((await api(url, 'POST', '/me/password', tokens.accessToken, { currentPassword: demo.mentor.password, newPassword: 'a-new-password-1' })).status, 204);
    t.equal((await api(url, 'GET', '/me', tokens.accessToken)).body.code, 'token_revoked');
    t.equal((await api(url, 'POST', '/auth/refresh', undefined, { refreshToken: tokens.refreshToken })).status, 401, 'the refresh token too');
    t.equal((await api(url, 'POST', '/auth/login', undefined, { email: demo.mentor.email, password: demo.mentor.password })).status, 401, 'the old password no longer works');
    const fresh = await loginFull(s, { email: demo.mentor.email, password: 'a-new-password-1' });
    t.equal((await api(url, 'GET', '/me', fresh.accessToken)).status, 200);
  });

  t.test('a role change is seen at once: the old token is revoked, the new one carries the store\'s role', async (t) => {
    const coordinator = await s.login(demo.coordinator);
    const jury = await loginFull(s, demo.jury[1]);
    t.equal((await api(url, 'GET', '/webhooks', jury.accessToken)).status, 403);
    const changed = await api(url, 'PATCH', `/users/${demo.jury[1].id}`, coordinator, { role: 'coordinator' });
    t.equal(changed.status, 200);
    t.equal(changed.body.user.role, 'coordinator');
    t.equal((await api(url, 'GET', '/webhooks', jury.accessToken)).body.code, 'token_revoked');
    const promoted = await loginFull(s, demo.jury[1]);
    t.equal((await api(url, 'GET', '/webhooks', promoted.accessToken)).status, 200, 'the new token has the new role');
    t.equal((await api(url, 'PATCH', `/users/${demo.jury[1].id}`, coordinator, { role: 'jury' })).status, 200);
    t.equal((await api(url, 'GET', '/webhooks', promoted.accessToken)).body.code, 'token_revoked', 'demoted: the coordinator token is gone');
    t.equal((await api(url, 'PATCH', `/users/${demo.jury[1].id}`, jury.accessToken, { role: 'coordinator' })).status, 401, 'and a revoked token cannot change roles');
  });

  t.test('disabling an account revokes its tokens and refuses logins and refreshes', async (t) => {
    const coordinator = await s.login(demo.coordinator);
    const tokens = await loginFull(s, demo.jury[0]);
    t.equal((await api(url, 'PATCH', `/users/${demo.jury[0].id}`, coordinator, { disabled: true })).body.disabled, true);
    t.equal((await api(url, 'GET', '/me', tokens.accessToken)).body.code, 'token_revoked');
    t.equal((await api(url, 'POST', '/auth/refresh', undefined, { refreshToken: tokens.refreshToken })).status, 401);
    const login = await api(url, 'POST', '/auth/login', undefined, { email: demo.jury[0].email, password: demo.jury[0].password });
    t.equal(login.status, 403);
    t.equal(login.body.code, 'account_disabled');
    t.equal((await api(url, 'PATCH', `/users/${demo.jury[0].id}`, coordinator, { disabled: false })).body.disabled, false);
    t.equal((await api(url, 'POST', '/auth/login', undefined, { email: demo.jury[0].email, password: demo.jury[0].password })).status, 200);
  });

  t.test('a socket ends with its token: told why and disconnected at expiry', async (t) => {
    const short = sign({ sub: demo.student.id, role: 'student', ver: 1, iat: nowS(), exp: nowS() + 2 });
    const sock = s.socket(short, '/defence');
    await nextEvent(sock, 'connect');
    t.equal((await probe(sock)).error?.code, 'not_joined', 'works while the token is valid');
    const ended = await nextEvent<{ code: string }>(sock, 'auth:ended', () => true, 10_000);
    t.equal(ended.code, 'token_expired');
    if (sock.connected) await nextEvent(sock, 'disconnect');
    t.notOk(sock.connected);
  });

  t.test('a client that refreshes on the same socket carries on past the first token\'s expiry', async (t) => {
    const exp = nowS() + 2;
    const short = sign({ sub: demo.student.id, role: 'student', ver: 1, iat: nowS(), exp });
    const sock = s.socket(short, '/defence');
    await nextEvent(sock, 'connect');
    const foreign = await request(sock, 'auth:refresh', { token: await s.login(demo.coordinator) });
    t.equal(foreign.error?.code, 'token_invalid', 'another user\'s token is no refresh');
    const refreshed = await request<{ expiresAt: string }>(sock, 'auth:refresh', { token: await s.login(demo.student) });
    t.ok(refreshed.data?.expiresAt, 'the refresh is acked with the new expiry');
    let ended = false;
    sock.on('auth:ended', () => (ended = true));
    await sleep(Math.max(0, exp * 1000 - Date.now()) + 500);
    t.ok(sock.connected, 'still connected after the first token expired');
    t.notOk(ended);
    t.equal((await probe(sock)).error?.code, 'not_joined', 'and its events still get through');
  });
});
