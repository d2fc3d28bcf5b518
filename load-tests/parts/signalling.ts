import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { startServer, type ServerHandle, type ServerStats } from '../lib/child.ts';
import { row, type Row } from '../lib/report.ts';
import { pool, sleep, summarize } from '../lib/stats.ts';
import type { Part, PartContext } from './context.ts';

interface Member {
  userId: string;
  token: string;
  role: string;
}
export interface RoomFixture {
  sessionId: string;
  kind: string;
  members: Member[];
}
interface Client {
  socket: Socket;
  producerId?: string;
  paused: boolean;
}
export interface RunFigures {
  clients: number;
  connectMs: number[];
  joinMs: number[];
  handshakeMs: number[];
  ackMs: number[];
  errors: string[];
  pushes: number;
  memBefore: ServerStats;
  memAfter: ServerStats;
  chatter: ServerStats;
  rampS: number;
  statementsPerClient: number;
}

/** A valid DTLS fingerprint shape (mediasoup checks the form; no handshake happens without ICE). */
export function dtlsParameters() {
  const value = [...randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  return { role: 'client' as const, fingerprints: [{ algorithm: 'sha-256', value }] };
}

/** Opus rtpParameters as mediasoup-client would send them for a mic. */
export function opusParameters(ssrc: number) {
  return {
    mid: '0',
    codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1, usedtx: 1 }, rtcpFeedback: [{ type: 'transport-cc', parameter: '' }] }],
    headerExtensions: [],
    encodings: [{ ssrc, dtx: true }],
    rtcp: { cname: `bench-${ssrc}`, reducedSize: true },
  };
}

async function ack<T>(socket: Socket, event: string, payload: unknown, errors: string[], timeoutMs = 20_000): Promise<T | undefined> {
  try {
    const res = (await socket.timeout(timeoutMs).emitWithAck(event, payload)) as { data?: T; error?: { code: string } };
    if (res.error) {
      errors.push(`${event}: ${res.error.code}`);
      return undefined;
    }
    return res.data;
  } catch (err) {
    errors.push(`${event}: ${(err as Error).message}`);
    return undefined;
  }
}

function connect(url: string, token: string, errors: string[]): Promise<{ socket: Socket; ms: number } | undefined> {
  const t0 = performance.now();
  const socket = io(url, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false, timeout: 20_000 });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket, ms: performance.now() - t0 }));
    socket.once('connect_error', (err) => {
      errors.push(`connect: ${err.message}`);
      socket.close();
      resolve(undefined);
    });
  });
}

/**
 * One run against one server: ramp the clients (each connects, joins its room,
 * creates a send transport, connects it, produces a mic), then steady chatter
 * (every client mutes/unmutes every `chatterPeriodMs`), then disconnect.
 */
