import { Type, type Static } from 'typebox';
import { Nullable, Uuid } from '../shared/schemas.ts';

/** Request and answer schemas of recording's routes (routes.ts, composite-plugin.ts). */

export const SegmentSchema = Type.Object({
  id: Uuid,
  userId: Uuid,
  source: Type.String(),
  kind: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
  mimeType: Type.String(),
  fileName: Type.String(),
  status: Type.String({ description: 'recording | recorded | ready | empty | broken | deleted' }),
  startedAt: Nullable(Type.String({ format: 'date-time' })),
  offsetMs: Nullable(Type.Integer({ description: 'Start of this file on the recording timeline (ms after the recording started)' })),
  endedAt: Nullable(Type.String({ format: 'date-time' })),
  endReason: Nullable(Type.String()),
  durationMs: Nullable(Type.Integer()),
  sizeBytes: Nullable(Type.Integer()),
  sha256: Nullable(Type.String()),
});

export const RecordingSchema = Type.Object({
  id: Uuid,
  sessionId: Uuid,
  status: Type.Union([Type.Literal('recording'), Type.Literal('processing'), Type.Literal('ready'), Type.Literal('failed')]),
  automatic: Type.Boolean(),
  startedBy: Nullable(Uuid),
  startedAt: Type.String({ format: 'date-time' }),
  stoppedBy: Nullable(Uuid),
  stoppedAt: Nullable(Type.String({ format: 'date-time' })),
  stopReason: Nullable(Type.String({ description: 'stopped | room_closed | server_shutdown | interrupted | consent_withdrawn | recorder_failed | node_lost' })),
  filesDeletedAt: Nullable(Type.String({ format: 'date-time' })),
  error: Nullable(Type.String()),
  report: Nullable(Type.Object({}, { additionalProperties: true, description: 'Integrity report: expected vs recorded time, tracks, gaps, unplayable segments, missing tracks' })),
  segments: Type.Array(SegmentSchema),
  gaps: Type.Array(Type.Object({ userId: Uuid, source: Type.String(), fromAt: Type.String(), toAt: Type.String(), reason: Type.String() })),
});

export const ConsentSchema = Type.Object({ sessionId: Uuid, required: Type.Boolean(), granted: Nullable(Type.Boolean()) });
export const RecordingParams = Type.Object({ sessionId: Uuid, recordingId: Uuid });
export type RecordingJson = Static<typeof RecordingSchema>;
export const RecordingListSchema = Type.Array(RecordingSchema);
export const SegmentFileParams = Type.Object({ sessionId: Uuid, recordingId: Uuid, segmentId: Uuid });
export const ConsentBodySchema = Type.Object({ granted: Type.Boolean() }, { additionalProperties: false });
export type ConsentBody = Static<typeof ConsentBodySchema>;

// ------------------------------------------------------------ composite and replay
export const ChapterSchema = Type.Object({ startMs: Type.Integer(), title: Type.String() });
export const CompositeSchema = Type.Object({
  recordingId: Uuid,
  status: Type.Union([Type.Literal('none'), Type.Literal('queued'), Type.Literal('running'), Type.Literal('ready'), Type.Literal('failed')]),
  progress: Type.Number({ minimum: 0, maximum: 1, description: 'Part of the recording rendered so far' }),
  durationMs: Nullable(Type.Integer()),
  sizeBytes: Nullable(Type.Integer()),
  sha256: Nullable(Type.String()),
  chapters: Type.Array(ChapterSchema),
  cpuMs: Nullable(Type.Integer({ description: 'CPU time FFmpeg used to compose' })),
  error: Nullable(Type.String()),
  queuedAt: Nullable(Type.String({ format: 'date-time' })),
  startedAt: Nullable(Type.String({ format: 'date-time' })),
  finishedAt: Nullable(Type.String({ format: 'date-time' })),
});
const SpanFields = { fromMs: Type.Integer(), toMs: Type.Integer() };
export const Span = Type.Object(SpanFields);
export const ReplaySchema = Type.Object({
  recordingId: Uuid,
  sessionId: Uuid,
  sessionKind: Type.String(),
  startedAt: Type.String({ format: 'date-time' }),
  durationMs: Type.Integer(),
  composite: CompositeSchema,
  participants: Type.Array(Type.Object({ userId: Uuid, name: Type.String(), role: Type.String(), presence: Type.Array(Span) })),
  tracks: Type.Array(Type.Object({ userId: Uuid, source: Type.String(), kind: Type.String(), spans: Type.Array(Span) })),
  gaps: Type.Array(Type.Object({ ...SpanFields, userId: Uuid, source: Type.String(), reason: Type.String() })),
  phases: Type.Array(Type.Object({ ...SpanFields, phase: Type.String() })),
  comments: Type.Array(
    Type.Object({
      id: Uuid,
      parentId: Nullable(Uuid),
      authorName: Type.String(),
      documentName: Type.String(),
      line: Type.Integer(),
      body: Type.String(),
      offsetMs: Type.Integer(),
      resolved: Type.Boolean(),
    }),
  ),
});
export type CompositeJson = Static<typeof CompositeSchema>;
export type ReplayJson = Static<typeof ReplaySchema>;
export const CompositeLinkSchema = Type.Object({ url: Type.String(), expiresAt: Type.String({ format: 'date-time' }) });
export const CompositeLinkParams = Type.Object({ recordingId: Uuid });
/** The signed link's claims (media-link.ts): user, role, expiry, signature. */
export const CompositeLinkQuery = Type.Object({ u: Type.String(), r: Type.String(), e: Type.String(), s: Type.String() });
