/**
 * Several nodes on this box: 1, 2 and 3 server nodes (load-tests/server.ts in
 * node mode: buildApp, as `npm start` builds it) on one PostgreSQL database and
 * one Redis prefix. The nodes share the same cores, so the figures are the cost
 * of being distributed, not a speed-up:
 *   - signalling clients and media consumers the set carries together, N nodes
 *     against one node;
 *   - how evenly placement spreads rooms (busiest ÷ idlest node);
 *   - a command sent to a node that does not hold the room (recording start and
 *     stop) against the same command sent to the owner;
 *   - kill -9 of a room's owner: time until both peers (werift, real WebRTC)
 *     have media again on a surviving node;
 *   - the capacity headline: recorded mentoring sessions (two peers, camera and
 *     mic both ways, a screen share, recording on) one node carries before loss
 *     or its CPU limit.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Socket } from 'socket.io-client';
import { clusterNodeEnv, freePort, joinThrough, roomRequest, socketJoinThrough } from '../../support/cluster.ts';
import { deleteRedisPrefix } from '../../support/redis.ts';
import type { WeriftPeer } from '../../support/werift-peer.ts';
import { BENCH_JWT_SECRET, benchRedisUrl, createBenchDb } from '../harness.ts';
import { SINK_SCRIPT, startServer, type ServerHandle, type ServerStats } from '../lib/child.ts';
import { row, type Row } from '../lib/report.ts';
import { percentile, pool, sleep } from '../lib/stats.ts';
import type { Part, PartContext } from './context.ts';
import { dtlsParameters, opusParameters, type RoomFixture } from './signalling.ts';

const LOSS_LIMIT = 0.01;
/** A mediasoup worker or a Node event loop is one thread: past this share of one core it falls behind. */
const THREAD_LIMIT = 85;
/**
 * The nodes' own processes together (workers, Node, FFmpeg recorders) past this share of all the box's
 * cores: the CPU limit of the set. The box's total is only observed: the load generator and, on this
 * shared machine, other people's test suites run on the same cores.
 */
const CORES = cpus().length;
const SET_LIMIT = 85 * CORES;
/** Signalling: a client carried is one whose requests are answered within this (p95, under chatter). */
const ACK_P95_LIMIT_MS = 500;

interface Node {
  id: string;
  url: string;
  handle: ServerHandle;
}

/** Busy share (0–100) of all the box's cores between two /proc/stat samples. */
function boxSample(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3]! + (f[4] ?? 0);
  return { busy: total - idle, total };
}
const boxBusy = (a: ReturnType<typeof boxSample>, b: ReturnType<typeof boxSample>) => (b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * 100 : 0);

/** The deployment under test: nodes started one by one on one database and one Redis prefix. */
class Deployment {
  nodes: Node[] = [];
  started = 0;
  readonly databaseUrl: string;
  readonly prefix: string;
  readonly env: Record<string, string>;
  readonly drop: () => Promise<void>;
  log: (m: string) => void = () => undefined;
  settleMs = 2500;
  readonly #ports: number[];
  readonly #urls: string[];
  private constructor(fields: { databaseUrl: string; prefix: string; env: Record<string, string>; ports: number[]; drop: () => Promise<void> }) {
    this.databaseUrl = fields.databaseUrl;
    this.prefix = fields.prefix;
    this.env = fields.env;
    this.drop = fields.drop;
    this.#ports = fields.ports;
    this.#urls = fields.ports.map((p) => `http://127.0.0.1:${p}`);
  }

  static async create(env: Record<string, string>, maxNodes: number): Promise<Deployment> {
    const { db, url, drop } = await createBenchDb();
    await db.close(); // the nodes open their own pools
    const ports: number[] = [];
    while (ports.length < maxNodes) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    return new Deployment({ databaseUrl: url, prefix: `bench${randomBytes(4).toString('hex')}`, env, ports, drop });
  }

  /** The node that seeded the demo school makes the fixtures (it signs the tokens every node accepts). */
  get fixtures(): ServerHandle {
    return this.nodes[0]!.handle;
  }

