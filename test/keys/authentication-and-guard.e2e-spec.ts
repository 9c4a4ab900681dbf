import type { Pool } from 'pg';
import request from 'supertest';
import { generateToken } from '../../src/token/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { expectNoSecretLeaks, Secrets } from './helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { type IssuedKey, issueUsableKey, uniqueTenant } from '../support/keys.js';

/** The same key with one character of its secret changed: the CRC32 checksum no longer matches. */
function withOneCharChanged(token: string): string {
  const i = token.length - 10;
  return token.slice(0, i) + (token[i] === 'a' ? 'b' : 'a') + token.slice(i + 1);
}

describe('authentication and the guard', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: IssuedKey;
  let manager: IssuedKey;
  let plain: IssuedKey;
  const secrets = new Secrets();

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(2);
    admin = await issueUsableKey(sut, { scopes: ['admin'] }, { secrets });
    manager = await issueUsableKey(sut, { scopes: ['keys:manage'] }, { secrets });
    plain = await issueUsableKey(sut, { scopes: ['invoices:read'], tags: { plan: 'pro', region: 'eu' } }, { secrets });
  });
  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  const adminRoutes = (id: string): [string, () => request.Test][] => [
    ['POST /admin/api-keys', () => request(sut.url).post('/admin/api-keys').send({ tenantId: uniqueTenant(), name: 'x' })],
    ['GET /admin/api-keys', () => request(sut.url).get('/admin/api-keys')],
    ['GET /admin/api-keys/:id', () => request(sut.url).get(`/admin/api-keys/${id}`)],
    ['PATCH /admin/api-keys/:id', () => request(sut.url).patch(`/admin/api-keys/${id}`).send({ name: 'x' })],
    ['POST /admin/api-keys/:id/rotate', () => request(sut.url).post(`/admin/api-keys/${id}/rotate`).send({})],
    ['POST /admin/api-keys/:id/expire', () => request(sut.url).post(`/admin/api-keys/${id}/expire`)],
    ['POST /admin/api-keys/:id/revoke', () => request(sut.url).post(`/admin/api-keys/${id}/revoke`).send({})],
    ['DELETE /admin/api-keys/:id', () => request(sut.url).delete(`/admin/api-keys/${id}`)],
    ['GET /admin/api-keys/:id/events', () => request(sut.url).get(`/admin/api-keys/${id}/events`)],
  ];

  describe('without a key', () => {
    it('answers 401 AUTH.MISSING_KEY with a WWW-Authenticate challenge on every protected route', async () => {
      for (const [route, send] of [
        ...adminRoutes(plain.id),
        ['GET /examples/whoami', () => request(sut.url).get('/examples/whoami')] as const,
      ]) {
        const res = await send();
        expect({ route, status: res.status }).toEqual({ route, status: 401 });
        expectErrorShape(res, 401, 'AUTH.MISSING_KEY');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
      }
    });

    it('treats an empty x-api-key, a bare "Bearer" and another scheme as no key', async () => {
      for (const headers of [
        { 'x-api-key': '' },
        { authorization: 'Bearer ' },
        { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      ]) {
        const res = await request(sut.url).get('/examples/whoami').set(headers);
        expectErrorShape(res, 401, 'AUTH.MISSING_KEY');
        expect(res.headers['www-authenticate']).toBeDefined();
      }
    });
  });

  describe('with a key that does not verify', () => {
    it.each([
      ['garbage', 'not-a-key'],
      ['a truncated key', () => plain.token.slice(0, -1)],
      ['a key with one character changed (checksum broken)', () => withOneCharChanged(plain.token)],
      ['a key with a space inside', () => `${plain.token.slice(0, 20)} ${plain.token.slice(21)}`],
      ['a very long string', 'kl_live_'.repeat(500)],
    ])('refuses %s with 401 AUTH.MALFORMED', async (_, value) => {
      const token = typeof value === 'function' ? value() : value;
      for (const headers of [bearer(token), { 'x-api-key': token }]) {
        const res = await request(sut.url).get('/examples/whoami').set(headers);
        expectErrorShape(res, 401, 'AUTH.MALFORMED');
        expect(res.headers['www-authenticate']).toBeDefined();
      }
    });

    it('refuses a well-formed key that was never issued with 401 AUTH.NOT_FOUND', async () => {
      const unknown = generateToken('kl_live').token;
      const res = await request(sut.url).get('/examples/whoami').set(bearer(unknown));
      expectErrorShape(res, 401, 'AUTH.NOT_FOUND');
      expect(res.headers['www-authenticate']).toBeDefined();
    });

    it('refuses a forged secret for a real publicId with 401 AUTH.NOT_FOUND', async () => {
      const forged = generateToken('kl_live', plain.publicId).token;
      expectErrorShape(await request(sut.url).get('/examples/whoami').set(bearer(forged)), 401, 'AUTH.NOT_FOUND');
    });

    it('refuses a revoked key with 401 AUTH.REVOKED and an expired one with 401 AUTH.EXPIRED', async () => {
      const revoked = await issueUsableKey(sut, { tenantId: uniqueTenant() }, { secrets });
      const expired = await issueUsableKey(sut, { tenantId: uniqueTenant() }, { secrets });
      await request(sut.url).delete(`/admin/api-keys/${revoked.id}`).set(bearer(admin.token)).expect(200);
      await request(sut.url).post(`/admin/api-keys/${expired.id}/expire`).set(bearer(admin.token)).expect(200);
      expectErrorShape(await request(sut.url).get('/examples/whoami').set(bearer(revoked.token)), 401, 'AUTH.REVOKED');
      expectErrorShape(await request(sut.url).get('/examples/whoami').set(bearer(expired.token)), 401, 'AUTH.EXPIRED');
    });
  });

  describe('with a valid key', () => {
    it('accepts it as "Authorization: Bearer" (any case) and as "x-api-key"', async () => {
      for (const headers of [bearer(plain.token), { authorization: `bearer ${plain.token}` }, { 'x-api-key': plain.token }]) {
        const res = await request(sut.url).get('/examples/whoami').set(headers).expect(200);
        expect(res.body.keyId).toBe(plain.id);
      }
    });

    it('returns the principal with exactly { keyId, publicId, tenantId, scopes, tags, expiresAt }', async () => {
      const expiresAt = new Date(Date.now() + 86_400_000);
      const tenantId = uniqueTenant();
      const key = await issueUsableKey(sut, { tenantId, scopes: ['reports:read'], tags: { plan: 'gold' }, expiresAt }, { secrets });
      const res = await request(sut.url).get('/examples/whoami').set(bearer(key.token)).expect(200);
      expect(res.body).toEqual({
        keyId: key.id,
        publicId: key.publicId,
        tenantId,
        scopes: ['reports:read'],
        tags: { plan: 'gold' },
        expiresAt: expiresAt.toISOString(),
      });
    });

    it('injects the key-bound tags: headers and query parameters named tags cannot change them', async () => {
      const res = await request(sut.url)
        .get('/examples/whoami')
        .query({ tags: JSON.stringify({ plan: 'enterprise' }), 'tags[plan]': 'enterprise', 'x-tags': 'plan=enterprise' })
        .set(bearer(plain.token))
        .set('tags', JSON.stringify({ plan: 'enterprise', admin: 'true' }))
        .set('x-tags', 'plan=enterprise')
        .set('x-tenant-id', 'someone-else')
        .expect(200);
      expect(res.body.tags).toEqual({ plan: 'pro', region: 'eu' });
      expect(res.body.scopes).toEqual(['invoices:read']);

      const reports = await request(sut.url)
        .get('/examples/reports')
        .query({ tags: 'plan=enterprise' })
        .set(bearer((await issueUsableKey(sut, { scopes: ['reports:read'], tags: { plan: 'basic' } }, { secrets })).token))
        .set('x-tags', 'plan=enterprise')
        .expect(200);
      expect(reports.body.tags).toEqual({ plan: 'basic' });
    });

    it('answers 403 AUTH.INSUFFICIENT_SCOPE on every admin route for a key without keys:manage', async () => {
      for (const [route, send] of adminRoutes(plain.id)) {
        const res = await send().set(bearer(plain.token));
        expect({ route, status: res.status }).toEqual({ route, status: 403 });
        expectErrorShape(res, 403, 'AUTH.INSUFFICIENT_SCOPE');
        expect(res.body.message).toContain('keys:manage');
      }
    });

    it('lets keys:manage and admin keys into the admin routes', async () => {
      await request(sut.url).get('/admin/api-keys').set(bearer(manager.token)).expect(200);
      await request(sut.url).get('/admin/api-keys').set(bearer(admin.token)).expect(200);
    });

    it('requires reports:read on /examples/reports: 403 without it, 200 with it (or with admin)', async () => {
      expectErrorShape(await request(sut.url).get('/examples/reports').set(bearer(plain.token)), 403, 'AUTH.INSUFFICIENT_SCOPE');
      expectErrorShape(await request(sut.url).get('/examples/reports').set(bearer(manager.token)), 403, 'AUTH.INSUFFICIENT_SCOPE');
      const tenantId = uniqueTenant();
      const reader = await issueUsableKey(sut, { tenantId, scopes: ['reports:read'], tags: { plan: 'pro' } }, { secrets });
      const res = await request(sut.url).get('/examples/reports').set(bearer(reader.token)).expect(200);
      expect(res.body).toEqual({ tenantId, tags: { plan: 'pro' }, reports: [`${tenantId}-monthly`, `${tenantId}-usage`] });
      await request(sut.url).get('/examples/reports').set(bearer(admin.token)).expect(200);
      const wildcard = await issueUsableKey(sut, { scopes: ['reports:*'] }, { secrets });
      await request(sut.url).get('/examples/reports').set(bearer(wildcard.token)).expect(200);
    });
  });

  it('leaks no plaintext key into logs, events or the read model', async () => {
    await expectNoSecretLeaks(sut, pool, secrets);
  });
});
