import t from 'tap';
import { io } from 'socket.io-client';
import { api, nextEvent, startTestApp } from './helpers/app.ts';

type Client = ReturnType<Awaited<ReturnType<typeof startTestApp>>['socket']>;

function connectError(socket: Client): Promise<{ data?: { code: string } }> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected although it should not')));
    socket.once('connect_error', (err) => resolve(err as unknown as { data?: { code: string } }));
  });
}

t.test('socket caps: per user, per address, events per socket', async (t) => {
  const { url, demo, login, socket } = await startTestApp(t, {
    env: { SOCKETS_PER_USER: '3', SOCKETS_PER_ADDRESS: '5', SOCKET_EVENTS_PER_SECOND: '1', SOCKET_EVENT_BURST: '5' },
  });
  const [studentToken, mentorToken] = await Promise.all([login(demo.student), login(demo.mentor)]);
  const open: Client[] = [];
  t.teardown(() => open.forEach((s) => s.disconnect()));
  const connected = async (token: string) => {
    const s = socket(token);
    open.push(s);
    await nextEvent(s, 'connect');
    return s;
  };

  await t.test('more sockets than SOCKETS_PER_USER with one token are refused socket_limit_user', async (t) => {
    for (let i = 0; i < 3; i++) await connected(studentToken);
    const extra = socket(studentToken);
    open.push(extra);
    t.equal((await connectError(extra)).data?.code, 'socket_limit_user');
    extra.disconnect();
  });

  await t.test('more sockets than SOCKETS_PER_ADDRESS from one address are refused socket_limit_address', async (t) => {
    for (let i = 0; i < 2; i++) await connected(mentorToken);
    const extra = socket(mentorToken);
    open.push(extra);
    t.equal((await connectError(extra)).data?.code, 'socket_limit_address');
    extra.disconnect();
  });

  await t.test('a flood of events on one socket is refused socket_rate_limited; the server stays healthy', async (t) => {
    const s = open[0]!;
    const refused = new Promise<{ error?: { code: string } }>((resolve) => {
      for (let i = 0; i < 50; i++) s.emit('flood:event', { i }, (reply: { error?: { code: string } }) => reply?.error && resolve(reply));
    });
    t.equal((await refused).error?.code, 'socket_rate_limited');
    t.ok(s.connected, 'the socket itself stays open');
    t.equal((await api(url, 'GET', '/healthz')).status, 200, 'the server answers');
  });
});

t.test('the per-address socket cap counts the client address as HTTP does (TRUST_PROXY)', async (t) => {
  const withHeader = (ctx: Awaited<ReturnType<typeof startTestApp>>, token: string, forwardedFor: string) => {
    const s = io(`${ctx.url}/`, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: { 'x-forwarded-for': forwardedFor } });
    t.teardown(() => s.disconnect());
    return s;
  };
  const outcome = (s: Client) =>
    new Promise<string>((resolve) => {
      s.once('connect', () => resolve('connected'));
      s.once('connect_error', (err) => resolve((err as unknown as { data?: { code: string } }).data?.code ?? err.message));
    });

  await t.test('behind a trusted proxy: each forwarded client has its own cap', async (t) => {
    const ctx = await startTestApp(t, { env: { TRUST_PROXY: '127.0.0.1', SOCKETS_PER_ADDRESS: '2', SOCKETS_PER_USER: '20' } });
    const token = await ctx.login(ctx.demo.mentor);
    t.equal(await outcome(withHeader(ctx, token, '203.0.113.1')), 'connected');
    t.equal(await outcome(withHeader(ctx, token, '203.0.113.1')), 'connected');
    t.equal(await outcome(withHeader(ctx, token, '203.0.113.1')), 'socket_limit_address', 'the third socket of one forwarded client is refused');
    t.equal(await outcome(withHeader(ctx, token, '203.0.113.2')), 'connected', 'another client behind the same proxy is not');
    t.equal(await outcome(withHeader(ctx, token, '198.51.100.7, 203.0.113.2')), 'connected', 'the address the trusted proxy saw counts, not what the client claimed before it');
  });

  await t.test('without TRUST_PROXY: X-Forwarded-For is ignored, the TCP peer is the address', async (t) => {
    const ctx = await startTestApp(t, { env: { SOCKETS_PER_ADDRESS: '2', SOCKETS_PER_USER: '20' } });
    const token = await ctx.login(ctx.demo.mentor);
    t.equal(await outcome(withHeader(ctx, token, '203.0.113.1')), 'connected');
    t.equal(await outcome(withHeader(ctx, token, '203.0.113.2')), 'connected');
    t.equal(await outcome(withHeader(ctx, token, '203.0.113.3')), 'socket_limit_address', 'a fresh header per socket does not get a fresh cap');
  });
});