export async function run(ctx: PartContext, server: ServerHandle, label: string, rooms: RoomFixture[], opts: { concurrency: number; chatterS: number; chatterPeriodMs: number }): Promise<RunFigures> {
  const url = `${server.url}/rooms`;
  const errors: string[] = [];
  const connectMs: number[] = [];
  const joinMs: number[] = [];
  const handshakeMs: number[] = [];
  const ackMs: number[] = [];
  const clients: Client[] = [];
  let pushes = 0;
  const members = rooms.flatMap((r) => r.members.map((m) => ({ ...m, sessionId: r.sessionId })));
  await server.mark();
  const memBefore = await server.stats(true);
  const statements0 = await server.call<number>('statements').catch(() => 0);
  const t0 = performance.now();
  let ssrc = 1000;
  await pool(members, opts.concurrency, async (m) => {
    const start = performance.now();
    const c = await connect(url, m.token, errors);
    if (!c) return;
    connectMs.push(c.ms);
    const client: Client = { socket: c.socket, paused: false };
    clients.push(client);
    c.socket.onAny(() => pushes++);
    const j0 = performance.now();
    const joined = await ack(c.socket, 'join', { sessionId: m.sessionId }, errors);
    if (!joined) return;
    joinMs.push(performance.now() - j0);
    // Observers only receive: a recv transport, no producer.
    const observer = m.role === 'observer';
    const transport = await ack<{ transportId: string }>(c.socket, 'createTransport', { direction: observer ? 'recv' : 'send' }, errors);
    if (!transport) return;
    const transportId = transport.transportId ?? 'baseline';
    if (!(await ack(c.socket, 'connectTransport', { transportId, dtlsParameters: dtlsParameters() }, errors))) return;
    if (observer) {
      handshakeMs.push(performance.now() - start);
      return;
    }
    const produced = await ack<{ producerId: string }>(c.socket, 'produce', { transportId, kind: 'audio', rtpParameters: opusParameters(ssrc++), appData: { source: 'mic' } }, errors);
    if (!produced) return;
    client.producerId = produced.producerId ?? 'baseline';
    handshakeMs.push(performance.now() - start);
  });
  const rampS = (performance.now() - t0) / 1000;
  const statementsPerClient = ((await server.call<number>('statements').catch(() => 0)) - statements0) / Math.max(1, members.length);
  if (process.env.BENCH_COUNT_QUERIES) ctx.log(`  queries during the ramp: ${JSON.stringify((await server.call<unknown[]>('queries').catch(() => [])).slice(0, 12), null, 1)}`);
  ctx.log(`  ${label}: ${clients.length}/${members.length} clients connected, ${handshakeMs.length} through the handshake in ${rampS.toFixed(1)} s, ${errors.length} errors${statementsPerClient ? `, ${statementsPerClient.toFixed(1)} SQL statements per client` : ''}`);
  const memAfter = await server.stats(true);

  // Steady chatter: mute/unmute (pauseProducer/resumeProducer), each broadcast to the room.
  await server.mark();
  const ready = clients.filter((c) => c.producerId);
  const until = performance.now() + opts.chatterS * 1000;
  await Promise.all(
    ready.map(async (c, i) => {
      await sleep((i / ready.length) * opts.chatterPeriodMs); // spread evenly
      while (performance.now() < until) {
        const a0 = performance.now();
        const event = c.paused ? 'resumeProducer' : 'pauseProducer';
        if (await ack(c.socket, event, { producerId: c.producerId }, errors, 10_000)) {
          ackMs.push(performance.now() - a0);
          c.paused = !c.paused;
        }
        await sleep(Math.max(0, opts.chatterPeriodMs - (performance.now() - a0)));
      }
    }),
  );
  const chatter = await server.stats();
  if (process.env.BENCH_COUNT_QUERIES) ctx.log(`  queries during chatter: ${JSON.stringify((await server.call<unknown[]>('queries').catch(() => [])).slice(0, 12), null, 1)}`);
  ctx.log(`  ${label}: chatter ${ackMs.length} acks in ${opts.chatterS} s, server CPU ${chatter.cpuPercent.toFixed(0)} %, ELU ${chatter.elu.toFixed(2)}`);
  for (const c of clients) c.socket.close();
  return { clients: clients.length, connectMs, joinMs, handshakeMs, ackMs, errors, pushes, memBefore, memAfter, chatter, rampS, statementsPerClient };
}

function errorSummary(errors: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of errors) counts[e] = (counts[e] ?? 0) + 1;
  return counts;
}

