/**
 * The process under load: started by the driver (load-tests/run.ts) as a child
 * with an IPC channel, so the load generator never shares the server's event
 * loop. Modes:
 *   app   buildApp on a fresh database (load-tests/harness.ts) + GET /bench/hello
 *   echo  a bare Socket.IO server that acks every event (signalling baseline)
 *   node  one node of a deployment: buildApp on the database and Redis prefix
 *         the driver gives in BENCH_NODE (load-tests/parts/cluster.ts)
 * Node flags (e.g. --cpu-prof) are given by the driver.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrackRecorder } from '../src/recording/index.ts';
import { RecorderPool } from '../src/recording/recorder-pool.ts';
import { createServer } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Server } from 'socket.io';
import { queryCounts, startBenchServer, statements, type BenchServer } from './harness.ts';
import { hashPassword } from '../src/auth/index.ts';
import * as projectMediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import { benchMediaCodecs, startFeed, subscribers, type Feed, type Subscribers } from './media-lib.ts';

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
type Handler = (args: any) => Promise<unknown> | unknown;

const mode = process.argv[2] ?? 'app';
// bare-media only: another mediasoup package (its own worker binary inside) for A/B runs across versions.
const mediasoup: typeof projectMediasoup =
  mode === 'bare-media' && process.env.BENCH_MEDIASOUP_MODULE ? createRequire(import.meta.url)(process.env.BENCH_MEDIASOUP_MODULE) : projectMediasoup;
const handlers: Record<string, Handler> = {};
let closeServer: () => Promise<void>;
let url: string;
let bench: BenchServer | undefined;

// --- measurements -----------------------------------------------------------
let markElu = performance.eventLoopUtilization();
let markCpu = process.cpuUsage();
let markAt = performance.now();
let markWorkerTicks = new Map<number, number>();

function clkTck(): number {
  return 100; // Linux USER_HZ
}
function childPids(): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
/** utime+stime in ticks and RSS in bytes of a process, from /proc. */
function procStat(pid: number): { ticks: number; rss: number; name: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rss = Number(fields[21]) * 4096;
    return { ticks, rss, name };
  } catch {
    return undefined;
  }
}
/** Proportional set size (shared library pages split between the processes that map them). */
function pss(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}
/**
 * FFmpeg children that record (read an SDP: a file, or stdin as the recording capability's do), as opposed
 * to the feed's senders, and listen: a spare recorder waiting for its SDP has no socket yet, and is not one.
 */
function recorderPids(): number[] {
  return childPids().filter((pid) => procStat(pid)?.name === 'ffmpeg' && /\.sdp|-f sdp/.test(cmdline(pid)) && hasSocket(pid));
}
function hasSocket(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}
function workerPids(): number[] {
  return childPids().filter((pid) => procStat(pid)?.name.startsWith('mediasoup-work'));
}

handlers.mark = () => {
  markElu = performance.eventLoopUtilization();
  markCpu = process.cpuUsage();
  markAt = performance.now();
  markWorkerTicks = new Map([...workerPids(), ...recorderPids()].map((pid) => [pid, procStat(pid)?.ticks ?? 0]));
  return {};
};