  async addNode(): Promise<Node> {
    const i = this.started++;
    const id = `node-${i + 1}`;
    const url = this.#urls[i]!;
    const handle = await startServer({
      mode: 'node',
      node: { databaseUrl: this.databaseUrl, prefix: this.prefix, seed: i === 0, port: this.#ports[i]! },
      env: {
        ...clusterNodeEnv({ id, url }, this.#urls),
        JWT_SECRET: BENCH_JWT_SECRET,
        // Nodes on one box: each its own UDP range for FFmpeg recorders, above the range mediasoup
        // workers take ports from (10000–59999) and below the default recorder range other servers use.
        RECORDING_PORT_MIN: String(60000 + i * 300),
        RECORDING_PORT_MAX: String(60299 + i * 300),
        ...this.env,
      },
    });
    const node = { id, url, handle };
    this.nodes.push(node);
    // Its first registry entry is published at start; one more period lets every node see it fresh.
    await sleep(this.settleMs);
    return node;
  }

  byUrl(url: string): Node {
    const n = this.nodes.find((x) => x.url === url);
    if (!n) throw new Error(`no node at ${url}`);
    return n;
  }

  async rooms(sizes: number[]): Promise<RoomFixture[]> {
    return this.fixtures.call<RoomFixture[]>('rooms', { sizes });
  }

  /** Waits until no node holds a room (clients of a previous measure gone, their rooms closed). */
  async idle(timeoutMs = 60_000): Promise<void> {
    const t0 = Date.now();
    const until = t0 + timeoutMs;
    for (;;) {
      const loads = await Promise.all(this.nodes.map((n) => n.handle.call<{ rooms: number }>('node:load')));
      if (loads.every((l) => l.rooms === 0)) {
        if (Date.now() - t0 > 1000) this.log(`    (rooms of the previous measure closed in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        return;
      }
      if (Date.now() > until) throw new Error(`rooms still open: ${JSON.stringify(loads)}`);
      await sleep(500);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.handle.close()));
    await this.drop().catch(() => undefined);
    await deleteRedisPrefix(benchRedisUrl, this.prefix).catch(() => undefined);
  }
}

async function http(url: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, ms: performance.now() - t0 };
}

const member = (room: RoomFixture, role: string) => room.members.find((m) => m.role === role)!;
const closeAll = (sockets: Socket[]) => {
  for (const s of sockets.splice(0)) s.close();
};

// ---------------------------------------------------------------- signalling

interface SignallingCapacity {
  carried: number;
  limitedBy: 'ack-latency' | 'errors' | 'node-cpu' | 'budget';
  steps: Array<{ clients: number; handshakeP95: number; ackP95: number; errors: number; boxCpu: number; nodesCpu: number[] }>;
}

/**
 * Clients enter through the nodes in turn (a load balancer), follow the join
 * answer to the room's owner, and go through the handshake (join, send
 * transport, produce a mic; DTLS not run). Added in steps, the total doubling; after each step
 * every client mutes and unmutes every 2 s for a window. Carried: the clients
 * of the last step whose acks stayed under ACK_P95_LIMIT_MS at p95, no error.
 */
async function signallingCapacity(ctx: PartContext, dep: Deployment, o: { step: number; budget: number; windowS: number }): Promise<SignallingCapacity> {
  const sizes: number[] = [];
  for (let n = 0, i = 0; n < o.budget; i++) {
    sizes.push(2 + (i % 4));
    n += 2 + (i % 4);
  }
  const members = (await dep.rooms(sizes)).flatMap((r) => r.members.map((m) => ({ ...m, sessionId: r.sessionId }))).slice(0, o.budget);
  const sockets: Socket[] = [];
  const producers: Array<{ socket: Socket; producerId: string; paused: boolean }> = [];
  const steps: SignallingCapacity['steps'] = [];
  let carried = 0;
  let limitedBy: SignallingCapacity['limitedBy'] = 'budget';
  let ssrc = 5000;
  try {
    // The total doubles at each step (step, 2 × step, 4 × step…): a coarse search that still starts small.
    for (let from = 0, to = o.step; from < members.length; from = to, to *= 2) {
      const batch = members.slice(from, to);
      const errors: string[] = [];
      const handshakes: number[] = [];
      await pool(batch, 50, async (m, i) => {
        const t0 = performance.now();
        try {
          const { socket } = await socketJoinThrough(dep.nodes[(from + i) % dep.nodes.length]!.url, m.token, m.sessionId);
          sockets.push(socket);
          const observer = m.role === 'observer';
          const { transportId } = await roomRequest<{ transportId: string }>(socket, 'createTransport', { direction: observer ? 'recv' : 'send' });
          await roomRequest(socket, 'connectTransport', { transportId, dtlsParameters: dtlsParameters() });
          if (!observer) {
            const { producerId } = await roomRequest<{ producerId: string }>(socket, 'produce', { transportId, kind: 'audio', rtpParameters: opusParameters(ssrc++), appData: { source: 'mic' } });
            producers.push({ socket, producerId, paused: false });
          }
          handshakes.push(performance.now() - t0);
        } catch (err) {
          errors.push((err as Error).message);
        }
      });
      // Chatter: every producing client mutes/unmutes every 2 s (each a broadcast to its room).
      const acks: number[] = [];
      await Promise.all(dep.nodes.map((n) => n.handle.mark()));
      const box0 = boxSample();
      const until = performance.now() + o.windowS * 1000;
      await Promise.all(
        producers.map(async (p, i) => {
          await sleep((i / producers.length) * 2000);
          while (performance.now() < until) {
            const a0 = performance.now();
            try {
              await roomRequest(p.socket, p.paused ? 'resumeProducer' : 'pauseProducer', { producerId: p.producerId }, 10_000);
              p.paused = !p.paused;
              acks.push(performance.now() - a0);
            } catch (err) {
              errors.push((err as Error).message);
            }
            await sleep(Math.max(0, 2000 - (performance.now() - a0)));
          }
        }),
      );
      const boxCpu = boxBusy(box0, boxSample());
      const stats = await Promise.all(dep.nodes.map((n) => n.handle.stats()));
      const step = { clients: sockets.length, handshakeP95: percentile(handshakes, 95), ackP95: percentile(acks, 95), errors: errors.length, boxCpu, nodesCpu: stats.map((s) => Math.round(s.cpuPercent)) };
      steps.push(step);
      ctx.log(`    ${step.clients} clients: handshake p95 ${step.handshakeP95.toFixed(0)} ms, ack p95 ${step.ackP95.toFixed(1)} ms, ${errors.length} errors${errors.length ? ` (${errors[0]})` : ''}, box CPU ${boxCpu.toFixed(0)} %, nodes ${step.nodesCpu.join('/')} %`);
      if (errors.length > 0) {
        limitedBy = 'errors';
        break;
      }
      if (!(step.ackP95 <= ACK_P95_LIMIT_MS)) {
        limitedBy = 'ack-latency';
        break;
      }
      carried = step.clients;
      if (step.nodesCpu.some((c) => c >= THREAD_LIMIT)) {
        limitedBy = 'node-cpu';
        break;
      }
    }
  } finally {
    closeAll(sockets);
  }
  return { carried, limitedBy, steps };
}

// --------------------------------------------------------------------- media

interface MediaCapacity {
  carried: number;
  limitedBy: 'loss' | 'worker-cpu' | 'set-cpu' | 'budget';
  steps: Array<{ consumers: number; lossPercent: number; workersCpu: number[]; boxCpu: number }>;
}

/**
 * One live room per node (opened by a real join through that node), a feed
 * (VP8 ~500 kb/s + Opus) on each room's router, and SRTP subscribers added on
 * every node at once, in steps, towards one UDP sink that counts loss.
 */
async function mediaCapacity(ctx: PartContext, dep: Deployment, sink: ServerHandle, sinkPorts: number[], o: { stepSubscribers: number; budgetSubscribers: number; windowS: number }): Promise<MediaCapacity> {
  const sockets: Socket[] = [];
  const owned = new Map<Node, string>();
  const rooms = await dep.rooms(Array.from({ length: dep.nodes.length * 3 }, () => 2));
  try {
    for (const [i, room] of rooms.entries()) {
      if (owned.size === dep.nodes.length) break;
      const { socket, url } = await socketJoinThrough(dep.nodes[i % dep.nodes.length]!.url, room.members[0]!.token, room.sessionId);
      const node = dep.byUrl(url);
      if (owned.has(node)) socket.close();
      else {
        sockets.push(socket);
        owned.set(node, room.sessionId);
      }
    }
    if (owned.size < dep.nodes.length) throw new Error(`rooms landed on ${owned.size} of ${dep.nodes.length} nodes`);
    for (const [node, sessionId] of owned) await node.handle.call('media:start', { sessionId, seconds: 900 });
    const steps: MediaCapacity['steps'] = [];
    let carried = 0;
    let limitedBy: MediaCapacity['limitedBy'] = 'budget';
    for (let subs = 0; subs < o.budgetSubscribers; ) {
      const add = Math.min(o.stepSubscribers, o.budgetSubscribers - subs);
      const added = await Promise.race([
        Promise.all(dep.nodes.map((n) => n.handle.call<{ consumers: number }>('media:add', { n: add, sinkPorts }))),
        sleep(30_000).then(() => undefined),
      ]);
      if (!added) {
        limitedBy = 'worker-cpu'; // a worker too busy to create transports within 30 s
        break;
      }
      subs += add;
      const consumers = added.reduce((a, r) => a + r.consumers, 0);
      await sleep(1500); // new video consumers wait for a keyframe (one a second)
      await sink.call('reset');
      await Promise.all(dep.nodes.map((n) => n.handle.mark()));
      const box0 = boxSample();
      await sleep(o.windowS * 1000);
      const boxCpu = boxBusy(box0, boxSample());
      const [report, ...stats] = await Promise.all([sink.call<{ expected: number; lost: number }>('report'), ...dep.nodes.map((n) => n.handle.stats())]);
      const step = {
        consumers,
        lossPercent: report.expected > 0 ? (report.lost / report.expected) * 100 : 0,
        workersCpu: (stats as ServerStats[]).map((s) => Math.round(s.workers.reduce((m, w) => Math.max(m, w.cpuPercent), 0))),
        boxCpu,
      };
      steps.push(step);
      ctx.log(`    ${consumers} consumers: loss ${step.lossPercent.toFixed(2)} %, workers ${step.workersCpu.join('/')} % CPU, box ${boxCpu.toFixed(0)} %`);
      if (step.lossPercent >= LOSS_LIMIT * 100) {
        limitedBy = 'loss';
        break;
      }
      carried = consumers;
      if (step.workersCpu.some((c) => c >= THREAD_LIMIT)) {
        limitedBy = 'worker-cpu';
        break;
      }
      if (step.workersCpu.reduce((a, b) => a + b, 0) >= SET_LIMIT) {
        limitedBy = 'set-cpu';
        break;
      }
    }
    return { carried, limitedBy, steps };
  } finally {
    await Promise.all(dep.nodes.map((n) => n.handle.call('media:stop').catch(() => undefined)));
    closeAll(sockets);
  }
}

// ------------------------------------------------------ recorded sessions (headline)

interface SessionStep {
  sessions: number;
  lossPercent: number;
  workerCpu: number;
  nodeCpu: number;
  recordersCpu: number;
  recorders: number;
  boxCpu: number;
  rssMiB: number;
  recordersPssMiB: number;
}
interface SessionCapacity {
  carried: number;
  errors: string[];
  /** `refused`: the node no longer took new rooms or recordings (its answer is in `errors`). */
  limitedBy: 'loss' | 'worker-cpu' | 'node-cpu' | 'refused' | 'budget';
  steps: SessionStep[];
}

/** One recorded mentoring session on `node`: both peers join, the student consents, media both ways, the mentor records. */
async function recordedSession(node: Node, room: RoomFixture, sockets: Socket[], sinkPorts: number[]): Promise<void> {
  const student = member(room, 'student');
  const mentor = member(room, 'mentor');
  for (const m of [student, mentor]) sockets.push((await socketJoinThrough(node.url, m.token, room.sessionId, 60_000)).socket);
  const consent = await http(node.url, 'PUT', `/sessions/${room.sessionId}/recording-consent`, student.token, { granted: true });
  if (consent.status !== 200) throw new Error(`consent: ${consent.status} ${JSON.stringify(consent.body)}`);
  await node.handle.call('session:media', {
    sessionId: room.sessionId,
    seconds: 1800,
    sinkPorts,
    peers: [
      { userId: student.userId, screen: true },
      { userId: mentor.userId, screen: false },
    ],
  });
  const rec = await http(node.url, 'POST', `/sessions/${room.sessionId}/recordings`, mentor.token);
  if (rec.status !== 201) throw new Error(`recording start: ${rec.status} ${JSON.stringify(rec.body)}`);
}

/**
 * Recorded mentoring sessions on one node, added in steps: the student and
 * the mentor join through the signalling, the student consents, each sends
 * camera and mic (the student a screen share too) into the room, each
 * receives the other's tracks, and the mentor starts the recording over HTTP
 * (one FFmpeg per track, as in production).
 */
async function recordedSessions(ctx: PartContext, node: Node, sink: ServerHandle, sinkPorts: number[], o: { step: number; budget: number; windowS: number; settleS: number }): Promise<SessionCapacity> {
  const sockets: Socket[] = [];
  const steps: SessionStep[] = [];
  let carried = 0;
  let limitedBy: SessionCapacity['limitedBy'] = 'budget';
  const errors: string[] = [];
  try {
    for (let sessions = 0; sessions < o.budget; ) {
      const add = Math.min(o.step, o.budget - sessions);
      const rooms = await node.handle.call<RoomFixture[]>('rooms', { sizes: Array.from({ length: add }, () => 2) });
      try {
        for (const room of rooms) await recordedSession(node, room, sockets, sinkPorts);
      } catch (err) {
        // A node that stops taking rooms (e.g. its registry entry went stale while starved of CPU) is at its limit too.
        errors.push(`${sessions + add} sessions: ${(err as Error).message}`);
        limitedBy = 'refused';
        break;
      }
      sessions += add;
      await sleep(o.settleS * 1000); // keyframes, FFmpeg recorders probing their input
      await sink.call('reset');
      await node.handle.mark();
      const box0 = boxSample();
      await sleep(o.windowS * 1000);
      const boxCpu = boxBusy(box0, boxSample());
      const [report, s] = await Promise.all([sink.call<{ expected: number; lost: number }>('report'), node.handle.stats()]);
      const step: SessionStep = {
        sessions,
        lossPercent: report.expected > 0 ? (report.lost / report.expected) * 100 : 0,
        workerCpu: s.workers.reduce((m, w) => Math.max(m, w.cpuPercent), 0),
        nodeCpu: s.cpuPercent,
        recordersCpu: s.recorders.reduce((a, r) => a + r.cpuPercent, 0),
        recorders: s.recorders.length,
        boxCpu,
        rssMiB: s.rss / 2 ** 20,
        recordersPssMiB: s.recorders.reduce((a, r) => a + r.pss, 0) / 2 ** 20,
      };
      steps.push(step);
      ctx.log(
        `    ${sessions} recorded sessions: loss ${step.lossPercent.toFixed(2)} %, worker ${step.workerCpu.toFixed(0)} %, Node ${step.nodeCpu.toFixed(0)} %, ${step.recorders} recorders ${step.recordersCpu.toFixed(0)} %, box ${boxCpu.toFixed(0)} %`,
      );
      if (step.recorders !== sessions * 5) ctx.log(`    ${sessions} sessions: ${step.recorders} recorders running, ${sessions * 5} expected`);
      if (step.lossPercent >= LOSS_LIMIT * 100) {
        limitedBy = 'loss';
        break;
      }
      carried = sessions;
      if (step.workerCpu >= THREAD_LIMIT) limitedBy = 'worker-cpu';
      else if (step.nodeCpu >= THREAD_LIMIT || step.workerCpu + step.nodeCpu + step.recordersCpu >= SET_LIMIT) limitedBy = 'node-cpu';
      if (limitedBy !== 'budget') break;
    }
    return { carried, limitedBy, steps, errors };
  } finally {
    await node.handle.call('session:media:stop').catch(() => undefined);
    closeAll(sockets);
  }
}

// ---------------------------------------------------------------- placement

/** Rooms per node for rooms created one after another through one node, then at once through every node. */
async function placementSpread(ctx: PartContext, dep: Deployment, o: { sequential: number; burst: number }) {
  const sockets: Socket[] = [];
  const count = (urls: string[]) => {
    const c = Object.fromEntries(dep.nodes.map((n) => [n.id, 0]));
    for (const u of urls) c[dep.byUrl(u).id]!++;
    return c;
  };
  try {
    const seqRooms = await dep.rooms(Array.from({ length: o.sequential }, () => 2));
    const seqUrls: string[] = [];
    for (const room of seqRooms) {
      const j = await socketJoinThrough(dep.nodes[0]!.url, room.members[0]!.token, room.sessionId);
      sockets.push(j.socket);
      seqUrls.push(j.url);
    }
    const burstRooms = await dep.rooms(Array.from({ length: o.burst }, () => 2));
    const burst = await Promise.all(burstRooms.map((room, i) => socketJoinThrough(dep.nodes[i % dep.nodes.length]!.url, room.members[0]!.token, room.sessionId)));
    sockets.push(...burst.map((b) => b.socket));
    const result = { sequential: count(seqUrls), burst: count(burst.map((b) => b.url)) };
    ctx.log(`    placed one after another: ${JSON.stringify(result.sequential)}; at once: ${JSON.stringify(result.burst)}`);
    return result;
  } finally {
    closeAll(sockets);
  }
}

// ----------------------------------------------------------------- commands

/**
 * Recording start and stop of a live room sent to a node that does not hold
 * it (the command travels to the owner on its channel and the answer comes
 * back), alternately through each other node, against the same commands sent
 * to the owner itself.
 */
async function crossNodeCommands(ctx: PartContext, dep: Deployment, rounds: number) {
  const [room] = await dep.rooms([2]);
  const student = member(room!, 'student');
  const mentor = member(room!, 'mentor');
  const sockets: Socket[] = [];
  try {
    const s = await socketJoinThrough(dep.nodes[0]!.url, student.token, room!.sessionId);
    sockets.push(s.socket);
    sockets.push((await socketJoinThrough(s.url, mentor.token, room!.sessionId)).socket);
    const owner = dep.byUrl(s.url);
    const others = dep.nodes.filter((n) => n !== owner);
    const consent = await http(owner.url, 'PUT', `/sessions/${room!.sessionId}/recording-consent`, student.token, { granted: true });
    if (consent.status !== 200) throw new Error(`consent: ${consent.status}`);
    const remote: number[] = [];
    const local: number[] = [];
    const startStop = async (via: Node, into: number[]) => {
      const start = await http(via.url, 'POST', `/sessions/${room!.sessionId}/recordings`, mentor.token);
      if (start.status !== 201) throw new Error(`recording start via ${via.id}: ${start.status} ${JSON.stringify(start.body)}`);
      const stop = await http(via.url, 'POST', `/sessions/${room!.sessionId}/recordings/${start.body.id}/stop`, mentor.token);
      if (stop.status !== 200) throw new Error(`recording stop via ${via.id}: ${stop.status} ${JSON.stringify(stop.body)}`);
      into.push(start.ms, stop.ms);
    };
    await startStop(owner, []); // warm-up (first recording of the process)
    if (others.length > 0) await startStop(others[0]!, []);
    for (let i = 0; i < rounds; i++) {
      await startStop(owner, local);
      await startStop(others[i % others.length]!, remote);
    }
    ctx.log(`    room on ${owner.id}: via another node p50 ${percentile(remote, 50).toFixed(1)} ms p95 ${percentile(remote, 95).toFixed(1)} ms; to the owner p50 ${percentile(local, 50).toFixed(1)} ms p95 ${percentile(local, 95).toFixed(1)} ms`);
    return { remote, local };
  } finally {
    closeAll(sockets);
  }
}

// ------------------------------------------------------------------- rejoin

/** Media both ways (student camera → mentor, mentor mic → student); resolves when both receive packets. */
async function mediaBothWays(s: WeriftPeer, m: WeriftPeer): Promise<void> {
  const video = await s.produce('video', 'webcam');
  const audio = await m.produce('audio', 'mic');
  const v = await m.consume(video.producerId);
  const a = await s.consume(audio.producerId);
  await Promise.all([m.waitForPackets(v.consumerId, 5, { timeoutMs: 30_000 }), s.waitForPackets(a.consumerId, 5, { timeoutMs: 30_000 })]);
}

/**
 * kill -9 of the node holding a live room of two werift peers: the peers see
 * their connection drop, come back through a surviving node (the room answers
 * `room_moving` until the dead owner's lease lapses) and send media again.
 * Measured from the kill: the room accepting both again, and media flowing
 * both ways.
 */
async function rejoinAfterKill(ctx: PartContext, dep: Deployment, rooms: RoomFixture[]) {
  const samples: Array<{ joinedS: number; mediaS: number; lease: number }> = [];
  for (const room of rooms) {
    const student = member(room, 'student');
    const mentor = member(room, 'mentor');
    const peers: WeriftPeer[] = [];
    try {
      const s = await joinThrough(dep.nodes[0]!.url, student.token, room.sessionId);
      peers.push(s.peer);
      const m = await joinThrough(s.url, mentor.token, room.sessionId);
      peers.push(m.peer);
      await mediaBothWays(s.peer, m.peer);
      const owner = dep.byUrl(s.url);
      const survivor = dep.nodes.find((n) => n !== owner)!;
      const t0 = performance.now();
      await owner.handle.kill();
      dep.nodes.splice(dep.nodes.indexOf(owner), 1);
      await Promise.all(peers.splice(0).map((p) => p.close()));
      const [s2, m2] = await Promise.all([joinThrough(survivor.url, student.token, room.sessionId, 90_000), joinThrough(survivor.url, mentor.token, room.sessionId, 90_000)]);
      peers.push(s2.peer, m2.peer);
      const joinedS = (performance.now() - t0) / 1000;
      if (s2.url !== m2.url) throw new Error('the two peers rejoined on different nodes');
      await mediaBothWays(s2.peer, m2.peer);
      const mediaS = (performance.now() - t0) / 1000;
      samples.push({ joinedS, mediaS, lease: Number(dep.env.ROOMS_LEASE_SECONDS ?? 15) });
      ctx.log(`    ${owner.id} killed: both peers in the room on ${dep.byUrl(s2.url).id} after ${joinedS.toFixed(1)} s, media both ways after ${mediaS.toFixed(1)} s`);
    } finally {
      await Promise.all(peers.map((p) => p.close()));
    }
  }
  return samples;
}

// --------------------------------------------------------------------- part

export const clusterPart: Part = async (ctx) => {
  const smoke = ctx.smoke;
  const env: Record<string, string> = {
    ACCESS_TOKEN_TTL_SECONDS: '86400',
    // Every client of the load generator comes from 127.0.0.1 (default: 50 sockets per address and node).
    SOCKETS_PER_ADDRESS: '100000',
    // Recording here is what the headline asks for, started over HTTP; defences are not measured.
    RECORD_DEFENCES_AUTOMATICALLY: 'false',
    // Rooms of a finished measure close within seconds, so the next one starts on idle nodes.
    ROOM_DEPARTURE_GRACE_SECONDS: '1',
    ROOM_RECONNECT_GRACE_SECONDS: '1',
    ROOM_EMPTY_TIMEOUT_SECONDS: '5',
    // The smoke run waits out a dead node's lease in seconds; the full run uses the default (15 s).
    ...(smoke ? { ROOMS_LEASE_SECONDS: '3' } : {}),
  };
  const o = smoke
    ? { signalling: { step: 6, budget: 6, windowS: 1 }, media: { stepSubscribers: 1, budgetSubscribers: 1, windowS: 1 }, sessions: { step: 1, budget: 1, windowS: 1, settleS: 2 }, placement: { sequential: 6, burst: 6 }, commands: 2, kills: 1 }
    : {
        // Budgets (BENCH_CLUSTER_CLIENTS, BENCH_CLUSTER_SESSIONS): what a run may try before it stops, limit or not.
        signalling: { step: 100, budget: Number(process.env.BENCH_CLUSTER_CLIENTS ?? 3200), windowS: 5 },
        media: { stepSubscribers: 40, budgetSubscribers: 800, windowS: 4 },
        sessions: { step: Number(process.env.BENCH_CLUSTER_SESSION_STEP ?? 4), budget: Number(process.env.BENCH_CLUSTER_SESSIONS ?? 80), windowS: 6, settleS: 3 },
        placement: { sequential: 30, burst: 20 },
        commands: 20,
        kills: 2,
      };
  // Between measures the nodes are let go idle (rooms closed); the smoke run only does it where placement is measured.
  const settle = () => (smoke ? Promise.resolve() : dep.idle());
  const rows: Row[] = [];
  const errors: string[] = [];
  const observations: Record<string, unknown> = { env, limits: { lossPercent: LOSS_LIMIT * 100, threadCpuPercent: THREAD_LIMIT, setCpuPercent: SET_LIMIT, ackP95Ms: ACK_P95_LIMIT_MS } };
  const dep = await Deployment.create(env, 3);
  const t0 = performance.now();
  dep.log = ctx.log;
  if (smoke) dep.settleMs = 1000;
  const phase = (m: string) => ctx.log(`  [${((performance.now() - t0) / 1000).toFixed(0)} s] ${m}`);
  const sink = await startServer({ script: SINK_SCRIPT });
  const sinkPorts = await sink.call<number[]>('open', { count: 4 });
  const signalling: Array<SignallingCapacity & { nodes: number }> = [];
  const media: Array<MediaCapacity & { nodes: number }> = [];
  try {
    // The smoke run skips the two-node step and starts the second and third nodes together.
    for (const n of smoke ? [1, 3] : [1, 2, 3]) {
      await Promise.all(Array.from({ length: n - dep.nodes.length }, () => dep.addNode()));
      dep.nodes.sort((a, b) => a.id.localeCompare(b.id));
      await settle();
      phase(`${n} node${n > 1 ? 's' : ''}: signalling clients`);
      signalling.push({ nodes: n, ...(await signallingCapacity(ctx, dep, o.signalling)) });
      await settle();
      phase(`${n} node${n > 1 ? 's' : ''}: media consumers`);
      media.push({ nodes: n, ...(await mediaCapacity(ctx, dep, sink, sinkPorts, o.media)) });
      if (n === 1) {
        await settle();
        phase('1 node: recorded mentoring sessions');
        const h = await recordedSessions(ctx, dep.nodes[0]!, sink, sinkPorts, o.sessions);
        const last = h.steps.filter((s) => s.sessions <= Math.max(h.carried, h.steps[0]!.sessions)).at(-1)!;
        const scenario = 'recorded mentoring sessions on one node (2 peers, camera + mic both ways, 1 screen share, recording on)';
        rows.push(row({ scenario, metric: `sessions carried before ${LOSS_LIMIT * 100} % loss or the CPU limit`, unit: 'sessions', value: h.carried, better: 'higher', note: `limited by ${h.limitedBy}` }));
        const perSession = (last.workerCpu + last.nodeCpu + last.recordersCpu) / last.sessions;
        rows.push(row({ scenario, metric: `node CPU per session (worker + Node + recorders, at ${last.sessions})`, unit: '% core', value: perSession, better: 'lower' }));
        rows.push(row({ scenario, metric: `recorder CPU per session (at ${last.sessions})`, unit: '% core', value: last.recordersCpu / last.sessions, better: 'lower' }));
        rows.push(row({ scenario, metric: `recorder PSS per session (at ${last.sessions})`, unit: 'MiB', value: last.recordersPssMiB / last.sessions, better: 'lower' }));
        rows.push(row({ scenario, metric: `box CPU at ${last.sessions} sessions (load generator included)`, unit: '%', value: last.boxCpu, better: 'lower' }));
        observations.recordedSessions = h; // a refusal that ended the ramp is in h.errors: a limit, not a failure of the bench
      }
      if (n === 3) {
        await dep.idle();
        phase('3 nodes: placement');
        const spread = await placementSpread(ctx, dep, o.placement);
        observations.placement = spread;
        for (const [label, counts] of [[`${o.placement.sequential} rooms created one after another through one node`, spread.sequential], [`${o.placement.burst} rooms created at once through the three nodes`, spread.burst]] as const) {
          const v = Object.values(counts);
          const [max, min] = [Math.max(...v), Math.min(...v)];
          if (min > 0) rows.push(row({ scenario: label, metric: 'rooms on the busiest ÷ the idlest node', unit: '×', value: max / min, better: 'lower' }));
          rows.push(row({ scenario: label, metric: 'rooms on the busiest node ÷ an even share', unit: '×', value: max / (v.reduce((a, b) => a + b, 0) / v.length), better: 'lower' }));
        }
        await dep.idle();
        phase('3 nodes: commands sent to a node that does not hold the room');
        const cmd = await crossNodeCommands(ctx, dep, o.commands);
        observations.commands = cmd;
        const scenario = 'recording start/stop of a live room';
        for (const p of [50, 95]) {
          rows.push(row({ scenario, metric: `sent to another node, p${p}`, unit: 'ms', value: percentile(cmd.remote, p), baseline: { scenario: 'sent to the owner', value: percentile(cmd.local, p) }, better: 'lower' }));
        }
        const killRooms = await dep.rooms(Array.from({ length: o.kills }, () => 2));
        await settle();
        phase(`3 nodes: kill -9 of a room's owner (lease ${env.ROOMS_LEASE_SECONDS ?? 15} s)`);
        const rejoin = await rejoinAfterKill(ctx, dep, killRooms);
        observations.rejoin = rejoin;
        const rs = `kill -9 of the owner of a live room (werift peers, lease ${env.ROOMS_LEASE_SECONDS ?? 15} s)`;
        rows.push(row({ scenario: rs, metric: 'both peers in the room again on a survivor (worst)', unit: 's', value: Math.max(...rejoin.map((r) => r.joinedS)), better: 'lower' }));
        rows.push(row({ scenario: rs, metric: 'both peers have media again (worst)', unit: 's', value: Math.max(...rejoin.map((r) => r.mediaS)), better: 'lower' }));
        rows.push(row({ scenario: rs, metric: 'both peers have media again, beyond the lease (worst)', unit: 's', value: Math.max(...rejoin.map((r) => r.mediaS - r.lease)), better: 'lower' }));
      }
    }
    phase('done');
  } finally {
    await dep.close();
    await sink.close();
  }
  observations.signalling = signalling;
  observations.media = media;
  const one = (xs: Array<{ carried: number }>) => xs[0]!.carried;
  for (const [i, s] of signalling.entries()) {
    rows.push(
      row({
        scenario: `${s.nodes} node${s.nodes > 1 ? 's' : ''} on the same cores`,
        metric: `signalling clients carried (ack p95 ≤ ${ACK_P95_LIMIT_MS} ms, no error; budget ${o.signalling.budget})`,
        unit: 'clients',
        value: s.carried,
        ...(i > 0 ? { baseline: { scenario: '1 node', value: one(signalling) } } : {}),
        better: 'higher',
        note: `limited by ${s.limitedBy}`,
      }),
    );
  }
  for (const [i, m] of media.entries()) {
    rows.push(
      row({
        scenario: `${m.nodes} node${m.nodes > 1 ? 's' : ''} on the same cores`,
        metric: `media consumers carried (< ${LOSS_LIMIT * 100} % loss, each worker < ${THREAD_LIMIT} % and all < ${THREAD_LIMIT} % of ${CORES} cores)`,
        unit: 'consumers',
        value: m.carried,
        ...(i > 0 ? { baseline: { scenario: '1 node', value: one(media) } } : {}),
        better: 'higher',
        note: `limited by ${m.limitedBy}`,
      }),
    );
  }
  return { part: 'cluster', rows, observations, errors };
};
