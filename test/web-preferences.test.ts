import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage, screenshot } from './helpers/browser.ts';

buildWebClient();

// The page every mail links to: a person turns reminder e-mails off with a
// click, in their own language, and the server keeps it.
t.test('browser: in Chromium: notification preferences from the link in the mails', async (t) => {
  const ctx = await startTestApp(t);
  const { demo } = ctx;
  const browser = await launchBrowser(t);
  const { page, errors } = await newPage(browser, ctx.url);
  await loginThroughForm(page, demo.student, '/#/preferences');
  await page.locator('#preferences-title').waitFor();
  t.equal(await page.locator('#preferences-title').textContent(), 'Notifications');
  t.equal(await page.locator('label[for="pref-reminderEmail"]').textContent(), 'Par e-mail', 'the student reads French');
  const email = page.locator('#pref-reminderEmail');
  await page.waitForFunction(() => !(document.getElementById('pref-reminderEmail') as HTMLInputElement).disabled);
  t.ok(await email.isChecked(), 'reminder e-mails are on by default');
  await email.uncheck();
  await page.locator('#preferences-status', { hasText: 'Enregistré.' }).waitFor();
  await screenshot(page, 'preferences-fr');

  const token = await ctx.login(demo.student);
  t.same((await api(ctx.url, 'GET', '/me/preferences', token)).body, { reminderEmail: false, reminderBrowser: true }, 'kept by the server');
  await page.reload();
  await page.locator('#preferences-title').waitFor();
  await page.waitForFunction(() => !(document.getElementById('pref-reminderEmail') as HTMLInputElement).disabled);
  t.notOk(await email.isChecked(), 'shown as saved after a reload');
  t.same(errors, [], 'no page errors');
});