/** Since the last mark: CPU % of one core, event-loop utilisation, memory (after GC when asked). */
handlers.stats = (args: { gc?: boolean } = {}) => {
  if (args.gc && typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
  const elapsedMs = performance.now() - markAt;
  const cpu = process.cpuUsage(markCpu);
  const elu = performance.eventLoopUtilization(markElu);
  const mem = process.memoryUsage();
  const workers = workerPids().map((pid) => {
    const s = procStat(pid);
    const ticks = (s?.ticks ?? 0) - (markWorkerTicks.get(pid) ?? 0);
    return { pid, cpuPercent: elapsedMs > 0 ? ((ticks / clkTck()) * 1000 * 100) / elapsedMs : 0, rss: s?.rss ?? 0 };
  });
  const recorders = recorderPids().map((pid) => {
    const st = procStat(pid);
    const ticks = (st?.ticks ?? 0) - (markWorkerTicks.get(pid) ?? 0);
    return { pid, cpuPercent: elapsedMs > 0 ? ((ticks / clkTck()) * 1000 * 100) / elapsedMs : 0, rss: st?.rss ?? 0, pss: pss(pid) };
  });
  return {
    recorders,
    elapsedMs,
    cpuPercent: elapsedMs > 0 ? ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100 : 0,
    elu: elu.utilization,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    external: mem.external,
    workers,
  };
};

// --- fixtures (app mode) ----------------------------------------------------
let userSeq = 0;
let cachedHash: string | undefined;

/** Inserts `count` users of a role and returns them with a signed access token. */
async function createUsers(count: number, role: 'student' | 'mentor' | 'jury' | 'coordinator'): Promise<Array<{ userId: string; token: string }>> {
  if (!bench) throw new Error('fixtures need app mode');
  cachedHash ??= await hashPassword('bench-password-1');
  const out: Array<{ userId: string; token: string }> = [];
  for (let i = 0; i < count; i += 500) {
    const n = Math.min(500, count - i);
    const values: string[] = [];
    const params: unknown[] = [];
    for (let j = 0; j < n; j++) {
      const seq = userSeq++;
      params.push(`bench-${role}-${seq}@bench.school`, `Bench ${role} ${seq}`, role, 'Europe/Paris', cachedHash);
      const b = params.length - 5;
      values.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, 'en', $${b + 5})`);
    }
    const rows = await bench.db.query<{ id: string }>(
      `INSERT INTO users (email, name, role, time_zone, locale, password_hash) VALUES ${values.join(', ')} RETURNING id`,
      params,
    );
    for (const row of rows) out.push({ userId: row.id, token: bench.app.jwt.sign({ sub: row.id, role }) });
  }
  return out;
}

handlers.users = async (args: { count: number; role: 'student' | 'mentor' | 'jury' | 'coordinator' }) => createUsers(args.count, args.role);

/**
 * Rooms of the given sizes, open now: 2 = mentoring (student + mentor),
 * 3 = mentoring + coordinator observing, 4 = defence (candidate + 3 jury),
 * 5 = defence + coordinator observing. Returns each room's members with tokens.
 */
handlers.rooms = async (args: { sizes: number[]; startsInMinutes?: number }) => {
  if (!bench) throw new Error('fixtures need app mode');
  const { db, demo } = bench;
  const startsAt = new Date(Date.now() + (args.startsInMinutes ?? 0) * 60_000);
  const endsAt = new Date(startsAt.getTime() + 3 * 3600_000);
  const rooms: Array<{ sessionId: string; kind: string; members: Array<{ userId: string; token: string; role: string }> }> = [];
  for (const size of args.sizes) {
    const defence = size >= 4;
    const student = (await createUsers(1, 'student'))[0]!;
    const hosts = await createUsers(defence ? 3 : 1, defence ? 'jury' : 'mentor');
    const observers = size === 3 || size === 5 ? await createUsers(1, 'coordinator') : [];
    const members = [
      { ...student, role: 'student' },
      ...hosts.map((h) => ({ ...h, role: defence ? 'jury' : 'mentor' })),
      ...observers.map((o) => ({ ...o, role: 'observer' })),
    ].slice(0, size);
    const session = await db.one<{ id: string }>(
      `INSERT INTO sessions (kind, enrollment_id, project_id, host_id, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [defence ? 'defence' : 'mentoring', demo.enrollmentId, defence ? null : demo.projectIds[0], hosts[0]!.userId, startsAt, endsAt],
    );
    for (const m of members) {
      await db.execute('INSERT INTO session_participants (session_id, user_id, role, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5)', [
        session!.id,
        m.userId,
        m.role,
        startsAt,
        endsAt,
      ]);
    }
    rooms.push({ sessionId: session!.id, kind: defence ? 'defence' : 'mentoring', members });
  }
  return rooms;
};

// --- media (app mode: a room's router; bare-media mode: a bare worker) ------
let bareWorker: ms.Worker | undefined;
let media: { feed: Feed; subs: Subscribers } | undefined;

handlers['media:start'] = async (args: { sessionId?: string; seconds: number }) => {
  let router: ms.Router;
  if (mode === 'bare-media') {
    bareWorker ??= await mediasoup.createWorker({ logLevel: 'warn' });
    router = await bareWorker.createRouter({ mediaCodecs: benchMediaCodecs });
  } else {
    const room = bench!.app.rooms.getRoom(args.sessionId!);
    if (!room) throw new Error(`no room for session ${args.sessionId}`);
    router = room.router;
  }
  const feed = await startFeed(router, args.seconds);
  media = { feed, subs: subscribers(router, feed.producers) };
  return { producers: feed.producers.length };
};
/** App mode: PlainTransport subscribers to the producers real peers made in a room (the WebRTC calibration). */
handlers['media:room'] = (args: { sessionId: string }) => {
  const room = bench!.app.rooms.getRoom(args.sessionId);
  if (!room) throw new Error(`no room for session ${args.sessionId}`);
  const producers = room.listProducers().map((p) => p.producer);
  media = { feed: { producers, close() {} }, subs: subscribers(room.router, producers) };
  return { producers: producers.length, version: projectMediasoup.version };
};
handlers['media:clear'] = () => {
  if (!media) throw new Error('media:start first');
  media.subs.close();
  media.subs = subscribers(media.subs.router, media.feed.producers);
  return {};
};
handlers['media:version'] = () => mediasoup.version;
handlers['media:add'] = async (args: { n: number; sinkPorts: number[] }) => {
  if (!media) throw new Error('media:start first');
  const ssrcs = await media.subs.add(args.n, args.sinkPorts);
  return { subscribers: media.subs.count(), consumers: media.subs.count() * media.feed.producers.length, ssrcs: ssrcs.length };
};
// --- recording: N sessions, each a feed (VP8 + Opus) and its recorder(s) -----
const recordings: Array<{ feed: Feed; stop(): Promise<void> }> = [];
let recordingDir: string | undefined;
// No spares: the part measures what recording a session costs, and every track here starts with its session.
const benchRecorders = new RecorderPool({ ffmpegPath: 'ffmpeg', portRange: { min: 20000, max: 29999 }, sparesPerContainer: 0 });

/**
 * `ours`: the recording capability's TrackRecorder (one FFmpeg per track, as
 * the server records a session); `bare`: one plain FFmpeg stream copy per
 * session (both tracks, one hand-written SDP) from a PlainTransport consumer.
 */
handlers['recording:start'] = async (args: { sessions: number; kind: 'ours' | 'bare'; seconds: number }) => {
  bareWorker ??= await mediasoup.createWorker({ logLevel: 'warn' });
  recordingDir ??= mkdtempSync(join(tmpdir(), 'ml-bench-rec-'));
  for (let i = 0; i < args.sessions; i++) {
    const router = await bareWorker.createRouter({ mediaCodecs: benchMediaCodecs });
    const feed = await startFeed(router, args.seconds);
    const base = `${args.kind}-${recordings.length}`;
    if (args.kind === 'ours') {
      const recs = await Promise.all(
        feed.producers.map((producer) =>
          TrackRecorder.start({ router, producer, dir: recordingDir!, baseName: `${base}-${producer.kind}`, recorders: benchRecorders }),
        ),
      );
      recordings.push({ feed, stop: async () => void (await Promise.all(recs.map((r) => r.stop()))) });
    } else {
      const transports: ms.PlainTransport[] = [];
      const media: string[] = [];
      const consumers: ms.Consumer[] = [];
      const port = 30000 + recordings.length * 10;
      for (const [j, producer] of feed.producers.entries()) {
        const t = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
        await t.connect({ ip: '127.0.0.1', port: port + j * 2, rtcpPort: port + j * 2 + 1 });
        const c = await t.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, paused: true });
        const codec = c.rtpParameters.codecs[0]!;
        const name = codec.mimeType.split('/')[1]!;
        media.push(`m=${c.kind} ${port + j * 2} RTP/AVP ${codec.payloadType}`, `a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${codec.channels ? `/${codec.channels}` : ''}`, 'a=recvonly');
        transports.push(t);
        consumers.push(c);
      }
      const sdp = join(recordingDir, `${base}.sdp`);
      writeFileSync(sdp, ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=bench', 'c=IN IP4 127.0.0.1', 't=0 0', ...media, ''].join('\n'));
      const ff = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-protocol_whitelist', 'file,udp,rtp', '-reorder_queue_size', '500', '-i', sdp, '-map', '0', '-c', 'copy', '-y', join(recordingDir, `${base}.webm`)], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 500)); // FFmpeg binds its ports
      for (const c of consumers) {
        await c.resume();
        if (c.kind === 'video') await c.requestKeyFrame();
      }
      recordings.push({
        feed,
        stop: async () => {
          ff.kill('SIGINT');
          await new Promise((r) => ff.once('exit', r));
          for (const t of transports) t.close();
        },
      });
    }
  }
  return { sessions: recordings.length };
};
handlers['recording:stop'] = async () => {
  for (const r of recordings.splice(0)) {
    await r.stop().catch(() => undefined);
    r.feed.close();
  }
  return {};
};

