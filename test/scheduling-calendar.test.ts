import t from 'tap';
import ICAL from 'ical.js';
import { api, startTestApp } from './helpers/app.ts';
import { bookCalendarSession } from './helpers/calendar-booking.ts';

// iCal feeds read back by an independent parser (ical.js): UID stays, SEQUENCE
// rises once per change, times move, cancelled events stay as CANCELLED.
const Z = (iso: string) => Date.parse(iso);

interface ParsedEvent {
  uid: string;
  sequence: number;
  status: string;
  start: string;
  end: string;
  stamp: string;
  lastModified: string;
  url: string;
  summary: string;
  description: string;
}

function parseFeed(text: string): ParsedEvent[] {
  const cal = new ICAL.Component(ICAL.parse(text));
  return cal.getAllSubcomponents('vevent').map((v) => {
    const e = new ICAL.Event(v);
    const time = (name: string) => (v.getFirstPropertyValue(name) as ICAL.Time).toJSDate().toISOString();
    return {
      uid: e.uid,
      sequence: e.sequence,
      status: String(v.getFirstPropertyValue('status')),
      start: e.startDate.toJSDate().toISOString(),
      end: e.endDate.toJSDate().toISOString(),
      stamp: time('dtstamp'),
      lastModified: time('last-modified'),
      url: String(v.getFirstPropertyValue('url')),
      summary: e.summary,
      description: e.description,
    };
  });
}

t.test('calendar feeds and per-session downloads', async (t) => {
  let now = Z('2026-03-02T08:00:00Z');
  const { url, demo, app, db, login } = await startTestApp(t, { clock: { now: () => new Date(now) } });
  const [student, mentor, otherToken] = await Promise.all([login(demo.student), login(demo.mentor), login(demo.soloStudent)]);
  const id = await bookCalendarSession(t, { url, demo, db }, { student, mentor });
  const uid = `${id}@mentor-live`;

  const feed = await api(url, 'GET', '/calendar/feed', student);
  t.equal(feed.status, 200);
  t.match(feed.body.url, new RegExp(`^${app.config.publicUrl}/calendar/[A-Za-z0-9_-]+\\.ics$`));
  t.equal((await api(url, 'GET', '/calendar/feed', student)).body.url, feed.body.url, 'stable until rotated');
  const feedPath = new URL(feed.body.url).pathname;
  const fetchFeed = (path = feedPath, headers: Record<string, string> = {}) => fetch(`${url}${path}`, { headers });

  const first = await fetchFeed();
  t.equal(first.status, 200);
  t.match(first.headers.get('content-type'), /^text\/calendar/);
  const etag1 = first.headers.get('etag')!;
  t.ok(etag1);
  const firstText = await first.text();
  t.match(firstText, /DTSTART:20260304T080000Z/, 'times in UTC, not floating');
  t.match(firstText, /UID:[^\r\n]*@mentor-live/);
  const [before] = parseFeed(firstText);
  t.ok(before);
  t.equal(before!.uid, uid);
  t.equal(before!.sequence, 0);
  t.equal(before!.status, 'CONFIRMED');
  t.equal(before!.start, '2026-03-04T08:00:00.000Z');
  t.equal(before!.end, '2026-03-04T08:45:00.000Z');
  t.equal(before!.stamp, '2026-03-02T08:00:00.000Z', 'DTSTAMP is the revision time');
  t.equal(before!.lastModified, '2026-03-02T08:00:00.000Z');
  t.equal(before!.url, `${app.config.publicUrl}/#/sessions/${id}`);
  t.match(before!.summary, /Make a site dynamic with JavaScript/);
  t.match(before!.description, /Join: /);

  const unchanged = await fetchFeed(feedPath, { 'if-none-match': etag1 });
  t.equal(unchanged.status, 304, 'If-None-Match with the current ETag');
  t.equal(await unchanged.text(), '');

  // Reschedule: same UID, SEQUENCE + 1, new times, new revision.
  now = Z('2026-03-02T09:00:00Z');
  t.equal((await api(url, 'POST', `/sessions/${id}/reschedule`, mentor, { startsAt: '2026-03-05T09:15:00Z' })).status, 200);
  const second = await fetchFeed(feedPath, { 'if-none-match': etag1 });
  t.equal(second.status, 200, 'a change invalidates the ETag');
  const etag2 = second.headers.get('etag')!;
  t.not(etag2, etag1);
  const [moved] = parseFeed(await second.text());
  t.equal(moved!.uid, uid);
  t.equal(moved!.sequence, 1);
  t.equal(moved!.status, 'CONFIRMED');
  t.equal(moved!.start, '2026-03-05T09:15:00.000Z');
  t.equal(moved!.end, '2026-03-05T10:00:00.000Z');
  t.equal(moved!.lastModified, '2026-03-02T09:00:00.000Z');

  // The mentor's feed shows the same event.
  const mentorFeed = await api(url, 'GET', '/calendar/feed', mentor);
  const [mentorEvent] = parseFeed(await (await fetchFeed(new URL(mentorFeed.body.url).pathname)).text());
  t.equal(mentorEvent!.uid, uid);
  t.equal(mentorEvent!.sequence, 1);

  // Cancel: the event stays, CANCELLED, SEQUENCE + 1.
  now = Z('2026-03-02T10:00:00Z');
  t.equal((await api(url, 'POST', `/sessions/${id}/cancel`, student, {})).status, 200);
  const third = await fetchFeed();
  const events = parseFeed(await third.text());
  t.equal(events.length, 1);
  t.equal(events[0]!.uid, uid);
  t.equal(events[0]!.sequence, 2);
  t.equal(events[0]!.status, 'CANCELLED');
  t.equal(events[0]!.start, '2026-03-05T09:15:00.000Z');
  t.equal(events[0]!.lastModified, '2026-03-02T10:00:00.000Z');
  const row = await db.one<{ sequence: number }>('SELECT sequence FROM sessions WHERE id = $1', [id]);
  t.equal(row!.sequence, 2, 'SEQUENCE comes from the database');

  // Per-session download.
  const single = await fetch(`${url}/sessions/${id}/calendar.ics`, { headers: { authorization: `Bearer ${mentor}` } });
  t.equal(single.status, 200);
  t.match(single.headers.get('content-disposition'), /attachment; filename="session-.*\.ics"/);
  const [one] = parseFeed(await single.text());
  t.equal(one!.uid, uid);
  t.equal(one!.status, 'CANCELLED');
  t.equal((await fetch(`${url}/sessions/${id}/calendar.ics`)).status, 401);
  t.equal((await fetch(`${url}/sessions/${id}/calendar.ics`, { headers: { authorization: `Bearer ${otherToken}` } })).status, 404, "someone else's session");

  // Rotation: the old URL stops working at once.
  const rotated = await api(url, 'POST', '/calendar/feed/rotate', student);
  t.equal(rotated.status, 200);
  t.not(rotated.body.url, feed.body.url);
  const old = await fetchFeed();
  t.equal(old.status, 404);
  t.match(old.headers.get('content-type'), /^application\/problem\+json/);
  t.equal(((await old.json()) as { code: string }).code, 'feed_not_found');
  t.equal((await fetchFeed(new URL(rotated.body.url).pathname)).status, 200);
  t.equal((await fetchFeed('/calendar/nonsense')).status, 404);
});
