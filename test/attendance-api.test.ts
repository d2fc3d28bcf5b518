import t from 'tap';
import { parse } from 'csv-parse/sync';
import { CSV_COLUMNS, exportAttendanceCsv, finalizedAttendance } from '../src/attendance/index.ts';
import type { DomainEventMap, DomainEventName } from '../src/events/index.ts';
import { api, startTestApp } from './helpers/app.ts';
import { insertDemoMentoring } from './helpers/sessions.ts';

/**
 * Attendance through its real seams: presence events on app.events (as rooms
 * emits them), the real BullMQ jobs, the HTTP reports. An injected clock
 * stands at chosen instants; every figure is checked to the second.
 */
t.test('attendance of a session, no-shows, finalize, corrections, CSV', async (t) => {
  const T0 = Math.floor(Date.now() / 1000) * 1000 - 6 * 3600_000; // S1 starts 6 h ago (whole second)
  let now = T0;
  const clock = { now: () => new Date(now) };
  const { app, url, db, demo, login } = await startTestApp(t, { clock });
  const service = app.attendance;
  const at = (s: number) => new Date(T0 + s * 1000);
  const isoAt = (s: number) => at(s).toISOString();

  const once = <K extends DomainEventName>(event: K, match: (p: DomainEventMap[K]) => boolean = () => true) =>
    new Promise<DomainEventMap[K]>((resolve) => {
      const off = app.events.on(event, (p) => {
        if (match(p)) {
          off();
          resolve(p);
        }
      });
    });
  const presence = async (sessionId: string, userId: string, type: DomainEventMap['room.presence']['type'], s: number, source?: 'mic' | 'webcam' | 'screen') => {
    app.events.emit('room.presence', { sessionId, userId, type, at: at(s), ...(source ? { source } : {}) });
    await app.events.drain();
  };
  const mentoring = (startS: number, endS: number) =>
    insertDemoMentoring(db, demo, { startsAt: at(startS), endsAt: at(endS) });

  const [student, mentor, coordinator, solo, jury] = await Promise.all([
    login(demo.student),
    login(demo.mentor),
    login(demo.coordinator),
    login(demo.soloStudent),
    login(demo.jury[0]),
  ]);

  // S1: one hour from T0. The mentor comes early; the student is 30 s late,
  // drops for 30 s, shares the screen 5 minutes and leaves 20 minutes early.
  const s1 = await mentoring(0, 3600);
  await presence(s1, demo.mentor.id, 'join', -120);
  await presence(s1, demo.mentor.id, 'producer_started', -100, 'webcam');
  await presence(s1, demo.student.id, 'join', 30);
  await presence(s1, demo.student.id, 'transport_connected', 32);
  await presence(s1, demo.student.id, 'producer_started', 40, 'webcam');
  await presence(s1, demo.student.id, 'disconnect', 600);
  await presence(s1, demo.student.id, 'reconnect', 630);
  await presence(s1, demo.student.id, 'producer_started', 1000, 'screen');
  await presence(s1, demo.student.id, 'producer_stopped', 1300, 'screen');
  await presence(s1, demo.student.id, 'leave', 2400);
  await presence(s1, demo.mentor.id, 'leave', 3630);

  const studentS1 = {
    status: 'left_early',
    late: false,
    leftEarly: true,
    presentNow: false,
    firstJoinAt: isoAt(30),
    lastLeaveAt: isoAt(2400),
    latenessSeconds: 30,
    attendedSeconds: 2370,
    networkGaps: 1,
    networkGapSeconds: 30,
    cameraSeconds: 560 + 1770,
    screenSeconds: 300,
    intervals: [{ from: isoAt(30), to: isoAt(2400), networkGaps: 1, networkGapSeconds: 30 }],
  };
  const mentorS1 = {
    status: 'present',
    firstJoinAt: isoAt(-120),
    lastLeaveAt: isoAt(3630),
    latenessSeconds: 0,
    attendedSeconds: 3750,
    networkGaps: 0,
    cameraSeconds: 3730,
    screenSeconds: 0,
  };

  t.test('live attendance is derived from the log to the second', async (t) => {
    now = T0 + 1200_000;
    const during = await api(url, 'GET', `/sessions/${s1}/attendance`, mentor);
    t.equal(during.status, 200);
    t.equal(during.body.state, 'live');
    const st = during.body.participants.find((p: { userId: string }) => p.userId === demo.student.id);
    t.equal(st.presentNow, true);
    t.equal(st.attendedSeconds, 1170, 'an open interval counts up to now');
    t.equal(st.lastLeaveAt, null);
    t.same(await service.presentNow(s1), [
      { userId: demo.mentor.id, name: demo.mentor.name, role: 'mentor', since: isoAt(-120), connected: true },
      { userId: demo.student.id, name: demo.student.name, role: 'student', since: isoAt(30), connected: true },
    ]);
    now = T0 + 615_000; // within the student's network gap
    t.same((await service.presentNow(s1)).map((p) => [p.userId, p.connected]), [
      [demo.mentor.id, true],
      [demo.student.id, false],
    ]);

    now = T0 + 3700_000;
    const res = await api(url, 'GET', `/sessions/${s1}/attendance`, student);
    t.equal(res.status, 200);
    t.equal(res.body.sessionId, s1);
    t.equal(res.body.startsAt, isoAt(0));
    t.match(res.body.participants.find((p: { userId: string }) => p.userId === demo.student.id), studentS1);
    t.match(res.body.participants.find((p: { userId: string }) => p.userId === demo.mentor.id), mentorS1);
  });

  t.test('only participants and coordinators read a session attendance', async (t) => {
    t.equal((await api(url, 'GET', `/sessions/${s1}/attendance`, coordinator)).status, 200);
    for (const outsider of [solo, jury]) {
      const res = await api(url, 'GET', `/sessions/${s1}/attendance`, outsider);
      t.equal(res.status, 404, 'another session is invisible, not just forbidden');
      t.equal(res.body.code, 'session_not_found');
    }
    t.equal((await api(url, 'GET', `/sessions/${s1}/attendance`)).status, 401);
  });

  let s2 = '';
  t.test('the no-show job marks whoever never joined, and coordinators see the count', async (t) => {
    // S2 starts at T0 + 2 h; the mentor joins, the student never does.
    s2 = await mentoring(7200, 10800);
    await presence(s2, demo.mentor.id, 'join', 7190);
    now = T0 + (7200 + 10 * 60) * 1000; // start + 10 minutes: the job is due now
    const marked = once('attendance.no_show', (p) => p.sessionId === s2);
    await service.scheduleSession(s2);
    t.same((await marked).userIds, [demo.student.id]);

    const res = await api(url, 'GET', `/sessions/${s2}/attendance`, mentor);
    const byUser = Object.fromEntries(res.body.participants.map((p: { userId: string }) => [p.userId, p]));
    t.equal(byUser[demo.student.id].status, 'no_show');
    t.equal(byUser[demo.student.id].noShowMarkedAt, new Date(now).toISOString());
    t.equal(byUser[demo.student.id].attendedSeconds, 0);
    t.equal(byUser[demo.mentor.id].status, 'present');
    t.equal(byUser[demo.mentor.id].noShowMarkedAt, null);

    const record = await api(url, 'GET', `/users/${demo.student.id}/attendance-record`, coordinator);
    t.equal(record.status, 200);
    t.equal(record.body.noShows, 1);
    t.same(record.body.sessions.map((s: { sessionId: string }) => s.sessionId), [s2]);
    t.equal((await api(url, 'GET', `/users/${demo.mentor.id}/attendance-record`, coordinator)).body.noShows, 0);
    t.equal((await api(url, 'GET', `/users/${demo.student.id}/attendance-record`, mentor)).status, 200, "the student's mentor sees it");
    t.equal((await api(url, 'GET', `/users/${demo.student.id}/attendance-record`, solo)).status, 403);
  });

  t.test('a late cancellation counts against the student', async (t) => {
    const s3 = await mentoring(14400, 18000);
    now = T0 + 3 * 3600_000;
    await db.execute("UPDATE sessions SET status = 'cancelled' WHERE id = $1", [s3]); // as scheduling does
    app.events.emit('session.cancelled', { sessionId: s3, late: true });
    await app.events.drain();
    const record = await api(url, 'GET', `/users/${demo.student.id}/attendance-record`, student);
    t.equal(record.body.lateCancellations, 1);
    t.equal((await api(url, 'GET', `/users/${demo.mentor.id}/attendance-record`, coordinator)).body.lateCancellations, 0);
  });

  t.test('a late cancellation by the mentor counts against the mentor, not the student', async (t) => {
    const s4 = await mentoring(21600, 25200);
    await db.execute("UPDATE sessions SET status = 'cancelled' WHERE id = $1", [s4]);
    app.events.emit('session.cancelled', { sessionId: s4, late: true, cancelledBy: demo.mentor.id });
    await app.events.drain();
    t.equal((await api(url, 'GET', `/users/${demo.mentor.id}/attendance-record`, coordinator)).body.lateCancellations, 1);
    t.equal((await api(url, 'GET', `/users/${demo.student.id}/attendance-record`, coordinator)).body.lateCancellations, 1, 'still only the one the student made');
  });

  t.test('corrections need a finalized record', async (t) => {
    const res = await api(url, 'POST', `/sessions/${s1}/attendance/corrections`, coordinator, { userId: demo.student.id, status: 'present', reason: 'Power cut' });
    t.equal(res.status, 409);
    t.equal(res.body.code, 'attendance_not_finalized');
  });

  t.test('the finalize job freezes the record once; later events change nothing', async (t) => {
    now = T0 + (3600 + 25 * 60) * 1000; // after end + 20 minutes
    let finalizedEvents = 0;
    let completedEvents = 0;
    app.events.on('attendance.finalized', (p) => {
      if (p.sessionId === s1) finalizedEvents += 1;
    });
    app.events.on('session.completed', (p) => {
      if (p.sessionId === s1) completedEvents += 1;
    });
    const finalized = once('attendance.finalized', (p) => p.sessionId === s1);
    await service.scheduleSession(s1);
    await finalized;

    const frozen = await api(url, 'GET', `/sessions/${s1}/attendance`, student);
    t.equal(frozen.body.state, 'finalized');
    t.equal(frozen.body.finalizedAt, new Date(now).toISOString());
    t.match(frozen.body.participants.find((p: { userId: string }) => p.userId === demo.student.id), studentS1);
    t.match(frozen.body.participants.find((p: { userId: string }) => p.userId === demo.mentor.id), mentorS1);

    // A straggling event and a second finalize.
    await presence(s1, demo.student.id, 'join', 3650);
    await presence(s1, demo.student.id, 'leave', 3700);
    t.same(await finalizedAttendance(db, s1), [
      { userId: demo.mentor.id, role: 'mentor', status: 'present', attendedSeconds: 3750, corrected: false },
      { userId: demo.student.id, role: 'student', status: 'left_early', attendedSeconds: 2370, corrected: false },
    ]);
    t.equal(await finalizedAttendance(db, s2), undefined);
    const again = await service.finalize(s1);
    t.equal(again?.alreadyFinalized, true);
    t.equal(again?.finalizedAt.toISOString(), frozen.body.finalizedAt);
    await app.events.drain();
    t.equal(finalizedEvents, 1, 'attendance.finalized is emitted once');
    t.equal(completedEvents, 1, 'session.completed is emitted once, with the record closed');
    t.equal((await db.one<{ status: string }>('SELECT status FROM sessions WHERE id = $1', [s1]))?.status, 'completed', 'the session is completed');
    t.equal((await api(url, 'GET', `/sessions/${s1}`, student)).body.status, 'completed', 'and says so to its participants');
    const after = await api(url, 'GET', `/sessions/${s1}/attendance`, student);
    t.same(after.body.participants.map(stripEvents), frozen.body.participants.map(stripEvents), 'the frozen record did not move');
    t.equal(after.body.participants.find((p: { userId: string }) => p.userId === demo.student.id).presenceEvents, 10, 'the log itself keeps everything');
  });

  t.test('the presence log is append-only', async (t) => {
    await t.rejects(db.execute('UPDATE presence_events SET at = now()'), /append-only/);
    await t.rejects(db.execute('DELETE FROM presence_events'), /append-only/);
  });

  t.test('a coordinator corrects a frozen record with a reason kept in history', async (t) => {
    const body = { userId: demo.student.id, status: 'present', reason: 'Left early with the mentor’s agreement' };
    t.equal((await api(url, 'POST', `/sessions/${s1}/attendance/corrections`, mentor, body)).status, 403);
    t.equal((await api(url, 'POST', `/sessions/${s1}/attendance/corrections`, coordinator, { userId: demo.student.id, reason: 'nothing' })).status, 400);
    const res = await api(url, 'POST', `/sessions/${s1}/attendance/corrections`, coordinator, body);
    t.equal(res.status, 200);
    const st = res.body.participants.find((p: { userId: string }) => p.userId === demo.student.id);
    t.equal(st.status, 'present');
    t.equal(st.corrected, true);
    t.equal(st.attendedSeconds, 2370);
    t.same(st.corrections, [
      { at: new Date(now).toISOString(), by: demo.coordinator.id, reason: body.reason, before: { status: 'left_early', attendedSeconds: 2370 }, after: { status: 'present', attendedSeconds: 2370 } },
    ]);
    const second = await api(url, 'POST', `/sessions/${s1}/attendance/corrections`, coordinator, { userId: demo.student.id, attendedSeconds: 2400, reason: 'Clock skew' });
    t.equal(second.body.participants.find((p: { userId: string }) => p.userId === demo.student.id).corrections.length, 2);
  });

  t.test('the CSV export is streamed and parses back with the derived figures', async (t) => {
    const query = `pathId=${demo.pathId}&from=${encodeURIComponent(isoAt(-3600))}&to=${encodeURIComponent(isoAt(5 * 3600))}`;
    t.equal((await api(url, 'GET', `/attendance/export.csv?${query}`, student)).status, 403);
    t.equal((await api(url, 'GET', `/attendance/export.csv?pathId=${demo.pathId}&from=${encodeURIComponent(isoAt(10))}&to=${encodeURIComponent(isoAt(0))}`, coordinator)).status, 400);

    const res = await fetch(`${url}/attendance/export.csv?${query}`, { headers: { authorization: `Bearer ${coordinator}` } });
    t.equal(res.status, 200);
    t.match(res.headers.get('content-type'), /^text\/csv/);
    t.match(res.headers.get('content-disposition'), /attachment; filename="attendance-front-end-developer-/);
    const text = await res.text();
    const rows = parse(text, { columns: true }) as Array<Record<(typeof CSV_COLUMNS)[number], string>>;
    // S1 and S2, two participants each; S3 (cancelled) left out.
    t.same(rows.map((r) => [r.session_id, r.participant_role]), [
      [rows[0]!.session_id, 'mentor'],
      [rows[0]!.session_id, 'student'],
      [rows[2]!.session_id, 'mentor'],
      [rows[2]!.session_id, 'student'],
    ]);
    const st = rows.find((r) => r.session_id && r.participant_id === demo.student.id && r.record_state === 'finalized')!;
    t.match(st, {
      participant_name: demo.student.name,
      participant_email: demo.student.email,
      path_title: 'Front-end developer',
      scheduled_start_utc: isoAt(0),
      scheduled_end_utc: isoAt(3600),
      scheduled_seconds: '3600',
      attendance_status: 'present',
      first_join_utc: isoAt(30),
      last_leave_utc: isoAt(2400),
      lateness_seconds: '30',
      attended_seconds: '2400',
      network_gaps: '1',
      network_gap_seconds: '30',
      camera_seconds: '2330',
      screen_seconds: '300',
      presence_intervals_utc: `${isoAt(30)}/${isoAt(2400)}`,
      corrected: 'true',
    });
    t.match(st.correction_history, /left_early->present 2370s->2370s: Left early with the mentor’s agreement \| .*present->present 2370s->2400s: Clock skew/);
    const noShow = rows.find((r) => r.participant_id === demo.student.id && r.record_state === 'live')!;
    t.equal(noShow.attendance_status, 'no_show');
    t.equal(noShow.attended_seconds, '0');
    t.equal(noShow.first_join_utc, '');

    // Page by page (one session a page) gives the same file.
    let paged = '';
    for await (const chunk of exportAttendanceCsv(db, service, { pathId: demo.pathId, from: at(-3600), to: at(5 * 3600) }, 1)) paged += chunk;
    t.equal(paged, text, 'keyset pages join up');

    // Outside the range: nothing but the header.
    const empty = await fetch(`${url}/attendance/export.csv?pathId=${demo.pathId}&from=${encodeURIComponent(isoAt(20 * 3600))}&to=${encodeURIComponent(isoAt(30 * 3600))}`, {
      headers: { authorization: `Bearer ${coordinator}` },
    });
    t.same(parse(await empty.text()), [[...CSV_COLUMNS]]);

    // A cohort: the students whose enrollment started in a given month.
    const started = (await db.one<{ startedAt: Date }>('SELECT started_at AS "startedAt" FROM enrollments WHERE id = $1', [demo.enrollmentId]))!.startedAt;
    const month = started.toISOString().slice(0, 7);
    const other = new Date(Date.UTC(started.getUTCFullYear() - 1, started.getUTCMonth(), 1)).toISOString().slice(0, 7);
    const csvOf = async (cohort: string) =>
      (await fetch(`${url}/attendance/export.csv?${query}&cohort=${cohort}`, { headers: { authorization: `Bearer ${coordinator}` } })).text();
    t.equal(await csvOf(month), text, "the demo student's intake month holds every row");
    t.same(parse(await csvOf(other)), [[...CSV_COLUMNS]], 'another intake holds none');
    t.equal((await api(url, 'GET', `/attendance/export.csv?${query}&cohort=2026-13`, coordinator)).status, 400);
  });
});

const stripEvents = ({ presenceEvents: _e, ...rest }: { presenceEvents: number }) => rest;
