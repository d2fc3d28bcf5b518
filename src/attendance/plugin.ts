import fp from 'fastify-plugin';
import { attendanceRoutes } from './routes.ts';
import { AttendanceService, type FinalizeJob, type NoShowJob } from './service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    attendance: AttendanceService;
  }
}

/**
 * Attendance: listens to rooms' presence events and scheduling's session
 * events, runs the no-show and finalize jobs, serves the reports. Decorates
 * `app.attendance` for the other capabilities.
 */
export const attendancePlugin = fp(
  async (app) => {
    const service = new AttendanceService({
      db: app.db,
      config: app.config.attendance,
      clock: app.clock,
      events: app.events,
      outbox: app.outbox,
      io: app.io,
      log: app.log.child({ capability: 'attendance' }),
    });
    const noShow = app.jobs.define<NoShowJob>('attendance-no-show', async (job) => ({
      marked: await service.checkNoShows(job.data.sessionId, new Date(job.data.startsAt)),
    }));
    const finalize = app.jobs.define<FinalizeJob>('attendance-finalize', async (job) => {
      const result = await service.finalize(job.data.sessionId, new Date(job.data.endsAt));
      return result ? { finalizedAt: result.finalizedAt.toISOString(), alreadyFinalized: result.alreadyFinalized } : { stale: true };
    });
    service.attachQueues(noShow, finalize);
    app.decorate('attendance', service);

    const off = [
      app.events.on('room.presence', (e) => service.recordPresence(e)),
      app.events.on('room.quality', (e) => service.recordQuality(e)),
      app.events.on('session.booked', (e) => service.scheduleSession(e.sessionId)),
      app.events.on('session.rescheduled', (e) => service.scheduleSession(e.sessionId)),
      app.events.on('session.cancelled', (e) => service.recordCancellation(e.sessionId, e.late, e.cancelledBy)),
    ];
    app.addHook('onClose', async () => {
      for (const unsubscribe of off) unsubscribe();
    });

    await app.register(attendanceRoutes, { service });
  },
  { name: 'attendance', dependencies: ['sockets'] },
);
