import t from 'tap';
import { Redis } from 'ioredis';
import { api, startTestApp, testRedisUrl, type TestApp } from './helpers/app.ts';
import { insertLiveMentoring } from './helpers/sessions.ts';
import { RoomRequestError, WeriftPeer } from '../support/werift-peer.ts';
import { Room } from '../src/rooms/index.ts';
import { getSession } from '../src/sessions/index.ts';
import type { DomainEventMap } from '../src/events/index.ts';
import { ManualClock } from './helpers/clock.ts';

const minutes = (n: number) => n * 60_000;

/** A session live now (earlier fixtures stop counting as busy, so they do not overlap it). */
async function liveSession(ctx: TestApp, endsInMs = minutes(55)) {
  await ctx.db.execute('UPDATE session_participants SET busy = false');
  return insertLiveMentoring(ctx.db, ctx.demo, { endsInMs });
}

function roomClosed(ctx: TestApp, sessionId: string): Promise<DomainEventMap['room.closed']> {
  return new Promise((resolve) => {
    const off = ctx.app.events.on('room.closed', (e) => {
      if (e.sessionId !== sessionId) return;
      off();
      resolve(e);
    });
  });
}

t.test('room lifecycle: one room per session, directory, leave, timeouts, isolation', async (t) => {
  const ctx = await startTestApp(t, { env: { ROOM_DEPARTURE_GRACE_SECONDS: '0', ROOM_GRACE_AFTER_END_MINUTES: '0' } });
  const { demo } = ctx;
  const rooms = ctx.app.rooms;
  const tokens = { student: await ctx.login(demo.student), mentor: await ctx.login(demo.mentor) };
  const peer = async (token: string) => {
    const p = await WeriftPeer.connect(ctx.url, token);
    t.teardown(() => p.close());
    return p;
  };
  const redis = new Redis(testRedisUrl);
  t.teardown(() => redis.quit());

  await t.test('peers arriving together share one room, recorded in the directory', async (t) => {
    const sessionId = await liveSession(ctx);
    const [a, b] = await Promise.all([peer(tokens.student), peer(tokens.mentor)]);
    const observed: string[] = [];
    rooms.observer.once('newroom', (room) => {
      room.observer.on('peerjoined', ({ userId, role }) => observed.push(`joined ${role} ${userId === demo.student.id ? 'student' : 'mentor'}`));
      room.observer.on('peerleft', () => observed.push('left'));
      room.observer.on('close', (reason) => observed.push(`close ${reason}`));
    });
    const [ja, jb] = await Promise.all([a.join(sessionId), b.join(sessionId)]);
    t.equal(rooms.listRooms().filter((r) => r.sessionId === sessionId).length, 1);
    t.equal(ja.peers.length + jb.peers.length, 1, 'exactly one saw the other already there');
    const room = rooms.getRoom(sessionId)!;
    t.equal(room.peers().length, 2);
    t.match(await redis.get(`${ctx.config.redisPrefix}:room:${sessionId}`), new RegExp(`^${rooms.directory.nodeId}#\\d+$`), 'the lease: this node and an epoch');

    // Leave: the other is told; when the last one leaves the room closes (departure grace 0).
    const left = b.nextEvent('peerLeft');
    await a.request('leave');
    t.same(await left, { peerId: ja.peerId, userId: demo.student.id });
    const closed = roomClosed(ctx, sessionId);
    await b.request('leave');
    t.same(await closed, { sessionId, reason: 'departure_timeout' });
    t.equal(rooms.getRoom(sessionId), undefined);
    t.equal(await redis.get(`${ctx.config.redisPrefix}:room:${sessionId}`), null, 'directory entry released');
    t.equal(observed.filter((o) => o.startsWith('joined')).length, 2);
    t.same(observed.slice(-3), ['left', 'left', 'close departure_timeout']);
    await t.rejects(a.request('createTransport', { direction: 'recv' }), new RoomRequestError('createTransport', 'not_joined', 'Join a room first'));
  });

  await t.test('HTTP: room status for participants, node overview for coordinators', async (t) => {
    const sessionId = await liveSession(ctx);
    const before = await api(ctx.url, 'GET', `/rooms/${sessionId}`, tokens.student);
    t.equal(before.status, 200);
    t.same(before.body, { sessionId, live: false, nodeId: null, peers: [] });
    const a = await peer(tokens.student);
    await a.join(sessionId);
    const live = await api(ctx.url, 'GET', `/rooms/${sessionId}`, tokens.mentor);
    t.match(live.body, { sessionId, live: true, nodeId: rooms.directory.nodeId, peers: [{ userId: demo.student.id, role: 'student', connected: true }] });
    t.equal((await api(ctx.url, 'GET', `/rooms/${sessionId}`, await ctx.login(demo.soloStudent))).status, 404);
    const coordinator = await ctx.login(demo.coordinator);
    const overview = await api(ctx.url, 'GET', '/rooms', coordinator);
    t.equal(overview.status, 200);
    t.equal(overview.body.workers.length, 1);
    t.ok(overview.body.rooms.some((r: { sessionId: string; peers: number }) => r.sessionId === sessionId && r.peers === 1));
    t.equal((await api(ctx.url, 'GET', '/rooms', tokens.student)).status, 403);
    await a.request('leave');
  });

  await t.test('a room hosted by another node is answered room_elsewhere with its URL; a silent owner answers room_moving', async (t) => {
    const sessionId = await liveSession(ctx);
    const other = { id: 'some-other-node', url: 'http://127.0.0.9:4000', mediaAddress: '127.0.0.9', state: 'serving', rooms: 1, peers: 0, consumers: 0, workerCpu: 0, at: Date.now() };
    await redis.hset(`${ctx.config.redisPrefix}:nodes`, other.id, JSON.stringify(other));
    await redis.set(`${ctx.config.redisPrefix}:room:${sessionId}`, 'some-other-node#7', 'PX', 60_000);
    const a = await peer(tokens.student);
    const err = (await a.join(sessionId).catch((e: RoomRequestError) => e)) as RoomRequestError;
    t.equal(err.code, 'room_elsewhere');
    t.match(err.details, { nodeId: 'some-other-node', url: 'http://127.0.0.9:4000', mediaAddress: '127.0.0.9' });
    t.equal(rooms.getRoom(sessionId), undefined);

    await redis.hset(`${ctx.config.redisPrefix}:nodes`, other.id, JSON.stringify({ ...other, at: Date.now() - 10_000 }));
    const moving = (await a.join(sessionId).catch((e: RoomRequestError) => e)) as RoomRequestError;
    t.equal(moving.code, 'room_moving', 'an owner that stopped publishing: its lease lapses, then the room is placed anew');
    await redis.hdel(`${ctx.config.redisPrefix}:nodes`, other.id);
  });

  await t.test('the room closes when the session ends, and clients are told', async (t) => {
    const sessionId = await liveSession(ctx, 1500);
    const a = await peer(tokens.student);
    await a.join(sessionId);
    const closing = a.nextEvent('roomClosing');
    const closed = roomClosed(ctx, sessionId);
    t.same(await closing, { reason: 'session_ended' });
    t.equal((await closed).reason, 'session_ended');
    t.equal(rooms.getRoom(sessionId), undefined);
  });

  await t.test('a cancelled session closes its room', async (t) => {
    const sessionId = await liveSession(ctx);
    const a = await peer(tokens.student);
    await a.join(sessionId);
    const closing = a.nextEvent('roomClosing');
    ctx.app.events.emit('session.cancelled', { sessionId, late: true });
    t.same(await closing, { reason: 'session_cancelled' });
  });

  await t.test('isolation: nobody consumes the isolated user and they consume nobody', async (t) => {
    const sessionId = await liveSession(ctx);
    const student = await peer(tokens.student);
    const mentor = await peer(tokens.mentor);
    await student.join(sessionId);
    await mentor.join(sessionId);
    const sVideo = await student.produce('video', 'webcam');
    const mAudio = await mentor.produce('audio', 'mic');
    const mIn = await mentor.consume(sVideo.producerId);
    const sIn = await student.consume(mAudio.producerId);
    await mentor.waitForPackets(mIn.consumerId, 5);
    await student.waitForPackets(sIn.consumerId, 5);

    const room = rooms.getRoom(sessionId)!;
    const told = Promise.all([
      mentor.nextEvent('isolationChanged'),
      mentor.nextEvent('consumerClosed', (e: any) => e.consumerId === mIn.consumerId),
      student.nextEvent('consumerClosed', (e: any) => e.consumerId === sIn.consumerId),
    ]);
    room.setIsolated(demo.student.id, true, 'lobby');
    const [change] = await told;
    t.same(change, { userId: demo.student.id, isolated: true, reason: 'lobby' });
    t.equal(room.isIsolated(demo.student.id), true);
    await t.rejects(mentor.consume(sVideo.producerId), { code: 'isolated' });
    await t.rejects(student.consume(mAudio.producerId), { code: 'isolated' });
    const rejoined = await mentor.join(sessionId);
    t.same(rejoined.peers.find((p) => p.userId === demo.student.id)?.producers, [], 'isolated media is not listed');

    const announced = mentor.nextEvent('newProducer', (e: any) => e.producerId === sVideo.producerId);
    room.setIsolated(demo.student.id, false, 'admitted');
    await announced;
    await mentor.closeMedia();
    // The mentor rejoined above (its media was closed); consume again now that the student is visible.
    const again = await mentor.consume(sVideo.producerId);
    await mentor.waitForPackets(again.consumerId, 5);
    t.pass('media flows again after isolation ends');
  });
});

