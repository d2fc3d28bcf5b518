import t from 'tap';
import { api, nextEvent, request, startTestApp } from './helpers/app.ts';
import { insertSession } from './helpers/sessions.ts';
import { audit } from '../src/progression/audit.ts';

// A defence in its verdict phase with a proposal of the panel not yet confirmed by all:
// nothing of it (outcome, marks, comment, confirmations, its audit entries) reaches the
// candidate or their mentor; the panel and coordinators see it. Once final, everyone does.
t.test('an unconfirmed verdict stays with the panel and coordinators', async (t) => {
  const { url, db, demo, login, socket } = await startTestApp(t);
  const now = Date.now();
  const [panel, outsider] = demo.jury;
  const sessionId = await insertSession(db, {
    kind: 'defence',
    enrollmentId: demo.enrollmentId,
    hostId: panel.id,
    startsAt: new Date(now - 60 * 60_000),
    endsAt: new Date(now + 30 * 60_000),
    participants: [
      { userId: demo.student.id, role: 'student' },
      { userId: panel.id, role: 'jury' },
    ],
  });
  await db.execute(`INSERT INTO defences (session_id, enrollment_id, candidate_id, phase, updated_at) VALUES ($1, $2, $3, 'verdict', now())`, [
    sessionId,
    demo.enrollmentId,
    demo.student.id,
  ]);
  const superseded = await db.one<{ id: string }>(
    `INSERT INTO verdicts (session_id, outcome, marks, comment, proposed_by, status, created_at) VALUES ($1, 'pass', '[]', 'first thought', $2, 'superseded', now()) RETURNING id`,
    [sessionId, panel.id],
  );
  const open = await db.one<{ id: string }>(
    `INSERT INTO verdicts (session_id, outcome, marks, comment, proposed_by, created_at) VALUES ($1, 'fail', '[{"block":"B1","mark":4}]', 'SECRET-DELIBERATION', $2, now()) RETURNING id`,
    [sessionId, panel.id],
  );
  for (const [id, action] of [
    [superseded!.id, 'proposed'],
    [open!.id, 'proposed'],
    [open!.id, 'confirmed'],
  ] as const) {
    await audit(db, { entity: 'verdict', entityId: id, enrollmentId: demo.enrollmentId, action, to: 'fail', actorId: panel.id, data: { marks: [{ block: 'B1', mark: 4 }] }, at: new Date() });
  }
  const [student, mentor, panelToken, outsiderToken, coordinator] = await Promise.all([
    login(demo.student),
    login(demo.mentor),
    login(panel),
    login(outsider),
    login(demo.coordinator),
  ]);
  const progressOf = (token: string) => api(url, 'GET', `/students/${demo.student.id}/progress`, token);
  const auditOf = (token: string) => api(url, 'GET', `/students/${demo.student.id}/audit`, token);

  t.test('progress: the candidate and their mentor see the defence without its verdict', async (t) => {
    for (const [who, token] of [
      ['candidate', student],
      ['mentor', mentor],
    ] as const) {
      const res = await progressOf(token);
      t.equal(res.status, 200, who);
      const defence = res.body.defences.find((d: { sessionId: string }) => d.sessionId === sessionId);
      t.ok(defence, `${who} sees the defence`);
      t.equal(defence.verdict, null, `${who} sees no proposed verdict`);
      t.notMatch(JSON.stringify(res.body), /SECRET-DELIBERATION|first thought/, `${who}: no comment anywhere in the body`);
    }
    const other = await progressOf(outsiderToken);
    if (other.status === 200) t.notMatch(JSON.stringify(other.body), /SECRET-DELIBERATION/, 'a jury member off the panel sees no verdict either');
    else t.equal(other.status, 403, 'a jury member off the panel may not read this student');
  });

  t.test('progress: the panel and coordinators see the proposal', async (t) => {
    for (const token of [panelToken, coordinator]) {
      const res = await progressOf(token);
      t.equal(res.status, 200);
      const defence = res.body.defences.find((d: { sessionId: string }) => d.sessionId === sessionId);
      t.equal(defence.verdict.comment, 'SECRET-DELIBERATION');
      t.equal(defence.verdict.outcome, 'fail');
    }
  });

  t.test('audit: the mentor reads no entry of an unconfirmed or superseded proposal; the panel and coordinators do', async (t) => {
    const asMentor = await auditOf(mentor);
    t.equal(asMentor.status, 200);
    t.same(asMentor.body.filter((e: { entity: string }) => e.entity === 'verdict'), [], 'no verdict entries');
    for (const token of [panelToken, coordinator]) {
      const res = await auditOf(token);
      t.equal(res.body.filter((e: { entity: string }) => e.entity === 'verdict').length, 3);
    }
    t.equal((await auditOf(student)).status, 403, 'the student has no audit route');
  });

  t.test('sockets: the candidate gets the state without the verdict; the mentor may not join', async (t) => {
    const candidate = socket(student, '/defence');
    await nextEvent(candidate, 'connect');
    const joined = await request<{ role: string; state: { verdict: unknown } }>(candidate, 'join', { sessionId });
    t.equal(joined.data?.role, 'candidate');
    t.equal(joined.data?.state.verdict, null);
    const again = await request<{ verdict: unknown }>(candidate, 'state', { sessionId });
    t.equal(again.data?.verdict, null);
    const m = socket(mentor, '/defence');
    await nextEvent(m, 'connect');
    const refused = await request(m, 'join', { sessionId });
    t.equal(refused.error?.code, 'not_a_participant');
  });

  t.test('once final, the verdict is the candidate\'s and the mentor\'s too', async (t) => {
    await db.execute(`UPDATE verdicts SET status = 'final', finalized_at = now() WHERE id = $1`, [open!.id]);
    const res = await progressOf(mentor);
    const defence = res.body.defences.find((d: { sessionId: string }) => d.sessionId === sessionId);
    t.equal(defence.verdict.comment, 'SECRET-DELIBERATION');
    const entries = (await auditOf(mentor)).body.filter((e: { entity: string }) => e.entity === 'verdict');
    t.same(entries.map((e: { entityId: string }) => e.entityId), [open!.id, open!.id], 'the final verdict\'s entries, not the superseded proposal');
  });
});
