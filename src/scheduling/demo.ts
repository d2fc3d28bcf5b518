import type { Db } from '../db/index.ts';
import type { DemoSchool } from '../school/index.ts';
import { parseWallTime, type WeeklyRule } from './availability.ts';
import { recordChange } from './sessions.ts';
import { saveAvailability } from './store.ts';

const weekdays = (start: string, end: string, days = [1, 2, 3, 4, 5]): WeeklyRule[] => days.map((weekday) => ({ weekday, start, end }));

/**
 * Demo part of scheduling: the mentor's and the jury's weekly availability in
 * their own zones (Paris; Kolkata with its half-hour offset; New York), and a
 * mentoring session starting a few minutes after the seed so the live room
 * can be joined right away.
 */
export async function seedSchedulingDemo(db: Db, demo: DemoSchool, now: Date = new Date(), startInMinutes = 3): Promise<{ sessionId: string }> {
  return db.tx(async (q) => {
    const base = { bufferMinutes: 15, minimumNoticeMinutes: null, horizonDays: null, overrides: [] };
    await saveAvailability(q, demo.mentor.id, { ...base, timeZone: demo.mentor.timeZone, weekly: [...weekdays('09:00', '12:00'), ...weekdays('14:00', '19:00'), { weekday: 6, start: '10:00', end: '12:00' }] }, parseWallTime);
    await saveAvailability(q, demo.jury[0].id, { ...base, timeZone: demo.jury[0].timeZone, weekly: weekdays('13:30', '21:30') }, parseWallTime);
    await saveAvailability(q, demo.jury[1].id, { ...base, timeZone: demo.jury[1].timeZone, weekly: weekdays('08:00', '16:00') }, parseWallTime);

    const startsAt = new Date(Math.ceil((now.getTime() + startInMinutes * 60_000) / 60_000) * 60_000);
    const endsAt = new Date(startsAt.getTime() + 45 * 60_000);
    const row = await q.one<{ id: string }>(
      `INSERT INTO sessions (kind, enrollment_id, project_id, host_id, starts_at, ends_at, created_by) VALUES ('mentoring', $1, $2, $3, $4, $5, $6) RETURNING id`,
      [demo.enrollmentId, demo.projectIds[0], demo.mentor.id, startsAt, endsAt, demo.student.id],
    );
    const sessionId = row!.id;
    for (const [userId, role] of [
      [demo.student.id, 'student'],
      [demo.mentor.id, 'mentor'],
    ] as const) {
      await q.execute('INSERT INTO session_participants (session_id, user_id, role, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5)', [sessionId, userId, role, startsAt, endsAt]);
    }
    await recordChange(q, {
      sessionId,
      change: 'booked',
      changedBy: demo.student.id,
      changedByRole: 'student',
      oldStartsAt: null,
      oldEndsAt: null,
      newStartsAt: startsAt,
      newEndsAt: endsAt,
      late: false,
      reason: 'demo seed',
      sequence: 0,
      at: now,
    });
    return { sessionId };
  });
}
