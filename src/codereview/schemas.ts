import { Type, type Static } from 'typebox';
import { Uuid } from '../shared/schemas.ts';
import { MAX_CONTENT_CHARS } from './service.ts';

/** Schemas of the code review: its HTTP answers and its `/review` socket requests (plugin.ts). */

export const DocumentSchema = Type.Object({
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
export const CommentSchema = Type.Object({
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
export const ReviewSchema = Type.Object({ documents: Type.Array(DocumentSchema), comments: Type.Array(CommentSchema) });
export type ReviewJson = Static<typeof ReviewSchema>;
export const ReviewMarkdownSchema = Type.String();

// ------------------------------------------------------------ socket requests
const Session = { sessionId: Uuid };
export const OpenPayload = Type.Object(Session, { additionalProperties: false });
export const AddDocumentPayload = Type.Object(
  {
    ...Session,
    kind: Type.Union([Type.Literal('file'), Type.Literal('diff')]),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    language: Type.Optional(Type.Union([Type.String({ pattern: '^[a-z0-9+#-]{1,32}$' }), Type.Null()])),
    content: Type.String({ maxLength: MAX_CONTENT_CHARS }),
  },
  { additionalProperties: false },
);
export const AddCommentPayload = Type.Object(
  {
    ...Session,
    documentId: Uuid,
    line: Type.Optional(Type.Integer({ minimum: 1 })),
    parentId: Type.Optional(Uuid),
    body: Type.String({ minLength: 1, maxLength: 5000 }),
  },
  { additionalProperties: false },
);
export const ResolvePayload = Type.Object({ ...Session, commentId: Uuid, resolved: Type.Boolean() }, { additionalProperties: false });
export type AddDocumentPayload = Static<typeof AddDocumentPayload>;
export type AddCommentPayload = Static<typeof AddCommentPayload>;
export type ResolvePayload = Static<typeof ResolvePayload>;
