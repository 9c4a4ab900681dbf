import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import { Pool } from 'pg';
import { KeyVerifier } from '@keyledger/nestjs';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { inPage, launchBrowser, screenshot, screenshotOf, seriousA11yViolations, textOf, untilInPage } from './console-helpers.js';
import { issueUsableKey } from '../support/keys.js';
import { until } from '../support/poll.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/test-database.js';
import { startReceiver, type Receiver } from '../webhooks/receiver.js';

/**
 * The console in a real headless Chromium (@sparticuz/chromium, driven by puppeteer-core), against
 * the real app on real PostgreSQL. The tests run in order and share one signed-in page: each
 * builds on what the one before it did, as a person's session would.
 */

const STORAGE_KEY = 'keyledger.console.key';
const suffix = randomBytes(3).toString('hex');
const TENANT = `acme-${suffix}`;
const OTHER_TENANT = `globex-${suffix}`;
const ADMIN_NAME = 'console test admin';
/** API answers the flows provoke on purpose (a field error, the 412, the 401 after revoking the signed-in key…). */
const EXPECTED_FAILED_LOAD = /^Failed to load resource: the server responded with a status of (400|401|404|412)/;
/** Webhook delivery is asynchronous: the first attempt within PROJECTION_POLL_MS + WEBHOOK_POLL (here 200 + 100 ms), with room for a loaded machine. */
const DELIVERY_BOUND_MS = 5000;

interface Tracked {
  requests: string[];
  consoleErrors: string[];
  pageErrors: string[];
}
const tracked: Tracked = { requests: [], consoleErrors: [], pageErrors: [] };

