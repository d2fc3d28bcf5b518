import t from 'tap';
import { startTestApp } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage } from './helpers/browser.ts';
import { settled, shootScreen } from './helpers/screens.ts';
import { dictionaries } from '../src/web/client/i18n.ts';

buildWebClient();

/** The local dates (yyyy-MM-dd) and first start time the preview lists. */
const previewDays = (page: import('playwright-core').Page) =>
  page.locator('#avail-preview dl.preview dt').evaluateAll((dts) => dts.map((dt) => ({ date: dt.getAttribute('data-date')!, first: (dt.nextElementSibling?.textContent ?? '').split(' · ')[0]! })));

const weekdayOf = (date: string) => new Date(`${date}T12:00:00Z`).getUTCDay() || 7;
/** Today in a zone (its slots start later: the minimum notice). */
const today = (timeZone: string) => new Intl.DateTimeFormat('en-CA', { timeZone }).format(new Date());

// Issue 21, mentor: the slots the weekly rules produce for the next two weeks,
// shown in the host's zone and updated while the rules are edited, before
// saving; a refused edit said in the mentor's language.
t.test('browser: in Chromium: the availability preview follows the rules as they are edited, in the host’s zone', async (t) => {
  const ctx = await startTestApp(t);
  const { demo, url } = ctx;
  const browser = await launchBrowser(t);
  const { page, errors } = await newPage(browser, url, { locale: 'en-GB' });
  await loginThroughForm(page, demo.mentor);
  await page.locator('#nav-availability').click();
  await page.locator('#avail-form').waitFor();
  await settled(page);
  t.match(await page.locator('#avail-preview').textContent(), /Aucun créneau/, 'no hours yet: no slot');
  t.match(await page.locator('#avail-preview').textContent(), /Europe\/Paris/, "in the mentor's zone");

  // A Monday morning, not saved: the preview shows Mondays from 09:00 at once.
  await page.locator('#avail-add-1').click();
  await settled(page);
  t.equal(await page.locator('#avail-preview').getAttribute('data-draft'), 'true');
  t.equal(await page.locator('#avail-preview-draft').textContent(), dictionaries.fr['avail.previewDraft'], 'marked as not saved');
  let days = await previewDays(page);
  t.ok(days.length >= 2, `Mondays of the next two weeks: ${days.map((d) => d.date).join(', ')}`);
  t.ok(days.every((d) => weekdayOf(d.date) === 1 && (d.first === '09:00' || d.date === today('Europe/Paris'))), 'only Mondays, from 09:00 Paris time');
  const morning = Number((await page.locator('#avail-preview-count').textContent())!.match(/\d+/)![0]);

  // Shorter: ends at 10:00; fewer slots.
  await page.locator('#avail-day-1 .interval >> nth=0 >> input.to').fill('10:00');
  await settled(page);
  const shorter = Number((await page.locator('#avail-preview-count').textContent())!.match(/\d+/)![0]);
  t.ok(shorter < morning, `fewer slots once it ends at 10:00 (${shorter} < ${morning})`);

  // Overlapping periods: the server refuses them, the preview says so in French.
  await page.locator('#avail-add-1').click();
  await page.locator('#avail-day-1 .interval >> nth=1 >> input.from').fill('09:30');
  await page.locator('#avail-day-1 .interval >> nth=1 >> input.to').fill('11:00');
  await settled(page);
  t.equal(await page.locator('#avail-preview-error').textContent(), dictionaries.fr['apiError.overlapping_rules'], 'the overlap, in French, no server English');
  await page.locator('#avail-day-1 .interval >> nth=1 >> button.remove').click();
  await settled(page);
  t.equal(await page.locator('#avail-preview-error').count(), 0, 'fixed: the preview is back');

  // Another zone, same wall-clock hours: the preview follows, in that zone.
  await page.locator('#avail-zone').selectOption('America/New_York');
  await settled(page);
  t.match(await page.locator('#avail-preview').textContent(), /America\/New_York/, 'shown in the new zone');
  days = await previewDays(page);
  t.ok(days.length > 0 && days.every((d) => weekdayOf(d.date) === 1 && (d.first === '09:00' || d.date === today('America/New_York'))), 'still Mondays from 09:00, on the New York clock');

  // Saved: no longer a draft; what students see.
  await page.locator('#avail-zone').selectOption('Europe/Paris');
  await page.locator('#avail-save').click();
  await page.locator('#avail-status', { hasText: 'Enregistré' }).waitFor();
  await settled(page);
  t.equal(await page.locator('#avail-preview').getAttribute('data-draft'), 'false', 'saved: the preview is what students see');
  t.equal(await page.locator('#avail-preview-draft').count(), 0);
  t.equal(Number((await page.locator('#avail-preview-count').textContent())!.match(/\d+/)![0]), shorter, 'the same slots as the draft showed');

  const found = await shootScreen(page, 'availability-live-preview', '#avail-form', 'fr');
  t.same(found, { en: [], fr: [], es: [] }, 'no serious accessibility violation');
  t.same(errors, [], 'no page error');
});
