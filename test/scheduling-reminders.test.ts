import t from 'tap';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Teardown } from './helpers/db.ts';
import { api, nextEvent, startTestApp, testRedisUrl } from './helpers/app.ts';
import { startRestartableApp } from './helpers/restartable-app.ts';
import { REMINDER_QUEUE } from '../src/scheduling/plugin.ts';
import { reminderJobId, type ReminderJob } from '../src/scheduling/notifications.ts';

// Reminders are BullMQ delayed jobs with deterministic ids: booking creates
// them, a reschedule moves them, a cancellation removes them, and a restart
// of the server loses none.
const Z = (iso: string) => Date.parse(iso);

const openQueue = (t: Teardown, prefix: string) => {
  const connection = new Redis(testRedisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue<ReminderJob>(REMINDER_QUEUE, { connection, prefix: `${prefix}:bull` });
  t.teardown(async () => {
    await queue.close();
    await connection.quit();
  });
  return queue;
};

t.test('reminder jobs follow the session', async (t) => {
  const now = Z('2026-03-02T08:00:00Z');
  const { url, demo, config, login } = await startTestApp(t, { clock: { now: () => new Date(now) } });
  const queue = openQueue(t, config.redisPrefix);
  const [student, mentor] = await Promise.all([login(demo.student), login(demo.mentor)]);
  const put = await api(url, 'PUT', `/hosts/${demo.mentor.id}/availability`, mentor, {
    timeZone: 'Europe/Paris',
    bufferMinutes: 0,
    weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '12:00' })),
  });
  t.equal(put.status, 200);

  const booked = await api(url, 'POST', '/sessions', student, { startsAt: '2026-03-04T08:00:00Z', projectId: demo.projectIds[0] });
  t.equal(booked.status, 201);
  const id = booked.body.id as string;
  const day = (await queue.getJob(reminderJobId(id, 1440)))!;
  const quarter = (await queue.getJob(reminderJobId(id, 15)))!;
  t.equal(await day.getState(), 'delayed');
  t.equal(day.data.fireAt, '2026-03-03T08:00:00.000Z');
  t.equal(day.delay, Z('2026-03-03T08:00:00Z') - now, 'delay measured on the app clock');
  t.equal(quarter.data.fireAt, '2026-03-04T07:45:00.000Z');

  const notes = await api(url, 'GET', '/notifications', mentor);
  t.same(notes.body.map((n: { kind: string; sessionId: string }) => [n.kind, n.sessionId]), [['session_booked', id]], 'the other side is told');

  const moved = await api(url, 'POST', `/sessions/${id}/reschedule`, student, { startsAt: '2026-03-04T09:30:00Z' });
  t.equal(moved.status, 200);
  const movedDay = (await queue.getJob(reminderJobId(id, 1440)))!;
  const movedQuarter = (await queue.getJob(reminderJobId(id, 15)))!;
  t.equal(await movedDay.getState(), 'delayed');
  t.equal(movedDay.data.startsAt, '2026-03-04T09:30:00.000Z');
  t.equal(movedDay.data.fireAt, '2026-03-03T09:30:00.000Z');
  t.equal(movedQuarter.data.fireAt, '2026-03-04T09:15:00.000Z');
  t.equal(movedQuarter.delay, Z('2026-03-04T09:15:00Z') - now);
  t.equal((await queue.getJobs(['delayed', 'waiting'])).filter((j) => j.data.sessionId === id).length, 2, 'moved, not duplicated');

  const cancelled = await api(url, 'POST', `/sessions/${id}/cancel`, mentor, {});
  t.equal(cancelled.status, 200);
  t.equal(await queue.getJob(reminderJobId(id, 1440)), undefined, 'removed');
  t.equal(await queue.getJob(reminderJobId(id, 15)), undefined, 'removed');

  // A reminder whose time has already passed is not created.
  const soon = await api(url, 'POST', '/sessions', student, { startsAt: '2026-03-02T10:00:00Z', projectId: demo.projectIds[0] });
  t.equal(soon.status, 201);
  t.equal(await queue.getJob(reminderJobId(soon.body.id, 1440)), undefined, 'the 24 h reminder would be in the past');
  t.equal(await (await queue.getJob(reminderJobId(soon.body.id, 15)))!.getState(), 'delayed');
});

t.test('a reminder booked on one server is delivered by the next one after a restart', async (t) => {
  let offset = 0;
  const clock = { now: () => new Date(Date.now() + offset) };
  const env = { REMINDER_OFFSETS_MINUTES: '15', MINIMUM_NOTICE_MINUTES: '0' };
  // The first server processes no jobs at all: whatever fires, fires on the second.
  const sys = await startRestartableApp(t, { env, clock, runWorkers: false });
  const { demo } = sys;
  const queue = openQueue(t, sys.config.redisPrefix);
  const [student, mentor] = await Promise.all([sys.login(demo.student), sys.login(demo.mentor)]);
  const put = await api(sys.current().url, 'PUT', `/hosts/${demo.mentor.id}/availability`, mentor, {
    timeZone: 'UTC',
    bufferMinutes: 0,
    weekly: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '24:00' })),
  });
  t.equal(put.status, 200);

  // Stand the app clock 15 minutes and a few seconds before a slot.
  const slot = Math.ceil((Date.now() + 2 * 3_600_000) / 900_000) * 900_000;
  offset = slot - 15 * 60_000 - 6_000 - Date.now();
  const booked = await api(sys.current().url, 'POST', '/sessions', student, { startsAt: new Date(slot).toISOString(), projectId: demo.projectIds[0] });
  t.equal(booked.status, 201);
  const id = booked.body.id as string;
  t.equal(await (await queue.getJob(reminderJobId(id, 15)))!.getState(), 'delayed', 'the job waits in Redis');

  const next = await sys.restart();
  const studentSocket = sys.socket(student);
  const mentorSocket = sys.socket(mentor);
  const [studentNote, mentorNote] = await Promise.all([
    nextEvent<{ kind: string; sessionId: string; payload: { minutesBefore: number; joinUrl: string } }>(studentSocket, 'notification', (n) => n.kind === 'session_reminder', 30_000),
    nextEvent<{ kind: string; sessionId: string }>(mentorSocket, 'notification', (n) => n.kind === 'session_reminder', 30_000),
  ]);
  t.equal(studentNote.sessionId, id);
  t.equal(studentNote.payload.minutesBefore, 15);
  t.equal(studentNote.payload.joinUrl, `${sys.config.publicUrl}/#/sessions/${id}`);
  t.equal(mentorNote.sessionId, id);

  const rows = await next.db.query<{ userId: string }>(`SELECT user_id AS "userId" FROM notifications WHERE session_id = $1 AND kind = 'session_reminder' ORDER BY user_id`, [id]);
  t.same(rows.map((r) => r.userId).sort(), [demo.student.id, demo.mentor.id].sort(), 'written to the notifications table, once per person');
  const listed = await api(next.url, 'GET', '/notifications', student);
  t.ok(listed.body.some((n: { kind: string; sessionId: string }) => n.kind === 'session_reminder' && n.sessionId === id));
  const read = await api(next.url, 'POST', `/notifications/${listed.body[0].id}/read`, student);
  t.equal(read.status, 204);
});
