/**
 * A processed recording written directly (rows + files made by FFmpeg's
 * lavfi), for tests of what comes after recording (composite, replay page,
 * archive) that do not need live media. Files are encoded like the recorder's
 * (VP8/Opus WebM) and hashed as post-processing would.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Queryable } from '../../src/db/index.ts';
import { ffprobe, fileSize, sha256File } from '../../src/recording/ffmpeg.ts';

export interface FixtureTrack {
  userId: string;
  source: 'mic' | 'webcam' | 'screen';
  /** Start on the recording timeline, and length (ms). */
  offsetMs: number;
  durationMs: number;
  /** lavfi source, e.g. `color=c=red:s=640x360` or `sine=frequency=440` (rate and duration are added). */
  lavfi?: string;
}

/** A file encoded once per machine and set of arguments (test machines are shared and busy), then copied. */
function encodedOnce(args: string[]): string {
  const cache = join(tmpdir(), 'ml-recording-samples', 'fixtures');
  mkdirSync(cache, { recursive: true });
  const file = join(cache, `${createHash('sha256').update(args.join('\u0000')).digest('hex').slice(0, 16)}.webm`);
  if (existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.webm`;
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args, '-y', tmp]);
  if (r.status !== 0) throw new Error(`fixture encoding failed: ${r.stderr}`);
  renameSync(tmp, file);
  return file;
}

export async function insertProcessedRecording(
  db: Queryable,
  o: { recordingsDir: string; sessionId: string; startedAt: Date; durationMs: number; tracks: FixtureTrack[]; gaps?: Array<{ userId: string; source: string; fromMs: number; toMs: number; reason: string }> },
): Promise<string> {
  const stoppedAt = new Date(o.startedAt.getTime() + o.durationMs);
  const rec = await db.one<{ id: string }>(
    `INSERT INTO recordings (session_id, status, started_at, stopped_at, stop_reason, processed_at) VALUES ($1, 'processing', $2, $3, 'stopped', $3) RETURNING id`,
    [o.sessionId, o.startedAt, stoppedAt],
  );
  const recordingId = rec!.id;
  const dir = join(o.recordingsDir, o.sessionId, recordingId);
  mkdirSync(dir, { recursive: true });
  for (const [i, tr] of o.tracks.entries()) {
    const kind = tr.source === 'mic' ? 'audio' : 'video';
    const fileName = `${tr.source}-${tr.userId.slice(0, 8)}-${i}.webm`;
    const seconds = (tr.durationMs / 1000).toFixed(3);
    const args =
      kind === 'video'
        ? ['-f', 'lavfi', '-i', `${tr.lavfi ?? 'testsrc=size=320x240'}:rate=15:duration=${seconds}`, '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-g', '15']
        : ['-f', 'lavfi', '-i', `${tr.lavfi ?? 'sine=frequency=440'}:sample_rate=48000:duration=${seconds}`, '-c:a', 'libopus', '-ac', '2'];
    const path = join(dir, fileName);
    copyFileSync(encodedOnce(args), path);
    const probe = await ffprobe('ffprobe', path);
    const startedAt = new Date(o.startedAt.getTime() + tr.offsetMs);
    await db.execute(
      `INSERT INTO recording_segments (id, recording_id, producer_id, user_id, source, kind, mime_type, file_name, opened_at, started_at, ended_at, end_reason,
         status, duration_ms, size_bytes, sha256)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, 'stopped', 'ready', $11, $12, $13)`,
      [
        randomUUID(), recordingId, `p-${i}`, tr.userId, tr.source, kind, kind === 'audio' ? 'audio/opus' : 'video/VP8', fileName, startedAt,
        new Date(startedAt.getTime() + (probe.durationMs ?? tr.durationMs)), probe.durationMs ?? tr.durationMs, (await fileSize(path)) ?? 0, await sha256File(path),
      ],
    );
  }
  for (const g of o.gaps ?? []) {
    await db.execute(
      'INSERT INTO recording_gaps (recording_id, producer_id, user_id, source, from_at, to_at, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [recordingId, 'p', g.userId, g.source, new Date(o.startedAt.getTime() + g.fromMs), new Date(o.startedAt.getTime() + g.toMs), g.reason],
    );
  }
  await db.execute(`UPDATE recordings SET status = 'ready', report = '{"gaps":[]}'::jsonb WHERE id = $1`, [recordingId]);
  return recordingId;
}
