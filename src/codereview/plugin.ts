import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { ROLES, viewerOf } from '../auth/index.ts';
import { assertCanViewSession, getSession, listParticipants } from '../sessions/index.ts';
import { identityOf, onRequest } from '../shared/socket.ts';
import { Uuid } from '../shared/schemas.ts';
// For the type of app.recordings (the recording capability's decorator; recording is a declared dependency).
import type {} from '../recording/index.ts';
import { reviewToMarkdown } from './markdown.ts';
import { addComment, addDocument, assertReviewParticipant, assertReviewWritable, MAX_CONTENT_CHARS, reviewOf, setThreadResolved } from './service.ts';

/** Socket.IO room of a session's review in the `/review` namespace. */
export const reviewRoom = (sessionId: string) => `review:${sessionId}`;

const DocumentSchema = Type.Object({
  id: Uuid,
  sessionId: Uuid,
  authorId: Uuid,
  authorName: Type.String(),
  kind: Type.Union([Type.Literal('file'), Type.Literal('diff')]),
  name: Type.String(),
  language: Type.Union([Type.String(), Type.Null()]),
  content: Type.String(),
  lineCount: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
});
const CommentSchema = Type.Object({
  id: Uuid,
  sessionId: Uuid,
  documentId: Uuid,
  parentId: Type.Union([Uuid, Type.Null()]),
  authorId: Uuid,
  authorName: Type.String(),
  line: Type.Integer(),
  body: Type.String(),
  recordingOffsetMs: Type.Union([Type.Integer(), Type.Null()], { description: 'Milliseconds into the recording; null when none was running' }),
  resolvedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  resolvedBy: Type.Union([Uuid, Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});
const ReviewSchema = Type.Object({ documents: Type.Array(DocumentSchema), comments: Type.Array(CommentSchema) });

const Session = { sessionId: Uuid };
const OpenPayload = Type.Object(Session, { additionalProperties: false });
const AddDocumentPayload = Type.Object(
  {
    ...Session,
    kind: Type.Union([Type.Literal('file'), Type.Literal('diff')]),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    language: Type.Optional(Type.Union([Type.String({ pattern: '^[a-z0-9+#-]{1,32}$' }), Type.Null()])),
    content: Type.String({ maxLength: MAX_CONTENT_CHARS }),
  },
  { additionalProperties: false },
);
const AddCommentPayload = Type.Object(
  {
    ...Session,
    documentId: Uuid,
    line: Type.Optional(Type.Integer({ minimum: 1 })),
    parentId: Type.Optional(Uuid),
    body: Type.String({ minLength: 1, maxLength: 5000 }),
  },
  { additionalProperties: false },
);
const ResolvePayload = Type.Object({ ...Session, commentId: Uuid, resolved: Type.Boolean() }, { additionalProperties: false });

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
  const { db } = app;
  const nsp = app.io.of('/review');
  nsp.use(app.socketAuth);

  nsp.on('connection', (socket) => {
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
        await assertReviewParticipant(db, p.sessionId, userId);
        await assertReviewWritable(db, p.sessionId, app.clock.now(), app.config.codereview);
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
        await assertReviewParticipant(db, p.sessionId, userId);
        await assertReviewWritable(db, p.sessionId, app.clock.now(), app.config.codereview);
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
  });

  const Params = Type.Object({ sessionId: Uuid });

  app.get(
    '/sessions/:sessionId/review',
    {
      config: { access: ROLES },
      schema: {
        tags: ['code review'],
        summary: "A session's code review: documents and line comments",
        description: 'Participants of the session and coordinators.',
        params: Params,
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
        params: Params,
        produces: ['text/markdown'],
        response: { 200: Type.String() },
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