t.test('a room nobody enters closes after the empty timeout, distinct from the departure grace', async (t) => {
  const ctx = await startTestApp(t);
  const sessionId = await liveSession(ctx);
  const rooms = ctx.app.rooms;
  const closedRooms: Room[] = [];
  // The room's timers run on this clock: the test moves it instead of waiting five minutes.
  const clock = new ManualClock();
  const room = await Room.create({
    session: await getSession(ctx.db, sessionId),
    pool: rooms.pool,
    directory: rooms.directory,
    config: { ...ctx.config.rooms, emptyTimeoutSeconds: 300, departureGraceSeconds: 3600 },
    events: ctx.app.events,
    clock,
    logger: ctx.app.log,
    nsp: ctx.app.io.of('/rooms'),
    onClosed: (r) => closedRooms.push(r),
  });
  const closing = new Promise<string>((resolve) => room.observer.once('close', resolve));
  clock.advance(299_999);
  t.equal(room.closed, false, 'still open just before the empty timeout');
  clock.advance(1);
  t.equal(await closing, 'empty_timeout');
  t.same(closedRooms, [room]);
  t.equal(room.router.closed, true);
  await t.rejects(Promise.resolve().then(() => room.setIsolated('x', true, 'late')), { code: 'room_closed' });
  t.equal(await room.close('session_ended').then(() => 'same'), 'same', 'a second close is a no-op');
});

t.test('shutting down closes every room with server_draining', async (t) => {
  const ctx = await startTestApp(t);
  const sessionId = await liveSession(ctx);
  const a = await WeriftPeer.connect(ctx.url, await ctx.login(ctx.demo.student));
  t.teardown(() => a.close());
  await a.join(sessionId);
  const room = ctx.app.rooms.getRoom(sessionId)!;
  const reason = new Promise<string>((resolve) => room.observer.once('close', resolve));
  const closed = roomClosed(ctx, sessionId);
  const pool = ctx.app.rooms.pool;
  await ctx.app.close();
  t.equal(await reason, 'server_draining');
  t.equal((await closed).reason, 'server_draining');
  t.equal(pool.closed, true);
  t.same(pool.slots(), [], 'workers closed');
});
