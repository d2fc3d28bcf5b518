import t from 'tap';
import { createHmac } from 'node:crypto';
import { startTestApp, nextEvent, TEST_JWT_SECRET } from './helpers/app.ts';
import { userChannel } from '../src/server/plugins/sockets.ts';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');

function connectError(socket: ReturnType<Awaited<ReturnType<typeof startTestApp>>['socket']>): Promise<{ message: string; data?: { code: string } }> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected although it should not')));
    socket.once('connect_error', (err) => resolve(err as unknown as { message: string; data?: { code: string } }));
  });
}

t.test('Socket.IO handshake uses the same access token as HTTP', async (t) => {
  const { app, demo, login, socket } = await startTestApp(t);
  const token = await login(demo.student);

  t.test('a valid token connects and receives what is sent to its user channel', async (t) => {
    const s = socket(token);
    await nextEvent(s, 'connect');
    const got = nextEvent<{ text: string }>(s, 'notification');
    // The user's channel is joined in the server's connection handler, before the client sees 'connect'.
    app.io.to(userChannel(demo.student.id)).emit('notification', { text: 'hello' });
    t.same(await got, { text: 'hello' });
  });

  t.test('no token, a tampered token, alg none and an expired token are refused at connect', async (t) => {
    const now = Math.floor(Date.now() / 1000);
    const [h, , sig] = token.split('.');
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'token_missing'],
      [`${h}.${b64({ sub: demo.student.id, role: 'coordinator', iat: now, exp: now + 600 })}.${sig}`, 'token_invalid'],
      [`${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: demo.student.id, role: 'coordinator', iat: now, exp: now + 600 })}.`, 'token_invalid'],
    ];
    const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: demo.student.id, role: 'student', iat: now - 1000, exp: now - 10 })}`;
    cases.push([`${unsigned}.${createHmac('sha256', TEST_JWT_SECRET).update(unsigned).digest('base64url')}`, 'token_expired']);
    for (const [bad, code] of cases) {
      const err = await connectError(socket(bad as string));
      t.equal(err.data?.code, code, code);
    }
  });
});

t.test('closing the server is not held up by a client connected only to another namespace', async (t) => {
  const { app, demo, login, socket } = await startTestApp(t);
  const nsp = app.io.of('/elsewhere');
  nsp.use(app.socketAuth);
  const s = socket(await login(demo.mentor), '/elsewhere');
  await nextEvent(s, 'connect');
  const disconnected = nextEvent(s, 'disconnect');
  await app.close();
  t.ok(await disconnected, 'the client was disconnected and close() returned');
});
