import type { Pool } from 'pg';
import request from 'supertest';
import { ProjectionsService } from '../../src/event-store/index.js';
import type { TestApp } from '../support/test-app.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { uniqueTenant } from '../support/keys.js';
import { auditCaughtUp, openIsolatedApp, SETUP_TIMEOUT, TIMEOUT, walkAudit, type IsolatedApp } from '../audit/helpers.js';

/**
 * The platform-wide default policy, the merge with a tenant's, and the policy events in the audit
 * chain. The default applies to every tenant, so this runs in a database of its own.
 */
describe('platform default policy, merge and audit', () => {
  let isolated: IsolatedApp;
  let sut: TestApp;
  let pool: Pool;
  let token: string;

  const put = (path: string, body: Record<string, unknown>) => request(sut.url).put(path).set(bearer(token)).send(body);
  const get = (path: string) => request(sut.url).get(path).set(bearer(token));

  beforeAll(async () => {
    isolated = await openIsolatedApp();
    ({ sut, pool } = isolated);
    token = isolated.admin.token;
  }, SETUP_TIMEOUT);
  afterAll(async () => {
    await isolated.close();
  });

  it(
    "applies the default where a tenant sets nothing, the tenant's value where it does, per setting",
    async () => {
      const plain = uniqueTenant();
      const own = uniqueTenant();
      await put('/admin/policy', { requireExpiry: true, maxLifetimeDays: 90 }).expect(200);
      const tenant = (await put(`/admin/tenants/${own}/policy`, { requireExpiry: false }).expect(200)).body;
      expect(tenant.effective).toMatchObject({
        requireExpiry: { value: false, source: 'tenant' },
        maxLifetimeDays: { value: 90, source: 'platform' },
        allowedScopes: { value: null, source: null },
      });
      const platform = (await get('/admin/policy').expect(200)).body;
      expect(platform).toMatchObject({ tenantId: null, version: 1, policy: { requireExpiry: true, maxLifetimeDays: 90 } });

      const refused = await request(sut.url)
        .post('/admin/api-keys')
        .set(bearer(token))
        .send({ tenantId: plain, name: 'k', expiresInDays: 10, scopes: [] })
        .expect(201);
      expect(refused.body.tenantId).toBe(plain);
      const noExpiry = await request(sut.url).post('/admin/api-keys').set(bearer(token)).send({ tenantId: plain, name: 'k' });
      expectErrorShape(noExpiry, 422, 'POLICY.VIOLATION');
      expect(noExpiry.body.details).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ rule: 'requireExpiry' }),
          expect.objectContaining({ rule: 'maxLifetimeDays', limit: 90 }),
        ]),
      );
      // The tenant lifted requireExpiry but not the platform's maximum lifetime.
      await request(sut.url).post('/admin/api-keys').set(bearer(token)).send({ tenantId: own, name: 'k', expiresInDays: 90 }).expect(201);
      expectErrorShape(
        await request(sut.url).post('/admin/api-keys').set(bearer(token)).send({ tenantId: own, name: 'k', expiresInDays: 91 }),
        422,
        'POLICY.VIOLATION',
      );

      // A tenant default past the platform maximum makes an effective policy that contradicts itself.
      expectErrorShape(await put(`/admin/tenants/${own}/policy`, { requireExpiry: false, defaultLifetimeDays: 120 }), 400, 'VALIDATION');
      await put('/admin/policy', {}).expect(200);
    },
    TIMEOUT,
  );

  it(
    'puts each policy change in the audit chain with its tenant, actor and changes, and verify still passes',
    async () => {
      const tenantId = uniqueTenant();
      await put(`/admin/tenants/${tenantId}/policy`, { maxLifetimeDays: 30, allowedScopes: ['invoices:*'] }).expect(200);
      await put(`/admin/tenants/${tenantId}/policy`, { maxLifetimeDays: 60, allowedScopes: ['invoices:*'] })
        .set('user-agent', 'policy-test')
        .expect(200);
      await put('/admin/policy', { inactiveAfterDays: 90 }).expect(200);
      await auditCaughtUp(sut, pool);

      const tenantEntries = await walkAudit(sut, token, { tenantId, type: 'policy.changed', order: 'asc' });
      expect(tenantEntries.map((e) => [e.tenantId, e.actor.type, e.actor.id, e.keyId, e.changes])).toEqual([
        [
          tenantId,
          'api-key',
          isolated.admin.id,
          null,
          { maxLifetimeDays: { from: null, to: 30 }, allowedScopes: { from: null, to: ['invoices:*'] } },
        ],
        [tenantId, 'api-key', isolated.admin.id, null, { maxLifetimeDays: { from: 30, to: 60 } }],
      ]);
      expect(tenantEntries[1].userAgent).toBe('policy-test');
      expect(tenantEntries[0].actor.publicId).toBe(isolated.admin.publicId);
      const platform = (await walkAudit(sut, token, { type: 'policy.changed', order: 'asc' })).filter((e) => e.tenantId === null);
      expect(platform.at(-1)?.changes).toEqual({ inactiveAfterDays: { from: null, to: 90 } });

      const verified = (await get('/admin/audit/verify').expect(200)).body;
      expect(verified).toMatchObject({ ok: true });
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE stream_id LIKE 'policy-%'`);
      expect(verified.checkedEvents).toBeGreaterThanOrEqual(rows[0].n);
      await put('/admin/policy', {}).expect(200);
    },
    TIMEOUT,
  );

  it(
    'rebuilds tenant_policies from the policy events to the same rows',
    async () => {
      const tenantId = uniqueTenant();
      await put(`/admin/tenants/${tenantId}/policy`, { requireExpiry: true, maxGracePeriodSeconds: 60 }).expect(200);
      const rows = async (): Promise<unknown[]> =>
        (
          await pool.query<Record<string, unknown>>(
            'SELECT tenant_id, settings, version, updated_at FROM tenant_policies ORDER BY tenant_id',
          )
        ).rows;
      const before = await rows();
      expect(before.length).toBeGreaterThan(1);
      await sut.app.get(ProjectionsService).rebuild('tenant-policies');
      expect(await rows()).toEqual(before);
    },
    TIMEOUT,
  );
});