export const signallingPart: Part = async (ctx) => {
  const target = ctx.smoke ? 12 : Number(process.env.BENCH_SIGNALLING_CLIENTS ?? 1000);
  const opts = { concurrency: ctx.smoke ? 4 : 50, chatterS: ctx.smoke ? 2 : 20, chatterPeriodMs: 2000 };
  // Rooms of 2–5: mentoring (2), mentoring + observer (3), defence with 3 jury (4), defence + observer (5).
  const sizes: number[] = [];
  for (let n = 0, i = 0; n < target; i++) {
    const size = 2 + (i % 4);
    sizes.push(size);
    n += size;
  }
  const rows: Row[] = [];
  const errors: string[] = [];
  const observations: Record<string, unknown> = {};

  // Baseline first: a bare Socket.IO server that acks every event.
  const echo = await startServer({ mode: 'echo' });
  let base: RunFigures;
  try {
    const fakeRooms: RoomFixture[] = sizes.map((size, i) => ({ sessionId: `room-${i}`, kind: 'echo', members: Array.from({ length: size }, (_, j) => ({ userId: `u${i}-${j}`, token: 'x', role: (size === 3 || size === 5) && j === size - 1 ? 'observer' : 'x' })) }));
    base = await run(ctx, echo, 'bare Socket.IO echo', fakeRooms, opts);
  } finally {
    await echo.close();
  }
  const server = await startServer({
    // Defences are recorded automatically (one FFmpeg per track): measured in the recording part, not here.
    // Every client of the load generator comes from 127.0.0.1 (default: 50 sockets per address).
    env: { ACCESS_TOKEN_TTL_SECONDS: '86400', RECORD_DEFENCES_AUTOMATICALLY: 'false', SOCKETS_PER_ADDRESS: '100000' },
    ...(ctx.profileDir ? { cpuProfileDir: ctx.profileDir, cpuProfileName: 'signalling-server.cpuprofile' } : {}),
  });
  let ours: RunFigures;
  try {
    const f0 = performance.now();
    const rooms = await server.call<RoomFixture[]>('rooms', { sizes });
    ctx.log(`  fixtures: ${sizes.length} sessions in ${((performance.now() - f0) / 1000).toFixed(1)} s`);
    ours = await run(ctx, server, 'rooms', rooms, opts);
  } finally {
    await server.close();
  }
  if (ours.errors.length) errors.push(`rooms: ${ours.errors.length} errors: ${JSON.stringify(errorSummary(ours.errors))}`);
  if (base.errors.length) errors.push(`baseline: ${base.errors.length} errors: ${JSON.stringify(errorSummary(base.errors))}`);

  const b = (value: number) => ({ scenario: 'bare Socket.IO echo', value });
  const scenario = `${ours.clients} clients in ${sizes.length} rooms of 2–5`;
  const add = (metric: string, unit: string, value: number, baseline: number, better: 'higher' | 'lower') => rows.push(row({ scenario, metric, unit, value, baseline: b(baseline), better }));
  const [oc, bc] = [summarize(ours.connectMs), summarize(base.connectMs)];
  const [oj, bj] = [summarize(ours.joinMs), summarize(base.joinMs)];
  const [oh, bh] = [summarize(ours.handshakeMs), summarize(base.handshakeMs)];
  const [oa, ba] = [summarize(ours.ackMs), summarize(base.ackMs)];
  add('clients through the handshake', 'clients', ours.handshakeMs.length, base.handshakeMs.length, 'higher');
  add('connect p50', 'ms', oc.p50, bc.p50, 'lower');
  add('connect p99', 'ms', oc.p99, bc.p99, 'lower');
  add('join ack p50', 'ms', oj.p50, bj.p50, 'lower');
  add('join ack p99', 'ms', oj.p99, bj.p99, 'lower');
  add('full handshake p99 (connect→produce)', 'ms', oh.p99, bh.p99, 'lower');
  add('ramp duration', 's', ours.rampS, base.rampS, 'lower');
  add(`ack p50 under chatter (1 req / ${opts.chatterPeriodMs / 1000} s / client)`, 'ms', oa.p50, ba.p50, 'lower');
  add(`ack p99 under chatter`, 'ms', oa.p99, ba.p99, 'lower');
  add('chatter acks', 'acks', oa.count, ba.count, 'higher');
  const perClient = (f: RunFigures, key: 'rss' | 'heapUsed') => (f.memAfter[key] - f.memBefore[key]) / Math.max(1, f.clients) / 1024;
  add('server RSS per client', 'KiB', perClient(ours, 'rss'), perClient(base, 'rss'), 'lower');
  add('server heap per client', 'KiB', perClient(ours, 'heapUsed'), perClient(base, 'heapUsed'), 'lower');
  add('errors', 'errors', ours.errors.length, base.errors.length, 'lower');
  const workerRss = (s: ServerStats) => s.workers.reduce((sum, w) => sum + w.rss, 0);
  rows.push(row({ scenario, metric: 'mediasoup worker RSS per client', unit: 'KiB', value: (workerRss(ours.memAfter) - workerRss(ours.memBefore)) / Math.max(1, ours.clients) / 1024 }));
  observations.rooms = {
    sizes: sizes.length,
    clients: ours.clients,
    pushesReceived: ours.pushes,
    sqlStatementsPerClientDuringRamp: Number(ours.statementsPerClient.toFixed(1)),
    rampServerCpuPercent: Math.round(ours.memAfter.cpuPercent),
    rampEventLoopUtilization: Number(ours.memAfter.elu.toFixed(2)),
    chatterServerCpuPercent: Math.round(ours.chatter.cpuPercent),
    chatterEventLoopUtilization: Number(ours.chatter.elu.toFixed(2)),
    chatterWorkerCpuPercent: ours.chatter.workers.map((w) => Math.round(w.cpuPercent)),
    rssBeforeMiB: Math.round(ours.memBefore.rss / 2 ** 20),
    rssAfterMiB: Math.round(ours.memAfter.rss / 2 ** 20),
    errors: errorSummary(ours.errors),
  };
  observations.baseline = {
    clients: base.clients,
    rampServerCpuPercent: Math.round(base.memAfter.cpuPercent),
    chatterServerCpuPercent: Math.round(base.chatter.cpuPercent),
    chatterEventLoopUtilization: Number(base.chatter.elu.toFixed(2)),
  };
  return { part: 'signalling', rows, observations, errors };
};
