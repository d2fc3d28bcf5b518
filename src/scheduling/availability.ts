import { DateTime, IANAZone } from 'luxon';
import { invalid } from '../shared/errors.ts';
import { canonicalZone } from '../school/index.ts';
import { parseIsoDate } from '../shared/time.ts';

/**
 * Availability → free slots: pure functions, no I/O, no clock (callers pass
 * "now"-derived bounds). Instants are epoch milliseconds (UTC); wall-clock
 * rules are "HH:mm" in the host's IANA zone.
 *
 * DST policy (also in docs/scheduling.md):
 * - A rule is wall-clock time in the host's zone and is expanded per local
 *   date, so "Tue 18:00–21:00 Europe/Paris" is 17:00Z in winter and 16:00Z in
 *   summer: it stays 18:00 in Paris on both sides of a change.
 * - A wall time that does not exist that day (inside a spring-forward gap, e.g.
 *   02:30 in Paris on the last Sunday of March) resolves to the instant the gap
 *   ends (03:00 local). A window is therefore shortened by the gap, never moved
 *   later than written (luxon by itself would push 02:30 to 03:30).
 * - A wall time that happens twice (inside the repeated hour of a fall-back)
 *   resolves to its FIRST occurrence (the earlier instant, summer offset), for
 *   starts and ends alike. A window 01:00–03:00 on the fall-back night thus
 *   lasts three real hours, and a window 02:00–02:30 lasts 30 minutes (the
 *   first pass through those wall times).
 * - Windows are half-open [start, end); "24:00" ends a window at midnight.
 *   A window that becomes empty after resolution (entirely inside a gap) is
 *   dropped.
 */

export interface Interval {
  start: number;
  end: number;
}

/** ISO weekday 1 = Monday … 7 = Sunday, times "HH:mm" (end may be "24:00"). */
export interface WeeklyRule {
  weekday: number;
  start: string;
  end: string;
}

/** Replaces the weekly rules on one local date; no intervals = unavailable that day. */
export interface DateOverride {
  date: string;
  intervals: Array<{ start: string; end: string }>;
}

export interface Availability {
  timeZone: string;
  weekly: WeeklyRule[];
  overrides: DateOverride[];
  /** Absolute intervals (UTC) when the host is away. */
  timeOff: Interval[];
}

const HM = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const MINUTE = 60_000;

/** "HH:mm" → minutes after midnight (0…1440). */
export function parseWallTime(value: string): number {
  const m = HM.exec(value);
  if (!m) throw invalid('invalid_time', `"${value}" is not a time of day (HH:mm)`);
  if (value === '24:00') return 1440;
  return Number(m[1]) * 60 + Number(m[2]);
}

/** The IANA spelling of a zone name ("europe/paris" → "Europe/Paris"); 400 unknown_time_zone for anything else. */
export function canonicalZoneOf(zone: string): string {
  const name = canonicalZone(zone);
  if (name === undefined) throw invalid('unknown_time_zone', `"${zone}" is not an IANA time zone`);
  return name;
}

function checkIntervals(list: Array<{ start: string; end: string }>, where: string): void {
  const parsed = list.map((i) => {
    const start = parseWallTime(i.start);
    const end = parseWallTime(i.end);
    if (start === 1440) throw invalid('invalid_time', `${where}: a window cannot start at 24:00`);
    if (end <= start) throw invalid('end_before_start', `${where}: ${i.end} is not after ${i.start}`, { start: i.start, end: i.end });
    return { start, end, label: `${i.start}–${i.end}` };
  });
  parsed.sort((a, b) => a.start - b.start);
  for (let k = 1; k < parsed.length; k++) {
    const prev = parsed[k - 1]!;
    const cur = parsed[k]!;
    if (cur.start < prev.end) {
      throw invalid('overlapping_rules', `${where}: ${prev.label} and ${cur.label} overlap`, { first: prev.label, second: cur.label });
    }
  }
}

/**
 * Validates a host's availability as written by a person; throws a DomainError
 * (400) with a precise code. Returns the zone in its IANA spelling (to store).
 */
