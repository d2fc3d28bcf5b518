import t from 'tap';
import {
  availabilityWindows,
  computeSlots,
  intersectAll,
  isSlotOffered,
  renderInterval,
  resolveWallTime,
  subtractIntervals,
  validateAvailability,
  type Availability,
  type Interval,
} from '../src/scheduling/availability.ts';
import { DomainError } from '../src/shared/errors.ts';

// Pure slot logic, no server: rules → windows → slots.
const Z = (iso: string) => Date.parse(iso);
const show = (list: Interval[]) => list.map((i) => `${new Date(i.start).toISOString()}/${new Date(i.end).toISOString()}`);
const avail = (timeZone: string, weekly: Availability['weekly'], extra: Partial<Availability> = {}): Availability => ({ timeZone, weekly, overrides: [], timeOff: [], ...extra });
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof DomainError ? err.code : `not a DomainError: ${String(err)}`;
  }
  return 'no error';
};

t.test('Europe/Paris: a Tuesday 18:00 rule stays 18:00 local across the March change', async (t) => {
  const a = avail('Europe/Paris', [{ weekday: 2, start: '18:00', end: '21:00' }]);
  const w = availabilityWindows(a, Z('2026-03-23T00:00:00Z'), Z('2026-04-02T00:00:00Z'));
  t.same(show(w), ['2026-03-24T17:00:00.000Z/2026-03-24T20:00:00.000Z', '2026-03-31T16:00:00.000Z/2026-03-31T19:00:00.000Z']);
  t.equal(renderInterval(w[0]!, 'Europe/Paris').local.startsAt, '2026-03-24T18:00:00+01:00');
  t.equal(renderInterval(w[1]!, 'Europe/Paris').local.startsAt, '2026-03-31T18:00:00+02:00');
});

t.test('Europe/Paris: the same rule across the October change', async (t) => {
  const a = avail('Europe/Paris', [{ weekday: 2, start: '18:00', end: '21:00' }]);
  const w = availabilityWindows(a, Z('2026-10-19T00:00:00Z'), Z('2026-10-29T00:00:00Z'));
  t.same(show(w), ['2026-10-20T16:00:00.000Z/2026-10-20T19:00:00.000Z', '2026-10-27T17:00:00.000Z/2026-10-27T20:00:00.000Z']);
});

t.test('Europe/Paris: non-existent local times resolve to the end of the gap', async (t) => {
  // 29 March 2026: 02:00 CET jumps to 03:00 CEST (01:00Z).
  t.equal(new Date(resolveWallTime({ year: 2026, month: 3, day: 29 }, 150, 'Europe/Paris')).toISOString(), '2026-03-29T01:00:00.000Z', '02:30 → 03:00 CEST');
  const sunday = (start: string, end: string) => availabilityWindows(avail('Europe/Paris', [{ weekday: 7, start, end }]), Z('2026-03-29T00:00:00Z') - 3_600_000, Z('2026-03-30T00:00:00Z'));
  t.same(show(sunday('01:30', '04:00')), ['2026-03-29T00:30:00.000Z/2026-03-29T02:00:00.000Z'], 'window spanning the gap lasts 1 h 30 real');
  t.same(show(sunday('02:30', '03:30')), ['2026-03-29T01:00:00.000Z/2026-03-29T01:30:00.000Z'], 'start inside the gap is clamped to 03:00');
  t.same(sunday('02:00', '02:45'), [], 'a window wholly inside the gap does not exist');
});

t.test('Europe/Paris: repeated local times resolve to their first occurrence', async (t) => {
  // 25 October 2026: 03:00 CEST falls back to 02:00 CET (01:00Z); 02:00–03:00 happens twice.
  t.equal(new Date(resolveWallTime({ year: 2026, month: 10, day: 25 }, 150, 'Europe/Paris')).toISOString(), '2026-10-25T00:30:00.000Z', '02:30 → first pass (CEST)');
  const w = availabilityWindows(avail('Europe/Paris', [{ weekday: 7, start: '02:30', end: '03:30' }]), Z('2026-10-24T00:00:00Z'), Z('2026-10-26T00:00:00Z'));
  t.same(show(w), ['2026-10-25T00:30:00.000Z/2026-10-25T02:30:00.000Z'], '02:30–03:30 lasts two real hours that night');
});

