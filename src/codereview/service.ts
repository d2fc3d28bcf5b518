import type { Queryable } from '../db/index.ts';
import { getSession, participantRole, type ParticipantRole } from '../sessions/index.ts';
import { conflict, forbidden, invalid, notFound, unprocessable } from '../shared/errors.ts';
import type { CodereviewConfig } from './config.ts';

/**
 * Code review of a live session: documents (a file or a pasted diff) and
 * threaded line comments. A thread is a root comment on one line and its
 * replies; a thread is resolved (or reopened) on its root.
 */
export type DocumentKind = 'file' | 'diff';

export interface ReviewDocument {
  id: string;
  sessionId: string;
  authorId: string;
  authorName: string;
  kind: DocumentKind;
  name: string;
  language: string | null;
  content: string;
  lineCount: number;
  createdAt: string;
}

export interface ReviewComment {
  id: string;
  sessionId: string;
  documentId: string;
  parentId: string | null;
  authorId: string;
  authorName: string;
  line: number;
  body: string;
  /** Milliseconds into the session's recording when written; null when none was running. */
  recordingOffsetMs: number | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  createdAt: string;
}

export interface Review {
  documents: ReviewDocument[];
  comments: ReviewComment[];
}

export const MAX_CONTENT_CHARS = 512 * 1024;
export const MAX_LINES = 20_000;

