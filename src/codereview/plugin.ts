import type { FastifyInstance } from 'fastify';
import type { Namespace, Socket } from 'socket.io';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { ROLES, viewerOf } from '../auth/index.ts';
import { assertCanViewSession, getSession, listParticipants } from '../sessions/index.ts';
import { identityOf, onRequest } from '../shared/socket.ts';
import { SessionIdParams } from '../shared/schemas.ts';
// For the type of app.recordings (the recording capability's decorator; recording is a declared dependency).
import type {} from '../recording/index.ts';
import { reviewToMarkdown } from './markdown.ts';
import { AddCommentPayload, AddDocumentPayload, OpenPayload, ResolvePayload, ReviewMarkdownSchema, ReviewSchema } from './schemas.ts';
import { addComment, addDocument, assertReviewParticipant, assertReviewWritable, reviewOf, setThreadResolved } from './service.ts';

/** Socket.IO room of a session's review in the `/review` namespace. */
export const reviewRoom = (sessionId: string) => `review:${sessionId}`;

/**
 * Milliseconds into the session's running recording, or null when none runs,
 * asked of the recording capability's public service (`app.recordings`). It
 * knows the recordings running in this process, which is where the session's
 * room (and so its recorder) lives.
 */
async function recordingOffsetMs(app: FastifyInstance, sessionId: string): Promise<number | null> {
  const active = app.recordings.activeOf(sessionId);
  if (!active) return null;
  try {
    const recording = await app.recordings.get(sessionId, active.recordingId);
    return Math.max(0, app.clock.now().getTime() - Date.parse(recording.startedAt));
  } catch (err) {
    app.log.warn({ err, sessionId }, 'code review: no recording offset');
    return null;
  }
}

/**
 * Code review: the `/review` namespace (participants of the session only) and
 * the read/export routes.
 *
 * Client → server (all acked `{ data } | { error }`):
 *   `open { sessionId }` → Review (joins the session's review room),
 *   `close { sessionId }` → {},
 *   `addDocument { sessionId, kind, name, language?, content }` → ReviewDocument,
 *   `addComment { sessionId, documentId, line?, parentId?, body }` → ReviewComment,
 *   `resolveThread { sessionId, commentId, resolved }` → the thread's root comment.
 * Server → clients of the room: `documentAdded { document }`, `commentAdded { comment }`,
 * `threadUpdated { comment }` (a root resolved or reopened).
 */
const codereview: FastifyPluginAsyncTypebox = async (app) => {
  const nsp = app.io.of('/review');
  nsp.use(app.socketAuth);
  nsp.on('connection', (socket) => onReviewSocket(app, nsp, socket));
  await app.register(reviewRoutes);
};

/** A participant adds documents and comments while the review is writable. */
async function assertCanWrite(app: FastifyInstance, sessionId: string, userId: string): Promise<void> {
  await assertReviewParticipant(app.db, sessionId, userId);
  await assertReviewWritable(app.db, sessionId, app.clock.now(), app.config.codereview);
}

/** The requests of one `/review` socket (listed above codereview). */
function onReviewSocket(app: FastifyInstance, nsp: Namespace, socket: Socket): void {
  const { db } = app;
  const { userId } = identityOf(socket);
  const log = app.log;

  onRequest(
    socket,
    'open',
    OpenPayload,
    async ({ sessionId }) => {
      await assertReviewParticipant(db, sessionId, userId);
      await socket.join(reviewRoom(sessionId));
      return reviewOf(db, sessionId);
    },
    log,
  );

  onRequest(socket, 'close', OpenPayload, async ({ sessionId }) => {
    await socket.leave(reviewRoom(sessionId));
    return {};
  });

  onRequest(
    socket,
    'addDocument',
    AddDocumentPayload,
    async (p) => {
      await assertCanWrite(app, p.sessionId, userId);
      const document = await db.tx((q) => addDocument(q, {
        sessionId: p.sessionId,
        authorId: userId,
        kind: p.kind,
        name: p.name,
        language: p.kind === 'diff' ? 'diff' : (p.language ?? null),
        content: p.content,
        now: app.clock.now(),
      }, app.config.codereview));
      nsp.to(reviewRoom(p.sessionId)).emit('documentAdded', { document });
      return document;
    },
    log,
  );

  onRequest(
    socket,
    'addComment',
    AddCommentPayload,
    async (p) => {
      await assertCanWrite(app, p.sessionId, userId);
      const { comment, reopened } = await db.tx(async (q) =>
        addComment(q, {
          sessionId: p.sessionId,
          authorId: userId,
          documentId: p.documentId,
          line: p.line,
          parentId: p.parentId,
          body: p.body,
          recordingOffsetMs: await recordingOffsetMs(app, p.sessionId),
          now: app.clock.now(),
        }, app.config.codereview),
      );
      if (reopened) nsp.to(reviewRoom(p.sessionId)).emit('threadUpdated', { comment: reopened });
      nsp.to(reviewRoom(p.sessionId)).emit('commentAdded', { comment });
      return comment;
    },
    log,
  );

  onRequest(
    socket,
    'resolveThread',
    ResolvePayload,
    async (p) => {
      await assertReviewParticipant(db, p.sessionId, userId);
      const comment = await setThreadResolved(db, { sessionId: p.sessionId, commentId: p.commentId, userId, resolved: p.resolved, now: app.clock.now() });
      nsp.to(reviewRoom(p.sessionId)).emit('threadUpdated', { comment });
      return comment;
    },
    log,
  );
}

/** The review read as JSON and exported as Markdown (participants and coordinators). */
const reviewRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app;

  app.get(
    '/sessions/:sessionId/review',
    {
      config: { access: ROLES },
      schema: {
        tags: ['code review'],
        summary: "A session's code review: documents and line comments",
        description: 'Participants of the session and coordinators.',
        params: SessionIdParams,
        response: { 200: ReviewSchema },
      },
    },
    async (request) => {
      await assertCanViewSession(db, request.params.sessionId, viewerOf(request));
      return reviewOf(db, request.params.sessionId);
    },
  );

  app.get(
    '/sessions/:sessionId/review.md',
    {
      config: { access: ROLES },
      schema: {
        tags: ['code review'],
        summary: "A session's code review as Markdown",
        description: 'Participants of the session and coordinators.',
        params: SessionIdParams,
        produces: ['text/markdown'],
        response: { 200: ReviewMarkdownSchema },
      },
    },
    async (request, reply) => {
      const { sessionId } = request.params;
      await assertCanViewSession(db, sessionId, viewerOf(request));
      const [session, participants, review] = await Promise.all([getSession(db, sessionId), listParticipants(db, sessionId), reviewOf(db, sessionId)]);
      const markdown = reviewToMarkdown(review, { sessionId, kind: session.kind, startsAt: session.startsAt, participants });
      return reply
        .type('text/markdown; charset=utf-8')
        .header('content-disposition', `attachment; filename="review-${sessionId}.md"`)
        .send(markdown);
    },
  );
};

/**
 * The code review capability (fastify-plugin 'codereview'): needs 'sockets'
 * (the /review namespace) and 'recording' (a comment's offset into the running
 * recording). Its namespace and routes keep their own scope (registered inside).
 */
export const codereviewPlugin = fp(
  async (app) => {
    await app.register(codereview);
  },
  { name: 'codereview', dependencies: ['sockets', 'recording'] },
);