t.test('America/New_York: weekday rules across the March and November changes', async (t) => {
  const a = avail('America/New_York', [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '17:00' })));
  const march = availabilityWindows(a, Z('2026-03-06T00:00:00Z'), Z('2026-03-10T00:00:00Z'));
  t.same(show(march), ['2026-03-06T14:00:00.000Z/2026-03-06T22:00:00.000Z', '2026-03-09T13:00:00.000Z/2026-03-09T21:00:00.000Z']);
  const november = availabilityWindows(a, Z('2026-10-30T00:00:00Z'), Z('2026-11-03T00:00:00Z'));
  t.same(show(november), ['2026-10-30T13:00:00.000Z/2026-10-30T21:00:00.000Z', '2026-11-02T14:00:00.000Z/2026-11-02T22:00:00.000Z']);

  // Sunday 8 March: 02:00 EST → 03:00 EDT (07:00Z). Sunday 1 November: 02:00 EDT → 01:00 EST (06:00Z).
  const spring = availabilityWindows(avail('America/New_York', [{ weekday: 7, start: '02:15', end: '03:15' }]), Z('2026-03-08T00:00:00Z'), Z('2026-03-09T00:00:00Z'));
  t.same(show(spring), ['2026-03-08T07:00:00.000Z/2026-03-08T07:15:00.000Z']);
  const fall = availabilityWindows(avail('America/New_York', [{ weekday: 7, start: '01:30', end: '02:30' }]), Z('2026-11-01T00:00:00Z'), Z('2026-11-02T00:00:00Z'));
  t.same(show(fall), ['2026-11-01T05:30:00.000Z/2026-11-01T07:30:00.000Z'], '01:30 EDT (first pass) to 02:30 EST');
});

t.test('half-hour offsets: Asia/Kolkata host, America/Montreal viewer; Australia/Adelaide across its change', async (t) => {
  const a = avail('Asia/Kolkata', [{ weekday: 3, start: '13:30', end: '15:00' }]);
  const w = availabilityWindows(a, Z('2026-03-02T00:00:00Z'), Z('2026-03-09T00:00:00Z'));
  t.same(show(w), ['2026-03-04T08:00:00.000Z/2026-03-04T09:30:00.000Z']);
  const slots = computeSlots(w, { durationMinutes: 45, stepMinutes: 15, busy: [], bufferMinutes: 0, earliestStart: 0, latestStart: Infinity });
  t.same(show(slots), ['2026-03-04T08:00:00.000Z/2026-03-04T08:45:00.000Z', '2026-03-04T08:15:00.000Z/2026-03-04T09:00:00.000Z', '2026-03-04T08:30:00.000Z/2026-03-04T09:15:00.000Z', '2026-03-04T08:45:00.000Z/2026-03-04T09:30:00.000Z']);
  t.equal(renderInterval(slots[0]!, 'Asia/Kolkata').local.startsAt, '2026-03-04T13:30:00+05:30');
  t.equal(renderInterval(slots[0]!, 'America/Montreal').local.startsAt, '2026-03-04T03:00:00-05:00');
  t.match(renderInterval(slots[0]!, 'Asia/Kolkata').local.label, /Wed 4 Mar 2026, 13:30–14:15/);

  // Adelaide: +09:30, then +10:30 from Sunday 4 October 2026.
  const adl = availabilityWindows(avail('Australia/Adelaide', [6, 1].map((weekday) => ({ weekday, start: '09:00', end: '10:00' }))), Z('2026-10-02T00:00:00Z'), Z('2026-10-06T00:00:00Z'));
  t.same(show(adl), ['2026-10-02T23:30:00.000Z/2026-10-03T00:30:00.000Z', '2026-10-04T22:30:00.000Z/2026-10-04T23:30:00.000Z']);
});

t.test('date overrides replace a day; time off is cut out', async (t) => {
  const a = avail('Europe/Paris', [1, 2, 3].map((weekday) => ({ weekday, start: '09:00', end: '12:00' })), {
    overrides: [
      { date: '2026-06-01', intervals: [] },
      { date: '2026-06-02', intervals: [{ start: '14:00', end: '15:00' }] },
      { date: '2026-06-06', intervals: [{ start: '10:00', end: '11:00' }] },
    ],
    timeOff: [{ start: Z('2026-06-03T08:00:00Z'), end: Z('2026-06-03T09:00:00Z') }],
  });
  const w = availabilityWindows(a, Z('2026-06-01T00:00:00Z'), Z('2026-06-07T00:00:00Z'));
  t.same(show(w), [
    '2026-06-02T12:00:00.000Z/2026-06-02T13:00:00.000Z',
    '2026-06-03T07:00:00.000Z/2026-06-03T08:00:00.000Z',
    '2026-06-03T09:00:00.000Z/2026-06-03T10:00:00.000Z',
    '2026-06-06T08:00:00.000Z/2026-06-06T09:00:00.000Z',
  ]);
  t.same(show(subtractIntervals([{ start: 0, end: 10 }], [{ start: 2, end: 3 }, { start: 5, end: 20 }])).length, 2);
});

