/**
 * Watching a recording again: the composing job (BullMQ `recording-composite`,
 * started by `recording.ready`), the composite's status, file and signed link,
 * the replay timeline, and the coordinators' archive of a session's record.
 */
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ROLES, viewerOf } from '../auth/index.ts';
import { SessionIdParams } from '../shared/schemas.ts';
import { notFound } from '../shared/errors.ts';
import { assertCanViewSession, type Session } from '../sessions/index.ts';
import { archiveEntries, zipStream } from './archive.ts';
import { CompositeService } from './composite.ts';
import { MediaLinks } from './media-link.ts';
import { replayOf, type PresenceSource } from './replay.ts';
import { sendRecordingFile } from './send-file.ts';
import { CompositeLinkParams, CompositeLinkQuery, CompositeLinkSchema, CompositeSchema, RecordingParams, ReplaySchema } from './schemas.ts';
import type { Actor, RecordingService } from './service.ts';

/** Composing is background work: below every other job, one at a time per process. */
export const COMPOSITE_JOB_PRIORITY = 100;
const LINK_TTL_SECONDS = 4 * 3600;

export function compositeDeps(app: FastifyInstance): { presence: PresenceSource | undefined; attendance: ((s: Session) => Promise<unknown>) | undefined } {
  // Attendance is a declared dependency of recording (plugin.ts): its typed face, app.attendance, is there.
  const attendance = app.attendance;
  return { presence: async (s) => (await attendance.sessionAttendance(s)).participants, attendance: (s) => attendance.sessionAttendance(s) };
}

export async function setUpComposites(app: FastifyInstance, recordings: RecordingService): Promise<CompositeService> {
  const log = app.log.child({ capability: 'recording', part: 'composite' });
  const queue = app.jobs.define<{ recordingId: string }>(
    'recording-composite',
    async (job) => composites.compose(job.data.recordingId, (fraction) => job.updateProgress(Math.round(fraction * 100))),
    { concurrency: 1 },
  );
  const composites: CompositeService = new CompositeService({
    db: app.db,
    config: app.config.recording,
    clock: app.clock,
    log,
    recordings,
    options: {
      height: app.config.recording.compositeHeight,
      width: Math.round((app.config.recording.compositeHeight * 16) / 9 / 2) * 2,
      fps: app.config.recording.compositeFps,
    },
    enqueue: async (recordingId) => {
      const jobId = `composite-${recordingId}`;
      const existing = await queue.get(jobId);
      // A job that used up its attempts is retried, not added again (BullMQ keeps its id).
      if (existing && (await existing.getState()) === 'failed') return void (await existing.retry('failed'));
      await queue.add({ recordingId }, { jobId, priority: COMPOSITE_JOB_PRIORITY, attempts: 3, backoff: { type: 'exponential', delay: 5000 } });
    },
  });
  const off = app.events.on('recording.ready', async ({ recordingId }) => {
    try {
      await composites.enqueue(recordingId);
    } catch (err) {
      log.error({ err, recordingId }, 'could not queue the composite of a recording');
    }
  });
  app.addHook('onReady', async () => {
    const resumed = await composites.resume();
    if (resumed.length > 0) log.info({ resumed }, 'composites queued again after a restart');
  });
  // Before the job workers close (they wait for running jobs): FFmpeg is stopped, the jobs run again at the next start.
  app.beforeShutdown(async () => {
    off();
    await composites.shutdown();
  });
  return composites;
}

type Routes = FastifyPluginAsyncTypebox<{ recordings: RecordingService; composites: CompositeService }>;

/**
 * The composite, the replay timeline and the archive: one small plugin per
 * resource, registered in this order (the OpenAPI document lists paths in
 * registration order).
 */
export const compositeRoutes: Routes = async (app, { recordings, composites }) => {
  await app.register(compositeFileRoutes, { recordings, composites });
  await app.register(compositeLinkRoutes, { recordings, composites });
  await app.register(replayRoutes, { recordings, composites });
  await app.register(archiveRoutes, { recordings, composites });
};

/** The composite's state and its file. */
const compositeFileRoutes: Routes = async (app, { recordings, composites }) => {
  const base = '/sessions/:sessionId/recordings/:recordingId';

  app.get(
    `${base}/composite`,
    {
      config: { access: ROLES },
      schema: {
        tags: ['recordings'],
        summary: "The composite file's state: queued, running (with progress), ready or failed, and its chapters",
        params: RecordingParams,
        response: { 200: CompositeSchema },
      },
    },
    async (request) => {
      const { sessionId, recordingId } = request.params;
      await recordings.view(sessionId, recordingId, viewerOf(request));
      return composites.view(recordingId);
    },
  );

  app.get(
    `${base}/composite/file`,
    {
      config: { access: ROLES },
      schema: {
        tags: ['recordings'],
        summary: 'Download the composite (MP4, H.264/AAC, chapters), with HTTP Range support for seeking',
        params: RecordingParams,
      },
    },
    async (request, reply) => {
      const { sessionId, recordingId } = request.params;
      await recordings.view(sessionId, recordingId, viewerOf(request));
      const file = await composites.fileOf(sessionId, recordingId);
      return sendRecordingFile(request, reply, { ...file, mimeType: 'video/mp4' });
    },
  );
};

