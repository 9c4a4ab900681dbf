import request from 'supertest';
import { generateToken } from '../../src/token/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { whoami } from './guard-helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { issueUsableKey, uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** POST /v1/keys/verify: for services that are not NestJS, verification from the instance's memory. */
describe('POST /v1/keys/verify', () => {
  let sut: TestApp;
  let admin: string;
  /** A platform-wide verifier: keys:verify and keys:verify:all-tenants. */
  let caller: string;

  beforeAll(async () => {
    sut = await createTestApp();
    admin = (await issueUsableKey(sut, { scopes: ['admin'] })).token;
    caller = (await issueUsableKey(sut, { scopes: ['keys:verify', 'keys:verify:all-tenants'] })).token;
  });
  afterAll(() => sut?.close());

  const verify = (body: unknown, as = caller) =>
    request(sut.url)
      .post('/v1/keys/verify')
      .set(bearer(as))
      .send(body as object);

  describe('who may call it', () => {
    it('answers 401 AUTH.MISSING_KEY with WWW-Authenticate to a caller without a key', async () => {
      const res = await request(sut.url).post('/v1/keys/verify').send({ key: 'anything' });
      expectErrorShape(res, 401, 'AUTH.MISSING_KEY');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="keyledger"');
    });

    it('answers 401 to a caller with an unknown key', async () => {
      const res = await verify({ key: 'anything' }, generateToken().token);
      expectErrorShape(res, 401, 'AUTH.NOT_FOUND');
    });

    it('answers 403 AUTH.INSUFFICIENT_SCOPE to a caller without keys:verify', async () => {
      const other = await issueUsableKey(sut, { scopes: ['reports:read'] });
      const res = await verify({ key: other.token }, other.token);
      expectErrorShape(res, 403, 'AUTH.INSUFFICIENT_SCOPE');
      expect(res.body.message).toContain('keys:verify');
    });

    it('accepts an admin key as a caller (admin covers keys:verify)', async () => {
      const res = await verify({ key: caller }, admin).expect(200);
      expect(res.body.code).toBe('VALID');
    });
  });

  describe('the answer for each kind of key', () => {
    it('VALID, with keyId, publicId, tenantId, scopes, tags and expiresAt', async () => {
      const tenantId = uniqueTenant();
      const expiresAt = new Date(Date.now() + 86_400_000);
      const key = await issueUsableKey(sut, {
        tenantId,
        scopes: ['invoices:read', 'reports:read'],
        tags: { plan: 'pro', region: 'eu' },
        expiresAt,
      });

      const res = await verify({ key: key.token }).expect(200);

      expect(res.body).toEqual({
        valid: true,
        code: 'VALID',
        keyId: key.id,
        publicId: key.publicId,
        tenantId,
        scopes: ['invoices:read', 'reports:read'],
        tags: { plan: 'pro', region: 'eu' },
        expiresAt: expect.stringMatching(ISO),
      });
      expect(Date.parse(res.body.expiresAt as string)).toBe(expiresAt.getTime());
    });

    it('VALID with expiresAt null for a key that never expires, and when every scope asked is held', async () => {
      const key = await issueUsableKey(sut, { scopes: ['invoices:*'] });
      const res = await verify({ key: key.token, scopes: ['invoices:read', 'invoices:write'] }).expect(200);
      expect(res.body).toMatchObject({ valid: true, code: 'VALID', keyId: key.id, expiresAt: null, tags: {} });
    });

    it('INSUFFICIENT_SCOPE when the key lacks a scope asked for', async () => {
      const key = await issueUsableKey(sut, { scopes: ['invoices:read'] });
      const res = await verify({ key: key.token, scopes: ['invoices:read', 'invoices:write'] }).expect(200);
      expect(res.body).toEqual({ valid: false, code: 'INSUFFICIENT_SCOPE' });
    });

    it('NOT_FOUND for a well-formed key that was never issued, and for a wrong secret with a real publicId', async () => {
      const key = await issueUsableKey(sut);
      for (const candidate of [generateToken().token, generateToken('kl_live', key.publicId).token]) {
        const res = await verify({ key: candidate }).expect(200);
        expect(res.body).toEqual({ valid: false, code: 'NOT_FOUND' });
      }
    });

    it('MALFORMED for a string that is not a keyledger key, or a key with one character changed', async () => {
      const { token } = generateToken();
      const typo = token.slice(0, 30) + (token[30] === 'a' ? 'b' : 'a') + token.slice(31); // inside the secret: only the checksum can tell
      for (const candidate of ['not-a-key', '', typo, `${token} `, token.slice(0, -1)]) {
        const res = await verify({ key: candidate }).expect(200);
        expect({ candidate, body: res.body }).toEqual({ candidate, body: { valid: false, code: 'MALFORMED' } });
      }
    });

    it('EXPIRED for an expired key and REVOKED for a revoked one', async () => {
      const [expired, revoked] = await Promise.all([issueUsableKey(sut), issueUsableKey(sut)]);
      await request(sut.url).post(`/admin/api-keys/${expired.id}/expire`).set(bearer(admin)).expect(200);
      await request(sut.url).post(`/admin/api-keys/${revoked.id}/revoke`).set(bearer(admin)).send({}).expect(200);

      const expiredRes = await until(
        'EXPIRED',
        () => verify({ key: expired.token }),
        (r) => r.body.code !== 'VALID',
      );
      const revokedRes = await until(
        'REVOKED',
        () => verify({ key: revoked.token }),
        (r) => r.body.code !== 'VALID',
      );
      expect(expiredRes.status).toBe(200);
      expect(expiredRes.body).toEqual({ valid: false, code: 'EXPIRED' });
      expect(revokedRes.status).toBe(200);
      expect(revokedRes.body).toEqual({ valid: false, code: 'REVOKED' });
    });
  });

  describe('bad bodies', () => {
    const cases: [string, unknown, string[]][] = [
      ['no key', {}, ['key']],
      ['a key that is not a string', { key: 42 }, ['key']],
      ['a key over 512 characters', { key: 'k'.repeat(513) }, ['key']],
      ['scopes that are not an array', { key: 'x', scopes: 'invoices:read' }, ['scopes']],
      ['scopes that are not strings', { key: 'x', scopes: [1, 2] }, ['scopes']],
      ['more than 64 scopes', { key: 'x', scopes: Array.from({ length: 65 }, (_, i) => `s${i}`) }, ['scopes']],
      ['an unknown field', { key: 'x', tenantId: 'acme' }, ['tenantId']],
    ];

    it.each(cases)('answers 400 VALIDATION naming the field for %s', async (_, body, fields) => {
      const res = await verify(body);
      expectErrorShape(res, 400, 'VALIDATION');
      const details = res.body.details as { field: string; message: string }[];
      for (const field of fields) expect(details.map((d) => d.field)).toContain(field);
      for (const d of details) expect(d.message.length).toBeGreaterThan(0);
    });

    it('answers 400 to a body that is not JSON', async () => {
      const res = await request(sut.url)
        .post('/v1/keys/verify')
        .set(bearer(caller))
        .set('content-type', 'application/json')
        .send('{"key": ');
      expectErrorShape(res, 400);
    });
  });

  describe('tenancy', () => {
    it("a tenant's verifier gets VALID only for its own tenant's keys; any other key answers as an unknown one", async () => {
      const tenant = uniqueTenant();
      const own = await issueUsableKey(sut, { tenantId: tenant, scopes: ['reports:read'] });
      const tenantVerifier = (await issueUsableKey(sut, { tenantId: tenant, scopes: ['keys:verify'] })).token;
      const other = await issueUsableKey(sut, { scopes: ['reports:read'], tags: { secret: 'other tenant' } });
      const otherRevoked = await issueUsableKey(sut, {});
      await request(sut.url).post(`/admin/api-keys/${otherRevoked.id}/revoke`).set(bearer(admin)).send({}).expect(200);

      expect((await verify({ key: own.token }, tenantVerifier).expect(200)).body).toMatchObject({
        valid: true,
        code: 'VALID',
        tenantId: tenant,
      });
      const unknown = (await verify({ key: generateToken().token }, tenantVerifier).expect(200)).body;
      for (const key of [other.token, otherRevoked.token]) {
        const res = await verify({ key }, tenantVerifier).expect(200);
        expect(res.body).toEqual(unknown);
        expect(res.body).toEqual({ valid: false, code: 'NOT_FOUND' });
      }
      // A platform-wide verifier (keys:verify:all-tenants, a deliberate grant) sees every tenant's keys.
      expect((await verify({ key: other.token }).expect(200)).body).toMatchObject({ code: 'VALID', tags: { secret: 'other tenant' } });
      expect((await verify({ key: otherRevoked.token }).expect(200)).body).toMatchObject({ code: 'REVOKED' });
    });
  });

  describe('rate limiting', () => {
    it('answers 429 with Retry-After after 120 failures from one caller, while another caller is unaffected', async () => {
      const [scanner, bystander] = await Promise.all([
        issueUsableKey(sut, { scopes: ['keys:verify', 'keys:verify:all-tenants'] }),
        issueUsableKey(sut, { scopes: ['keys:verify', 'keys:verify:all-tenants'] }),
      ]);
      // Valid answers are never counted.
      for (let i = 0; i < 30; i++) expect((await verify({ key: bystander.token }, scanner.token).expect(200)).body.code).toBe('VALID');

      for (let batch = 0; batch < 6; batch++) {
        const answers = await Promise.all(Array.from({ length: 20 }, () => verify({ key: generateToken().token }, scanner.token)));
        for (const res of answers) expect([res.status, res.body.code]).toEqual([200, 'NOT_FOUND']);
      }

      const limited = await verify({ key: bystander.token }, scanner.token);
      expectErrorShape(limited, 429, 'VERIFY.TOO_MANY_FAILURES');
      const retryAfter = Number(limited.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.body.message).toContain(`${retryAfter} s`);

      // Another caller, on the same instance, at the same time.
      expect((await verify({ key: generateToken().token }, bystander.token).expect(200)).body.code).toBe('NOT_FOUND');
      expect((await verify({ key: scanner.token }, bystander.token).expect(200)).body.code).toBe('VALID');
      // The limit is on the verify API only: the scanner's own key still passes the guard elsewhere.
      await whoami(sut, scanner.token).expect(200);
    });

    it('counts failures across instances: 60 on each of two instances reach the limit on both', async () => {
      const other = await createTestApp();
      try {
        const scanner = await issueUsableKey(sut, { scopes: ['keys:verify'] });
        const on = (app: TestApp) => (body: unknown) =>
          request(app.url)
            .post('/v1/keys/verify')
            .set(bearer(scanner.token))
            .send(body as object);
        for (const app of [sut, other]) {
          for (let batch = 0; batch < 3; batch++) {
            const answers = await Promise.all(Array.from({ length: 20 }, () => on(app)({ key: generateToken().token })));
            for (const res of answers) expect([res.status, res.body.code]).toEqual([200, 'NOT_FOUND']);
          }
        }
        // Each instance learns of the block at the caller's next failure there: at most one more each.
        for (const app of [sut, other]) {
          const statuses = [];
          for (let i = 0; i < 2; i++) statuses.push((await on(app)({ key: generateToken().token })).status);
          expect(statuses).toContain(429);
        }
        expectErrorShape(await on(other)({ key: scanner.token }), 429, 'VERIFY.TOO_MANY_FAILURES');
        expectErrorShape(await on(sut)({ key: scanner.token }), 429, 'VERIFY.TOO_MANY_FAILURES');
      } finally {
        await other.close();
      }
    });
  });
});
