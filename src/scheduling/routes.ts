import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ROLES, viewerOf } from '../auth/index.ts';
import { notFound } from '../shared/errors.ts';
import { IsoDateTime, Uuid } from '../shared/schemas.ts';
import { etagOf, feedEtag, feedState, feedToken, feedWindow, matchesEtag, renderCalendar, rotateFeedToken } from './calendar.ts';
import { listNotifications, markRead } from './notifications.ts';
import type { SchedulingService } from './service.ts';
import { sessionDetail, sessionsForUser, type SessionChange } from './sessions.ts';

const HM = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$', description: 'HH:mm wall-clock time; 24:00 ends at midnight' });
const WindowSchema = Type.Object({ start: HM, end: HM }, { additionalProperties: false });
const WeeklyRuleSchema = Type.Object({ weekday: Type.Integer({ minimum: 1, maximum: 7, description: 'ISO weekday, 1 = Monday' }), start: HM, end: HM }, { additionalProperties: false });
const OverrideSchema = Type.Object(
  { date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), intervals: Type.Array(WindowSchema, { maxItems: 12, description: 'Empty: unavailable that day' }) },
  { additionalProperties: false },
);
const AvailabilitySchema = Type.Object({
  hostId: Uuid,
  timeZone: Type.String(),
  bufferMinutes: Type.Integer(),
  minimumNoticeMinutes: Type.Integer(),
  horizonDays: Type.Integer(),
  weekly: Type.Array(WeeklyRuleSchema),
  overrides: Type.Array(OverrideSchema),
});
const LocalSchema = Type.Object({ timeZone: Type.String(), startsAt: Type.String(), endsAt: Type.String(), label: Type.String() });
const SlotsSchema = Type.Object({
  hostIds: Type.Array(Uuid),
  durationMinutes: Type.Integer(),
  viewerTimeZone: Type.String(),
  slots: Type.Array(
    Type.Object({
      startsAt: IsoDateTime,
      endsAt: IsoDateTime,
      local: LocalSchema,
      hosts: Type.Array(Type.Object({ userId: Uuid, timeZone: Type.String(), startsAt: Type.String(), endsAt: Type.String() })),
    }),
  ),
  next: Type.Union([IsoDateTime, Type.Null()], { description: 'More slots follow: ask again with `after` set to this' }),
});
const After = Type.Optional(Type.String({ maxLength: 40, description: 'Cursor: only slots starting after this instant (the `next` of the previous answer)' }));
const ParticipantSchema = Type.Object({ userId: Uuid, name: Type.String(), role: Type.String(), timeZone: Type.String() });
const SessionSchema = Type.Object({
  id: Uuid,
  kind: Type.String(),
  status: Type.String(),
  startsAt: IsoDateTime,
  endsAt: IsoDateTime,
  durationMinutes: Type.Integer(),
  sequence: Type.Integer(),
  updatedAt: IsoDateTime,
  projectId: Type.Union([Uuid, Type.Null()]),
  projectTitle: Type.Union([Type.String(), Type.Null()]),
  pathTitle: Type.String(),
  hostId: Uuid,
  enrollmentId: Uuid,
  studentId: Uuid,
  createdBy: Type.Union([Uuid, Type.Null()]),
  joinUrl: Type.String(),
  icsUrl: Type.String(),
  local: LocalSchema,
  participants: Type.Array(ParticipantSchema),
  cancellation: Type.Union([Type.Object({ at: IsoDateTime, by: Type.Union([Uuid, Type.Null()]), late: Type.Boolean(), reason: Type.String() }), Type.Null()]),
  late: Type.Optional(Type.Boolean()),
});
const PersonSchema = Type.Object({ userId: Uuid, name: Type.String(), timeZone: Type.String() });
const DefenceItemSchema = Type.Object({
  id: Uuid,
  startsAt: IsoDateTime,
  endsAt: IsoDateTime,
  durationMinutes: Type.Integer(),
  local: LocalSchema,
  pathTitle: Type.String(),
  candidate: PersonSchema,
  jury: Type.Array(PersonSchema),
  roomOpensAt: IsoDateTime,
  roomClosesAt: IsoDateTime,
  roomOpen: Type.Boolean({ description: 'The room takes participants now' }),
  joinUrl: Type.String(),
});
const ChangeSchema = Type.Object({
  id: Type.Integer(),
  change: Type.String(),
  changedBy: Type.Union([Uuid, Type.Null()]),
  changedByRole: Type.Union([Type.String(), Type.Null()]),
  oldStartsAt: Type.Union([IsoDateTime, Type.Null()]),
  oldEndsAt: Type.Union([IsoDateTime, Type.Null()]),
  newStartsAt: Type.Union([IsoDateTime, Type.Null()]),
  newEndsAt: Type.Union([IsoDateTime, Type.Null()]),
  late: Type.Boolean(),
  reason: Type.String(),
  sequence: Type.Integer(),
  at: IsoDateTime,
});
const TimeOffSchema = Type.Object({ id: Uuid, startsAt: IsoDateTime, endsAt: IsoDateTime, reason: Type.String() });
const HostParams = Type.Object({ hostId: Uuid });
const SessionParams = Type.Object({ sessionId: Type.String({ maxLength: 64 }) });
const TimeZoneQuery = Type.Optional(Type.String({ maxLength: 64, description: "Viewer's IANA zone for the local rendering (default: the caller's)" }));
const HOSTS = ['mentor', 'jury', 'coordinator'] as const;


