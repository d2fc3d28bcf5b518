import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage, screenshot } from './helpers/browser.ts';
import { insertDemoMentoring } from './helpers/sessions.ts';

/**
 * End to end in real headless Chromium: a student and a mentor log in through
 * the form, join the same session room (mediasoup), see each other's camera,
 * the mentor sees the student's screen share next to the code review, and the
 * mentor's line comment appears on the student's page.
 */
buildWebClient();

const CODE = ['export function add(a, b) {', '  return a - b;', '}', ''].join('\n');

/** The remote camera (or screen) of `userId` is playing: a size, and decoded frames rising. */
async function waitForPlayingVideo(t: { ok(v: unknown, msg: string): void }, page: Page, userId: string, source: 'webcam' | 'screen', who: string): Promise<void> {
  const selector = `video[data-user-id="${userId}"][data-source="${source}"]`;
  await page.waitForFunction((sel) => {
    const v = document.querySelector<HTMLVideoElement>(sel);
    return !!v && v.videoWidth > 0;
  }, selector);
  const first = await page.evaluate((sel) => {
    const v = document.querySelector<HTMLVideoElement>(sel)!;
    return { width: v.videoWidth, height: v.videoHeight, frames: v.getVideoPlaybackQuality().totalVideoFrames };
  }, selector);
  t.ok(first.width > 0 && first.height > 0, `${who} sees a ${source} of ${first.width}x${first.height}`);
  // Decoded frames keep rising (read from the page: the element and the consumer's inbound-rtp stats).
  await page.waitForFunction(
    ({ sel, frames }) => document.querySelector<HTMLVideoElement>(sel)!.getVideoPlaybackQuality().totalVideoFrames > frames + 10,
    { sel: selector, frames: first.frames },
  );
  const decoded = async () =>
    page.evaluate(async ({ uid, src }) => {
      const stats = await window.mlRoom!.stats();
      return stats.find((s) => s.userId === uid && s.source === src && s.kind === 'video')?.framesDecoded ?? 0;
    }, { uid: userId, src: source });
  const before = await decoded();
  await page.waitForFunction(
    async ({ uid, src, n }) => {
      const stats = await window.mlRoom!.stats();
      return (stats.find((s) => s.userId === uid && s.source === src && s.kind === 'video')?.framesDecoded ?? 0) > n;
    },
    { uid: userId, src: source, n: before },
  );
  t.ok(before > 0, `${who}: ${source} frames decoded (${before}) and rising`);
}

/**
 * A mentoring session open now (45 minutes, third project), and the student
 * and the mentor logged in through the form on its link, each in a page with
 * the given locale.
 */
async function studentAndMentorOnSessionLink(t: Test, ctx: TestApp, locales: { student: string; mentor: string }) {
  const { demo } = ctx;
  const now = Date.now();
  const sessionId = await insertDemoMentoring(ctx.db, demo, { startsAt: new Date(now), endsAt: new Date(now + 45 * 60_000), projectIndex: 2 });
  const browser = await launchBrowser(t);
  const student = await newPage(browser, ctx.url, { locale: locales.student });
  const mentor = await newPage(browser, ctx.url, { locale: locales.mentor });
  await Promise.all([
    loginThroughForm(student.page, demo.student, `/#/sessions/${sessionId}`),
    loginThroughForm(mentor.page, demo.mentor, `/#/sessions/${sessionId}`),
  ]);
  return { sessionId, browser, student, mentor };
}

