import t, { type Test } from 'tap';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { insertLiveMentoring } from './helpers/sessions.ts';
import { WeriftPeer } from '../support/werift-peer.ts';
import { ManualClock } from './helpers/clock.ts';
import type { DomainEventMap } from '../src/events/index.ts';

const minutes = (n: number) => n * 60_000;

function liveSession(ctx: TestApp) {
  return insertLiveMentoring(ctx.db, ctx.demo, { endsInMs: minutes(55) });
}

function presenceLog(ctx: TestApp, sessionId: string) {
  const log: Array<DomainEventMap['room.presence']> = [];
  ctx.app.events.on('room.presence', (e) => {
    if (e.sessionId === sessionId) log.push(e);
  });
  return log;
}

/** The student and then the mentor joined in the room as werift peers (closed at teardown, closing twice is harmless). */
async function joinStudentAndMentor(t: Test, ctx: TestApp, sessionId: string) {
  const studentToken = await ctx.login(ctx.demo.student);
  const student = await WeriftPeer.connect(ctx.url, studentToken);
  const mentor = await WeriftPeer.connect(ctx.url, await ctx.login(ctx.demo.mentor));
  t.teardown(() => student.close());
  t.teardown(() => mentor.close());
  const first = await student.join(sessionId);
  const mentorFirst = await mentor.join(sessionId);
  return { studentToken, student, mentor, first, mentorFirst };
}

/**
 * The student joined with Socket.IO reconnection on, after one room broadcast
 * seen: connection-state recovery replays from the last broadcast the client
 * saw, so it needs one.
 */
async function joinRecoverableStudent(t: Test, ctx: TestApp, sessionId: string) {
  const student = await WeriftPeer.connect(ctx.url, await ctx.login(ctx.demo.student), { reconnection: true });
  t.teardown(() => student.close());
  const joined = await student.join(sessionId);
  const room = ctx.app.rooms.getRoom(sessionId)!;
  const seen = student.nextEvent('activeSpeaker');
  room.notify('activeSpeaker', { userId: null });
  await seen;
  return { student, joined, room };
}

t.test('killing the worker rebuilds the room on a new worker and tells the clients to rejoin', async (t) => {
  const ctx = await startTestApp(t);
  const { demo } = ctx;
  const sessionId = await liveSession(ctx);
  const { student, mentor, first, mentorFirst } = await joinStudentAndMentor(t, ctx, sessionId);
  const video = await student.produce('video', 'webcam');
  const inbound = await mentor.consume(video.producerId);
  await mentor.waitForPackets(inbound.consumerId, 10);

  const rooms = ctx.app.rooms;
  const room = rooms.getRoom(sessionId)!;
  const oldRouter = room.router;
  const rebuilt = new Promise<{ reason: string }>((resolve) => room.observer.once('rebuilt', resolve));
  const pid = rooms.pool.slots()[0]!.worker.pid;
  const told = Promise.all([student.nextEvent('rejoinRequired'), mentor.nextEvent('rejoinRequired')]);
  const consumerClosed = mentor.nextEvent('consumerClosed', (e: any) => e.consumerId === inbound.consumerId);
  process.kill(pid, 'SIGKILL');

  const [toStudent, toMentor] = await told;
  t.same(toStudent, { reason: 'worker_died' });
  t.same(toMentor, { reason: 'worker_died' });
  await consumerClosed;
  t.equal((await rebuilt).reason, 'worker_died');
  t.equal(rooms.getRoom(sessionId), room, 'the same room lives on');
  t.not(room.router, oldRouter, 'on a new router');
  t.ok(oldRouter.closed);
  const newPid = rooms.pool.slots()[0]!.worker.pid;
  t.not(newPid, pid, 'on a new worker process');
  t.same(room.listProducers(), [], 'the old producers are gone');

  // The clients rejoin on the same sockets, keep their peers and get media through again.
  await student.closeMedia();
  await mentor.closeMedia();
  const again = await student.join(sessionId);
  t.equal(again.peerId, first.peerId, 'same peer after rejoin');
  t.equal(again.resumed, true);
  const mentorAgain = await mentor.join(sessionId);
  t.equal(mentorAgain.peerId, mentorFirst.peerId);
  t.same(mentorAgain.peers.map((p) => p.userId), [demo.student.id]);
  const video2 = await student.produce('video', 'webcam');
  const audio2 = await student.produce('audio', 'mic');
  const v = await mentor.consume(video2.producerId);
  const a = await mentor.consume(audio2.producerId);
  const v1 = await mentor.waitForPackets(v.consumerId, 10);
  const a1 = await mentor.waitForPackets(a.consumerId, 10);
  t.ok((await mentor.waitForPackets(v.consumerId, 10, { from: v1.packets })).bytes > v1.bytes, 'video flows on the new worker');
  t.ok((await mentor.waitForPackets(a.consumerId, 10, { from: a1.packets })).bytes > a1.bytes, 'audio flows on the new worker');
});

