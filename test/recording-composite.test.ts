import t from 'tap';
import { spawnSync } from 'node:child_process';
import { api, request, startTestApp } from './helpers/app.ts';
import { joinLiveMentoring } from './helpers/werift-mentoring.ts';
import type { WeriftPeer } from '../support/werift-peer.ts';
import { produceRealMedia, until } from './helpers/recording-media.ts';
import { beepPackets, beepTimes, flashFrames, flashTimes, pairMarks, PERIOD_MS } from './helpers/av-sync.ts';

/**
 * A real session (werift peers through the rooms' signalling, mediasoup,
 * the FFmpeg recorders) with a replaced camera, a muted microphone and a
 * media-worker restart, composed into one MP4 by the job. The student's camera
 * and both microphones carry an A/V sync feed (a flash and a beep at the same
 * wall-clock instants), measured in the composite.
 */
// A busy CI machine (two media test files at once) records and composes slowly.
t.setTimeout(600_000);

t.test('a recorded session composes into one MP4 on the wall-clock timeline, in A/V sync', async (t) => {
  // A smaller composite than the default 720p keeps the test light; the layout and timing are the same.
  const ctx = await startTestApp(t, { env: { RECORDING_COMPOSITE_HEIGHT: '360', RECORDING_COMPOSITE_NICE: '0' } });
  const { demo, url } = ctx;
  const recordings = ctx.app.recordings;
  const { sessionId, studentToken, mentorToken, student, mentor } = await joinLiveMentoring(t, ctx, { recordingConsent: true });

  const origin = performance.now();
  const video = flashFrames();
  const audio = beepPackets();
  const senders: Array<{ stop(): Promise<void> }> = [];
  t.teardown(() => Promise.allSettled(senders.map((s) => s.stop())));
  const send = async (peer: WeriftPeer, kind: 'audio' | 'video') => {
    const s = await produceRealMedia(peer, kind, kind === 'audio' ? 'mic' : 'webcam', { frames: kind === 'audio' ? audio : video, clockOrigin: origin });
    senders.push(s);
    return s;
  };
  let cam = await send(student, 'video');
  let studentMic = await send(student, 'audio');
  let mentorMic = await send(mentor, 'audio');

  const started = await api(url, 'POST', `/sessions/${sessionId}/recordings`, mentorToken);
  t.equal(started.status, 201);
  const recordingId: string = started.body.id;
  const progressOf = (producerId: string) => recordings.activeOf(sessionId)?.rec.tracks.get(producerId)?.ffmpeg?.lastProgress?.outTimeMs ?? 0;
  await until(() => progressOf(cam.producerId) >= 3000, 60_000, 'first camera segment');

  // A review comment while recording: a chapter of the composite.
  const review = ctx.socket(mentorToken, '/review');
  t.ok((await request(review, 'open', { sessionId })).data);
  const doc = await request<{ id: string }>(review, 'addDocument', { sessionId, kind: 'file', name: 'main.ts', language: 'typescript', content: 'const a = 1;\nconst b = 2;\n' });
  t.ok((await request(review, 'addComment', { sessionId, documentId: doc.data!.id, line: 2, body: 'Name this better' })).data);

  // The browser re-creates its camera producer.
  await student.request('closeProducer', { producerId: cam.producerId });
  await cam.stop();
  cam = await send(student, 'video');
  await until(() => progressOf(cam.producerId) >= 2000, 60_000, 'second camera segment');

  // The student mutes (a paused producer) for more than one loop of the feed: the mentor's beeps go on.
  const mentorAt = progressOf(mentorMic.producerId);
  await student.request('pauseProducer', { producerId: studentMic.producerId });
  const pausedAt = Date.now();
  await until(() => progressOf(mentorMic.producerId) >= mentorAt + 2600 && Date.now() - pausedAt >= 2600, 60_000, 'a mute longer than a loop');
  await student.request('resumeProducer', { producerId: studentMic.producerId });
  await until(() => progressOf(studentMic.producerId) >= 1000 + (Date.now() - pausedAt), 60_000, 'the mic after the mute');

  // The media worker dies: the room is rebuilt on a new one, the peers rejoin and produce again.
  const rooms = ctx.app.rooms;
  const told = Promise.all([student.nextEvent('rejoinRequired'), mentor.nextEvent('rejoinRequired')]);
  process.kill(rooms.pool.slots()[0]!.worker.pid, 'SIGKILL');
  await told;
  await Promise.all(senders.map((s) => s.stop()));
  await student.closeMedia();
  await mentor.closeMedia();
  await student.join(sessionId);
  await mentor.join(sessionId);
  cam = await send(student, 'video');
  studentMic = await send(student, 'audio');
  mentorMic = await send(mentor, 'audio');
  await until(() => [cam, studentMic, mentorMic].every((s) => progressOf(s.producerId) >= 3000), 120_000, 'media recorded on the new worker');

  const processed = new Promise<void>((resolve) => {
    const off = ctx.app.events.on('recording.ready', (e) => {
      if (e.recordingId === recordingId) {
        off();
        resolve();
      }
    });
  });
  const stopped = await api(url, 'POST', `/sessions/${sessionId}/recordings/${recordingId}/stop`, mentorToken);
  t.equal(stopped.status, 200);
  await processed;

  // The job starts on its own; its progress is visible while it runs.
  const seen = new Set<string>();
  let composite: any;
  await until(
    async () => {
      composite = (await api(url, 'GET', `/sessions/${sessionId}/recordings/${recordingId}/composite`, studentToken)).body;
      seen.add(`${composite.status}`);
      return composite.status === 'ready' || composite.status === 'failed';
    },
    240_000,
    'the composite',
  );
  t.equal(composite.status, 'ready', composite.error ?? 'composed');
  t.ok([...seen].every((s) => ['queued', 'running', 'ready', 'none'].includes(s)), `states seen: ${[...seen].join(', ')}`);
  t.equal(composite.progress, 1);
  t.ok(composite.cpuMs > 0, `CPU time recorded (${composite.cpuMs} ms)`);

  const rec = (await api(url, 'GET', `/sessions/${sessionId}/recordings/${recordingId}`, studentToken)).body;
  const cams = rec.segments.filter((s: any) => s.source === 'webcam');
  t.ok(cams.length >= 3, `camera segments: replaced and after the worker restart (${cams.length})`);
  t.ok(cams.some((s: any) => s.endReason === 'router_closed'), 'a segment ended with the dead worker');
  const mute = rec.gaps.find((g: any) => g.userId === demo.student.id && g.source === 'mic' && g.reason === 'paused');
  t.ok(mute, 'the mute is a paused gap');

  // One file: one video and one audio stream, as long as the recording in wall-clock time.
  const path = `${recordings.dirOf(sessionId, recordingId)}/composite.mp4`;
  const probe = spawnSync('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-show_chapters', '-of', 'json', path], { encoding: 'utf8' });
  const info = JSON.parse(probe.stdout);
  const wallMs = Date.parse(rec.stoppedAt) - Date.parse(rec.startedAt);
  const durationMs = Number(info.format.duration) * 1000;
  t.ok(Math.abs(durationMs - wallMs) <= 1000, `duration ${durationMs} ms vs wall time ${wallMs} ms`);
  const kinds = info.streams.map((s: any) => s.codec_type);
  t.equal(kinds.filter((k: string) => k === 'video').length, 1, 'one video stream');
  t.equal(kinds.filter((k: string) => k === 'audio').length, 1, 'one audio stream');
  t.equal(info.streams.find((s: any) => s.codec_type === 'video').codec_name, 'h264');
  t.equal(info.streams.find((s: any) => s.codec_type === 'audio').codec_name, 'aac');
  t.match(info.format.format_name, /mp4/);
  t.ok(info.chapters.some((c: any) => /Name this better/.test(c.tags?.title ?? '')), 'the review comment is a chapter');
  // faststart: the index (moov) comes before the media (mdat).
  const head = spawnSync('head', ['-c', '65536', path]).stdout as Buffer;
  t.ok(head.indexOf('moov') >= 0 && (head.indexOf('mdat') < 0 || head.indexOf('moov') < head.indexOf('mdat')), 'moov before mdat');

  // A/V sync, measured: each beep against the flash of the same loop. Beeps while the camera is off
  // (replaced, or after the worker restart before it is back) have no flash in their loop: not pairs.
  const flashes = await flashTimes(path);
  const beeps = await beepTimes(path);
  const pairs = pairMarks(flashes, beeps).filter((p) => Math.abs(p.skewMs) < PERIOD_MS / 4);
  t.ok(pairs.length >= 4, `${pairs.length} beeps with their flash (${beeps.length} beeps, ${flashes.length} flashes)`);
  const worst = Math.max(...pairs.map((p) => Math.abs(p.skewMs)));
  t.ok(worst <= 100, `A/V sync: flash and beep within 100 ms (worst ${worst} ms; skews ${pairs.map((p) => p.skewMs).join(', ')})`);
  // All audio is mixed: the mentor's beeps are heard while the student is muted.
  const muteFrom = Date.parse(mute.fromAt) - Date.parse(rec.startedAt);
  const muteTo = Date.parse(mute.toAt) - Date.parse(rec.startedAt);
  t.ok(beeps.some((b) => b > muteFrom && b < muteTo), 'beeps during the student mute come from the mentor mic');

  // Range download like the per-track files.
  const part = await fetch(`${url}/sessions/${sessionId}/recordings/${recordingId}/composite/file`, { headers: { authorization: `Bearer ${studentToken}`, range: 'bytes=0-99' } });
  t.equal(part.status, 206);
  t.equal((await part.arrayBuffer()).byteLength, 100);
  t.equal(part.headers.get('content-type'), 'video/mp4');
});
