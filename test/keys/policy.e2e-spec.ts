import type { Pool } from 'pg';
import request from 'supertest';
import type { PolicyView, PolicyViolations } from '../../src/keys/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { bearer, expectErrorShape, expectValidationError } from '../support/http.js';
import { issueUsableKey, uniqueTenant, type IssuedKey } from '../support/keys.js';
import { countTenantEvents, createKey, Secrets } from './helpers.js';

const DAY_MS = 86_400_000;
const inDays = (days: number): string => new Date(Date.now() + days * DAY_MS).toISOString();

/**
 * Tenant key policies (issue #18): each rule refuses a create, rotate or update that breaks it
 * with 422 POLICY.VIOLATION, naming the rule and its limit, and writes nothing; keys stored before
 * a rule are reported, not changed. Every tenant here is the test's own; the platform default is
 * tested in a database of its own (platform-policy.e2e-spec.ts), since it applies to every tenant.
 */
describe('tenant key policy', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: IssuedKey;
  const secrets = new Secrets();

  const as = (token: string) => ({
    get: (path: string) => request(sut.url).get(path).set(bearer(token)),
    put: (path: string, body: Record<string, unknown>) => request(sut.url).put(path).set(bearer(token)).send(body),
    post: (path: string, body: Record<string, unknown>) => request(sut.url).post(path).set(bearer(token)).send(body),
    patch: (path: string, body: Record<string, unknown>) => request(sut.url).patch(path).set(bearer(token)).send(body),
  });
  const setPolicy = async (tenantId: string, policy: Record<string, unknown>): Promise<PolicyView & { violations: PolicyViolations }> =>
    (await as(admin.token).put(`/admin/tenants/${tenantId}/policy`, policy).expect(200)).body as PolicyView & {
      violations: PolicyViolations;
    };
  const key = (tenantId: string, body: Record<string, unknown> = {}) =>
    createKey(sut, secrets, admin.token, { tenantId, name: 'k', ...body });

  /** 422 POLICY.VIOLATION naming `rule` with `limit`, and no event written for the tenant by it. */
  const expectViolation = async (send: () => Promise<request.Response>, tenantId: string, rule: string, limit: unknown) => {
    const before = await countTenantEvents(pool, tenantId);
    const res = await send();
    expectErrorShape(res, 422, 'POLICY.VIOLATION');
    expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ rule, limit })]));
    expect(res.body.message).toContain(rule);
    expect(await countTenantEvents(pool, tenantId)).toBe(before);
    return res;
  };

  beforeAll(async () => {
    sut = await createTestApp({ EXPIRY_SWEEP_ENABLED: 'false' });
    pool = testPool(2);
    admin = await issueUsableKey(sut, { scopes: ['admin'] }, { secrets });
  });
  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  it('has no rule until one is set, and shows each effective value with where it comes from', async () => {
    const tenantId = uniqueTenant();
    const empty = await as(admin.token).get(`/admin/tenants/${tenantId}/policy`).expect(200);
    expect(empty.headers.etag).toBe('"0"');
    expect(empty.body).toMatchObject({ tenantId, version: 0, policy: { maxLifetimeDays: null, inactiveAfterDays: null } });
    expect(empty.body.effective.maxLifetimeDays).toEqual({ value: null, source: null });

    const set = await setPolicy(tenantId, { maxLifetimeDays: 90, defaultLifetimeDays: 30, allowedScopes: ['invoices:*'] });
    expect(set).toMatchObject({
      tenantId,
      version: 1,
      policy: { maxLifetimeDays: 90, defaultLifetimeDays: 30, allowedScopes: ['invoices:*'], requireExpiry: null },
    });
    expect(set.effective.maxLifetimeDays).toEqual({ value: 90, source: 'tenant' });
    expect(set.effective.requireExpiry).toEqual({ value: null, source: null });
    expect((await as(admin.token).get(`/admin/tenants/${tenantId}/policy`).expect(200)).body).toEqual({ ...set, violations: undefined });
  });

  it("lets a tenant manager read its own policy, not set it, and not read another tenant's", async () => {
    const tenantId = uniqueTenant();
    const manager = await issueUsableKey(sut, { tenantId, scopes: ['keys:manage', 'invoices:read'] }, { secrets });
    await setPolicy(tenantId, { requireExpiry: true });
    expect((await as(manager.token).get(`/admin/tenants/${tenantId}/policy`).expect(200)).body.policy.requireExpiry).toBe(true);

    const before = await countTenantEvents(pool, tenantId);
    expectErrorShape(await as(manager.token).put(`/admin/tenants/${tenantId}/policy`, { requireExpiry: false }), 403, 'POLICY.FORBIDDEN');
    expectErrorShape(await as(manager.token).put('/admin/policy', {}), 403, 'POLICY.FORBIDDEN');
    expect(await countTenantEvents(pool, tenantId)).toBe(before);
    expectErrorShape(await as(manager.token).get(`/admin/tenants/${uniqueTenant()}/policy`), 403, 'TENANT.FORBIDDEN');
  });

  it('refuses a policy whose default lifetime exceeds its maximum, and bad values, with 400 and no event', async () => {
    const tenantId = uniqueTenant();
    expectValidationError(
      await as(admin.token).put(`/admin/tenants/${tenantId}/policy`, { maxLifetimeDays: 30, defaultLifetimeDays: 31 }),
      'defaultLifetimeDays',
    );
    expectValidationError(await as(admin.token).put(`/admin/tenants/${tenantId}/policy`, { maxLifetimeDays: 0 }), 'maxLifetimeDays');
    expectValidationError(
      await as(admin.token).put(`/admin/tenants/${tenantId}/policy`, { allowedScopes: ['Not A Scope'] }),
      'allowedScopes',
    );
    expectValidationError(await as(admin.token).put(`/admin/tenants/${tenantId}/policy`, { maxLifetimeDays: 30, surprise: 1 }));
    expectValidationError(await as(admin.token).put('/admin/tenants/not%20a%20tenant/policy', {}), 'tenantId');
    expectValidationError(await as(admin.token).get('/admin/tenants/not%20a%20tenant/policy'), 'tenantId');
    expectValidationError(await as(admin.token).get('/admin/tenants/not%20a%20tenant/policy/violations'), 'tenantId');
    expect(await countTenantEvents(pool, tenantId)).toBe(0);
  });

  it('refuses a stale If-Match with 412, and a change that changes nothing writes no event', async () => {
    const tenantId = uniqueTenant();
    await setPolicy(tenantId, { requireExpiry: true });
    const stale = await request(sut.url)
      .put(`/admin/tenants/${tenantId}/policy`)
      .set(bearer(admin.token))
      .set('If-Match', '"0"')
      .send({ requireExpiry: false });
    expectErrorShape(stale, 412, 'POLICY.VERSION_MISMATCH');
    const same = await request(sut.url)
      .put(`/admin/tenants/${tenantId}/policy`)
      .set(bearer(admin.token))
      .set('If-Match', '"1"')
      .send({ requireExpiry: true })
      .expect(200);
    expect(same.body.version).toBe(1);
    expect(await countTenantEvents(pool, tenantId)).toBe(1);
  });

  describe('requireExpiry', () => {
    it('refuses a create without an expiry, a rotate and an update that remove it', async () => {
      const tenantId = uniqueTenant();
      const k = await key(tenantId, { expiresInDays: 10 });
      await setPolicy(tenantId, { requireExpiry: true });
      await expectViolation(
        () => as(admin.token).post('/admin/api-keys', { tenantId, name: 'no expiry' }),
        tenantId,
        'requireExpiry',
        true,
      );
      await expectViolation(
        () => as(admin.token).post(`/admin/api-keys/${k.id}/rotate`, { expiresAt: null }),
        tenantId,
        'requireExpiry',
        true,
      );
      await expectViolation(() => as(admin.token).patch(`/admin/api-keys/${k.id}`, { expiresAt: null }), tenantId, 'requireExpiry', true);
      // Within the rule, all three work.
      await as(admin.token).post('/admin/api-keys', { tenantId, name: 'with expiry', expiresInDays: 5 }).expect(201);
      await as(admin.token).post(`/admin/api-keys/${k.id}/rotate`, {}).expect(200);
      await as(admin.token)
        .patch(`/admin/api-keys/${k.id}`, { expiresAt: inDays(3) })
        .expect(200);
    });
  });

  describe('maxLifetimeDays', () => {
    it('refuses a create, a rotate and an update whose expiry lies past the limit, naming the limit', async () => {
      const tenantId = uniqueTenant();
      const k = await key(tenantId, { expiresInDays: 10 });
      await setPolicy(tenantId, { maxLifetimeDays: 30 });
      const res = await expectViolation(
        () => as(admin.token).post('/admin/api-keys', { tenantId, name: 'long', expiresInDays: 31 }),
        tenantId,
        'maxLifetimeDays',
        30,
      );
      expect(res.body.details[0]).toMatchObject({ field: 'expiresAt', rule: 'maxLifetimeDays', limit: 30 });
      expect(res.body.details[0].got).toBeCloseTo(31, 1);
      // No expiry at all is an unbounded lifetime.
      await expectViolation(() => as(admin.token).post('/admin/api-keys', { tenantId, name: 'forever' }), tenantId, 'maxLifetimeDays', 30);
      await expectViolation(
        () => as(admin.token).post(`/admin/api-keys/${k.id}/rotate`, { expiresAt: inDays(31) }),
        tenantId,
        'maxLifetimeDays',
        30,
      );
      await expectViolation(
        () => as(admin.token).patch(`/admin/api-keys/${k.id}`, { expiresAt: inDays(31) }),
        tenantId,
        'maxLifetimeDays',
        30,
      );
      await as(admin.token).post('/admin/api-keys', { tenantId, name: 'short', expiresInDays: 30 }).expect(201);
      await as(admin.token)
        .post(`/admin/api-keys/${k.id}/rotate`, { expiresAt: inDays(29) })
        .expect(200);
      await as(admin.token)
        .patch(`/admin/api-keys/${k.id}`, { expiresAt: inDays(20) })
        .expect(200);
    });
  });

  describe('defaultLifetimeDays', () => {
    it('gives a create without an expiry the default lifetime, and keeps an explicit one', async () => {
      const tenantId = uniqueTenant();
      await setPolicy(tenantId, { defaultLifetimeDays: 7, maxLifetimeDays: 30 });
      const before = Date.now();
      const defaulted = await key(tenantId);
      const expiresAt = Date.parse(defaulted.body.expiresAt as string);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 7 * DAY_MS);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 7 * DAY_MS);
      const explicit = await key(tenantId, { expiresInDays: 2 });
      expect(Date.parse(explicit.body.expiresAt as string)).toBeLessThan(before + 3 * DAY_MS);
    });
  });

  describe('maxGracePeriodSeconds', () => {
    it('refuses a rotation with a longer grace period (create and update set no grace period)', async () => {
      const tenantId = uniqueTenant();
      const k = await key(tenantId);
      await setPolicy(tenantId, { maxGracePeriodSeconds: 60 });
      await expectViolation(
        () => as(admin.token).post(`/admin/api-keys/${k.id}/rotate`, { gracePeriodSeconds: 61 }),
        tenantId,
        'maxGracePeriodSeconds',
        60,
      );
      await as(admin.token).post(`/admin/api-keys/${k.id}/rotate`, { gracePeriodSeconds: 60 }).expect(200);
    });
  });

  describe('allowedScopes', () => {
    it('refuses a create and an update granting a scope outside the list, and a rotate of a key holding one', async () => {
      const tenantId = uniqueTenant();
      const older = await key(tenantId, { scopes: ['orders:read'] });
      const k = await key(tenantId, { scopes: ['invoices:read'] });
      await setPolicy(tenantId, { allowedScopes: ['invoices:*'] });
      const res = await expectViolation(
        () => as(admin.token).post('/admin/api-keys', { tenantId, name: 'x', scopes: ['invoices:read', 'orders:read'] }),
        tenantId,
        'allowedScopes',
        ['invoices:*'],
      );
      expect(res.body.details[0]).toMatchObject({ field: 'scopes', got: ['orders:read'] });
      await expectViolation(
        () => as(admin.token).patch(`/admin/api-keys/${k.id}`, { scopes: ['invoices:read', 'orders:read'] }),
        tenantId,
        'allowedScopes',
        ['invoices:*'],
      );
      await expectViolation(() => as(admin.token).post(`/admin/api-keys/${older.id}/rotate`, {}), tenantId, 'allowedScopes', [
        'invoices:*',
      ]);
      // Within the list, and changes that add no scope to a key stored before the rule, work.
      await as(admin.token)
        .post('/admin/api-keys', { tenantId, name: 'y', scopes: ['invoices:write'] })
        .expect(201);
      await as(admin.token)
        .patch(`/admin/api-keys/${k.id}`, { scopes: ['invoices:read', 'invoices:write'] })
        .expect(200);
      await as(admin.token).patch(`/admin/api-keys/${older.id}`, { name: 'renamed' }).expect(200);
    });
  });

  it('reports the keys a new policy breaks, and changes none of them', async () => {
    const tenantId = uniqueTenant();
    const forever = await key(tenantId, { scopes: ['orders:read'] });
    const fine = await key(tenantId, { scopes: ['invoices:read'], expiresInDays: 10 });
    const set = await setPolicy(tenantId, { requireExpiry: true, allowedScopes: ['invoices:*'] });
    expect(set.violations).toMatchObject({ total: 1, truncated: false });
    expect(set.violations.keys).toEqual([
      {
        id: forever.id,
        publicId: forever.publicId,
        tenantId,
        name: 'k',
        breaches: [
          { rule: 'requireExpiry', limit: true, got: null },
          { rule: 'allowedScopes', limit: ['invoices:*'], got: ['orders:read'] },
        ],
      },
    ]);
    expect((await as(admin.token).get(`/admin/tenants/${tenantId}/policy/violations`).expect(200)).body).toEqual(set.violations);
    for (const k of [forever, fine]) {
      const now = (await as(admin.token).get(`/admin/api-keys/${k.id}`).expect(200)).body;
      expect(now).toMatchObject({ status: 'active', version: 1 });
    }
    expect((await as(admin.token).get(`/admin/api-keys/${forever.id}`).expect(200)).body.expiresAt).toBeNull();
  });
});
