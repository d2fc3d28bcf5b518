import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ROLES, viewerOf } from '../auth/index.ts';
import { notFound } from '../shared/errors.ts';
import { etagOf, feedEtag, feedState, feedToken, feedWindow, matchesEtag, renderCalendar, rotateFeedToken } from './calendar.ts';
import { listNotifications, markRead } from './notifications.ts';
import {
  AvailabilityBodySchema,
  AvailabilityPreviewBodySchema,
  AvailabilityPreviewQuery,
  AvailabilitySchema,
  BookMentoringBodySchema,
  CancelBodySchema,
  DefenceSlotsQuery,
  FeedFileParams,
  FeedUrlSchema,
  HistorySchema,
  HostParams,
  IdParams,
  MentoringSlotsQuery,
  NotificationListSchema,
  NotificationsQuery,
  PolicySchema,
  RescheduleBodySchema,
  ScheduleDefenceBodySchema,
  SessionParams,
  SessionSchema,
  SlotsSchema,
  TimeOffBodySchema,
  TimeOffListSchema,
  TimeOffParams,
  TimeOffSchema,
  TimeZoneOnlyQuery,
  UpcomingDefencesSchema,
  UpcomingQuery,
  UpcomingSessionsSchema,
} from './schemas.ts';
import type { SchedulingService } from './service.ts';
import { sessionDetail, sessionsForUser, type SessionChange } from './sessions.ts';

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

type Routes = FastifyPluginAsyncTypebox<{ service: SchedulingService }>;

/**
 * Every route of scheduling, one small plugin per resource. Registered in this
 * order (the OpenAPI document lists paths in registration order).
 */
export const schedulingRoutes: Routes = async (app, { service }) => {
  await app.register(availabilityRoutes, { service });
  await app.register(timeOffRoutes, { service });
  await app.register(policyRoutes);
  await app.register(slotRoutes, { service });
  await app.register(bookingRoutes, { service });
  await app.register(sessionReadRoutes, { service });
  await app.register(sessionChangeRoutes, { service });
  await app.register(calendarRoutes, { service });
  await app.register(notificationRoutes);
};

/** A host's weekly rules, overrides, buffer, notice and horizon, and a preview of the slots they give. */
const availabilityRoutes: Routes = async (app, { service }) => {
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
        body: AvailabilityBodySchema,
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
        querystring: AvailabilityPreviewQuery,
        body: AvailabilityPreviewBodySchema,
        response: { 200: SlotsSchema },
      },
    },
    async (request) => service.previewAvailability(viewerOf(request), request.params.hostId, request.body, request.query),
  );
};

/** A host's time off (absolute instants). */
const timeOffRoutes: Routes = async (app, { service }) => {
  app.get(
    '/hosts/:hostId/time-off',
    { config: { access: HOSTS }, schema: { tags: ['scheduling'], summary: 'Upcoming time off of a host', params: HostParams, response: { 200: TimeOffListSchema } } },
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
        body: TimeOffBodySchema,
        response: { 201: TimeOffSchema },
      },
    },
    async (request, reply) => reply.code(201).send(await service.addTimeOff(viewerOf(request), request.params.hostId, request.body)),
  );

  app.delete(
    '/hosts/:hostId/time-off/:id',
    { config: { access: HOSTS }, schema: { tags: ['scheduling'], summary: 'Remove time off', params: TimeOffParams } },
    async (request, reply) => {
      await service.deleteTimeOff(viewerOf(request), request.params.hostId, request.params.id);
      return reply.code(204).send();
    },
  );
};

// The booking policy, so a screen can say what a cancellation will count as before it applies.
const policyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/scheduling/policy',
    {
      config: { access: ROLES },
      schema: {
        tags: ['scheduling'],
        summary: 'The booking policy: session length and the notice under which a cancellation or move counts as late',
        response: { 200: PolicySchema },
      },
    },
    async () => ({
      mentoringMinutes: app.config.scheduling.mentoringMinutes,
      lateCancelNoticeHours: app.config.scheduling.lateCancelNoticeHours,
      defenceDefaultMinutes: app.config.scheduling.defenceDefaultMinutes,
    }),
  );
};

