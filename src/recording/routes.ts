import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ROLES, viewerOf } from '../auth/index.ts';
import { Uuid } from '../shared/schemas.ts';
import { sendRecordingFile } from './send-file.ts';
import type { RecordingService } from './service.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const SegmentSchema = Type.Object({
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

const RecordingSchema = Type.Object({
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

const ConsentSchema = Type.Object({ sessionId: Uuid, required: Type.Boolean(), granted: Nullable(Type.Boolean()) });
const SessionParams = Type.Object({ sessionId: Uuid });
const RecordingParams = Type.Object({ sessionId: Uuid, recordingId: Uuid });
const CONTROLLERS = ['mentor', 'jury', 'coordinator'] as const;

export const recordingRoutes: FastifyPluginAsyncTypebox<{ service: RecordingService }> = async (app, { service }) => {

  app.post(
    '/sessions/:sessionId/recordings',
    {
      config: { access: CONTROLLERS },
      schema: {
        tags: ['recordings'],
        summary: "Start recording the session's live room",
        description: 'The mentor, a jury member or a coordinator; a mentoring session needs its student\'s consent first. Every participant gets a recordingState event.',
        params: SessionParams,
        response: { 201: RecordingSchema },
      },
    },
    async (request, reply) => reply.code(201).send(await service.start(request.params.sessionId, viewerOf(request))),
  );

  app.post(
    '/sessions/:sessionId/recordings/:recordingId/stop',
    {
      config: { access: CONTROLLERS },
      schema: { tags: ['recordings'], summary: 'Stop a running recording (files are finalised, then processed)', params: RecordingParams, response: { 200: RecordingSchema } },
    },
    async (request) => service.stop(request.params.sessionId, request.params.recordingId, viewerOf(request)),
  );

  app.get(
    '/sessions/:sessionId/recordings',
    {
      config: { access: ROLES },
      schema: { tags: ['recordings'], summary: "A session's recordings (participants and coordinators)", params: SessionParams, response: { 200: Type.Array(RecordingSchema) } },
    },
    async (request) => service.list(request.params.sessionId, viewerOf(request)),
  );

  app.get(
    '/sessions/:sessionId/recordings/:recordingId',
    {
      config: { access: ROLES },
      schema: { tags: ['recordings'], summary: 'One recording with its segments and integrity report', params: RecordingParams, response: { 200: RecordingSchema } },
    },
    async (request) => service.view(request.params.sessionId, request.params.recordingId, viewerOf(request)),
  );

  app.get(
    '/sessions/:sessionId/recordings/:recordingId/segments/:segmentId/file',
    {
      config: { access: ROLES },
      schema: {
        tags: ['recordings'],
        summary: 'Download one segment file (WebM/Matroska), with HTTP Range support for seeking',
        params: Type.Object({ sessionId: Uuid, recordingId: Uuid, segmentId: Uuid }),
      },
    },
    async (request, reply) => {
      const { sessionId, recordingId, segmentId } = request.params;
      const file = await service.fileOf(sessionId, recordingId, segmentId, viewerOf(request));
      return sendRecordingFile(request, reply, file);
    },
  );

  app.get(
    '/sessions/:sessionId/recording-consent',
    {
      config: { access: ROLES },
      schema: { tags: ['recordings'], summary: 'Whether the student agreed to recording (mentoring sessions)', params: SessionParams, response: { 200: ConsentSchema } },
    },
    async (request) => service.consent(request.params.sessionId, viewerOf(request)),
  );

  app.put(
    '/sessions/:sessionId/recording-consent',
    {
      config: { access: ['student'] },
      schema: {
        tags: ['recordings'],
        summary: 'The student agrees, or no longer agrees, to this mentoring session being recorded',
        description: 'Withdrawing consent stops a running recording.',
        params: SessionParams,
        body: Type.Object({ granted: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: ConsentSchema },
      },
    },
    async (request) => service.setConsent(request.params.sessionId, viewerOf(request), request.body.granted),
  );
};
