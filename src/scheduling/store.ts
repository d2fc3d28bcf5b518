import type { Queryable } from '../db/index.ts';
import type { Availability, DateOverride, Interval, WeeklyRule } from './availability.ts';

/** SQL of the scheduling tables (availability, time off, busy time). */

export interface HostSettings {
  timeZone: string;
  bufferMinutes: number;
  minimumNoticeMinutes: number | null;
  horizonDays: number | null;
}

const hm = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

export async function loadSettings(db: Queryable, userId: string): Promise<HostSettings | undefined> {
  return db.one<HostSettings>(
    `SELECT time_zone AS "timeZone", buffer_minutes AS "bufferMinutes", minimum_notice_minutes AS "minimumNoticeMinutes",
            horizon_days AS "horizonDays" FROM availability_settings WHERE user_id = $1`,
    [userId],
  );
}

/** The host's rules, overrides and time off overlapping [from, to). */
export async function loadAvailability(db: Queryable, userId: string, fallbackZone: string, from: Date, to: Date): Promise<{ availability: Availability; settings: HostSettings | undefined }> {
  const settings = await loadSettings(db, userId);
  const weekly = await db.query<{ weekday: number; start: number; end: number }>(
    'SELECT weekday, start_minute AS start, end_minute AS "end" FROM availability_rules WHERE user_id = $1 ORDER BY weekday, start_minute',
    [userId],
  );
  const overrides = await db.query<{ date: string; windows: Array<{ start: string; end: string }> }>(
    `SELECT to_char(local_date, 'YYYY-MM-DD') AS date, windows FROM availability_overrides WHERE user_id = $1 ORDER BY local_date`,
    [userId],
  );
  const timeOff = await db.query<{ start: Date; end: Date }>(
    'SELECT starts_at AS start, ends_at AS "end" FROM time_off WHERE user_id = $1 AND ends_at > $2 AND starts_at < $3',
    [userId, from, to],
  );
  return {
    settings,
    availability: {
      timeZone: settings?.timeZone ?? fallbackZone,
      weekly: weekly.map((r) => ({ weekday: r.weekday, start: hm(r.start), end: hm(r.end) })),
      overrides: overrides.map((o) => ({ date: o.date, intervals: o.windows })),
      timeOff: timeOff.map((t) => ({ start: t.start.getTime(), end: t.end.getTime() })),
    },
  };
}

/** Replaces the host's settings, weekly rules and overrides (validated by the caller). */
export async function saveAvailability(
  db: Queryable,
  userId: string,
  a: { timeZone: string; bufferMinutes: number; minimumNoticeMinutes: number | null; horizonDays: number | null; weekly: WeeklyRule[]; overrides: DateOverride[] },
  toMinute: (hm: string) => number,
): Promise<void> {
  await db.execute(
    `INSERT INTO availability_settings (user_id, time_zone, buffer_minutes, minimum_notice_minutes, horizon_days, updated_at)
     VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (user_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, buffer_minutes = EXCLUDED.buffer_minutes,
       minimum_notice_minutes = EXCLUDED.minimum_notice_minutes, horizon_days = EXCLUDED.horizon_days, updated_at = now()`,
    [userId, a.timeZone, a.bufferMinutes, a.minimumNoticeMinutes, a.horizonDays],
  );
  await db.execute('DELETE FROM availability_rules WHERE user_id = $1', [userId]);
  for (const r of a.weekly) {
    await db.execute('INSERT INTO availability_rules (user_id, weekday, start_minute, end_minute) VALUES ($1, $2, $3, $4)', [
      userId,
      r.weekday,
      toMinute(r.start),
      toMinute(r.end),
    ]);
  }
  await db.execute('DELETE FROM availability_overrides WHERE user_id = $1', [userId]);
  for (const o of a.overrides) {
    await db.execute('INSERT INTO availability_overrides (user_id, local_date, windows) VALUES ($1, $2, $3)', [userId, o.date, JSON.stringify(o.intervals)]);
  }
}

/** Time each user is held by a scheduled session overlapping [from, to), optionally ignoring one session. */
export async function busyOf(db: Queryable, userIds: string[], from: Date, to: Date, exceptSessionId?: string): Promise<Interval[]> {
  if (userIds.length === 0) return [];
  const rows = await db.query<{ start: Date; end: Date }>(
    `SELECT starts_at AS start, ends_at AS "end" FROM session_participants
      WHERE busy AND user_id = ANY($1::uuid[]) AND ends_at > $2 AND starts_at < $3 AND ($4::uuid IS NULL OR session_id <> $4)`,
    [userIds, from, to, exceptSessionId ?? null],
  );
  return rows.map((r) => ({ start: r.start.getTime(), end: r.end.getTime() }));
}

export interface UserBrief {
  id: string;
  name: string;
  role: 'student' | 'mentor' | 'jury' | 'coordinator';
  timeZone: string;
}

export async function userBrief(db: Queryable, userId: string): Promise<UserBrief | undefined> {
  return db.one<UserBrief>('SELECT id, name, role, time_zone AS "timeZone" FROM users WHERE id = $1', [userId]);
}