// --- a mentoring session's media in a live room (node mode) ------------------
const sessionMedia: Array<{ feeds: Feed[]; subs: Subscribers[] }> = [];

/**
 * The media of a session whose peers joined through the signalling: each peer
 * sends camera and mic (and a screen when asked), FFmpeg-fed PlainTransports
 * registered through the room's own `produce` (so the room announces them,
 * counts them and a running recording records them), and each peer receives
 * the other's tracks: one SRTP subscriber per receiving peer towards the sink.
 */
handlers['session:media'] = async (args: { sessionId: string; seconds: number; sinkPorts: number[]; peers: Array<{ userId: string; screen: boolean }> }) => {
  const room = bench!.app.rooms.getRoom(args.sessionId);
  if (!room) throw new Error(`no room for session ${args.sessionId}`);
  const feeds: Feed[] = [];
  for (const p of args.peers) {
    const peer = room.peerOfUser(p.userId);
    if (!peer) throw new Error(`${p.userId} has not joined ${args.sessionId}`);
    const produceAs = (videoSource: 'webcam' | 'screen') => async (transport: ms.PlainTransport, kind: 'audio' | 'video', rtpParameters: ms.RtpParameters) => {
      Object.assign(transport.appData, { direction: 'send', peerId: peer.id, connected: true });
      peer.transports.set(transport.id, transport as unknown as (typeof peer.transports extends Map<string, infer T> ? T : never));
      const { producerId } = await room.produce(peer, { transportId: transport.id, kind, rtpParameters, source: kind === 'audio' ? 'mic' : videoSource });
      return peer.producer(producerId);
    };
    feeds.push(await startFeed(room.router, args.seconds, produceAs('webcam')));
    if (p.screen) feeds.push(await startFeed(room.router, args.seconds, produceAs('screen'), ['video']));
  }
  const subs: Subscribers[] = [];
  let consumers = 0;
  for (const p of args.peers) {
    const theirs = room.listProducers().filter((x) => x.userId !== p.userId).map((x) => x.producer);
    const s = subscribers(room.router, theirs);
    consumers += (await s.add(1, args.sinkPorts)).length;
    subs.push(s);
  }
  sessionMedia.push({ feeds, subs });
  return { producers: room.listProducers().length, consumers };
};
handlers['session:media:stop'] = () => {
  for (const m of sessionMedia.splice(0)) {
    for (const f of m.feeds) f.close();
    for (const s of m.subs) s.close();
  }
  return {};
};
/** Rooms, peers, producers and consumers this node holds now. */
handlers['node:load'] = () => {
  const rooms = bench!.app.rooms.listRooms();
  const counts = rooms.map((r) => r.counts());
  return { rooms: rooms.length, peers: counts.reduce((n, c) => n + c.peers, 0), producers: counts.reduce((n, c) => n + c.producers, 0) };
};

