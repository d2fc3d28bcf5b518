import { createHash } from 'node:crypto';
import t from 'tap';
import ICAL from 'ical.js';
import { api, startTestApp } from './helpers/app.ts';
import { hashPassword } from '../src/auth/index.ts';

// Scheduling never says yes to the wrong thing (issue 20): concurrent defences of
// one student, impossible dates, coerced JSON types, zone spellings, projects
// not unlocked, feeds that leave out far sessions, strict iCalendar output,
// per-session ETags and hashed feed tokens. Through the real server, PostgreSQL
// and Redis, with an injected clock.
const Z = (iso: string) => Date.parse(iso);
const DAY = 86_400_000;

/** RFC 5545 as a strict reader sees it: CRLF line ends, 75-octet lines, TEXT values escaped. */
function strictIcalProblems(body: string): string[] {
  const problems: string[] = [];
  if (!body.endsWith('\r\n')) problems.push('the body does not end with CRLF');
  if (/\r(?!\n)|(?<!\r)\n/.test(body)) problems.push('a line break that is not CRLF');
  const physical = body.split('\r\n').slice(0, -1);
  for (const line of physical) if (Buffer.byteLength(line) > 75) problems.push(`a line over 75 octets: ${line}`);
  const logical: string[] = [];
  for (const line of physical) {
    if (line.startsWith(' ') || line.startsWith('\t')) logical[logical.length - 1] += line.slice(1);
    else logical.push(line);
  }
  const TEXT = new Set(['NAME', 'X-WR-CALNAME', 'X-WR-CALDESC', 'SUMMARY', 'DESCRIPTION', 'LOCATION', 'COMMENT']);
  for (const line of logical) {
    const m = /^([A-Z-]+)((?:;[^:]*)?):(.*)$/.exec(line);
    if (!m) {
      problems.push(`not a content line: ${line}`);
      continue;
    }
    if (!TEXT.has(m[1]!)) continue;
    // Outside escape sequences, a TEXT value holds no raw comma or semicolon, and a backslash escapes only \ ; , n N.
    const rest = m[3]!.replace(/\\[\\;,nN]/g, '');
    if (/[,;\\]/.test(rest)) problems.push(`unescaped TEXT in ${m[1]}: ${m[3]}`);
  }
  return problems;
}

