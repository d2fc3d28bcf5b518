import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage, screenshot } from './helpers/browser.ts';
import { insertDemoMentoring } from './helpers/sessions.ts';

buildWebClient();

t.test('the server serves the built client at /', async (t) => {
  const ctx = await startTestApp(t);
  const index = await fetch(`${ctx.url}/`);
  t.equal(index.status, 200);
  t.match(index.headers.get('content-type'), /^text\/html/);
  t.match(await index.text(), /<script type="module" src="\/app\.js"><\/script>/);
  const js = await fetch(`${ctx.url}/app.js`);
  t.equal(js.status, 200);
  t.match(js.headers.get('content-type'), /javascript/);
  t.equal((await fetch(`${ctx.url}/highlight.css`)).status, 200);
  t.equal((await fetch(`${ctx.url}/no-such-file.js`)).status, 404);
  t.equal((await api(ctx.url, 'GET', '/health')).status, 200, 'API routes are not shadowed by the static files');
});

t.test('browser: in Chromium: log in, language from the locale, upcoming sessions in one’s own zone', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, db } = ctx;
  const startsAt = new Date(Date.now() + 26 * 3_600_000);
  startsAt.setUTCMinutes(0, 0, 0);
  const sessionId = await insertDemoMentoring(db, demo, { startsAt, endsAt: new Date(startsAt.getTime() + 45 * 60_000), projectIndex: 1 });
  const browser = await launchBrowser(t);
  const { page, errors } = await newPage(browser, ctx.url, { locale: 'es-ES' });

  // Before login: the browser's language (Spanish here).
  await page.goto('/');
  await page.locator('#login-title').waitFor();
  t.equal(await page.locator('#login-title').textContent(), 'Iniciar sesión', 'the login page speaks the browser language');
  t.equal(await page.evaluate(() => document.documentElement.lang), 'es');

  // Wrong password: a clear message, announced (role=alert).
  await page.locator('input[name="email"]').fill(demo.student.email);
  await page.locator('input[name="password"]').fill('wrong-password');
  await page.locator('#login-submit').click();
  await page.locator('#login-error').waitFor();
  t.equal(await page.locator('#login-error').getAttribute('role'), 'alert');
  t.equal(await page.locator('#login-error').textContent(), 'Correo o contraseña incorrectos.');

  // Logged in: the profile's language (the demo student's is French) and time zone (Montreal).
  await loginThroughForm(page, demo.student);
  t.equal(await page.evaluate(() => document.documentElement.lang), 'fr', 'after login, the profile language');
  t.match(await page.locator('#zone-note').textContent(), /America\/Montreal/);

  await page.locator('#sessions-list:not([aria-busy])').waitFor();
  const item = page.locator(`li[data-session-id="${sessionId}"]`);
  await item.waitFor();
  const expected = new Intl.DateTimeFormat('fr', { dateStyle: 'full', timeStyle: 'short', timeZone: 'America/Montreal' }).format(startsAt);
  t.match(await item.locator('time').first().textContent(), expected, 'the start is shown in the student’s zone and language');
  t.equal(await item.locator('a.button').getAttribute('href'), `#/sessions/${sessionId}`);
  t.match(await item.textContent(), /Julien Moreau/, 'with whom');

  // The calendar feed link (scheduling's secret iCal URL), for calendar apps.
  const feed = page.locator('#calendar-feed-link');
  await feed.waitFor();
  t.match(await feed.getAttribute('href'), /^webcal:\/\/.+\.ics$/, 'a webcal: link to the feed');

  // Keyboard: the language menu is labelled and switches the page at once.
  const lang = page.getByLabel('Langue');
  await lang.selectOption('en');
  await page.locator('#zone-note').waitFor();
  t.match(await page.locator('#zone-note').textContent(), /Times are shown in your time zone/);
  await screenshot(page, 'web-client-sessions');

  // Log out: back to the login form.
  await page.locator('#logout').click();
  await page.locator('#login-title').waitFor();
  t.same(errors, [], 'no error in the page');
});