function track(page: Page): Page {
  page.on('request', (request) => tracked.requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') tracked.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => tracked.pageErrors.push(error instanceof Error ? error.message : String(error)));
  return page;
}

async function call<T = Record<string, unknown>>(
  app: TestApp,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${app.url}${path}`, {
    method,
    headers: { 'x-api-key': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function expectAccessible(page: Page, screen: string): Promise<void> {
  const violations = await seriousA11yViolations(page);
  expect({ screen, violations }).toEqual({ screen, violations: [] });
}

/** Waits for the keys (or audit) page's next finished load after `action` (`fresh`: the action loads a new document). */
async function afterLoad(page: Page, action: () => Promise<unknown>, { fresh = false } = {}): Promise<void> {
  const before = fresh ? 0 : Number(await inPage<string>(page, `document.querySelector('[data-loads]')?.dataset.loads ?? '0'`));
  await action();
  await untilInPage(
    page,
    `Number(document.querySelector('[data-loads]')?.dataset.loads ?? 0) > ${before} && document.querySelector('[data-loads]').dataset.loading === 'false'`,
  );
}

async function signIn(page: Page, app: TestApp, token: string): Promise<void> {
  await page.goto(`${app.url}/console`);
  await page.waitForSelector('#sign-in-key');
  await page.type('#sign-in-key', token);
  await page.keyboard.press('Enter');
  await page.waitForSelector('nav[aria-label="Console"]');
}

/** A page condition: the keys table lists exactly these keys, in this order, and is not loading. */
function listedIs(ids: string[]): string {
  return `document.querySelector('[data-loads]').dataset.loading === 'false' &&
    JSON.stringify([...document.querySelectorAll('.keys-table tbody tr')].map((r) => r.dataset.keyId)) === ${JSON.stringify(JSON.stringify(ids))}`;
}

async function rowStatus(page: Page, keyId: string): Promise<string | null> {
  return inPage<string | null>(page, `document.querySelector('tr[data-key-id="${keyId}"]')?.dataset.status ?? null`);
}

describe('web console (headless Chromium)', () => {
  let db: ScratchDatabase;
  let chrome: Awaited<ReturnType<typeof launchBrowser>>;
  let browser: Browser;
  let sut: TestApp;
  let admin: { id: string; publicId: string; token: string };
  let page: Page;
  /** The key created in the console. */
  const created = { id: '', publicId: '', secret: '' };
  /** The webhook endpoint added in the console, and the receiver it points at. */
  const webhook = { id: '', secret: '' };
  let hooks: Receiver;
  /** A second app on a second fresh database, where the verify test tampers with an event. */
  let tamperDb: ScratchDatabase;
  let tamperApp: TestApp;
  const appUrls: string[] = [];

  beforeAll(async () => {
    // Both databases, both apps and the browser start side by side.
    [db, tamperDb, chrome] = await Promise.all([createScratchDatabase('console'), createScratchDatabase('console'), launchBrowser()]);
    browser = chrome.browser;
    // The webhooks page's endpoint points at a receiver on 127.0.0.1.
    const webhooksEnv = { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_POLL: '100ms' };
    [sut, tamperApp] = await Promise.all([createTestApp(webhooksEnv, db.url), createTestApp({}, tamperDb.url)]);
    appUrls.push(sut.url, tamperApp.url);
    admin = await issueUsableKey(sut, { tenantId: 'platform', name: ADMIN_NAME, scopes: ['admin'] });
    page = track(await browser.newPage());
    await page.setViewport({ width: 1280, height: 860 });
  }, 90_000);

  afterAll(async () => {
    await chrome?.close();
    await hooks?.close();
    await Promise.all([sut?.close(), tamperApp?.close()]);
    await Promise.all([db?.drop(), tamperDb?.drop()]);
  }, 60_000);

  it('serves /console itself, with a strict CSP, no inline script, cacheable hashed assets and a first load under 150 KB gzipped', async () => {
    const res = await fetch(`${sut.url}/console/keys`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/); // every script is a file
    expect(html).not.toMatch(/\sstyle=|<style/);
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//); // nothing from another origin
    const scripts = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    let gzipped = 0;
    for (const src of scripts) {
      const asset = await fetch(`${sut.url}${src}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      gzipped += gzipSync(Buffer.from(await asset.arrayBuffer()), { level: 9 }).length;
    }
    expect(gzipped).toBeLessThanOrEqual(150 * 1024);
  });

  it('signs in with an admin key, kept in sessionStorage only (no localStorage, cookie or URL)', async () => {
    await page.goto(`${sut.url}/console`);
    await page.waitForSelector('#sign-in-key');
    await untilInPage(page, `location.pathname === '/console/sign-in'`);
    await screenshot(page, 'sign-in');
    await expectAccessible(page, 'sign-in');

    await page.type('#sign-in-key', 'kl_live_not_a_real_key');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#sign-in-key-error');
    expect(await textOf(page, '#sign-in-key-error')).toMatch(/not accepted/);

    await page.click('#sign-in-key', { count: 3 });
    await page.type('#sign-in-key', admin.token);
    await afterLoad(page, () => page.keyboard.press('Enter'));
    await untilInPage(page, `location.pathname === '/console/keys'`);
    expect(await textOf(page, 'h1')).toBe('API keys');
    expect(await textOf(page, '.whoami')).toContain(ADMIN_NAME);
    expect(await inPage(page, `sessionStorage.getItem('${STORAGE_KEY}')`)).toBe(admin.token);
    expect(await inPage(page, 'localStorage.length')).toBe(0);
    expect(await inPage(page, 'document.cookie')).toBe('');
    expect(page.url()).not.toContain(admin.token);
  });

  it('creates a key from the keyboard alone, shows its secret exactly once, and the key works', async () => {
    // Tab to "Create key" and work the form with the keyboard only.
    await page.focus('#page-title');
    for (let i = 0; i < 40 && (await inPage<string>(page, 'document.activeElement.textContent')) !== 'Create key'; i++) {
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog[open] #create-name');
    await untilInPage(page, `document.activeElement?.id === 'create-name'`);
    await page.keyboard.type('console created key');
    await page.keyboard.press('Tab');
    await page.keyboard.type(TENANT);
    await page.keyboard.press('Tab');
    await page.keyboard.type('reports:read');
    await page.keyboard.press('Tab');
    await page.keyboard.type('plan=pro');
    await page.keyboard.press('Tab'); // into the expiry radios (90 days is checked)
    await page.keyboard.press('ArrowLeft'); // 30 days
    expect(await inPage(page, `document.querySelector('input[name="create-expiry"]:checked').value`)).toBe('30');
    await page.keyboard.press('Tab'); // Cancel
    await page.keyboard.press('Tab'); // Create key
    expect(await inPage(page, 'document.activeElement.textContent')).toBe('Create key');
    await page.keyboard.press('Enter');

    await page.waitForSelector('dialog[open] #new-secret');
    created.secret = await inPage<string>(page, `document.querySelector('#new-secret').value`);
    expect(created.secret).toMatch(/^kl_live_[0-9A-Za-z]{12}_/);
    await browser.defaultBrowserContext().overridePermissions(sut.url, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
    await page.click('dialog[open] button::-p-text(Copy)');
    await untilInPage(page, `document.querySelector('dialog[open] .copy-status').textContent === 'Copied to the clipboard'`);
    await screenshot(page, 'create-secret-once', false);
    await expectAccessible(page, 'secret dialog');

    // Escape does not drop the secret by accident; the explicit button does.
    await page.keyboard.press('Escape');
    expect(await inPage(page, `!!document.querySelector('dialog[open] #new-secret')`)).toBe(true);
    await page.click('dialog[open] button::-p-text(I have stored the key)');
    await untilInPage(page, `!document.querySelector('dialog[open]')`);

    const row = await inPage<{ id: string; publicId: string }>(
      page,
      `(() => { const r = document.querySelector('tr.is-new'); return { id: r.dataset.keyId, publicId: r.querySelector('[data-label="Public ID"] code').textContent }; })()`,
    );
    Object.assign(created, row);
    expect(await inPage(page, `document.documentElement.outerHTML.includes(${JSON.stringify(created.secret)})`)).toBe(false);
    expect(await textOf(page, `tr[data-key-id="${created.id}"] [data-label="Expires"]`)).toMatch(/in (30 days|4 weeks|1 month)/);
    expect(await inPage(page, `document.querySelector('tr[data-key-id="${created.id}"] .badge-new')?.textContent`)).toBe('new');

    // After a reload nothing can show it: not the page, not storage.
    await afterLoad(page, () => page.reload(), { fresh: true });
    expect(await inPage(page, `!!document.querySelector('tr[data-key-id="${created.id}"]')`)).toBe(true);
    const everything = await inPage<string>(
      page,
      `document.documentElement.outerHTML + JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage })`,
    );
    expect(everything).not.toContain(created.secret);

    const whoami = await call(sut, created.secret, 'GET', '/examples/whoami');
    expect(whoami.status).toBe(200);
    expect(whoami.body).toMatchObject({ keyId: created.id, tenantId: TENANT, scopes: ['reports:read'], tags: { plan: 'pro' } });
  });

  it("shows the API's field error next to its field", async () => {
    await page.click('.page-actions button::-p-text(Create key)');
    await page.waitForSelector('dialog[open] #create-name');
    await page.type('#create-name', 'bad scopes');
    await page.type('#create-tenant', TENANT);
    await page.type('#create-scopes', 'Invoices Read');
    await page.click('dialog[open] button[type=submit]');
    await page.waitForSelector('#create-scopes-error');
    expect(await textOf(page, '#create-scopes-error')).toMatch(/scope \d+ must match/);
    expect(await inPage(page, `document.querySelector('#create-scopes').getAttribute('aria-invalid')`)).toBe('true');
    expect(await inPage(page, `document.querySelector('#create-scopes').getAttribute('aria-describedby')`)).toContain(
      'create-scopes-error',
    );
    // Next to its field: in the same field group, right after the input.
    expect(await inPage(page, `document.querySelector('#create-scopes').nextElementSibling?.id`)).toBe('create-scopes-error');
    expect(await inPage(page, `document.querySelectorAll('dialog[open] .field-error').length`)).toBe(1);
    await screenshot(page, 'create-field-error', false);
    await expectAccessible(page, 'create dialog with a field error');
    await page.keyboard.press('Escape');
    await untilInPage(page, `!document.querySelector('dialog[open]')`);
  });

  it('revokes a key: it stays in view greyed out as revoked, and the guard refuses it', async () => {
    const row = `tr[data-key-id="${created.id}"]`;
    await page.click(`${row} button::-p-text(Revoke)`);
    await page.waitForSelector('dialog[open] #revoke-reason');
    await page.type('#revoke-reason', 'leaked in a test');
    await page.select('#revoke-reason-code', 'leaked');
    await screenshot(page, 'confirm-revoke', false);
    await expectAccessible(page, 'revoke confirmation');
    await page.click('dialog[open] button[type=submit]');
    await untilInPage(page, `document.querySelector('${row}')?.dataset.status === 'revoked' && !document.querySelector('dialog[open]')`);
    expect(await inPage(page, `document.querySelector('#filter-inactive').checked`)).toBe(false);
    expect(await inPage(page, `document.querySelector('${row}').classList.contains('is-inactive')`)).toBe(true);
    expect(await textOf(page, `${row} [data-label="Status"]`)).toBe('revoked');
    // Greyed out: the inactive colours, not the active row's.
    const background = await inPage<string>(page, `getComputedStyle(document.querySelector('${row} td')).backgroundColor`);
    expect(background).toBe('rgb(236, 238, 241)');
    await screenshot(page, 'keys-revoked-in-view');
    await expectAccessible(page, 'keys with a revoked row');

    // The guard's replica hears of the revoke through LISTEN/NOTIFY within milliseconds.
    await until(
      'the revoked key to be refused (401)',
      async () => (await call(sut, created.secret, 'GET', '/examples/whoami')).status === 401,
      { timeoutMs: 3000 },
    );
  });

  it('reports a pasted key as leaked: it is revoked, the answer names its publicId, and the key is gone from the page', async () => {
    const leaked = await issueUsableKey(sut, { tenantId: TENANT, name: 'pasted in a chat' });
    await page.click('button::-p-text(Report a leaked key)');
    await page.waitForSelector('dialog[open] #leak-token');
    await page.type('#leak-token', leaked.token);
    await page.type('#leak-source', 'https://chat.example.com/c/42');
    await expectAccessible(page, 'report a leaked key');
    await page.click('dialog[open] button[type=submit]');
    await page.waitForSelector('[data-leak-outcome]');
    expect(await textOf(page, '[data-leak-outcome]')).toContain(`Key ${leaked.publicId} was revoked`);
    expect(await inPage(page, `document.querySelector('#leak-token').value`)).toBe('');
    expect(await inPage<string>(page, 'document.documentElement.outerHTML')).not.toContain(leaked.token);
    await page.click('dialog[open] button::-p-text(Cancel)');
    await untilInPage(page, `!document.querySelector('dialog[open]')`);
    const events = await call<{ items: { type: string }[] }>(sut, admin.token, 'GET', `/admin/api-keys/${leaked.id}/events`);
    expect(events.body.items.map((e) => e.type)).toEqual(['key.created', 'key.revoked']);
    await until(
      'the reported key to be refused (401)',
      async () => (await call(sut, leaked.token, 'GET', '/examples/whoami')).status === 401,
      { timeoutMs: 3000 },
    );
  });

  it('hides expired and revoked keys until the switch is on, then shows them greyed out', async () => {
    const expiring = await issueUsableKey(sut, { tenantId: TENANT, name: 'expired by the test' });
    expect((await call(sut, admin.token, 'POST', `/admin/api-keys/${expiring.id}/expire`, {})).status).toBe(200);
    await afterLoad(page, () => page.click('button::-p-text(Reload list)'));
    expect(await rowStatus(page, expiring.id)).toBeNull();
    expect(await rowStatus(page, created.id)).toBeNull(); // the revoked key stayed only until this reload

    await afterLoad(page, () => page.click('#filter-inactive'));
    expect(await rowStatus(page, expiring.id)).toBe('expired');
    expect(await rowStatus(page, created.id)).toBe('revoked');
    expect(await inPage(page, `document.querySelector('tr[data-key-id="${expiring.id}"]').classList.contains('is-inactive')`)).toBe(true);
    await screenshot(page, 'keys-show-expired-and-revoked');
    await expectAccessible(page, 'keys with the switch on');

    // Filters: tenant (server-side), name and tag (over the API's pages).
    await afterLoad(page, async () => {
      await page.type('#filter-tenant', TENANT);
    });
    await page.type('#filter-tag', 'plan=pro');
    await untilInPage(page, listedIs([created.id]));
    await page.click('#filter-tag', { count: 3 });
    await page.keyboard.press('Backspace');
    await page.type('#filter-name', 'EXPIRED BY');
    await untilInPage(page, listedIs([expiring.id]));
    await afterLoad(page, async () => {
      await page.click('#filter-name', { count: 3 });
      await page.keyboard.press('Backspace');
      await page.click('#filter-tenant', { count: 3 });
      await page.keyboard.press('Backspace');
    });
    await afterLoad(page, () => page.click('#filter-inactive'));
    expect(await rowStatus(page, expiring.id)).toBeNull();
  });

  it('shows a key with its event timeline; an edit that lost a race (412) shows the new state; rotate and expire', async () => {
    const key = await issueUsableKey(sut, {
      tenantId: TENANT,
      name: 'detail demo',
      scopes: ['reports:read'],
      tags: { team: 'billing' },
      expiresAt: new Date(Date.now() + 3 * 86_400_000),
    });
    await page.goto(`${sut.url}/console/keys/${key.id}`);
    await page.waitForSelector('ol.timeline li[data-event-type="key.created"]');
    expect(await textOf(page, 'h1')).toContain('detail demo');
    expect(await textOf(page, '.details')).toContain('expires soon'); // within 7 days: flagged
    expect(await textOf(page, 'ol.timeline li[data-event-type="key.created"]')).toContain('by system');

    await page.click('.page-actions button::-p-text(Edit)');
    await page.waitForSelector('dialog[open] #edit-name');
    await page.click('#edit-name', { count: 3 });
    await page.type('#edit-name', 'detail demo (renamed here)');
    // Another client changes the key in the meantime.
    expect((await call(sut, admin.token, 'PATCH', `/admin/api-keys/${key.id}`, { name: 'changed elsewhere' })).status).toBe(200);
    await page.click('dialog[open] button[type=submit]');
    await page.waitForSelector('dialog[open] .alert-warning');
    const conflict = await textOf(page, 'dialog[open] .alert-warning');
    expect(conflict).toContain('Someone else changed this key');
    expect(conflict).toContain('changed elsewhere');
    expect(await textOf(page, 'h1')).toContain('changed elsewhere'); // the page shows the new state too
    await screenshot(page, 'key-edit-conflict', false);
    await expectAccessible(page, 'edit conflict');
    await page.click('dialog[open] button[type=submit]'); // save over the new version
    await untilInPage(page, `!document.querySelector('dialog[open]') && document.querySelector('h1').textContent.includes('renamed here')`);
    await untilInPage(page, `document.querySelectorAll('ol.timeline li[data-event-type="key.updated"]').length === 2`);
    expect(await textOf(page, 'ol.timeline li[data-event-type="key.updated"]')).toContain('changed elsewhere → detail demo (renamed here)');

    await page.click('.page-actions button::-p-text(Rotate)');
    await page.waitForSelector('dialog[open] #rotate-grace');
    await page.select('#rotate-grace', '3600');
    await page.click('dialog[open] button[type=submit]');
    await page.waitForSelector('dialog[open] #new-secret');
    const rotated = await inPage<string>(page, `document.querySelector('#new-secret').value`);
    await page.click('dialog[open] button::-p-text(I have stored the key)');
    await untilInPage(
      page,
      `!document.querySelector('dialog[open]') && !!document.querySelector('ol.timeline li[data-event-type="key.rotated"]')`,
    );
    expect(await inPage(page, `document.documentElement.outerHTML.includes(${JSON.stringify(rotated)})`)).toBe(false);
    expect((await call(sut, rotated, 'GET', '/examples/whoami')).status).toBe(200);
    expect((await call(sut, key.token, 'GET', '/examples/whoami')).status).toBe(200); // still within its grace period
    expect(await textOf(page, '.details')).toContain('Previous secret works until');
    await screenshot(page, 'key-detail');
    await expectAccessible(page, 'key detail');

    await page.click('.page-actions button::-p-text(Expire now)');
    await page.waitForSelector('dialog[open] button[type=submit]');
    await page.click('dialog[open] button[type=submit]');
    await untilInPage(page, `document.querySelector('h1 .badge')?.textContent === 'expired'`);
    await page.waitForSelector('ol.timeline li[data-event-type="key.expired"]');
    expect(await inPage(page, `document.querySelector('.page-actions button').disabled`)).toBe(true);
    // Expired by hand within its grace period, 3 days before its date: it promises neither any more.
    const ended = await textOf(page, '.details');
    expect(ended).not.toContain('Previous secret works until');
    expect(ended).not.toMatch(/expires soon|\bin \d+ days?\b/);
    expect(ended).toContain('no longer applies: the key is expired');
  });

  it("a revoked key's page says neither that its previous secret still works nor when it will expire", async () => {
    const key = await issueUsableKey(sut, {
      tenantId: TENANT,
      name: 'revoked in its grace',
      expiresAt: new Date(Date.now() + 90 * 86_400_000),
    });
    expect((await call(sut, admin.token, 'POST', `/admin/api-keys/${key.id}/rotate`, { gracePeriodSeconds: 3600 })).status).toBe(200);
    expect((await call(sut, admin.token, 'POST', `/admin/api-keys/${key.id}/revoke`, { reason: 'ended in its grace' })).status).toBe(200);
    await page.goto(`${sut.url}/console/keys/${key.id}`);
    await page.waitForSelector('ol.timeline li[data-event-type="key.revoked"]');
    const details = await textOf(page, '.details');
    expect(details).toContain('revoked');
    expect(details).not.toContain('Previous secret works until');
    expect(details).not.toMatch(/\bin \d+ (days?|months?)\b/);
    expect(details).toContain('no longer applies: the key is revoked');
  });

  it("shows a key's last use and a chart of its verifications; the keys page charts the tenant's", async () => {
    const tenantId = `usage-${suffix}`;
    const key = await issueUsableKey(sut, { tenantId, name: 'usage demo', scopes: ['other:read'] });
    expect(
      (await fetch(`${sut.url}/examples/reports`, { headers: { 'x-api-key': key.token, 'user-agent': 'console-usage-test/1' } })).status,
    ).toBe(403);
    expect(
      (await fetch(`${sut.url}/examples/whoami`, { headers: { 'x-api-key': key.token, 'user-agent': 'console-usage-test/1' } })).status,
    ).toBe(200);
    await sut.app.get(KeyVerifier).usage!.flush(); // the flush a timer makes every USAGE_FLUSH_MS, made now

    await page.goto(`${sut.url}/console/keys/${key.id}`);
    await page.waitForSelector('figure.usage-chart svg[role="img"]');
    const details = await textOf(page, '.details');
    expect(details).toContain('Last used');
    expect(details).toContain('from 127.0.0.1');
    expect(details).toContain('console-usage-test/1');
    // issueUsableKey's request and the whoami: 2 valid; the scope refusal: 1 refused.
    expect(await textOf(page, 'figure.usage-chart figcaption')).toContain('3 verifications in the last 30 days: 2 valid, 1 refused.');
    expect(await inPage<number>(page, `document.querySelectorAll('figure.usage-chart svg g').length`)).toBe(30);
    await screenshotOf(page, 'figure.usage-chart', 'key-usage-chart');
    await expectAccessible(page, 'key usage');

    await page.goto(`${sut.url}/console/keys`);
    await page.waitForSelector('#filter-tenant');
    await page.type('#filter-tenant', tenantId);
    await untilInPage(
      page,
      `document.querySelector('figure.usage-chart figcaption')?.textContent.includes(${JSON.stringify(`for ${tenantId}`)})`,
    );
    expect(await textOf(page, 'figure.usage-chart figcaption')).toContain('3 verifications in the last 30 days: 2 valid, 1 refused.');
    await untilInPage(page, `!!document.querySelector('tr[data-key-id="${key.id}"]')`);
    expect(await textOf(page, 'table.keys-table thead')).toContain('Last used');
    expect(await textOf(page, `tr[data-key-id="${key.id}"] td[data-label="Last used"]`)).not.toContain('never');
    await expectAccessible(page, 'keys page with its usage chart');
  });

  it('a tenant-bound key sees and manages only its own tenant; a 401 returns it to sign-in with a message', async () => {
    const operator = await issueUsableKey(sut, { tenantId: OTHER_TENANT, name: 'tenant operator', scopes: ['keys:manage'] });
    const theirs = await issueUsableKey(sut, { tenantId: OTHER_TENANT, name: 'their own key' });
    const context: BrowserContext = await browser.createBrowserContext();
    try {
      const tenantPage = track(await context.newPage());
      await tenantPage.setViewport({ width: 1280, height: 860 });
      await signIn(tenantPage, sut, operator.token);
      await afterLoad(tenantPage, () => tenantPage.click('#filter-inactive'));
      const tenants = await inPage<string[]>(
        tenantPage,
        `[...document.querySelectorAll('.keys-table tbody tr [data-label="Tenant"]')].map((c) => c.textContent)`,
      );
      expect(new Set(tenants)).toEqual(new Set([OTHER_TENANT]));
      expect(await rowStatus(tenantPage, theirs.id)).toBe('active');
      expect(await rowStatus(tenantPage, created.id)).toBeNull();
      expect(
        await inPage(tenantPage, `document.querySelector('#filter-tenant').readOnly && document.querySelector('#filter-tenant').value`),
      ).toBe(OTHER_TENANT);
      expect(await inPage(tenantPage, `[...document.querySelectorAll('nav a')].map((a) => a.textContent)`)).toEqual([
        'Keys',
        'Policy',
        'Report',
      ]); // no audit:read
      await screenshot(tenantPage, 'keys-tenant-bound');
      await expectAccessible(tenantPage, 'tenant-bound keys');

      // Another tenant's key is not found, exactly as in the REST API.
      await tenantPage.goto(`${sut.url}/console/keys/${created.id}`);
      await untilInPage(tenantPage, `document.querySelector('h1')?.textContent === 'Key not found'`);

      // Its key is revoked elsewhere: the next call is a 401 and the console signs out, saying why.
      await tenantPage.click('a::-p-text(All keys)');
      await tenantPage.waitForSelector('.keys-table');
      expect((await call(sut, admin.token, 'POST', `/admin/api-keys/${operator.id}/revoke`, { reason: 'rotated out' })).status).toBe(200);
      await until(
        'the revoked operator key to be refused (401)',
        async () => (await call(sut, operator.token, 'GET', '/examples/whoami')).status === 401,
      );
      await tenantPage.click('button::-p-text(Reload list)');
      await tenantPage.waitForSelector('#sign-in-key');
      await untilInPage(tenantPage, `location.pathname === '/console/sign-in'`);
      expect(await textOf(tenantPage, '.alert')).toMatch(/revoked/);
      expect(await inPage(tenantPage, `sessionStorage.getItem('${STORAGE_KEY}')`)).toBeNull();
      await screenshot(tenantPage, 'signed-out-after-401');
      await expectAccessible(tenantPage, 'sign-in after a 401');
    } finally {
      await context.close();
    }
  });

  it('the report page downloads the key inventory with its filters, the key in a header', async () => {
    await page.goto(`${sut.url}/console/reports`);
    await page.waitForSelector('#report-status');
    await page.type('#report-tenant', TENANT);
    await page.select('#report-status', 'revoked');
    await expectAccessible(page, 'report');
    await inPage(
      page,
      `(() => { window.__blobs = []; const create = URL.createObjectURL; URL.createObjectURL = (blob) => { window.__blobs.push(blob); return create(blob); }; })()`,
    );
    await page.click('button::-p-text(Download CSV)');
    await untilInPage(page, 'window.__blobs.length === 1');
    const rows = (await inPage<string>(page, 'window.__blobs[0].text()')).trim().split('\r\n');
    expect(rows[0]).toBe(
      'tenantId,name,keyId,publicId,scopes,createdAt,createdByType,createdBy,lastRotatedAt,lastUsedAt,expiresAt,status,reason,reasonCode,secretAgeDays',
    );
    expect(rows.slice(1).filter((r) => r.includes(created.id))).toEqual([expect.stringContaining(',revoked,leaked in a test,leaked,')]);
    await page.type('#report-unused', '-1');
    await page.click('button::-p-text(Download NDJSON)');
    await page.waitForSelector('[data-field-error="report-unused"]');
    await screenshot(page, 'report');
  });

  it('the audit page shows the create and the revoke with their actor, and downloads exports with the key in a header', async () => {
    await afterLoad(page, () => page.goto(`${sut.url}/console/audit`), { fresh: true });
    await page.type('#audit-key', created.publicId);
    // The audit log is an async projection: apply the filter until both entries are in.
    await until(
      'the audit page to list the create and the revoke',
      async () => {
        await afterLoad(page, () => page.click('button::-p-text(Apply filters)'));
        return inPage<boolean>(
          page,
          `!!document.querySelector('tr[data-type="key.created"]') && !!document.querySelector('tr[data-type="key.revoked"]')`,
        );
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    await untilInPage(
      page,
      `[...document.querySelectorAll('.audit-table .actor-cell')].every((c) => c.textContent.includes(${JSON.stringify(ADMIN_NAME)}))`,
    );
    expect(await textOf(page, 'tr[data-type="key.revoked"] .details-cell')).toContain('reason: leaked (leaked in a test)');
    expect(await textOf(page, 'tr[data-type="key.created"] .details-cell')).toContain('plan=pro');

    await inPage(
      page,
      `(() => { window.__blobs = []; const create = URL.createObjectURL; URL.createObjectURL = (blob) => { window.__blobs.push(blob); return create(blob); }; })()`,
    );
    await page.click('button::-p-text(Download CSV)');
    await untilInPage(page, 'window.__blobs.length === 1');
    const csv = await inPage<string>(page, 'window.__blobs[0].text()');
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toMatch(/^seq,position,recordedAt/);
    expect(lines).toHaveLength(3); // the filter applies to the export too
    await page.click('button::-p-text(Download NDJSON)');
    await untilInPage(page, 'window.__blobs.length === 2');
    const ndjson = await inPage<string>(page, 'window.__blobs[1].text()');
    expect(
      ndjson
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { type: string }).type),
    ).toEqual(['key.revoked', 'key.created']);

    await afterLoad(page, () => page.click('button::-p-text(Clear)'));
    await screenshot(page, 'audit');
    await expectAccessible(page, 'audit');
  });

  it('the live tail shows an event another client appends, pushed over fetch-based SSE', async () => {
    await untilInPage(page, `document.querySelector('[data-stream-status]')?.dataset.streamStatus === 'live'`);
    const appended = await call<{ publicId: string }>(sut, admin.token, 'POST', '/admin/api-keys', {
      tenantId: TENANT,
      name: 'appended by another client',
    });
    expect(appended.status).toBe(201);
    await untilInPage(page, `!!document.querySelector('.tail-list li[data-public-id="${appended.body.publicId}"]')`, 5000);
    expect(await textOf(page, `.tail-list li[data-public-id="${appended.body.publicId}"]`)).toContain('appended by another client');
    await screenshotOf(page, '.live-tail', 'audit-live-tail');
  });

  it("the policy page sets a tenant's policy and lists the key that now breaks it, changing none", async () => {
    const tenantId = `policy-${suffix}`;
    const forever = await call<{ id: string; publicId: string }>(sut, admin.token, 'POST', '/admin/api-keys', {
      tenantId,
      name: 'forever',
    });
    expect(forever.status).toBe(201);
    await page.goto(`${sut.url}/console/policy`);
    await page.waitForSelector('#policy-maxLifetimeDays');
    await page.type('#policy-tenant', tenantId);
    await page.click('button::-p-text(Show)');
    await untilInPage(
      page,
      `document.querySelector('form[aria-label="Policy settings"] p')?.textContent.includes(${JSON.stringify(`Tenant ${tenantId}`)})`,
    );
    await page.select('#policy-requireExpiry', 'true');
    await page.type('#policy-maxLifetimeDays', '90');
    await page.click('button::-p-text(Save policy)');
    await untilInPage(page, `document.querySelector('caption')?.textContent.includes('1 active key(s) break the policy')`);
    expect(await textOf(page, 'table')).toContain(forever.body.publicId);
    const stored = await call<{ version: number; policy: Record<string, unknown> }>(
      sut,
      admin.token,
      'GET',
      `/admin/tenants/${tenantId}/policy`,
    );
    expect(stored.body).toMatchObject({ version: 1, policy: { requireExpiry: true, maxLifetimeDays: 90 } });
    expect(
      (await call<{ status: string; version: number }>(sut, admin.token, 'GET', `/admin/api-keys/${forever.body.id}`)).body,
    ).toMatchObject({ status: 'active', version: 1 });
    await screenshot(page, 'policy');
    await expectAccessible(page, 'policy');
  });

  it('verify says "intact up to position N", and names the first failing position after a tampered event (separate database)', async () => {
    const verifier = await issueUsableKey(tamperApp, { tenantId: 'platform', name: 'verify admin', scopes: ['admin'] });
    const victims = [];
    for (const name of ['first', 'second', 'third']) victims.push(await issueUsableKey(tamperApp, { tenantId: TENANT, name }));
    await until(
      "the tampered app's audit digest to cover 4 events",
      async () => (await call<{ events: number }>(tamperApp, verifier.token, 'GET', '/admin/audit/digest')).body.events === 4,
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const digest = (await call<{ digest: string; position: number }>(tamperApp, verifier.token, 'GET', '/admin/audit/digest')).body;

    const context = await browser.createBrowserContext();
    try {
      const verifyPage = track(await context.newPage());
      await verifyPage.setViewport({ width: 1280, height: 860 });
      await signIn(verifyPage, tamperApp, verifier.token);
      await afterLoad(verifyPage, () => verifyPage.goto(`${tamperApp.url}/console/audit`), { fresh: true });
      await verifyPage.type('#verify-digest', digest.digest);
      await verifyPage.click('button::-p-text(Verify)');
      await verifyPage.waitForSelector('[data-verify-result]');
      expect(await inPage(verifyPage, `document.querySelector('[data-verify-result]').dataset.verifyResult`)).toBe('intact');
      expect(await textOf(verifyPage, '[data-verify-result]')).toBe(`Intact up to position ${digest.position}`);

      const pool = new Pool({ connectionString: tamperDb.url, max: 1 });
      let position: number;
      try {
        const { rows } = await pool.query<{ position: number }>('SELECT global_position AS position FROM events WHERE stream_id = $1', [
          `key-${victims[1].id}`,
        ]);
        position = Number(rows[0].position);
        await pool.query('ALTER TABLE events DISABLE TRIGGER events_append_only');
        await pool.query(`UPDATE events SET payload = jsonb_set(payload, '{name}', '"tampered"') WHERE global_position = $1`, [position]);
        await pool.query('ALTER TABLE events ENABLE TRIGGER events_append_only');
      } finally {
        await pool.end();
      }

      await verifyPage.click('button::-p-text(Verify)');
      await untilInPage(verifyPage, `document.querySelector('[data-verify-result]')?.dataset.verifyResult === 'broken'`);
      expect(await inPage(verifyPage, `document.querySelector('[data-verify-result]').dataset.position`)).toBe(String(position));
      expect(await textOf(verifyPage, '[data-verify-result]')).toBe(`Not intact: the first position that fails is ${position}`);
      await screenshot(verifyPage, 'audit-verify-tampered');
      await expectAccessible(verifyPage, 'verify result');
    } finally {
      await context.close();
    }
  });

  it('the webhooks page adds an endpoint and shows its signing secret once, with field errors from the API', async () => {
    // The key named "refused" gets a 500 with a 3 KB body; every other delivery a 200 "ok".
    hooks = await startReceiver((r) => (r.message.data.name === 'refused' ? 500 : 200));
    await afterLoad(page, () => page.goto(`${sut.url}/console/webhooks`), { fresh: true });
    expect(await inPage(page, `[...document.querySelectorAll('nav a')].map((a) => a.textContent)`)).toEqual([
      'Keys',
      'Policy',
      'Report',
      'Audit',
      'Webhooks',
    ]);
    expect(await textOf(page, '.empty')).toContain('No webhook endpoints yet');

    await page.click('button::-p-text(Add endpoint)');
    await page.waitForSelector('dialog[open] #webhook-url');
    await page.type('#webhook-url', 'http://169.254.169.254/latest');
    await page.type('#webhook-tenant', TENANT);
    await page.click('dialog[open] button[type=submit]');
    expect(await textOf(page, '[data-field-error="webhook-types"]')).toBe('Choose at least one event type');
    await page.click('input[name="webhook-types"][value="key.created"]');
    await page.click('input[name="webhook-types"][value="key.revoked"]');
    await page.click('dialog[open] button[type=submit]');
    // The SSRF rules' refusal, under the URL field.
    expect(await textOf(page, '[data-field-error="webhook-url"]')).toContain('metadata');
    expect(await inPage(page, `document.querySelector('#webhook-url').getAttribute('aria-invalid')`)).toBe('true');
    await expectAccessible(page, 'add endpoint with a field error');
    await page.click('#webhook-url', { count: 3 });
    await page.type('#webhook-url', hooks.url);
    await page.click('dialog[open] button[type=submit]');

    await page.waitForSelector('dialog[open] #new-secret');
    webhook.secret = await inPage<string>(page, `document.querySelector('#new-secret').value`);
    expect(webhook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(await textOf(page, 'dialog[open] .alert-warning')).toContain('you will not see it again');
    await browser.defaultBrowserContext().overridePermissions(sut.url, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
    await page.click('dialog[open] button::-p-text(Copy)');
    await untilInPage(page, `document.querySelector('dialog[open] .copy-status').textContent === 'Copied to the clipboard'`);
    await screenshot(page, 'webhook-secret-once', false);
    await expectAccessible(page, 'webhook secret');
    await page.keyboard.press('Escape'); // does not drop it by accident
    expect(await inPage(page, `!!document.querySelector('dialog[open] #new-secret')`)).toBe(true);
    await page.click('dialog[open] button::-p-text(I have stored the secret)');
    await untilInPage(page, `!document.querySelector('dialog[open]')`);
    expect(await inPage(page, `document.documentElement.outerHTML.includes(${JSON.stringify(webhook.secret)})`)).toBe(false);

    const row = 'tr[data-webhook-id]';
    webhook.id = await inPage<string>(page, `document.querySelector('${row}').dataset.webhookId`);
    expect(await textOf(page, `${row} [data-label="URL"]`)).toBe(hooks.url);
    expect(await textOf(page, `${row} [data-label="Tenant"]`)).toBe(TENANT);
    expect(await textOf(page, `${row} [data-label="Event types"]`)).toBe('key.createdkey.revoked');
    expect(await textOf(page, `${row} [data-label="Status"]`)).toBe('enabled');
    const stored = await call<{ tenantId: string; eventTypes: string[]; enabled: boolean }>(
      sut,
      admin.token,
      'GET',
      `/admin/webhooks/${webhook.id}`,
    );
    expect(stored.body).toMatchObject({ tenantId: TENANT, url: hooks.url, eventTypes: ['key.created', 'key.revoked'], enabled: true });
    expect(JSON.stringify(stored.body)).not.toContain('whsec_');
  });

  it("an endpoint's delivery log shows each delivery's status, attempts and response, pages back, and redelivers", async () => {
    const refused = await call<{ id: string }>(sut, admin.token, 'POST', '/admin/api-keys', { tenantId: TENANT, name: 'refused' });
    const taken = await call<{ id: string }>(sut, admin.token, 'POST', '/admin/api-keys', { tenantId: TENANT, name: 'taken' });
    // 21 deliveries: one more than a page of the log.
    for (let i = 0; i < 19; i++) {
      expect((await call(sut, admin.token, 'POST', '/admin/api-keys', { tenantId: TENANT, name: `filler ${i}` })).status).toBe(201);
    }
    type Log = { items: { keyId: string; status: string; attempts: number; messageId: string }[] };
    const log = async (): Promise<Log['items']> =>
      (await call<Log>(sut, admin.token, 'GET', `/admin/webhooks/${webhook.id}/deliveries?limit=100`)).body.items;
    await until('every delivery attempted once', async () => (await log()).filter((d) => d.attempts > 0).length === 21, {
      timeoutMs: DELIVERY_BOUND_MS,
      intervalMs: 50,
    });

    await page.click(`tr[data-webhook-id="${webhook.id}"] a`);
    await page.waitForSelector('table.deliveries-table');
    await untilInPage(page, `document.querySelector('[data-loads]').dataset.loading === 'false'`);
    expect(await inPage(page, `document.querySelectorAll('.deliveries-table tbody tr').length`)).toBe(20);
    await afterLoad(page, () => page.click('button::-p-text(Load older deliveries)'));
    expect(await inPage(page, `document.querySelectorAll('.deliveries-table tbody tr').length`)).toBe(21);
    expect(await inPage(page, `[...document.querySelectorAll('button')].some((b) => b.textContent === 'Load older deliveries')`)).toBe(
      false,
    );

    const rowOf = (keyId: string): string => `.deliveries-table tbody tr:has(a[href="/console/keys/${keyId}"])`;
    const failing = rowOf(refused.body.id);
    expect(await inPage(page, `document.querySelector('${failing}').dataset.status`)).toBe('pending');
    expect(await textOf(page, `${failing} [data-label="Attempts"]`)).toMatch(/^[1-9]\d*$/);
    expect(await textOf(page, `${failing} [data-label="Response"] strong`)).toBe('500');
    expect(await textOf(page, `${failing} [data-label="Error"]`)).toBe('status 500');
    expect(await textOf(page, `${failing} [data-label="Times"]`)).toContain('next attempt');
    await page.click(`${failing} summary`);
    expect(await textOf(page, `${failing} pre.response-body`)).toBe('x'.repeat(1024)); // the first 1 KB of 3,000
    const ok = rowOf(taken.body.id);
    expect(await inPage(page, `document.querySelector('${ok}').dataset.status`)).toBe('delivered');
    expect(await textOf(page, `${ok} [data-label="Attempts"]`)).toBe('1');
    expect(await textOf(page, `${ok} [data-label="Response"] strong`)).toBe('200');
    expect(await textOf(page, `${ok} pre.response-body`)).toBe('ok');
    expect(await textOf(page, `${ok} [data-label="Times"]`)).toContain('delivered');
    await screenshot(page, 'webhook-deliveries');
    await expectAccessible(page, 'delivery log');

    // Redeliver: a new delivery on top, the same message (webhook-id) sent again.
    const messageId = (await log()).find((d) => d.keyId === taken.body.id)!.messageId;
    await page.click(`${ok} button::-p-text(Redeliver)`);
    await untilInPage(page, `document.querySelectorAll('.deliveries-table tbody tr').length === 22`);
    expect(await textOf(page, '.deliveries-table tbody tr:first-child [data-label="Event"]')).toContain('redelivery');
    await until(
      'the redelivery sent',
      () => hooks.received.filter((r) => r.id === messageId).length,
      (n) => n === 2,
      {
        timeoutMs: DELIVERY_BOUND_MS,
      },
    );
    await until(
      'the redelivery recorded',
      async () => (await log()).filter((d) => d.messageId === messageId).every((d) => d.status === 'delivered'),
      { timeoutMs: DELIVERY_BOUND_MS, intervalMs: 50 },
    );
    await afterLoad(page, () => page.click('button::-p-text(Reload deliveries)'));
    expect(await inPage(page, `document.querySelector('.deliveries-table tbody tr:first-child').dataset.status`)).toBe('delivered');
    expect(hooks.verifiedWith(webhook.secret).length).toBeGreaterThanOrEqual(22);
  });

  it('edits, disables (with its reason shown), enables and, after asking, deletes an endpoint', async () => {
    await page.click('.page-actions button::-p-text(Edit)');
    await page.waitForSelector('dialog[open] #edit-webhook-url');
    await page.click('input[name="edit-webhook-types"][value="key.revoked"]');
    await page.click('input[name="edit-webhook-types"][value="key.expiring"]');
    await page.click('dialog[open] button[type=submit]');
    await untilInPage(page, `!document.querySelector('dialog[open]')`);
    expect(await textOf(page, '.details')).toContain('key.createdkey.expiring');

    await page.click('.page-actions button::-p-text(Disable)');
    await page.waitForSelector('[data-disabled-reason]');
    expect(await textOf(page, '[data-disabled-reason]')).toBe('Disabled: disabled by an admin.');
    expect(await textOf(page, 'h1 .badge')).toBe('disabled');
    await page.click('a::-p-text(All webhooks)');
    await page.waitForSelector(`tr[data-webhook-id="${webhook.id}"][data-enabled="false"]`);
    expect(await textOf(page, `tr[data-webhook-id="${webhook.id}"] [data-label="Status"]`)).toBe('disableddisabled by an admin');
    expect(await textOf(page, `tr[data-webhook-id="${webhook.id}"] [data-label="Event types"]`)).toBe('key.createdkey.expiring');
    await screenshot(page, 'webhooks');
    await expectAccessible(page, 'webhooks list');

    await page.click(`tr[data-webhook-id="${webhook.id}"] a`);
    await page.waitForSelector('.page-actions button::-p-text(Enable)');
    await page.click('.page-actions button::-p-text(Enable)');
    await untilInPage(
      page,
      `document.querySelector('h1 .badge')?.textContent === 'enabled' && !document.querySelector('[data-disabled-reason]')`,
    );
    expect(
      (await call<{ enabled: boolean; eventTypes: string[] }>(sut, admin.token, 'GET', `/admin/webhooks/${webhook.id}`)).body,
    ).toMatchObject({ enabled: true, eventTypes: ['key.created', 'key.expiring'] });

    await page.click('.page-actions button::-p-text(Delete)');
    await page.waitForSelector('dialog[open] button[type=submit]');
    expect(await textOf(page, 'dialog[open]')).toContain('Deleting is final');
    await expectAccessible(page, 'delete confirmation');
    await page.click('dialog[open] button::-p-text(Cancel)'); // asking first: Cancel deletes nothing
    await untilInPage(page, `!document.querySelector('dialog[open]')`);
    expect((await call(sut, admin.token, 'GET', `/admin/webhooks/${webhook.id}`)).status).toBe(200);
    await page.click('.page-actions button::-p-text(Delete)');
    await page.waitForSelector('dialog[open] button[type=submit]');
    await page.click('dialog[open] button[type=submit]');
    await untilInPage(page, `location.pathname === '/console/webhooks'`);
    await page.waitForSelector('.empty');
    expect((await call(sut, admin.token, 'GET', `/admin/webhooks/${webhook.id}`)).status).toBe(404);
    await page.goto(`${sut.url}/console/webhooks/${webhook.id}`);
    await untilInPage(page, `document.querySelector('h1')?.textContent === 'Webhook endpoint not found'`);
  });

  it("a webhooks:manage key signs in to the webhooks page only, and sees its own tenant's endpoints", async () => {
    const mine = await call<{ id: string }>(sut, admin.token, 'POST', '/admin/webhooks', {
      url: hooks.url,
      eventTypes: ['key.revoked'],
      tenantId: OTHER_TENANT,
    });
    const platform = await call<{ id: string }>(sut, admin.token, 'POST', '/admin/webhooks', {
      url: hooks.url,
      eventTypes: ['key.leaked'],
    });
    expect([mine.status, platform.status]).toEqual([201, 201]);
    const hooksKey = await issueUsableKey(sut, { tenantId: OTHER_TENANT, name: 'hooks operator', scopes: ['webhooks:manage'] });
    const context = await browser.createBrowserContext();
    try {
      const hooksPage = track(await context.newPage());
      await hooksPage.setViewport({ width: 1280, height: 860 });
      await signIn(hooksPage, sut, hooksKey.token);
      await untilInPage(hooksPage, `location.pathname === '/console/webhooks'`);
      expect(await inPage(hooksPage, `[...document.querySelectorAll('nav a')].map((a) => a.textContent)`)).toEqual(['Webhooks']);
      await hooksPage.waitForSelector('tr[data-webhook-id]');
      expect(await inPage(hooksPage, `[...document.querySelectorAll('tr[data-webhook-id]')].map((r) => r.dataset.webhookId)`)).toEqual([
        mine.body.id,
      ]);
      expect(await inPage(hooksPage, `document.querySelector('#webhooks-tenant').readOnly`)).toBe(true);
      await hooksPage.click('button::-p-text(Add endpoint)');
      await hooksPage.waitForSelector('dialog[open] #webhook-tenant');
      expect(
        await inPage(hooksPage, `[document.querySelector('#webhook-tenant').readOnly, document.querySelector('#webhook-tenant').value]`),
      ).toEqual([true, OTHER_TENANT]);
      await hooksPage.goto(`${sut.url}/console/webhooks/${platform.body.id}`);
      await untilInPage(hooksPage, `document.querySelector('h1')?.textContent === 'Webhook endpoint not found'`);
    } finally {
      await context.close();
    }
  });

  it('works 360 px wide: no sideways scrolling, still accessible', async () => {
    await page.setViewport({ width: 360, height: 780 });
    try {
      await afterLoad(page, () => page.goto(`${sut.url}/console/keys`), { fresh: true });
      expect(await inPage(page, 'document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
      await screenshot(page, 'keys-360px');
      await expectAccessible(page, 'keys at 360 px');
      await afterLoad(page, () => page.goto(`${sut.url}/console/audit`), { fresh: true });
      expect(await inPage(page, 'document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
      await expectAccessible(page, 'audit at 360 px');
      await page.goto(`${sut.url}/console/keys/${created.id}`);
      await page.waitForSelector('ol.timeline');
      expect(await inPage(page, 'document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
      await screenshot(page, 'key-detail-360px');
      await expectAccessible(page, 'key detail at 360 px');
      await page.goto(`${sut.url}/console/webhooks`);
      await page.waitForSelector('tr[data-webhook-id]');
      expect(await inPage(page, 'document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
      await expectAccessible(page, 'webhooks at 360 px');
    } finally {
      await page.setViewport({ width: 1280, height: 860 });
    }
  });

  it('signing out forgets the key', async () => {
    await page.click('button::-p-text(Sign out)');
    await page.waitForSelector('#sign-in-key');
    expect(await inPage(page, `sessionStorage.getItem('${STORAGE_KEY}')`)).toBeNull();
    expect(await textOf(page, '.alert')).toContain('signed out');
    await page.goto(`${sut.url}/console/keys`);
    await page.waitForSelector('#sign-in-key');
    await untilInPage(page, `location.pathname === '/console/sign-in'`);
  });

  it('sent nothing off the machine, never put a key in a URL, and logged no script or CSP error', () => {
    const secrets = [admin.token, created.secret, webhook.secret];
    for (const url of tracked.requests) {
      expect(appUrls.some((origin) => url.startsWith(`${origin}/`)) || url.startsWith('data:') || url.startsWith('blob:')).toBe(true);
      for (const secret of secrets) expect(url).not.toContain(secret);
    }
    expect(tracked.requests.some((url) => url.includes('/console/api/audit/tail'))).toBe(true);
    expect(tracked.pageErrors).toEqual([]);
    expect(tracked.consoleErrors.filter((message) => !EXPECTED_FAILED_LOAD.test(message))).toEqual([]);
  });
});