const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);
const changeJson = (c: SessionChange) => ({
  ...c,
  oldStartsAt: isoOrNull(c.oldStartsAt),
  oldEndsAt: isoOrNull(c.oldEndsAt),
  newStartsAt: isoOrNull(c.newStartsAt),
  newEndsAt: isoOrNull(c.newEndsAt),
  at: c.at.toISOString(),
});

export const schedulingRoutes: FastifyPluginAsyncTypebox<{ service: SchedulingService }> = async (app, { service }) => {
  const { db } = app;

  // ------------------------------------------------------------ availability
  app.get(
    '/hosts/:hostId/availability',
    { config: { access: ROLES }, schema: { tags: ['scheduling'], summary: "A mentor's or jury member's weekly rules and overrides", params: HostParams, response: { 200: AvailabilitySchema } } },
    async (request) => service.getAvailability(viewerOf(request), request.params.hostId),
  );

  app.put(
    '/hosts/:hostId/availability',
    {
      config: { access: HOSTS },
      schema: {
        tags: ['scheduling'],
        summary: 'Replace weekly rules, overrides, buffer, notice and horizon',
        description: 'Rules are wall-clock times in `timeZone` (IANA). See docs/scheduling.md for the DST policy.',
        params: HostParams,
        body: Type.Object(
          {
            timeZone: Type.String({ maxLength: 64 }),
            bufferMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 240 })),
            minimumNoticeMinutes: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 20160 }), Type.Null()])),
            horizonDays: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 366 }), Type.Null()])),
            weekly: Type.Array(WeeklyRuleSchema, { maxItems: 100 }),
            overrides: Type.Optional(Type.Array(OverrideSchema, { maxItems: 400 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: AvailabilitySchema },
      },
    },
    async (request) => service.putAvailability(viewerOf(request), request.params.hostId, request.body),
  );

  app.post(
    '/hosts/:hostId/availability/preview',
    {
      config: { access: HOSTS, expensive: true },
      schema: {
        tags: ['scheduling'],
        summary: 'The slots an availability would produce over the next days, without saving it',
        description:
          "The same body as PUT /hosts/:hostId/availability (plus `after`, the cursor of a long answer): the draft's rules, overrides, buffer, notice and horizon with the host's time off and sessions as they are. Times in the draft's zone unless `timeZone`.",
        params: HostParams,
        querystring: Type.Object({ days: Type.Optional(Type.Integer({ minimum: 1, maximum: 62, description: 'How many days from now (default 14; at most SLOT_SEARCH_MAX_DAYS)' })), timeZone: TimeZoneQuery }),
        body: Type.Object(
          {
            timeZone: Type.String({ maxLength: 64 }),
            bufferMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 240 })),
            minimumNoticeMinutes: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 20160 }), Type.Null()])),
            horizonDays: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 366 }), Type.Null()])),
            weekly: Type.Array(WeeklyRuleSchema, { maxItems: 100 }),
            overrides: Type.Optional(Type.Array(OverrideSchema, { maxItems: 400 })),
            after: After,
          },
          { additionalProperties: false },
        ),
        response: { 200: SlotsSchema },
      },
    },
    async (request) => service.previewAvailability(viewerOf(request), request.params.hostId, request.body, request.query),
  );

  app.get(
    '/hosts/:hostId/time-off',
    { config: { access: HOSTS }, schema: { tags: ['scheduling'], summary: 'Upcoming time off of a host', params: HostParams, response: { 200: Type.Array(TimeOffSchema) } } },
    async (request) => service.listTimeOff(viewerOf(request), request.params.hostId),
  );

  app.post(
    '/hosts/:hostId/time-off',
    {
      config: { access: HOSTS },
      schema: {
        tags: ['scheduling'],
        summary: 'Add time off (absolute UTC instants)',
        params: HostParams,
        body: Type.Object({ startsAt: Type.String(), endsAt: Type.String(), reason: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
        response: { 201: TimeOffSchema },
      },
    },
    async (request, reply) => reply.code(201).send(await service.addTimeOff(viewerOf(request), request.params.hostId, request.body)),
  );

  app.delete(
    '/hosts/:hostId/time-off/:id',
    { config: { access: HOSTS }, schema: { tags: ['scheduling'], summary: 'Remove time off', params: Type.Object({ hostId: Uuid, id: Uuid }) } },
    async (request, reply) => {
      await service.deleteTimeOff(viewerOf(request), request.params.hostId, request.params.id);
      return reply.code(204).send();
    },
  );

  // The booking policy, so a screen can say what a cancellation will count as before it applies.
  app.get(
    '/scheduling/policy',
    {
      config: { access: ROLES },
      schema: {
        tags: ['scheduling'],
        summary: 'The booking policy: session length and the notice under which a cancellation or move counts as late',
        response: { 200: Type.Object({ mentoringMinutes: Type.Integer(), lateCancelNoticeHours: Type.Integer(), defenceDefaultMinutes: Type.Integer() }) },
      },
    },
    async () => ({
      mentoringMinutes: app.config.scheduling.mentoringMinutes,
      lateCancelNoticeHours: app.config.scheduling.lateCancelNoticeHours,
      defenceDefaultMinutes: app.config.scheduling.defenceDefaultMinutes,
    }),
  );

  // ------------------------------------------------------------ slots
  app.get(
    '/hosts/:hostId/slots',
    {
      config: { access: ['student', 'mentor', 'coordinator'], expensive: true },
      schema: {
        tags: ['scheduling'],
        summary: 'Free mentoring slots of a mentor in [from, to)',
        description: "Times in UTC plus the viewer's local rendering. A student sees only their own mentor (premium_plus).",
        params: HostParams,
        querystring: Type.Object({ from: Type.String(), to: Type.String(), after: After, timeZone: TimeZoneQuery }),
        response: { 200: SlotsSchema },
      },
    },
    async (request) => service.mentoringSlots(viewerOf(request), request.params.hostId, request.query),
  );

  app.get(
    '/defences/slots',
    {
      config: { access: ['coordinator'], expensive: true },
      schema: {
        tags: ['scheduling'],
        summary: 'Slots where every jury member and the candidate are free',
        querystring: Type.Object({
          studentId: Uuid,
          juryIds: Type.Array(Uuid, { minItems: 2, maxItems: 3 }),
          from: Type.String(),
          to: Type.String(),
          after: After,
          durationMinutes: Type.Optional(Type.Integer()),
          timeZone: TimeZoneQuery,
        }),
        response: { 200: SlotsSchema },
      },
    },
    async (request) => service.defenceSlots(viewerOf(request), request.query),
  );

  // ------------------------------------------------------------ bookings
  app.post(
    '/sessions',
    {
      config: { access: ['student'] },
      schema: {
        tags: ['sessions'],
        summary: 'Book a mentoring session with one’s mentor (premium_plus)',
        body: Type.Object({ startsAt: Type.String(), projectId: Uuid }, { additionalProperties: false }),
        response: { 201: SessionSchema },
      },
    },
    async (request, reply) => reply.code(201).send(await service.bookMentoring(viewerOf(request), request.body)),
  );

  app.post(
    '/defences',
    {
      config: { access: ['coordinator'] },
      schema: {
        tags: ['sessions'],
        summary: 'Schedule a diploma defence (all projects validated, 2–3 jury members)',
        body: Type.Object(
          { studentId: Uuid, juryIds: Type.Array(Uuid, { minItems: 2, maxItems: 3 }), startsAt: Type.String(), durationMinutes: Type.Optional(Type.Integer()) },
          { additionalProperties: false },
        ),
        response: { 201: SessionSchema },
      },
    },
    async (request, reply) => reply.code(201).send(await service.scheduleDefence(viewerOf(request), request.body)),
  );

  app.get(
    '/sessions',
    {
      config: { access: ROLES },
      schema: {
        tags: ['sessions'],
        summary: "The caller's upcoming sessions",
        querystring: Type.Object({ includeCancelled: Type.Optional(Type.Boolean()), timeZone: TimeZoneQuery }),
        response: { 200: Type.Object({ timeZone: Type.String(), sessions: Type.Array(SessionSchema) }) },
      },
    },
    async (request) => service.upcoming(viewerOf(request), request.query),
  );

  app.get(
    '/defences',
    {
      config: { access: ['jury', 'coordinator'] },
      schema: {
        tags: ['sessions'],
        summary: "Upcoming defences: a jury member's own panels (a coordinator: all), with the candidate, the path, the panel and when the room opens",
        querystring: Type.Object({ timeZone: TimeZoneQuery }),
        response: { 200: Type.Object({ timeZone: Type.String(), defences: Type.Array(DefenceItemSchema) }) },
      },
    },
    async (request) => service.upcomingDefences(viewerOf(request), request.query, app.config.rooms),
  );

  app.get(
    '/sessions/:sessionId',
    {
      config: { access: ROLES },
      schema: { tags: ['sessions'], summary: 'A session with its participants (participants and coordinators)', params: SessionParams, querystring: Type.Object({ timeZone: TimeZoneQuery }), response: { 200: SessionSchema } },
    },
    async (request) => service.view(viewerOf(request), request.params.sessionId, request.query.timeZone),
  );

  app.get(
    '/sessions/:sessionId/history',
    { config: { access: ROLES }, schema: { tags: ['sessions'], summary: 'Every change of a session', params: SessionParams, response: { 200: Type.Array(ChangeSchema) } } },
    async (request) => (await service.history(viewerOf(request), request.params.sessionId)).map(changeJson),
  );

  app.post(
    '/sessions/:sessionId/reschedule',
    {
      config: { access: ROLES },
      schema: {
        tags: ['sessions'],
        summary: 'Move a session to another offered slot (either side)',
        params: SessionParams,
        body: Type.Object({ startsAt: Type.String(), durationMinutes: Type.Optional(Type.Integer()), reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
        response: { 200: SessionSchema },
      },
    },
    async (request) => service.reschedule(viewerOf(request), request.params.sessionId, request.body),
  );

  app.post(
    '/sessions/:sessionId/cancel',
    {
      config: { access: ROLES },
      schema: {
        tags: ['sessions'],
        summary: 'Cancel a session (either side); late when within LATE_CANCEL_NOTICE_HOURS',
        params: SessionParams,
        body: Type.Optional(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false })),
        response: { 200: SessionSchema },
      },
    },
    async (request) => service.cancel(viewerOf(request), request.params.sessionId, request.body ?? {}),
  );

  app.get(
    '/sessions/:sessionId/calendar.ics',
    {
      config: { access: ROLES },
      schema: { tags: ['calendar'], summary: 'One session as an iCalendar file', description: 'Supports ETag / If-None-Match (304).', params: SessionParams },
    },
    async (request, reply) => {
      const view = await service.view(viewerOf(request), request.params.sessionId);
      const detail = (await sessionDetail(db, view.id))!;
      const body = renderCalendar('Mentor Live session', [detail], (id) => service.joinUrl(id));
      const etag = etagOf(body);
      reply.header('etag', etag).header('cache-control', 'private, no-cache');
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.header('content-type', 'text/calendar; charset=utf-8').header('content-disposition', `attachment; filename="session-${view.id}.ics"`).send(body);
    },
  );

  // ------------------------------------------------------------ calendar feed
  const feedUrl = (token: string) => `${app.config.publicUrl}/calendar/${token}.ics`;
  app.get(
    '/calendar/feed',
    { config: { access: ROLES }, schema: { tags: ['calendar'], summary: "The caller's secret feed URL", response: { 200: Type.Object({ url: Type.String() }) } } },
    async (request) => ({ url: feedUrl(await feedToken(db, app.config.jwtSecret, request.user.sub)) }),
  );

  app.post(
    '/calendar/feed/rotate',
    { config: { access: ROLES }, schema: { tags: ['calendar'], summary: 'A new secret feed URL; the old one stops working', response: { 200: Type.Object({ url: Type.String() }) } } },
    async (request) => ({ url: feedUrl(await rotateFeedToken(db, app.config.jwtSecret, request.user.sub)) }),
  );

  app.get(
    '/calendar/:file',
    {
      config: { access: 'public' },
      schema: {
        tags: ['calendar'],
        summary: 'iCalendar feed (secret URL): every session from 30 days back on, however far ahead',
        description: 'Supports ETag / If-None-Match (304).',
        params: Type.Object({ file: Type.String({ maxLength: 80 }) }),
      },
    },
    async (request, reply) => {
      const m = /^(.+)\.ics$/.exec(request.params.file);
      const now = app.clock.now();
      const window = feedWindow(now);
      // The ETag comes from the data (one query), so a 304 renders nothing. It is read
      // BEFORE the rows: a change in between yields a newer body under an older ETag
      // (the next request gets a 200 again), never an older body under a newer ETag.
      const state = m ? await feedState(db, m[1]!, window) : undefined;
      if (!state) throw notFound('feed_not_found', 'No such calendar feed');
      const etag = feedEtag({ token: m![1]!, state, day: now.toISOString().slice(0, 10), joinUrlOf: service.joinUrl('') });
      reply.header('etag', etag).header('cache-control', 'private, no-cache');
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
      const sessions = await sessionsForUser(db, state.userId, window.from, null, true);
      const body = renderCalendar(`Mentor Live: ${state.name}`, sessions, (id) => service.joinUrl(id));
      return reply.header('content-type', 'text/calendar; charset=utf-8').send(body);
    },
  );

  // ------------------------------------------------------------ notifications
  app.get(
    '/notifications',
    {
      config: { access: ROLES },
      schema: {
        tags: ['notifications'],
        summary: "The caller's latest notifications",
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) }),
        response: {
          200: Type.Array(
            Type.Object({ id: Uuid, kind: Type.String(), sessionId: Type.Union([Uuid, Type.Null()]), payload: Type.Record(Type.String(), Type.Unknown()), createdAt: IsoDateTime, readAt: Type.Union([IsoDateTime, Type.Null()]) }),
          ),
        },
      },
    },
    async (request) =>
      (await listNotifications(db, request.user.sub, request.query.limit ?? 50)).map((n) => ({
        id: n.id,
        kind: n.kind,
        sessionId: n.sessionId,
        payload: n.payload,
        createdAt: n.createdAt.toISOString(),
        readAt: n.readAt ? n.readAt.toISOString() : null,
      })),
  );

  app.post(
    '/notifications/:id/read',
    { config: { access: ROLES }, schema: { tags: ['notifications'], summary: 'Mark a notification read', params: Type.Object({ id: Uuid }) } },
    async (request, reply) => {
      if (!(await markRead(db, request.user.sub, request.params.id, app.clock.now()))) throw notFound('notification_not_found', 'No such notification');
      return reply.code(204).send();
    },
  );
};
