import t from 'tap';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { RecordingRoom } from '../src/recording/index.ts';
import type { RoomProducer } from '../src/recording/session-recording.ts';
import { api, startTestApp } from './helpers/app.ts';
import { insertDemoDefence, insertDemoMentoring } from './helpers/sessions.ts';
import { createRouter, startRtpSender, until } from './helpers/recording-media.ts';

t.test('recordings over HTTP: control, consent, processing, Range downloads, retention', async (t) => {
  const { app, url, demo, login, db } = await startTestApp(t);
  const [student, mentor, jury, coordinator, outsider] = await Promise.all([
    login(demo.student),
    login(demo.mentor),
    login(demo.jury[0]),
    login(demo.coordinator),
    login(demo.soloStudent),
  ]);
  const now = Date.now();
  const mentoringId = await insertDemoMentoring(db, demo, { startsAt: new Date(now - 5 * 60_000), endsAt: new Date(now + 55 * 60_000) });
  const defenceId = await insertDemoDefence(db, demo, { startsAt: new Date(now + 2 * 3600_000), endsAt: new Date(now + 3 * 3600_000) });

  // A room without the rooms capability: a router fed by FFmpeg senders.
  const { router } = await createRouter(t);
  const rooms = new Map<string, RecordingRoom & { notified: Array<{ event: string; payload: any }> }>();
  const openRoom = (sessionId: string, producers: RoomProducer[]) => {
    const room = {
      sessionId,
      router,
      observer: new EventEmitter(),
      listProducers: () => producers.filter((p) => !p.producer.closed),
      notified: [] as Array<{ event: string; payload: any }>,
      notify(event: string, payload: unknown) {
        this.notified.push({ event, payload });
      },
    };
    rooms.set(sessionId, room);
    return room;
  };
  const recordings = app.recordings;
  recordings.useRooms((id) => rooms.get(id));
  const cam = await startRtpSender(t, router, 'video');
  const mic = await startRtpSender(t, router, 'audio');
  const mentorMic = await startRtpSender(t, router, 'audio');
  const room = openRoom(mentoringId, [
    { producer: cam.producer, userId: demo.student.id, source: 'webcam' },
    { producer: mic.producer, userId: demo.student.id, source: 'mic' },
    { producer: mentorMic.producer, userId: demo.mentor.id, source: 'mic' },
  ]);
  const base = `/sessions/${mentoringId}/recordings`;
  const progress = (sessionId: string) => {
    const active = recordings.activeOf(sessionId);
    if (!active) return 0;
    const values = [...active.rec.tracks.values()].map((tr) => tr.ffmpeg?.lastProgress?.outTimeMs ?? 0);
    return values.length === 0 ? 0 : Math.min(...values);
  };

  let recordingId = '';
  t.test('who may start, and consent first for mentoring', async (t) => {
    t.equal((await api(url, 'POST', base, student)).status, 403, 'a student cannot start a recording');
    const noConsent = await api(url, 'POST', base, mentor);
    t.equal(noConsent.status, 422);
    t.equal(noConsent.body.code, 'consent_required');
    t.same((await api(url, 'GET', `/sessions/${mentoringId}/recording-consent`, mentor)).body, { sessionId: mentoringId, required: true, granted: null });
    t.equal((await api(url, 'PUT', `/sessions/${mentoringId}/recording-consent`, mentor, { granted: true })).status, 403, 'only the student consents');
    t.equal((await api(url, 'PUT', `/sessions/${defenceId}/recording-consent`, student, { granted: true })).body.code, 'consent_not_asked');
    const consent = await api(url, 'PUT', `/sessions/${mentoringId}/recording-consent`, student, { granted: true });
    t.equal(consent.status, 200);
    t.equal(consent.body.granted, true);
    const closedRoom = await api(url, 'POST', `/sessions/${defenceId}/recordings`, jury);
    t.equal(closedRoom.status, 409);
    t.equal(closedRoom.body.code, 'room_not_open');
    t.equal((await api(url, 'POST', `/sessions/${defenceId}/recordings`, mentor)).status, 404, 'a mentor of another session does not see it');
  });

  t.test('record, stop, process: playable files and an integrity report', async (t) => {
    const started = await api(url, 'POST', base, mentor);
    t.equal(started.status, 201);
    t.equal(started.body.status, 'recording');
    t.equal(started.body.startedBy, demo.mentor.id);
    recordingId = started.body.id;
    t.match(room.notified.at(-1), { event: 'recordingState', payload: { sessionId: mentoringId, recordingId, recording: true } }, 'participants are told');
    t.equal((await api(url, 'POST', base, coordinator)).body.code, 'already_recording');
    await until(() => progress(mentoringId) >= 5500, 20_000, '5.5 s recorded');
    const ready = new Promise<{ recordingId: string }>((resolve) => {
      const off = app.events.on('recording.ready', (e) => {
        if (e.recordingId === recordingId) {
          off();
          resolve(e);
        }
      });
    });
    const stopped = await api(url, 'POST', `${base}/${recordingId}/stop`, coordinator);
    t.equal(stopped.status, 200);
    t.equal(stopped.body.stopReason, 'stopped');
    t.equal(stopped.body.stoppedBy, demo.coordinator.id);
    t.match(room.notified.at(-1), { event: 'recordingState', payload: { recordingId, recording: false } });
    await ready;
    const rec = (await api(url, 'GET', `${base}/${recordingId}`, student)).body;
    t.equal(rec.status, 'ready');
    t.equal(rec.segments.length, 3);
    for (const s of rec.segments) {
      t.equal(s.status, 'ready', `${s.fileName} is ready`);
      t.match(s.sha256, /^[0-9a-f]{64}$/);
      t.ok(s.sizeBytes > 0);
      const wall = Date.parse(s.endedAt) - Date.parse(s.startedAt);
      t.ok(Math.abs(s.durationMs - wall) < 1000, `${s.fileName}: ${s.durationMs} ms vs ${wall} ms`);
      // The offset is where the file sits on the recording's timeline: its first packet after the start.
      // How soon that is (FFmpeg's start-up) follows the machine's load: printed, not asserted.
      t.ok(s.offsetMs >= 0, 'offset on the recording timeline');
      t.equal(s.offsetMs, Date.parse(s.startedAt) - Date.parse(rec.startedAt), 'the offset is the first packet after the recording started');
      t.comment(`${s.fileName}: first packet ${s.offsetMs} ms after the recording started`);
    }
    t.equal(rec.report.tracks.length, 3);
    t.same(rec.report.missingTracks, [{ userId: demo.mentor.id, role: 'mentor', missing: ['video'] }]);
    t.equal(rec.report.ok, true);
    t.ok(rec.report.recordedMs >= 5000);
    t.ok(rec.report.expectedMs >= rec.report.recordedMs - 1000);
    const list = await api(url, 'GET', base, coordinator);
    t.equal(list.status, 200);
    t.equal(list.body.length, 1);
  });

  t.test('downloads: participants and coordinators only, with Range', async (t) => {
    const rec = (await api(url, 'GET', `${base}/${recordingId}`, mentor)).body;
    const seg = rec.segments.find((s: any) => s.kind === 'video');
    const fileUrl = `${url}${base}/${recordingId}/segments/${seg.id}/file`;
    const disk = readFileSync(join(app.config.recording.dir, mentoringId, recordingId, seg.fileName));
    const get = (token: string, headers: Record<string, string> = {}) => fetch(fileUrl, { headers: { authorization: `Bearer ${token}`, ...headers } });

    const outside = await get(outsider);
    t.equal(outside.status, 404, 'a non-participant gets 404');
    await outside.arrayBuffer();
    const full = await get(coordinator);
    t.equal(full.status, 200);
    t.equal(full.headers.get('accept-ranges'), 'bytes');
    t.equal(full.headers.get('content-type'), 'video/webm');
    t.ok(Buffer.from(await full.arrayBuffer()).equals(disk), 'the whole file');
    const part = await get(student, { range: 'bytes=100-199' });
    t.equal(part.status, 206);
    t.equal(part.headers.get('content-range'), `bytes 100-199/${disk.length}`);
    t.ok(Buffer.from(await part.arrayBuffer()).equals(disk.subarray(100, 200)), 'the right bytes');
    const tail = await get(mentor, { range: 'bytes=-50' });
    t.equal(tail.status, 206);
    t.ok(Buffer.from(await tail.arrayBuffer()).equals(disk.subarray(disk.length - 50)));
    const open = await get(mentor, { range: `bytes=${disk.length - 10}-` });
    t.equal(open.status, 206);
    t.equal((await open.arrayBuffer()).byteLength, 10);
    const beyond = await get(student, { range: `bytes=${disk.length}-` });
    t.equal(beyond.status, 416);
    t.equal(beyond.headers.get('content-range'), `bytes */${disk.length}`);
    await beyond.arrayBuffer();
  });

  t.test('withdrawing consent stops a running recording', async (t) => {
    const started = await api(url, 'POST', base, mentor);
    t.equal(started.status, 201);
    await until(() => progress(mentoringId) >= 1000, 15_000, 'recording');
    const withdrawn = await api(url, 'PUT', `/sessions/${mentoringId}/recording-consent`, student, { granted: false });
    t.equal(withdrawn.body.granted, false);
    const rec = (await api(url, 'GET', `${base}/${started.body.id}`, mentor)).body;
    t.not(rec.status, 'recording');
    t.equal(rec.stopReason, 'consent_withdrawn');
    t.equal((await api(url, 'POST', base, mentor)).body.code, 'consent_required');
  });

  t.test('a defence records on its own when its room opens; shutdown finalises it', async (t) => {
    const defenceMic = await startRtpSender(t, router, 'audio');
    openRoom(defenceId, [{ producer: defenceMic.producer, userId: demo.student.id, source: 'mic' }]);
    app.events.emit('room.presence', { sessionId: defenceId, userId: demo.jury[0].id, type: 'join', at: new Date() });
    await until(() => progress(defenceId) >= 1500, 15_000, 'automatic defence recording');
    const [rec] = (await api(url, 'GET', `/sessions/${defenceId}/recordings`, jury)).body;
    t.equal(rec.status, 'recording');
    t.equal(rec.automatic, true);
    // What preClose does on SIGTERM: SIGINT to every FFmpeg, recordings marked server_shutdown.
    await recordings.shutdown();
    await until(async () => (await api(url, 'GET', `/sessions/${defenceId}/recordings/${rec.id}`, jury)).body.status === 'ready', 15_000, 'processed');
    const after = (await api(url, 'GET', `/sessions/${defenceId}/recordings/${rec.id}`, coordinator)).body;
    t.equal(after.stopReason, 'server_shutdown');
    t.equal(after.segments[0].status, 'ready');
    t.ok(after.segments[0].durationMs >= 1000);
    const missing = Object.fromEntries(after.report.missingTracks.map((m: any) => [m.userId, m.missing]));
    t.same(missing, { [demo.student.id]: ['video'], [demo.jury[0].id]: ['audio', 'video'], [demo.jury[1].id]: ['audio', 'video'] }, 'the jury sent no media');
    t.equal(after.report.ok, false);
  });

  t.test('retention deletes files and keeps the metadata', async (t) => {
    const later = new Date(Date.now() + (app.config.recording.retentionDays + 1) * 86_400_000);
    const deleted = await recordings.purgeExpired(later);
    t.ok(deleted >= 2);
    t.notOk(existsSync(join(app.config.recording.dir, mentoringId, recordingId)), 'files gone');
    const rec = (await api(url, 'GET', `${base}/${recordingId}`, mentor)).body;
    t.ok(rec.filesDeletedAt);
    t.ok(rec.report, 'report kept');
    t.ok(rec.segments.every((s: any) => s.status === 'deleted' && s.sha256), 'segment rows kept');
    const file = await api(url, 'GET', `${base}/${recordingId}/segments/${rec.segments[0].id}/file`, mentor);
    t.equal(file.status, 404);
    t.equal(file.body.code, 'recording_files_deleted');
  });

  t.test('a recording left by a crashed process is marked interrupted and processed', async (t) => {
    const dead = spawnSync('true').pid;
    const row = await db.one<{ id: string }>(
      `INSERT INTO recordings (session_id, status, started_at, recorder_host, recorder_pid) VALUES ($1, 'recording', now() - interval '1 minute', $2, $3) RETURNING id`,
      [mentoringId, hostname(), dead],
    );
    t.same(await recordings.recoverInterrupted(), [row!.id]);
    await until(async () => (await api(url, 'GET', `${base}/${row!.id}`, mentor)).body.status === 'failed', 15_000, 'processed');
    const rec = (await api(url, 'GET', `${base}/${row!.id}`, mentor)).body;
    t.equal(rec.stopReason, 'interrupted');
    t.equal(rec.error, 'nothing was recorded');
  });
});
