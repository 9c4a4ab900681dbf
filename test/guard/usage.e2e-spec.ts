import type { Pool } from 'pg';
import request from 'supertest';
import { KeyVerifier } from '@keyledger/nestjs';
import { startAppProcess } from '../support/app-process.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { bearer, expectErrorShape, expectValidationError } from '../support/http.js';
import { issueUsableKey, uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';

/** Writes what `sut` recorded: the flush a timer makes every USAGE_FLUSH_MS, made now. */
const flush = (sut: TestApp): Promise<void> => sut.app.get(KeyVerifier).usage!.flush();
const ids = (body: unknown): string[] => (body as { items: { id: string }[] }).items.map((k) => k.id);
const use = (sut: TestApp, token: string, agent: string, path = '/examples/whoami'): request.Test =>
  request(sut.url).get(path).set(bearer(token)).set('user-agent', agent);

/**
 * Key usage (#18, ADR 0006): recorded in each instance's memory, flushed per interval, shown in the
 * key's view, the list and the usage endpoints. The timers are set an hour apart here: every
 * flush below is the one the test makes, so what is stored is what that flush wrote.
 */
describe('key usage: last use and daily counts', () => {
  let a: TestApp;
  let b: TestApp;
  let pool: Pool;
  let admin: string;

  beforeAll(async () => {
    [a, b] = await Promise.all([createTestApp({ USAGE_FLUSH_MS: '3600000' }), createTestApp({ USAGE_FLUSH_MS: '3600000' })]);
    pool = testPool();
    admin = (await issueUsableKey(a, { scopes: ['admin'] })).token;
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await pool?.end();
  });

  const getKey = async (id: string): Promise<Record<string, unknown>> =>
    (await request(a.url).get(`/admin/api-keys/${id}`).set(bearer(admin)).expect(200)).body as Record<string, unknown>;

  it("keeps the newer of two instances' last uses, whichever flushes last", async () => {
    const key = await issueUsableKey(a, { tenantId: uniqueTenant() });
    expect(await getKey(key.id)).toMatchObject({ lastUsedAt: null, lastUsedIp: null, lastUsedUserAgent: null });
    await flush(a); // issueUsableKey's own request: flushed, so what follows is newer

    await use(a, key.token, 'agent-on-a').expect(200);
    await new Promise((resolve) => setTimeout(resolve, 5)); // B's use is a later millisecond
    await use(b, key.token, 'agent-on-b').expect(200);
    await flush(b);
    await flush(a); // older: must not overwrite B's

    const view = await getKey(key.id);
    expect(view).toMatchObject({ lastUsedIp: '127.0.0.1', lastUsedUserAgent: 'agent-on-b' });
    const { rows } = await pool.query<{ ms: number }>(
      'SELECT (extract(epoch FROM last_used_at) * 1000)::float8 AS ms FROM key_last_use WHERE key_id = $1',
      [key.id],
    );
    expect(new Date(rows[0].ms).toISOString()).toBe(view.lastUsedAt);
    // The list shows the same.
    const listed = await request(a.url)
      .get('/admin/api-keys')
      .query({ tenantId: (view as { tenantId: string }).tenantId })
      .set(bearer(admin))
      .expect(200);
    expect(listed.body.items[0]).toMatchObject({ id: key.id, lastUsedAt: view.lastUsedAt, lastUsedUserAgent: 'agent-on-b' });
  });

  it('stores a user agent with quotes, backslashes, commas and braces exactly as sent, beside a plain one', async () => {
    const awkward = 'odd "agent", {v\\2} \\"x\\",NULL';
    const [key, other] = await Promise.all([
      issueUsableKey(a, { tenantId: uniqueTenant() }),
      issueUsableKey(a, { tenantId: uniqueTenant() }),
    ]);
    await use(a, key.token, awkward).expect(200);
    await use(a, other.token, 'plain/1').expect(200);
    await flush(a);
    expect(await getKey(key.id)).toMatchObject({ lastUsedIp: '127.0.0.1', lastUsedUserAgent: awkward });
    expect(await getKey(other.id)).toMatchObject({ lastUsedIp: '127.0.0.1', lastUsedUserAgent: 'plain/1' });
  });

  it("counts each outcome per day, zero-filled, in the key's usage and its tenant's", async () => {
    const tenantId = uniqueTenant();
    const key = await issueUsableKey(a, { tenantId, scopes: ['other:read'] });
    await use(a, key.token, 'counting').expect(200);
    await use(b, key.token, 'counting').expect(200);
    expectErrorShape(await use(a, key.token, 'counting', '/examples/reports'), 403);
    await request(a.url).post(`/admin/api-keys/${key.id}/revoke`).set(bearer(admin)).send({ reason: 'test' }).expect(200);
    expectErrorShape(await use(a, key.token, 'counting'), 401, 'AUTH.REVOKED');
    await Promise.all([flush(a), flush(b)]);

    const usage = await request(a.url).get(`/admin/api-keys/${key.publicId}/usage`).query({ days: 90 }).set(bearer(admin)).expect(200);
    expect(usage.body).toMatchObject({ keyId: key.id, days: 90 });
    expect(usage.body.items).toHaveLength(90);
    const today = new Date().toISOString().slice(0, 10);
    // issueUsableKey's request, the two uses: 3 valid.
    expect(usage.body.items[89]).toEqual({ day: today, valid: 3, insufficientScope: 1, expired: 0, revoked: 1 });
    expect((usage.body.items as { valid: number; revoked: number }[]).slice(0, 89).every((d) => d.valid === 0 && d.revoked === 0)).toBe(
      true,
    );
    // A revoked key's refusal is not a use: the last use stays the last accepted one.
    expect((await getKey(key.id)).lastUsedUserAgent).toBe('counting');

    const defaults = await request(a.url).get(`/admin/api-keys/${key.id}/usage`).set(bearer(admin)).expect(200);
    expect(defaults.body.items).toHaveLength(30);

    const tenant = await request(a.url).get('/admin/usage').query({ tenantId, days: 7 }).set(bearer(admin)).expect(200);
    expect(tenant.body).toMatchObject({ tenantId, days: 7 });
    expect(tenant.body.items[6]).toEqual({ day: today, valid: 3, insufficientScope: 1, expired: 0, revoked: 1 });
  });

  it("authorizes the usage as GET of the key: another tenant's key is a 404, its tenant a 403", async () => {
    const key = await issueUsableKey(a, { tenantId: uniqueTenant() });
    const other = await issueUsableKey(a, { tenantId: uniqueTenant(), scopes: ['keys:manage'] });
    expectErrorShape(await request(a.url).get(`/admin/api-keys/${key.id}/usage`).set(bearer(other.token)), 404, 'KEY.NOT_FOUND');
    const own = await request(a.url).get(`/admin/api-keys/${key.id}`).set(bearer(admin)).expect(200);
    expectErrorShape(
      await request(a.url).get('/admin/usage').query({ tenantId: own.body.tenantId }).set(bearer(other.token)),
      403,
      'TENANT.FORBIDDEN',
    );
    expectValidationError(await request(a.url).get(`/admin/api-keys/${key.id}/usage`).query({ days: 91 }).set(bearer(admin)), 'days');
    expectValidationError(await request(a.url).get(`/admin/api-keys/${key.id}/usage`).query({ days: 0 }).set(bearer(admin)), 'days');
  });

  it('filters on unusedSince (never used counts as unused) and sorts by lastUsedAt across pages', async () => {
    const tenantId = uniqueTenant();
    const never = (await request(a.url).post('/admin/api-keys').set(bearer(admin)).send({ tenantId, name: 'never used' }).expect(201))
      .body as { id: string };
    const older = await issueUsableKey(a, { tenantId, name: 'older' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const newer = await issueUsableKey(a, { tenantId, name: 'newer' });
    await flush(a);
    const newerUse = (await getKey(newer.id)).lastUsedAt as string;
    expect(Date.parse(newerUse)).toBeGreaterThan(Date.parse((await getKey(older.id)).lastUsedAt as string));

    const unused = await request(a.url).get('/admin/api-keys').query({ tenantId, unusedSince: newerUse }).set(bearer(admin)).expect(200);
    expect(ids(unused.body).sort()).toEqual([never.id, older.id].sort());

    const order: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await request(a.url)
        .get('/admin/api-keys')
        .query({ tenantId, sort: 'lastUsedAt', limit: 1, ...(cursor ? { cursor } : {}) })
        .set(bearer(admin))
        .expect(200);
      order.push(...ids(page.body));
      cursor = page.body.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(order).toEqual([newer.id, older.id, never.id]);

    // A createdAt cursor is not a lastUsedAt one.
    const byCreation = await request(a.url).get('/admin/api-keys').query({ tenantId, limit: 1 }).set(bearer(admin)).expect(200);
    expectValidationError(
      await request(a.url)
        .get('/admin/api-keys')
        .query({ tenantId, sort: 'lastUsedAt', cursor: byCreation.body.nextCursor })
        .set(bearer(admin)),
      'cursor',
    );
    expectValidationError(
      await request(a.url).get('/admin/api-keys').query({ unusedSince: 'yesterday' }).set(bearer(admin)),
      'unusedSince',
    );
    expectValidationError(await request(a.url).get('/admin/api-keys').query({ sort: 'name' }).set(bearer(admin)), 'sort');
  });

  it('flushes by itself within one USAGE_FLUSH_MS', async () => {
    const sut = await createTestApp({ USAGE_FLUSH_MS: '200' });
    try {
      const key = await issueUsableKey(sut, { tenantId: uniqueTenant() });
      // The documented bound: one interval, plus the statement's own time (allowed 1 s on a loaded machine).
      const stored = await until(
        'the timer to flush the use',
        async () => (await pool.query('SELECT 1 FROM key_last_use WHERE key_id = $1', [key.id])).rowCount === 1,
        { timeoutMs: 200 + 1000 },
      );
      expect(stored).toBe(true);
    } finally {
      await sut.close();
    }
  });

  it('records nothing with USAGE_FLUSH_MS=off', async () => {
    const sut = await createTestApp({ USAGE_FLUSH_MS: 'off' });
    let keyId: string;
    try {
      expect(sut.app.get(KeyVerifier).usage).toBeUndefined();
      keyId = (await issueUsableKey(sut, { tenantId: uniqueTenant() })).id;
    } finally {
      await sut.close(); // a shutdown would flush, were anything recorded
    }
    expect((await pool.query('SELECT 1 FROM key_last_use WHERE key_id = $1', [keyId])).rowCount).toBe(0);
  });
});

describe('key usage at SIGTERM', () => {
  it('the process a user starts writes its unflushed usage when signalled, and exits 0', async () => {
    const issuer = await createTestApp({ USAGE_FLUSH_MS: 'off' });
    const pool = testPool();
    const server = await startAppProcess({ USAGE_FLUSH_MS: '3600000' });
    try {
      const key = await issueUsableKey(issuer, { tenantId: uniqueTenant() });
      await request(server.url).get('/examples/whoami').set(bearer(key.token)).set('user-agent', 'before-sigterm').expect(200);
      expect((await pool.query('SELECT 1 FROM key_last_use WHERE key_id = $1', [key.id])).rowCount).toBe(0);

      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);

      const { rows } = await pool.query<{ user_agent: string; count: string }>(
        `SELECT u.user_agent, d.count::text FROM key_last_use u JOIN key_usage_daily d USING (key_id) WHERE key_id = $1 AND d.outcome = 'valid'`,
        [key.id],
      );
      expect(rows).toEqual([{ user_agent: 'before-sigterm', count: '1' }]);
    } finally {
      await server.stop();
      await issuer.close();
      await pool.end();
    }
  });
});
