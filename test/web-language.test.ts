import t from 'tap';
import type { Page } from 'playwright-core';
import { api, startTestApp } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage } from './helpers/browser.ts';
import { insertLiveMentoring } from './helpers/sessions.ts';

/**
 * Switching the language in a room re-labels the page in place: the call goes
 * on (the screen share and the cameras keep playing, nothing is produced
 * again), attendance sees one visit with no gap, and the recording keeps one
 * file per track.
 */
buildWebClient();

/** Decoded frames of `userId`'s `source` on `page` (from the consumer's inbound-rtp stats). */
const framesOf = (page: Page, userId: string, source: 'webcam' | 'screen') =>
  page.evaluate(
    async ({ uid, src }) => (await window.mlRoom!.stats()).find((s) => s.userId === uid && s.source === src && s.kind === 'video')?.framesDecoded ?? 0,
    { uid: userId, src: source },
  );

t.test('browser: three language switches during a screen share leave the call, attendance and recording alone', async (t) => {
  // The recorder takes the camera's lowest simulcast layer, which the browser never drops: on a busy
  // machine Chromium sheds its top layer for CPU (a layer_switch hole that is the encoder's, not the
  // language switch's). What this test holds the recording to is untouched by that choice.
  const ctx = await startTestApp(t, { env: { RECORDING_VIDEO_SPATIAL_LAYER: '0' } });
  const { demo, url, app } = ctx;
  const sessionId = await insertLiveMentoring(ctx.db, demo);
  const [studentToken, mentorToken] = await Promise.all([ctx.login(demo.student), ctx.login(demo.mentor)]);
  t.equal((await api(url, 'PUT', `/sessions/${sessionId}/recording-consent`, studentToken, { granted: true })).status, 200);

  const browser = await launchBrowser(t);
  const student = await newPage(browser, url, { locale: 'en-GB' });
  const mentor = await newPage(browser, url, { locale: 'en-GB' });
  await Promise.all([
    loginThroughForm(student.page, demo.student, `/#/sessions/${sessionId}`),
    loginThroughForm(mentor.page, demo.mentor, `/#/sessions/${sessionId}`),
  ]);
  await Promise.all([student.page.locator('.room[data-status="joined"]').waitFor(), mentor.page.locator('.room[data-status="joined"]').waitFor()]);
  await student.page.locator('#toggle-screen').click();
  await mentor.page.waitForFunction(
    (uid) => (document.querySelector<HTMLVideoElement>(`video[data-user-id="${uid}"][data-source="screen"]`)?.videoWidth ?? 0) > 0,
    demo.student.id,
  );
  await mentor.page.waitForFunction((uid) => (document.querySelector<HTMLVideoElement>(`video[data-user-id="${uid}"][data-source="webcam"]`)?.videoWidth ?? 0) > 0, demo.student.id);

  const started = await api(url, 'POST', `/sessions/${sessionId}/recordings`, mentorToken);
  t.equal(started.status, 201);
  const recordingId: string = started.body.id;

  const producersBefore = await student.page.evaluate(() => window.mlRoom!.producerIds());
  const peerBefore = await student.page.evaluate(() => window.mlRoom!.self?.peerId);
  const presenceEvents: string[] = [];
  const off = app.events.on('room.presence', (e) => {
    if (e.userId === demo.student.id && ['join', 'leave', 'disconnect', 'reconnect', 'producer_started', 'producer_stopped'].includes(e.type)) presenceEvents.push(e.type);
  });
  t.teardown(off);

  const labels: Record<string, string> = { fr: "Partager l'écran", es: 'Compartir pantalla', en: 'Share screen' };
  const stopLabels: Record<string, string> = { fr: 'Arrêter le partage', es: 'Dejar de compartir', en: 'Stop sharing' };
  for (const lang of ['fr', 'es', 'en'] as const) {
    const screenFrames = await framesOf(mentor.page, demo.student.id, 'screen');
    const cameraFrames = await framesOf(mentor.page, demo.student.id, 'webcam');
    await student.page.locator('select[name="lang"]').selectOption(lang);
    await student.page.waitForFunction((l) => document.documentElement.lang === l, lang);
    const button = (await student.page.locator('#toggle-screen').textContent()) ?? '';
    t.ok(button === stopLabels[lang] || button === labels[lang], `${lang}: the share button is re-labelled in place ("${button}")`);
    t.equal(await student.page.locator('.room').getAttribute('data-status'), 'joined', `${lang}: still in the call`);
    // The mentor keeps decoding the student's screen and camera.
    await mentor.page.waitForFunction(
      async ({ uid, n, m }) => {
        const stats = await window.mlRoom!.stats();
        const frames = (src: string) => stats.find((s) => s.userId === uid && s.source === src && s.kind === 'video')?.framesDecoded ?? 0;
        return frames('screen') > n + 5 && frames('webcam') > m + 5;
      },
      { uid: demo.student.id, n: screenFrames, m: cameraFrames },
    );
    t.pass(`${lang}: the share and the camera keep playing on the other side`);
  }
  t.same(await student.page.evaluate(() => window.mlRoom!.producerIds()), producersBefore, 'the same producers: nothing was sent again');
  t.equal(await student.page.evaluate(() => window.mlRoom!.self?.peerId), peerBefore, 'the same peer');
  t.equal(await student.page.locator('#toggle-screen').getAttribute('aria-pressed'), 'true', 'still sharing');
  t.same(presenceEvents, [], 'no join, leave or producer change in the presence log');

  const attendance = (await api(url, 'GET', `/sessions/${sessionId}/attendance`, mentorToken)).body;
  const me = attendance.participants.find((p: any) => p.userId === demo.student.id);
  t.equal(me.intervals.length, 1, 'one visit');
  t.equal(me.networkGaps, 0, 'no gap');

  const ready = new Promise<void>((resolve) => {
    const offReady = app.events.on('recording.ready', (e) => {
      if (e.recordingId === recordingId) {
        offReady();
        resolve();
      }
    });
  });
  t.equal((await api(url, 'POST', `/sessions/${sessionId}/recordings/${recordingId}/stop`, mentorToken)).status, 200);
  await ready;
  const rec = (await api(url, 'GET', `/sessions/${sessionId}/recordings/${recordingId}`, mentorToken)).body;
  const studentSegments = rec.segments.filter((s: any) => s.userId === demo.student.id);
  t.same(studentSegments.map((s: any) => s.source).sort(), ['mic', 'screen', 'webcam'], 'one file per track of the student');
  t.ok(studentSegments.every((s: any) => s.status === 'ready'), 'all playable');
  t.same(rec.report.gaps.filter((g: any) => g.userId === demo.student.id && g.source !== 'screen'), [], 'no hole in the student camera or mic');
  t.equal(app.recordings.activeOf(sessionId), undefined);
});
