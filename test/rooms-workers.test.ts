import t from 'tap';
import pino from 'pino';
import { mediaCodecs, WorkerPool } from '../src/rooms/index.ts';
import { freeUdpAndTcpPort } from './helpers/ports.ts';

const logger = pino({ level: 'silent' });

t.test('routers go to the least loaded worker; a dead worker is replaced in its slot', async (t) => {
  const pool = await WorkerPool.create({ count: 2, listenIp: '127.0.0.1', announcedAddress: undefined, port: 0, logLevel: 'warn', logger });
  t.teardown(() => pool.close());
  t.equal(pool.slots().length, 2);
  const ports = await Promise.all(pool.slots().map(async (s) => (await s.webRtcServer.dump()).udpSockets[0]!.port));
  t.not(ports[0], ports[1], 'port 0: each worker got its own free port');

  const a = await pool.createRouter(mediaCodecs);
  const b = await pool.createRouter(mediaCodecs);
  const c = await pool.createRouter(mediaCodecs);
  t.not(a.slot, b.slot, 'the second router goes to the other worker');
  t.same(pool.slots().map((s) => s.routers).sort(), [1, 2]);
  c.router.close();
  t.same(pool.slots().map((s) => s.routers), [1, 1], 'closing a router lowers its load');

  const victim = pool.slots()[0]!;
  const replaced = new Promise<[number, number]>((resolve) => pool.once('workerreplaced', (slot: number, pid: number) => resolve([slot, pid])));
  const onVictim = [a, b].find((r) => r.slot === victim.index)!;
  const workerclose = new Promise<void>((resolve) => onVictim.router.once('workerclose', () => resolve()));
  process.kill(victim.worker.pid, 'SIGKILL');
  await workerclose;
  // A router asked for while the slot is down lands on the survivor or the replacement, never on the dead worker.
  const d = await pool.createRouter(mediaCodecs);
  t.equal(d.router.closed, false);
  const [slot, pid] = await replaced;
  t.equal(slot, victim.index);
  t.not(pid, victim.worker.pid);
  t.equal(pool.slots().length, 2, 'back to two live workers');

  pool.close();
  t.equal(pool.closed, true);
  await t.rejects(pool.createRouter(mediaCodecs), { code: 'server_draining' });
});

t.test('a fixed port: worker i listens on port + i, and the replacement reuses it', async (t) => {
  const base = await freeUdpAndTcpPort();
  const pool = await WorkerPool.create({ count: 1, listenIp: '127.0.0.1', announcedAddress: '203.0.113.7', port: base, logLevel: 'warn', logger });
  t.teardown(() => pool.close());
  const slot = pool.slots()[0]!;
  const dump = await slot.webRtcServer.dump();
  t.equal(dump.udpSockets[0]!.port, base);
  t.equal(dump.tcpServers[0]!.port, base);
  const placed = await pool.createRouter(mediaCodecs);
  const transport = await placed.router.createWebRtcTransport({ webRtcServer: placed.webRtcServer });
  t.ok(transport.iceCandidates.every((c) => c.address === '203.0.113.7' && c.port === base), 'candidates carry the announced address');
  const replaced = new Promise<void>((resolve) => pool.once('workerreplaced', () => resolve()));
  process.kill(slot.worker.pid, 'SIGKILL');
  await replaced;
  t.equal((await pool.slots()[0]!.webRtcServer.dump()).udpSockets[0]!.port, base);
});

t.test('rooms config: ports, ICE servers', async (t) => {
  const { readRoomsConfig } = await import('../src/rooms/config.ts');
  const base = readRoomsConfig({ MEDIASOUP_WORKERS: '3', MEDIASOUP_PORT: '0' });
  t.equal(base.workers, 3);
  t.equal(base.webRtcServerPort, 0);
  t.same(base.iceServers, []);
  t.equal(base.maxScreenShares, 1);
  const withTurn = readRoomsConfig({ ROOM_ICE_SERVERS: '[{"urls":["turn:turn.example.org:3478"],"username":"u","credential":"p"}]' });
  t.same(withTurn.iceServers, [{ urls: ['turn:turn.example.org:3478'], username: 'u', credential: 'p' }]);
  t.throws(() => readRoomsConfig({ ROOM_ICE_SERVERS: 'not json' }), /ROOM_ICE_SERVERS/);
  t.throws(() => readRoomsConfig({ ROOM_ICE_SERVERS: '[{"url":"stun:x"}]' }), /ROOM_ICE_SERVERS/);
  t.throws(() => readRoomsConfig({ MEDIASOUP_LOG_LEVEL: 'chatty' }), /MEDIASOUP_LOG_LEVEL/);
});