handlers['media:stop'] = () => {
  media?.feed.close(); // first: without input the worker is idle and closes the rest quickly
  media?.subs.close();
  media = undefined;
  return {};
};

/** Mentors, each with `studentsPerMentor` premium_plus students enrolled on the demo path, working on its first project. */
handlers.mentees = async (args: { mentors: number; studentsPerMentor: number }) => {
  if (!bench) throw new Error('fixtures need app mode');
  const out: Array<{ mentor: { userId: string; token: string }; students: Array<{ userId: string; token: string }> }> = [];
  for (const mentor of await createUsers(args.mentors, 'mentor')) {
    const students = await createUsers(args.studentsPerMentor, 'student');
    const values = students.map((_, i) => `($${i + 1}, $${students.length + 1}, $${students.length + 2}, 'premium_plus')`);
    await bench.db.execute(`INSERT INTO enrollments (student_id, path_id, mentor_id, tier) VALUES ${values.join(', ')}`, [
      ...students.map((st) => st.userId),
      bench.demo.pathId,
      mentor.userId,
    ]);
    // A session is about a project the student may work on now: the first one is unlocked, as an enrollment does.
    await bench.db.execute(
      `INSERT INTO project_progress (enrollment_id, project_id, state)
       SELECT e.id, $2, 'in_progress' FROM enrollments e WHERE e.student_id = ANY($1::uuid[])`,
      [students.map((st) => st.userId), bench.demo.projectIds[0]],
    );
    out.push({ mentor, students });
  }
  return out;
};

