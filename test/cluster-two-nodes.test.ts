import t from 'tap';
import { io as connectSocket, type Socket as ClientSocket } from 'socket.io-client';
import { buildApp } from '../src/server/app.ts';
import { openDb } from '../src/db/index.ts';
import { userChannel } from '../src/server/plugins/sockets.ts';
import { nextEvent, request, startTestApp, testRedisUrl } from './helpers/app.ts';
import { insertDemoMentoring } from './helpers/sessions.ts';

// Two server processes' worth of the app (two Fastify + Socket.IO + mediasoup
// stacks) on one PostgreSQL database and one Redis prefix, as a deployment
// behind a load balancer runs them.
t.test('two nodes share one Redis and one PostgreSQL', async (t) => {
  const a = await startTestApp(t, { env: { ROOMS_NODE_ID: 'node-a' } });
  const dbB = await openDb({ databaseUrl: a.dbUrl, pgliteDir: undefined });
  const appB = await buildApp({ ...a.config, rooms: { ...a.config.rooms, nodeId: 'node-b' } }, { db: dbB, redisUrl: testRedisUrl });
  await appB.listen({ host: '127.0.0.1', port: 0 });
  const urlB = `http://127.0.0.1:${(appB.server.address() as { port: number }).port}`;
  const clients: ClientSocket[] = [];
  t.teardown(async () => {
    for (const c of clients) c.disconnect();
    await appB.close();
  });
  const onB = (token: string, namespace = '/') => {
    const s = connectSocket(`${urlB}${namespace}`, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false });
    clients.push(s);
    return s;
  };
  const [student, mentor] = await Promise.all([a.login(a.demo.student), a.login(a.demo.mentor)]);

  t.test('a token issued by one node is accepted by the other', async (t) => {
    const me = await fetch(`${urlB}/me`, { headers: { authorization: `Bearer ${student}` } });
    t.equal(me.status, 200);
  });

  t.test('a notification emitted on node A reaches a socket connected to node B', async (t) => {
    const s = onB(mentor);
    await nextEvent(s, 'connect');
    const got = nextEvent<{ text: string }>(s, 'notification');
    a.app.io.to(userChannel(a.demo.mentor.id)).emit('notification', { text: 'from node A' });
    t.same(await got, { text: 'from node A' });
  });

  t.test('a room lives on exactly one node: the other refuses with room_elsewhere naming the owner', async (t) => {
    const now = Date.now();
    const sessionId = await insertDemoMentoring(a.db, a.demo, { startsAt: new Date(now - 60_000), endsAt: new Date(now + 45 * 60_000) });
    const onA = a.socket(student, '/rooms');
    await nextEvent(onA, 'connect');
    const joinedA = await request<{ peerId: string }>(onA, 'join', { sessionId });
    t.ok(joinedA.data?.peerId, 'the student joins on node A');

    const mentorOnB = onB(mentor, '/rooms');
    await nextEvent(mentorOnB, 'connect');
    const refused = await request(mentorOnB, 'join', { sessionId });
    t.equal(refused.error?.code, 'room_elsewhere');
    t.match(refused.error, { details: { nodeId: 'node-a' } }, 'the owner is named, for a proxy to route by');

    const mentorOnA = a.socket(mentor, '/rooms');
    await nextEvent(mentorOnA, 'connect');
    const joined = await request<{ peers: Array<{ userId: string }> }>(mentorOnA, 'join', { sessionId });
    t.same(joined.data?.peers.map((p) => p.userId), [a.demo.student.id], 'on the owning node the mentor meets the student');
  });
});
