import t from 'tap';
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RoomDirectory } from '../src/rooms/directory.ts';
import { RoomPlacement } from '../src/rooms/placement.ts';
import { NodeRegistry } from '../src/rooms/registry.ts';
import { deleteRedisPrefix, testRedisUrl } from './helpers/app.ts';

// The room lease on the real Redis: two nodes, each with its own connection
// (as two processes have), racing for the same rooms.
t.test('room leases with an epoch', async (t) => {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const redisA = new Redis(testRedisUrl);
  const redisB = new Redis(testRedisUrl);
  const errors: unknown[] = [];
  const a = new RoomDirectory(redisA, prefix, 'node-a', (e) => errors.push(e), 3_000);
  const b = new RoomDirectory(redisB, prefix, 'node-b', (e) => errors.push(e), 3_000);
  t.teardown(async () => {
    a.stop();
    b.stop();
    redisA.disconnect();
    redisB.disconnect();
    await deleteRedisPrefix(testRedisUrl, prefix);
  });

  t.test('two nodes claiming the same room at the same moment, 100 times: never two owners', async (t) => {
    let doubles = 0;
    const winners = { 'node-a': 0, 'node-b': 0 };
    for (let i = 0; i < 100; i++) {
      const sessionId = randomUUID();
      // Who sends first alternates: each node wins some races.
      const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
      const results = await Promise.allSettled([first.claim(sessionId), second.claim(sessionId)]);
      const won = results.filter((r) => r.status === 'fulfilled').length;
      if (won !== 1) doubles++;
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      t.equal(lost?.reason?.code, 'room_elsewhere');
      const lease = await a.lookup(sessionId);
      winners[lease!.nodeId as 'node-a' | 'node-b']++;
      // The loser's error names the winner.
      t.equal(lost?.reason?.details?.nodeId, lease!.nodeId);
    }
    t.equal(doubles, 0, 'exactly one owner each time');
    t.equal(winners['node-a'] + winners['node-b'], 100);
    t.comment(`won by node-a ${winners['node-a']}, node-b ${winners['node-b']}`);
  });

  t.test('release is compare-and-delete on the epoch: a stale holder cannot release a newer lease', async (t) => {
    const sessionId = randomUUID();
    const first = await a.claim(sessionId);
    // node-a's lease is taken from it (as after a lapse while it was cut off) and node-b claims the room.
    await redisA.del(`${prefix}:room:${sessionId}`);
    const second = await b.claim(sessionId);
    t.ok(second > first, `the new epoch (${second}) is above the old one (${first})`);
    await a.release(sessionId);
    t.same(await a.lookup(sessionId), { nodeId: 'node-b', epoch: second }, "node-b's lease survives node-a's release");
    await b.release(sessionId);
    t.equal(await a.lookup(sessionId), undefined, 'its holder releases it');
  });

  t.test('a node whose renew finds another holder is told it lost the room', async (t) => {
    const sessionId = randomUUID();
    await a.claim(sessionId);
    const lost: string[] = [];
    a.onLost = (id) => lost.push(id);
    await redisA.set(`${prefix}:room:${sessionId}`, 'node-b#999', 'PX', 3_000);
    await a.renewAll();
    t.same(lost, [sessionId]);
    t.equal(a.epochOf(sessionId), undefined, 'node-a no longer holds it');
  });

  t.test('a lease that lapsed with nobody else claiming is taken back at renewal (Redis restarted empty)', async (t) => {
    const sessionId = randomUUID();
    const epoch = await a.claim(sessionId);
    const lost: string[] = [];
    a.onLost = (id) => lost.push(id);
    await redisA.del(`${prefix}:room:${sessionId}`);
    await a.renewAll();
    t.same(lost, []);
    t.same(await b.lookup(sessionId), { nodeId: 'node-a', epoch });
    const pttl = await redisA.pttl(`${prefix}:room:${sessionId}`);
    t.ok(pttl > 0 && pttl <= 3_000, 'with its expiry');
    await a.release(sessionId);
  });

  t.test('after a Redis outage a node places no room without a lease until owners have re-asserted theirs', async (t) => {
    const sessionId = randomUUID();
    const epoch = await a.claim(sessionId);
    const load = () => ({ rooms: 0, peers: 0, consumers: 0, workerCpu: 0 });
    const registryB = new NodeRegistry({ redis: redisB, prefix, id: 'node-b', url: 'http://b', mediaAddress: '127.0.0.1', load, onError: (e) => errors.push(e) });
    await registryB.publish();
    const placementB = new RoomPlacement(redisB, prefix, registryB, b);
    // Redis came back empty; node-b reconnected first, node-a (the owner) not yet.
    await redisA.del(`${prefix}:room:${sessionId}`);
    const renewB = b.redisReturned();
    t.ok(b.settlingMs() > 0 && b.settlingMs() <= b.renewPeriodMs, `node-b settles for a renew period (${b.settlingMs()} ms)`);
    await renewB;
    await t.rejects(placementB.place(sessionId), { code: 'room_moving' }, 'a join through node-b is told to come back, not given a new room');
    // node-a reconnects: its lease is back, the same epoch; node-b now sends the client there.
    await a.redisReturned();
    t.same(await b.lookup(sessionId), { nodeId: 'node-a', epoch }, 'the owner re-asserted its lease on reconnecting');
    await registryB.stop();
    await a.release(sessionId);
  });

  t.test('a node whose own publication is late still places rooms on itself; another node stale is left out', async (t) => {
    const load = () => ({ rooms: 0, peers: 0, consumers: 0, workerCpu: 0 });
    const registryA = new NodeRegistry({ redis: redisA, prefix, id: 'node-a', url: 'http://a', mediaAddress: '127.0.0.1', load, onError: (e) => errors.push(e) });
    const registryB = new NodeRegistry({ redis: redisB, prefix, id: 'node-b', url: 'http://b', mediaAddress: '127.0.0.1', load, onError: (e) => errors.push(e) });
    await registryA.publish();
    await registryB.publish();
    // Both entries ten seconds old in Redis, as if neither event loop had run its publication timer.
    for (const entry of [registryA.last!, registryB.last!]) await redisA.hset(`${prefix}:nodes`, entry.id, JSON.stringify({ ...entry, at: Date.now() - 10_000 }));
    t.same((await registryA.eligible()).map((e) => e.id), ['node-a'], 'node-a takes rooms itself; node-b, stale, does not get any');
    const placementA = new RoomPlacement(redisA, prefix, registryA, a);
    await new Promise((r) => setTimeout(r, a.settlingMs() + 50)); // past the settling of the Redis-outage test above
    t.same(await placementA.place(randomUUID()), { kind: 'here' });
    await registryA.drain();
    t.same((await registryA.eligible()).map((e) => e.id), [], 'a draining node is never eligible');
    await registryA.stop();
    await registryB.stop();
  });

  t.test('a lease not renewed lapses (a killed node)', async (t) => {
    const sessionId = randomUUID();
    await b.claim(sessionId);
    b.stop();
    await redisB.pexpire(`${prefix}:room:${sessionId}`, 50);
    await new Promise((r) => setTimeout(r, 150));
    const epoch = await a.claim(sessionId);
    t.same(await a.lookup(sessionId), { nodeId: 'node-a', epoch }, 'another node takes the room');
  });
});
