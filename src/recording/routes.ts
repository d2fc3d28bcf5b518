import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ROLES, viewerOf } from '../auth/index.ts';
import { SessionIdParams } from '../shared/schemas.ts';
import { ConsentBodySchema, ConsentSchema, RecordingListSchema, RecordingParams, RecordingSchema, SegmentFileParams } from './schemas.ts';
import { sendRecordingFile } from './send-file.ts';
import type { RecordingService } from './service.ts';

const CONTROLLERS = ['mentor', 'jury', 'coordinator'] as const;

type Routes = FastifyPluginAsyncTypebox<{ service: RecordingService }>;

/**
 * Recording control, reads and consent: one small plugin per resource,
 * registered in this order (the OpenAPI document lists paths in registration
 * order).
 */
export const recordingRoutes: Routes = async (app, { service }) => {
  await app.register(recordingControlRoutes, { service });
  await app.register(recordingReadRoutes, { service });
  await app.register(consentRoutes, { service });
};

/** Starting and stopping a recording (mentor, jury member or coordinator). */
const recordingControlRoutes: Routes = async (app, { service }) => {
  app.post(
    '/sessions/:sessionId/recordings',
    {
      config: { access: CONTROLLERS },
      schema: {
        tags: ['recordings'],
        summary: "Start recording the session's live room",
        description: 'The mentor, a jury member or a coordinator; a mentoring session needs its student\'s consent first. Every participant gets a recordingState event.',
        params: SessionIdParams,
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
};

/** A session's recordings, one recording, one segment's file. */
const recordingReadRoutes: Routes = async (app, { service }) => {

  app.get(
    '/sessions/:sessionId/recordings',
    {
      config: { access: ROLES },
      schema: { tags: ['recordings'], summary: "A session's recordings (participants and coordinators)", params: SessionIdParams, response: { 200: RecordingListSchema } },
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
        params: SegmentFileParams,
      },
    },
    async (request, reply) => {
      const { sessionId, recordingId, segmentId } = request.params;
      const file = await service.fileOf(sessionId, recordingId, segmentId, viewerOf(request));
      return sendRecordingFile(request, reply, file);
    },
  );
};

/** The student's consent to recording a mentoring session. */
const consentRoutes: Routes = async (app, { service }) => {

  app.get(
    '/sessions/:sessionId/recording-consent',
    {
      config: { access: ROLES },
      schema: { tags: ['recordings'], summary: 'Whether the student agreed to recording (mentoring sessions)', params: SessionIdParams, response: { 200: ConsentSchema } },
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
        params: SessionIdParams,
        body: ConsentBodySchema,
        response: { 200: ConsentSchema },
      },
    },
    async (request) => service.setConsent(request.params.sessionId, viewerOf(request), request.body.granted),
  );
};
