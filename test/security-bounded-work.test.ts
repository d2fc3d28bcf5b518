import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';

// Issue 13 "Unbounded work": slot searches have a maximum range and a maximum
// answer (the rest through a cursor), and the expensive routes are limited per
// user in Redis. Real server, real HTTP.
const Z = (iso: string) => Date.parse(iso);

t.test('slot search: bounded range, paginated answer, per-user rate limit', async (t) => {
  const now = Z('2026-03-02T08:00:00Z');
  const { url, demo, login } = await startTestApp(t, {
    clock: { now: () => new Date(now) },
    env: { SLOT_SEARCH_MAX_DAYS: '31', SLOT_SEARCH_MAX_SLOTS: '100', EXPENSIVE_RATE_LIMIT_PER_MINUTE: '8' },
  });
  const [mentor, coordinator] = await Promise.all([login(demo.mentor), login(demo.coordinator)]);
  // Always available: the worst case of the issue (a slot every 15 minutes, day and night).
  const put = await api(url, 'PUT', `/hosts/${demo.mentor.id}/availability`, mentor, {
    timeZone: 'UTC',
    bufferMinutes: 0,
    weekly: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '24:00' })),
  });
  t.equal(put.status, 200);
  const slots = (token: string, from: string, to: string, after?: string) =>
    api(
      url,
      'GET',
      `/hosts/${demo.mentor.id}/slots?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}${after ? `&after=${encodeURIComponent(after)}` : ''}`,
      token,
    );

  t.test('a range longer than SLOT_SEARCH_MAX_DAYS is a 400 range_too_long', async (t) => {
    const res = await slots(mentor, '2026-03-03T00:00:00Z', '2026-05-03T00:00:00Z');
    t.equal(res.status, 400);
    t.equal(res.body.code, 'range_too_long');
    t.match(res.headers.get('content-type'), /^application\/problem\+json/);
  });

  t.test('a day of slots comes in pages of SLOT_SEARCH_MAX_SLOTS, continued with next', async (t) => {
    // Two days of one continuous window: a 45-minute slot every 15 minutes = (48 h − 45 min) / 15 min + 1 = 190 slots.
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const res = await slots(mentor, '2026-03-03T00:00:00Z', '2026-03-05T00:00:00Z', after);
      t.equal(res.status, 200);
      t.ok(res.body.slots.length <= 100, 'never more than the maximum');
      seen.push(...res.body.slots.map((s: { startsAt: string }) => s.startsAt));
      after = res.body.next ?? undefined;
      pages++;
    } while (after !== undefined && pages < 5);
    t.equal(pages, 2, 'two pages');
    t.equal(seen.length, 190, 'every slot once');
    t.equal(new Set(seen).size, seen.length, 'no slot twice');
    t.same(seen, [...seen].sort(), 'in order');
    const short = await slots(mentor, '2026-03-03T00:00:00Z', '2026-03-03T12:00:00Z');
    t.equal(short.body.next, null, 'a complete answer has no next');
    const bad = await slots(mentor, '2026-03-03T00:00:00Z', '2026-03-04T00:00:00Z', 'yesterday');
    t.equal(bad.status, 400);
    t.equal(bad.body.code, 'invalid_instant');
  });

  t.test('concurrent searches of one user beyond the limit answer 429 with Retry-After; another user is not affected', async (t) => {
    const results = await Promise.all(Array.from({ length: 12 }, () => slots(coordinator, '2026-03-03T00:00:00Z', '2026-03-03T06:00:00Z')));
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    t.equal(ok.length, 8, 'EXPENSIVE_RATE_LIMIT_PER_MINUTE pass');
    t.equal(limited.length, 4, 'the rest are refused');
    for (const r of limited) {
      t.equal(r.body.code, 'expensive_rate_limited');
      t.match(r.headers.get('content-type'), /^application\/problem\+json/);
      t.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
    }
    // The CSV export shares the coordinator's bucket.
    const csv = await api(url, 'GET', `/attendance/export.csv?pathId=${demo.pathId}&from=2026-03-01T00:00:00Z&to=2026-03-31T00:00:00Z`, coordinator);
    t.equal(csv.status, 429);
    t.equal(csv.body.code, 'expensive_rate_limited');
    const other = await slots(mentor, '2026-03-03T00:00:00Z', '2026-03-03T06:00:00Z');
    t.equal(other.status, 200, 'the mentor has a bucket of their own');
  });
});