t.test('browser: student and mentor meet in Chromium: video both ways, screen share, live line comment', async (t) => {
  const ctx = await startTestApp(t);
  const { demo } = ctx;
  // Both open the session's link (the one in calendar invitations), log in, land in the room.
  const { sessionId, student, mentor } = await studentAndMentorOnSessionLink(t, ctx, { student: 'fr-CA', mentor: 'fr-FR' });
  await Promise.all([student.page.locator('.room[data-status="joined"]').waitFor(), mentor.page.locator('.room[data-status="joined"]').waitFor()]);

  // Each page shows the other's camera playing.
  await waitForPlayingVideo(t, mentor.page, demo.student.id, 'webcam', 'the mentor');
  await waitForPlayingVideo(t, student.page, demo.mentor.id, 'webcam', 'the student');

  // Who is present.
  await mentor.page.locator(`#presence-list li[data-user-id="${demo.student.id}"]`).waitFor();
  t.match(await mentor.page.locator('#presence-list').textContent(), /Camille Tremblay[\s\S]*Julien Moreau|Julien Moreau[\s\S]*Camille Tremblay/, 'both are listed as present');

  // Sound too: the mentor receives the student's microphone (audio packets rising).
  const audioPackets = () =>
    mentor.page.evaluate(async (uid) => (await window.mlRoom!.stats()).find((s) => s.userId === uid && s.kind === 'audio')?.packetsReceived ?? 0, demo.student.id);
  const packets = await audioPackets();
  await mentor.page.waitForFunction(
    async ({ uid, n }) => ((await window.mlRoom!.stats()).find((s) => s.userId === uid && s.kind === 'audio')?.packetsReceived ?? 0) > n,
    { uid: demo.student.id, n: packets },
  );
  t.pass('the student is heard');

  // Active speaker: someone's tile is highlighted (both fake microphones beep).
  await mentor.page.locator('figure.tile.speaking').first().waitFor();
  t.pass('the active speaker is highlighted');

  // Device choice: the student switches to another microphone (the producer's track is replaced).
  await student.page.locator('details.devices summary').click();
  const micSelect = student.page.getByLabel('Microphone', { exact: true });
  const options = await micSelect.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  t.ok(options.length >= 2, 'the fake microphones are listed');
  await micSelect.selectOption(options[1]!);
  await student.page.waitForFunction((id) => window.mlRoom!.localTrack('mic')?.getSettings().deviceId === id, options[1]!);
  t.pass('the chosen microphone is in use');

  // Mute is signalled: the mentor sees the student's microphone muted.
  await student.page.locator('#toggle-mic').click();
  await mentor.page.locator(`figure.tile[data-user-id="${demo.student.id}"] .mic-off:not([hidden])`).waitFor();
  t.equal(await student.page.locator('#toggle-mic').getAttribute('aria-pressed'), 'true', 'the mute button says it is pressed');
  await student.page.locator('#toggle-mic').click();
  await mentor.page.locator(`figure.tile[data-user-id="${demo.student.id}"] .mic-off[hidden]`).waitFor({ state: 'attached' });

  // The student shares the screen; the mentor sees it.
  await student.page.locator('#toggle-screen').click();
  await waitForPlayingVideo(t, mentor.page, demo.student.id, 'screen', 'the mentor');

  // One screen share at a time in a room: the mentor's attempt is refused with a clear message.
  await mentor.page.locator('#toggle-screen').click();
  await mentor.page.locator('#room-alert:not([hidden])').waitFor();
  t.match(await mentor.page.locator('#room-alert').textContent(), /Le partage d'écran n'a pas démarré : Quelqu'un partage déjà son écran\./, 'in the viewer’s language');
  t.equal(await mentor.page.locator('#toggle-screen').getAttribute('aria-pressed'), 'false', 'the mentor is not sharing');

  // The student agrees to recording, the mentor starts it: both pages show the indicator.
  const consentSaved = student.page.waitForResponse((r) => r.url().endsWith('/recording-consent') && r.request().method() === 'PUT');
  await student.page.getByLabel("J'accepte que cette session soit enregistrée").check();
  t.equal((await consentSaved).status(), 200, 'the student agreed to recording');
  const started = mentor.page.waitForResponse((r) => r.url().endsWith('/recordings') && r.request().method() === 'POST');
  await mentor.page.locator('#toggle-recording').click();
  t.equal((await started).status(), 201, 'the mentor started the recording');
  await Promise.all([student.page.locator('#recording-indicator:not([hidden])').waitFor(), mentor.page.locator('#recording-indicator:not([hidden])').waitFor()]);
  t.pass('both pages show that the session is being recorded');

  // The student opens a file for review (the real file picker).
  await student.page.locator('#review-panel input[type="file"]').setInputFiles({ name: 'add.js', mimeType: 'text/javascript', buffer: Buffer.from(CODE) });
  await mentor.page.locator('#review-code .row[data-line="2"]').waitFor();
  t.equal(await mentor.page.locator('#review-code .row').count(), 3, 'the mentor sees the three lines');
  t.ok((await mentor.page.locator('#review-code .hljs-keyword').count()) > 0, 'with syntax highlighting');

  // Screen share and code review side by side on the mentor's page.
  const [stageBox, reviewBox] = await Promise.all([mentor.page.locator('#stage').boundingBox(), mentor.page.locator('#review-panel').boundingBox()]);
  t.ok(stageBox && reviewBox && stageBox.x + stageBox.width <= reviewBox.x + 1 && Math.abs(stageBox.y - reviewBox.y) < 5, 'screen share and review are side by side');

  // The mentor comments on line 2 with the keyboard; it appears on the student's page.
  const body = 'Soustraction ? Il faudrait a + b.';
  await mentor.page.locator('#review-code .row[data-line="2"] button.ln').focus();
  await mentor.page.keyboard.press('Enter');
  await mentor.page.locator('form.new-comment textarea').fill(body);
  await mentor.page.keyboard.press('Control+Enter');
  const onStudent = student.page.locator('#review-code .line-threads[data-line="2"] .thread .comment-body', { hasText: body });
  await onStudent.waitFor();
  t.equal(await onStudent.textContent(), body, "the mentor's comment appears on the student's page, on line 2");
  t.match(
    await student.page.locator('#review-code .line-threads[data-line="2"] .thread .meta').textContent(),
    /Julien Moreau · .* · à \d:\d\d:\d\d dans l'enregistrement/,
    'the comment notes the time into the recording',
  );

  // The student replies and resolves; the mentor sees both.
  await student.page.locator('.thread form.reply textarea').fill('Corrigé, merci !');
  await student.page.locator('.thread form.reply button[type="submit"]').click();
  await mentor.page.locator('.thread .comment-body', { hasText: 'Corrigé, merci !' }).waitFor();
  await student.page.locator('.thread button.resolve').click();
  await mentor.page.locator('.thread.resolved').waitFor();
  t.pass('threaded reply and resolve reach the other page');

  // The Markdown export holds the comment.
  const download = mentor.page.waitForEvent('download');
  await mentor.page.locator('#review-export').click();
  const file = await download;
  const chunks: Buffer[] = [];
  for await (const chunk of (await file.createReadStream())!) chunks.push(chunk as Buffer);
  t.match(Buffer.concat(chunks).toString('utf8'), /\*\*Line 2\*\* — resolved[\s\S]*recording \d:\d\d:\d\d\n\s+Soustraction/, 'the Markdown export has the thread');

  // Accessibility basics on both pages: every field has a label, every button a name.
  for (const [who, page] of [['student', student.page], ['mentor', mentor.page]] as const) {
    const unlabelled = await page.evaluate(() => [
      ...Array.from(document.querySelectorAll<HTMLInputElement>('input, select, textarea'))
        .filter((el) => el.type !== 'hidden' && !(el.labels && el.labels.length > 0) && !el.getAttribute('aria-label'))
        .map((el) => `field ${el.id || el.name}`),
      ...Array.from(document.querySelectorAll('button')).filter((b) => !(b.textContent ?? '').trim() && !b.getAttribute('aria-label')).map((b) => `button ${b.id}`),
    ]);
    t.same(unlabelled, [], `${who}: fields labelled, buttons named`);
  }

  await screenshot(student.page, 'e2e-student');
  await screenshot(mentor.page, 'e2e-mentor');

  // A pasted diff: added and removed lines are marked; tabs switch with the arrow keys.
  await student.page.locator('details.paste-diff summary').click();
  await student.page.locator('details.paste-diff input[name="name"]').fill('fix.diff');
  await student.page.locator('details.paste-diff textarea').fill('--- a/add.js\n+++ b/add.js\n@@ -1,3 +1,3 @@\n export function add(a, b) {\n-  return a - b;\n+  return a + b;\n }\n');
  await student.page.locator('details.paste-diff button[type="submit"]').click();
  await mentor.page.locator('[role="tab"]', { hasText: 'fix.diff' }).click();
  await mentor.page.locator('#review-code .row.add').waitFor();
  t.same(
    await mentor.page.locator('#review-code .row').evaluateAll((rows) => rows.map((r) => r.className.replace('row', '').trim())),
    ['meta', 'meta', 'hunk', '', 'del', 'add', ''],
    'file headers, hunk, removed and added lines are marked',
  );
  await mentor.page.keyboard.press('ArrowLeft');
  await mentor.page.locator('[role="tab"][aria-selected="true"]', { hasText: 'add.js' }).waitFor();
  t.equal(await mentor.page.locator('#review-code .thread').count(), 1, 'back on add.js with its thread');

  // The mentor stops the recording: the indicator goes away on the student's page.
  await mentor.page.locator('#toggle-recording[aria-pressed="true"]').click();
  await student.page.locator('#recording-indicator').waitFor({ state: 'hidden' });

  // Leaving: the other page sees the peer go.
  await student.page.locator('#leave').click();
  await mentor.page.locator(`#presence-list li[data-user-id="${demo.student.id}"]`).waitFor({ state: 'detached' });
  t.same(student.errors, [], 'no error on the student page');
  t.same(mentor.errors, [], 'no error on the mentor page');
});

t.test('browser: refused joins say why: too early, not a participant', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, db } = ctx;
  const later = new Date(Date.now() + 3 * 3_600_000);
  const sessionId = await insertDemoMentoring(db, demo, { startsAt: later, endsAt: new Date(later.getTime() + 45 * 60_000), projectIndex: 2 });
  const browser = await launchBrowser(t);

  const student = await newPage(browser, ctx.url);
  await loginThroughForm(student.page, demo.student, `/#/sessions/${sessionId}`);
  const alert = student.page.locator('#room-alert:not([hidden])');
  await alert.waitFor();
  t.match(await alert.textContent(), /pas encore ouverte.*La salle ouvre/, 'too early: says when the room opens (in French, the student’s language)');
  t.equal(await student.page.locator('.room .controls').isHidden(), true, 'no media controls');

  const jury = await newPage(browser, ctx.url);
  await loginThroughForm(jury.page, demo.jury[0], `/#/sessions/${sessionId}`);
  const refused = jury.page.locator('#room-alert:not([hidden])');
  await refused.waitFor();
  t.equal(await refused.textContent(), 'You are not a participant of this session.');
  t.equal(await jury.page.locator('#review-panel').isHidden(), true, 'nothing of the session is shown');
  await screenshot(jury.page, 'e2e-refused');
});

