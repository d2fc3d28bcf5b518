import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';
import { bookCalendarSession } from './helpers/calendar-booking.ts';
import { insertDemoMentoring } from './helpers/sessions.ts';

// The feed's ETag is computed from the data before rendering: an unchanged feed
// answers 304, and anything rendered into the feed changes the ETag.
const Z = (iso: string) => Date.parse(iso);
const DAY = 86_400_000;

t.test('calendar feed ETag follows everything the feed renders', async (t) => {
  let now = Z('2026-03-02T08:00:00Z');
  const { url, demo, app, db, login } = await startTestApp(t, { clock: { now: () => new Date(now) } });
  const [student, mentor] = await Promise.all([login(demo.student), login(demo.mentor)]);
  const id = await bookCalendarSession(t, { url, demo, db }, { student, mentor });
  const feedPath = new URL((await api(url, 'GET', '/calendar/feed', student)).body.url).pathname;

  const fetchFeed = async (etag?: string) => {
    const res = await fetch(`${url}${feedPath}`, { headers: etag ? { 'if-none-match': etag } : {} });
    return { status: res.status, etag: res.headers.get('etag')!, body: await res.text() };
  };
  /** The current ETag must differ from `old`, a request with `old` gets the new body, and the new ETag gets 304. */
  const expectChanged = async (old: string, what: string, body?: RegExp) => {
    const changed = await fetchFeed(old);
    t.equal(changed.status, 200, `${what}: 200 with the old ETag`);
    t.not(changed.etag, old, `${what}: new ETag`);
    if (body) t.match(changed.body, body, `${what}: rendered`);
    const again = await fetchFeed(changed.etag);
    t.equal(again.status, 304, `${what}: 304 with the new ETag`);
    t.equal(again.etag, changed.etag);
    return changed;
  };

  const first = await fetchFeed();
  t.equal(first.status, 200);
  t.match(first.etag, /^"[A-Za-z0-9_-]{32}"$/, 'a strong ETag, as before');
  const unchanged = await fetchFeed(first.etag);
  t.equal(unchanged.status, 304, 'unchanged feed: 304');
  t.equal(unchanged.body, '');
  t.equal(unchanged.etag, first.etag, 'the 304 carries the same ETag');
  t.equal((await fetchFeed(`W/${first.etag}`)).status, 304, 'If-None-Match compares weakly');
  t.equal((await fetchFeed(`"other", ${first.etag}`)).status, 304, 'a list of ETags');
  t.equal((await fetchFeed('"other"')).status, 200);
  const same = await fetchFeed();
  t.equal(same.etag, first.etag, 'same data, same ETag');
  t.equal(same.body, first.body, 'same ETag, same bytes');

  // A participant renames themselves: SUMMARY changes.
  await db.execute('UPDATE users SET name = $2 WHERE id = $1', [demo.mentor.id, 'Renamed Mentor']);
  const renamed = await expectChanged(first.etag, "the mentor's new name", /Renamed Mentor/);

  // The owner of the feed renames themselves: X-WR-CALNAME and SUMMARY change.
  await db.execute('UPDATE users SET name = $2 WHERE id = $1', [demo.student.id, 'Renamed Student']);
  const ownName = await expectChanged(renamed.etag, "the owner's new name", /NAME:Mentor Live: Renamed Student/);

  // The project is renamed: SUMMARY and DESCRIPTION change.
  await db.execute('UPDATE projects SET title = $2 WHERE id = $1', [demo.projectIds[2], 'A renamed project']);
  const project = await expectChanged(ownName.etag, 'a renamed project', /A renamed project/);

  // A reschedule: new times, SEQUENCE + 1.
  now = Z('2026-03-02T09:00:00Z');
  t.equal((await api(url, 'POST', `/sessions/${id}/reschedule`, mentor, { startsAt: '2026-03-05T09:15:00Z' })).status, 200);
  const moved = await expectChanged(project.etag, 'a reschedule', /DTSTART:20260305T091500Z/);

  // A session far beyond the global booking horizon (a host may allow 366 days): the feed has no end, it is in at once.
  t.ok(200 > app.config.scheduling.bookingHorizonDays);
  const later = now + 200 * DAY + 30 * 60_000;
  await insertDemoMentoring(db, demo, { startsAt: new Date(later), endsAt: new Date(later + 45 * 60_000), projectIndex: 2 });
  const entered = await expectChanged(moved.etag, 'a session 200 days ahead');
  t.equal(entered.body.match(/BEGIN:VEVENT/g)?.length, 2);

  // The day rolls over with nothing else changing.
  now = Z('2026-03-03T00:00:01Z');
  await expectChanged(entered.etag, 'the next day');

  // Cancellation: STATUS:CANCELLED.
  const before = await fetchFeed();
  t.equal((await api(url, 'POST', `/sessions/${id}/cancel`, student, {})).status, 200);
  await expectChanged(before.etag, 'a cancellation', /STATUS:CANCELLED/);

  // Unknown token: 404 whatever the headers.
  t.equal((await fetch(`${url}/calendar/${'x'.repeat(32)}.ics`, { headers: { 'if-none-match': before.etag } })).status, 404);
});
