import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { Pool } from 'pg';
import { runMigrations } from '../../src/database/migrations.js';
import { issueKey, type TestApp } from '../support/test-app.js';
import { makeTestTempDir } from '../support/temp-dir.js';
import { testDatabaseUrl } from '../support/test-database.js';

export const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'console');

/** A fresh, migrated database on the test server: keyledger_test_console_<random>. */
export async function createConsoleDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `keyledger_test_console_${randomBytes(5).toString('hex')}`;
  const server = new URL(testDatabaseUrl());
  server.pathname = '/postgres';
  const admin = new Pool({ connectionString: server.toString(), max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  return {
    url: url.toString(),
    drop: async () => {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

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
export async function until(page: Page, expression: string, timeout = 10_000): Promise<void> {
  await page.waitForFunction(expression, { timeout, polling: 50 });
}

/** A key issued through the command bus: the app applied it to its guard before answering, so it works at once. */
export async function issueUsableKey(
  sut: TestApp,
  input: Parameters<typeof issueKey>[1] = {},
): Promise<{ id: string; publicId: string; token: string }> {
  const key = await issueKey(sut.app, input);
  const res = await fetch(`${sut.url}/examples/whoami`, { headers: { 'x-api-key': key.token } });
  if (res.status !== 200) throw new Error(`a key issued on this app was refused at its first request: ${res.status}`);
  return key;
}

/** Polls a condition from the test side, a bounded number of times. */
export async function eventually(check: () => Promise<boolean>, { timeoutMs = 5000, intervalMs = 25 } = {}): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
