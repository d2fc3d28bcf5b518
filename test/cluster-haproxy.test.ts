import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { api } from './helpers/app.ts';
import { enterableSession, joinThrough, startCluster } from './helpers/cluster.ts';
import { documentedConfig, HAPROXY_MISSING, haproxyPath, startHaproxy } from './helpers/haproxy.ts';
import { freePort } from './helpers/server-process.ts';
import type { WeriftPeer } from '../support/werift-peer.ts';

/**
 * docs/haproxy.cfg, the load balancer configuration docs/deployment.md
 * recommends, run as it is in front of three nodes (`npm start` processes on
 * one database and one Redis prefix): everything a client does goes through
 * HAProxy, the shared address or a node's own address (its ROOMS_NODE_URL, a
 * frontend of the same HAProxy). A missing haproxy fails with the line that
 * installs it (helpers/haproxy.ts).
 */

/** POST /auth/login through `base` from the local address `from` (any 127.0.0.0/8 address is ours on Linux). */
const loginFrom = (base: string, from: string, email: string, headers: Record<string, string> = {}) =>
  new Promise<{ status: number; code?: string }>((resolve, reject) => {
    const body = JSON.stringify({ email, password: 'not-the-password' });
    const req = httpRequest(`${base}/auth/login`, { method: 'POST', localAddress: from, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, code: (JSON.parse(text) as { code?: string }).code }));
    });
    req.once('error', reject);
    req.end(body);
  });

/** Which node answered a request: every node labels its metrics with its id. */
const answeredBy = async (base: string) => (await fetch(`${base}/metrics`).then((r) => r.text())).match(/node="([^"]+)"/)![1]!;

