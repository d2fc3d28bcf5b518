import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { api, testRedisUrl } from './helpers/app.ts';
import { enterableSession, joinThrough, startCluster } from './helpers/cluster.ts';
import { stopProcess } from './helpers/server-process.ts';
import type { WeriftPeer } from '../support/werift-peer.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LEASE_SECONDS = 6;

// A node dies (kill -9) with a recording running and nobody comes back to the
// room: no node rebuilds it, so no node adopts the recording. A surviving node
// closes it once the dead node's lease has lapsed (the orphan sweep): status
// no longer 'recording', stop reason node_lost, a node_lost gap at the end for
// each recorded person. A recording running on the survivor is left alone.
t.test('a recording whose node died and whose room nobody rejoined is closed by a survivor', async (t) => {
  // One recordings folder for both nodes (shared storage): the survivor repairs the dead node's files.
  const recordingsDir = mkdtempSync(join(tmpdir(), 'ml-recordings-'));
  t.teardown(() => rmSync(recordingsDir, { recursive: true, force: true }));
  const cluster = await startCluster(t, ['node-a', 'node-b'], { ROOMS_LEASE_SECONDS: String(LEASE_SECONDS), RECORDINGS_DIR: recordingsDir });
  const { demo, db, prefix } = cluster;
  const [student, mentor] = await Promise.all([cluster.login(demo.student), cluster.login(demo.mentor)]);
  const peers: WeriftPeer[] = [];
  const redis = new Redis(testRedisUrl);
  t.teardown(async () => {
    await Promise.all(peers.map((p) => p.close()));
    redis.disconnect();
  });

  /** A room of the student and the mentor with media both ways, entered through `entry`, recording. */
  const recordedRoom = async (entry: string) => {
    const sessionId = await enterableSession(db, demo);
    const s = await joinThrough(entry, student, sessionId);
    const m = await joinThrough(entry, mentor, sessionId);
    peers.push(s.peer, m.peer);
    const owner = cluster.byUrl(s.url);
    const announced = m.peer.nextEvent('newProducer', (p: { source: string }) => p.source === 'webcam', 20_000);
    const video = await s.peer.produce('video', 'webcam');
    await m.peer.produce('audio', 'mic');
    await announced;
    const v = await m.peer.consume(video.producerId);
    await m.peer.waitForPackets(v.consumerId, 20, { timeoutMs: 20_000 });
    t.equal((await api(owner.url, 'PUT', `/sessions/${sessionId}/recording-consent`, student, { granted: true })).status, 200, 'the student agrees to the recording');
    const started = await api(owner.url, 'POST', `/sessions/${sessionId}/recordings`, mentor);
    t.equal(started.status, 201, `recording started on ${owner.id}: ${JSON.stringify(started.body).slice(0, 200)}`);
    return { sessionId, s, m, owner, recordingId: started.body.id as string };
  };
  const segmentsStarted = async (recordingId: string) =>
    Number((await db.one<{ n: string }>(`SELECT count(*) AS n FROM recording_segments WHERE recording_id = $1 AND started_at IS NOT NULL`, [recordingId]))!.n);
  const statusOf = async (recordingId: string) => (await db.one<{ status: string }>('SELECT status FROM recordings WHERE id = $1', [recordingId]))!.status;

  const doomed = await recordedRoom(cluster.nodes[0]!.url);
  const survivor = cluster.nodes.find((n) => n !== doomed.owner)!;
  // A second recording, on the node that survives: the sweep must leave it running.
  const kept = await recordedRoom(survivor.url);
  t.equal(kept.owner, survivor, `the second room is on ${survivor.id}`);
  for (let i = 0; (await segmentsStarted(doomed.recordingId)) < 2 || (await segmentsStarted(kept.recordingId)) < 2; i++) {
    if (i > 200) throw new Error('the recordings never wrote their segments');
    await sleep(100);
  }

  t.equal(await stopProcess(doomed.owner.proc.child, 'SIGKILL'), null, `${doomed.owner.id} killed with the recording running`);
  const killedAt = Date.now();
  // Nobody comes back to that room.
  await Promise.all([doomed.s.peer.close(), doomed.m.peer.close()]);

  // The survivor closes it: within the lease (for the lease to lapse) + the sweep's grace (one more lease) + two sweep periods, and a margin.
  const sweepMs = Math.floor((LEASE_SECONDS * 1000) / 3);
  const bound = 2 * LEASE_SECONDS * 1000 + 2 * sweepMs + 3_000;
  while ((await statusOf(doomed.recordingId)) === 'recording') {
    if (Date.now() - killedAt > bound + 30_000) break;
    await sleep(200);
  }
  const closedMs = Date.now() - killedAt;
  t.comment(`the orphaned recording was closed ${closedMs} ms after the kill (lease ${LEASE_SECONDS} s, bound ${bound} ms)`);
  t.not(await statusOf(doomed.recordingId), 'recording', 'the recording is no longer left recording');
  t.ok(closedMs <= bound, `closed within ${bound} ms of the kill (${closedMs} ms)`);
  t.equal(await redis.get(`${prefix}:room:${doomed.sessionId}`), null, 'no node holds its room (nobody came back)');

  // Processed like any stopped recording: finished ('ready', the dead node's files repaired) or 'failed'.
  for (let i = 0; !['ready', 'failed'].includes(await statusOf(doomed.recordingId)); i++) {
    if (i > 300) throw new Error(`the closed recording was never processed: ${await statusOf(doomed.recordingId)}`);
    await sleep(100);
  }
  const rec = await db.one<{ status: string; stopReason: string; stoppedAt: Date; startedAt: Date }>(
    `SELECT status, stop_reason AS "stopReason", stopped_at AS "stoppedAt", started_at AS "startedAt" FROM recordings WHERE id = $1`,
    [doomed.recordingId],
  );
  t.comment(`closed recording: ${rec!.status}, stop reason ${rec!.stopReason}`);
  t.equal(rec!.status, 'ready', 'finished: the dead node\'s files, repaired, are the recording');
  t.equal(rec!.stopReason, 'node_lost', 'stopped because its node was lost');
  t.ok(rec!.stoppedAt.getTime() >= killedAt - 1_000, 'stopped when the survivor closed it, not before the kill');
  const gaps = await db.query<{ userId: string; fromAt: Date; toAt: Date }>(
    `SELECT user_id AS "userId", from_at AS "fromAt", to_at AS "toAt" FROM recording_gaps WHERE recording_id = $1 AND reason = 'node_lost'`,
    [doomed.recordingId],
  );
  t.same(gaps.map((g) => g.userId).sort(), [demo.student.id, demo.mentor.id].sort(), 'a node_lost gap for each recorded person');
  for (const g of gaps) {
    t.comment(`gap ${g.userId}: from ${g.fromAt.getTime() - killedAt} ms after the kill to ${g.toAt.getTime() - killedAt} ms after`);
    t.equal(g.toAt.getTime(), rec!.stoppedAt.getTime(), 'the gap runs to the end of the recording');
    // Processing set its start from the media: the last packet the dead node's recorder wrote, just before the kill.
    t.ok(g.fromAt.getTime() >= killedAt - 3_000 && g.fromAt.getTime() <= killedAt + 1_000, "from the dead node's last recorded media");
  }
  const open = await db.one<{ n: string }>(`SELECT count(*) AS n FROM recording_segments WHERE recording_id = $1 AND status = 'recording'`, [doomed.recordingId]);
  t.equal(Number(open!.n), 0, 'no segment is left recording');
  const view = await api(survivor.url, 'GET', `/sessions/${doomed.sessionId}/recordings/${doomed.recordingId}`, mentor);
  t.match(view.body, { status: 'ready', stopReason: 'node_lost' }, 'the survivor shows it finished');
  t.ok(
    (view.body.report?.gaps ?? []).some((g: { reason: string }) => g.reason === 'node_lost'),
    'its report names the node_lost gap',
  );

  // The survivor's own recording was never touched, and stops normally.
  t.equal(await statusOf(kept.recordingId), 'recording', `the recording on ${survivor.id} still runs`);
  const before = kept.m.peer.inboundStats(kept.m.peer.inbound()[0]!.consumerId).packets;
  await kept.m.peer.waitForPackets(kept.m.peer.inbound()[0]!.consumerId, 20, { from: before, timeoutMs: 10_000 });
  t.equal((await api(survivor.url, 'POST', `/sessions/${kept.sessionId}/recordings/${kept.recordingId}/stop`, mentor)).status, 200, 'and stops by hand');
  t.match(await db.one(`SELECT stop_reason AS "stopReason" FROM recordings WHERE id = $1`, [kept.recordingId]), { stopReason: 'stopped' });
});
