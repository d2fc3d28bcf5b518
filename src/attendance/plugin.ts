import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { attendanceRoutes } from './routes.ts';
import { AttendanceService, type FinalizeJob, type NoShowJob } from './service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    attendance: AttendanceService;
  }
}

/** Lookup for code holding the root instance (tests): the service of the app that owns these domain events. */
const services = new WeakMap<object, AttendanceService>();

/** The attendance service of an app (root or any scope). */
export function attendanceService(app: FastifyInstance): AttendanceService {
  const service = services.get(app.events);
  if (!service) throw new Error('attendance is not registered on this app');
  return service;
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
    services.set(app.events, service);
    app.decorate('attendance', service);

    const off = [
      app.events.on('room.presence', (e) => service.recordPresence(e)),
      app.events.on('session.booked', (e) => service.scheduleSession(e.sessionId)),
      app.events.on('session.rescheduled', (e) => service.scheduleSession(e.sessionId)),
      app.events.on('session.cancelled', (e) => service.recordCancellation(e.sessionId, e.late, e.cancelledBy)),
    ];
    app.addHook('onClose', async () => {
      for (const unsubscribe of off) unsubscribe();
    });

    await app.register(attendanceRoutes, { service });
  },
  { name: 'attendance' },
);
