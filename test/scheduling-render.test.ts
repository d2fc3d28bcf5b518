import t from 'tap';
import { renderInterval, renderIntervalWithLuxon } from '../src/scheduling/availability.ts';

// renderInterval caches zone offsets and abbreviations per hour; its output must
// be byte-for-byte what plain luxon renders, on both sides of every transition.
const MINUTE = 60_000;
const zones = [
  'Europe/Paris', // 1 h DST, transitions at 01:00Z
  'America/New_York',
  'America/St_Johns', // -03:30 / -02:30
  'Australia/Lord_Howe', // 30-minute DST, transition at 15:30Z
  'Asia/Kathmandu', // +05:45
  'Pacific/Chatham', // +12:45 / +13:45
  'Antarctica/Troll', // 2 h DST
  'Europe/Dublin', // negative DST in tzdata
  'Asia/Kolkata',
  'Etc/UTC', // an IANA zone at offset 0: "+00:00", not "Z"
  'UTC', // luxon's fixed UTC zone: "Z"
  'Etc/GMT+5',
];
// Both 2026 transition seasons of both hemispheres, every 37 min 11 s (odd seconds, minutes and hours).
const ranges: Array<[string, string]> = [
  ['2026-03-27T00:00:00Z', '2026-04-06T00:00:00Z'],
  ['2026-09-26T00:00:00Z', '2026-10-06T00:00:00Z'],
  ['2026-10-24T00:00:00Z', '2026-11-03T00:00:00Z'],
  ['2026-03-06T00:00:00Z', '2026-03-10T00:00:00Z'],
];

t.test('renderInterval renders exactly what luxon renders', async (t) => {
  for (const zone of zones) {
    let compared = 0;
    const mismatches: string[] = [];
    for (const [from, to] of ranges) {
      for (let s = Date.parse(from); s < Date.parse(to); s += 37 * MINUTE + 11_000) {
        for (const duration of [45 * MINUTE, 1_500]) {
          const i = { start: s, end: s + duration };
          const fast = JSON.stringify(renderInterval(i, zone));
          const luxon = JSON.stringify(renderIntervalWithLuxon(i, zone));
          compared++;
          if (fast !== luxon && mismatches.length < 3) mismatches.push(`${fast} ≠ ${luxon}`);
        }
      }
    }
    t.same(mismatches, [], `${zone}: ${compared} intervals`);
  }
});

t.test('around a transition, in detail', async (t) => {
  // Paris springs forward at 01:00Z on 29 March 2026: 01:59:59 CET is followed by 03:00 CEST.
  const before = renderInterval({ start: Date.parse('2026-03-29T00:15:00Z'), end: Date.parse('2026-03-29T01:00:00Z') }, 'Europe/Paris');
  t.equal(before.local.startsAt, '2026-03-29T01:15:00+01:00');
  t.equal(before.local.endsAt, '2026-03-29T03:00:00+02:00');
  t.match(before.local.label, /^Sun 29 Mar 2026, 01:15 \((GMT\+1|CET)\)–03:00 \((GMT\+2|CEST)\)$/, 'each end with its own offset');
  const after = renderInterval({ start: Date.parse('2026-03-29T01:00:00Z'), end: Date.parse('2026-03-29T01:45:00.250Z') }, 'Europe/Paris');
  t.equal(after.local.startsAt, '2026-03-29T03:00:00+02:00');
  t.equal(after.local.endsAt, '2026-03-29T03:45:00.250+02:00');
  t.equal(renderInterval({ start: 0, end: MINUTE }, 'Etc/UTC').local.startsAt, '1970-01-01T00:00:00+00:00');
  t.equal(renderInterval({ start: 0, end: MINUTE }, 'UTC').local.startsAt, '1970-01-01T00:00:00Z');
});

t.test('a slot across a change shows both ends with their own offsets (issue 20)', async (t) => {
  // Paris falls back at 01:00Z on 25 October 2026: 02:59 CEST is followed by 02:00 CET.
  const slot = { start: Date.parse('2026-10-25T00:15:00Z'), end: Date.parse('2026-10-25T01:00:00Z') };
  const fast = renderInterval(slot, 'Europe/Paris');
  t.match(fast.local.label, /^Sun 25 Oct 2026, 02:15 \((GMT\+2|CEST)\)–02:00 \((GMT\+1|CET)\)$/, 'not "02:15–02:00 (GMT+2)"');
  t.same(fast, renderIntervalWithLuxon(slot, 'Europe/Paris'));
  // One offset throughout: one label suffix, as before.
  t.match(renderInterval({ start: Date.parse('2026-10-25T02:00:00Z'), end: Date.parse('2026-10-25T02:45:00Z') }, 'Europe/Paris').local.label, /^Sun 25 Oct 2026, 03:00–03:45 \((GMT\+1|CET)\)$/);
  // Lord Howe's half-hour change (15:30Z on 3 October 2026: Sunday 02:00 +10:30 → 02:30 +11).
  const lh = renderInterval({ start: Date.parse('2026-10-03T15:00:00Z'), end: Date.parse('2026-10-03T15:45:00Z') }, 'Australia/Lord_Howe');
  t.match(lh.local.label, /^Sun 4 Oct 2026, 01:30 \(GMT\+10:30\)–02:45 \(GMT\+11\)$/);
});
