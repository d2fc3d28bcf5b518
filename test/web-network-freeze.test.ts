import t from 'tap';
import type { Page } from 'playwright-core';
import { api, startTestApp, type TestApp } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage } from './helpers/browser.ts';
import { createNetNs, launchBrowserIn } from './helpers/netns.ts';
import { insertLiveMentoring } from './helpers/sessions.ts';
import type { Teardown } from './helpers/db.ts';

/**
 * A browser's network frozen completely, nothing in or out, signalling and
 * media alike: the student's Chromium runs in its own network namespace,
 * joined to the host by a veth pair whose host side the test takes down for
 * the outage (its TCP sockets stay open, as behind a dead Wi-Fi) and up
 * again. The mentor's browser stays in the host's network. The server and
 * mediasoup listen on the host side of the pair, which the host reaches too
 * (a local address answers even while its link is down).
 */
buildWebClient();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function setUp(t: Teardown & { name?: string }) {
  const ns = createNetNs(t);
  const ctx = await startTestApp(t, {
    // Everywhere: the mentor's page uses 127.0.0.1 (a secure origin), the student's the host side of the pair.
    host: '0.0.0.0',
    env: { MEDIASOUP_LISTEN_IP: ns.hostAddress, ROOM_RECONNECT_GRACE_SECONDS: '60' },
  });
  const { demo, url } = ctx;
  const sessionId = await insertLiveMentoring(ctx.db, demo);
  const studentUrl = url.replace('127.0.0.1', ns.hostAddress);
  const frozen = await launchBrowserIn(t, ns, studentUrl);
  const other = await launchBrowser(t);
  const student = await newPage(frozen, studentUrl, { locale: 'en-GB' });
  const mentor = await newPage(other, url, { locale: 'en-GB' });
  await Promise.all([
    loginThroughForm(student.page, demo.student, `/#/sessions/${sessionId}`),
    loginThroughForm(mentor.page, demo.mentor, `/#/sessions/${sessionId}`),
  ]);
  await Promise.all([student.page.locator('.room[data-status="joined"]').waitFor(), mentor.page.locator('.room[data-status="joined"]').waitFor()]);
  await webcamPlaying(mentor.page, demo.student.id);
  const mentorToken = await ctx.login(demo.mentor);
  return { ctx, ns, sessionId, student, mentor, mentorToken };
}

/** The student's camera plays on the mentor's page with decoded frames rising. */
async function webcamPlaying(page: Page, userId: string, timeout = 60_000): Promise<void> {
  const sel = `video[data-user-id="${userId}"][data-source="webcam"]`;
  await page.waitForFunction((s) => (document.querySelector<HTMLVideoElement>(s)?.videoWidth ?? 0) > 0, sel, { timeout });
  const frames = await page.evaluate((s) => document.querySelector<HTMLVideoElement>(s)!.getVideoPlaybackQuality().totalVideoFrames, sel);
  await page.waitForFunction(({ s, f }) => (document.querySelector<HTMLVideoElement>(s)?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > f + 10, { s: sel, f: frames }, { timeout });
}

const attendanceOf = async (ctx: TestApp, sessionId: string, token: string, userId: string) =>
  (await api(ctx.url, 'GET', `/sessions/${sessionId}/attendance`, token)).body.participants.find((p: any) => p.userId === userId);

/** Polls the attendance API until `ok` holds (the record, not a clock, decides; `timeoutMs` only bounds a failure). */
async function attendanceUntil(ctx: TestApp, sessionId: string, token: string, userId: string, ok: (me: any) => boolean, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const me = await attendanceOf(ctx, sessionId, token, userId);
    if (ok(me) || Date.now() > end) return me;
    await sleep(500);
  }
}

/** The student's presence and quality log, printed: what the record was derived from. */
async function printLog(t: { comment(m: string): void }, ctx: TestApp, sessionId: string, userId: string, frozenAt: number, backAt: number) {
  const rows = await ctx.db.query<{ kind: string; type: string; at: Date }>(
    `SELECT 'presence' AS kind, type || coalesce(':' || source, '') AS type, at FROM presence_events WHERE session_id = $1 AND user_id = $2
     UNION ALL SELECT 'quality', level, at FROM connection_quality_events WHERE session_id = $1 AND user_id = $2 ORDER BY at`,
    [sessionId, userId],
  );
  const rel = (ms: number) => ((ms - frozenAt) / 1000).toFixed(1);
  t.comment(`cut at 0 s, back at ${rel(backAt)} s; log: ${rows.map((r) => `${rel(new Date(r.at).getTime())} ${r.type}`).join(', ')}`);
}

const seconds = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;

