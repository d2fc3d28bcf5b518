import t from 'tap';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ffprobe } from '../src/recording/ffmpeg.ts';
import { api, testRedisUrl } from './helpers/app.ts';
import { createTestDb } from './helpers/db.ts';
import { produceRealMedia, until } from './helpers/recording-media.ts';
import { WeriftPeer } from '../support/werift-peer.ts';
import { serverProcessEnv, startServerProcess, stopProcess } from './helpers/server-process.ts';

t.test('SIGTERM to a recording server leaves finalised, playable files and a recording marked server_shutdown', async (t) => {
  const { db, url: databaseUrl } = await createTestDb(t);
  const { env, url, dataDir } = await serverProcessEnv(t, { databaseUrl: databaseUrl!, redisUrl: testRedisUrl, redisPrefix: `tr${randomBytes(3).toString('hex')}` });
  // No drain: this test is about what the close does to a running recorder (the drain is cluster-three-nodes').
  env.ROOMS_DRAIN_DEADLINE_SECONDS = '0';
  let server = (await startServerProcess(env)).child;
  t.teardown(() => stopProcess(server));

  // The demo seed's mentoring session, whose room can be joined at once.
  const session = await db.one<{ id: string }>(
    `SELECT s.id FROM sessions s WHERE s.kind = 'mentoring' AND s.status = 'scheduled' AND s.ends_at > now() ORDER BY s.starts_at LIMIT 1`,
  );
  t.ok(session, 'the demo seed has a mentoring session');
  const sessionId = session!.id;
  const login = async (email: string, password: string) => (await api(url, 'POST', '/auth/login', undefined, { email, password })).body.accessToken as string;
  const studentToken = await login('student@demo.school', 'student-demo-1');
  const mentorToken = await login('mentor@demo.school', 'mentor-demo-1');
  t.equal((await api(url, 'PUT', `/sessions/${sessionId}/recording-consent`, studentToken, { granted: true })).status, 200);

  const student = await WeriftPeer.connect(url, studentToken);
  t.teardown(() => student.close());
  await student.join(sessionId);
  const cam = await produceRealMedia(student, 'video');
  const mic = await produceRealMedia(student, 'audio');
  t.teardown(() => cam.stop());
  t.teardown(() => mic.stop());

  const started = await api(url, 'POST', `/sessions/${sessionId}/recordings`, mentorToken);
  t.equal(started.status, 201);
  const recordingId: string = started.body.id;
  // Both tracks have media, then a few seconds of recording.
  let firstMedia = 0;
  await until(
    async () => {
      const rec = (await api(url, 'GET', `/sessions/${sessionId}/recordings/${recordingId}`, mentorToken)).body;
      const live = rec.segments.filter((s: any) => s.startedAt);
      if (live.length === 2 && firstMedia === 0) firstMedia = Date.now();
      return firstMedia > 0 && Date.now() - firstMedia >= 3000;
    },
    20_000,
    'three seconds of media on both tracks',
  );

  t.equal(await stopProcess(server), 0, 'the server exits cleanly');

  const rec = await db.one<{ status: string; stopReason: string; stoppedAt: Date | null }>(
    'SELECT status, stop_reason AS "stopReason", stopped_at AS "stoppedAt" FROM recordings WHERE id = $1',
    [recordingId],
  );
  t.equal(rec?.stopReason, 'server_shutdown', 'the recording is marked as stopped by the shutdown');
  t.ok(rec?.stoppedAt, 'with its stop time');
  t.ok(['processing', 'ready'].includes(rec!.status), `status ${rec?.status}`);
  const segments = await db.query<{ fileName: string; kind: string; startedAt: Date; endedAt: Date; endReason: string }>(
    'SELECT file_name AS "fileName", kind, started_at AS "startedAt", ended_at AS "endedAt", end_reason AS "endReason" FROM recording_segments WHERE recording_id = $1',
    [recordingId],
  );
  t.equal(segments.length, 2);
  for (const s of segments) {
    t.equal(s.endReason, 'server_shutdown', `${s.fileName} was stopped by the shutdown, not by its producer closing`);
    const probe = await ffprobe('ffprobe', join(dataDir, 'recordings', sessionId, recordingId, s.fileName));
    t.equal(probe.streams[0]?.codecName, s.kind === 'video' ? 'vp8' : 'opus', `${s.fileName} plays`);
    const wall = s.endedAt.getTime() - s.startedAt.getTime();
    t.ok(probe.durationMs !== undefined && Math.abs(probe.durationMs - wall) < 1000, `${s.fileName} finalised: ${probe.durationMs} ms vs ${wall} ms`);
  }

  // Restarted, the server finishes the post-processing the shutdown queued.
  server = (await startServerProcess(env)).child;
  await until(async () => (await api(url, 'GET', `/sessions/${sessionId}/recordings/${recordingId}`, mentorToken)).body.status === 'ready', 30_000, 'processed after restart');
  const done = (await api(url, 'GET', `/sessions/${sessionId}/recordings/${recordingId}`, mentorToken)).body;
  t.equal(done.stopReason, 'server_shutdown');
  t.ok(done.segments.every((s: any) => s.status === 'ready' && s.sha256), 'segments probed and hashed');
  t.ok(done.report, 'integrity report written');
});
