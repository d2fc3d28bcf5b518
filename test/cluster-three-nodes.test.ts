import t from 'tap';
import { api } from './helpers/app.ts';
import { enterableSession, joinThrough, startCluster, type ClusterNode } from './helpers/cluster.ts';
import { stopProcess } from './helpers/server-process.ts';
import type { WeriftPeer } from '../support/werift-peer.ts';

// Three server processes (`npm start`) on one PostgreSQL database and one
// Redis prefix, as N nodes behind a load balancer: rooms placed by load,
// reachable from any node (the join answer sends the client to the owner),
// real media with werift peers.
t.test('three nodes, one school', async (t) => {
  // Short lease and drain so the kill and SIGTERM parts take seconds, not minutes.
  const cluster = await startCluster(t, ['node-a', 'node-b', 'node-c'], { ROOMS_LEASE_SECONDS: '6', ROOMS_DRAIN_DEADLINE_SECONDS: '8' });
  const [a, b, c] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
  const { demo, db } = cluster;
  const [student, mentor] = await Promise.all([cluster.login(demo.student, a), cluster.login(demo.mentor, b)]);
  const peers: WeriftPeer[] = [];
  t.teardown(async () => {
    await Promise.all(peers.map((p) => p.close()));
  });
  const ownerOf = async (sessionId: string, via = c) => (await api(via.url, 'GET', `/rooms/${sessionId}`, mentor)).body.nodeId as string | null;

  await t.test('a student entering through B and a mentor through C meet in a room placed on A, and media flows', async (t) => {
    // Load on B and C first (one room each, entered directly), so the node with the most headroom is A.
    for (const node of [b, c]) {
      const sessionId = await enterableSession(db, demo);
      const { peer, url } = await joinThrough(node.url, student, sessionId);
      peers.push(peer);
      t.equal(url, node.url, `an idle node keeps the room it was asked for (${node.id})`);
    }
    const sessionId = await enterableSession(db, demo);
    const s = await joinThrough(b.url, student, sessionId);
    peers.push(s.peer);
    t.equal(s.url, a.url, 'the student entering through B was sent to A (most headroom)');
    const m = await joinThrough(c.url, mentor, sessionId);
    peers.push(m.peer);
    t.equal(m.url, a.url, 'the mentor entering through C was sent to A');
    t.same(m.joined.peers.map((p) => p.userId), [demo.student.id], 'they are in the same room');
    t.equal(await ownerOf(sessionId, b), 'node-a', 'every node names A as the owner');

    const announced = m.peer.nextEvent('newProducer', (p: { source: string }) => p.source === 'webcam');
    const video = await s.peer.produce('video', 'webcam');
    const audio = await m.peer.produce('audio', 'mic');
    await announced;
    const v = await m.peer.consume(video.producerId);
    const au = await s.peer.consume(audio.producerId);
    const v1 = await m.peer.waitForPackets(v.consumerId, 20, { timeoutMs: 20_000 });
    const a1 = await s.peer.waitForPackets(au.consumerId, 20, { timeoutMs: 20_000 });
    t.ok(v1.packets >= 20, `the mentor receives the student's video (${v1.packets} packets)`);
    t.ok(a1.packets >= 20, `the student receives the mentor's audio (${a1.packets} packets)`);
  });

  await t.test('defence admit sent to one other node and recording stop to the third act on the room where it lives', async (t) => {
    await db.execute(`UPDATE project_progress SET state = 'validated' WHERE enrollment_id = $1`, [demo.enrollmentId]);
    const sessionId = await enterableSession(db, demo, 'defence');
    const juryToken = await cluster.login(demo.jury[0], c);
    const jury = await joinThrough(b.url, juryToken, sessionId);
    peers.push(jury.peer);
    const owner = cluster.byUrl(jury.url);
    const [admitVia, stopVia] = cluster.nodes.filter((n) => n !== owner) as [typeof owner, typeof owner];
    t.comment(`room on ${owner.id}; admit via ${admitVia.id}, recording stop via ${stopVia.id}`);
    const recording = await jury.peer.nextEvent('recordingState', (e: { recording: boolean; recordingId: string }) => e.recording === true, 20_000);
    t.pass('the defence records on its own, on the owner');

    const lobby = jury.peer.nextEvent('isolationChanged', (e: { userId: string; isolated: boolean }) => e.userId === demo.student.id && e.isolated, 20_000);
    const candidate = await joinThrough(admitVia.url, student, sessionId);
    peers.push(candidate.peer);
    t.equal(candidate.url, owner.url, 'the candidate reaches the same node');
    await lobby;

    const admitted = jury.peer.nextEvent('isolationChanged', (e: { userId: string; isolated: boolean }) => e.userId === demo.student.id && !e.isolated, 20_000);
    const admit = await api(admitVia.url, 'POST', `/defences/${sessionId}/admit`, juryToken);
    t.equal(admit.status, 200, `admit through ${admitVia.id}`);
    await admitted;
    t.pass(`the candidate is admitted in the room on ${owner.id}`);

    const stopped = jury.peer.nextEvent('recordingState', (e: { recording: boolean }) => e.recording === false, 20_000);
    const stop = await api(stopVia.url, 'POST', `/sessions/${sessionId}/recordings/${recording.recordingId}/stop`, juryToken);
    t.equal(stop.status, 200, `recording stop through ${stopVia.id}: ${JSON.stringify(stop.body).slice(0, 200)}`);
    await stopped;
    t.pass(`the recorder on ${owner.id} stopped`);
    await Promise.all([jury.peer.close(), candidate.peer.close()]);
  });

  await t.test('30 rooms created one after another through one node spread over the three by load', async (t) => {
    const placed: Record<string, number> = { 'node-a': 0, 'node-b': 0, 'node-c': 0 };
    for (let i = 0; i < 30; i++) {
      const sessionId = await enterableSession(db, demo);
      const { peer, url } = await joinThrough(a.url, student, sessionId);
      await peer.close();
      placed[cluster.byUrl(url).id]!++;
    }
    t.comment(`placed: ${JSON.stringify(placed)}`);
    for (const [id, n] of Object.entries(placed)) t.ok(n >= 5, `${id} got ${n} of 30`);
  });

  await t.test('20 rooms created at once through the three nodes do not all land on one node', async (t) => {
    const sessions = await Promise.all(Array.from({ length: 20 }, () => enterableSession(db, demo)));
    const joins = await Promise.all(sessions.map((sessionId, i) => joinThrough(cluster.nodes[i % 3]!.url, student, sessionId)));
    await Promise.all(joins.map((j) => j.peer.close()));
    const placed: Record<string, number> = {};
    for (const j of joins) placed[cluster.byUrl(j.url).id] = (placed[cluster.byUrl(j.url).id] ?? 0) + 1;
    t.comment(`placed: ${JSON.stringify(placed)}`);
    t.ok(Object.keys(placed).length >= 2, 'more than one node took rooms');
    t.ok(Math.max(...Object.values(placed)) < 20);
    // Each room has exactly one owner, the node the client reached.
    const owners = await Promise.all(sessions.map((id) => ownerOf(id)));
    t.same(owners, joins.map((j) => cluster.byUrl(j.url).id));
  });

  /** A live room of the student and the mentor entered through `entry`, media both ways; its owner. */
  const liveRoom = async (entry: ClusterNode) => {
    const sessionId = await enterableSession(db, demo);
    const s = await joinThrough(entry.url, student, sessionId);
    const m = await joinThrough(entry.url, mentor, sessionId);
    peers.push(s.peer, m.peer);
    const flowing = await mediaBothWays(s.peer, m.peer);
    return { sessionId, s, m, owner: cluster.byUrl(s.url), ...flowing };
  };
  const mediaBothWays = async (sp: WeriftPeer, mp: WeriftPeer) => {
    const announced = mp.nextEvent('newProducer', (p: { source: string }) => p.source === 'webcam', 20_000);
    const video = await sp.produce('video', 'webcam');
    const audio = await mp.produce('audio', 'mic');
    await announced;
    const v = await mp.consume(video.producerId);
    const au = await sp.consume(audio.producerId);
    await mp.waitForPackets(v.consumerId, 20, { timeoutMs: 20_000 });
    await sp.waitForPackets(au.consumerId, 20, { timeoutMs: 20_000 });
    return { videoConsumer: v.consumerId, audioConsumer: au.consumerId };
  };

  await t.test('health, readiness and metrics on every node', async (t) => {
    for (const node of cluster.nodes) {
      t.equal((await api(node.url, 'GET', '/healthz')).status, 200, `${node.id} alive`);
      t.match((await api(node.url, 'GET', '/readyz')).body, { status: 'ready', db: 'ok', redis: 'ok', draining: false });
      const metrics = await fetch(`${node.url}/metrics`).then((r) => r.text());
      for (const name of ['mentorlive_rooms', 'mentorlive_peers', 'mentorlive_consumers', 'mentorlive_worker_cpu_cores', 'mentorlive_placements_total', 'mentorlive_draining', 'process_cpu_user_seconds_total', 'http_request_duration_seconds']) {
        t.ok(metrics.includes(name), `${node.id} /metrics has ${name}`);
      }
    }
  });

  await t.test('kill -9 of a room\'s owner: both peers have media again on a surviving node, the recording goes on, attendance shows one gap each', async (t) => {
    const room = await liveRoom(a);
    t.comment(`room on ${room.owner.id}`);
    // A recording runs (the student agreed) and has written segments on the owner before it dies.
    t.equal((await api(room.owner.url, 'PUT', `/sessions/${room.sessionId}/recording-consent`, student, { granted: true })).status, 200, 'the student agrees to the recording');
    const started = await api(room.owner.url, 'POST', `/sessions/${room.sessionId}/recordings`, mentor);
    t.equal(started.status, 201, `recording started: ${JSON.stringify(started.body).slice(0, 200)}`);
    const recordingId = started.body.id as string;
    const segmentsOn = async (where: string) =>
      Number((await db.one<{ n: string }>(`SELECT count(*) AS n FROM recording_segments WHERE recording_id = $1 AND ${where}`, [recordingId]))!.n);
    for (let i = 0; (await segmentsOn('started_at IS NOT NULL')) < 2; i++) {
      if (i > 200) throw new Error('the recording never wrote its segments');
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = await segmentsOn('true');
    const survivor = cluster.nodes.find((n) => n !== room.owner)!;
    t.equal(await stopProcess(room.owner.proc.child, 'SIGKILL'), null, `${room.owner.id} killed`);
    await Promise.all([room.s.peer.close(), room.m.peer.close()]);
    // The clients come back through the balancer (here: a survivor); the room answers room_moving until the dead owner's lease lapses.
    const s = await joinThrough(survivor.url, student, room.sessionId, 40_000);
    const m = await joinThrough(survivor.url, mentor, room.sessionId, 40_000);
    peers.push(s.peer, m.peer);
    t.not(s.url, room.owner.url, `the room was rebuilt on ${cluster.byUrl(s.url).id}`);
    t.equal(m.url, s.url, 'both peers on the same new node');
    await mediaBothWays(s.peer, m.peer);
    t.pass('media flows again between the two peers');
    cluster.nodes.splice(cluster.nodes.indexOf(room.owner), 1);

    // The same recording goes on there: new segments on the survivor, a node_lost gap for each recorded person.
    for (let i = 0; (await segmentsOn('started_at IS NOT NULL')) < before + 2; i++) {
      if (i > 200) throw new Error('the recording did not go on in new segments');
      await new Promise((r) => setTimeout(r, 100));
    }
    const rec = await db.one<{ status: string }>('SELECT status FROM recordings WHERE id = $1', [recordingId]);
    t.equal(rec!.status, 'recording', 'the recording is still running, the same one');
    const gaps = await db.query<{ userId: string; fromAt: Date; toAt: Date }>(
      `SELECT user_id AS "userId", from_at AS "fromAt", to_at AS "toAt" FROM recording_gaps WHERE recording_id = $1 AND reason = 'node_lost'`,
      [recordingId],
    );
    t.same(gaps.map((g) => g.userId).sort(), [demo.student.id, demo.mentor.id].sort(), 'a node_lost gap for each recorded person');
    for (const g of gaps) t.ok(g.toAt.getTime() > g.fromAt.getTime(), 'the gap covers the time the room had no node');
    const view = await api(s.url, 'GET', `/sessions/${room.sessionId}/recordings/${recordingId}`, mentor);
    t.match(view.body, { id: recordingId, status: 'recording' }, 'every node shows it recording');

    // Attendance: one visit with one network gap for each person, not a leave and a new visit.
    const attendance = await api(s.url, 'GET', `/sessions/${room.sessionId}/attendance`, mentor);
    t.equal(attendance.status, 200);
    for (const person of [demo.student, demo.mentor]) {
      const p = (attendance.body.participants as Array<{ userId: string; intervals: Array<{ networkGaps: number }>; networkGaps: number; presentNow: boolean }>).find(
        (x) => x.userId === person.id,
      );
      t.equal(p?.intervals.length, 1, `${person.id}: one visit`);
      t.equal(p?.networkGaps, 1, `${person.id}: one network gap`);
      t.equal(p?.presentNow, true, `${person.id}: present now`);
    }
    t.equal((await api(s.url, 'POST', `/sessions/${room.sessionId}/recordings/${recordingId}/stop`, mentor)).status, 200, 'the continued recording stops');
  });

  await t.test('SIGTERM: the node drains (readyz 503, new rooms elsewhere, the live room goes on), then its clients move at the deadline', async (t) => {
    const [first, second] = cluster.nodes as [ClusterNode, ClusterNode];
    const room = await liveRoom(first);
    const draining = room.owner;
    const other = draining === first ? second : first;
    const exited = new Promise<number | null>((resolve) => draining.proc.child.once('exit', (code) => resolve(code)));
    draining.proc.child.kill('SIGTERM');
    for (let i = 0; (await api(draining.url, 'GET', '/readyz')).status !== 503; i++) {
      if (i > 50) throw new Error('readyz never answered 503');
      await new Promise((r) => setTimeout(r, 100));
    }
    t.pass(`${draining.id} answers /readyz 503 while draining`);
    t.match((await api(draining.url, 'GET', '/readyz')).body, { draining: true });

    const fresh = await enterableSession(db, demo);
    const elsewhere = await joinThrough(draining.url, student, fresh);
    peers.push(elsewhere.peer);
    t.equal(elsewhere.url, other.url, 'a new room entered through the draining node is placed on the other one');
    await elsewhere.peer.close();

    const before = room.m.peer.inboundStats(room.videoConsumer).packets;
    await room.m.peer.waitForPackets(room.videoConsumer, 20, { from: before, timeoutMs: 20_000 });
    t.pass('the live room goes on during the drain');

    // At the deadline the room closes with server_draining: the clients join again and are placed elsewhere.
    const closing = await Promise.all([room.s.peer.nextEvent('roomClosing', () => true, 30_000), room.m.peer.nextEvent('roomClosing', () => true, 30_000)]);
    t.same(closing, [{ reason: 'server_draining' }, { reason: 'server_draining' }]);
    await Promise.all([room.s.peer.close(), room.m.peer.close()]);
    const s = await joinThrough(draining.url, student, room.sessionId, 30_000).catch(() => joinThrough(other.url, student, room.sessionId));
    const m = await joinThrough(other.url, mentor, room.sessionId);
    peers.push(s.peer, m.peer);
    t.equal(s.url, other.url, 'the room moved to the node that is not draining');
    await mediaBothWays(s.peer, m.peer);
    t.pass('media resumes');
    t.equal(await exited, 0, 'the drained node exits cleanly');
  });
});