export function validateAvailability(a: Pick<Availability, 'timeZone' | 'weekly' | 'overrides'>): string {
  const zone = canonicalZoneOf(a.timeZone);
  for (const r of a.weekly) {
    if (!Number.isInteger(r.weekday) || r.weekday < 1 || r.weekday > 7) throw invalid('invalid_weekday', `weekday must be 1 (Monday) … 7 (Sunday), got ${r.weekday}`);
  }
  for (let day = 1; day <= 7; day++) {
    checkIntervals(
      a.weekly.filter((r) => r.weekday === day),
      `weekday ${day}`,
    );
  }
  const seen = new Set<string>();
  for (const o of a.overrides) {
    parseIsoDate(o.date, 'overrides.date');
    if (seen.has(o.date)) throw invalid('duplicate_override', `${o.date} has two overrides`);
    seen.add(o.date);
    checkIntervals(o.intervals, o.date);
  }
  return zone;
}

/**
 * The instant at which the wall clock of `zone` shows `minuteOfDay` on the
 * local date y-m-d, following the DST policy above.
 */
export function resolveWallTime(date: { year: number; month: number; day: number }, minuteOfDay: number, zone: string): number {
  const z = IANAZone.create(zone);
  const offsetOf = (instant: number) => offsetAt(zone, z, instant);
  // The wall time read as if it were UTC; subtracting an offset gives a candidate instant.
  const wallAsUtc = Date.UTC(date.year, date.month - 1, date.day) + minuteOfDay * MINUTE;
  // At most one transition happens within a day either side (true of every IANA zone).
  const before = offsetOf(wallAsUtc - 36 * 60 * MINUTE);
  const after = offsetOf(wallAsUtc + 36 * 60 * MINUTE);
  const candidates = [...new Set([before, after])]
    .map((offset) => ({ offset, instant: wallAsUtc - offset * MINUTE }))
    .filter((c) => offsetOf(c.instant) === c.offset)
    .map((c) => c.instant);
  if (candidates.length > 0) return Math.min(...candidates); // repeated hour: first occurrence
  // Inside a gap: the first instant whose offset is the new one (the end of the gap).
  let lo = wallAsUtc - Math.max(before, after) * MINUTE; // offset `before` here
  let hi = wallAsUtc - Math.min(before, after) * MINUTE; // offset `after` here
  if (offsetOf(lo) !== before) [lo, hi] = [hi, lo];
  while (hi - lo > MINUTE) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
    if (offsetOf(mid) === before) lo = mid;
    else hi = mid;
  }
  // Transitions happen on whole minutes; `hi` is the first minute with the new offset.
  return hi;
}

export function mergeIntervals(list: Interval[]): Interval[] {
  const sorted = list.filter((i) => i.end > i.start).sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else out.push({ ...i });
  }
  return out;
}

/** `from` minus every interval of `cut`. */
export function subtractIntervals(from: Interval[], cut: Interval[]): Interval[] {
  const cuts = mergeIntervals(cut);
  const out: Interval[] = [];
  for (const i of mergeIntervals(from)) {
    let pieces: Interval[] = [i];
    for (const c of cuts) {
      if (c.end <= i.start || c.start >= i.end) continue;
      pieces = pieces.flatMap((p) => {
        if (c.end <= p.start || c.start >= p.end) return [p];
        const rest: Interval[] = [];
        if (c.start > p.start) rest.push({ start: p.start, end: c.start });
        if (c.end < p.end) rest.push({ start: c.end, end: p.end });
        return rest;
      });
    }
    out.push(...pieces);
  }
  return out;
}

/** Instants that belong to every one of the lists (e.g. all jury members free). */
export function intersectAll(lists: Interval[][]): Interval[] {
  if (lists.length === 0) return [];
  let acc = mergeIntervals(lists[0]!);
  for (const next of lists.slice(1)) {
    const b = mergeIntervals(next);
    const out: Interval[] = [];
    let i = 0;
    let j = 0;
    while (i < acc.length && j < b.length) {
      const x = acc[i]!;
      const y = b[j]!;
      const start = Math.max(x.start, y.start);
      const end = Math.min(x.end, y.end);
      if (end > start) out.push({ start, end });
      if (x.end < y.end) i++;
      else j++;
    }
    acc = out;
  }
  return acc;
}

