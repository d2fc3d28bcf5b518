import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Teardown } from './db.ts';

/**
 * Real headless Chromium (Debian's `chromium` package) driven by
 * playwright-core, with a fake camera, microphone and screen. Never
 * `npx playwright install`: the browser comes from apt-get (`npm test`
 * installs it, scripts/system-packages.txt, group browser).
 *
 * Browser tests are named "browser: …": MENTOR_LIVE_SKIP_BROWSER=1 filters
 * them out (scripts/test.sh; tap counts them as skipped and the run says so).
 * Without it, a missing Chromium FAILS them with the line that installs it.
 */
export const chromiumPath =
  process.env.CHROMIUM_PATH ?? ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? '/usr/bin/chromium';

export const CHROMIUM_MISSING = `Chromium is not installed (no ${chromiumPath}): sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core (\`npm test\` does it when it can), or set CHROMIUM_PATH; MENTOR_LIVE_SKIP_BROWSER=1 runs the suite without the browser tests`;

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Both flags: a fake camera/mic AND a fake screen for getDisplayMedia, no permission prompts.
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
  // Pages in the background of one headless browser must keep decoding.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

export const artifactsDir = join(process.cwd(), 'test-artifacts');

let built = false;
/** Builds the web client bundle once per test process (before the server starts, which serves it). */
export function buildWebClient(): void {
  if (built) return;
  execFileSync(process.execPath, [join(process.cwd(), 'scripts', 'build-web.mjs')], { stdio: 'pipe' });
  built = true;
}

/** A headless Chromium closed at teardown (its temporary profiles in a folder removed then too). */
/** A tap test as far as launchBrowser looks at it: its name and its parents'. */
interface Named {
  name?: string;
  parent?: Named;
}
type NamedTest = Teardown & Named;

export async function launchBrowser(t: NamedTest): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(CHROMIUM_MISSING);
  // The opt-out filters top-level tests by name: a browser test not named so would run anyway.
  let top: Named = t;
  while (top.parent?.parent) top = top.parent;
  if (top.name !== undefined && top.parent && !top.name.startsWith('browser: ')) {
    throw new Error(`a test that launches Chromium must be named "browser: …" (MENTOR_LIVE_SKIP_BROWSER filters on it): "${top.name}"`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'ml-chromium-'));
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: CHROMIUM_ARGS,
    headless: true,
    env: { ...process.env, TMPDIR: tmp },
  });
  t.teardown(async () => {
    await browser.close().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  });
  return browser;
}

export interface PageOptions {
  locale?: string;
  timezoneId?: string;
}

/** A page in its own context (own storage: one person per page), camera and mic granted. */
export async function newPage(browser: Browser, baseUrl: string, options: PageOptions = {}): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({
    baseURL: baseUrl,
    viewport: { width: 1366, height: 800 },
    permissions: ['camera', 'microphone'],
    ...(options.locale ? { locale: options.locale } : {}),
    ...(options.timezoneId ? { timezoneId: options.timezoneId } : {}),
  });
  // A loaded CI machine (two test files at once, media in both) can be slow: be patient, not flaky.
  context.setDefaultTimeout(60_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => {
    // HTTP refusals the test provokes (a wrong password's 401) are checked by the test itself.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(msg.text());
  });
  return { page, errors };
}

/** Logs in through the form and waits for the signed-in header. */
export async function loginThroughForm(page: Page, who: { email: string; password: string }, path = '/'): Promise<void> {
  await page.goto(path);
  await page.locator('input[name="email"]').fill(who.email);
  await page.locator('input[name="password"]').fill(who.password);
  await page.locator('#login-submit').click();
  await page.locator('#who').waitFor();
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const file = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