/** `count` sessions of the demo mentor with the demo student, one a day from 20 days ago (a calendar feed worth rendering). */
handlers.calendarSessions = async (args: { count: number }) => {
  if (!bench) throw new Error('fixtures need app mode');
  const { db, demo } = bench;
  const day = 86_400_000;
  const base = Math.floor(Date.now() / day) * day - 20 * day + 7 * 3600_000;
  for (let i = 0; i < args.count; i++) {
    // The demo seed has sessions of its own around now: a day whose 07:00 is taken moves on by an hour
    // (the booking rule is an exclusion constraint, so the database says when it is taken).
    for (let shift = 0; ; shift++) {
      const startsAt = new Date(base + i * day + shift * 3600_000);
      const endsAt = new Date(startsAt.getTime() + 45 * 60_000);
      try {
        await db.tx(async (q) => {
          const row = await q.one<{ id: string }>(
            `INSERT INTO sessions (kind, enrollment_id, project_id, host_id, starts_at, ends_at, created_by) VALUES ('mentoring', $1, $2, $3, $4, $5, $6) RETURNING id`,
            [demo.enrollmentId, demo.projectIds[i % demo.projectIds.length], demo.mentor.id, startsAt, endsAt, demo.student.id],
          );
          for (const [userId, role] of [[demo.student.id, 'student'], [demo.mentor.id, 'mentor']] as const) {
            await q.execute('INSERT INTO session_participants (session_id, user_id, role, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5)', [row!.id, userId, role, startsAt, endsAt]);
          }
        });
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== '23P01' || shift >= 12) throw err;
      }
    }
  }
  return {};
};

/** Statements counted since the last call (BENCH_COUNT_QUERIES=1), most time first. */
handlers.statements = () => statements.count;
handlers.queries = () => {
  const out = [...queryCounts.entries()].map(([sql, v]) => ({ sql, count: v.count, ms: Math.round(v.ms) })).sort((a, b) => b.ms - a.ms);
  queryCounts.clear();
  return out;
};

handlers.close = async () => {
  handlers['media:stop']!({});
  handlers['session:media:stop']!({});
  await closeServer();
  setImmediate(() => process.exit(0));
  return {};
};

// --- start ------------------------------------------------------------------
async function start(): Promise<{ url: string; demo?: unknown; databaseUrl?: string; jwtSecret?: string }> {
  if (mode === 'bare-media') {
    closeServer = async () => {
      await handlers['recording:stop']!({});
      if (recordingDir) rmSync(recordingDir, { recursive: true, force: true });
      bareWorker?.close();
    };
    return { url: '' };
  }
  if (mode === 'echo') {
    const http = createServer();
    const io = new Server(http, { serveClient: false });
    // Every namespace (the clients use /rooms), every event acked at once.
    io.of(/.*/).on('connection', (socket) => {
      socket.onAny((...args: unknown[]) => {
        const ack = args[args.length - 1];
        if (typeof ack === 'function') (ack as (r: unknown) => void)({ data: {} });
      });
    });
    await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
    const address = http.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    closeServer = () =>
      new Promise<void>((done) => {
        io.close(() => done());
      });
    return { url };
  }
  bench = await startBenchServer(JSON.parse(process.env.BENCH_SERVER_ENV ?? '{}'), mode === 'node' ? JSON.parse(process.env.BENCH_NODE!) : undefined);
  url = bench.url;
  closeServer = () => bench!.close();
  return { url, demo: bench.demo, databaseUrl: bench.databaseUrl };
}

process.on('message', (msg: { id: number; cmd: string; args?: unknown }) => {
  const handler = handlers[msg.cmd];
  const send = (r: Reply) => process.send?.(r);
  if (!handler) return send({ id: msg.id, ok: false, error: `unknown command ${msg.cmd}` });
  Promise.resolve()
    .then(() => handler(msg.args))
    .then(
      (result) => send({ id: msg.id, ok: true, result }),
      (err: Error) => send({ id: msg.id, ok: false, error: err.stack ?? String(err) }),
    );
});
process.on('disconnect', () => {
  void Promise.resolve(closeServer?.()).finally(() => process.exit(0));
});

start().then(
  (info) => process.send?.({ id: 0, ok: true, result: info }),
  (err: Error) => {
    process.send?.({ id: 0, ok: false, error: err.stack ?? String(err) });
    process.exit(1);
  },
);