t.test('scheduling integrity over HTTP', async (t) => {
  let now = Z('2027-01-04T08:00:00Z'); // Monday
  const clock = { now: () => new Date(now) };
  const { url, demo, db, login } = await startTestApp(t, { clock });
  const [student, mentor, coordinator, jury1, jury2] = await Promise.all([
    login(demo.student),
    login(demo.mentor),
    login(demo.coordinator),
    login(demo.jury[0]),
    login(demo.jury[1]),
  ]);
  // A second premium_plus student of the mentor, for mentoring bookings (the demo student will be a defence candidate).
  const other = (await db.one<{ id: string }>(
    `INSERT INTO users (email, name, role, time_zone, password_hash) VALUES ('mentee@demo.school', 'Dupont, Jean; "JD"', 'student', 'Europe/Paris', $1) RETURNING id`,
    [await hashPassword('mentee-demo-1')],
  ))!;
  const otherEnrollment = (await db.one<{ id: string }>(
    `INSERT INTO enrollments (student_id, path_id, mentor_id, tier) VALUES ($1, $2, $3, 'premium_plus') RETURNING id`,
    [other.id, demo.pathId, demo.mentor.id],
  ))!;
  const progress = (i: number, state: string) =>
    db.execute('INSERT INTO project_progress (enrollment_id, project_id, state) VALUES ($1, $2, $3) ON CONFLICT (enrollment_id, project_id) DO UPDATE SET state = EXCLUDED.state', [
      otherEnrollment.id,
      demo.projectIds[i],
      state,
    ]);
  await progress(0, 'validated');
  await progress(1, 'in_progress');
  const mentee = await login({ email: 'mentee@demo.school', password: 'mentee-demo-1' });
  const book = (startsAt: unknown, projectId: unknown = demo.projectIds[1]) => api(url, 'POST', '/sessions', mentee, { startsAt, projectId });

  // The mentor is open every weekday 09:00–17:00 in Paris and lets students book up to a year ahead.
  const putMentor = (body: Record<string, unknown>) =>
    api(url, 'PUT', `/hosts/${demo.mentor.id}/availability`, mentor, {
      timeZone: 'Europe/Paris',
      bufferMinutes: 15,
      horizonDays: 366,
      weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '17:00' })),
      ...body,
    });
  t.equal((await putMentor({})).status, 200);

  t.test('20 defences of one student sent at once, at 20 different times: exactly one 201', async (t) => {
    for (const [id, token] of [
      [demo.jury[0].id, jury1],
      [demo.jury[1].id, jury2],
    ] as const) {
      const res = await api(url, 'PUT', `/hosts/${id}/availability`, token, {
        timeZone: 'UTC',
        bufferMinutes: 0,
        weekly: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '24:00' })),
      });
      t.equal(res.status, 200);
    }
    await db.execute(`UPDATE project_progress SET state = 'validated' WHERE enrollment_id = $1`, [demo.enrollmentId]);
    const starts = Array.from({ length: 20 }, (_, i) => new Date(Z('2027-01-11T06:00:00Z') + i * 5 * 3_600_000).toISOString());
    const results = await Promise.all(
      starts.map((startsAt) => api(url, 'POST', '/defences', coordinator, { studentId: demo.student.id, juryIds: [demo.jury[0].id, demo.jury[1].id], startsAt })),
    );
    const created = results.filter((r) => r.status === 201);
    t.equal(created.length, 1, 'one 201');
    t.same(
      [...new Set(results.filter((r) => r.status !== 201).map((r) => `${r.status} ${r.body.code}`))],
      ['409 defence_already_scheduled'],
      'the 19 others: 409 defence_already_scheduled',
    );
    const rows = await db.query(
      `SELECT s.id FROM sessions s JOIN enrollments e ON e.id = s.enrollment_id WHERE e.student_id = $1 AND s.kind = 'defence' AND s.status = 'scheduled'`,
      [demo.student.id],
    );
    t.equal(rows.length, 1, 'one defence in the database');

    // Once it is cancelled, a new one may be scheduled.
    t.equal((await api(url, 'POST', `/sessions/${created[0]!.body.id}/cancel`, coordinator, {})).status, 200);
    const next = await api(url, 'POST', '/defences', coordinator, { studentId: demo.student.id, juryIds: [demo.jury[0].id, demo.jury[1].id], startsAt: starts[3] });
    t.equal(next.status, 201, 'a new defence after the cancellation');
  });

  t.test('impossible dates are refused everywhere with invalid_date and the field name', async (t) => {
    const cases: Array<[string, Promise<{ status: number; body: any }>, string]> = [
      ['booking', book('2027-02-30T10:00:00Z'), 'startsAt'],
      ['booking, 31 April', book('2027-04-31T08:00:00Z'), 'startsAt'],
      ['booking, month 13', book('2027-13-01T08:00:00Z'), 'startsAt'],
      ['booking, 24:00', book('2027-01-05T24:00:00Z'), 'startsAt'],
      ['booking, minute 60', book('2027-01-05T08:60:00Z'), 'startsAt'],
      ['booking, offset +25:00', book('2027-01-05T08:00:00+25:00'), 'startsAt'],
      ['booking, 29 February of a common year', book('2027-02-29T08:00:00Z'), 'startsAt'],
      ['time off start', api(url, 'POST', `/hosts/${demo.mentor.id}/time-off`, mentor, { startsAt: '2027-02-31T00:00:00Z', endsAt: '2027-03-04T00:00:00Z' }), 'startsAt'],
      ['time off end', api(url, 'POST', `/hosts/${demo.mentor.id}/time-off`, mentor, { startsAt: '2027-02-01T00:00:00Z', endsAt: '2027-02-31T00:00:00Z' }), 'endsAt'],
      ['slot search', api(url, 'GET', `/hosts/${demo.mentor.id}/slots?from=2027-02-30T00:00:00Z&to=2027-03-03T00:00:00Z`, mentee), 'from'],
      [
        'defence slot search',
        api(url, 'GET', `/defences/slots?studentId=${demo.student.id}&juryIds=${demo.jury[0].id}&juryIds=${demo.jury[1].id}&from=2027-01-11T00:00:00Z&to=2027-02-30T00:00:00Z`, coordinator),
        'to',
      ],
      ['override', putMentor({ overrides: [{ date: '2027-02-30', intervals: [] }] }), 'overrides.date'],
    ];
    for (const [what, pending, field] of cases) {
      const res = await pending;
      t.equal(res.status, 400, `${what}: 400`);
      t.equal(res.body.code, 'invalid_date', `${what}: invalid_date`);
      t.equal(res.body.details?.field, field, `${what}: names ${field}`);
      t.match(res.body.detail, field, `${what}: the message names ${field}`);
    }
    const rows = await db.query('SELECT 1 FROM time_off');
    t.equal(rows.length, 0, 'no time off stored');
    const sessions = await db.query(`SELECT 1 FROM sessions WHERE kind = 'mentoring'`);
    t.equal(sessions.length, 0, 'no session booked');
    // A reschedule to an impossible date too.
    const booked = await book('2027-01-05T08:00:00Z');
    t.equal(booked.status, 201);
    const moved = await api(url, 'POST', `/sessions/${booked.body.id}/reschedule`, mentee, { startsAt: '2027-02-30T09:00:00Z' });
    t.equal(moved.status, 400);
    t.equal(moved.body.code, 'invalid_date');
    t.equal(moved.body.details.field, 'startsAt');
    // Malformed (not a date at all) keeps its own code; a real date still works.
    t.equal((await book('2027-01-05T09:00:00')).body.code, 'invalid_instant', 'no offset');
    t.equal((await book('next tuesday')).body.code, 'invalid_instant');
    t.equal((await api(url, 'POST', `/sessions/${booked.body.id}/cancel`, mentee, {})).status, 200);
  });

  t.test('errors about time off name its own fields', async (t) => {
    const backwards = await api(url, 'POST', `/hosts/${demo.mentor.id}/time-off`, mentor, { startsAt: '2027-01-10T09:00:00Z', endsAt: '2027-01-10T08:00:00Z' });
    t.equal(backwards.status, 400);
    t.equal(backwards.body.code, 'end_before_start');
    t.match(backwards.body.detail, /endsAt must be after startsAt/);
    t.notMatch(backwards.body.detail, /\bfrom\b/);
    const bad = await api(url, 'POST', `/hosts/${demo.mentor.id}/time-off`, mentor, { startsAt: 'soon', endsAt: '2027-01-10T08:00:00Z' });
    t.equal(bad.body.code, 'invalid_instant');
    t.match(bad.body.detail, /^startsAt /);
  });

  t.test('JSON bodies are not coerced; query strings still are', async (t) => {
    const array = await book(['2027-01-05T08:00:00Z']);
    t.equal(array.status, 400, 'startsAt as an array');
    t.equal(array.body.code, 'validation_failed');
    const number = await book(1798531200000);
    t.equal(number.status, 400, 'startsAt as a number');
    t.equal(number.body.code, 'validation_failed');
    const weekday = await putMentor({ weekly: [{ weekday: '1', start: '09:00', end: '17:00' }] });
    t.equal(weekday.status, 400, 'weekday as a string');
    t.equal(weekday.body.code, 'validation_failed');
    const buffer = await putMentor({ bufferMinutes: '15' });
    t.equal(buffer.body.code, 'validation_failed', 'bufferMinutes as a string');
    const duration = await api(url, 'POST', '/defences', coordinator, { studentId: demo.student.id, juryIds: [demo.jury[0].id, demo.jury[1].id], startsAt: '2027-01-20T10:00:00Z', durationMinutes: '60' });
    t.equal(duration.body.code, 'validation_failed', 'durationMinutes as a string');
    const juryAsString = await api(url, 'POST', '/defences', coordinator, { studentId: demo.student.id, juryIds: demo.jury[0].id, startsAt: '2027-01-20T10:00:00Z' });
    t.equal(juryAsString.body.code, 'validation_failed', 'juryIds as a string');
    const reason = await api(url, 'POST', `/sessions/00000000-0000-4000-8000-000000000000/cancel`, mentee, { reason: 42 });
    t.equal(reason.body.code, 'validation_failed', 'reason as a number');
    t.equal((await db.query(`SELECT 1 FROM sessions WHERE kind = 'mentoring' AND status = 'scheduled'`)).length, 0, 'nothing booked');

    // Query strings are text: numbers, booleans and single array items are read as such.
    t.equal((await api(url, 'GET', '/sessions?includeCancelled=true', mentee)).status, 200);
    t.equal((await api(url, 'GET', '/notifications?limit=5', mentee)).status, 200);
    const slots = await api(
      url,
      'GET',
      `/defences/slots?studentId=${other.id}&juryIds=${demo.jury[0].id}&juryIds=${demo.jury[1].id}&from=2027-01-11T00:00:00Z&to=2027-01-12T00:00:00Z&durationMinutes=60`,
      coordinator,
    );
    t.equal(slots.status, 422, 'durationMinutes=60 read as a number (the candidate is then refused)');
    t.equal(slots.body.code, 'projects_not_validated');
    // And a well-typed body still books.
    const ok = await book('2027-01-05T08:00:00Z');
    t.equal(ok.status, 201);
    t.equal((await api(url, 'POST', `/sessions/${ok.body.id}/cancel`, mentee, {})).status, 200);
  });

  t.test('time-zone names: IANA spelling or refused, the same everywhere', async (t) => {
    const spellings: Array<[string, string]> = [
      ['europe/paris', 'Europe/Paris'],
      ['utc', 'UTC'],
      ['UTC', 'UTC'],
      ['AMERICA/NEW_YORK', 'America/New_York'],
      ['Asia/Kolkata', 'Asia/Kolkata'],
      ['Europe/Paris', 'Europe/Paris'],
    ];
    for (const [given, stored] of spellings) {
      const res = await putMentor({ timeZone: given });
      t.equal(res.status, 200, `${given} accepted`);
      t.equal(res.body.timeZone, stored, `${given} stored as ${stored}`);
      const row = await db.one<{ zone: string }>('SELECT time_zone AS zone FROM availability_settings WHERE user_id = $1', [demo.mentor.id]);
      t.equal(row!.zone, stored);
      const me = await api(url, 'PATCH', '/me', mentee, { timeZone: given });
      t.equal(me.status, 200);
      t.equal(me.body.timeZone, stored, `PATCH /me: ${given} → ${stored}`);
      const view = await api(url, 'GET', `/hosts/${demo.mentor.id}/slots?from=2027-01-05T00:00:00Z&to=2027-01-06T00:00:00Z&timeZone=${encodeURIComponent(given)}`, mentee);
      t.equal(view.status, 200);
      t.equal(view.body.viewerTimeZone, stored, `slot search: ${given} → ${stored}`);
    }
    for (const bad of ['Europe/Pariss', '+02:00', 'GMT', 'EST5EDT', 'europe/paris ', '', 'asia/kolkata', 'America/MONTREAL']) {
      const res = await putMentor({ timeZone: bad });
      t.equal(res.status, 400, `${JSON.stringify(bad)} refused`);
      t.equal(res.body.code, 'unknown_time_zone');
      t.equal((await api(url, 'PATCH', '/me', mentee, { timeZone: bad })).body.code, 'unknown_time_zone', `PATCH /me refuses ${JSON.stringify(bad)}`);
      const view = await api(url, 'GET', `/hosts/${demo.mentor.id}/slots?from=2027-01-05T00:00:00Z&to=2027-01-06T00:00:00Z&timeZone=${encodeURIComponent(bad)}`, mentee);
      t.equal(view.body.code, 'unknown_time_zone', `slot search refuses ${JSON.stringify(bad)}`);
    }
    t.equal((await putMentor({})).status, 200);
    t.equal((await api(url, 'PATCH', '/me', mentee, { timeZone: 'Europe/Paris' })).status, 200);
  });

  t.test('a mentoring session is about a project the student may work on now', async (t) => {
    const locked = await book('2027-01-05T08:00:00Z', demo.projectIds[3]);
    t.equal(locked.status, 422);
    t.equal(locked.body.code, 'project_locked');
    const validated = await book('2027-01-05T08:00:00Z', demo.projectIds[0]);
    t.equal(validated.status, 409);
    t.equal(validated.body.code, 'project_already_validated');
    const elsewhere = await book('2027-01-05T08:00:00Z', '00000000-0000-4000-8000-000000000000');
    t.equal(elsewhere.body.code, 'project_not_in_path');
    await progress(2, 'needs_revision');
    for (const [i, startsAt] of [
      [1, '2027-01-05T08:00:00Z'],
      [2, '2027-01-05T09:00:00Z'],
    ] as const) {
      const res = await book(startsAt, demo.projectIds[i]);
      t.equal(res.status, 201, `project ${i} (${i === 1 ? 'in progress' : 'to be revised'})`);
      t.equal((await api(url, 'POST', `/sessions/${res.body.id}/cancel`, mentee, {})).status, 200);
    }
    t.equal((await db.query(`SELECT 1 FROM sessions WHERE kind = 'mentoring' AND project_id = ANY($1::uuid[])`, [[demo.projectIds[0], demo.projectIds[3]]])).length, 0);
  });

  t.test('feeds list every booked session, 90 days ahead too, in both participants’ feeds; strict iCalendar', async (t) => {
    // Names and titles that need TEXT escaping everywhere they are rendered.
    await db.execute('UPDATE users SET name = $2 WHERE id = $1', [demo.mentor.id, 'Moreau; Julien, PhD \\ mentor']);
    await db.execute('UPDATE projects SET title = $2 WHERE id = $1', [demo.projectIds[1], 'Web page: HTML, CSS; and\nmore']);
    const far = new Date('2027-04-05T09:00:00Z'); // a Monday, 11:00 in Paris
    t.ok(far.getTime() - now > 90 * DAY, 'more than 90 days ahead');
    const booked = await book(far.toISOString());
    t.equal(booked.status, 201, 'the host’s horizon (366 days) allows 90 days ahead');
    const uid = `${booked.body.id}@mentor-live`;
    const feedOf = async (token: string) => {
      const path = new URL((await api(url, 'GET', '/calendar/feed', token)).body.url).pathname;
      const res = await fetch(`${url}${path}`);
      t.equal(res.status, 200);
      return { path, body: await res.text() };
    };
    for (const [who, token, calName] of [
      ['student', mentee, 'Mentor Live: Dupont, Jean; "JD"'],
      ['mentor', mentor, 'Mentor Live: Moreau; Julien, PhD \\ mentor'],
    ] as const) {
      const { body } = await feedOf(token);
      const cal = new ICAL.Component(ICAL.parse(body));
      const events = cal.getAllSubcomponents('vevent').map((v) => new ICAL.Event(v));
      const event = events.find((e) => e.uid === uid);
      t.ok(event, `${who}: the session 90 days ahead is in the feed`);
      t.equal(event?.startDate.toJSDate().toISOString(), far.toISOString());
      t.match(event?.summary, /Web page: HTML, CSS; and\nmore/, `${who}: the summary reads back as written`);
      // ical.js leaves X- properties raw: unescape RFC 5545 TEXT by hand.
      const unescape = (v: unknown) => String(v).replace(/\\([\\;,nN])/g, (_, c: string) => (c.toLowerCase() === 'n' ? '\n' : c));
      t.equal(unescape(cal.getFirstPropertyValue('x-wr-calname')), calName, `${who}: X-WR-CALNAME reads back as written`);
      t.match(body, `X-WR-CALNAME:${calName.replace(/[\\;,]/g, (c) => `\\${c}`)}`, `${who}: escaped`);
      t.same(strictIcalProblems(body), [], `${who}: strict RFC 5545`);
      t.match(body, /\r\nEND:VCALENDAR\r\n$/, `${who}: CRLF after END:VCALENDAR`);
      t.match(body, /X-WR-CALNAME:Mentor Live: /);
    }
    // Beyond the global 60-day horizon even when the session was moved there by hand.
    await db.execute(`UPDATE sessions SET starts_at = starts_at + interval '300 days', ends_at = ends_at + interval '300 days' WHERE id = $1`, [booked.body.id]);
    await db.execute(`UPDATE session_participants SET starts_at = starts_at + interval '300 days', ends_at = ends_at + interval '300 days' WHERE session_id = $1`, [booked.body.id]);
    t.match((await feedOf(mentor)).body, uid, 'a session 390 days ahead is in the feed too');

    // The per-session download: strict too, with an ETag that answers 304.
    const ics = (headers: Record<string, string> = {}) => fetch(`${url}/sessions/${booked.body.id}/calendar.ics`, { headers: { authorization: `Bearer ${mentee}`, ...headers } });
    const first = await ics();
    t.equal(first.status, 200);
    const etag = first.headers.get('etag')!;
    t.match(etag, /^"[A-Za-z0-9_-]+"$/);
    const body = await first.text();
    t.same(strictIcalProblems(body), [], 'per-session .ics: strict RFC 5545');
    const again = await ics({ 'if-none-match': etag });
    t.equal(again.status, 304, 'If-None-Match with the current ETag: 304');
    t.equal(await again.text(), '');
    t.equal(again.headers.get('etag'), etag);
    t.equal((await ics({ 'if-none-match': '"something-else"' })).status, 200);
    now += 60_000;
    t.equal((await api(url, 'POST', `/sessions/${booked.body.id}/cancel`, mentee, {})).status, 200);
    const changed = await ics({ 'if-none-match': etag });
    t.equal(changed.status, 200, 'a change: the old ETag gets the new body');
    t.match(await changed.text(), /STATUS:CANCELLED/);
    const stranger = await fetch(`${url}/sessions/${booked.body.id}/calendar.ics`, { headers: { authorization: `Bearer ${student}`, 'if-none-match': etag } });
    t.equal(stranger.status, 404, "someone else's session: 404, not 304");
  });

  t.test('feed tokens are stored hashed; the URL stays stable until rotated', async (t) => {
    const first = (await api(url, 'GET', '/calendar/feed', mentee)).body.url as string;
    const token = /\/calendar\/([^/]+)\.ics$/.exec(first)![1]!;
    t.equal((await api(url, 'GET', '/calendar/feed', mentee)).body.url, first, 'stable');
    const row = await db.one<Record<string, unknown>>('SELECT * FROM calendar_tokens WHERE user_id = $1', [other.id]);
    t.notMatch(JSON.stringify(row), token, 'the token itself is not stored');
    t.equal(row!.token_hash, createHash('sha256').update(token).digest('hex'), 'its SHA-256 is');
    const rotated = (await api(url, 'POST', '/calendar/feed/rotate', mentee)).body.url as string;
    t.not(rotated, first);
    t.equal((await fetch(`${url}${new URL(first).pathname}`)).status, 404, 'the old URL stops working');
    t.equal((await fetch(`${url}${new URL(rotated).pathname}`)).status, 200);
    t.equal((await api(url, 'GET', '/calendar/feed', mentee)).body.url, rotated, 'the new URL is shown again');
  });
});
