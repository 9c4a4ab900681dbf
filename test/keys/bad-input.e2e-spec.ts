import type { Pool } from 'pg';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { countStreamEvents, countTenantEvents, createKey, expectNoSecretLeaks, Secrets } from './helpers.js';
import { bearer, expectErrorShape, expectValidationError } from '../support/http.js';
import { type IssuedKey, issueUsableKey, uniqueTenant } from '../support/keys.js';

function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 'x' };
  for (let i = 1; i < levels; i++) value = { n: value };
  return value;
}

const manyTags = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`tag${i}`, 'v']));
const manyScopes = (n: number): string[] => Array.from({ length: n }, (_, i) => `scope${i}:read`);

/** A create body for `tenantId`, plus the fields under test. */
type Case = [description: string, body: (tenantId: string) => Record<string, unknown>, fields: string[]];

const CREATE_CASES: Case[] = [
  ['an invalid scope "BAD"', (t) => ({ tenantId: t, name: 'n', scopes: ['BAD'] }), ['scopes']],
  ['an invalid scope "a b"', (t) => ({ tenantId: t, name: 'n', scopes: ['ok:read', 'a b'] }), ['scopes']],
  ['an empty scope', (t) => ({ tenantId: t, name: 'n', scopes: [''] }), ['scopes']],
  ['65 scopes', (t) => ({ tenantId: t, name: 'n', scopes: manyScopes(65) }), ['scopes']],
  ['33 tags', (t) => ({ tenantId: t, name: 'n', tags: manyTags(33) }), ['tags']],
  ['a 65-character tag key', (t) => ({ tenantId: t, name: 'n', tags: { ['k'.repeat(65)]: 'v' } }), ['tags']],
  ['an empty tag key', (t) => ({ tenantId: t, name: 'n', tags: { '': 'v' } }), ['tags']],
  ['a 257-character tag value', (t) => ({ tenantId: t, name: 'n', tags: { k: 'v'.repeat(257) } }), ['tags']],
  ['a number as a tag value', (t) => ({ tenantId: t, name: 'n', tags: { k: 5 } }), ['tags']],
  ['an object as a tag value', (t) => ({ tenantId: t, name: 'n', tags: { k: { deep: 'v' } } }), ['tags']],
  ['null as a tag value', (t) => ({ tenantId: t, name: 'n', tags: { k: null } }), ['tags']],
  ['a name of only whitespace', (t) => ({ tenantId: t, name: ' \t\n  ' }), ['name']],
  ['an empty name', (t) => ({ tenantId: t, name: '' }), ['name']],
  ['a 129-character name', (t) => ({ tenantId: t, name: 'n'.repeat(129) }), ['name']],
  ['no name', (t) => ({ tenantId: t }), ['name']],
  [
    'expiresAt and expiresInDays together',
    (t) => ({ tenantId: t, name: 'n', expiresAt: new Date(Date.now() + 86_400_000).toISOString(), expiresInDays: 3 }),
    ['expiresAt', 'expiresInDays'],
  ],
  ['an expiresAt in the past', (t) => ({ tenantId: t, name: 'n', expiresAt: '2020-01-01T00:00:00Z' }), ['expiresAt']],
  ['an expiresAt that is not a date', (t) => ({ tenantId: t, name: 'n', expiresAt: 'tomorrow' }), ['expiresAt']],
  ['expiresInDays 0', (t) => ({ tenantId: t, name: 'n', expiresInDays: 0 }), ['expiresInDays']],
  ['expiresInDays 3651', (t) => ({ tenantId: t, name: 'n', expiresInDays: 3651 }), ['expiresInDays']],
  ['expiresInDays 1.5', (t) => ({ tenantId: t, name: 'n', expiresInDays: 1.5 }), ['expiresInDays']],
  ['an unknown field', (t) => ({ tenantId: t, name: 'n', owner: 'mallory' }), ['owner']],
  [
    'a client-chosen keyId and secret',
    (t) => ({ tenantId: t, name: 'n', keyId: '00000000-0000-4000-8000-000000000000', secretHash: 'ab' }),
    ['keyId', 'secretHash'],
  ],
  ['name: 5', (t) => ({ tenantId: t, name: 5 }), ['name']],
  ["scopes: 'x'", (t) => ({ tenantId: t, name: 'n', scopes: 'x' }), ['scopes']],
  ['scopes: [1]', (t) => ({ tenantId: t, name: 'n', scopes: [1] }), ['scopes']],
  ['tags: []', (t) => ({ tenantId: t, name: 'n', tags: [] }), ['tags']],
  ["tags: 'plan=pro'", (t) => ({ tenantId: t, name: 'n', tags: 'plan=pro' }), ['tags']],
  ["expiresInDays: '30'", (t) => ({ tenantId: t, name: 'n', expiresInDays: '30' }), ['expiresInDays']],
  ['expiresAt: 1700000000', (t) => ({ tenantId: t, name: 'n', expiresAt: 1_700_000_000 }), ['expiresAt']],
  ['a body nested 100 levels deep', (t) => ({ tenantId: t, name: 'n', tags: nested(100) }), ['body']],
];

