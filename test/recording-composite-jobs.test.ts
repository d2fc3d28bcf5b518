import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { api, startTestApp } from './helpers/app.ts';
import { startRestartableApp } from './helpers/restartable-app.ts';
import { insertDemoMentoring } from './helpers/sessions.ts';
import { insertProcessedRecording } from './helpers/recording-fixtures.ts';
import { until } from './helpers/recording-media.ts';

// A busy CI machine composes slowly.
t.setTimeout(480_000);

t.test('a composite cut by a server restart is made again by the next server', async (t) => {
  const ctx = await startRestartableApp(t, { env: { RECORDING_COMPOSITE_NICE: '0' } });
  const { demo } = ctx;
  const { db } = ctx.current();
  const startedAt = new Date(Date.now() - 30 * 60_000);
  const sessionId = await insertDemoMentoring(db, demo, { startsAt: startedAt, endsAt: new Date(startedAt.getTime() + 60 * 60_000) });
  const durationMs = 30_000;
  const recordingId = await insertProcessedRecording(db, {
    recordingsDir: ctx.config.recording.dir,
    sessionId,
    startedAt,
    durationMs,
    tracks: [
      { userId: demo.student.id, source: 'webcam', offsetMs: 0, durationMs, lavfi: 'color=c=green:s=160x120' },
      { userId: demo.mentor.id, source: 'webcam', offsetMs: 0, durationMs, lavfi: 'color=c=blue:s=160x120' },
      { userId: demo.student.id, source: 'mic', offsetMs: 0, durationMs },
    ],
  });
  const dir = join(ctx.config.recording.dir, sessionId, recordingId);
  await ctx.current().app.composites.enqueue(recordingId);
  // One login for the whole wait: polling with a fresh login each time trips the login rate limit.
  const mentorToken = await ctx.login(demo.mentor);
  const statusOf = async () => (await api(ctx.current().url, 'GET', `/sessions/${sessionId}/recordings/${recordingId}/composite`, mentorToken)).body;
  await until(async () => {
    const s = await statusOf();
    return s.status === 'running' && s.progress > 0;
  }, 60_000, 'composing under way');
  t.ok(existsSync(join(dir, 'composite.mp4.part')), 'it writes a temporary file');

  // A deploy: the server stops mid-job and a new one starts on the same database and Redis.
  await ctx.restart();
  const afterStop = await ctx.current().db.one<{ status: string }>('SELECT status FROM recording_composites WHERE recording_id = $1', [recordingId]);
  t.ok(afterStop && ['queued', 'running'].includes(afterStop.status), `left ${afterStop?.status} by the stopped server`);
  await until(async () => (await statusOf()).status === 'ready', 120_000, 'the composite after the restart');
  const done = await statusOf();
  t.equal(done.progress, 1);
  t.ok(Math.abs(done.durationMs - durationMs) <= 1000, `duration ${done.durationMs} ms`);
  const row = await ctx.current().db.one<{ attempts: number }>('SELECT attempts FROM recording_composites WHERE recording_id = $1', [recordingId]);
  t.ok(row!.attempts >= 2, `started again (${row!.attempts} attempts)`);
  t.notOk(existsSync(join(dir, 'composite.mp4.part')), 'no temporary file left');
  const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', join(dir, 'composite.mp4')], { encoding: 'utf8' });
  t.ok(Math.abs(Number(probe.stdout) * 1000 - durationMs) <= 1000, 'the file plays to the end');
});

/** The entries of a small ZIP (no ZIP64), read with zlib: enough to check an archive's content. */
function unzip(buf: Buffer): Map<string, Buffer> {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const method = buf.readUInt16LE(at + 10);
    const size = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + size);
    out.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

t.test("a coordinator's archive of a session: composite, tracks, reports, review, outcome, checksums", async (t) => {
  const ctx = await startTestApp(t, { env: { RECORDING_COMPOSITE_HEIGHT: '360', RECORDING_COMPOSITE_NICE: '0' } });
  const { demo, db, url } = ctx;
  const startedAt = new Date(Date.now() - 30 * 60_000);
  const sessionId = await insertDemoMentoring(db, demo, { startsAt: startedAt, endsAt: new Date(startedAt.getTime() + 60 * 60_000) });
  const recordingId = await insertProcessedRecording(db, {
    recordingsDir: ctx.config.recording.dir,
    sessionId,
    startedAt,
    durationMs: 4_000,
    tracks: [
      { userId: demo.student.id, source: 'webcam', offsetMs: 0, durationMs: 4_000 },
      { userId: demo.student.id, source: 'mic', offsetMs: 500, durationMs: 3_000 },
    ],
  });
  await ctx.app.composites.enqueue(recordingId);
  const [coordinator, mentor, outsider] = await Promise.all([ctx.login(demo.coordinator), ctx.login(demo.mentor), ctx.login(demo.soloStudent)]);
  await until(async () => (await api(url, 'GET', `/sessions/${sessionId}/recordings/${recordingId}/composite`, coordinator)).body.status === 'ready', 60_000, 'the composite');

  const refused = await Promise.all([mentor, outsider].map((tok) => api(url, 'GET', `/sessions/${sessionId}/archive.zip`, tok)));
  t.same(refused.map((r) => [r.status, r.body.code]), [[403, 'role_not_allowed'], [403, 'role_not_allowed']], 'coordinators only');
  const res = await fetch(`${url}/sessions/${sessionId}/archive.zip`, { headers: { authorization: `Bearer ${coordinator}` } });
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-type'), 'application/zip');
  const files = unzip(Buffer.from(await res.arrayBuffer()));
  const root = `session-${sessionId}/`;
  const names = [...files.keys()].map((n) => n.slice(root.length)).sort();
  t.same(
    names.filter((n) => !n.includes('/tracks/')),
    ['SHA256SUMS', 'attendance.json', 'outcome.json', `recordings/${recordingId}/composite.mp4`, `recordings/${recordingId}/integrity-report.json`, `recordings/${recordingId}/recording.json`, 'review.md', 'session.json'],
  );
  t.equal(names.filter((n) => n.includes('/tracks/')).length, 2, 'both per-track files');
  // The manifest lists every other file with its SHA-256, as `sha256sum -c` reads it.
  const manifest = files.get(`${root}SHA256SUMS`)!.toString('utf8').trim().split('\n');
  t.equal(manifest.length, names.length - 1);
  for (const line of manifest) {
    const [hash, name] = line.split('  ');
    t.equal(createHash('sha256').update(files.get(root + name!)!).digest('hex'), hash, `${name} matches the manifest`);
  }
  t.match(files.get(`${root}review.md`)!.toString(), /# Code review/);
  t.same(JSON.parse(files.get(`${root}outcome.json`)!.toString()), { phases: [], verdict: null, evaluation: null });
});
