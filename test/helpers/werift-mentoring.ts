import type { Test } from 'tap';
import { WeriftPeer, type JoinData } from '../../support/werift-peer.ts';
import { api, type TestApp } from './app.ts';
import { insertLiveMentoring } from './sessions.ts';

/**
 * The start of the media tests with real WebRTC: a live mentoring session,
 * the student and then the mentor joined in its room as werift peers (closed
 * at teardown). With `recordingConsent`, the student consents to recording
 * first (checked), as the recording tests need.
 */
export async function joinLiveMentoring(
  t: Test,
  ctx: TestApp,
  options: { recordingConsent?: boolean } = {},
): Promise<{ sessionId: string; studentToken: string; mentorToken: string; student: WeriftPeer; mentor: WeriftPeer; studentJoin: JoinData; mentorJoin: JoinData }> {
  const { demo, url } = ctx;
  const sessionId = await insertLiveMentoring(ctx.db, demo);
  const [studentToken, mentorToken] = await Promise.all([ctx.login(demo.student), ctx.login(demo.mentor)]);
  if (options.recordingConsent) {
    t.equal((await api(url, 'PUT', `/sessions/${sessionId}/recording-consent`, studentToken, { granted: true })).status, 200);
  }
  const student = await WeriftPeer.connect(url, studentToken);
  const mentor = await WeriftPeer.connect(url, mentorToken);
  t.teardown(() => student.close());
  t.teardown(() => mentor.close());
  const studentJoin = await student.join(sessionId);
  const mentorJoin = await mentor.join(sessionId);
  return { sessionId, studentToken, mentorToken, student, mentor, studentJoin, mentorJoin };
}
