import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { makeTestTempDir } from '../support/temp-dir.js';

export const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'console');

/**
 * Headless Chromium from the @sparticuz/chromium npm package: its JS API extracts the bundled
 * binary on first use, so a clean `npm ci` (no install scripts) is enough; no system browser.
 */
export async function launchBrowser(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const userDataDir = makeTestTempDir();
  const browser = await puppeteer.launch({
    executablePath: await chromium.executablePath(),
    headless: 'shell',
    userDataDir,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** axe-core in the page (evaluated over the DevTools protocol, so the page's CSP stays on): serious and critical violations. */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  const loaded = (await page.evaluate('typeof window.axe === "object"')) as boolean;
  if (!loaded) await page.evaluate(axeSource);
  return (await page.evaluate(`
    axe.run(document, { resultTypes: ['violations'] }).then((result) =>
      result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => String(n.target)) })))
  `)) as AxeViolation[];
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
}

/** A screenshot of one element (a panel further down the page). */
export async function screenshotOf(page: Page, selector: string, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const element = await page.waitForSelector(selector);
  await element!.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** Runs a browser-side expression (the test's tsconfig has no DOM types: the browser code is a string). */
export async function inPage<T>(page: Page, expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}

export async function textOf(page: Page, selector: string): Promise<string> {
  await page.waitForSelector(selector);
  return inPage<string>(page, `document.querySelector(${JSON.stringify(selector)}).textContent`);
}

/** Waits until the expression is truthy in the page (bounded by `timeout`). */
export async function untilInPage(page: Page, expression: string, timeout = 10_000): Promise<void> {
  await page.waitForFunction(expression, { timeout, polling: 50 });
}