t.test('browser: a 10 s network freeze: one visit, one network gap of 10 ± 2 s, quality lost meanwhile', async (t) => {
  const { ctx, ns, sessionId, mentor, mentorToken } = await setUp(t);
  const { demo } = ctx;
  const quality = (css: string) => mentor.page.locator(`figure.tile[data-user-id="${demo.student.id}"] .quality${css}`);
  await sleep(2000); // a little media before the cut
  const frozenAt = Date.now();
  ns.link('down');
  await quality('[data-quality="lost"]').waitFor({ state: 'attached', timeout: 9000 });
  t.pass(`the mentor's page shows the student's connection lost (${((Date.now() - frozenAt) / 1000).toFixed(1)} s into the outage)`);
  await sleep(frozenAt + 10_000 - Date.now()); // the outage itself: a real 10 s
  ns.link('up');
  const backAt = Date.now();
  t.comment(`outage ${((backAt - frozenAt) / 1000).toFixed(1)} s`);
  await quality(':not([data-quality="lost"])').waitFor({ state: 'attached', timeout: 30_000 });
  await webcamPlaying(mentor.page, demo.student.id, 30_000);
  const me = await attendanceUntil(ctx, sessionId, mentorToken, demo.student.id, (p) => p.networkGaps >= 1 && p.quality.periods.some((q: any) => q.level === 'lost'), 10_000);
  t.comment(JSON.stringify({ intervals: me.intervals, networkGaps: me.networkGaps, networkGapSeconds: me.networkGapSeconds, transportFailures: me.transportFailures, quality: me.quality }));
  await printLog(t, ctx, sessionId, demo.student.id, frozenAt, backAt);
  t.equal(me.intervals.length, 1, 'one visit');
  t.equal(me.networkGaps, 1, 'one network gap');
  // The gap is the outage: the media path revives by itself when the link returns (the client
  // restarts ICE only when the signalling answers, src/web/client/room-client.ts).
  const outageSeconds = (backAt - frozenAt) / 1000;
  t.ok(Math.abs(me.networkGapSeconds - outageSeconds) <= 2, `a network gap of ${me.networkGapSeconds} s for a ${outageSeconds.toFixed(1)} s outage (± 2 s)`);
  t.ok(me.transportFailures >= 1, `the media loss is a transport failure (${me.transportFailures})`);
  const lost = me.quality.periods.filter((p: any) => p.level === 'lost');
  t.equal(lost.length, 1, 'one lost period');
  const lostSeconds = lost[0] ? seconds(lost[0].from, lost[0].to) : NaN;
  // Lost for the whole outage, and until the media itself came back (the browser rejoins 2–4 s after
  // the link returns: the record follows the media, not the cable).
  const flowing = await ctx.db.one<{ at: Date }>(
    `SELECT at FROM presence_events WHERE session_id = $1 AND user_id = $2 AND type = 'media_flowing' AND at >= $3 ORDER BY at LIMIT 1`,
    [sessionId, demo.student.id, new Date(backAt - 2000)],
  );
  t.ok(lostSeconds >= 8, `lost for the outage: ${lostSeconds} s`);
  t.ok(flowing && lost[0] && Math.abs(Date.parse(lost[0].to) - flowing.at.getTime()) <= 2000, `lost until the media flowed again (${flowing ? ((flowing.at.getTime() - frozenAt) / 1000).toFixed(1) : '?'} s after the cut)`);
  t.ok(lost[0] && Math.abs(Date.parse(lost[0].from) - frozenAt) <= 2000, 'lost from the start of the outage');
});

t.test('browser: a 70 s network freeze: a departure at its start (after the 60 s grace) and a new visit after it', async (t) => {
  const { ctx, ns, sessionId, mentor, mentorToken } = await setUp(t);
  const { demo } = ctx;
  await sleep(2000);
  const frozenAt = Date.now();
  ns.link('down');
  await sleep(70_000);
  ns.link('up');
  const backAt = Date.now();
  t.comment(`outage ${((backAt - frozenAt) / 1000).toFixed(1)} s`);
  await webcamPlaying(mentor.page, demo.student.id, 60_000);
  const me = await attendanceUntil(ctx, sessionId, mentorToken, demo.student.id, (p) => p.intervals.length >= 2, 10_000);
  t.comment(JSON.stringify({ intervals: me.intervals, networkGaps: me.networkGaps, networkGapSeconds: me.networkGapSeconds, transportFailures: me.transportFailures, quality: me.quality }));
  await printLog(t, ctx, sessionId, demo.student.id, frozenAt, backAt);
  t.equal(me.intervals.length, 2, 'two visits');
  const [first, second] = me.intervals;
  t.ok(first && first.to && Math.abs(Date.parse(first.to) - frozenAt) <= 2000, `the first ends at the start of the outage (${first?.to}, cut at ${new Date(frozenAt).toISOString()})`);
  t.ok(second && Date.parse(second.from) >= backAt - 1000, `the second starts once the network is back (${second?.from}, back at ${new Date(backAt).toISOString()})`);
  t.equal(me.networkGaps, 0, 'a departure, not a network gap');
});
