import t from 'tap';
import { ffprobe } from '../src/recording/ffmpeg.ts';
import { join } from 'node:path';
import { api, startTestApp } from './helpers/app.ts';
import { insertDemoDefence } from './helpers/sessions.ts';
import { joinLiveMentoring } from './helpers/werift-mentoring.ts';
import { WeriftPeer } from '../support/werift-peer.ts';
import { produceRealMedia, until } from './helpers/recording-media.ts';

const minutes = (n: number) => n * 60_000;

t.test('recording a live room with real WebRTC peers (werift), a camera replaced mid-recording', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, url } = ctx;
  const recordings = ctx.app.recordings;
  const { sessionId, studentToken, mentorToken, student, mentor } = await joinLiveMentoring(t, ctx, { recordingConsent: true });
  // Real, decodable VP8 and Opus paced by the wall clock (see produceRealMedia).
  const cam1 = await produceRealMedia(student, 'video');
  t.teardown(() => cam1.stop());
  const studentMic = await produceRealMedia(student, 'audio');
  const mentorMic = await produceRealMedia(mentor, 'audio');
  t.teardown(() => studentMic.stop());
  t.teardown(() => mentorMic.stop());

  const told = student.nextEvent('recordingState', (e: any) => e.recording === true);
  const started = await api(url, 'POST', `/sessions/${sessionId}/recordings`, mentorToken);
  t.equal(started.status, 201);
  const recordingId: string = started.body.id;
  t.match(await told, { sessionId, recordingId, recording: true, startedBy: demo.mentor.id }, 'the student is told it records');

  const progressOf = (producerId: string) => recordings.activeOf(sessionId)?.rec.tracks.get(producerId)?.ffmpeg?.lastProgress?.outTimeMs ?? 0;
  await until(() => progressOf(cam1.producerId) >= 3000, 20_000, 'first camera segment');
  // The browser re-creates its camera producer (e.g. after a device change).
  await student.request('closeProducer', { producerId: cam1.producerId });
  await cam1.stop();
  const cam2 = await produceRealMedia(student, 'video');
  t.teardown(() => cam2.stop());
  await until(() => progressOf(cam2.producerId) >= 3000, 20_000, 'second camera segment');
  // The student mutes by pausing the mic producer (the way that keeps the file in step with wall time).
  const paused = mentor.nextEvent('producerPaused', (e: any) => e.producerId === studentMic.producerId);
  await student.request('pauseProducer', { producerId: studentMic.producerId });
  await paused;
  const pausedAt = Date.now();
  const mentorAt = progressOf(mentorMic.producerId);
  // A second of mute both in wall time and in what FFmpeg wrote of the other mic
  // (its progress reports come in bursts on a loaded machine).
  await until(() => progressOf(mentorMic.producerId) >= mentorAt + 1000 && Date.now() - pausedAt >= 1000, 10_000, 'a second of mute');
  await student.request('resumeProducer', { producerId: studentMic.producerId });
  const active = recordings.activeOf(sessionId)!;
  await until(() => [...active.rec.tracks.values()].every((tr) => tr.closed || (tr.ffmpeg?.lastProgress?.outTimeMs ?? 0) >= 5500), 20_000, '5.5 s of audio');

  const ready = new Promise<void>((resolve) => {
    const off = ctx.app.events.on('recording.ready', (e) => {
      if (e.recordingId === recordingId) {
        off();
        resolve();
      }
    });
  });
  const toldStop = mentor.nextEvent('recordingState', (e: any) => e.recording === false);
  const stopped = await api(url, 'POST', `/sessions/${sessionId}/recordings/${recordingId}/stop`, mentorToken);
  t.equal(stopped.status, 200);
  t.match(await toldStop, { recordingId, recording: false, stopReason: 'stopped' });
  await ready;

  const rec = (await api(url, 'GET', `/sessions/${sessionId}/recordings/${recordingId}`, studentToken)).body;
  t.equal(rec.status, 'ready');
  const cams = rec.segments.filter((s: any) => s.userId === demo.student.id && s.source === 'webcam');
  const mics = rec.segments.filter((s: any) => s.source === 'mic');
  t.equal(cams.length, 2, 'one camera segment per producer');
  t.same(cams.map((s: any) => s.endReason), ['producer_closed', 'stopped']);
  t.equal(mics.length, 2, 'both microphones');
  t.ok(cams[1].offsetMs > cams[0].offsetMs, 'the second segment starts later on the timeline');
  for (const s of rec.segments) {
    t.equal(s.status, 'ready', `${s.fileName} ready`);
    const probe = await ffprobe('ffprobe', join(ctx.config.recording.dir, sessionId, recordingId, s.fileName));
    t.equal(probe.streams[0]?.codecName, s.kind === 'video' ? 'vp8' : 'opus', `${s.fileName} holds ${s.kind}`);
    const wall = Date.parse(s.endedAt) - Date.parse(s.startedAt);
    t.ok(Math.abs(probe.durationMs! - wall) < 1000, `${s.fileName}: ffprobe ${probe.durationMs} ms vs recorded ${wall} ms`);
  }
  t.ok(mics.every((s: any) => s.durationMs >= 5000), 'at least 5 s of each microphone');
  t.equal(rec.report.tracks.find((tr: any) => tr.source === 'webcam').segments, 2);
  const hole = rec.report.gaps.find((g: any) => g.source === 'webcam' && g.reason === 'between_segments');
  t.ok(hole && hole.durationMs > 0 && hole.durationMs < 5000, `the replacement hole is reported (${hole?.durationMs} ms)`);
  const mute = rec.gaps.find((g: any) => g.userId === demo.student.id && g.source === 'mic' && g.reason === 'paused');
  t.ok(mute && Date.parse(mute.toAt) - Date.parse(mute.fromAt) >= 900, 'the mute is a paused gap of the student mic');
  t.same(rec.report.missingTracks, [{ userId: demo.mentor.id, role: 'mentor', missing: ['video'] }]);
});

t.test('a defence records automatically when its room opens, and newcomers are told', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, url } = ctx;
  const now = Date.now();
  const sessionId = await insertDemoDefence(ctx.db, demo, { startsAt: new Date(now - minutes(2)), endsAt: new Date(now + minutes(60)) });
  const jury = await WeriftPeer.connect(url, await ctx.login(demo.jury[0]));
  t.teardown(() => jury.close());
  const told = jury.nextEvent('recordingState', (e: any) => e.recording === true);
  await jury.join(sessionId);
  const state = await told;
  t.equal(state.sessionId, sessionId);
  t.equal(state.startedBy, null, 'started automatically');
  const student = await WeriftPeer.connect(url, await ctx.login(demo.student));
  t.teardown(() => student.close());
  const studentTold = student.nextEvent('recordingState', (e: any) => e.recording === true);
  await student.join(sessionId);
  t.equal((await studentTold).recordingId, state.recordingId, 'a newcomer learns the room records');
  const mic = await student.produce('audio', 'mic');
  await until(() => (ctx.app.recordings.activeOf(sessionId)?.rec.tracks.get(mic.producerId)?.ffmpeg?.lastProgress?.outTimeMs ?? 0) >= 1000, 15_000, 'student mic recorded');
  const list = (await api(url, 'GET', `/sessions/${sessionId}/recordings`, await ctx.login(demo.coordinator))).body;
  t.equal(list.length, 1);
  t.equal(list[0].automatic, true);
  t.equal(list[0].status, 'recording');
});
