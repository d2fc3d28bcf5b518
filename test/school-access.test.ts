import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';
import { insertSession } from './helpers/sessions.ts';

t.test('roles and ownership on the school routes', async (t) => {
  const { url, demo, login, db } = await startTestApp(t);
  const [student, solo, mentor, jury, coordinator] = await Promise.all([
    login(demo.student),
    login(demo.soloStudent),
    login(demo.mentor),
    login(demo.jury[0]),
    login(demo.coordinator),
  ]);

  t.test('every API route needs a token', async (t) => {
    for (const path of ['/me', '/paths', `/students/${demo.student.id}/enrollments`, `/mentors/${demo.mentor.id}/students`]) {
      const res = await api(url, 'GET', path);
      t.equal(res.status, 401, path);
      t.equal(res.body.code, 'token_missing', path);
    }
  });

  t.test('the demo path has six ordered projects', async (t) => {
    const res = await api(url, 'GET', '/paths', student);
    t.equal(res.status, 200);
    t.equal(res.body.length, 1);
    t.equal(res.body[0].title, 'Front-end developer');
    t.equal(res.body[0].eqfLevel, 6);
    t.same(res.body[0].projects.map((p: { position: number }) => p.position), [1, 2, 3, 4, 5, 6]);
  });

  t.test('a student reads their own progress and not another student’s', async (t) => {
    const own = await api(url, 'GET', `/students/${demo.student.id}/enrollments`, student);
    t.equal(own.status, 200);
    t.equal(own.body[0].tier, 'premium_plus');
    t.equal(own.body[0].projects[0].state, 'in_progress');
    t.equal(own.body[0].projects[1].state, 'locked');
    const other = await api(url, 'GET', `/students/${demo.soloStudent.id}/enrollments`, student);
    t.equal(other.status, 403);
    t.equal(other.body.code, 'not_your_student');
    t.notOk(JSON.stringify(other.body).includes(demo.soloEnrollmentId), 'nothing of the other student leaks');
  });

  t.test('a mentor sees only their own students', async (t) => {
    t.equal((await api(url, 'GET', `/students/${demo.student.id}/enrollments`, mentor)).status, 200);
    t.equal((await api(url, 'GET', `/students/${demo.soloStudent.id}/enrollments`, mentor)).status, 403);
    const list = await api(url, 'GET', `/mentors/${demo.mentor.id}/students`, mentor);
    t.equal(list.status, 200);
    t.same(list.body.map((s: { id: string }) => s.id), [demo.student.id]);
    const someoneElse = await api(url, 'GET', `/mentors/${demo.jury[0].id}/students`, mentor);
    t.equal(someoneElse.status, 403);
  });

  t.test('students and jury may not list a mentor’s students (role refused)', async (t) => {
    for (const token of [student, jury]) {
      const res = await api(url, 'GET', `/mentors/${demo.mentor.id}/students`, token);
      t.equal(res.status, 403);
      t.equal(res.body.code, 'role_not_allowed');
    }
  });

  t.test('a jury member sees a student only once sitting on their defence', async (t) => {
    t.equal((await api(url, 'GET', `/students/${demo.student.id}/enrollments`, jury)).status, 403);
    const start = new Date(Date.now() + 86_400_000);
    await insertSession(db, {
      kind: 'defence',
      enrollmentId: demo.enrollmentId,
      hostId: demo.jury[0].id,
      startsAt: start,
      endsAt: new Date(start.getTime() + 3_600_000),
      participants: [
        { userId: demo.student.id, role: 'student' },
        { userId: demo.jury[0].id, role: 'jury' },
      ],
    });
    t.equal((await api(url, 'GET', `/students/${demo.student.id}/enrollments`, jury)).status, 200);
  });

  t.test('a coordinator sees everyone', async (t) => {
    t.equal((await api(url, 'GET', `/students/${demo.soloStudent.id}/enrollments`, coordinator)).status, 200);
    t.equal((await api(url, 'GET', `/mentors/${demo.mentor.id}/students`, coordinator)).status, 200);
  });

  t.test('premium_solo has no mentoring: a clear code', async (t) => {
    const res = await api(url, 'GET', `/students/${demo.soloStudent.id}/mentor`, solo);
    t.equal(res.status, 403);
    t.equal(res.body.code, 'premium_plus_required');
    t.match(res.headers.get('content-type'), /^application\/problem\+json/);
    const plus = await api(url, 'GET', `/students/${demo.student.id}/mentor`, student);
    t.equal(plus.status, 200);
    t.equal(plus.body.id, demo.mentor.id);
  });

  t.test('malformed input is a 400 problem, unknown routes a 404 problem', async (t) => {
    const badId = await api(url, 'GET', '/students/not-a-uuid/enrollments', coordinator);
    t.equal(badId.status, 400);
    t.equal(badId.body.code, 'validation_failed');
    const zone = await api(url, 'PATCH', '/me', student, { timeZone: 'Mars/Olympus' });
    t.equal(zone.status, 400);
    t.equal(zone.body.code, 'unknown_time_zone');
    const extra = await api(url, 'PATCH', '/me', student, { role: 'coordinator' });
    t.equal(extra.status, 400, 'a student cannot smuggle a role change');
    const missing = await api(url, 'GET', '/nowhere', student);
    t.equal(missing.status, 404);
    t.equal(missing.body.code, 'route_not_found');
  });

  t.test('a user changes their own zone and locale', async (t) => {
    const res = await api(url, 'PATCH', '/me', student, { timeZone: 'America/Toronto', locale: 'en' });
    t.equal(res.status, 200);
    t.equal(res.body.timeZone, 'America/Toronto');
    t.equal(res.body.locale, 'en');
  });
});

t.test('health and API docs', async (t) => {
  const { url } = await startTestApp(t, { seed: false });
  const health = await api(url, 'GET', '/health');
  t.equal(health.status, 200);
  t.equal(health.body.db, 'ok');
  t.equal(health.body.redis, 'ok');
  const doc = await api(url, 'GET', '/docs/json');
  t.equal(doc.status, 200);
  t.ok(doc.body.paths['/auth/login'], 'login is documented');
  t.ok(doc.body.components.securitySchemes.bearerAuth, 'bearer auth is documented');
  const ui = await fetch(`${url}/docs/`);
  t.equal(ui.status, 200);
});

// The two lists the role screens read (issue 21): people by role for the coordinator, the booking policy for all.
t.test('coordinators list people by role; everyone reads the booking policy', async (t) => {
  const ctx = await startTestApp(t);
  const { url, demo } = ctx;
  const [coordinator, student] = await Promise.all([ctx.login(demo.coordinator), ctx.login(demo.student)]);
  const jury = await api(url, 'GET', '/people?role=jury', coordinator);
  t.equal(jury.status, 200);
  t.same(jury.body.map((p: { id: string }) => p.id).sort(), demo.jury.map((j) => j.id).sort());
  t.notOk('passwordHash' in jury.body[0] || 'password_hash' in jury.body[0], 'public fields only');
  const refused = await api(url, 'GET', '/people?role=student', student);
  t.equal(refused.status, 403, 'a student does not list people');
  t.equal((await api(url, 'GET', '/people?role=nobody', coordinator)).status, 400);
  const policy = await api(url, 'GET', '/scheduling/policy', student);
  t.equal(policy.status, 200);
  t.same(policy.body, { mentoringMinutes: 45, lateCancelNoticeHours: 24, defenceDefaultMinutes: 60 });
  t.equal((await api(url, 'GET', '/scheduling/policy')).status, 401, 'not without a token');
});
