import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ROLES, viewerOf } from '../auth/index.ts';
import { getPath } from '../school/index.ts';
import { assertCanViewSession } from '../sessions/index.ts';
import { invalid } from '../shared/errors.ts';
import { SessionIdParams, UserIdParams } from '../shared/schemas.ts';
import { exportAttendanceCsv } from './csv.ts';
import { AttendanceRecordSchema, CorrectionBodySchema, ExportQuery, PresenceSchema, SessionAttendanceSchema } from './schemas.ts';
import type { AttendanceService } from './service.ts';

type Routes = FastifyPluginAsyncTypebox<{ service: AttendanceService }>;

/**
 * Reports and corrections, one small plugin per resource, registered in this
 * order (the OpenAPI document lists paths in registration order); the service is
 * given by the plugin.
 */
export const attendanceRoutes: Routes = async (app, { service }) => {
  await app.register(sessionAttendanceRoutes, { service });
  await app.register(correctionRoutes, { service });
  await app.register(recordRoutes, { service });
  await app.register(exportRoutes, { service });
};

/** A session's attendance report and who is in its room now. */
const sessionAttendanceRoutes: Routes = async (app, { service }) => {
  const { db } = app;

  app.get(
    '/sessions/:sessionId/attendance',
    {
      config: { access: ROLES },
      schema: {
        tags: ['attendance'],
        summary: "A session's attendance: intervals, totals and status per participant",
        description:
          'For the session\'s participants and coordinators. Live (derived from the presence log now) until the record is finalized, frozen afterwards. Times are UTC; durations in whole seconds.',
        params: SessionIdParams,
        response: { 200: SessionAttendanceSchema },
      },
    },
    async (request) => {
      const session = await assertCanViewSession(db, request.params.sessionId, viewerOf(request));
      return service.sessionAttendance(session);
    },
  );

  app.get(
    '/sessions/:sessionId/presence',
    {
      config: { access: ROLES },
      schema: {
        tags: ['attendance'],
        summary: 'Who is in the live room now (the same list the `presence` socket event carries)',
        description: 'connected is false while someone is within the reconnect grace after a drop.',
        params: SessionIdParams,
        response: { 200: PresenceSchema },
      },
    },
    async (request) => {
      const session = await assertCanViewSession(db, request.params.sessionId, viewerOf(request));
      return service.presentNow(session.id);
    },
  );
};

/** A coordinator's corrections of a finalized record. */
const correctionRoutes: Routes = async (app, { service }) => {
  const { db } = app;

  app.post(
    '/sessions/:sessionId/attendance/corrections',
    {
      config: { access: ['coordinator'] },
      schema: {
        tags: ['attendance'],
        summary: "Correct a participant's finalized attendance (kept in history with its reason)",
        params: SessionIdParams,
        body: CorrectionBodySchema,
        response: { 200: SessionAttendanceSchema },
      },
    },
    async (request) => {
      const session = await assertCanViewSession(db, request.params.sessionId, viewerOf(request));
      const { userId, status, attendedSeconds, reason } = request.body;
      if (status === undefined && attendedSeconds === undefined) throw invalid('nothing_to_correct', 'Give a status or attendedSeconds to correct');
      await service.correct(session.id, request.user.sub, { userId, status, attendedSeconds, reason: reason.trim() });
      return service.sessionAttendance(session);
    },
  );
};

/** A person's no-shows and late cancellations. */
const recordRoutes: Routes = async (app, { service }) => {
  app.get(
    '/users/:userId/attendance-record',
    {
      config: { access: ROLES },
      schema: {
        tags: ['attendance'],
        summary: "A person's no-shows and late cancellations (the booking policy's counts)",
        description: 'Coordinators, the person, and for a student their mentor or a jury member of their defence.',
        params: UserIdParams,
        response: { 200: AttendanceRecordSchema },
      },
    },
    async (request) => service.recordOf(request.params.userId, viewerOf(request)),
  );
};

/** The CSV export for auditors, streamed. */
const exportRoutes: Routes = async (app, { service }) => {
  const { db } = app;

  app.get(
    '/attendance/export.csv',
    {
      config: { access: ['coordinator'], expensive: true },
      schema: {
        tags: ['attendance'],
        summary: "CSV of a path's (or one cohort's) attendance over a date range, for auditors (streamed)",
        description:
          'One row per session and participant, sessions starting in [from, to), cancelled sessions left out. `cohort=YYYY-MM` keeps the students whose enrollment started that month (UTC), the intake they belong to. Times UTC, durations in seconds.',
        querystring: ExportQuery,
        produces: ['text/csv'],
      },
    },
    async (request, reply) => {
      const from = new Date(request.query.from);
      const to = new Date(request.query.to);
      if (!(from < to)) throw invalid('end_before_start', '`from` must be before `to`');
      const path = await getPath(db, request.query.pathId);
      const cohort = request.query.cohort;
      const cohortStart = cohort ? new Date(`${cohort}-01T00:00:00Z`) : undefined;
      const stream = Readable.from(
        exportAttendanceCsv(db, service, {
          pathId: path.id,
          from,
          to,
          ...(cohortStart ? { cohort: { start: cohortStart, end: new Date(Date.UTC(cohortStart.getUTCFullYear(), cohortStart.getUTCMonth() + 1, 1)) } } : {}),
        }),
      );
      stream.on('error', (err) => request.log.error({ err }, 'attendance export failed mid-stream'));
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="attendance-${path.slug}${cohort ? `-cohort-${cohort}` : ''}-${request.query.from.slice(0, 10)}-${request.query.to.slice(0, 10)}.csv"`)
        .header('cache-control', 'no-store')
        .send(stream);
    },
  );
};
