import t from 'tap';
import { api, nextEvent, request, startTestApp } from './helpers/app.ts';
import { insertDemoMentoring } from './helpers/sessions.ts';
import type { ReviewComment, ReviewDocument, Review } from '../src/codereview/index.ts';

const CODE = ['function add(a, b) {', '  return a - b;', '}', ''].join('\n');

t.test('code review over /review: documents, threaded comments, resolve, REST and Markdown', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, db } = ctx;
  const now = Date.now();
  const sessionId = await insertDemoMentoring(db, demo, { startsAt: new Date(now), endsAt: new Date(now + 45 * 60_000) });
  const [studentToken, mentorToken, juryToken, coordinatorToken] = await Promise.all([
    ctx.login(demo.student),
    ctx.login(demo.mentor),
    ctx.login(demo.jury[0]),
    ctx.login(demo.coordinator),
  ]);
  const student = ctx.socket(studentToken, '/review');
  const mentor = ctx.socket(mentorToken, '/review');
  const outsider = ctx.socket(juryToken, '/review');

  const opened = await request<Review>(student, 'open', { sessionId });
  t.same(opened.data, { documents: [], comments: [] }, 'an empty review to start with');
  t.ok((await request(mentor, 'open', { sessionId })).data, 'the mentor opens it too');

  const refused = await request(outsider, 'open', { sessionId });
  t.equal(refused.error?.code, 'not_a_participant', 'someone outside the session is refused');
  t.equal((await request(outsider, 'addComment', { sessionId, documentId: sessionId, line: 1, body: 'x' })).error?.code, 'not_a_participant');
  t.equal((await request(student, 'open', { sessionId: 'nope' })).error?.code, 'invalid_payload', 'payloads are validated');

  // The student shares a file; the mentor's page receives it.
  const seenByMentor = nextEvent<{ document: ReviewDocument }>(mentor, 'documentAdded');
  const added = await request<ReviewDocument>(student, 'addDocument', { sessionId, kind: 'file', name: 'add.js', language: 'javascript', content: CODE });
  const doc = added.data!;
  t.equal(doc.lineCount, 3, 'a trailing newline adds no line');
  t.equal(doc.authorName, demo.student.name);
  t.equal((await seenByMentor).document.id, doc.id, 'the other participant sees the document in real time');

  // The mentor comments on line 2; the student sees it.
  const seenByStudent = nextEvent<{ comment: ReviewComment }>(student, 'commentAdded');
  const root = (await request<ReviewComment>(mentor, 'addComment', { sessionId, documentId: doc.id, line: 2, body: 'Subtraction? Should be a + b.' })).data!;
  const pushed = (await seenByStudent).comment;
  t.equal(pushed.id, root.id);
  t.equal(pushed.line, 2);
  t.equal(pushed.authorName, demo.mentor.name);
  t.equal(pushed.recordingOffsetMs, null, 'no recording running: no offset');
  t.equal(pushed.parentId, null);

  t.equal((await request(mentor, 'addComment', { sessionId, documentId: doc.id, line: 4, body: 'past the end' })).error?.code, 'line_out_of_range');
  t.equal((await request(mentor, 'addComment', { sessionId, documentId: doc.id, body: 'no line' })).error?.code, 'line_required');
  t.equal((await request(mentor, 'addComment', { sessionId, documentId: doc.id, line: 1, body: '   ' })).error?.code, 'comment_empty');

  // The student replies (threaded, same line); a reply to the reply joins the root's thread.
  const reply = (await request<ReviewComment>(student, 'addComment', { sessionId, documentId: doc.id, parentId: root.id, body: 'Oops, fixed.' })).data!;
  t.equal(reply.parentId, root.id);
  t.equal(reply.line, 2, 'a reply takes the line of its thread');
  const nested = (await request<ReviewComment>(mentor, 'addComment', { sessionId, documentId: doc.id, parentId: reply.id, body: 'Thanks!' })).data!;
  t.equal(nested.parentId, root.id, 'threads are one level deep');

  // Resolving (by any comment of the thread) updates the root for everyone.
  const resolvedSeen = nextEvent<{ comment: ReviewComment }>(student, 'threadUpdated');
  const resolved = await request<ReviewComment>(mentor, 'resolveThread', { sessionId, commentId: nested.id, resolved: true });
  t.equal(resolved.data?.id, root.id);
  t.ok(resolved.data?.resolvedAt);
  t.equal(resolved.data?.resolvedBy, demo.mentor.id);
  t.equal((await resolvedSeen).comment.id, root.id);

  // A reply reopens a resolved thread.
  // (The mentor's own resolve is broadcast to the mentor too: wait for the reopening itself.)
  const reopened = nextEvent<{ comment: ReviewComment }>(mentor, 'threadUpdated', (e) => e.comment.id === root.id && e.comment.resolvedAt === null);
  await request(student, 'addComment', { sessionId, documentId: doc.id, parentId: root.id, body: 'One more question.' });
  t.equal((await reopened).comment.resolvedBy, null, 'replying reopens the thread');
  t.equal((await api(ctx.url, 'GET', `/sessions/${sessionId}/review`, studentToken)).body.comments.find((c: ReviewComment) => c.id === root.id).resolvedAt, null);
  await request(mentor, 'resolveThread', { sessionId, commentId: root.id, resolved: true });

  // A pasted diff.
  const diff = (await request<ReviewDocument>(student, 'addDocument', { sessionId, kind: 'diff', name: 'fix.diff', content: '--- a\n+++ b\n-x\n+y' })).data!;
  t.equal(diff.language, 'diff');

  // REST: participants and coordinators read it; others get 404.
  const rest = await api(ctx.url, 'GET', `/sessions/${sessionId}/review`, studentToken);
  t.equal(rest.status, 200);
  t.equal(rest.body.documents.length, 2);
  t.equal(rest.body.comments.length, 4);
  t.equal((await api(ctx.url, 'GET', `/sessions/${sessionId}/review`, coordinatorToken)).status, 200);
  t.equal((await api(ctx.url, 'GET', `/sessions/${sessionId}/review`, juryToken)).status, 404);
  t.equal((await api(ctx.url, 'GET', `/sessions/${sessionId}/review`)).status, 401);

  const md = await api(ctx.url, 'GET', `/sessions/${sessionId}/review.md`, mentorToken);
  t.equal(md.status, 200);
  t.match(md.headers.get('content-type'), /^text\/markdown/);
  const text = md.body as string;
  t.match(text, /^# Code review/);
  t.match(text, /## add\.js/);
  t.match(text, /```javascript\nfunction add\(a, b\) \{\n {2}return a - b;\n\}\n```/);
  t.match(text, /\*\*Line 2\*\* — resolved by Julien Moreau/);
  t.match(text, /Subtraction\? Should be a \+ b\./);
  t.match(text, /Oops, fixed\./);
  t.match(text, /```diff\n--- a/);
});

t.test('a non-participant may not add a document, even knowing the session id', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, db } = ctx;
  const sessionId = await insertDemoMentoring(db, demo, { startsAt: new Date(), endsAt: new Date(Date.now() + 3_600_000) });
  const coordinator = ctx.socket(await ctx.login(demo.coordinator), '/review');
  const res = await request(coordinator, 'addDocument', { sessionId, kind: 'file', name: 'x.ts', content: 'x' });
  t.equal(res.error?.code, 'not_a_participant');
  const student = ctx.socket(await ctx.login(demo.student), '/review');
  t.equal((await request(student, 'open', { sessionId: '00000000-0000-4000-8000-000000000000' })).error?.code, 'session_not_found');
});
