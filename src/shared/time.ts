import { invalid } from './errors.ts';

/**
 * The one parser of the dates and instants clients send. `Date.parse` (and
 * luxon's lenient modes) roll an impossible date over: "2027-02-30" becomes
 * 2 March, so a typo turns into a booking on another day. Here the string must
 * have the ISO 8601 / RFC 3339 shape AND name a day of the calendar, a time of
 * day and an offset that exist:
 * - not that shape (no offset, "9h", a number) → 400 `invalid_instant` / `invalid_date`;
 * - the shape, but no such day or time (2027-02-30, 2026-13-01, 24:00, 10:60,
 *   +25:00) → 400 `invalid_date`, naming the field.
 * Every scheduling input (bookings, reschedules, time off, slot searches, date
 * overrides) goes through these two functions, so the answer is the same everywhere.
 */

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * The years a client may name (the shape already has four digits). Anything else (year 0, and
 * −271821 or +275760 where Date accepts them) is no date anyone means; PostgreSQL would refuse some of
 * them and store others, so they stop here with invalid_date.
 */
export const MIN_YEAR = 1;
export const MAX_YEAR = 9999;

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (y: number, m: number) => [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
const dateExists = (y: number, m: number, d: number) => y >= MIN_YEAR && y <= MAX_YEAR && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m);

function noSuchDate(field: string, value: string) {
  return invalid('invalid_date', `${field}: "${value}" names a date or time that does not exist`, { field, value });
}

/** A local calendar date "yyyy-MM-dd" that exists (2027-02-29 does not). */
export function parseIsoDate(value: string, field: string): { year: number; month: number; day: number } {
  const m = typeof value === 'string' ? DATE.exec(value) : null;
  if (!m) throw invalid('invalid_date', `${field} must be a date (yyyy-MM-dd), got "${String(value)}"`, { field, value });
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!dateExists(year, month, day)) throw noSuchDate(field, value);
  return { year, month, day };
}

/** An instant with an explicit zone offset ("2026-03-03T17:00:00Z", "…+01:00"), as epoch milliseconds. */
export function parseIsoInstant(value: string, field: string): number {
  const m = typeof value === 'string' ? INSTANT.exec(value) : null;
  if (!m) {
    throw invalid('invalid_instant', `${field} must be an ISO 8601 instant with a zone offset (e.g. 2026-03-03T17:00:00Z)`, { field, value });
  }
  const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const offset = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  if (!dateExists(year!, month!, day!) || hour! > 23 || minute! > 59 || second > 59 || (m[10] !== undefined && (Number(m[10]) > 23 || Number(m[11]) > 59))) {
    throw noSuchDate(field, value);
  }
  const wall = new Date(0);
  wall.setUTCFullYear(year!, month! - 1, day!);
  wall.setUTCHours(hour!, minute!, second, ms);
  return wall.getTime() - offset * 60_000;
}