/** Lines of a document as the client shows them (a trailing newline adds no line). */
export function splitLines(content: string): string[] {
  const lines = content.replace(/\r\n?/g, '\n').split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Review is for the session's participants only (coordinators who are not participants included out). */
export async function assertReviewParticipant(db: Queryable, sessionId: string, userId: string): Promise<ParticipantRole> {
  await getSession(db, sessionId);
  const role = await participantRole(db, sessionId, userId);
  if (!role) throw forbidden('not_a_participant', 'You are not a participant of this session');
  return role;
}

/**
 * Writes (documents, comments) only while the session allows them: from a few
 * minutes before its start to its end plus a grace, never once cancelled.
 * Reading the review stays open to participants afterwards.
 */
export async function assertReviewWritable(db: Queryable, sessionId: string, now: Date, config: CodereviewConfig): Promise<void> {
  const session = await getSession(db, sessionId);
  if (session.status === 'cancelled') throw conflict('review_closed', 'This session was cancelled; its review is closed');
  const opens = session.startsAt.getTime() - config.opensMinutesBefore * 60_000;
  const closes = session.endsAt.getTime() + config.graceMinutes * 60_000;
  if (now.getTime() < opens) throw conflict('review_not_open', `The review opens ${config.opensMinutesBefore} minutes before the session`, { opensAt: new Date(opens).toISOString() });
  if (now.getTime() > closes) throw conflict('review_closed', 'The review of this session is closed', { closedAt: new Date(closes).toISOString() });
}

/**
 * Serialises the quota check and the insert of one session's review writes
 * (transaction-scoped lock): two concurrent writes cannot both pass the last free place.
 */
async function lockReview(q: Queryable, sessionId: string): Promise<void> {
  await q.execute(`SELECT pg_advisory_xact_lock(hashtextextended('review:' || $1::text, 0))`, [sessionId]);
}

const DOC_COLUMNS = `d.id, d.session_id AS "sessionId", d.author_id AS "authorId", u.name AS "authorName", d.kind, d.name, d.language,
  d.content, d.line_count AS "lineCount", d.created_at AS "createdAt"`;
const COMMENT_COLUMNS = `c.id, c.session_id AS "sessionId", c.document_id AS "documentId", c.parent_id AS "parentId", c.author_id AS "authorId",
  u.name AS "authorName", c.line, c.body, c.recording_offset_ms AS "recordingOffsetMs", c.resolved_at AS "resolvedAt",
  c.resolved_by AS "resolvedBy", c.created_at AS "createdAt"`;

type Row<T> = Omit<T, 'createdAt' | 'resolvedAt'> & { createdAt: Date; resolvedAt?: Date | null };

const docOut = (r: Row<ReviewDocument>): ReviewDocument => ({ ...r, createdAt: r.createdAt.toISOString() });
const commentOut = (r: Row<ReviewComment>): ReviewComment => ({
  ...r,
  recordingOffsetMs: r.recordingOffsetMs === null ? null : Number(r.recordingOffsetMs),
  resolvedAt: r.resolvedAt ? r.resolvedAt.toISOString() : null,
  createdAt: r.createdAt.toISOString(),
});

export async function reviewOf(db: Queryable, sessionId: string): Promise<Review> {
  const documents = await db.query<Row<ReviewDocument>>(
    `SELECT ${DOC_COLUMNS} FROM review_documents d JOIN users u ON u.id = d.author_id WHERE d.session_id = $1 ORDER BY d.created_at, d.id`,
    [sessionId],
  );
  const comments = await db.query<Row<ReviewComment>>(
    `SELECT ${COMMENT_COLUMNS} FROM review_comments c JOIN users u ON u.id = c.author_id WHERE c.session_id = $1 ORDER BY c.created_at, c.id`,
    [sessionId],
  );
  return { documents: documents.map(docOut), comments: comments.map(commentOut) };
}

export async function addDocument(
  db: Queryable,
  input: { sessionId: string; authorId: string; kind: DocumentKind; name: string; language: string | null; content: string; now: Date },
  quota: Pick<CodereviewConfig, 'maxDocuments' | 'maxBytes'>,
): Promise<ReviewDocument> {
  if (input.content.length > MAX_CONTENT_CHARS) throw invalid('document_too_large', `A document may have at most ${MAX_CONTENT_CHARS} characters`);
  const name = input.name.trim();
  if (name === '') throw invalid('document_name_required', 'A document needs a name');
  const lineCount = splitLines(input.content).length;
  if (lineCount > MAX_LINES) throw invalid('document_too_large', `A document may have at most ${MAX_LINES} lines`);
  await lockReview(db, input.sessionId);
  const used = await db.one<{ n: number; bytes: number }>(
    `SELECT count(*)::int AS n, coalesce(sum(octet_length(content)), 0)::bigint AS bytes FROM review_documents WHERE session_id = $1`,
    [input.sessionId],
  );
  if (used!.n >= quota.maxDocuments) throw unprocessable('review_document_quota', `A session's review holds at most ${quota.maxDocuments} documents`);
  if (Number(used!.bytes) + Buffer.byteLength(input.content, 'utf8') > quota.maxBytes) {
    throw unprocessable('review_bytes_quota', `A session's review documents total at most ${quota.maxBytes} bytes`, { usedBytes: Number(used!.bytes) });
  }
  const row = await db.one<{ id: string }>(
    `INSERT INTO review_documents (session_id, author_id, kind, name, language, content, line_count, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [input.sessionId, input.authorId, input.kind, name, input.language, input.content, lineCount, input.now],
  );
  const doc = await db.one<Row<ReviewDocument>>(`SELECT ${DOC_COLUMNS} FROM review_documents d JOIN users u ON u.id = d.author_id WHERE d.id = $1`, [row!.id]);
  return docOut(doc!);
}

async function commentById(db: Queryable, id: string): Promise<ReviewComment | undefined> {
  const row = await db.one<Row<ReviewComment>>(`SELECT ${COMMENT_COLUMNS} FROM review_comments c JOIN users u ON u.id = c.author_id WHERE c.id = $1`, [id]);
  return row && commentOut(row);
}

/**
 * A new thread on (document, line), or a reply when parentId is given (a
 * reply to a reply joins the root's thread; a reply takes the root's line).
 * Replying to a resolved thread reopens it.
 */
export async function addComment(
  db: Queryable,
  input: {
    sessionId: string;
    authorId: string;
    documentId: string;
    line?: number | undefined;
    parentId?: string | undefined;
    body: string;
    recordingOffsetMs: number | null;
    now: Date;
  },
  quota: Pick<CodereviewConfig, 'maxComments'>,
): Promise<{ comment: ReviewComment; reopened: ReviewComment | undefined }> {
  const body = input.body.trim();
  if (body === '') throw invalid('comment_empty', 'A comment needs some text');
  const doc = await db.one<{ lineCount: number }>('SELECT line_count AS "lineCount" FROM review_documents WHERE id = $1 AND session_id = $2', [
    input.documentId,
    input.sessionId,
  ]);
  if (!doc) throw notFound('document_not_found', 'No such document in this session');
  await lockReview(db, input.sessionId);
  const used = await db.one<{ n: number }>('SELECT count(*)::int AS n FROM review_comments WHERE session_id = $1', [input.sessionId]);
  if (used!.n >= quota.maxComments) throw unprocessable('review_comment_quota', `A session's review holds at most ${quota.maxComments} comments`);
  let line = input.line;
  let parentId: string | null = null;
  let reopened: ReviewComment | undefined;
  if (input.parentId !== undefined) {
    const parent = await commentById(db, input.parentId);
    if (!parent || parent.documentId !== input.documentId) throw notFound('comment_not_found', 'No such comment on this document');
    parentId = parent.parentId ?? parent.id;
    const root = parent.parentId ? await commentById(db, parent.parentId) : parent;
    line = root!.line;
    if (root!.resolvedAt) {
      await db.execute('UPDATE review_comments SET resolved_at = NULL, resolved_by = NULL WHERE id = $1', [root!.id]);
      reopened = await commentById(db, root!.id);
    }
  }
  if (line === undefined) throw invalid('line_required', 'A new comment needs a line');
  if (line < 1 || line > doc.lineCount) throw invalid('line_out_of_range', `The document has lines 1 to ${doc.lineCount}`);
  const row = await db.one<{ id: string }>(
    `INSERT INTO review_comments (session_id, document_id, parent_id, author_id, line, body, recording_offset_ms, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [input.sessionId, input.documentId, parentId, input.authorId, line, body, input.recordingOffsetMs, input.now],
  );
  return { comment: (await commentById(db, row!.id))!, reopened };
}

/** Resolves or reopens a thread (given any comment of it); returns the thread's root. */
export async function setThreadResolved(
  db: Queryable,
  input: { sessionId: string; commentId: string; userId: string; resolved: boolean; now: Date },
): Promise<ReviewComment> {
  const comment = await commentById(db, input.commentId);
  if (!comment || comment.sessionId !== input.sessionId) throw notFound('comment_not_found', 'No such comment in this session');
  const rootId = comment.parentId ?? comment.id;
  await db.execute('UPDATE review_comments SET resolved_at = $2, resolved_by = $3 WHERE id = $1', [
    rootId,
    input.resolved ? input.now : null,
    input.resolved ? input.userId : null,
  ]);
  return (await commentById(db, rootId))!;
}
