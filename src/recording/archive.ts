/**
 * A session's record in one ZIP, for a coordinator handling an appeal or an
 * audit: the composite video and every per-track file of each recording,
 * their integrity reports, the attendance, the code review as Markdown, the
 * verdict (defence) or evaluation (mentoring) with the defence phases, and a
 * `SHA256SUMS` manifest (`sha256sum -c SHA256SUMS` checks it).
 *
 * ZIP because every coordinator's system opens it without tools. yazl writes
 * it as a stream (constant memory, whatever the size of the media), with
 * ZIP64 past 4 GiB, and has a single small dependency; media is stored, not
 * deflated (already compressed). Recorded files are listed in the manifest
 * with the hashes taken when the recording was processed: a file changed on
 * disk since then shows up as a mismatch.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ZipFile } from 'yazl';
import type { Db } from '../db/index.ts';
import { reviewOf, reviewToMarkdown } from '../codereview/index.ts';
import { sessionOutcomeOf } from '../progression/index.ts';
import { getSession, listParticipants, type Session } from '../sessions/index.ts';
import type { CompositeService } from './composite.ts';
import type { Actor, RecordingService } from './service.ts';
import { fileSize } from './ffmpeg.ts';

interface Entry {
  name: string;
  sha256: string;
  /** A file on disk, or generated content. */
  path?: string;
  content?: Buffer;
}

export interface ArchiveDeps {
  db: Db;
  recordings: RecordingService;
  composites: CompositeService;
  /** The session's attendance (the attendance capability's view), when registered. */
  attendance?: ((session: Session) => Promise<unknown>) | undefined;
}

const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The entries of a session's archive (access is checked by the caller: coordinators). */
export async function archiveEntries(deps: ArchiveDeps, sessionId: string, viewer: Actor): Promise<{ fileName: string; entries: Entry[]; missing: string[] }> {
  const { db } = deps;
  const session = await getSession(db, sessionId);
  const root = `session-${sessionId}`;
  const entries: Entry[] = [];
  const missing: string[] = [];
  const add = (name: string, content: Buffer) => entries.push({ name: `${root}/${name}`, content, sha256: sha(content) });

  const participants = await listParticipants(db, sessionId);
  add('session.json', json({ ...session, participants }));
  if (deps.attendance) add('attendance.json', json(await deps.attendance(session)));
  const review = await reviewOf(db, sessionId);
  add('review.md', Buffer.from(reviewToMarkdown(review, { sessionId, kind: session.kind, startsAt: session.startsAt, participants })));
  add('outcome.json', json(await sessionOutcomeOf(db, sessionId)));

  const recordings = await deps.recordings.list(sessionId, viewer);
  for (const r of recordings) {
    const dir = deps.recordings.dirOf(sessionId, r.id);
    const base = `recordings/${r.id}`;
    const { report, segments, ...rest } = r;
    add(`${base}/recording.json`, json({ ...rest, segments }));
    add(`${base}/integrity-report.json`, json(report));
    if (r.filesDeletedAt) continue;
    const composite = await deps.composites.view(r.id);
    if (composite.status === 'ready' && composite.sha256) {
      const { path } = await deps.composites.fileOf(sessionId, r.id);
      entries.push({ name: `${root}/${base}/composite.mp4`, path, sha256: composite.sha256 });
    } else missing.push(`${base}/composite.mp4 (${composite.status})`);
    for (const s of segments) {
      if (!s.sha256) continue;
      const path = join(dir, s.fileName);
      if ((await fileSize(path)) === undefined) {
        missing.push(`${base}/tracks/${s.fileName}`);
        continue;
      }
      entries.push({ name: `${root}/${base}/tracks/${s.fileName}`, path, sha256: s.sha256 });
    }
  }
  if (missing.length > 0) add('MISSING.txt', Buffer.from(`Not in this archive:\n${missing.map((m) => `- ${m}`).join('\n')}\n`));
  // The manifest names paths relative to the archive's folder, as sha256sum run there expects.
  const manifest = entries.map((e) => `${e.sha256}  ${e.name.slice(root.length + 1)}`).join('\n');
  entries.unshift({ name: `${root}/SHA256SUMS`, content: Buffer.from(`${manifest}\n`), sha256: '' });
  return { fileName: `${root}.zip`, entries, missing };
}

/** The ZIP as a stream. */
export function zipStream(entries: Entry[]): Readable {
  const zip = new ZipFile();
  for (const e of entries) {
    if (e.path) zip.addFile(e.path, e.name, { compress: false });
    else zip.addBuffer(e.content!, e.name, { compress: true });
  }
  zip.end();
  return zip.outputStream as Readable;
}
