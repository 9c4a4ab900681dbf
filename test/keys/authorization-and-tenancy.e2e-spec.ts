import type { Pool } from 'pg';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { countStreamEvents, countTenantEvents, createKey, expectNoSecretLeaks, Secrets } from './helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { type IssuedKey, issueUsableKey, uniqueTenant } from '../support/keys.js';

interface ListedKey {
  id: string;
  tenantId: string;
}

describe('tenancy and scope grants', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: IssuedKey;
  /** A tenant admin of tenant A: keys:manage (and reports:read), no admin. */
  let managerA: IssuedKey;
  let keyA: IssuedKey;
  let keyB: IssuedKey;
  const tenantA = uniqueTenant();
  const tenantB = uniqueTenant();
  const secrets = new Secrets();

  const asManager = (method: 'get' | 'post' | 'patch' | 'delete', path: string) =>
    request(sut.url)[method](path).set(bearer(managerA.token));

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(2);
    admin = await issueUsableKey(sut, { tenantId: uniqueTenant(), scopes: ['admin'] }, { secrets });
    managerA = await issueUsableKey(sut, { tenantId: tenantA, scopes: ['keys:manage', 'reports:read'] }, { secrets });
    keyA = await createKey(sut, secrets, admin.token, { tenantId: tenantA, name: 'a', scopes: ['reports:read'] });
    keyB = await createKey(sut, secrets, admin.token, { tenantId: tenantB, name: 'b', scopes: ['reports:read'] });
  });
  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  describe('a keys:manage key of tenant A', () => {
    it('creates keys in its own tenant, with scopes it holds', async () => {
      const res = await asManager('post', '/admin/api-keys')
        .send({ tenantId: tenantA, name: 'own', scopes: ['reports:read', 'keys:manage'] })
        .expect(201);
      secrets.add(res.body.key);
      expect(res.body).toMatchObject({ tenantId: tenantA, scopes: ['keys:manage', 'reports:read'] });
    });

    it('cannot create a key in tenant B: 403, no event', async () => {
      const tenantC = uniqueTenant();
      for (const tenantId of [tenantB, tenantC]) {
        const before = await countTenantEvents(pool, tenantId);
        const res = await asManager('post', '/admin/api-keys').send({ tenantId, name: 'intruder' });
        expectErrorShape(res, 403, 'TENANT.FORBIDDEN');
        expect(await countTenantEvents(pool, tenantId)).toBe(before);
      }
    });

    it.each(['get', 'patch', 'rotate', 'expire', 'revoke', 'delete', 'events'])(
      'gets 404 (not 403) for %s of a tenant-B key, by keyId and by publicId, and changes nothing',
      async (action) => {
        for (const id of [keyB.id, keyB.publicId]) {
          const send = {
            get: () => asManager('get', `/admin/api-keys/${id}`),
            patch: () => asManager('patch', `/admin/api-keys/${id}`).send({ name: 'hijacked' }),
            rotate: () => asManager('post', `/admin/api-keys/${id}/rotate`).send({ gracePeriodSeconds: 0 }),
            expire: () => asManager('post', `/admin/api-keys/${id}/expire`),
            revoke: () => asManager('post', `/admin/api-keys/${id}/revoke`).send({ reason: 'hijacked' }),
            delete: () => asManager('delete', `/admin/api-keys/${id}`),
            events: () => asManager('get', `/admin/api-keys/${id}/events`),
          }[action]!;
          const res = await send();
          expectErrorShape(res, 404, 'KEY.NOT_FOUND');
          // Exactly what an unknown key gets: nothing tells the caller the key exists.
          const unknown = await asManager('get', '/admin/api-keys/00000000-0000-4000-8000-000000000000');
          expect((res.body.message as string).replace(id, '<id>')).toBe(
            (unknown.body.message as string).replace('00000000-0000-4000-8000-000000000000', '<id>'),
          );
        }
        expect(await countStreamEvents(pool, keyB.id)).toBe(1);
        const b = await request(sut.url).get(`/admin/api-keys/${keyB.id}`).set(bearer(admin.token)).expect(200);
        expect(b.body).toMatchObject({ name: 'b', status: 'active', version: 1 });
      },
    );

    it('manages keys of its own tenant', async () => {
      await asManager('get', `/admin/api-keys/${keyA.publicId}`).expect(200);
      await asManager('patch', `/admin/api-keys/${keyA.id}`)
        .send({ tags: { team: 'a' } })
        .expect(200);
      await asManager('get', `/admin/api-keys/${keyA.id}/events`).expect(200);
    });

    it('lists only its own tenant, and gets 403 for ?tenantId=B', async () => {
      const own = await asManager('get', '/admin/api-keys').query({ status: 'all', limit: 200 }).expect(200);
      const items = own.body.items as ListedKey[];
      expect(items.map((k) => k.id)).toContain(keyA.id);
      expect(items.every((k) => k.tenantId === tenantA)).toBe(true);
      expect((await asManager('get', '/admin/api-keys').query({ tenantId: tenantA }).expect(200)).body.items).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: keyA.id })]),
      );
      for (const status of ['active', 'all']) {
        const res = await asManager('get', '/admin/api-keys').query({ tenantId: tenantB, status });
        expectErrorShape(res, 403, 'TENANT.FORBIDDEN');
        expect(res.text).not.toContain(keyB.id);
      }
    });

    it.each([['admin'], ['billing:write'], ['reports:read', 'billing:write'], ['keys:*'], ['reports:read:all']])(
      'cannot grant a scope it does not hold (%s): 403 KEY.SCOPE_NOT_GRANTABLE, no event',
      async (...scopes) => {
        const tenantId = tenantA;
        const before = await countTenantEvents(pool, tenantId);
        const res = await asManager('post', '/admin/api-keys').send({ tenantId, name: 'escalation', scopes });
        expectErrorShape(res, 403, 'KEY.SCOPE_NOT_GRANTABLE');
        expect(res.body.details).toEqual([{ field: 'scopes', message: expect.any(String) }]);
        expect(await countTenantEvents(pool, tenantId)).toBe(before);
      },
    );

    it('cannot add a scope it does not hold with PATCH: 403, no event; removing scopes is allowed', async () => {
      const res = await asManager('patch', `/admin/api-keys/${keyA.id}`).send({ scopes: ['reports:read', 'admin'] });
      expectErrorShape(res, 403, 'KEY.SCOPE_NOT_GRANTABLE');
      const before = await countStreamEvents(pool, keyA.id);
      expectErrorShape(
        await asManager('patch', `/admin/api-keys/${keyA.id}`).send({ scopes: ['billing:write'] }),
        403,
        'KEY.SCOPE_NOT_GRANTABLE',
      );
      expect(await countStreamEvents(pool, keyA.id)).toBe(before);
      await asManager('patch', `/admin/api-keys/${keyA.id}`).send({ scopes: [] }).expect(200);
      expect(await countStreamEvents(pool, keyA.id)).toBe(before + 1);
    });
  });

  describe('an admin key', () => {
    it('sees and changes keys of every tenant', async () => {
      for (const key of [keyA, keyB, managerA]) {
        await request(sut.url).get(`/admin/api-keys/${key.publicId}`).set(bearer(admin.token)).expect(200);
        await request(sut.url).get(`/admin/api-keys/${key.id}/events`).set(bearer(admin.token)).expect(200);
      }
      for (const [tenantId, key] of [
        [tenantA, keyA],
        [tenantB, keyB],
      ] as const) {
        const res = await request(sut.url).get('/admin/api-keys').query({ tenantId }).set(bearer(admin.token)).expect(200);
        expect((res.body.items as ListedKey[]).map((k) => k.id)).toContain(key.id);
      }
      await request(sut.url)
        .patch(`/admin/api-keys/${keyB.id}`)
        .set(bearer(admin.token))
        .send({ tags: { seen: 'by-admin' } })
        .expect(200);
    });

    it('lists keys of several tenants without a tenantId filter', async () => {
      const found = new Set<string>();
      let cursor: string | null = null;
      for (let page = 0; page < 100 && !(found.has(keyA.id) && found.has(keyB.id)); page++) {
        const res: request.Response = await request(sut.url)
          .get('/admin/api-keys')
          .query({ status: 'all', limit: 200, ...(cursor ? { cursor } : {}) })
          .set(bearer(admin.token))
          .expect(200);
        for (const item of res.body.items as ListedKey[]) found.add(item.id);
        cursor = res.body.nextCursor as string | null;
        if (cursor === null) break;
      }
      expect(found.has(keyA.id) && found.has(keyB.id)).toBe(true);
    });

    it('creates keys in any tenant and grants any scope', async () => {
      const res = await request(sut.url)
        .post('/admin/api-keys')
        .set(bearer(admin.token))
        .send({ tenantId: tenantB, name: 'b admin', scopes: ['admin', 'billing:write'] })
        .expect(201);
      secrets.add(res.body.key);
    });
  });

  it('leaks no plaintext key into logs, events or the read model', async () => {
    await expectNoSecretLeaks(sut, pool, secrets);
  });
});
