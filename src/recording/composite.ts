/**
 * The composite file of a recording: one MP4 (H.264 + AAC, faststart, with
 * chapters) that plays anywhere, made by a BullMQ job once the recording is
 * processed. The per-track segments stay the source of truth: the composite
 * is derived, can be made again, and goes with them at retention.
 *
 * The job runs at a low priority, one at a time per process (its FFmpeg is
 * also niced), reports progress (BullMQ job progress and the row, which the
 * API shows), writes to a temporary file renamed at the end, and is
 * restart-safe: a job cut by a shutdown or a crash runs again from the start
 * (BullMQ retries it, or takes it back as stalled; start-up re-queues rows
 * left queued or running).
 */
import { execFile, spawn } from 'node:child_process';
import { rename, rm, writeFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/index.ts';
import type { Clock } from '../shared/clock.ts';
import { conflict, notFound } from '../shared/errors.ts';
import { reviewOf } from '../codereview/index.ts';
import { defencePhasesOf } from '../progression/index.ts';
import type { RecordingConfig } from './config.ts';
import { chaptersMetadata, compositeCommand, type Chapter, type CompositeOptions, type PlanGap, type PlanSegment } from './composite-plan.ts';
import { ffprobe, fileSize, sha256File, type ProbeResult } from './ffmpeg.ts';
import type { RecordingService, RecordingView } from './service.ts';

export type CompositeStatus = 'none' | 'queued' | 'running' | 'ready' | 'failed';

export interface CompositeView {
  recordingId: string;
  status: CompositeStatus;
  /** 0..1 of the recording rendered. */
  progress: number;
  durationMs: number | null;
  sizeBytes: number | null;
  sha256: string | null;
  chapters: Chapter[];
  cpuMs: number | null;
  error: string | null;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

interface CompositeRow {
  recordingId: string;
  status: Exclude<CompositeStatus, 'none'>;
  progress: number;
  fileName: string | null;
  durationMs: number | null;
  sizeBytes: string | null;
  sha256: string | null;
  chapters: Chapter[];
  cpuMs: number | null;
  error: string | null;
  queuedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

const COLUMNS = `recording_id AS "recordingId", status, progress, file_name AS "fileName", duration_ms AS "durationMs", size_bytes AS "sizeBytes",
  sha256, chapters, cpu_ms AS "cpuMs", error, queued_at AS "queuedAt", started_at AS "startedAt", finished_at AS "finishedAt"`;

export const COMPOSITE_FILE = 'composite.mp4';

/** The recording's timeline, as the composite and the replay page see it. */
export interface RecordingTimelineInput {
  durationMs: number;
  segments: PlanSegment[];
  gaps: PlanGap[];
}

/** Offsets on a recording's timeline (ms after its start), from its rows. */
export function timelineOf(recording: RecordingView, dir: string): RecordingTimelineInput {
  const start = Date.parse(recording.startedAt);
  const stop = recording.stoppedAt ? Date.parse(recording.stoppedAt) : start;
  return {
    durationMs: Math.max(0, stop - start),
    segments: recording.segments
      .filter((s) => s.status === 'ready' && s.offsetMs !== null && (s.durationMs ?? 0) > 0)
      .map((s) => ({ id: s.id, userId: s.userId, source: s.source, kind: s.kind, path: join(dir, s.fileName), offsetMs: s.offsetMs!, durationMs: s.durationMs! })),
    gaps: recording.gaps.map((g) => ({ userId: g.userId, source: g.source, fromMs: Date.parse(g.fromAt) - start, toMs: Date.parse(g.toAt) - start, reason: g.reason })),
  };
}

/** A file's start time as FFmpeg reads it (ms; 0 when unknown). See PlanSegment.fileStartMs. */
function startTimeMs(ffprobePath: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    execFile(ffprobePath, ['-v', 'error', '-show_entries', 'format=start_time', '-of', 'csv=p=0', path], { timeout: 30_000 }, (err, stdout) => {
      const s = Number(String(stdout).trim());
      resolve(err || !Number.isFinite(s) ? 0 : Math.round(s * 1000));
    });
  });
}

const PHASE_TITLES: Record<string, string> = {
  lobby: 'Lobby',
  presentation: 'Presentation',
  questions: 'Questions',
  deliberation: 'Deliberation',
  verdict: 'Verdict',
  completed: 'Completed',
};

const shorten = (s: string, n: number) => {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
};

export interface CompositeServiceDeps {
  db: Db;
  config: RecordingConfig;
  clock: Clock;
  log: FastifyBaseLogger;
  recordings: RecordingService;
  /** Adds the composing job (deduplicated by recording). */
  enqueue(recordingId: string): Promise<void>;
  options?: Partial<CompositeOptions>;
}

export class CompositeService {
  readonly #d: CompositeServiceDeps;
  /** FFmpeg processes composing now, killed at shutdown (the job then runs again at the next start). */
  readonly #running = new Map<string, { kill(): void }>();
  #closing = false;

  constructor(deps: CompositeServiceDeps) {
    this.#d = deps;
  }

  /** Chapters of a recording: defence phases and review comments, at their offsets. */
  async chaptersOf(recording: RecordingView, durationMs: number): Promise<Chapter[]> {
    const start = Date.parse(recording.startedAt);
    const inside = (ms: number) => ms >= 0 && ms < durationMs;
    const chapters: Chapter[] = [];
    const phases = await defencePhasesOf(this.#d.db, recording.sessionId);
    // The phase under way when the recording started opens the file.
    const before = phases.filter((p) => p.at.getTime() <= start).at(-1);
    if (before) chapters.push({ startMs: 0, title: `Phase: ${PHASE_TITLES[before.phase] ?? before.phase}` });
    for (const p of phases) {
      const at = p.at.getTime() - start;
      if (at > 0 && inside(at)) chapters.push({ startMs: at, title: `Phase: ${PHASE_TITLES[p.phase] ?? p.phase}` });
    }
    const review = await reviewOf(this.#d.db, recording.sessionId);
    const docs = new Map(review.documents.map((d) => [d.id, d.name]));
    for (const c of review.comments) {
      const at = Date.parse(c.createdAt) - start;
      if (!inside(at)) continue;
      chapters.push({ startMs: at, title: `${c.authorName} on ${docs.get(c.documentId) ?? 'a document'}:${c.line}: ${shorten(c.body, 60)}` });
    }
    return chapters.sort((a, b) => a.startMs - b.startMs);
  }

  /** Queues the composite of a processed recording (again after a failure). */
  async enqueue(recordingId: string): Promise<void> {
    const { db, clock } = this.#d;
    await db.execute(
      `INSERT INTO recording_composites (recording_id, status, queued_at) VALUES ($1, 'queued', $2)
       ON CONFLICT (recording_id) DO UPDATE SET status = 'queued', progress = 0, error = NULL, queued_at = EXCLUDED.queued_at
        WHERE recording_composites.status = 'failed'`,
      [recordingId, clock.now()],
    );
    await this.#d.enqueue(recordingId);
  }

  /** At start-up: composites cut short by a crash or a shutdown are queued again (BullMQ dedupes a job still known). */
  async resume(): Promise<string[]> {
    const rows = await this.#d.db.query<{ recordingId: string }>(
      `SELECT c.recording_id AS "recordingId" FROM recording_composites c JOIN recordings r ON r.id = c.recording_id
        WHERE c.status IN ('queued', 'running') AND r.files_deleted_at IS NULL`,
    );
    for (const r of rows) await this.#d.enqueue(r.recordingId);
    return rows.map((r) => r.recordingId);
  }

  async #row(recordingId: string): Promise<CompositeRow | undefined> {
    return this.#d.db.one<CompositeRow>(`SELECT ${COLUMNS} FROM recording_composites WHERE recording_id = $1`, [recordingId]);
  }

  async view(recordingId: string): Promise<CompositeView> {
    const r = await this.#row(recordingId);
    const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
    return {
      recordingId,
      status: r?.status ?? 'none',
      progress: r?.progress ?? 0,
      durationMs: r?.durationMs ?? null,
      sizeBytes: r?.sizeBytes == null ? null : Number(r.sizeBytes),
      sha256: r?.sha256 ?? null,
      chapters: r?.chapters ?? [],
      cpuMs: r?.cpuMs ?? null,
      error: r?.error ?? null,
      queuedAt: iso(r?.queuedAt),
      startedAt: iso(r?.startedAt),
      finishedAt: iso(r?.finishedAt),
    };
  }

  /** The composite file of a recording, once ready (access is checked by the caller). */
  async fileOf(sessionId: string, recordingId: string): Promise<{ path: string; fileName: string; sha256: string | null }> {
    const recording = await this.#d.recordings.get(sessionId, recordingId);
    if (recording.filesDeletedAt) throw notFound('recording_files_deleted', 'The files of this recording were deleted after the retention period');
    const r = await this.#row(recordingId);
    if (!r || r.status !== 'ready' || !r.fileName) throw conflict('composite_not_ready', 'The composite file of this recording is not ready', { status: r?.status ?? 'none' });
    return { path: join(this.#d.recordings.dirOf(sessionId, recordingId), r.fileName), fileName: `recording-${recordingId}.mp4`, sha256: r.sha256 };
  }

  /**
   * The job: renders the composite into a temporary file, probes and hashes
   * it, then renames it into place. Returns the final status.
   */
  async compose(recordingId: string, onProgress?: (fraction: number) => Promise<void> | void): Promise<CompositeStatus> {
    const { db, clock, config, log } = this.#d;
    const head = await db.one<{ sessionId: string }>('SELECT session_id AS "sessionId" FROM recordings WHERE id = $1', [recordingId]);
    if (!head) return 'none';
    const recording = await this.#d.recordings.get(head.sessionId, recordingId);
    if (recording.status !== 'ready' || recording.filesDeletedAt) return 'none';
    if (this.#closing) throw new Error('shutting down');
    const dir = this.#d.recordings.dirOf(recording.sessionId, recordingId);
    const timeline = timelineOf(recording, dir);
    for (const seg of timeline.segments) seg.fileStartMs = await startTimeMs(config.ffprobePath, seg.path);
    const chapters = await this.chaptersOf(recording, timeline.durationMs);
    await db.execute(
      `INSERT INTO recording_composites (recording_id, status, queued_at, started_at, attempts, chapters) VALUES ($1, 'running', $2, $2, 1, $3)
       ON CONFLICT (recording_id) DO UPDATE SET status = 'running', progress = 0, started_at = $2, finished_at = NULL, error = NULL,
         attempts = recording_composites.attempts + 1, chapters = $3`,
      [recordingId, clock.now(), JSON.stringify(chapters)],
    );
    const part = join(dir, `${COMPOSITE_FILE}.part`);
    const chaptersPath = join(dir, 'composite-chapters.txt');
    try {
      await writeFile(chaptersPath, chaptersMetadata(timeline.durationMs, chapters));
      const { args } = compositeCommand({ ...timeline, chaptersPath, outPath: part, ...(this.#d.options ? { options: this.#d.options } : {}) });
      let lastWrite = 0;
      const { cpuMs } = await this.#run(recordingId, config.ffmpegPath, args, timeline.durationMs, async (fraction) => {
        await onProgress?.(fraction);
        // The row follows at most once a second (the page polls it).
        if (Date.now() - lastWrite < 1000) return;
        lastWrite = Date.now();
        await db.execute(`UPDATE recording_composites SET progress = $2 WHERE recording_id = $1 AND status = 'running'`, [recordingId, fraction]);
      });
      const probe: ProbeResult = await ffprobe(config.ffprobePath, part);
      const sizeBytes = (await fileSize(part)) ?? 0;
      const sha256 = await sha256File(part);
      await rename(part, join(dir, COMPOSITE_FILE));
      await db.execute(
        `UPDATE recording_composites SET status = 'ready', progress = 1, file_name = $2, duration_ms = $3, size_bytes = $4, sha256 = $5,
           cpu_ms = $6, finished_at = $7 WHERE recording_id = $1`,
        [recordingId, COMPOSITE_FILE, probe.durationMs ?? null, sizeBytes, sha256, cpuMs, clock.now()],
      );
      log.info({ recordingId, durationMs: probe.durationMs, cpuMs, sizeBytes }, 'recording composite ready');
      return 'ready';
    } catch (err) {
      await rm(part, { force: true });
      // Cut by a shutdown: queued again, the job runs at the next start.
      const status = this.#closing ? 'queued' : 'failed';
      await db.execute(`UPDATE recording_composites SET status = $2, error = $3, finished_at = $4 WHERE recording_id = $1`, [
        recordingId,
        status,
        (err as Error).message.slice(0, 2000),
        clock.now(),
      ]);
      throw err;
    } finally {
      await rm(chaptersPath, { force: true });
    }
  }

  #run(recordingId: string, ffmpegPath: string, args: string[], durationMs: number, onProgress: (fraction: number) => Promise<void>): Promise<{ cpuMs: number | null }> {
    return new Promise((resolve, reject) => {
      const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      // Low priority for the CPU: live rooms and recorders come first. (Not 19: on a busy machine a process at
      // 19 gets about 1/70 of a core against each one at 0, and a composite would wait for hours.)
      if (child.pid && this.#d.config.compositeNice > 0) {
        try {
          setPriority(child.pid, this.#d.config.compositeNice);
        } catch {
          /* not permitted: runs at normal priority */
        }
      }
      this.#running.set(recordingId, { kill: () => child.kill('SIGKILL') });
      let stderr = '';
      let buffered = '';
      let chain = Promise.resolve();
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)));
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          const m = /^out_time_us=(\d+)$/.exec(line);
          if (m && durationMs > 0) {
            const fraction = Math.min(1, Number(m[1]) / 1000 / durationMs);
            chain = chain.then(() => onProgress(fraction)).catch(() => undefined);
          }
        }
      });
      child.once('error', (err) => {
        this.#running.delete(recordingId);
        reject(err);
      });
      child.once('close', (code, signal) => {
        this.#running.delete(recordingId);
        void chain.then(() => {
          if (code !== 0) return reject(new Error(`ffmpeg failed (${code ?? signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
          const bench = /bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(stderr);
          resolve({ cpuMs: bench ? Math.round((Number(bench[1]) + Number(bench[2])) * 1000) : null });
        });
      });
    });
  }

  /** Stops composing (FFmpeg killed, rows back to queued: the jobs run again at the next start). */
  async shutdown(): Promise<void> {
    this.#closing = true;
    for (const r of this.#running.values()) r.kill();
  }
}
