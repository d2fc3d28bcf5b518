import t from 'tap';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { api, startTestApp } from './helpers/app.ts';
import { hashPassword } from '../src/auth/index.ts';
import { canonicalZone } from '../src/school/index.ts';
import { availabilityWindows, isSlotOffered } from '../src/scheduling/availability.ts';
import { DomainError } from '../src/shared/errors.ts';
import { parseIsoDate, parseIsoInstant } from '../src/shared/time.ts';

// Property tests (fast-check) of issue 20: random valid and impossible dates
// against an independent calendar (luxon), then random availability (zones in
// any spelling, valid or not), and random sequences of mentoring bookings and
// defences, valid or not, sent at once to the real server; after each run the
// invariants are checked against what the database holds.
const MINUTE = 60_000;
const DAY = 86_400_000;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

const codeOf = (fn: () => unknown): string | number => {
  try {
    return fn() as number;
  } catch (err) {
    return err instanceof DomainError ? err.code : `not a DomainError: ${String(err)}`;
  }
};

t.test('the date parser agrees with an independent calendar on random dates, valid or not', async (t) => {
  const parts = fc.record({
    year: fc.integer({ min: 1600, max: 2400 }),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.integer({ min: 0, max: 61 }),
    millis: fc.option(fc.integer({ min: 0, max: 999 }), { nil: undefined }),
    offset: fc.option(fc.record({ sign: fc.constantFrom('+', '-'), hours: fc.integer({ min: 0, max: 25 }), minutes: fc.integer({ min: 0, max: 61 }) }), { nil: undefined }),
  });
  fc.assert(
    fc.property(parts, (p) => {
      const offset = p.offset ? `${p.offset.sign}${pad(p.offset.hours)}:${pad(p.offset.minutes)}` : 'Z';
      const text = `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${p.millis === undefined ? '' : `.${pad(p.millis, 3)}`}${offset}`;
      const wall = DateTime.fromObject({ year: p.year, month: p.month, day: p.day, hour: p.hour, minute: p.minute, second: p.second, millisecond: p.millis ?? 0 }, { zone: 'utc' });
      const offsetOk = !p.offset || (p.offset.hours <= 23 && p.offset.minutes <= 59);
      const got = codeOf(() => parseIsoInstant(text, 'startsAt'));
      if (wall.isValid && offsetOk) {
        const offsetMinutes = p.offset ? (p.offset.sign === '-' ? -1 : 1) * (p.offset.hours * 60 + p.offset.minutes) : 0;
        return got === wall.toMillis() - offsetMinutes * MINUTE;
      }
      return got === 'invalid_date';
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), (year, month, day) => {
      const text = `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
      const exists = DateTime.fromObject({ year, month, day }, { zone: 'utc' }).isValid;
      const got = codeOf(() => parseIsoDate(text, 'date') as unknown as number);
      return exists ? typeof got === 'object' : got === 'invalid_date';
    }),
    { numRuns: 2000 },
  );
  // Any other string is refused with one of the two codes, or is a real ISO instant that Date.parse agrees with.
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.stringMatching(/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?([Zz]|[+-]\d{2}:?\d{2})?$/)), (text) => {
      const got = codeOf(() => parseIsoInstant(text, 'startsAt'));
      return got === 'invalid_instant' || got === 'invalid_date' || (typeof got === 'number' && got === Date.parse(text));
    }),
    { numRuns: 2000 },
  );
  t.pass('3000 + 2000 + 2000 random dates');
});

interface Booking {
  kind: 'mentoring' | 'defence';
  who: number;
  /** A valid instant rendered with this offset (minutes), or an impossible / malformed string. */
  at: { day: number; slot: number; offset: number } | { bad: string };
  durationMinutes: number;
}

const ZONES = ['Europe/Paris', 'europe/paris', 'UTC', 'utc', 'America/New_York', 'AMERICA/NEW_YORK', 'Asia/Kolkata', 'asia/kolkata', 'Australia/Lord_Howe', 'America/St_Johns', 'Europe/Pariss', '+02:00', 'GMT', 'Mars/Olympus'];
const IMPOSSIBLE = fc.oneof(
  fc.record({ y: fc.integer({ min: 2027, max: 2030 }), d: fc.constantFrom(30, 31) }).map(({ y, d }) => `${y}-02-${d}T10:00:00Z`),
  fc.constantFrom('2027-04-31T09:00:00Z', '2027-13-01T09:00:00Z', '2027-03-02T24:00:00Z', '2027-03-02T09:60:00Z', '2027-03-02T09:00:00+24:00', '2027-00-10T09:00:00Z'),
  fc.constantFrom('2027-03-02T09:00:00', '2027-03-02', 'tomorrow', '2027-03-02T09:00:00 Z', ''),
);

/** An instant rendered as ISO 8601 with the given offset in minutes ("Z" for 0). */
function isoWithOffset(instant: number, offset: number): string {
  const wall = new Date(instant + offset * MINUTE).toISOString().slice(0, 19);
  if (offset === 0) return `${wall}Z`;
  const o = Math.abs(offset);
  return `${wall}${offset < 0 ? '-' : '+'}${pad(Math.floor(o / 60))}:${pad(o % 60)}`;
}

t.test('random availability, zones and concurrent booking sequences keep every invariant in the database', async (t) => {
  const now = Date.parse('2027-03-01T08:00:00Z'); // a Monday
  const { url, demo, db, login } = await startTestApp(t, { clock: { now: () => new Date(now) } });
  const [mentor, coordinator, jury1, jury2] = await Promise.all([login(demo.mentor), login(demo.coordinator), login(demo.jury[0]), login(demo.jury[1])]);
  const password = await hashPassword('prop-student-1');

  // Mentees (on their first project) and defence candidates (every project validated).
  const students: Array<{ id: string; token: string }> = [];
  for (let i = 0; i < 5; i++) {
    const user = (await db.one<{ id: string }>(
      `INSERT INTO users (email, name, role, time_zone, password_hash) VALUES ($1, $2, 'student', 'Europe/Paris', $3) RETURNING id`,
      [`prop${i}@demo.school`, `Student ${i}`, password],
    ))!;
    const enrollment = (await db.one<{ id: string }>(`INSERT INTO enrollments (student_id, path_id, mentor_id, tier) VALUES ($1, $2, $3, 'premium_plus') RETURNING id`, [user.id, demo.pathId, demo.mentor.id]))!;
    await db.execute(
      `INSERT INTO project_progress (enrollment_id, project_id, state) SELECT $1, id, CASE WHEN $2 THEN 'validated' WHEN position = (SELECT min(position) FROM projects WHERE path_id = $3) THEN 'in_progress' ELSE 'locked' END FROM projects WHERE path_id = $3`,
      [enrollment.id, i >= 3, demo.pathId],
    );
    students.push({ id: user.id, token: await login({ email: `prop${i}@demo.school`, password: 'prop-student-1' }) });
  }
  const mentees = students.slice(0, 3);
  const candidates = students.slice(3);
  for (const [id, token] of [
    [demo.jury[0].id, jury1],
    [demo.jury[1].id, jury2],
  ] as const) {
    const res = await api(url, 'PUT', `/hosts/${id}/availability`, token!, { timeZone: 'UTC', bufferMinutes: 0, weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '06:00', end: '20:00' })) });
    t.equal(res.status, 200);
  }

  const rule = fc.record({ weekday: fc.integer({ min: 1, max: 7 }), start: fc.integer({ min: 0, max: 22 }), hours: fc.integer({ min: 1, max: 8 }) }).map((r) => ({
    weekday: r.weekday,
    start: `${pad(r.start)}:00`,
    end: r.start + r.hours >= 24 ? '24:00' : `${pad(r.start + r.hours)}:00`,
  }));
  const booking: fc.Arbitrary<Booking> = fc.record({
    kind: fc.constantFrom<Booking['kind']>('mentoring', 'mentoring', 'defence'),
    who: fc.nat({ max: 2 }),
    at: fc.oneof(
      { weight: 5, arbitrary: fc.record({ day: fc.nat({ max: 40 }), slot: fc.nat({ max: 95 }), offset: fc.constantFrom(0, 60, -300, 330, 630, -210) }) },
      { weight: 1, arbitrary: IMPOSSIBLE.map((bad) => ({ bad })) },
    ),
    durationMinutes: fc.constantFrom(60, 75, 90),
  });
  const scenario = fc.record({
    zone: fc.constantFrom(...ZONES),
    bufferMinutes: fc.constantFrom(0, 5, 15, 30),
    minimumNoticeMinutes: fc.constantFrom(0, 60, 120, 1440),
    horizonDays: fc.integer({ min: 1, max: 45 }),
    weekly: fc.array(rule, { maxLength: 8 }),
    bookings: fc.array(booking, { minLength: 4, maxLength: 24 }),
  });

  let runs = 0;
  let created = 0;
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      runs++;
      // A fresh calendar: the previous run's sessions are cancelled (other capabilities' rows refer to them).
      await db.execute(`UPDATE sessions SET status = 'cancelled' WHERE status = 'scheduled'`);
      await db.execute('UPDATE session_participants SET busy = false WHERE busy');
      // 1. Availability: stored in the zone's IANA spelling, or refused as a whole.
      const put = await api(url, 'PUT', `/hosts/${demo.mentor.id}/availability`, mentor, {
        timeZone: s.zone,
        bufferMinutes: s.bufferMinutes,
        minimumNoticeMinutes: s.minimumNoticeMinutes,
        horizonDays: s.horizonDays,
        weekly: s.weekly,
      });
      const zone = canonicalZone(s.zone);
      if (put.status === 200) {
        if (zone === undefined || put.body.timeZone !== zone || zone.toLowerCase() !== s.zone.toLowerCase()) throw new Error(`zone ${s.zone} stored as ${put.body.timeZone}`);
      } else if (put.status !== 400 || !['unknown_time_zone', 'overlapping_rules'].includes(put.body.code) || (put.body.code === 'unknown_time_zone') !== (zone === undefined)) {
        throw new Error(`availability: ${put.status} ${JSON.stringify(put.body)}`);
      }
      const avail = (await api(url, 'GET', `/hosts/${demo.mentor.id}/availability`, mentor)).body;

      // 2. Every booking of the sequence at once.
      const sent = s.bookings.map((b) => {
        const startsAt = 'bad' in b.at ? b.at.bad : isoWithOffset(now + b.at.day * DAY + b.at.slot * 15 * MINUTE, b.at.offset);
        const request =
          b.kind === 'mentoring'
            ? api(url, 'POST', '/sessions', mentees[b.who]!.token, { startsAt, projectId: demo.projectIds[0] })
            : api(url, 'POST', '/defences', coordinator, { studentId: candidates[b.who % 2]!.id, juryIds: [demo.jury[0].id, demo.jury[1].id], startsAt, durationMinutes: b.durationMinutes });
        return { b, startsAt, request };
      });
      const results = await Promise.all(sent.map((x) => x.request));
      const ok = new Map<string, { b: Booking; startsAt: string }>();
      results.forEach((res, i) => {
        const { b, startsAt } = sent[i]!;
        const allowed =
          'bad' in b.at
            ? [`400 ${startsAt.length > 0 && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/.test(startsAt) ? 'invalid_date' : 'invalid_instant'}`]
            : ['201', '409 slot_taken', '409 buffer_conflict', '409 defence_already_scheduled', '422 slot_not_offered'];
        const got = res.status === 201 ? '201' : `${res.status} ${res.body?.code}`;
        if (!allowed.includes(got)) throw new Error(`${b.kind} at ${JSON.stringify(startsAt)}: ${got} (allowed: ${allowed.join(', ')})`);
        if (res.status === 201) {
          if (res.body.startsAt !== new Date(Date.parse(startsAt)).toISOString()) throw new Error(`booked ${res.body.startsAt} for ${startsAt}`);
          ok.set(res.body.id, { b, startsAt });
        }
      });
      created += ok.size;

      // 3. The invariants, from the database.
      const sessions = await db.query<{ id: string; kind: string; startsAt: Date; endsAt: Date; studentId: string }>(
        `SELECT s.id, s.kind, s.starts_at AS "startsAt", s.ends_at AS "endsAt", e.student_id AS "studentId" FROM sessions s JOIN enrollments e ON e.id = s.enrollment_id WHERE s.status = 'scheduled'`,
      );
      if (sessions.length !== ok.size || sessions.some((x) => !ok.has(x.id))) throw new Error(`${sessions.length} sessions in the database, ${ok.size} bookings answered 201`);
      const overlaps = await db.query(
        `SELECT a.user_id FROM session_participants a JOIN session_participants b
            ON a.user_id = b.user_id AND a.session_id < b.session_id AND a.busy AND b.busy AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at`,
      );
      if (overlaps.length > 0) throw new Error('someone is double-booked');
      const mentorBusy = sessions.filter((x) => x.kind === 'mentoring').sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
      for (let i = 1; i < mentorBusy.length; i++) {
        if (mentorBusy[i]!.startsAt.getTime() - mentorBusy[i - 1]!.endsAt.getTime() < avail.bufferMinutes * MINUTE) throw new Error('the mentor’s buffer is broken');
      }
      for (const c of candidates) {
        if (sessions.filter((x) => x.kind === 'defence' && x.studentId === c.id).length > 1) throw new Error('two upcoming defences for one student');
      }
      for (const m of mentorBusy) {
        const start = m.startsAt.getTime();
        const from = Math.floor(start / DAY) * DAY - DAY;
        const windows = availabilityWindows({ timeZone: avail.timeZone, weekly: avail.weekly, overrides: avail.overrides, timeOff: [] }, from, from + 3 * DAY);
        const offered = isSlotOffered(windows, start, {
          durationMinutes: 45,
          stepMinutes: 15,
          earliestStart: now + avail.minimumNoticeMinutes * MINUTE,
          latestStart: now + avail.horizonDays * DAY,
        });
        if (!offered) throw new Error(`${m.startsAt.toISOString()} was booked but is not an offered slot`);
        if (m.endsAt.getTime() - start !== 45 * MINUTE) throw new Error('a mentoring session is not 45 minutes');
      }
      for (const d of sessions.filter((x) => x.kind === 'defence')) {
        const local = d.startsAt.getUTCHours() * 60 + d.startsAt.getUTCMinutes();
        const endLocal = local + (d.endsAt.getTime() - d.startsAt.getTime()) / MINUTE;
        if (d.startsAt.getTime() < now + 120 * MINUTE || d.startsAt.getTime() > now + 60 * DAY) throw new Error('a defence outside notice or horizon');
        if (local < 6 * 60 || endLocal > 20 * 60 || [0, 6].includes(d.startsAt.getUTCDay())) throw new Error('a defence outside the jury’s availability');
      }
      return true;
    }),
    { numRuns: 20 },
  );
  t.equal(runs, 20);
  t.ok(created > 0, `${created} bookings made over ${runs} runs`);
});
