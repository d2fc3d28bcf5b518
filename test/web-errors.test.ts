import t from 'tap';
import { nextEvent, startTestApp } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage } from './helpers/browser.ts';
import { seriousViolations, shootScreen } from './helpers/screens.ts';
import { insertLiveMentoring } from './helpers/sessions.ts';
import { ERROR_CATALOGUE } from '../src/shared/error-catalogue.ts';
import { dictionaries } from '../src/web/client/i18n.ts';

/**
 * A room's refusals in the person's language (issue 21): the sentence of the
 * error code, never the server's English message inside a translated one.
 */
buildWebClient();

const SUMMARIES = Object.values(ERROR_CATALOGUE).map((e) => e.summary);
/** The server's English that a text contains: a catalogue summary, a socket refusal's message, or a bare code. */
const englishIn = (text: string, code: string) =>
  [...SUMMARIES, 'Too many open sockets', 'The student has not agreed', 'Something went wrong', code].filter((s) => text.includes(s));

t.test('browser: refused by the socket cap and by the recording consent, a room speaks French then Spanish, no server English', async (t) => {
  const ctx = await startTestApp(t, { env: { SOCKETS_PER_USER: '6' } });
  const { demo, url } = ctx;
  const sessionId = await insertLiveMentoring(ctx.db, demo);
  const studentToken = await ctx.login(demo.student);
  // The student already has as many sockets open as allowed (other tabs; the mentor's page needs fewer than the cap): the room's socket is refused socket_limit_user.
  await Promise.all([...Array(6).keys()].map(() => nextEvent(ctx.socket(studentToken), 'connect')));

  const browser = await launchBrowser(t);
  const student = await newPage(browser, url, { locale: 'en-GB' });
  await loginThroughForm(student.page, demo.student, `/#/sessions/${sessionId}`);
  const alert = student.page.locator('#room-alert:not([hidden])');
  await alert.waitFor();
  t.equal(await student.page.evaluate(() => document.documentElement.lang), 'fr', "the student's language");
  const fr = (await alert.textContent()) ?? '';
  t.equal(fr, dictionaries.fr['apiError.socket_limit_user'], `the cap's own sentence in French: "${fr}"`);
  t.same(englishIn(fr, 'socket_limit_user'), [], 'no English server text, no bare code');
  t.equal(await student.page.locator('#room-alert').getAttribute('role'), 'alert', 'announced');
  // The code review's own socket is refused too: it says so, in French.
  const review = student.page.locator('#review-panel .error:not([hidden])');
  await review.waitFor();
  const reviewText = (await review.textContent()) ?? '';
  t.equal(reviewText, `${dictionaries.fr['review.unavailable']} ${dictionaries.fr['apiError.socket_limit_user']}`, `the review says why: "${reviewText}"`);
  t.same(englishIn(reviewText, 'socket_limit_user'), [], 'no English server text in the review either');

  const found = await shootScreen(student.page, 'room-refused-socket-cap', '#room-alert:not([hidden])', 'es');
  t.same(found, { en: [], fr: [], es: [] }, 'no serious accessibility violation');
  const es = (await alert.textContent()) ?? '';
  t.equal(es, dictionaries.es['apiError.socket_limit_user'], `re-labelled in Spanish in place: "${es}"`);
  t.same(englishIn(es, 'socket_limit_user'), [], 'no English server text in Spanish either');
  t.equal(
    await student.page.locator('#review-panel .error').textContent(),
    `${dictionaries.es['review.unavailable']} ${dictionaries.es['apiError.socket_limit_user']}`,
    "the review's refusal re-labelled in Spanish too",
  );

  // In the call, the mentor (French) starts a recording the student has not agreed to: refused consent_required (422).
  const mentor = await newPage(browser, url, { locale: 'en-GB' });
  await loginThroughForm(mentor.page, demo.mentor, `/#/sessions/${sessionId}`);
  await mentor.page.locator('.room[data-status="joined"]').waitFor();
  await mentor.page.locator('#toggle-recording:not([hidden])').click();
  const refused = mentor.page.locator('#room-alert:not([hidden])');
  await refused.waitFor();
  const consent = (await refused.textContent()) ?? '';
  t.equal(consent, dictionaries.fr['apiError.consent_required'], `the consent refusal in French: "${consent}"`);
  t.same(englishIn(consent, 'consent_required'), [], 'no English server text');
  t.same(await seriousViolations(mentor.page), [], 'no serious accessibility violation in the room with the refusal');
  t.same([...student.errors, ...mentor.errors], [], 'no page error');
});