t.test('a user who comes back within the reconnection grace gets the same peer', async (t) => {
  const ctx = await startTestApp(t, { env: { ROOM_RECONNECT_GRACE_SECONDS: '60' } });
  const { demo } = ctx;
  const sessionId = await liveSession(ctx);
  const presence = presenceLog(ctx, sessionId);
  const { studentToken, student, mentor, first } = await joinStudentAndMentor(t, ctx, sessionId);
  const left: unknown[] = [];
  mentor.socket.on('peerLeft', (e) => left.push(e));

  const dropped = mentor.nextEvent('peerConnection', (e: any) => e.userId === demo.student.id && e.connected === false);
  await student.close();
  await dropped;
  const room = ctx.app.rooms.getRoom(sessionId)!;
  t.same(room.peers().find((p) => p.userId === demo.student.id)?.connected, false, 'the peer waits for its user');

  const back = await WeriftPeer.connect(ctx.url, studentToken);
  t.teardown(() => back.close());
  const returned = mentor.nextEvent('peerConnection', (e: any) => e.userId === demo.student.id && e.connected === true);
  const again = await back.join(sessionId);
  await returned;
  t.equal(again.peerId, first.peerId, 'same peer id');
  t.equal(again.resumed, true);
  t.same(left, [], 'nobody was told the peer left');
  t.same(
    presence.filter((e) => e.userId === demo.student.id).map((e) => e.type),
    ['join', 'disconnect', 'reconnect'],
  );
  // And the peer works: it produces, the mentor receives.
  const video = await back.produce('video', 'webcam');
  const inbound = await mentor.consume(video.producerId);
  await mentor.waitForPackets(inbound.consumerId, 10);

  // A second tab of the same user takes the peer over; the first tab is told.
  const tab = await WeriftPeer.connect(ctx.url, studentToken);
  t.teardown(() => tab.close());
  const replaced = back.nextEvent('roomClosing');
  const tabJoin = await tab.join(sessionId);
  t.same(await replaced, { reason: 'joined_elsewhere' });
  t.equal(tabJoin.peerId, first.peerId);
  t.equal((await back.request('createTransport', { direction: 'recv' }).catch((e) => e.code)), 'not_joined');
  t.same(left, []);
});

t.test("Socket.IO connection-state recovery gives the peer back without a rejoin", async (t) => {
  const ctx = await startTestApp(t, { env: { ROOM_RECONNECT_GRACE_SECONDS: '60' } });
  const sessionId = await liveSession(ctx);
  const presence = presenceLog(ctx, sessionId);
  const { student, joined, room } = await joinRecoverableStudent(t, ctx, sessionId);
  const reconnected = new Promise<void>((resolve) => student.socket.once('connect', () => resolve()));
  student.socket.io.engine.close();
  await reconnected;
  t.equal(student.socket.recovered, true, 'the socket was recovered');
  const transport = await student.request<{ transportId: string }>('createTransport', { direction: 'recv' });
  t.ok(transport.transportId, 'requests work without joining again');
  t.same(room.peers().map((p) => [p.peerId, p.connected]), [[joined.peerId, true]]);
  t.same(presence.map((e) => e.type), ['join', 'disconnect', 'reconnect']);
});

t.test('after the grace the peer is removed and the others are told', async (t) => {
  // The grace runs on the app's clock: the test moves it past the grace instead of waiting.
  const clock = new ManualClock();
  const ctx = await startTestApp(t, { clock, env: { ROOM_RECONNECT_GRACE_SECONDS: '60' } });
  const { demo } = ctx;
  const sessionId = await liveSession(ctx);
  const presence = presenceLog(ctx, sessionId);
  const { studentToken, student, mentor, first } = await joinStudentAndMentor(t, ctx, sessionId);
  await student.produce('audio', 'mic');
  const producerClosed = mentor.nextEvent('producerClosed');
  const left = mentor.nextEvent('peerLeft');
  const dropped = mentor.nextEvent('peerConnection');
  await student.close();
  t.same(await dropped, { peerId: first.peerId, userId: demo.student.id, connected: false }, 'the others see the drop; the grace starts');
  clock.advance(59_999);
  t.equal(ctx.app.rooms.getRoom(sessionId)!.peers().length, 2, 'within the grace the peer keeps its place');
  clock.advance(1);
  t.same(await left, { peerId: first.peerId, userId: demo.student.id });
  await producerClosed;
  t.same(
    presence.filter((e) => e.userId === demo.student.id).map((e) => e.type),
    ['join', 'producer_started', 'disconnect', 'producer_stopped', 'leave'],
  );

  const back = await WeriftPeer.connect(ctx.url, studentToken);
  t.teardown(() => back.close());
  const joinedAgain = mentor.nextEvent('peerJoined');
  const again = await back.join(sessionId);
  t.not(again.peerId, first.peerId, 'a new peer');
  t.equal(again.resumed, false);
  t.equal((await joinedAgain).peer.userId, demo.student.id);
});

t.test('a recovered socket whose peer is already gone is told to rejoin', async (t) => {
  const ctx = await startTestApp(t, { env: { ROOM_RECONNECT_GRACE_SECONDS: '0' } });
  const sessionId = await liveSession(ctx);
  const { student, joined: first } = await joinRecoverableStudent(t, ctx, sessionId);
  const told = student.nextEvent('rejoinRequired');
  student.socket.io.engine.close();
  t.same(await told, { reason: 'peer_expired' });
  t.equal(student.socket.recovered, true);
  t.equal(await student.request('createTransport', { direction: 'recv' }).catch((e) => e.code), 'not_joined');
  const again = await student.join(sessionId);
  t.not(again.peerId, first.peerId, 'a new peer');
});