t.test('minimum notice, horizon, busy time and buffers', async (t) => {
  const windows = [{ start: Z('2026-06-02T07:00:00Z'), end: Z('2026-06-02T10:00:00Z') }];
  const base = { durationMinutes: 45, stepMinutes: 15, busy: [], bufferMinutes: 0, earliestStart: 0, latestStart: Infinity };
  t.equal(computeSlots(windows, base).length, 10, '07:00 … 09:15');
  const noticed = computeSlots(windows, { ...base, earliestStart: Z('2026-06-02T08:10:00Z') });
  t.equal(new Date(noticed[0]!.start).toISOString(), '2026-06-02T08:15:00.000Z', 'first slot after the notice, on the grid');
  const horizon = computeSlots(windows, { ...base, latestStart: Z('2026-06-02T07:30:00Z') });
  t.equal(horizon.length, 3, 'slots starting after the horizon are dropped');
  const session = { start: Z('2026-06-02T08:00:00Z'), end: Z('2026-06-02T08:45:00Z') };
  const busy = computeSlots(windows, { ...base, busy: [session] });
  t.same(show(busy).map((s) => s.slice(11, 16)), ['07:00', '07:15', '08:45', '09:00', '09:15']);
  const buffered = computeSlots(windows, { ...base, hostBusy: [session], bufferMinutes: 15 });
  t.same(show(buffered).map((s) => s.slice(11, 16)), ['07:00', '09:00', '09:15'], 'the host keeps 15 minutes either side');
  t.ok(isSlotOffered(windows, Z('2026-06-02T09:15:00Z'), base));
  t.notOk(isSlotOffered(windows, Z('2026-06-02T09:20:00Z'), base), 'off the grid');
  t.notOk(isSlotOffered(windows, Z('2026-06-02T09:30:00Z'), base), 'would end after the window');
});

t.test('a jury panel: the intersection of several calendars', async (t) => {
  const from = Z('2026-03-02T00:00:00Z');
  const to = Z('2026-03-03T00:00:00Z');
  const kolkata = availabilityWindows(avail('Asia/Kolkata', [{ weekday: 1, start: '17:30', end: '21:30' }]), from, to); // 12:00–16:00Z
  const newYork = availabilityWindows(avail('America/New_York', [{ weekday: 1, start: '09:00', end: '17:00' }]), from, to); // 14:00–22:00Z
  const both = intersectAll([kolkata, newYork]);
  t.same(show(both), ['2026-03-02T14:00:00.000Z/2026-03-02T16:00:00.000Z']);
  const slots = computeSlots(both, { durationMinutes: 90, stepMinutes: 15, busy: [{ start: Z('2026-03-02T14:00:00Z'), end: Z('2026-03-02T14:15:00Z') }], bufferMinutes: 0, earliestStart: 0, latestStart: Infinity });
  t.same(show(slots), ['2026-03-02T14:15:00.000Z/2026-03-02T15:45:00.000Z', '2026-03-02T14:30:00.000Z/2026-03-02T16:00:00.000Z']);
});

t.test('bad rules are refused with precise codes', async (t) => {
  const ok = { timeZone: 'Europe/Paris', weekly: [{ weekday: 1, start: '09:00', end: '12:00' }], overrides: [] };
  t.equal(codeOf(() => validateAvailability(ok)), 'no error');
  t.equal(codeOf(() => validateAvailability({ ...ok, timeZone: 'Mars/Olympus' })), 'unknown_time_zone');
  t.equal(codeOf(() => validateAvailability({ ...ok, timeZone: '+02:00' })), 'unknown_time_zone');
  t.equal(codeOf(() => validateAvailability({ ...ok, weekly: [{ weekday: 1, start: '12:00', end: '09:00' }] })), 'end_before_start');
  t.equal(
    codeOf(() => validateAvailability({ ...ok, weekly: [{ weekday: 1, start: '09:00', end: '12:00' }, { weekday: 1, start: '11:00', end: '13:00' }] })),
    'overlapping_rules',
  );
  t.equal(codeOf(() => validateAvailability({ ...ok, weekly: [{ weekday: 1, start: '09:00', end: '12:00' }, { weekday: 1, start: '12:00', end: '13:00' }] })), 'no error', 'back to back is fine');
  t.equal(codeOf(() => validateAvailability({ ...ok, weekly: [{ weekday: 8, start: '09:00', end: '12:00' }] })), 'invalid_weekday');
  t.equal(codeOf(() => validateAvailability({ ...ok, overrides: [{ date: '2026-02-30', intervals: [] }] })), 'invalid_date');
  t.equal(codeOf(() => validateAvailability({ ...ok, overrides: [{ date: '2026-02-03', intervals: [{ start: '9:00', end: '10:00' }] }] })), 'invalid_time');
});