/** A signed link to the composite, for a video element (which sends no bearer header), and the file through it. */
const compositeLinkRoutes: Routes = async (app, { recordings, composites }) => {
  const links = new MediaLinks(app.config.jwtSecret);
  const base = '/sessions/:sessionId/recordings/:recordingId';

  app.post(
    `${base}/composite/link`,
    {
      config: { access: ROLES },
      schema: {
        tags: ['recordings'],
        summary: 'A signed link to the composite for a video element (no bearer header), valid for a few hours',
        params: RecordingParams,
        response: { 200: CompositeLinkSchema },
      },
    },
    async (request) => {
      const { sessionId, recordingId } = request.params;
      const viewer = viewerOf(request);
      await recordings.view(sessionId, recordingId, viewer);
      const expiresAt = Math.floor(app.clock.now().getTime() / 1000) + LINK_TTL_SECONDS;
      const query = links.sign({ recordingId, userId: viewer.userId, role: viewer.role, expiresAt });
      return { url: `/recordings/${recordingId}/composite.mp4?${query}`, expiresAt: new Date(expiresAt * 1000).toISOString() };
    },
  );

  app.get(
    '/recordings/:recordingId/composite.mp4',
    {
      config: { access: 'public' },
      schema: {
        tags: ['recordings'],
        summary: 'The composite through a signed link (from POST …/composite/link), with HTTP Range support',
        params: CompositeLinkParams,
        querystring: CompositeLinkQuery,
      },
    },
    async (request, reply) => {
      const { recordingId } = request.params;
      const claims = links.verify(recordingId, request.query, app.clock.now().getTime());
      if (!claims) throw notFound('recording_link_invalid', 'This link is not valid or has expired');
      const head = await app.db.one<{ sessionId: string }>('SELECT session_id AS "sessionId" FROM recordings WHERE id = $1', [recordingId]);
      if (!head) throw notFound('recording_not_found', 'No such recording');
      // Access is checked again: a link stops working for someone who lost access to the session.
      await assertCanViewSession(app.db, head.sessionId, { userId: claims.userId, role: claims.role });
      const file = await composites.fileOf(head.sessionId, recordingId);
      return sendRecordingFile(request, reply, { ...file, mimeType: 'video/mp4', inline: true });
    },
  );
};

/** The replay timeline of a recording. */
const replayRoutes: Routes = async (app, { recordings, composites }) => {
  const base = '/sessions/:sessionId/recordings/:recordingId';

  app.get(
    `${base}/replay`,
    {
      config: { access: ROLES },
      schema: {
        tags: ['recordings'],
        summary: 'The replay timeline: presence, tracks, gaps, defence phases and review comments as offsets into the recording',
        params: RecordingParams,
        response: { 200: ReplaySchema },
      },
    },
    async (request) => {
      const { sessionId, recordingId } = request.params;
      const recording = await recordings.view(sessionId, recordingId, viewerOf(request));
      return replayOf({ db: app.db, presence: compositeDeps(app).presence }, recording, await composites.view(recordingId));
    },
  );
};

/** A session's record in one ZIP, for coordinators. */
const archiveRoutes: Routes = async (app, { recordings, composites }) => {

  app.get(
    '/sessions/:sessionId/archive.zip',
    {
      config: { access: ['coordinator'], expensive: true },
      schema: {
        tags: ['recordings'],
        summary: "A session's record in one ZIP for an appeal or an audit, with a SHA256SUMS manifest",
        description:
          'Composite and per-track files of every recording, integrity reports, attendance, the code review as Markdown, the verdict or evaluation with the defence phases. Coordinators only.',
        params: SessionIdParams,
      },
    },
    async (request, reply) => {
      const { sessionId } = request.params;
      await assertCanViewSession(app.db, sessionId, viewerOf(request));
      const { fileName, entries } = await archiveEntries({ db: app.db, recordings, composites, attendance: compositeDeps(app).attendance }, sessionId, viewerOf(request));
      reply.type('application/zip').header('content-disposition', `attachment; filename="${fileName}"`);
      return reply.send(zipStream(entries));
    },
  );
};
