import t from 'tap';
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