/**
 * The host's available windows (UTC) overlapping [from, to): weekly rules or
 * the date's override, expanded per local date, minus time off, clipped.
 */
export function availabilityWindows(a: Availability, from: number, to: number): Interval[] {
  if (to <= from) return [];
  const zone = a.timeZone;
  const overrides = new Map(a.overrides.map((o) => [o.date, o.intervals]));
  const raw: Interval[] = [];
  let day = DateTime.fromMillis(from, { zone }).startOf('day').minus({ days: 1 });
  const lastDay = DateTime.fromMillis(to, { zone }).startOf('day').plus({ days: 1 });
  while (day <= lastDay) {
    const date = { year: day.year, month: day.month, day: day.day };
    const iso = day.toISODate()!;
    const wall = overrides.get(iso) ?? a.weekly.filter((r) => r.weekday === day.weekday);
    for (const w of wall) {
      const start = resolveWallTime(date, parseWallTime(w.start), zone);
      const endMinute = parseWallTime(w.end);
      const end =
        endMinute === 1440
          ? resolveWallTime(
              (({ year, month, day: d }) => ({ year, month, day: d }))(day.plus({ days: 1 })),
              0,
              zone,
            )
          : resolveWallTime(date, endMinute, zone);
      if (end > start) raw.push({ start, end });
    }
    day = day.plus({ days: 1 });
  }
  const free = subtractIntervals(raw, a.timeOff);
  return free.map((i) => ({ start: Math.max(i.start, from), end: Math.min(i.end, to) })).filter((i) => i.end > i.start);
}

export interface SlotOptions {
  durationMinutes: number;
  /** Slots start every `stepMinutes` from the start of each window. */
  stepMinutes: number;
  /** Sessions already held by any participant: no slot overlaps them. */
  busy: Interval[];
  /** Busy intervals of the host(s), kept `bufferMinutes` away from a slot. */
  hostBusy?: Interval[];
  bufferMinutes: number;
  /** Minimum notice: no slot starts before this instant. */
  earliestStart: number;
  /** Booking horizon: no slot starts after this instant. */
  latestStart: number;
}

/** Free slots within the windows, on each window's grid, away from busy time. */
export function computeSlots(windows: Interval[], o: SlotOptions): Interval[] {
  const duration = o.durationMinutes * MINUTE;
  const step = o.stepMinutes * MINUTE;
  const buffer = o.bufferMinutes * MINUTE;
  const busy = mergeIntervals(o.busy);
  const hostBusy = mergeIntervals(o.hostBusy ?? []);
  const overlaps = (list: Interval[], s: number, e: number) => list.some((b) => b.start < e && b.end > s);
  const out: Interval[] = [];
  for (const w of mergeIntervals(windows)) {
    for (let s = w.start; s + duration <= w.end; s += step) {
      if (s < o.earliestStart || s > o.latestStart) continue;
      const e = s + duration;
      if (overlaps(busy, s, e) || overlaps(hostBusy, s - buffer, e + buffer)) continue;
      out.push({ start: s, end: e });
    }
  }
  return out;
}

/** Is [start, start + duration) one of the slots the windows offer (availability, notice, horizon; not busy time)? */
export function isSlotOffered(windows: Interval[], start: number, o: Pick<SlotOptions, 'durationMinutes' | 'stepMinutes' | 'earliestStart' | 'latestStart'>): boolean {
  return computeSlots(windows, { ...o, busy: [], bufferMinutes: 0 }).some((s) => s.start === start);
}

export interface RenderedSlot {
  startsAt: string;
  endsAt: string;
  /** The same instants in the viewer's zone (ISO with offset) and a readable label. */
  local: { timeZone: string; startsAt: string; endsAt: string; label: string };
}