/** Free slots of a mentor, and of a jury with its candidate. */
const slotRoutes: Routes = async (app, { service }) => {
  app.get(
    '/hosts/:hostId/slots',
    {
      config: { access: ['student', 'mentor', 'coordinator'], expensive: true },
      schema: {
        tags: ['scheduling'],
        summary: 'Free mentoring slots of a mentor in [from, to)',
        description: "Times in UTC plus the viewer's local rendering. A student sees only their own mentor (premium_plus).",
        params: HostParams,
        querystring: MentoringSlotsQuery,
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
        querystring: DefenceSlotsQuery,
        response: { 200: SlotsSchema },
      },
    },
    async (request) => service.defenceSlots(viewerOf(request), request.query),
  );
};

/** Booking a mentoring session, scheduling a defence. */
const bookingRoutes: Routes = async (app, { service }) => {
  app.post(
    '/sessions',
    {
      config: { access: ['student'] },
      schema: {
        tags: ['sessions'],
        summary: 'Book a mentoring session with one’s mentor (premium_plus)',
        body: BookMentoringBodySchema,
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
        body: ScheduleDefenceBodySchema,
        response: { 201: SessionSchema },
      },
    },
    async (request, reply) => reply.code(201).send(await service.scheduleDefence(viewerOf(request), request.body)),
  );
};

/** The caller's sessions and defences, one session, its history. */
const sessionReadRoutes: Routes = async (app, { service }) => {
  app.get(
    '/sessions',
    {
      config: { access: ROLES },
      schema: {
        tags: ['sessions'],
        summary: "The caller's upcoming sessions",
        querystring: UpcomingQuery,
        response: { 200: UpcomingSessionsSchema },
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
        querystring: TimeZoneOnlyQuery,
        response: { 200: UpcomingDefencesSchema },
      },
    },
    async (request) => service.upcomingDefences(viewerOf(request), request.query, app.config.rooms),
  );

  app.get(
    '/sessions/:sessionId',
    {
      config: { access: ROLES },
      schema: { tags: ['sessions'], summary: 'A session with its participants (participants and coordinators)', params: SessionParams, querystring: TimeZoneOnlyQuery, response: { 200: SessionSchema } },
    },
    async (request) => service.view(viewerOf(request), request.params.sessionId, request.query.timeZone),
  );

  app.get(
    '/sessions/:sessionId/history',
    { config: { access: ROLES }, schema: { tags: ['sessions'], summary: 'Every change of a session', params: SessionParams, response: { 200: HistorySchema } } },
    async (request) => (await service.history(viewerOf(request), request.params.sessionId)).map(changeJson),
  );
};

/** Moving and cancelling a session (either side). */
const sessionChangeRoutes: Routes = async (app, { service }) => {
  app.post(
    '/sessions/:sessionId/reschedule',
    {
      config: { access: ROLES },
      schema: {
        tags: ['sessions'],
        summary: 'Move a session to another offered slot (either side)',
        params: SessionParams,
        body: RescheduleBodySchema,
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
        body: CancelBodySchema,
        response: { 200: SessionSchema },
      },
    },
    async (request) => service.cancel(viewerOf(request), request.params.sessionId, request.body ?? {}),
  );
};

/** One session as an iCalendar file, and the caller's secret feed of all of them. */
const calendarRoutes: Routes = async (app, { service }) => {
  const { db } = app;
  const feedUrl = (token: string) => `${app.config.publicUrl}/calendar/${token}.ics`;

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

  app.get(
    '/calendar/feed',
    { config: { access: ROLES }, schema: { tags: ['calendar'], summary: "The caller's secret feed URL", response: { 200: FeedUrlSchema } } },
    async (request) => ({ url: feedUrl(await feedToken(db, app.config.jwtSecret, request.user.sub)) }),
  );

  app.post(
    '/calendar/feed/rotate',
    { config: { access: ROLES }, schema: { tags: ['calendar'], summary: 'A new secret feed URL; the old one stops working', response: { 200: FeedUrlSchema } } },
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
        params: FeedFileParams,
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
};

/** The caller's notifications. */
const notificationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app;
  app.get(
    '/notifications',
    {
      config: { access: ROLES },
      schema: {
        tags: ['notifications'],
        summary: "The caller's latest notifications",
        querystring: NotificationsQuery,
        response: { 200: NotificationListSchema },
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
    { config: { access: ROLES }, schema: { tags: ['notifications'], summary: 'Mark a notification read', params: IdParams } },
    async (request, reply) => {
      if (!(await markRead(db, request.user.sub, request.params.id, app.clock.now()))) throw notFound('notification_not_found', 'No such notification');
      return reply.code(204).send();
    },
  );
};
