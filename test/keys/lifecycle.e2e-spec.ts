import type { Pool } from 'pg';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import {
  countStreamEvents,
  countTenantEvents,
  createKey,
  expectNoSecretLeaks,
  Secrets,
  streamEvents,
  withSweeperPaused,
} from './helpers.js';
import { bearer, expectErrorShape, expectValidationError } from '../support/http.js';
import { asReadView, type IssuedKey, issueUsableKey, uniqueTenant } from '../support/keys.js';
import { eventually, until } from '../support/poll.js';

const UA = 'keyledger-e2e/lifecycle';

/** Every key name anywhere in a JSON value, recursively. */
function jsonKeys(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(jsonKeys);
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => [k, ...jsonKeys(v)]);
  return [];
}

describe('key lifecycle: PATCH, rotate, expire, revoke, DELETE and history', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: IssuedKey;
  const secrets = new Secrets();

  const newKey = (extra: Record<string, unknown> = {}) =>
    createKey(
      sut,
      secrets,
      admin.token,
      { tenantId: uniqueTenant(), name: 'lifecycle', scopes: ['invoices:read'], tags: { plan: 'free' }, ...extra },
      { 'user-agent': UA },
    );
  const as = (method: 'get' | 'post' | 'patch' | 'delete', path: string) =>
    request(sut.url)[method](path).set(bearer(admin.token)).set('user-agent', UA);

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(4);
    admin = await issueUsableKey(sut, { scopes: ['admin'] }, { secrets });
  });
  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  describe('PATCH /admin/api-keys/:id', () => {
    it('changes name, scopes, tags and expiresAt, and moves the ETag', async () => {
      const key = await newKey();
      const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
      const res = await as('patch', `/admin/api-keys/${key.id}`)
        .set('if-match', key.etag)
        .send({ name: 'renamed', scopes: ['invoices:write', 'invoices:read'], tags: { plan: 'pro', region: 'eu' }, expiresAt })
        .expect(200);
      expect(res.headers.etag).toBe('"2"');
      expect(res.headers.etag).not.toBe(key.etag);
      expect(res.body).toMatchObject({
        id: key.id,
        name: 'renamed',
        scopes: ['invoices:read', 'invoices:write'],
        tags: { plan: 'pro', region: 'eu' },
        expiresAt,
        version: 2,
      });

      const read = await as('get', `/admin/api-keys/${key.publicId}`).expect(200);
      expect(read.body).toEqual(asReadView(res.body));
      expect(read.headers.etag).toBe('"2"');
      // The guard injects the new tags (its replica catches up within milliseconds).
      await eventually('the guard to inject the new tags', async () => {
        const who = await request(sut.url).get('/examples/whoami').set(bearer(key.token)).expect(200);
        expect(who.body.tags).toEqual({ plan: 'pro', region: 'eu' });
      });
    });

    it('removes the expiry with expiresAt: null', async () => {
      const key = await newKey({ expiresInDays: 5 });
      const res = await as('patch', `/admin/api-keys/${key.id}`).send({ expiresAt: null }).expect(200);
      expect(res.body.expiresAt).toBeNull();
    });

    it('answers 412 KEY.VERSION_MISMATCH for a stale If-Match, and writes nothing', async () => {
      const key = await newKey();
      await as('patch', `/admin/api-keys/${key.id}`).set('if-match', '"1"').send({ name: 'first' }).expect(200);
      const stale = await as('patch', `/admin/api-keys/${key.id}`).set('if-match', '"1"').send({ name: 'second' });
      expectErrorShape(stale, 412, 'KEY.VERSION_MISMATCH');
      const wrong = await as('patch', `/admin/api-keys/${key.id}`).set('if-match', '"7"').send({ name: 'third' });
      expectErrorShape(wrong, 412, 'KEY.VERSION_MISMATCH');
      expect(await countStreamEvents(pool, key.id)).toBe(2);
      expect((await as('get', `/admin/api-keys/${key.id}`).expect(200)).body.name).toBe('first');
    });

    it('writes no event and keeps the ETag when nothing changes', async () => {
      const key = await newKey();
      const res = await as('patch', `/admin/api-keys/${key.id}`)
        .set('if-match', key.etag)
        .send({ name: 'lifecycle', tags: { plan: 'free' } })
        .expect(200);
      expect(res.headers.etag).toBe('"1"');
      expect(await countStreamEvents(pool, key.id)).toBe(1);
    });
  });

  describe('POST /admin/api-keys/:id/rotate', () => {
    it('returns a new key under the same publicId, keeping scopes and tags', async () => {
      const key = await newKey();
      const res = await as('post', `/admin/api-keys/${key.id}/rotate`).send({ gracePeriodSeconds: 3600 }).expect(200);
      const rotated = secrets.add(res.body.key);
      expect(rotated).not.toBe(key.token);
      expect(rotated).toContain(`_${key.publicId}_`);
      expect(res.headers.etag).toBe('"2"');
      expect(res.body).toMatchObject({
        id: key.id,
        publicId: key.publicId,
        scopes: ['invoices:read'],
        tags: { plan: 'free' },
        status: 'active',
        version: 2,
      });
      const graceEndsAt = Date.parse(res.body.graceEndsAt as string);
      expect(graceEndsAt).toBeGreaterThan(Date.now() + 3_500_000);
      expect(graceEndsAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
    });

    it('accepts a grace period from 0 to 30 days', async () => {
      const zero = await newKey();
      const none = await as('post', `/admin/api-keys/${zero.id}/rotate`).send({ gracePeriodSeconds: 0 }).expect(200);
      secrets.add(none.body.key);
      expect(none.body.graceEndsAt).toBeNull();
      const max = await newKey();
      const month = await as('post', `/admin/api-keys/${max.id}/rotate`).send({ gracePeriodSeconds: 2_592_000 }).expect(200);
      secrets.add(month.body.key);
      expect(Date.parse(month.body.graceEndsAt as string)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    });

    it.each([2_592_001, -1, 1.5, '60'])('refuses gracePeriodSeconds %j with 400, writing nothing', async (gracePeriodSeconds) => {
      const key = await newKey();
      const res = await as('post', `/admin/api-keys/${key.id}/rotate`).send({ gracePeriodSeconds });
      expectValidationError(res, 'gracePeriodSeconds');
      expect(res.text).not.toMatch(/kl_live_/);
      expect(await countStreamEvents(pool, key.id)).toBe(1);
    });
  });

  describe('POST /admin/api-keys/:id/expire', () => {
    it('expires the key now but keeps its record', async () => {
      const key = await newKey();
      const res = await as('post', `/admin/api-keys/${key.id}/expire`).expect(200);
      expect(res.body).toMatchObject({ id: key.id, status: 'expired', name: 'lifecycle', version: 2 });
      expect(res.headers.etag).toBe('"2"');
      const read = await as('get', `/admin/api-keys/${key.id}`).expect(200);
      expect(read.body).toEqual(asReadView(res.body));
      const events = await streamEvents(pool, key.id);
      expect(events.map((e) => [e.type, e.payload.reason])).toEqual([
        ['key.created', undefined],
        ['key.expired', 'manual'],
      ]);
    });
  });

  describe('POST /admin/api-keys/:id/revoke and DELETE /admin/api-keys/:id', () => {
    it('revokes with a reason', async () => {
      const key = await newKey();
      const res = await as('post', `/admin/api-keys/${key.publicId}/revoke`)
        .send({ reason: '  leaked in a public repository ' })
        .expect(200);
      expect(res.body).toMatchObject({ id: key.id, status: 'revoked', version: 2 });
      expect((await as('get', `/admin/api-keys/${key.id}`).expect(200)).body.status).toBe('revoked');
      const events = await streamEvents(pool, key.id);
      expect(events[1]).toMatchObject({ type: 'key.revoked', payload: { reason: 'leaked in a public repository' } });
    });

    it('revokes with DELETE (no reason)', async () => {
      const key = await newKey();
      const res = await as('delete', `/admin/api-keys/${key.id}`).expect(200);
      expect(res.body).toMatchObject({ id: key.id, status: 'revoked', version: 2 });
      expect(res.headers.etag).toBe('"2"');
      expect((await as('get', `/admin/api-keys/${key.id}`).expect(200)).body.status).toBe('revoked');
      const events = await streamEvents(pool, key.id);
      expect(events[1]).toMatchObject({ type: 'key.revoked', payload: { reason: null } });
    });

    it('refuses a reason longer than 512 characters', async () => {
      const key = await newKey();
      expectValidationError(await as('post', `/admin/api-keys/${key.id}/revoke`).send({ reason: 'x'.repeat(513) }), 'reason');
      expect(await countStreamEvents(pool, key.id)).toBe(1);
    });
  });

  describe('expired and revoked are terminal', () => {
    const attempts: [string, (id: string) => request.Test][] = [
      ['PATCH', (id) => as('patch', `/admin/api-keys/${id}`).send({ name: 'again' })],
      ['rotate', (id) => as('post', `/admin/api-keys/${id}/rotate`).send({})],
      ['expire', (id) => as('post', `/admin/api-keys/${id}/expire`)],
      ['revoke', (id) => as('post', `/admin/api-keys/${id}/revoke`).send({ reason: 'again' })],
      ['DELETE', (id) => as('delete', `/admin/api-keys/${id}`)],
    ];

    it.each(['expire', 'revoke'])('refuses every change to a key after %s with 409 KEY.INACTIVE, writing nothing', async (end) => {
      const key = await newKey();
      await as('post', `/admin/api-keys/${key.id}/${end}`).send({}).expect(200);
      for (const [name, attempt] of attempts) {
        const res = await attempt(key.id);
        expectErrorShape(res, 409, 'KEY.INACTIVE');
        expect({ name, message: res.body.message }).toEqual({
          name,
          message: expect.stringMatching(end === 'expire' ? /expired/ : /revoked/),
        });
      }
      expect(await countStreamEvents(pool, key.id)).toBe(2);
    });

    it('treats a key whose expiresAt has passed as expired, before any KeyExpired', async () => {
      await withSweeperPaused(pool, async () => {
        const key = await newKey({ expiresAt: new Date(Date.now() + 1000).toISOString() });
        await until('its expiresAt to pass', () => Date.now() >= Date.parse(key.body.expiresAt as string), { timeoutMs: 5000 });
        expect((await as('get', `/admin/api-keys/${key.id}`).expect(200)).body.status).toBe('expired');
        for (const [, attempt] of attempts) expectErrorShape(await attempt(key.id), 409, 'KEY.INACTIVE');
        expect(await countStreamEvents(pool, key.id)).toBe(1);
      });
    });
  });

  describe('an expiresAt in the past', () => {
    const past = () => new Date(Date.now() - 1000).toISOString();

    it('is refused on create with 400, writing nothing', async () => {
      const tenantId = uniqueTenant();
      const res = await as('post', '/admin/api-keys').send({ tenantId, name: 'past', expiresAt: past() });
      expectValidationError(res, 'expiresAt');
      expect(await countTenantEvents(pool, tenantId)).toBe(0);
    });

    it('is refused on PATCH and rotate with 400, writing nothing', async () => {
      const key = await newKey();
      expectValidationError(await as('patch', `/admin/api-keys/${key.id}`).send({ expiresAt: past() }), 'expiresAt');
      expectValidationError(await as('post', `/admin/api-keys/${key.id}/rotate`).send({ expiresAt: past() }), 'expiresAt');
      expect(await countStreamEvents(pool, key.id)).toBe(1);
    });
  });

  describe('GET /admin/api-keys/:id/events and event metadata', () => {
    let key: IssuedKey & { etag: string };
    let history: request.Response;

    beforeAll(async () => {
      key = await newKey({ expiresInDays: 10 });
      await as('patch', `/admin/api-keys/${key.id}`)
        .set('x-request-id', 'req-update')
        .send({ name: 'renamed', scopes: ['invoices:write'], tags: { plan: 'pro' } })
        .expect(200);
      const rotated = await as('post', `/admin/api-keys/${key.id}/rotate`)
        .set('x-request-id', 'req-rotate')
        .send({ gracePeriodSeconds: 60 })
        .expect(200);
      secrets.add(rotated.body.key);
      await as('post', `/admin/api-keys/${key.id}/revoke`).set('x-request-id', 'req-revoke').send({ reason: 'rotated out' }).expect(200);
      history = await as('get', `/admin/api-keys/${key.publicId}/events`).expect(200);
    });

    it('lists every event with its type, version, actor, request id, IP, user agent and changes', () => {
      const items = history.body.items as Record<string, unknown>[];
      expect(items.map((e) => [e.type, e.version])).toEqual([
        ['key.created', 1],
        ['key.updated', 2],
        ['key.rotated', 3],
        ['key.revoked', 4],
      ]);
      for (const item of items) {
        expect(item.actor).toEqual({ type: 'api-key', id: admin.id, publicId: admin.publicId, name: 'test key' });
        expect(item.ip).toBe('127.0.0.1');
        expect(item.userAgent).toBe(UA);
        expect(typeof item.occurredAt).toBe('string');
        expect(typeof item.recordedAt).toBe('string');
      }
      expect(items.slice(1).map((e) => e.requestId)).toEqual(['req-update', 'req-rotate', 'req-revoke']);
      expect(items[0].changes).toEqual({
        name: { from: null, to: 'lifecycle' },
        scopes: { from: null, to: ['invoices:read'] },
        tags: { from: null, to: { plan: 'free' } },
        expiresAt: { from: null, to: expect.any(String) },
      });
      expect(items[1].changes).toEqual({
        name: { from: 'lifecycle', to: 'renamed' },
        scopes: { from: ['invoices:read'], to: ['invoices:write'] },
        tags: { from: { plan: 'free' }, to: { plan: 'pro' } },
      });
      const expiresAt = (items[0].changes as { expiresAt: { to: string } }).expiresAt.to;
      expect(items[2].changes).toEqual({
        graceEndsAt: { from: null, to: expect.any(String) },
        expiresAt: { from: expiresAt, to: expiresAt },
      });
      expect(items[3]).toMatchObject({ reason: 'rotated out', changes: { status: { from: 'active', to: 'revoked' } } });
    });

    it('shows no secret hash anywhere', () => {
      expect(history.text).not.toMatch(/[0-9a-fA-F]{64}/);
      expect(jsonKeys(history.body).filter((k) => /hash/i.test(k))).toEqual([]);
      expect(history.text).not.toMatch(/secretHash/i);
    });

    it('stores actor, request id, IP and user agent in the metadata of every event', async () => {
      const expired = await newKey();
      await as('post', `/admin/api-keys/${expired.id}/expire`).set('x-request-id', 'req-expire').expect(200);
      const events = [...(await streamEvents(pool, key.id)), ...(await streamEvents(pool, expired.id))];
      expect(events.map((e) => e.type)).toEqual(['key.created', 'key.updated', 'key.rotated', 'key.revoked', 'key.created', 'key.expired']);
      for (const event of events) {
        expect(event.metadata).toEqual({
          actor: { type: 'api-key', id: admin.id },
          requestId: expect.stringMatching(/^[A-Za-z0-9._:-]+$/),
          ip: '127.0.0.1',
          userAgent: UA,
        });
      }
      expect(events.map((e) => e.metadata.requestId).slice(1, 4)).toEqual(['req-update', 'req-rotate', 'req-revoke']);
      expect(events[5].metadata.requestId).toBe('req-expire');
    });
  });

  it('leaks no plaintext key into logs, events or the read model', async () => {
    await expectNoSecretLeaks(sut, pool, secrets);
  });
});
