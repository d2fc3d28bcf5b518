import fp from 'fastify-plugin';
import { Notifier, Reminders, type Notification, type ReminderJob } from './notifications.ts';
import { schedulingRoutes } from './routes.ts';
import { SchedulingService } from './service.ts';
import { participantsOf, sessionDetail } from './sessions.ts';
import { preferencesOf } from '../school/index.ts';

export const REMINDER_QUEUE = 'scheduling-reminders';

declare module 'fastify' {
  interface FastifyInstance {
    /** Scheduling: availability, booking, rescheduling and cancelling sessions (src/scheduling/service.ts). */
    scheduling: SchedulingService;
  }
}

/** Socket.IO channel of one user (every socket joins it at connect; see server/plugins/sockets.ts). */
const userChannel = (userId: string) => `user:${userId}`;

/**
 * Routes of scheduling, and the reminder queue (BullMQ delayed jobs, defined
 * at registration so a restarted server picks up the jobs already in Redis).
 * Decorates `app.scheduling`. Needs 'auth' (the routes' viewer) and 'sockets'
 * (notifications to a user's channel).
 */
export const schedulingPlugin = fp(
  async (app) => {
    const config = app.config.scheduling;
    const notifier = new Notifier(
      app.db,
      (userId: string, n: Notification) => {
        app.io.to(userChannel(userId)).emit('notification', {
          id: n.id,
          kind: n.kind,
          sessionId: n.sessionId,
          payload: n.payload,
          createdAt: n.createdAt.toISOString(),
        });
      },
      app.clock,
    );

    const queue = app.jobs.define<ReminderJob>(REMINDER_QUEUE, async (job) => {
      const { sessionId, startsAt, offsetMinutes } = job.data;
      const session = await sessionDetail(app.db, sessionId);
      // A reminder computed for an older start (rescheduled meanwhile) or a cancelled session is dropped.
      if (!session || session.status !== 'scheduled' || session.startsAt.toISOString() !== startsAt) return { delivered: 0, stale: true };
      let delivered = 0;
      for (const p of await participantsOf(app.db, sessionId)) {
        if (!(await preferencesOf(app.db, p.userId)).reminderBrowser) continue;
        const sent = await notifier.notify(
          p.userId,
          'session_reminder',
          sessionId,
          {
            sessionId,
            kind: session.kind,
            minutesBefore: offsetMinutes,
            startsAt,
            endsAt: session.endsAt.toISOString(),
            projectTitle: session.projectTitle,
            joinUrl: `${app.config.publicUrl}/#/sessions/${sessionId}`,
          },
          `${job.id}|${startsAt}|${p.userId}`,
        );
        if (sent) delivered++;
      }
      // E-mail reminders (mail capability) follow each user's own preference.
      app.events.emit('session.reminder', { sessionId, minutesBefore: offsetMinutes, startsAt });
      return { delivered };
    });

    const reminders = new Reminders(queue, config.reminderOffsetsMinutes, app.clock);
    const service = new SchedulingService({
      db: app.db,
      config,
      clock: app.clock,
      outbox: app.outbox,
      reminders,
      notifier,
      publicUrl: app.config.publicUrl,
      log: app.log,
    });
    app.decorate('scheduling', service);
    await app.register(schedulingRoutes, { service });
  },
  { name: 'scheduling', dependencies: ['auth', 'sockets'] },
);