t.test('browser: the client reconnects by itself: ICE restart, recovered signalling, full rejoin', async (t) => {
  const ctx = await startTestApp(t);
  const { demo } = ctx;
  const { sessionId, browser, student, mentor } = await studentAndMentorOnSessionLink(t, ctx, { student: 'en-GB', mentor: 'en-GB' });
  await waitForPlayingVideo(t, mentor.page, demo.student.id, 'webcam', 'the mentor');

  const studentCamera = `video[data-user-id="${demo.student.id}"][data-source="webcam"]`;
  const consumerOf = () => mentor.page.locator(studentCamera).getAttribute('data-consumer-id');

  // 1. ICE restart (what a dropped transport triggers): transports connected again, media still flowing.
  await student.page.evaluate(() => window.mlRoom!.restartIce());
  await student.page.waitForFunction(() => {
    const s = window.mlRoom!.transportStates();
    return s.send === 'connected' && s.recv === 'connected';
  });
  await waitForPlayingVideo(t, mentor.page, demo.student.id, 'webcam', 'after an ICE restart, the mentor');

  const studentSocket = () => [...ctx.app.io.of('/rooms').sockets.values()].find((s) => (s.data.identity as { userId: string }).userId === demo.student.id);

  // 2. The connection drops (transport closed under it): Socket.IO reconnects and recovers; the room goes on.
  const before = await consumerOf();
  studentSocket()!.conn.close();
  await student.page.locator('.room[data-status="reconnecting"]').waitFor({ state: 'attached' }).catch(() => undefined);
  await student.page.locator('.room[data-status="joined"]').waitFor({ state: 'attached' });
  await waitForPlayingVideo(t, mentor.page, demo.student.id, 'webcam', 'after a recovered connection, the mentor');
  t.ok(await consumerOf(), 'the mentor still has the student’s camera');

  // 3. The server drops the socket for good (e.g. a restart): the client comes back with a full rejoin,
  //    new transports and producers; the mentor consumes the student's new camera.
  studentSocket()!.disconnect(true);
  await mentor.page.waitForFunction(
    ({ sel, old }) => {
      const v = document.querySelector<HTMLVideoElement>(sel);
      return !!v && !!v.dataset.consumerId && v.dataset.consumerId !== old && v.videoWidth > 0;
    },
    { sel: studentCamera, old: (await consumerOf()) ?? before },
  );
  await student.page.locator('.room[data-status="joined"]').waitFor({ state: 'attached' });
  await waitForPlayingVideo(t, mentor.page, demo.student.id, 'webcam', 'after a full rejoin, the mentor');
  await waitForPlayingVideo(t, student.page, demo.mentor.id, 'webcam', 'after a full rejoin, the student');
  t.same(student.errors.filter((e) => !/WebSocket|socket/i.test(e)), [], 'no page error');

  // 4. The student opens the session in another browser: that one takes over, the first one says why it stopped.
  const second = await newPage(browser, ctx.url, { locale: 'en-GB' });
  const oldConsumer = await consumerOf();
  await loginThroughForm(second.page, demo.student, `/#/sessions/${sessionId}`);
  await student.page.locator('.room[data-status="closed"]').waitFor({ state: 'attached' });
  t.equal(await student.page.locator('#room-status').textContent(), 'Vous avez rejoint cette session depuis un autre onglet ou appareil.', 'in the student’s language');
  await mentor.page.waitForFunction(
    ({ sel, old }) => {
      const v = document.querySelector<HTMLVideoElement>(sel);
      return !!v && v.dataset.consumerId !== old && v.videoWidth > 0;
    },
    { sel: studentCamera, old: oldConsumer },
  );
  t.pass('the mentor sees the student from the new browser');
});
