import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage, screenshot } from './helpers/browser.ts';
import { insertDemoDefence } from './helpers/sessions.ts';
import { insertProcessedRecording } from './helpers/recording-fixtures.ts';
import { until } from './helpers/recording-media.ts';

buildWebClient();
// A busy CI machine composes slowly.
t.setTimeout(480_000);

t.test('browser: replay page in Chromium: the composite plays, the timeline shows phases and comments, a comment seeks', async (t) => {
  const ctx = await startTestApp(t, { env: { RECORDING_COMPOSITE_HEIGHT: '360', RECORDING_COMPOSITE_NICE: '0' } });
  const { demo, db, url } = ctx;
  const startedAt = new Date(Date.now() - 10 * 60_000);
  const sessionId = await insertDemoDefence(db, demo, { startsAt: new Date(startedAt.getTime() - 60_000), endsAt: new Date(startedAt.getTime() + 60 * 60_000) });
  const durationMs = 14_000;
  const recordingId = await insertProcessedRecording(db, {
    recordingsDir: ctx.config.recording.dir,
    sessionId,
    startedAt,
    durationMs,
    tracks: [
      { userId: demo.student.id, source: 'webcam', offsetMs: 0, durationMs: 14_000 },
      { userId: demo.student.id, source: 'mic', offsetMs: 0, durationMs: 14_000 },
      { userId: demo.jury[0].id, source: 'webcam', offsetMs: 2_000, durationMs: 12_000, lavfi: 'color=c=blue:s=320x240' },
      { userId: demo.jury[0].id, source: 'mic', offsetMs: 2_000, durationMs: 12_000, lavfi: 'sine=frequency=660' },
      { userId: demo.student.id, source: 'screen', offsetMs: 5_000, durationMs: 4_000, lavfi: 'color=c=red:s=640x360' },
    ],
  });
  // The defence's phases (as the flow's audit trail writes them) and two review comments during the recording.
  const at = (ms: number) => new Date(startedAt.getTime() + ms);
  for (const [phase, ms] of [['presentation', 1_000], ['questions', 8_000]] as const) {
    await db.execute(`INSERT INTO progression_audit (entity, entity_id, enrollment_id, action, from_state, to_state, at) VALUES ('defence', $1, $2, 'phase_changed', 'lobby', $3, $4)`, [
      sessionId,
      demo.enrollmentId,
      phase,
      at(ms),
    ]);
  }
  const doc = await db.one<{ id: string }>(
    `INSERT INTO review_documents (session_id, author_id, kind, name, language, content, line_count, created_at) VALUES ($1, $2, 'file', 'app.ts', 'typescript', 'let x = 1;\nlet y = 2;\n', 2, $3) RETURNING id`,
    [sessionId, demo.student.id, at(500)],
  );
  for (const [body, ms] of [['Why a let here?', 3_000], ['This name says nothing', 10_500]] as const) {
    await db.execute(`INSERT INTO review_comments (session_id, document_id, author_id, line, body, recording_offset_ms, created_at) VALUES ($1, $2, $3, 1, $4, $5, $6)`, [
      sessionId,
      doc!.id,
      demo.jury[0].id,
      body,
      ms,
      at(ms),
    ]);
  }

  // The composing job, as after a real recording.
  await ctx.app.composites.enqueue(recordingId);
  const token = await ctx.login(demo.student);
  await until(async () => (await api(url, 'GET', `/sessions/${sessionId}/recordings/${recordingId}/composite`, token)).body.status === 'ready', 120_000, 'the composite');
  const outsider = await api(url, 'GET', `/sessions/${sessionId}/recordings/${recordingId}/replay`, await ctx.login(demo.soloStudent));
  t.equal(outsider.status, 404, 'someone outside the session does not see the replay');

  const browser = await launchBrowser(t);
  const { page, errors } = await newPage(browser, url);
  await loginThroughForm(page, demo.student, `/#/sessions/${sessionId}/recordings/${recordingId}`);
  await page.locator('#replay-video').waitFor();
  t.equal(await page.locator('.lane .mark').count(), 2, 'two comment marks on the timeline');
  // (The demo student reads French: the labels are checked by their phase, not their words.)
  t.same(await page.locator('.lane.phases .phase').evaluateAll((els) => els.map((e) => e.className)), ['span phase phase-presentation', 'span phase phase-questions'], 'the defence phases on the timeline');
  t.equal(await page.locator('.lane .gap').count(), 0);
  t.equal(await page.locator('#replay-comments li[data-comment-id]').count(), 2);

  // It plays: decoded frames keep coming.
  await page.evaluate(() => {
    const video = document.getElementById('replay-video') as HTMLVideoElement & { frames?: number };
    video.frames = 0;
    const count = () => {
      video.frames! += 1;
      video.requestVideoFrameCallback(count);
    };
    video.requestVideoFrameCallback(count);
    video.muted = true;
    return video.play();
  });
  await page.waitForFunction(() => ((document.getElementById('replay-video') as HTMLVideoElement & { frames?: number }).frames ?? 0) >= 10);
  const first = await page.evaluate(() => (document.getElementById('replay-video') as HTMLVideoElement).currentTime);
  await page.waitForFunction((from) => (document.getElementById('replay-video') as HTMLVideoElement).currentTime > from + 0.5, first);
  t.pass('the video plays (frames rising, time advancing)');
  t.equal(await page.evaluate(() => Math.round((document.getElementById('replay-video') as HTMLVideoElement).duration)), 14, 'the file lasts as long as the recording');

  // Clicking a comment moves the playhead to its time; the list follows it.
  const second = page.locator('#replay-comments li[data-comment-id]').nth(1);
  await second.getByRole('button').click();
  await page.waitForFunction(() => Math.abs((document.getElementById('replay-video') as HTMLVideoElement).currentTime - 10.5) < 0.6);
  await page.locator('#replay-comments li[aria-current="true"]', { hasText: 'This name says nothing' }).waitFor();
  t.pass('the playhead moved to the comment and the list follows it');
  // And a click on the first comment's mark on the timeline seeks back.
  await page.locator('.lane .mark').first().click();
  await page.waitForFunction(() => Math.abs((document.getElementById('replay-video') as HTMLVideoElement).currentTime - 3) < 0.6);
  await page.locator('#replay-comments li[aria-current="true"]', { hasText: 'Why a let here?' }).waitFor();
  await screenshot(page, 'replay');
  t.same(errors, [], 'no errors in the page');

  // In French.
  await page.goto(`/?lang=fr#/sessions/${sessionId}/recordings/${recordingId}`);
  await page.getByText('Commentaires de revue').first().waitFor();
  t.pass('the page speaks French');
});