describe('bad input: 400 with field details (or 413), one error shape, nothing written', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: IssuedKey;
  const secrets = new Secrets();

  const post = () => request(sut.url).post('/admin/api-keys').set(bearer(admin.token));

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(4);
    admin = await issueUsableKey(sut, { scopes: ['admin'] }, { secrets });
  });
  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  describe('POST /admin/api-keys', () => {
    it.each(CREATE_CASES)('refuses %s', async (_, body, fields) => {
      const tenantId = uniqueTenant();
      const res = await post().send(body(tenantId));
      expectValidationError(res, ...fields);
      expect(res.body).not.toHaveProperty('key');
      expect(await countTenantEvents(pool, tenantId)).toBe(0);
    });

    it('says that each missing required field is required, once, without its name inside the message', async () => {
      const res = await post().send({});
      expectValidationError(res);
      expect(res.body.details).toEqual([
        { field: 'tenantId', message: 'is required' },
        { field: 'name', message: 'is required' },
      ]);
      expect(res.body.message).toBe('tenantId: is required; name: is required');
    });

    it('reports a wrong type once per field (not its length or range too), and names the field only in `field`', async () => {
      const res = await post().send({ tenantId: 5, name: 'n', scopes: ['ok:read', 7], expiresInDays: '30', owner: 'x' });
      expectValidationError(res);
      expect(res.body.details).toEqual([
        { field: 'owner', message: 'is not a known field; remove it' },
        { field: 'tenantId', message: 'must be a string' },
        { field: 'scopes', message: 'each value must be a string' },
        { field: 'expiresInDays', message: 'must be an integer number' },
      ]);
    });

    it('reports every bad field at once', async () => {
      const res = await post().send({ tenantId: uniqueTenant(), name: '   ', scopes: ['BAD'], tags: { k: 5 } });
      expectValidationError(res, 'name', 'scopes', 'tags');
    });

    it('accepts the limits themselves: 64 scopes, 32 tags, 64-char keys, 256-char values, 128-char name, 1 and 3650 days', async () => {
      const tenantId = uniqueTenant();
      const tags = { ...manyTags(31), ['k'.repeat(64)]: 'v'.repeat(256) };
      await createKey(sut, secrets, admin.token, { tenantId, name: 'n'.repeat(128), scopes: manyScopes(64), tags, expiresInDays: 1 });
      await createKey(sut, secrets, admin.token, { tenantId, name: 'n', expiresInDays: 3650 });
    });

    it('refuses a malformed JSON body with 400', async () => {
      const tenantId = uniqueTenant();
      const res = await post().set('content-type', 'application/json').send(`{"tenantId": "${tenantId}", "name": `);
      expectErrorShape(res, 400);
      expect(res.body.message).toMatch(/JSON/);
      expect(await countTenantEvents(pool, tenantId)).toBe(0);
    });

    it('refuses a JSON body that is not an object with 400', async () => {
      for (const raw of ['[]', '"a string"', '42', 'null']) {
        const res = await post().set('content-type', 'application/json').send(raw);
        expect(res.status).toBe(400);
        expectErrorShape(res, 400);
      }
    });

    it('refuses a 1 MB body with 413', async () => {
      const tenantId = uniqueTenant();
      const res = await post().send({ tenantId, name: 'big', tags: { big: 'x'.repeat(1024 * 1024) } });
      expectErrorShape(res, 413);
      expect(await countTenantEvents(pool, tenantId)).toBe(0);
    });

    it('refuses a malformed Idempotency-Key with 400', async () => {
      const tenantId = uniqueTenant();
      const res = await post().set('idempotency-key', 'has spaces in it').send({ tenantId, name: 'n' });
      expectValidationError(res, 'Idempotency-Key');
      expect(await countTenantEvents(pool, tenantId)).toBe(0);
    });

    it('keeps every tag it is given, even one named like an Object.prototype method', async () => {
      const tags = { toString: 't', hasOwnProperty: 'h', valueOf: 'v', plan: 'pro' };
      const created = await createKey(sut, secrets, admin.token, { tenantId: uniqueTenant(), name: 'n', tags });
      expect(created.body.tags).toEqual(tags);
      const patched = await request(sut.url)
        .patch(`/admin/api-keys/${created.id}`)
        .set(bearer(admin.token))
        .send({ tags: { toString: 'u' } })
        .expect(200);
      expect(patched.body.tags).toEqual({ toString: 'u' });
    });

    it.each(['constructor', 'prototype'])('refuses a tag named %s with 400 instead of dropping it', async (name) => {
      const tenantId = uniqueTenant();
      const res = await post().send({ tenantId, name: 'n', tags: { plan: 'pro', [name]: 'x' } });
      expectValidationError(res, `tags.${name}`);
      expect(await countTenantEvents(pool, tenantId)).toBe(0);
    });

    it('refuses a __proto__ key in the body with 400', async () => {
      const tenantId = uniqueTenant();
      const res = await post()
        .set('content-type', 'application/json')
        .send(`{"tenantId":"${tenantId}","name":"n","tags":{"__proto__":{"admin":"yes"}}}`);
      expectErrorShape(res, 400);
      expect(await countTenantEvents(pool, tenantId)).toBe(0);
    });
  });

  describe('PATCH, rotate and revoke', () => {
    let key: IssuedKey;
    beforeAll(async () => {
      key = await createKey(sut, secrets, admin.token, { tenantId: uniqueTenant(), name: 'target', scopes: ['a:read'] });
    });

    it.each<[string, 'patch' | 'rotate' | 'revoke', Record<string, unknown> | string, string[]]>([
      ['a name of only whitespace', 'patch', { name: '   ' }, ['name']],
      ['name: 5', 'patch', { name: 5 }, ['name']],
      ['an invalid scope', 'patch', { scopes: ['BAD', 'a b'] }, ['scopes']],
      ['65 scopes', 'patch', { scopes: manyScopes(65) }, ['scopes']],
      ['33 tags', 'patch', { tags: manyTags(33) }, ['tags']],
      ['a non-string tag value', 'patch', { tags: { k: true } }, ['tags']],
      ['tags: []', 'patch', { tags: [] }, ['tags']],
      ['an expiresAt in the past', 'patch', { expiresAt: '2001-01-01T00:00:00Z' }, ['expiresAt']],
      ['expiresInDays (create only)', 'patch', { expiresInDays: 3 }, ['expiresInDays']],
      ['an unknown field', 'patch', { status: 'active' }, ['status']],
      ['a body nested 100 levels deep', 'patch', { tags: nested(100) }, ['body']],
      ['gracePeriodSeconds 2592001', 'rotate', { gracePeriodSeconds: 2_592_001 }, ['gracePeriodSeconds']],
      ["gracePeriodSeconds: '60'", 'rotate', { gracePeriodSeconds: '60' }, ['gracePeriodSeconds']],
      ['an unknown field', 'rotate', { secret: 'mine' }, ['secret']],
      ['a 513-character reason', 'revoke', { reason: 'r'.repeat(513) }, ['reason']],
      ['reason: 5', 'revoke', { reason: 5 }, ['reason']],
      ['an unknown field', 'revoke', { when: 'now' }, ['when']],
    ])('refuses %s on %s with 400, writing nothing', async (_, action, body, fields) => {
      const path = action === 'patch' ? `/admin/api-keys/${key.id}` : `/admin/api-keys/${key.id}/${action}`;
      const res = await request(sut.url)[action === 'patch' ? 'patch' : 'post'](path).set(bearer(admin.token)).send(body);
      expectValidationError(res, ...fields);
      expect(res.body).not.toHaveProperty('key');
      expect(await countStreamEvents(pool, key.id)).toBe(1);
    });

    it.each(['patch', 'rotate', 'revoke'] as const)('refuses a malformed JSON body on %s with 400, writing nothing', async (action) => {
      const path = action === 'patch' ? `/admin/api-keys/${key.id}` : `/admin/api-keys/${key.id}/${action}`;
      const method = action === 'patch' ? 'patch' : 'post';
      const res = await request(sut.url)[method](path).set(bearer(admin.token)).set('content-type', 'application/json').send('{"name":');
      expectErrorShape(res, 400);
      expect(await countStreamEvents(pool, key.id)).toBe(1);
    });

    it('refuses a 1 MB PATCH body with 413, writing nothing', async () => {
      const res = await request(sut.url)
        .patch(`/admin/api-keys/${key.id}`)
        .set(bearer(admin.token))
        .send({ name: 'n'.repeat(1024 * 1024) });
      expectErrorShape(res, 413);
      expect(await countStreamEvents(pool, key.id)).toBe(1);
    });

    it('refuses a malformed If-Match with 400', async () => {
      const res = await request(sut.url)
        .patch(`/admin/api-keys/${key.id}`)
        .set(bearer(admin.token))
        .set('if-match', 'yesterday')
        .send({ name: 'x' });
      expectValidationError(res, 'If-Match');
      expect(await countStreamEvents(pool, key.id)).toBe(1);
    });
  });

  describe('text PostgreSQL cannot store (text refuses NUL, jsonb unpaired surrogates): 400 naming the field, nothing written', () => {
    const UNSTORABLE: [string, string][] = [
      ['a NUL', 'a\u0000b'],
      ['a lone high surrogate', 'a\ud800b'],
      ['a lone low surrogate', 'a\udc00b'],
      ['a reversed surrogate pair', 'a\udc00\ud800b'],
    ];
    const unstorable = (res: request.Response, field: string): void => {
      expectValidationError(res, field);
      expect(res.body.details).toContainEqual({
        field,
        message: expect.stringContaining('must not contain NUL characters or unpaired UTF-16 surrogates'),
      });
    };
    let key: IssuedKey;
    beforeAll(async () => {
      key = await createKey(sut, secrets, admin.token, {
        tenantId: uniqueTenant(),
        name: 'target',
        scopes: ['a:read'],
        tags: { plan: 'pro' },
      });
    });

    it.each(UNSTORABLE)('refuses %s in every string field of a create', async (_, text) => {
      const tenantId = uniqueTenant();
      const cases: [Record<string, unknown>, string][] = [
        [{ tenantId, name: text }, 'name'],
        [{ tenantId, name: 'n', tags: { [text]: 'v' } }, 'tags'],
        [{ tenantId, name: 'n', tags: { plan: text } }, 'tags.plan'],
        [{ tenantId, name: 'n', scopes: ['a:read', text] }, 'scopes.1'],
        [{ tenantId: `${tenantId}${text}`, name: 'n' }, 'tenantId'],
        [{ tenantId, name: 'n', expiresAt: `2099-01-01T00:00:00Z${text}` }, 'expiresAt'],
      ];
      for (const [body, field] of cases) unstorable(await post().send(body), field);
      expect(await countTenantEvents(pool, tenantId)).toBe(0);
    });

    it.each(UNSTORABLE)('refuses %s in the name, tags, scopes and expiry of a PATCH and the reason of a revoke', async (_, text) => {
      const patch = (body: Record<string, unknown>) =>
        request(sut.url).patch(`/admin/api-keys/${key.id}`).set(bearer(admin.token)).send(body);
      unstorable(await patch({ name: text }), 'name');
      unstorable(await patch({ tags: { [text]: 'v' } }), 'tags');
      unstorable(await patch({ tags: { plan: text } }), 'tags.plan');
      unstorable(await patch({ scopes: [text] }), 'scopes.0');
      unstorable(await patch({ expiresAt: text }), 'expiresAt');
      unstorable(await request(sut.url).post(`/admin/api-keys/${key.id}/revoke`).set(bearer(admin.token)).send({ reason: text }), 'reason');
      unstorable(
        await request(sut.url).post(`/admin/api-keys/${key.id}/rotate`).set(bearer(admin.token)).send({ expiresAt: text }),
        'expiresAt',
      );
      expect(await countStreamEvents(pool, key.id)).toBe(1);
    });

    it('refuses a NUL in every query parameter and in the id of every route', async () => {
      const get = (path: string) => request(sut.url).get(path).set(bearer(admin.token));
      for (const field of ['tenantId', 'status', 'cursor', 'activeAt']) unstorable(await get(`/admin/api-keys?${field}=a%00b`), field);
      unstorable(await get(`/admin/api-keys/${key.id}?asOf=2026%00`), 'asOf');
      const id = 'a%00b';
      for (const res of [
        await get(`/admin/api-keys/${id}`),
        await get(`/admin/api-keys/${id}/events`),
        await request(sut.url).patch(`/admin/api-keys/${id}`).set(bearer(admin.token)).send({ name: 'n' }),
        await request(sut.url).post(`/admin/api-keys/${id}/rotate`).set(bearer(admin.token)).send({}),
        await request(sut.url).post(`/admin/api-keys/${id}/expire`).set(bearer(admin.token)),
        await request(sut.url).post(`/admin/api-keys/${id}/revoke`).set(bearer(admin.token)).send({}),
        await request(sut.url).delete(`/admin/api-keys/${id}`).set(bearer(admin.token)),
      ]) {
        unstorable(res, 'id');
      }
      expect(await countStreamEvents(pool, key.id)).toBe(1);
    });

    it('refuses a NUL or a lone surrogate in the body of a verification', async () => {
      const verifier = await issueUsableKey(sut, { scopes: ['keys:verify'] }, { secrets });
      for (const [text] of [['a\u0000b'], ['a\ud800b']]) {
        const send = (body: Record<string, unknown>) => request(sut.url).post('/v1/keys/verify').set(bearer(verifier.token)).send(body);
        unstorable(await send({ key: text }), 'key');
        unstorable(await send({ key: 'k', scopes: [text] }), 'scopes.0');
      }
    });
  });

  it('leaks no plaintext key into logs, events or the read model', async () => {
    await expectNoSecretLeaks(sut, pool, secrets);
  });
});
