import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ROLES } from '../auth/index.ts';
import { notFound } from '../shared/errors.ts';
import { Uuid } from '../shared/schemas.ts';
import { parseRange } from './range.ts';
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
  stopReason: Nullable(Type.String({ description: 'stopped | room_closed | server_shutdown | interrupted | consent_withdrawn | recorder_failed' })),
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
  const actor = (request: { user: { sub: string; role: (typeof ROLES)[number] } }) => ({ userId: request.user.sub, role: request.user.role });

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
    async (request, reply) => reply.code(201).send(await service.start(request.params.sessionId, actor(request))),
  );

  app.post(
    '/sessions/:sessionId/recordings/:recordingId/stop',
    {
      config: { access: CONTROLLERS },
      schema: { tags: ['recordings'], summary: 'Stop a running recording (files are finalised, then processed)', params: RecordingParams, response: { 200: RecordingSchema } },
    },
    async (request) => service.stop(request.params.sessionId, request.params.recordingId, actor(request)),
  );

  app.get(
    '/sessions/:sessionId/recordings',
    {
      config: { access: ROLES },
      schema: { tags: ['recordings'], summary: "A session's recordings (participants and coordinators)", params: SessionParams, response: { 200: Type.Array(RecordingSchema) } },
    },
    async (request) => service.list(request.params.sessionId, actor(request)),
  );

  app.get(
    '/sessions/:sessionId/recordings/:recordingId',
    {
      config: { access: ROLES },
      schema: { tags: ['recordings'], summary: 'One recording with its segments and integrity report', params: RecordingParams, response: { 200: RecordingSchema } },
    },
    async (request) => service.view(request.params.sessionId, request.params.recordingId, actor(request)),
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
      const file = await service.fileOf(sessionId, recordingId, segmentId, actor(request));
      const info = await stat(file.path).catch(() => undefined);
      if (!info) throw notFound('recording_file_missing', 'The file of this segment is missing');
      const size = info.size;
      reply.header('accept-ranges', 'bytes');
      reply.header('content-disposition', `attachment; filename="${file.fileName}"`);
      if (file.sha256) reply.header('etag', `"${file.sha256}"`);
      reply.type(file.mimeType);
      // If-Range with a different validator: the whole file.
      const ifRange = request.headers['if-range'];
      const range = ifRange && file.sha256 && ifRange !== `"${file.sha256}"` ? { kind: 'full' as const } : parseRange(request.headers.range, size);
      if (range.kind === 'unsatisfiable') {
        return reply
          .code(416)
          .header('content-range', `bytes */${size}`)
          .type('application/problem+json')
          .send({ type: 'about:blank', title: 'Range Not Satisfiable', status: 416, code: 'range_not_satisfiable', detail: `The file has ${size} bytes` });
      }
      if (range.kind === 'partial') {
        reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', range.end - range.start + 1);
        return reply.send(createReadStream(file.path, { start: range.start, end: range.end }));
      }
      reply.header('content-length', size);
      return reply.send(createReadStream(file.path));
    },
  );

  app.get(
    '/sessions/:sessionId/recording-consent',
    {
      config: { access: ROLES },
      schema: { tags: ['recordings'], summary: 'Whether the student agreed to recording (mentoring sessions)', params: SessionParams, response: { 200: ConsentSchema } },
    },
    async (request) => service.consent(request.params.sessionId, actor(request)),
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
    async (request) => service.setConsent(request.params.sessionId, actor(request), request.body.granted),
  );
};
