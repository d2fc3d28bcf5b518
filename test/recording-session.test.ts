import t from 'tap';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffprobe } from '../src/recording/ffmpeg.ts';
import { SessionRecording, type RecordableRoom, type RecordingGap, type RoomProducer, type TrackKey } from '../src/recording/session-recording.ts';
import type { SegmentInfo } from '../src/recording/track-recorder.ts';
import { createRouter, recorderPool, startRtpSender, until } from './helpers/recording-media.ts';

t.test('SessionRecording follows a room: replaced, paused and late producers give complete segments', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-rec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { router } = await createRouter(t);
  const producers: RoomProducer[] = [];
  const room: RecordableRoom = { sessionId: 's1', router, observer: new EventEmitter(), listProducers: () => producers.filter((p) => !p.producer.closed) };
  const addProducer = (p: RoomProducer) => {
    producers.push(p);
    room.observer.emit('newproducer', p);
  };

  const cam1 = await startRtpSender(t, router, 'video');
  const mic = await startRtpSender(t, router, 'audio');
  producers.push({ producer: cam1.producer, userId: 'student-aaaaaaaa', source: 'webcam' }, { producer: mic.producer, userId: 'student-aaaaaaaa', source: 'mic' });

  const started: Array<{ key: TrackKey; seg: SegmentInfo }> = [];
  const ended: Array<{ key: TrackKey; seg: SegmentInfo }> = [];
  const gaps: Array<{ key: TrackKey; gap: RecordingGap }> = [];
  const recording = await SessionRecording.start({
    room,
    dir: join(dir, 'r1'),
    recorders: recorderPool(t),
    listener: {
      onSegmentStarted: (key, seg) => void started.push({ key, seg }),
      onSegmentEnded: (key, seg) => void ended.push({ key, seg }),
      onGap: (key, gap) => void gaps.push({ key, gap }),
    },
  });
  t.teardown(() => recording.stop());
  const progressOf = (producerId: string) => recording.tracks.get(producerId)?.ffmpeg?.lastProgress?.outTimeMs ?? 0;
  await until(() => progressOf(cam1.producer.id) >= 2000 && progressOf(mic.producer.id) >= 2000, 15_000, 'first camera segment');

  // The camera is replaced (the browser closed and re-created its producer), the mic mutes by pausing.
  cam1.close();
  await mic.producer.pause();
  const cam2 = await startRtpSender(t, router, 'video');
  addProducer({ producer: cam2.producer, userId: 'student-aaaaaaaa', source: 'webcam' });
  // A second participant starts their mic late.
  const mic2 = await startRtpSender(t, router, 'audio');
  addProducer({ producer: mic2.producer, userId: 'mentor-bbbbbbbb', source: 'mic' });
  await until(() => progressOf(cam2.producer.id) >= 2000 && progressOf(mic2.producer.id) >= 1000, 15_000, 'new producers recorded');
  await mic.producer.resume();
  await until(() => gaps.some((g) => g.gap.reason === 'paused'), 5000, 'pause gap');
  await until(() => progressOf(mic.producer.id) >= 5500, 15_000, 'mic after resume');
  await recording.stop();

  t.equal(recording.stopReason, 'stopped');
  const bySource = (userId: string, source: string) => ended.filter((e) => e.key.userId === userId && e.key.source === source).map((e) => e.seg);
  const cams = bySource('student-aaaaaaaa', 'webcam');
  t.equal(cams.length, 2, 'one camera segment per producer');
  t.same(
    cams.map((s) => s.endReason),
    ['producer_closed', 'stopped'],
  );
  t.ok(cams[1]!.startedAt!.getTime() >= cams[0]!.endedAt!.getTime(), 'segments follow each other in wall-clock time');
  t.equal(bySource('student-aaaaaaaa', 'mic').length, 1, 'a paused mic keeps its segment');
  t.equal(bySource('mentor-bbbbbbbb', 'mic').length, 1, 'a late producer gets a segment');
  const pause = gaps.find((g) => g.gap.reason === 'paused');
  t.equal(pause?.key.producerId, mic.producer.id, 'the pause is recorded as a gap of the mic');
  t.equal(started.length, 4, 'every segment saw media');
  for (const { seg } of ended) {
    const probe = await ffprobe('ffprobe', seg.path);
    t.equal(probe.streams[0]?.codecName, seg.kind === 'video' ? 'vp8' : 'opus', `${seg.fileName} codec`);
    const wallMs = seg.endedAt!.getTime() - seg.startedAt!.getTime();
    // A segment whose producer closed lacks a container duration until remuxed; the stream still plays.
    if (probe.durationMs !== undefined) t.ok(Math.abs(probe.durationMs - wallMs) < 1000, `${seg.fileName}: ${probe.durationMs} ms vs wall ${wallMs} ms`);
  }
});
