import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DomainEventMap } from '../src/events/index.ts';
import { api, startTestApp, type TestApp } from './helpers/app.ts';
import { insertLiveMentoring } from './helpers/sessions.ts';
import { WeriftPeer } from '../support/werift-peer.ts';
import { produceRealMedia, until, type RealMediaSender } from './helpers/recording-media.ts';

const run = promisify(execFile);

interface Hole {
  from: number;
  to: number;
}

/**
 * What ffprobe's packet times show, independently of the server's code: the
 * stretches longer than `minMs` with no packet in each file of a track (placed
 * on the wall clock from the segment's start), and between its files.
 */
async function holesFromFiles(dir: string, segments: any[], minMs: number): Promise<Hole[]> {
  const holes: Hole[] = [];
  let prevEnd: number | undefined;
  for (const s of [...segments].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt))) {
    const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', '0', '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', join(dir, s.fileName)]);
    const packets = stdout
      .trim()
      .split('\n')
      .map((l) => l.split(',').map(Number))
      .map(([pts, dur]) => ({ pts: pts! * 1000, dur: Number.isFinite(dur) ? dur! * 1000 : 0 }))
      .sort((a, b) => a.pts - b.pts);
    const start = Date.parse(s.startedAt);
    const wall = (ms: number) => start + ms - packets[0]!.pts;
    if (prevEnd !== undefined && wall(packets[0]!.pts) - prevEnd > 250) holes.push({ from: prevEnd, to: wall(packets[0]!.pts) });
    for (let i = 1; i < packets.length; i++) {
      if (packets[i]!.pts - packets[i - 1]!.pts > minMs) holes.push({ from: wall(packets[i - 1]!.pts + packets[i - 1]!.dur), to: wall(packets[i]!.pts) });
    }
    const last = packets[packets.length - 1]!;
    prevEnd = wall(last.pts + last.dur);
  }
  return holes;
}

function presenceOf(ctx: TestApp, match: (e: DomainEventMap['room.presence']) => boolean): Promise<DomainEventMap['room.presence']> {
  return new Promise((resolve) => {
    const off = ctx.app.events.on('room.presence', (e) => {
      if (match(e)) {
        off();
        resolve(e);
      }
    });
  });
}