/**
 * The straightforward rendering with luxon: a DateTime per instant in the
 * viewer's zone (each one asks `Intl` for the zone's offset, and the label's
 * `ZZZZ` builds a new `Intl.DateTimeFormat`). It defines the output;
 * `renderInterval` gives the same bytes faster and falls back to this.
 */
export function renderIntervalWithLuxon(i: Interval, viewerZone: string): RenderedSlot {
  const s = DateTime.fromMillis(i.start, { zone: viewerZone });
  const e = DateTime.fromMillis(i.end, { zone: viewerZone });
  return {
    startsAt: new Date(i.start).toISOString(),
    endsAt: new Date(i.end).toISOString(),
    local: {
      timeZone: viewerZone,
      startsAt: s.toISO({ suppressMilliseconds: true })!,
      endsAt: e.toISO({ suppressMilliseconds: true })!,
      // A slot across a DST change shows each end with its own offset: "02:15 (GMT+2)–02:00 (GMT+1)".
      label:
        s.offset === e.offset
          ? `${s.toFormat('ccc d LLL yyyy, HH:mm')}–${e.toFormat('HH:mm')} (${s.toFormat('ZZZZ')})`
          : `${s.toFormat('ccc d LLL yyyy, HH:mm')} (${s.toFormat('ZZZZ')})–${e.toFormat('HH:mm')} (${e.toFormat('ZZZZ')})`,
    },
  };
}

/*
 * Fast rendering (a slot search renders hundreds of slots in several zones).
 * A zone's offset and its abbreviation only change at transitions, so they are
 * looked up once per zone and hour (epoch-aligned) and kept: luxon is asked at
 * the first and the last millisecond of the hour, and when both answers agree
 * the whole hour uses them (no IANA zone has two transitions within one hour).
 * An hour containing a transition is not cached: instants in it are rendered
 * by luxon itself (and `resolveWallTime` asks luxon for their offsets). The wall-clock fields then come from `instant + offset`
 * read as UTC (what luxon does internally), the ISO string is assembled the
 * way luxon's `toISO` does, and the locale-dependent pieces of the label
 * (weekday and month names, digits of HH:mm) come from luxon once per day and
 * per minute of day. Zones luxon does not treat as IANA zones ("UTC", fixed
 * offsets) need no Intl look-up and go through luxon directly.
 * The caches assume luxon's Settings (default locale) do not change at run time.
 */
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const CACHE_LIMIT = 20_000;

interface ZoneHour {
  hour: number;
  offset: number;
  /** The abbreviation (luxon's `ZZZZ`), looked up on first use; null when it changes within the hour. */
  name?: string | null;
}

/** Zone name → (hour start → its offset, or null when the hour holds a transition). */
const zoneHours = new Map<string, Map<number, ZoneHour | null>>();
/** Zone name → does luxon treat it as an IANA zone (the only kind cached)? */
const ianaZones = new Map<string, boolean>();
/** Wall-clock day (ms of its UTC-read midnight) → "ccc d LLL yyyy". */
const dayLabels = new Map<number, string>();
/** Minute of day → "HH:mm". */
const minuteLabels: Array<string | undefined> = [];

function isCachedZone(zone: string): boolean {
  let known = ianaZones.get(zone);
  if (known === undefined) {
    const dt = DateTime.fromMillis(0, { zone });
    known = dt.isValid && dt.zone instanceof IANAZone;
    if (ianaZones.size >= CACHE_LIMIT) ianaZones.clear();
    ianaZones.set(zone, known);
  }
  return known;
}

function zoneHour(zone: string, instant: number): ZoneHour | null {
  let hours = zoneHours.get(zone);
  if (!hours) {
    if (zoneHours.size >= 1_000) zoneHours.clear();
    hours = new Map();
    zoneHours.set(zone, hours);
  }
  const hour = Math.floor(instant / HOUR) * HOUR;
  let info = hours.get(hour);
  if (info === undefined) {
    const z = IANAZone.create(zone);
    const offset = z.offset(hour);
    info = offset === z.offset(hour + HOUR - 1) ? { hour, offset } : null;
    if (hours.size >= CACHE_LIMIT) hours.clear();
    hours.set(hour, info);
  }
  return info;
}

