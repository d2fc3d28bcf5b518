import t from 'tap';
import { startTestApp } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage, screenshot } from './helpers/browser.ts';
import { insertLiveMentoring } from './helpers/sessions.ts';

buildWebClient();

// Issue 21, layout: at 1366×768 with the code review open, the camera tiles
// sit beside the review, large enough to see a face, and the student's
// recording-consent line does not push Leave onto a row of its own.
t.test('browser: in Chromium: camera tiles beside the code review at 1366×768, Leave on the controls row', async (t) => {
  const ctx = await startTestApp(t);
  const sessionId = await insertLiveMentoring(ctx.db, ctx.demo);
  const browser = await launchBrowser(t);
  const { page, errors } = await newPage(browser, ctx.url);
  await page.setViewportSize({ width: 1366, height: 768 });
  await loginThroughForm(page, ctx.demo.student, `/#/sessions/${sessionId}`);
  const tile = page.locator('#grid .tile.self');
  await tile.waitFor();
  await page.locator('#recording-consent').waitFor();
  const [tileBox, reviewBox] = await Promise.all([tile.boundingBox(), page.locator('#review-panel').boundingBox()]);
  t.ok(tileBox && reviewBox, 'tile and review are laid out');
  t.ok(tileBox!.x >= reviewBox!.x + reviewBox!.width - 1, `the tile is beside the review (tile x ${tileBox!.x}, review ends at ${reviewBox!.x + reviewBox!.width})`);
  t.ok(tileBox!.width >= 280 && tileBox!.height >= 210, `the tile is large enough to see a face (${Math.round(tileBox!.width)}×${Math.round(tileBox!.height)})`);
  t.ok(tileBox!.y < 768, 'and within the first screen');
  const [leave, mic] = await Promise.all([page.locator('#leave').boundingBox(), page.locator('.controls button').first().boundingBox()]);
  t.ok(Math.abs(leave!.y + leave!.height / 2 - (mic!.y + mic!.height / 2)) < 20, `Leave stays on the controls row (leave y ${leave!.y}, first control y ${mic!.y})`);
  await screenshot(page, 'room-review-1366x768');
  await page.locator('#leave').click();
  t.same(errors, [], 'no page errors');
});
