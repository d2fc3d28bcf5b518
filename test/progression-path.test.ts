import t from 'tap';
import { api, nextEvent, request, startTestApp } from './helpers/app.ts';
import { insertSession } from './helpers/sessions.ts';
import { startWebhookReceiver } from './helpers/webhook-receiver.ts';
import { insertPresence } from './helpers/attendance-fixtures.ts';
import { verifySignature, SIGNATURE_HEADER, TIMESTAMP_HEADER, EVENT_HEADER } from '../src/progression/index.ts';

const HOUR = 3_600_000;

t.test("a student's whole path: projects validated one by one, a defence held through its phases, the diploma, signed webhooks", async (t) => {
  const receiver = await startWebhookReceiver(t);
  // The very first delivery is refused with a 500: it must come again.
  receiver.respond = (_hook, index) => (index === 0 ? 500 : 200);

  const { app, url, db, demo, login, socket } = await startTestApp(t, {
    env: { WEBHOOK_BACKOFF_MS: '50', WEBHOOK_MAX_ATTEMPTS: '4', MINIMUM_NOTICE_MINUTES: '0', DEFENCE_OPEN_EARLY_MINUTES: '75' },
  });
  const phaseEvents: Array<{ phase: string; candidateIsolated: boolean; recordingAllowed: boolean }> = [];
  app.events.on('defence.phase_changed', (e) => void phaseEvents.push(e));

  const [studentToken, mentorToken, jury0Token, jury1Token, coordinatorToken] = await Promise.all([
    login(demo.student),
    login(demo.mentor),
    login(demo.jury[0]),
    login(demo.jury[1]),
    login(demo.coordinator),
  ]);

  const sub = await api(url, 'POST', '/webhooks', coordinatorToken, {
    url: receiver.url,
    events: ['session.booked', 'session.completed', 'attendance.finalized', 'project.validated', 'defence.completed', 'diploma.issued'],
    description: 'student information system',
  });
  t.equal(sub.status, 201);
  t.match(sub.body.secret, /^whsec_/);
  const secret: string = sub.body.secret;

  const now = Date.now();
  let slot = 0;
  /**
   * A mentoring session both attended (fixtures in place of the booking flow and
   * the room's presence log), announced as scheduling would; resolves once the
   * attendance capability has finalized its record.
   */
  const pastMentoring = async (projectId: string) => {
    slot++;
    const startsAt = new Date(now - (40 - slot) * HOUR);
    const sessionId = await insertSession(db, {
      kind: 'mentoring',
      enrollmentId: demo.enrollmentId,
      projectId,
      hostId: demo.mentor.id,
      startsAt,
      endsAt: new Date(startsAt.getTime() + 30 * 60_000),
      participants: [
        { userId: demo.student.id, role: 'student' },
        { userId: demo.mentor.id, role: 'mentor' },
      ],
    });
    await insertPresence(db, sessionId, [demo.student.id, demo.mentor.id], startsAt, new Date(startsAt.getTime() + 30 * 60_000));
    const finalized = new Promise<void>((resolve) => {
      const off = app.events.on('attendance.finalized', (e) => {
        if (e.sessionId !== sessionId) return;
        off();
        resolve();
      });
    });
    // Through the durable outbox, as the capabilities announce them (webhooks are sent from there).
    await app.outbox.append(db, 'session.booked', { sessionId });
    await finalized; // the finalized record completes the session: session.completed comes from the server
    return sessionId;
  };
  const progress = async () => {
    const res = await api(url, 'GET', `/students/${demo.student.id}/progress`, studentToken);
    t.equal(res.status, 200);
    return res.body;
  };

  await t.test('projects are validated one by one, the first after a revision', async (t) => {
    for (const [i, projectId] of demo.projectIds.entries()) {
      const submitted = await api(url, 'POST', `/students/${demo.student.id}/projects/${projectId}/submit`, studentToken, { note: `v1 of project ${i + 1}` });
      t.equal(submitted.status, 200, `project ${i + 1} submitted`);
      if (i === 0) {
        const first = await pastMentoring(projectId);
        const revision = await api(url, 'POST', `/sessions/${first}/evaluation`, mentorToken, {
          outcome: 'needs_revision',
          feedback: 'The page is not deployed yet.',
          codeReviewComments: [{ file: 'index.html', line: 3, body: 'Missing lang attribute' }],
        });
        t.equal(revision.status, 201);
        t.equal(revision.body.outcome, 'needs_revision');
        t.same(revision.body.codeReviewComments, [{ file: 'index.html', line: 3, body: 'Missing lang attribute' }]);
        const mid = await progress();
        t.equal(mid.projects[0].state, 'needs_revision');
        t.equal(mid.projects[1].state, 'locked', 'the next project stays locked');
        const again = await api(url, 'POST', `/students/${demo.student.id}/projects/${projectId}/submit`, studentToken, { note: 'deployed' });
        t.equal(again.status, 200, 'resubmitted');
      }
      const sessionId = await pastMentoring(projectId);
      if (i === 1) {
        // The live code review of this session (codereview capability's tables, as a fixture).
        const doc = await db.one<{ id: string }>(
          `INSERT INTO review_documents (session_id, author_id, kind, name, content, line_count) VALUES ($1, $2, 'file', 'styles.css', 'a\nb\nc', 3) RETURNING id`,
          [sessionId, demo.student.id],
        );
        await db.execute(`INSERT INTO review_comments (session_id, document_id, author_id, line, body, created_at) VALUES ($1, $2, $3, 2, 'Use a CSS variable here', now())`, [
          sessionId,
          doc!.id,
          demo.mentor.id,
        ]);
      }
      const res = await api(url, 'POST', `/sessions/${sessionId}/evaluation`, mentorToken, {
        outcome: 'validated',
        feedback: `Well done on project ${i + 1}`,
        ...(i === 1 ? { attachSessionReview: true } : {}),
      });
      t.equal(res.status, 201, `project ${i + 1} validated`);
      if (i === 1) t.match(res.body.codeReviewComments, [{ file: 'styles.css', line: 2, body: 'Use a CSS variable here' }], "the session's code review is attached");
      const p = await progress();
      t.equal(p.projects[i].state, 'validated');
      if (i + 1 < demo.projectIds.length) t.equal(p.projects[i + 1].state, 'in_progress', 'the next project is unlocked');
    }
    const p = await progress();
    t.equal(p.validatedCount, 6);
    t.equal(p.evaluations.length, 7);
    t.equal(p.sessions.length, 7);
    t.ok(p.sessions.every((s: { attendance: string }) => s.attendance === 'present'), 'every session attended, per the attendance record');
  });

  await t.test('the defence: lobby, admission, phases, deliberation without the candidate, verdict confirmed by every jury member', async (t) => {
    await db.execute(
      `INSERT INTO competence_blocks (path_id, code, title, position) VALUES ($1, 'B1', 'Design interfaces', 1), ($1, 'B2', 'Develop', 2), ($1, 'B3', 'Test and deliver', 3)`,
      [demo.pathId],
    );
    // The coordinator schedules the defence through the scheduling routes, at the
    // next slot the jury offers (both available around the clock, no notice).
    for (const [i, token] of [jury0Token, jury1Token].entries()) {
      const put = await api(url, 'PUT', `/hosts/${demo.jury[i]!.id}/availability`, token, {
        timeZone: 'UTC',
        bufferMinutes: 0,
        minimumNoticeMinutes: 0,
        weekly: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '24:00' })),
      });
      t.equal(put.status, 200, `jury member ${i + 1} published availability`);
    }
    const from = new Date(Date.now());
    const slots = await api(
      url,
      'GET',
      `/defences/slots?studentId=${demo.student.id}&juryIds=${demo.jury[0].id}&juryIds=${demo.jury[1].id}&from=${from.toISOString()}&to=${new Date(from.getTime() + 26 * HOUR).toISOString()}`,
      coordinatorToken,
    );
    t.equal(slots.status, 200, `defence slots ${JSON.stringify(slots.body).slice(0, 300)}`);
    const slot = slots.body.slots[0];
    const scheduled = await api(url, 'POST', '/defences', coordinatorToken, { studentId: demo.student.id, juryIds: [demo.jury[0].id, demo.jury[1].id], startsAt: slot.startsAt });
    t.equal(scheduled.status, 201, `defence scheduled ${JSON.stringify(scheduled.body).slice(0, 300)}`);
    const sessionId: string = scheduled.body.id;
    t.ok(new Date(scheduled.body.startsAt).getTime() - Date.now() < 75 * 60_000, 'the defence starts within the hour: the jury may open it');

    const candidate = socket(studentToken, '/defence');
    const jury0 = socket(jury0Token, '/defence');
    const jury1 = socket(jury1Token, '/defence');

    const joinedC = await request<any>(candidate, 'join', { sessionId });
    t.equal(joinedC.data.role, 'candidate');
    t.equal(joinedC.data.state.phase, 'lobby');
    t.equal(joinedC.data.state.candidateView, 'lobby');
    const sawCandidate = nextEvent<any>(jury0, 'defenceState', (s) => s.present.includes(demo.student.id) && s.present.includes(demo.jury[1].id));
    t.equal((await request<any>(jury0, 'join', { sessionId })).data.role, 'jury');
    t.equal((await request<any>(jury1, 'join', { sessionId })).data.role, 'jury');
    await sawCandidate;

    const wrongStep = await request<any>(jury0, 'advance', { sessionId, to: 'questions' });
    t.equal(wrongStep.error?.code, 'candidate_not_admitted', 'nothing starts before the candidate is admitted');
    const selfAdmit = await request<any>(candidate, 'admit', { sessionId });
    t.equal(selfAdmit.error?.code, 'jury_only');

    const candidateLive = nextEvent<any>(candidate, 'defenceState', (s) => s.phase === 'presentation');
    const admitted = await request<any>(jury0, 'admit', { sessionId });
    t.equal(admitted.data.phase, 'presentation');
    t.equal(admitted.data.timeline.length, 4);
    t.same(
      admitted.data.competenceBlocks.map((b: { code: string }) => b.code),
      ['B1', 'B2', 'B3'],
      'the state names the blocks the verdict marks',
    );
    t.equal(new Date(admitted.data.phaseEndsAt).getTime() - new Date(admitted.data.phaseStartedAt).getTime(), 20 * 60_000, 'presentation lasts 20 minutes');
    const cs = await candidateLive;
    t.equal(cs.candidateView, 'live');
    t.equal(cs.candidateIsolated, false);

    const questions = nextEvent<any>(jury1, 'defenceState', (s) => s.phase === 'questions');
    t.equal((await request<any>(jury0, 'advance', { sessionId, to: 'questions' })).data.phase, 'questions');
    await questions;

    // The jury member who led drops: the defence carries on with the other one.
    const dropped = nextEvent<any>(jury1, 'defenceState', (s) => !s.present.includes(demo.jury[0].id));
    jury0.disconnect();
    await dropped;

    const waiting = nextEvent<any>(candidate, 'defenceState', (s) => s.phase === 'deliberation');
    const delib = await request<any>(jury1, 'advance', { sessionId, to: 'deliberation' });
    t.equal(delib.data.phase, 'deliberation');
    const cw = await waiting;
    t.equal(cw.candidateView, 'waiting', 'the candidate sees a waiting screen');
    t.equal(cw.candidateIsolated, true);
    t.equal(cw.recording, false, 'deliberation is not recorded by default');

    const back = nextEvent<any>(candidate, 'defenceState', (s) => s.phase === 'verdict');
    await request<any>(jury1, 'advance', { sessionId, to: 'verdict' });
    t.equal((await back).candidateView, 'live', 'the candidate is back for the verdict');

    const marks = [
      { block: 'B1', mark: 15 },
      { block: 'B2', mark: 16.5 },
      { block: 'B3', mark: 14 },
    ];
    const badMarks = await request<any>(jury1, 'proposeVerdict', { sessionId, verdict: { outcome: 'pass', marks: marks.slice(0, 2), comment: 'x' } });
    t.equal(badMarks.error?.code, 'marks_do_not_match_blocks');
    const proposed = await request<any>(jury1, 'proposeVerdict', { sessionId, verdict: { outcome: 'pass', marks, comment: 'A clear and well-argued defence.' } });
    t.equal(proposed.data.status, 'proposed');
    const verdictId: string = proposed.data.id;
    const candidateState = await request<any>(candidate, 'state', { sessionId });
    t.equal(candidateState.data.verdict, null, 'the candidate does not see a verdict before it is final');

    // The first jury member comes back (a new socket) and confirms; the last confirmation completes the defence.
    const jury0b = socket(jury0Token, '/defence');
    t.equal((await request<any>(jury0b, 'join', { sessionId })).data.state.phase, 'verdict');
    const first = await request<any>(jury0b, 'confirmVerdict', { sessionId, verdictId });
    t.same(first.data.verdict.confirmedBy, [demo.jury[0].id]);
    t.equal(first.data.completed, null, 'one confirmation is not enough');
    const twice = await request<any>(jury0b, 'confirmVerdict', { sessionId, verdictId });
    t.equal(twice.error?.code, 'already_confirmed');

    const final = nextEvent<any>(candidate, 'defenceState', (s) => s.phase === 'completed');
    const last = await request<any>(jury1, 'confirmVerdict', { sessionId, verdictId });
    t.equal(last.data.completed.outcome, 'pass');
    t.ok(last.data.completed.diplomaId);
    const fs = await final;
    t.equal(fs.outcome, 'pass');
    t.equal(fs.verdict.status, 'final');
    t.same(fs.verdict.marks, marks);
    t.equal(fs.diplomaId, last.data.completed.diplomaId);

    t.same(
      phaseEvents.map((e) => [e.phase, e.candidateIsolated, e.recordingAllowed]),
      [
        ['presentation', false, true],
        ['questions', false, true],
        ['deliberation', true, false],
        ['verdict', false, true],
        ['completed', false, false],
      ],
    );
  });

  await t.test('progress shows the completed path and the diploma; the audit trail has every change', async (t) => {
    const p = await progress();
    t.equal(p.enrollment.status, 'completed');
    t.equal(p.defences.length, 1);
    t.equal(p.defences[0].outcome, 'pass');
    t.equal(p.diploma.pathTitle, 'Front-end developer');
    t.equal(p.diploma.eqfLevel, 6);
    t.equal(p.diploma.issuedOn, new Date().toISOString().slice(0, 10));
    t.same(p.diploma.jury.map((j: { userId: string }) => j.userId).sort(), [demo.jury[0].id, demo.jury[1].id].sort());

    const mentorView = await api(url, 'GET', `/students/${demo.student.id}/progress`, mentorToken);
    t.equal(mentorView.status, 200, 'the mentor sees it');
    const juryView = await api(url, 'GET', `/students/${demo.student.id}/progress`, jury0Token);
    t.equal(juryView.status, 200, 'a jury member of the defence sees it');
    const other = await api(url, 'GET', `/students/${demo.soloStudent.id}/progress`, studentToken);
    t.equal(other.status, 403, 'another student does not');

    const trail = await api(url, 'GET', `/students/${demo.student.id}/audit`, coordinatorToken);
    t.equal(trail.status, 200);
    const actions = trail.body.map((r: { entity: string; action: string }) => `${r.entity}:${r.action}`);
    for (const expected of ['project_progress:submitted', 'project_progress:resubmitted', 'evaluation:recorded', 'project_progress:unlocked', 'defence:candidate_admitted', 'defence:phase_changed', 'verdict:proposed', 'verdict:confirmed', 'verdict:finalized', 'defence:completed', 'enrollment:path_completed', 'diploma:issued']) {
      t.ok(actions.includes(expected), `audit has ${expected}`);
    }
    t.equal(actions.filter((a: string) => a === 'verdict:confirmed').length, 2);
  });

  await t.test('the webhook receiver got every event, each signature verified, the refused one retried', async (t) => {
    const count = (hooks: typeof receiver.received, event: string) => new Set(hooks.filter((h) => h.json.event === event && h.answered === 200).map((h) => h.json.id)).size;
    const hooks = await receiver.until(
      (r) => count(r, 'project.validated') === 6 && count(r, 'diploma.issued') === 1 && count(r, 'defence.completed') === 1 && count(r, 'session.booked') === 8 && count(r, 'session.completed') === 7 && count(r, 'attendance.finalized') === 7,
    );
    for (const h of hooks) {
      t.ok(verifySignature(secret, String(h.headers[TIMESTAMP_HEADER]), h.body, String(h.headers[SIGNATURE_HEADER])), `signature of ${h.json.event} verified`);
      t.equal(h.headers[EVENT_HEADER], h.json.event);
    }
    t.notOk(verifySignature('whsec_wrong', String(hooks[0]!.headers[TIMESTAMP_HEADER]), hooks[0]!.body, String(hooks[0]!.headers[SIGNATURE_HEADER])), 'a wrong secret does not verify');
    t.notOk(verifySignature(secret, String(hooks[0]!.headers[TIMESTAMP_HEADER]), hooks[0]!.body + ' ', String(hooks[0]!.headers[SIGNATURE_HEADER])), 'a changed body does not verify');

    const refused = hooks[0]!;
    t.equal(refused.answered, 500);
    const retried = hooks.filter((h) => h.json.id === refused.json.id);
    t.same(retried.map((h) => h.answered), [500, 200], 'the refused delivery came again and succeeded');

    const diploma = hooks.find((h) => h.json.event === 'diploma.issued')!;
    t.equal(diploma.json.data.studentId, demo.student.id);

    // The receiver answered before the server wrote the outcome down: wait for the log to settle.
    let log = await api(url, 'GET', `/webhooks/${sub.body.id}/deliveries`, coordinatorToken);
    for (let i = 0; i < 100 && !log.body.every((d: { status: string }) => d.status === 'delivered'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      log = await api(url, 'GET', `/webhooks/${sub.body.id}/deliveries`, coordinatorToken);
    }
    t.equal(log.status, 200);
    const entry = log.body.find((d: { id: string }) => d.id === refused.json.id);
    t.equal(entry.status, 'delivered');
    t.equal(entry.attempts, 2);
    t.same(entry.log.map((l: { statusCode: number }) => l.statusCode), [500, 200]);
    t.ok(log.body.every((d: { status: string }) => d.status === 'delivered'));
  });
});