t.test('three nodes behind HAProxy running docs/haproxy.cfg', async (t) => {
  // Before three nodes are started for nothing.
  if (!existsSync(haproxyPath)) throw new Error(HAPROXY_MISSING);
  const startedAt = Date.now();
  const config = readFileSync(documentedConfig, 'utf8');
  const ids = ['node-a', 'node-b', 'node-c'] as const;
  const ports = new Set<number>();
  while (ports.size < 4) ports.add(await freePort());
  const [lbPort, ...nodePorts] = [...ports] as [number, ...number[]];
  const lb = `http://127.0.0.1:${lbPort}`;
  /** Each node's own address: its frontend on the balancer. */
  const own = Object.fromEntries(ids.map((id, i) => [id, `http://127.0.0.1:${nodePorts[i]}`])) as Record<(typeof ids)[number], string>;

  const cluster = await startCluster(
    t,
    [...ids],
    {
      PUBLIC_URL: lb,
      ALLOWED_ORIGINS: lb,
      // The balancer (and, on this machine, the clients) are on the loopback.
      TRUST_PROXY: '127.0.0.0/8',
      LOGIN_RATE_LIMIT_PER_MINUTE: '4',
      // A drain that outlasts the test: the drained node's live room goes on.
      ROOMS_DRAIN_DEADLINE_SECONDS: '600',
    },
    { nodeEnv: (id) => ({ ROOMS_NODE_URL: own[id as (typeof ids)[number]] }) },
  );
  const hostPort = (url: string) => url.replace(/^http:\/\//, '');
  const haproxy = await startHaproxy(
    t,
    {
      LB_BIND: hostPort(lb),
      ...Object.fromEntries(ids.flatMap((id, i) => [[`NODE${i + 1}_BIND`, hostPort(own[id])], [`NODE${i + 1}_ADDR`, hostPort(cluster.nodes[i]!.url)]])),
    },
    [lb, ...Object.values(own)].map(hostPort),
  );
  t.comment(`three nodes and HAProxy started in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  t.teardown(() => {
    if (t.passing()) return;
    t.comment(`haproxy log (end):\n${haproxy.log().slice(-4000)}`);
  });
  const peers: WeriftPeer[] = [];
  t.teardown(async () => {
    await Promise.all(peers.map((p) => p.close()));
  });

  await t.test('the configuration: readiness checks on /readyz, forwarded client address, WebSockets kept open for an hour', async (t) => {
    t.match(config, /^\s*option httpchk GET \/readyz$/m);
    t.match(config, /^\s*http-check expect status 200$/m);
    t.match(config, /^\s*option forwardfor$/m);
    // HAProxy's idle timeout of an upgraded connection: without it an idle WebSocket dies at `timeout client`.
    t.match(config, /^\s*timeout tunnel 1h$/m);
  });

  const [student, mentor] = [await cluster.login(cluster.demo.student), await cluster.login(cluster.demo.mentor)];

  await t.test('HTTP through the shared address: login works, and every node takes requests', async (t) => {
    const login = await api(lb, 'POST', '/auth/login', undefined, { email: cluster.demo.mentor.email, password: cluster.demo.mentor.password });
    t.equal(login.status, 200, 'login through the balancer');
    t.equal((await api(lb, 'GET', '/me', login.body.accessToken)).status, 200, 'and its token is good through the balancer');
    const seen = new Set<string>();
    for (let i = 0; i < 12 && seen.size < 3; i++) seen.add(await answeredBy(lb));
    t.same([...seen].sort(), [...ids], 'the balancer sends requests to all three nodes');
    for (const id of ids) t.equal(await answeredBy(own[id]), id, `${own[id]} is ${id}'s own address`);
  });

  await t.test("the nodes see the client's address (X-Forwarded-For), not the balancer's, and cannot be told another", async (t) => {
    // 4 login attempts a minute per client address: the 5th from 127.0.0.5 is refused, 127.0.0.6 is another client.
    for (let i = 0; i < 4; i++) t.equal((await loginFrom(lb, '127.0.0.5', 'nobody-5@example.test')).status, 401);
    t.match(await loginFrom(lb, '127.0.0.5', 'nobody-5@example.test'), { status: 429, code: 'login_rate_limited' }, 'the 5th attempt from 127.0.0.5 is refused');
    t.equal((await loginFrom(lb, '127.0.0.6', 'nobody-6@example.test')).status, 401, 'another client address is not limited');
    // A client's own X-Forwarded-For is dropped by the balancer: 127.0.0.7 cannot spend another address's attempts.
    for (let i = 0; i < 4; i++) t.equal((await loginFrom(lb, '127.0.0.7', 'nobody-7@example.test', { 'x-forwarded-for': '127.0.0.8' })).status, 401);
    t.match(await loginFrom(lb, '127.0.0.7', 'nobody-7@example.test', { 'x-forwarded-for': '127.0.0.8' }), { status: 429 }, 'counted against 127.0.0.7 whatever it claims');
    t.equal((await loginFrom(lb, '127.0.0.8', 'nobody-8@example.test')).status, 401, '127.0.0.8 was not charged');
  });

  let room: { sessionId: string; owner: (typeof ids)[number]; s: WeriftPeer; m: WeriftPeer; videoConsumer: string; audioConsumer: string };
  await t.test('Socket.IO (WebSocket only) through the balancer: a room joined, the second client sent to the owner through its own address, media flows', async (t) => {
    const sessionId = await enterableSession(cluster.db, cluster.demo);
    const s = await joinThrough(lb, student, sessionId);
    peers.push(s.peer);
    t.equal(s.peer.socket.io.engine.transport.name, 'websocket', 'the WebSocket upgrade passed the balancer');
    const owner = (await api(lb, 'GET', `/rooms/${sessionId}`, mentor)).body.nodeId as (typeof ids)[number];
    t.ok(ids.includes(owner), `the room is on ${owner}`);
    t.equal(s.url, lb, 'an idle node keeps the room it was asked for: the student stays on the shared address');
    // leastconn: the student's open WebSocket makes the owner the busiest node, so the mentor's goes to another one,
    // which answers room_elsewhere with the owner's ROOMS_NODE_URL: the owner's frontend on the same balancer.
    const m = await joinThrough(lb, mentor, sessionId);
    peers.push(m.peer);
    t.equal(m.url, own[owner], `the mentor was sent to ${owner}'s own address on the balancer`);
    t.same(m.joined.peers.map((p) => p.userId), [cluster.demo.student.id], 'they are in the same room');

    const announced = m.peer.nextEvent('newProducer', (p: { source: string }) => p.source === 'webcam', 20_000);
    const video = await s.peer.produce('video', 'webcam');
    const audio = await m.peer.produce('audio', 'mic');
    await announced;
    const v = await m.peer.consume(video.producerId);
    const au = await s.peer.consume(audio.producerId);
    t.ok((await m.peer.waitForPackets(v.consumerId, 20, { timeoutMs: 20_000 })).packets >= 20, "the mentor receives the student's video");
    t.ok((await s.peer.waitForPackets(au.consumerId, 20, { timeoutMs: 20_000 })).packets >= 20, "the student receives the mentor's audio");
    room = { sessionId, owner, s: s.peer, m: m.peer, videoConsumer: v.consumerId, audioConsumer: au.consumerId };
  });

  await t.test('SIGTERM: HAProxy takes the draining node out of the balance by its /readyz, its live room goes on', async (t) => {
    const index = ids.indexOf(room.owner);
    const drained = cluster.nodes[index]!;
    drained.proc.child.kill('SIGTERM');
    for (let i = 0; (await api(own[room.owner], 'GET', '/readyz')).status !== 503; i++) {
      if (i > 100) throw new Error(`${room.owner} never answered /readyz 503`);
      await new Promise((r) => setTimeout(r, 100));
    }
    t.match((await api(own[room.owner], 'GET', '/readyz')).body, { draining: true }, `${room.owner} drains, still reachable under its own address`);
    const down = await haproxy.waitForLog(new RegExp(`Server nodes/n${index + 1} is DOWN, reason: Layer7 wrong status, code: 503`));
    t.pass(`HAProxy: ${down.replace(/^.*?Server/, 'Server').slice(0, 90)}`);

    const others = ids.filter((id) => id !== room.owner);
    const answered: string[] = [];
    for (let i = 0; i < 12; i++) answered.push(await answeredBy(lb));
    t.same([...new Set(answered)].sort(), others, `12 new requests went to the other two nodes only (${answered.join(' ')})`);
    const ready = await Promise.all(Array.from({ length: 6 }, () => api(lb, 'GET', '/readyz').then((r) => r.status)));
    t.same(ready, [200, 200, 200, 200, 200, 200], 'the shared address answers ready: no request reaches the draining node');
    const fresh = await enterableSession(cluster.db, cluster.demo);
    const placed = await joinThrough(lb, student, fresh);
    peers.push(placed.peer);
    const placedOn = (await api(lb, 'GET', `/rooms/${fresh}`, mentor)).body.nodeId as string;
    t.ok(others.includes(placedOn as (typeof ids)[number]), `a new room entered through the balancer is placed on ${placedOn}, not the draining node`);
    // Kept by the node the balancer chose (the client stays on the shared address), or placed on the other one (sent there).
    t.ok(placed.url === lb || placed.url === own[placedOn as (typeof ids)[number]], `and its client reached that node (${placed.url})`);

    const v = room.m.inboundStats(room.videoConsumer).packets;
    const a = room.s.inboundStats(room.audioConsumer).packets;
    await room.m.waitForPackets(room.videoConsumer, 20, { from: v, timeoutMs: 10_000 });
    await room.s.waitForPackets(room.audioConsumer, 20, { from: a, timeoutMs: 10_000 });
    t.ok(room.s.socket.connected && room.m.socket.connected, 'both WebSockets to the draining node are still open');
    t.pass('media goes on in the live room on the draining node');
  });
});
