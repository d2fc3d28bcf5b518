import t from 'tap';
import { api, request, startTestApp } from './helpers/app.ts';
import { insertDemoDefence, insertDemoMentoring } from './helpers/sessions.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

t.test('progression refusals', async (t) => {
  // A clock the test can move forward (the retake delay is counted in days).
  let offsetMs = 0;
  const clock = { now: () => new Date(Date.now() + offsetMs) };
  const { app, url, db, demo, login, socket } = await startTestApp(t, { clock, env: { DEFENCE_RETAKE_DELAY_DAYS: '30' } });
  const [studentToken, mentorToken, jury0Token, jury1Token, coordinatorToken] = await Promise.all([
    login(demo.student),
    login(demo.mentor),
    login(demo.jury[0]),
    login(demo.jury[1]),
    login(demo.coordinator),
  ]);
  /** A user straight in the table, with a token signed like the server's. */
  const extraUser = async (role: 'mentor' | 'jury', email: string) => {
    const row = await db.one<{ id: string }>(`INSERT INTO users (email, name, role, time_zone, password_hash) VALUES ($1, $1, $2, 'UTC', 'x') RETURNING id`, [email, role]);
    return { id: row!.id, token: app.jwt.sign({ sub: row!.id, role }) };
  };
  const otherMentor = await extraUser('mentor', 'other.mentor@demo.school');
  const outsiderJury = await extraUser('jury', 'outsider.jury@demo.school');

  let slot = 0;
  const mentoring = async (startsAt: Date) => {
    slot++;
    return insertDemoMentoring(db, demo, { startsAt, endsAt: new Date(startsAt.getTime() + 30 * MIN) });
  };
  const defence = async (startsAt: Date) =>
    insertDemoDefence(db, demo, { startsAt, endsAt: new Date(startsAt.getTime() + 60 * MIN) });
  const evaluate = (sessionId: string, token: string) => api(url, 'POST', `/sessions/${sessionId}/evaluation`, token, { outcome: 'validated', feedback: 'ok' });

  await t.test('evaluations: only the assigned mentor, only for a session that took place, once', async (t) => {
    const past = await mentoring(new Date(Date.now() - 10 * HOUR));
    const byOther = await evaluate(past, otherMentor.token);
    t.equal(byOther.status, 403);
    t.equal(byOther.body.code, 'not_assigned_mentor');
    const byStudent = await evaluate(past, studentToken);
    t.equal(byStudent.status, 403);
    t.equal(byStudent.body.code, 'role_not_allowed');

    const future = await mentoring(new Date(Date.now() + 10 * HOUR));
    const notYet = await evaluate(future, mentorToken);
    t.equal(notYet.status, 422);
    t.equal(notYet.body.code, 'session_not_attended');

    const cancelled = await mentoring(new Date(Date.now() - 20 * HOUR));
    await db.execute(`UPDATE sessions SET status = 'cancelled' WHERE id = $1`, [cancelled]);
    const onCancelled = await evaluate(cancelled, mentorToken);
    t.equal(onCancelled.status, 422);
    t.equal(onCancelled.body.code, 'session_not_attended');

    // The attendance record says the student never came.
    const noShow = await mentoring(new Date(Date.now() - 30 * HOUR));
    await db.execute(`INSERT INTO attendance_sessions (session_id, finalized_at) VALUES ($1, now())`, [noShow]);
    await db.execute(
      `INSERT INTO attendance_records (session_id, user_id, role, status, attended_seconds, network_gaps, network_gap_seconds, mic_seconds, camera_seconds,
                                       screen_seconds, transport_failures, intervals, late, left_early, finalized_at)
       VALUES ($1, $2, 'student', 'no_show', 0, 0, 0, 0, 0, 0, 0, '[]', false, false, now())`,
      [noShow, demo.student.id],
    );
    const absent = await evaluate(noShow, mentorToken);
    t.equal(absent.status, 422);
    t.equal(absent.body.code, 'session_not_attended');
    t.match(absent.body.detail, /no_show/);

    const revision = await api(url, 'POST', `/sessions/${past}/evaluation`, mentorToken, { outcome: 'needs_revision', feedback: 'again' });
    t.equal(revision.status, 201);
    const twice = await evaluate(past, mentorToken);
    t.equal(twice.status, 409);
    t.equal(twice.body.code, 'already_evaluated');

    const another = await mentoring(new Date(Date.now() - 5 * HOUR));
    const notResubmitted = await evaluate(another, mentorToken);
    t.equal(notResubmitted.status, 422);
    t.equal(notResubmitted.body.code, 'resubmission_required');

    const notMine = await api(url, 'POST', `/students/${demo.student.id}/projects/${demo.projectIds[0]}/submit`, jury0Token, {});
    t.equal(notMine.status, 403);
    const locked = await api(url, 'POST', `/students/${demo.student.id}/projects/${demo.projectIds[3]}/submit`, studentToken, {});
    t.equal(locked.body.code, 'project_locked');

    const audit = await db.query<{ action: string }>(`SELECT action FROM progression_audit WHERE entity = 'evaluation'`);
    t.equal(audit.length, 1, 'refused evaluations leave no trace; the recorded one does');
  });

  await t.test('a defence for a student with projects left is refused', async (t) => {
    const sessionId = await defence(new Date(Date.now() - 5 * MIN));
    const http = await api(url, 'POST', `/defences/${sessionId}/admit`, jury0Token);
    t.equal(http.status, 422);
    t.equal(http.body.code, 'projects_not_validated');
    const jury = socket(jury1Token, '/defence');
    t.equal((await request<any>(jury, 'join', { sessionId })).data.state.phase, 'lobby');
    const ack = await request<any>(jury, 'admit', { sessionId });
    t.equal(ack.error?.code, 'projects_not_validated');
    const state = await api(url, 'GET', `/defences/${sessionId}`, coordinatorToken);
    t.equal(state.body.phase, 'lobby', 'the defence did not start');
    await db.execute(`UPDATE sessions SET status = 'cancelled' WHERE id = $1`, [sessionId]);
    await db.execute(`UPDATE session_participants SET busy = false WHERE session_id = $1`, [sessionId]);
  });

  await t.test('a verdict by someone not on the jury is refused; a failed defence waits for the retake delay', async (t) => {
    await db.execute(`UPDATE project_progress SET state = 'validated' WHERE enrollment_id = $1`, [demo.enrollmentId]);
    const sessionId = await defence(new Date(Date.now() - 2 * MIN));

    const outsider = socket(outsiderJury.token, '/defence');
    t.equal((await request<any>(outsider, 'join', { sessionId })).error?.code, 'not_a_participant');
    const mentorSock = socket(mentorToken, '/defence');
    t.equal((await request<any>(mentorSock, 'join', { sessionId })).error?.code, 'not_a_participant');

    // The jury is absent: a coordinator runs the phases.
    const coordinator = socket(coordinatorToken, '/defence');
    t.equal((await request<any>(coordinator, 'join', { sessionId })).data.role, 'coordinator');
    t.equal((await request<any>(coordinator, 'admit', { sessionId })).data.phase, 'presentation');
    for (const to of ['questions', 'deliberation', 'verdict']) {
      t.equal((await request<any>(coordinator, 'advance', { sessionId, to })).data.phase, to);
    }
    const verdict = { outcome: 'fail', marks: [{ block: 'Front-end', mark: 7 }], comment: 'Not yet.' };
    const byCoordinator = await request<any>(coordinator, 'proposeVerdict', { sessionId, verdict });
    t.equal(byCoordinator.error?.code, 'not_on_jury');
    const byOutsider = await api(url, 'POST', `/defences/${sessionId}/verdict`, outsiderJury.token, verdict);
    t.equal(byOutsider.status, 403);
    t.equal(byOutsider.body.code, 'not_on_jury');
    const byStudent = await api(url, 'POST', `/defences/${sessionId}/verdict`, studentToken, verdict);
    t.equal(byStudent.status, 403);

    const proposed = await api(url, 'POST', `/defences/${sessionId}/verdict`, jury0Token, verdict);
    t.equal(proposed.status, 201);
    const outsiderConfirm = await api(url, 'POST', `/defences/${sessionId}/verdict/${proposed.body.id}/confirm`, outsiderJury.token);
    t.equal(outsiderConfirm.body.code, 'not_on_jury');
    const first = await api(url, 'POST', `/defences/${sessionId}/verdict/${proposed.body.id}/confirm`, jury0Token);
    t.equal(first.body.completed, null);
    const last = await api(url, 'POST', `/defences/${sessionId}/verdict/${proposed.body.id}/confirm`, jury1Token);
    t.equal(last.status, 200);
    t.equal(last.body.completed.outcome, 'fail');
    t.notOk(last.body.completed.diplomaId, 'no diploma on a fail');

    const p = await api(url, 'GET', `/students/${demo.student.id}/progress`, studentToken);
    t.equal(p.body.diploma, null);
    t.equal(p.body.enrollment.status, 'active');
    const retakeFrom = new Date(p.body.defences.find((d: { sessionId: string }) => d.sessionId === sessionId).retakeAllowedFrom);
    t.equal(Math.round((retakeFrom.getTime() - Date.now()) / (24 * HOUR)), 30, 'a new defence after 30 days');

    const again = await defence(new Date(Date.now() + 2 * HOUR));
    await db.execute(`UPDATE sessions SET starts_at = now() - interval '1 minute' WHERE id = $1`, [again]);
    const tooEarly = await api(url, 'POST', `/defences/${again}/admit`, jury0Token);
    t.equal(tooEarly.status, 422);
    t.equal(tooEarly.body.code, 'retake_too_early');

    offsetMs = 31 * 24 * HOUR;
    const retake = await api(url, 'POST', `/defences/${again}/admit`, jury0Token);
    t.equal(retake.status, 200, 'after the delay the new defence starts');
    t.equal(retake.body.phase, 'presentation');
  });
});
