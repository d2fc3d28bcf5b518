import t from 'tap';
import { request, startTestApp } from './helpers/app.ts';
import { insertDemoMentoring } from './helpers/sessions.ts';
import type { ReviewDocument } from '../src/codereview/index.ts';

// Issue 13: review writes are bounded per session (documents, bytes, comments)
// and accepted only while the session allows them. Real server, /review socket.
t.test('review quotas and the write window', async (t) => {
  const ctx = await startTestApp(t, {
    env: { REVIEW_MAX_DOCUMENTS: '3', REVIEW_MAX_BYTES: '4096', REVIEW_MAX_COMMENTS: '4', REVIEW_OPENS_MINUTES_BEFORE: '30', REVIEW_GRACE_MINUTES: '60' },
  });
  const { demo, db } = ctx;
  // One person's sessions may not overlap: short sessions at distinct times, those
  // written to "now" ended less than the grace ago.
  const session = (startsInMin: number, lengthMin = 1) =>
    insertDemoMentoring(db, demo, {
      startsAt: new Date(Date.now() + startsInMin * 60_000),
      endsAt: new Date(Date.now() + (startsInMin + lengthMin) * 60_000),
    });
  const [studentToken, mentorToken] = await Promise.all([ctx.login(demo.student), ctx.login(demo.mentor)]);
  const student = ctx.socket(studentToken, '/review');
  const mentor = ctx.socket(mentorToken, '/review');
  const doc = (s: typeof student, sessionId: string, content = 'a\nb\n', name = 'x.ts') =>
    request<ReviewDocument>(s, 'addDocument', { sessionId, kind: 'file', name, content });

  t.test('documents: count and total bytes, concurrent writes included', async (t) => {
    const sessionId = await session(-59);
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => doc(i % 2 ? mentor : student, sessionId, `line ${i}\n`, `f${i}.ts`)));
    t.equal(results.filter((r) => r.data).length, 3, 'REVIEW_MAX_DOCUMENTS accepted, even at once');
    t.same(
      results.filter((r) => r.error).map((r) => r.error!.code),
      ['review_document_quota', 'review_document_quota'],
    );
    const other = await session(-57);
    t.ok((await doc(student, other, 'x'.repeat(3000))).data, '3000 bytes fit');
    t.equal((await doc(student, other, 'é'.repeat(600))).error?.code, 'review_bytes_quota', 'counted in UTF-8 bytes: 1200 more do not');
    t.ok((await doc(student, other, 'y'.repeat(1000))).data, 'what fits still does');
  });

  t.test('comments: a count per session, concurrent writes included', async (t) => {
    const sessionId = await session(-55);
    const d = (await doc(student, sessionId)).data!;
    const results = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => request(i % 2 ? mentor : student, 'addComment', { sessionId, documentId: d.id, line: 1, body: `c${i}` })),
    );
    t.equal(results.filter((r) => r.data).length, 4);
    t.same([...new Set(results.filter((r) => r.error).map((r) => r.error!.code))], ['review_comment_quota']);
  });

  t.test('writes only from shortly before the start to the end plus the grace, never once cancelled', async (t) => {
    const early = await session(120);
    t.equal((await doc(student, early)).error?.code, 'review_not_open', 'two hours before: not open');
    t.ok((await request(student, 'open', { sessionId: early })).data, 'reading is not refused');
    const soon = await session(20);
    t.ok((await doc(student, soon)).data, 'twenty minutes before: open');
    const recent = await session(-53); // ended 52 minutes ago
    t.ok((await doc(student, recent)).data, 'within the grace');
    const old = await session(-200, 45); // ended 155 minutes ago
    t.equal((await doc(student, old)).error?.code, 'review_closed', 'past the grace');
    const live = await session(-51);
    const d = (await doc(student, live)).data!;
    await db.execute(`UPDATE sessions SET status = 'cancelled' WHERE id = $1`, [live]);
    t.equal((await doc(student, live)).error?.code, 'review_closed', 'cancelled: no document');
    t.equal((await request(mentor, 'addComment', { sessionId: live, documentId: d.id, line: 1, body: 'late' })).error?.code, 'review_closed', 'nor comment');
  });
});