function zoneName(zone: string, info: ZoneHour): string | null {
  if (info.name === undefined) {
    const name = DateTime.fromMillis(info.hour, { zone }).toFormat('ZZZZ');
    info.name = name === DateTime.fromMillis(info.hour + HOUR - 1, { zone }).toFormat('ZZZZ') ? name : null;
  }
  return info.name;
}

/** `z.offset(instant)`, from the hour cache when the hour holds no transition (the same number). */
function offsetAt(zone: string, z: IANAZone, instant: number): number {
  const hour = isCachedZone(zone) ? zoneHour(zone, instant) : null;
  return hour ? hour.offset : z.offset(instant);
}

function dayLabel(wallDay: number): string {
  let label = dayLabels.get(wallDay);
  if (label === undefined) {
    label = DateTime.fromMillis(wallDay, { zone: 'utc' }).toFormat('ccc d LLL yyyy');
    if (dayLabels.size >= CACHE_LIMIT) dayLabels.clear();
    dayLabels.set(wallDay, label);
  }
  return label;
}

function minuteLabel(minuteOfDay: number): string {
  let label = minuteLabels[minuteOfDay];
  if (label === undefined) {
    label = DateTime.fromMillis(minuteOfDay * MINUTE, { zone: 'utc' }).toFormat('HH:mm');
    minuteLabels[minuteOfDay] = label;
  }
  return label;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/** luxon's `toISO({ suppressMilliseconds: true })` for an IANA zone (whose offset is never rendered "Z"). */
function isoLocal(wall: Date, offset: number): string {
  const ms = wall.getUTCMilliseconds();
  const o = offset < 0 ? -offset : offset;
  return (
    `${String(wall.getUTCFullYear()).padStart(4, '0')}-${pad2(wall.getUTCMonth() + 1)}-${pad2(wall.getUTCDate())}` +
    `T${pad2(wall.getUTCHours())}:${pad2(wall.getUTCMinutes())}:${pad2(wall.getUTCSeconds())}` +
    (ms !== 0 ? `.${String(ms).padStart(3, '0')}` : '') +
    `${offset < 0 ? '-' : '+'}${pad2(Math.trunc(o / 60))}:${pad2(Math.trunc(o % 60))}`
  );
}

/** The slot in UTC and in the viewer's zone (same bytes as `renderIntervalWithLuxon`). */
export function renderInterval(i: Interval, viewerZone: string): RenderedSlot {
  if (!isCachedZone(viewerZone)) return renderIntervalWithLuxon(i, viewerZone);
  const zs = zoneHour(viewerZone, i.start);
  const ze = zoneHour(viewerZone, i.end);
  const name = zs && ze ? zoneName(viewerZone, zs) : null;
  // Both ends in one offset (the usual case); a slot across a change is rendered by luxon.
  if (!zs || !ze || name === null || zs.offset !== ze.offset) return renderIntervalWithLuxon(i, viewerZone);
  const s = new Date(i.start + zs.offset * MINUTE);
  const e = new Date(i.end + ze.offset * MINUTE);
  const sYear = s.getUTCFullYear();
  const eYear = e.getUTCFullYear();
  if (sYear < 0 || sYear > 9999 || eYear < 0 || eYear > 9999) return renderIntervalWithLuxon(i, viewerZone);
  const sWall = s.getTime();
  const sDay = Math.floor(sWall / DAY) * DAY;
  const eMinute = Math.floor((e.getTime() - Math.floor(e.getTime() / DAY) * DAY) / MINUTE);
  return {
    startsAt: new Date(i.start).toISOString(),
    endsAt: new Date(i.end).toISOString(),
    local: {
      timeZone: viewerZone,
      startsAt: isoLocal(s, zs.offset),
      endsAt: isoLocal(e, ze.offset),
      label: `${dayLabel(sDay)}, ${minuteLabel(Math.floor((sWall - sDay) / MINUTE))}–${minuteLabel(eMinute)} (${name})`,
    },
  };
}
