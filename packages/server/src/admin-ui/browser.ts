import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { expect } from 'vitest';
import { type Browser, type Locator, type Page, chromium } from 'playwright-core';
import { DEFAULT_ADMIN_UI_ROOT } from './admin-ui.js';

/** Debian's chromium (apt-get install chromium); a browser is never downloaded. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Browser tests run wherever the browser is, and always in CI (where a missing browser must fail
 * the run, not hide it). Locally without it they are skipped with the reason printed.
 */
export function browserTestsSkipped(): string | null {
  if (existsSync(CHROMIUM) || process.env.CI) return null;
  return `browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`;
}

export function assertConsoleBuilt() {
  if (!existsSync(join(DEFAULT_ADMIN_UI_ROOT, 'index.html'))) throw new Error('the console is not built: run npm run build first (npm test does)');
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

const axeSource = readFileSync(join(createRequire(import.meta.url).resolve('axe-core'), '..', 'axe.min.js'), 'utf8');

type AxeViolation = { id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> };

/**
 * axe-core in the page as it is (evaluated through the devtools protocol, which the page's CSP
 * does not govern, so the policy under test stays on): no serious or critical violation.
 */
export async function expectAccessible(page: Page, where: string) {
  await page.evaluate(axeSource);
  const violations = (await page.evaluate('axe.run(document).then((r) => r.violations)')) as AxeViolation[];
  const grave = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(grave.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(' ')}`), `accessibility of ${where}`).toEqual([]);
}

/** Collects what the page's CSP refused, so a test can require that nothing was. */
export function cspViolations(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) seen.push(m.text());
  });
  return seen;
}

// The page's own globals, as strings: this package is type-checked without the DOM library.
type InPage = { ownerDocument: { activeElement: unknown }; contains(other: unknown): boolean };
export const isFocused = (l: Locator) => l.evaluate((el) => el === (el as unknown as InPage).ownerDocument.activeElement);
export const holdsFocus = (l: Locator) => l.evaluate((el) => (el as unknown as InPage).contains((el as unknown as InPage).ownerDocument.activeElement));
export const pageStorage = (page: Page) => page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie') as Promise<string>;

/** Without animations, so axe measures contrast on finished frames, not a modal fading in. */
export const STILL = { viewport: { width: 1280, height: 860 }, reducedMotion: 'reduce' as const };

/** Closes every notification on the page (they may cover buttons; they also close by themselves meanwhile). */
export async function dismissNotifications(page: Page) {
  for (const close of await page.getByRole('button', { name: 'Close notification' }).all()) await close.click({ timeout: 2000 }).catch(() => undefined);
  await expect.poll(() => page.getByRole('button', { name: 'Close notification' }).count(), { timeout: 15_000 }).toBe(0);
}

/**
 * With KEYHOLD_SCREENSHOTS=docs/screenshots, a still picture of the page for the README: no
 * dialog fading out (unless `keepDialog`), no notification over the content, scrolled to the top.
 */
export async function screenshot(page: Page, name: string, opts: { height?: number; keepDialog?: boolean } = {}) {
  const dir = process.env.KEYHOLD_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  if (!opts.keepDialog) await expect.poll(() => page.getByRole('dialog').count(), { timeout: 15_000 }).toBe(0);
  await dismissNotifications(page);
  await page.setViewportSize({ width: 1280, height: opts.height ?? 860 });
  await page.evaluate('window.scrollTo(0, 0)');
  await page.waitForTimeout(400);
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: false });
  await page.setViewportSize(STILL.viewport);
}
