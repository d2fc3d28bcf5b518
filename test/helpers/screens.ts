import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { screenshot } from './browser.ts';

/**
 * Helpers of the role-screen browser tests: wait until a screen has loaded,
 * check it with axe-core (injected into the page), and shoot it in the three
 * languages at the two sizes issue 21 asks for (test-artifacts/, gitignored).
 */
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export const LANGUAGES = ['en', 'fr', 'es'] as const;
export const SIZES = [
  { width: 1366, height: 768 },
  { width: 800, height: 600 },
] as const;

/** Resolves when nothing on the screen is loading any more. */
export async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => !document.querySelector('#app [aria-busy="true"], #app .loading, #app progress.working'));
}

export interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's serious and critical violations on the page as it is now (WCAG 2.x A/AA rules). */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  // Evaluated through the DevTools protocol, not as a <script> tag: the page's CSP (no inline script) stays on.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
}

/**
 * For each language (picked in the header, as a person would): waits for the
 * screen, runs axe, and saves a full-page screenshot at each size. Returns
 * the violations found, by language. The page is left in `restore` (prepared).
 */
export async function shootScreen(
  page: Page,
  name: string,
  ready: string,
  restore: (typeof LANGUAGES)[number],
  /** Brings the screen back to the state worth showing after each redraw (a language change rebuilds it). */
  prepare: (page: Page) => Promise<void> = async () => undefined,
): Promise<Record<string, Violation[]>> {
  const found: Record<string, Violation[]> = {};
  const original = page.viewportSize();
  for (const lang of LANGUAGES) {
    await page.locator('select[name="lang"]').selectOption(lang);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    await page.locator(ready).waitFor();
    await settled(page);
    await prepare(page);
    await settled(page);
    found[lang] = await seriousViolations(page);
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await screenshot(page, `${name}-${lang}-${size.width}x${size.height}`);
    }
  }
  if (original) await page.setViewportSize(original);
  await page.locator('select[name="lang"]').selectOption(restore);
  await page.waitForFunction((l) => document.documentElement.lang === l, restore);
  await page.locator(ready).waitFor();
  await settled(page);
  await prepare(page);
  await settled(page);
  return found;
}
