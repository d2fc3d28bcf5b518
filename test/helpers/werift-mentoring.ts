import type { Test } from 'tap';
import { WeriftPeer } from '../../support/werift-peer.ts';
import { api, type TestApp } from './app.ts';
import { insertLiveMentoring } from './sessions.ts';

/**
 * The start of the recording tests with real WebRTC: a live mentoring session
 * whose student consented to recording, the student and the mentor joined in
 * its room as werift peers (closed at teardown).
 */
export async function joinConsentingMentoring(
  t: Test,
  ctx: TestApp,
): Promise<{ sessionId: string; studentToken: string; mentorToken: string; student: WeriftPeer; mentor: WeriftPeer }> {
  const { demo, url } = ctx;
  const sessionId = await insertLiveMentoring(ctx.db, demo);
  const [studentToken, mentorToken] = await Promise.all([ctx.login(demo.student), ctx.login(demo.mentor)]);
  t.equal((await api(url, 'PUT', `/sessions/${sessionId}/recording-consent`, studentToken, { granted: true })).status, 200);
  const student = await WeriftPeer.connect(url, studentToken);
  const mentor = await WeriftPeer.connect(url, mentorToken);
  t.teardown(() => student.close());
  t.teardown(() => mentor.close());
  await student.join(sessionId);
  await mentor.join(sessionId);
  return { sessionId, studentToken, mentorToken, student, mentor };
}
