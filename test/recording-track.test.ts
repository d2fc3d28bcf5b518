import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffprobe } from '../src/recording/ffmpeg.ts';
import { TrackRecorder, type SegmentInfo, type TrackGap } from '../src/recording/track-recorder.ts';
import { createRouter, recorderPool, startRtpSender, until } from './helpers/recording-media.ts';

t.test('TrackRecorder records a live producer into a playable file (no rooms)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-rec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { router } = await createRouter(t);
  const video = await startRtpSender(t, router, 'video');
  const audio = await startRtpSender(t, router, 'audio');

  const started: SegmentInfo[] = [];
  const ended: SegmentInfo[] = [];
  const listener = { onSegmentStarted: (s: SegmentInfo) => started.push(s), onSegmentEnded: (s: SegmentInfo) => ended.push(s) };
  const [v, a] = await Promise.all([
    TrackRecorder.start({ router, producer: video.producer, dir, baseName: 'cam', recorders: recorderPool(t), listener }),
    TrackRecorder.start({ router, producer: audio.producer, dir, baseName: 'mic', recorders: recorderPool(t), listener }),
  ]);
  t.teardown(() => Promise.all([v.stop(), a.stop()]));
  // Record at least 5.5 s of media, as FFmpeg reports it.
  await until(() => (v.ffmpeg?.lastProgress?.outTimeMs ?? 0) >= 5500 && (a.ffmpeg?.lastProgress?.outTimeMs ?? 0) >= 5500, 20_000, '5.5 s recorded');
  await Promise.all([v.stop(), a.stop()]);

  t.equal(started.length, 2, 'both segments saw a first packet');
  t.equal(ended.length, 2);
  for (const seg of [v.segments[0]!, a.segments[0]!]) {
    t.equal(seg.endReason, 'stopped');
    t.ok(seg.startedAt, 'wall-clock start recorded');
    const wallMs = seg.endedAt!.getTime() - seg.startedAt!.getTime();
    const probe = await ffprobe('ffprobe', seg.path);
    t.ok(probe.durationMs, `${seg.fileName} has a duration`);
    t.ok(Math.abs(probe.durationMs! - wallMs) < 1000, `${seg.fileName}: duration ${probe.durationMs} ms vs wall ${wallMs} ms`);
    t.ok(wallMs >= 5000, 'at least 5 s recorded');
    t.equal(probe.streams.length, 1);
    t.equal(probe.streams[0]!.codecName, seg.kind === 'video' ? 'vp8' : 'opus');
    if (seg.kind === 'video') t.equal(probe.streams[0]!.width, 320);
  }
  t.equal(v.ffmpeg, undefined, 'no recorder left running');
});

t.test('a recorder process that dies is noticed: gap record and a new segment', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-rec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { router } = await createRouter(t);
  const video = await startRtpSender(t, router, 'video');
  const gaps: TrackGap[] = [];
  const started: SegmentInfo[] = [];
  const rec = await TrackRecorder.start({
    router,
    producer: video.producer,
    dir,
    baseName: 'cam',
    recorders: recorderPool(t),
    listener: { onGap: (g) => gaps.push(g), onSegmentStarted: (s) => started.push(s) },
  });
  t.teardown(() => rec.stop());
  await until(() => (rec.ffmpeg?.lastProgress?.outTimeMs ?? 0) >= 1500, 15_000, 'first segment progress');
  const first = rec.ffmpeg!;
  first.kill();
  await until(() => started.length === 2, 15_000, 'second segment');
  await until(() => (rec.ffmpeg?.lastProgress?.outTimeMs ?? 0) >= 1500, 15_000, 'second segment progress');
  await rec.stop();

  t.equal(rec.segments.length, 2);
  t.equal(rec.segments[0]!.endReason, 'recorder_died');
  t.equal(rec.segments[1]!.endReason, 'stopped');
  t.equal(gaps.length, 1);
  t.equal(gaps[0]!.reason, 'recorder_died');
  t.ok(gaps[0]!.to.getTime() >= gaps[0]!.from.getTime());
  t.equal(gaps[0]!.to.getTime(), rec.segments[1]!.startedAt!.getTime(), 'the gap ends when the new segment starts');
  const second = await ffprobe('ffprobe', rec.segments[1]!.path);
  t.ok(second.durationMs! >= 1000, 'the new segment is playable');
});

t.test('a recorder that hangs while packets flow is replaced like a dead one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-rec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { router } = await createRouter(t);
  const audio = await startRtpSender(t, router, 'audio');
  const gaps: TrackGap[] = [];
  const started: SegmentInfo[] = [];
  const rec = await TrackRecorder.start({
    router,
    producer: audio.producer,
    dir,
    baseName: 'mic',
    recorders: recorderPool(t),
    stallTimeoutMs: 1500,
    listener: { onGap: (g) => gaps.push(g), onSegmentStarted: (s) => started.push(s) },
  });
  t.teardown(() => rec.stop());
  await until(() => (rec.ffmpeg?.lastProgress?.outTimeMs ?? 0) >= 1000, 15_000, 'first segment progress');
  const hung = rec.ffmpeg!;
  hung.child.kill('SIGSTOP');
  t.teardown(() => hung.child.kill('SIGKILL'));
  await until(() => started.length === 2, 20_000, 'a replacement segment');
  await until(() => (rec.ffmpeg?.lastProgress?.outTimeMs ?? 0) >= 1000, 15_000, 'second segment progress');
  await rec.stop();
  t.equal(rec.segments[0]!.endReason, 'recorder_died');
  t.equal(gaps[0]?.reason, 'recorder_died');
  t.equal(rec.segments[1]!.endReason, 'stopped');
});

t.test('an input silent for longer than FFmpeg waits: the file ends, the next opens when the media returns, no restart is used up', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-rec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { router } = await createRouter(t);
  const audio = await startRtpSender(t, router, 'audio', 90);
  const started: SegmentInfo[] = [];
  // No restart allowed at all: a recorder that counted the silence as a failure would stop here.
  const rec = await TrackRecorder.start({ router, producer: audio.producer, dir, baseName: 'mic', recorders: recorderPool(t, 1), maxRestarts: 0, listener: { onSegmentStarted: (s) => started.push(s) } });
  t.teardown(() => rec.stop());
  await until(() => (rec.ffmpeg?.lastProgress?.outTimeMs ?? 0) >= 1000, 15_000, 'recording');
  // Nothing reaches the recorder for 13 s (FFmpeg ends its file after 10 s without a packet).
  const pausedAt = Date.now();
  await audio.producer.pause();
  await until(() => rec.segments[0]!.endedAt !== undefined, 20_000, 'the silent file ended');
  t.equal(rec.segments[0]!.endReason, 'recorder_died');
  await new Promise((r) => setTimeout(r, Math.max(0, pausedAt + 13_000 - Date.now())));
  t.equal(rec.segments.length, 1, 'no file opened while nothing comes (no empty files during a long mute)');
  t.notOk(rec.closed, 'still recording the track');
  await audio.producer.resume();
  await until(() => started.length === 2 && (rec.ffmpeg?.lastProgress?.outTimeMs ?? 0) >= 1000, 15_000, 'recording again in a new file');
  await rec.stop();
  t.equal(rec.segments.length, 2, 'one file before the silence, one after');
  t.equal(rec.segments[1]!.endReason, 'stopped');
});
