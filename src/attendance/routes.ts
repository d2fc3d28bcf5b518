import { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ROLES, viewerOf } from '../auth/index.ts';
import { getPath } from '../school/index.ts';
import { assertCanViewSession } from '../sessions/index.ts';
import { invalid } from '../shared/errors.ts';
import { IsoDateTime, Uuid } from '../shared/schemas.ts';
import { exportAttendanceCsv } from './csv.ts';
import type { AttendanceService } from './service.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const StatusSchema = Type.Union([
  Type.Literal('present'),
  Type.Literal('late'),
  Type.Literal('left_early'),
  Type.Literal('no_show'),
  Type.Literal('pending'),
]);
const FinalStatusSchema = Type.Union([Type.Literal('present'), Type.Literal('late'), Type.Literal('left_early'), Type.Literal('no_show')]);
const QualityLevelSchema = Type.Union([Type.Literal('excellent'), Type.Literal('good'), Type.Literal('poor'), Type.Literal('lost')]);
const CorrectableSchema = Type.Object({ status: StatusSchema, attendedSeconds: Type.Integer() });
const ParticipantAttendanceSchema = Type.Object({
  userId: Uuid,
  name: Type.String(),
  email: Type.String(),
  role: Type.Union([Type.Literal('student'), Type.Literal('mentor'), Type.Literal('jury'), Type.Literal('observer')]),
  status: StatusSchema,
  late: Type.Boolean(),
  leftEarly: Type.Boolean(),
  presentNow: Type.Boolean(),
  firstJoinAt: Nullable(IsoDateTime),
  lastLeaveAt: Nullable(IsoDateTime),
  latenessSeconds: Nullable(Type.Integer()),
  attendedSeconds: Type.Integer(),
  networkGaps: Type.Integer(),
  networkGapSeconds: Type.Integer(),
  micSeconds: Type.Integer(),
  cameraSeconds: Type.Integer(),
  screenSeconds: Type.Integer(),
  transportFailures: Type.Integer(),
  intervals: Type.Array(Type.Object({ from: IsoDateTime, to: Nullable(IsoDateTime), networkGaps: Type.Integer(), networkGapSeconds: Type.Integer() })),
  quality: Type.Object(
    {
      seconds: Type.Object({ excellent: Type.Integer(), good: Type.Integer(), poor: Type.Integer(), lost: Type.Integer() }),
      periods: Type.Array(Type.Object({ level: QualityLevelSchema, from: IsoDateTime, to: IsoDateTime })),
    },
    { description: 'Connection quality while present: seconds per level, and the periods below excellent' },
  ),
  noShowMarkedAt: Nullable(IsoDateTime),
  presenceEvents: Type.Integer(),
  corrected: Type.Boolean(),
  corrections: Type.Array(Type.Object({ at: IsoDateTime, by: Uuid, reason: Type.String(), before: CorrectableSchema, after: CorrectableSchema })),
});
const SessionAttendanceSchema = Type.Object({
  sessionId: Uuid,
  kind: Type.Union([Type.Literal('mentoring'), Type.Literal('defence')]),
  sessionStatus: Type.Union([Type.Literal('scheduled'), Type.Literal('cancelled'), Type.Literal('completed')]),
  startsAt: IsoDateTime,
  endsAt: IsoDateTime,
  state: Type.Union([Type.Literal('live'), Type.Literal('finalized')]),
  finalizedAt: Nullable(IsoDateTime),
  noShowCheckedAt: Nullable(IsoDateTime),
  participants: Type.Array(ParticipantAttendanceSchema),
});
const SessionParams = Type.Object({ sessionId: Uuid });

/** Reports and corrections; the service is given by the plugin. */
export const attendanceRoutes: FastifyPluginAsyncTypebox<{ service: AttendanceService }> = async (app, { service }) => {
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
        params: SessionParams,
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
        params: SessionParams,
        response: {
          200: Type.Array(
            Type.Object({
              userId: Uuid,
              name: Type.String(),
              role: Type.Union([Type.Literal('student'), Type.Literal('mentor'), Type.Literal('jury'), Type.Literal('observer')]),
              since: IsoDateTime,
              connected: Type.Boolean(),
            }),
          ),
        },
      },
    },
    async (request) => {
      const session = await assertCanViewSession(db, request.params.sessionId, viewerOf(request));
      return service.presentNow(session.id);
    },
  );

  app.post(
    '/sessions/:sessionId/attendance/corrections',
    {
      config: { access: ['coordinator'] },
      schema: {
        tags: ['attendance'],
        summary: "Correct a participant's finalized attendance (kept in history with its reason)",
        params: SessionParams,
        body: Type.Object(
          {
            userId: Uuid,
            status: Type.Optional(FinalStatusSchema),
            attendedSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
            reason: Type.String({ minLength: 3, maxLength: 2000 }),
          },
          { additionalProperties: false },
        ),
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

  app.get(
    '/users/:userId/attendance-record',
    {
      config: { access: ROLES },
      schema: {
        tags: ['attendance'],
        summary: "A person's no-shows and late cancellations (the booking policy's counts)",
        description: 'Coordinators, the person, and for a student their mentor or a jury member of their defence.',
        params: Type.Object({ userId: Uuid }),
        response: {
          200: Type.Object({
            userId: Uuid,
            noShows: Type.Integer(),
            lateCancellations: Type.Integer(),
            sessions: Type.Array(
              Type.Object({
                sessionId: Uuid,
                startsAt: IsoDateTime,
                kind: Type.Union([Type.Literal('mentoring'), Type.Literal('defence')]),
                status: Type.Union([StatusSchema, Type.Literal('cancelled')]),
              }),
            ),
          }),
        },
      },
    },
    async (request) => service.recordOf(request.params.userId, viewerOf(request)),
  );

  app.get(
    '/attendance/export.csv',
    {
      config: { access: ['coordinator'], expensive: true },
      schema: {
        tags: ['attendance'],
        summary: "CSV of a path's (or one cohort's) attendance over a date range, for auditors (streamed)",
        description:
          'One row per session and participant, sessions starting in [from, to), cancelled sessions left out. `cohort=YYYY-MM` keeps the students whose enrollment started that month (UTC), the intake they belong to. Times UTC, durations in seconds.',
        querystring: Type.Object({ pathId: Uuid, from: IsoDateTime, to: IsoDateTime, cohort: Type.Optional(Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$' })) }),
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