t.test('a network cut and a worker kill: every hole in the files is found, timed and named', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, url, app } = ctx;
  const recordings = app.recordings;
  const sessionId = await insertLiveMentoring(ctx.db, demo);
  const [studentToken, mentorToken] = await Promise.all([ctx.login(demo.student), ctx.login(demo.mentor)]);
  t.equal((await api(url, 'PUT', `/sessions/${sessionId}/recording-consent`, studentToken, { granted: true })).status, 200);
  const student = await WeriftPeer.connect(url, studentToken);
  const mentor = await WeriftPeer.connect(url, mentorToken);
  t.teardown(() => student.close());
  t.teardown(() => mentor.close());
  await student.join(sessionId);
  await mentor.join(sessionId);
  const senders: RealMediaSender[] = [];
  t.teardown(() => Promise.all(senders.map((s) => s.stop())));
  const produce = async (peer: WeriftPeer, kind: 'audio' | 'video') => {
    const s = await produceRealMedia(peer, kind);
    senders.push(s);
    return s;
  };
  const flowing = presenceOf(ctx, (e) => e.userId === demo.student.id && e.type === 'media_flowing');
  let cam = await produce(student, 'video');
  let mic = await produce(student, 'audio');
  let mentorMic = await produce(mentor, 'audio');

  const started = await api(url, 'POST', `/sessions/${sessionId}/recordings`, mentorToken);
  t.equal(started.status, 201);
  const recordingId: string = started.body.id;
  const progressOf = (producerId: string) => recordings.activeOf(sessionId)?.rec.tracks.get(producerId)?.ffmpeg?.lastProgress?.outTimeMs ?? 0;
  await until(() => progressOf(cam.producerId) >= 3000 && progressOf(mic.producerId) >= 3000, 20_000, '3 s recorded');
  await flowing;
  t.comment('recording');

  // The student's network is cut for 12 s: nothing in or out, the socket stays open. Longer than FFmpeg
  // waits for a packet (10 s): their files end during the cut and the tracks resume in new segments.
  const CUT_MS = 12_000;
  const lost = presenceOf(ctx, (e) => e.userId === demo.student.id && e.type === 'media_lost');
  const back = presenceOf(ctx, (e) => e.userId === demo.student.id && e.type === 'media_flowing');
  const cutAt = Date.now();
  cam.interrupt(CUT_MS);
  mic.interrupt(CUT_MS);
  const lostEvent = await lost;
  const backEvent = await back;
  t.ok(Math.abs(lostEvent.at.getTime() - cutAt) <= 1500, `the loss is dated at the cut (${lostEvent.at.getTime() - cutAt} ms off)`);
  t.comment('cut over');
  // FFmpeg's output time jumps by the cut when packets return (their timestamps ran on): count from a second later.
  await new Promise((r) => setTimeout(r, 1000));
  const camAfterCut = progressOf(cam.producerId);
  const micAfterCut = progressOf(mic.producerId);
  await until(() => progressOf(cam.producerId) >= camAfterCut + 2000 && progressOf(mic.producerId) >= micAfterCut + 2000, 20_000, 'recording again after the cut');

  // Spares listen for every track in use (two Opus, one VP8): the tracks re-created after the worker restart take them.
  await until(() => recordings.spareRecorders === 3, 20_000, 'a spare recorder per track in use');
  // The media worker dies: the room is rebuilt, the peers rejoin and send again.
  const pid = app.rooms.pool.slots()[0]!.worker.pid;
  const told = Promise.all([student.nextEvent('rejoinRequired'), mentor.nextEvent('rejoinRequired')]);
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await told;
  t.comment('worker killed');
  await Promise.all([cam.stop(), mic.stop(), mentorMic.stop()]);
  await Promise.all([student.join(sessionId), mentor.join(sessionId)]);
  t.comment('joined again');
  [cam, mic, mentorMic] = await Promise.all([produce(student, 'video'), produce(student, 'audio'), produce(mentor, 'audio')]);
  // The cause ends when the server receives the peers' media again (their new transports connected), not
  // when `produce` answers: until then there is nothing to record.
  const receiving = async (producerId: string) => {
    for (;;) {
      const producer = app.rooms.getRoom(sessionId)?.listProducers().find((p) => p.producer.id === producerId)?.producer;
      const stats = producer ? await producer.getStats().catch(() => []) : [];
      if (stats.some((s) => s.packetCount > 0)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await Promise.all([cam, mic, mentorMic].map((s) => receiving(s.producerId)));
  const resentAt = Date.now();
  await until(() => progressOf(cam.producerId) >= 3000 && progressOf(mentorMic.producerId) >= 3000, 20_000, 'recording after the worker restart');

  const ready = new Promise<void>((resolve) => {
    const off = app.events.on('recording.ready', (e) => {
      if (e.recordingId === recordingId) {
        off();
        resolve();
      }
    });
  });
  t.equal((await api(url, 'POST', `/sessions/${sessionId}/recordings/${recordingId}/stop`, mentorToken)).status, 200);
  await ready;
  const rec = (await api(url, 'GET', `/sessions/${sessionId}/recordings/${recordingId}`, mentorToken)).body;
  t.equal(rec.status, 'ready');
  const dir = join(ctx.config.recording.dir, sessionId, recordingId);
  const startMs = Date.parse(rec.startedAt);
  const cuts = { participant_network: { from: cutAt, ms: CUT_MS }, worker_restart: { from: killedAt, ms: resentAt - killedAt } } as const;
  t.comment(`network: lost ${lostEvent.at.toISOString()} back ${backEvent.at.toISOString()}; worker restart: ${resentAt - killedAt} ms until the server received media again`);

  // The student's tracks: a file until the cut ended it, one from the cut's end to the worker's death, one
  // from the new producer. The mentor's mic: one per producer.
  const tracks: Array<[string, string, number, string[], number]> = [
    [demo.student.id, 'webcam', 1500, ['participant_network', 'worker_restart'], 3],
    [demo.student.id, 'mic', 1000, ['participant_network', 'worker_restart'], 3],
    [demo.mentor.id, 'mic', 1000, ['worker_restart'], 2],
  ];
  for (const [userId, source, minMs, causes, files] of tracks) {
    const segments = rec.segments.filter((s: any) => s.userId === userId && s.source === source);
    t.equal(segments.length, files, `${source} of ${userId}: ${files} files`);
    const truth = await holesFromFiles(dir, segments, minMs);
    const reported = rec.report.gaps.filter((g: any) => g.userId === userId && g.source === source);
    t.comment(`${source} ${userId.slice(0, 8)}: ffprobe ${JSON.stringify(truth.map((h) => [h.from - startMs, h.to - h.from]))}; report ${JSON.stringify(reported.map((g: any) => [g.fromOffsetMs, g.durationMs, g.reason]))}`);
    t.equal(reported.length, truth.length, `${source}: as many holes as the files show`);
    // Every hole is named by its cause (a hole the files do not show, under 250 ms, is not listed at all).
    t.ok(reported.every((g: any) => causes.includes(g.reason)), `${source}: holes named ${JSON.stringify(reported.map((g: any) => g.reason))}, each one of ${JSON.stringify(causes)}`);
    for (const [i, h] of truth.entries()) {
      const g = reported[i];
      if (!g) break;
      t.ok(Math.abs(startMs + g.fromOffsetMs - h.from) <= 1000 && Math.abs(startMs + g.toOffsetMs - h.to) <= 1000, `${source} hole ${i} within 1 s of the files`);
      // The recorders resume with the media: a hole outlasts its cause by at most 2 s (the bound).
      // After a worker restart the new tracks' recorders are spares already listening (recorder-pool.ts), so
      // what is left is the first keyframe (this sender's come every second) and FFmpeg's probe.
      const cause = cuts[g.reason as keyof typeof cuts];
      if (cause) t.ok(g.durationMs <= cause.ms + 2000, `${source} ${g.reason}: a hole of ${g.durationMs} ms for a cause of ${cause.ms} ms`);
    }
    const row = rec.report.tracks.find((x: any) => x.userId === userId && x.source === source);
    const inside = truth.filter((h) => segments.some((s: any) => h.from >= Date.parse(s.startedAt) && h.to <= Date.parse(s.startedAt) + s.durationMs + 500));
    const holeMs = inside.reduce((sum, h) => sum + (h.to - h.from), 0);
    t.ok(Math.abs(row.holeMs - holeMs) <= 1000, `${source}: the holes inside the files are not counted as recorded (${row.holeMs} vs ${holeMs})`);
    t.equal(row.recordedMs, segments.reduce((sum: number, s: any) => sum + s.durationMs, 0) - row.holeMs);
  }

  // Attendance: one visit, one network gap as long as the cut.
  const attendance = (await api(url, 'GET', `/sessions/${sessionId}/attendance`, mentorToken)).body;
  const me = attendance.participants.find((p: any) => p.userId === demo.student.id);
  t.equal(me.intervals.length, 1, 'one visit');
  t.equal(me.networkGaps, 1, 'one network gap');
  t.ok(Math.abs(me.networkGapSeconds - CUT_MS / 1000) <= 2, `the gap is the cut: ${me.networkGapSeconds} s`);
  t.ok(me.quality.periods.some((p: any) => p.level === 'lost'), 'the quality was lost during the cut');
});

t.test('a stale burst after an outage: the recorder keeps writing, no hole longer than the outage plus 2 s', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, url, app } = ctx;
  const recordings = app.recordings;
  const sessionId = await insertLiveMentoring(ctx.db, demo);
  const [studentToken, mentorToken] = await Promise.all([ctx.login(demo.student), ctx.login(demo.mentor)]);
  t.equal((await api(url, 'PUT', `/sessions/${sessionId}/recording-consent`, studentToken, { granted: true })).status, 200);
  const student = await WeriftPeer.connect(url, studentToken);
  t.teardown(() => student.close());
  await student.join(sessionId);
  const cam = await produceRealMedia(student, 'video');
  const mic = await produceRealMedia(student, 'audio');
  t.teardown(() => Promise.all([cam.stop(), mic.stop()]));
  const started = await api(url, 'POST', `/sessions/${sessionId}/recordings`, mentorToken);
  t.equal(started.status, 201);
  const recordingId: string = started.body.id;
  const progressOf = (producerId: string) => recordings.activeOf(sessionId)?.rec.tracks.get(producerId)?.ffmpeg?.lastProgress?.outTimeMs ?? 0;
  await until(() => progressOf(cam.producerId) >= 3000 && progressOf(mic.producerId) >= 3000, 20_000, '3 s recorded');

  // 4 s with nothing, then everything held back arrives at once with its old timestamps.
  const OUTAGE_MS = 4000;
  cam.interrupt(OUTAGE_MS, 'burst');
  mic.interrupt(OUTAGE_MS, 'burst');
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  const resumedAt = Date.now();
  const camAt = progressOf(cam.producerId);
  await until(() => progressOf(cam.producerId) > camAt + 1000, 6000, 'the camera recorder writes again');
  t.ok(Date.now() - resumedAt < 6000, `writing again ${Date.now() - resumedAt} ms after the burst`);
  const micAt = progressOf(mic.producerId);
  await until(() => progressOf(mic.producerId) > micAt + 2000 && progressOf(cam.producerId) > camAt + 3000, 15_000, '3 s more');

  const ready = new Promise<void>((resolve) => {
    const off = app.events.on('recording.ready', (e) => {
      if (e.recordingId === recordingId) {
        off();
        resolve();
      }
    });
  });
  t.equal((await api(url, 'POST', `/sessions/${sessionId}/recordings/${recordingId}/stop`, mentorToken)).status, 200);
  await ready;
  const rec = (await api(url, 'GET', `/sessions/${sessionId}/recordings/${recordingId}`, mentorToken)).body;
  t.comment(JSON.stringify(rec.report.gaps));
  t.ok(rec.report.gaps.every((g: any) => g.durationMs <= OUTAGE_MS + 2000), 'no hole longer than the outage plus 2 s');
  t.notOk(rec.report.gaps.some((g: any) => g.reason === 'recorder_died'), 'no recorder had to be replaced');
  t.equal(rec.segments.length, 2, 'one file per track');
});
