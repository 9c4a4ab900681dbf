import type { Pool } from 'pg';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { createKey, expectNoSecretLeaks, Secrets, streamEvents, untilUsable } from './helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { asReadView, type IssuedKey, issueUsableKey, uniqueTenant } from '../support/keys.js';

const TOKEN = /^kl_live_[0-9A-Za-z]{12}_[0-9A-Za-z]{34}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('POST /admin/api-keys and GET /admin/api-keys/:id', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: IssuedKey;
  const secrets = new Secrets();

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(4);
    admin = await issueUsableKey(sut, { scopes: ['admin'] }, { secrets });
  });
  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  it('issues a key: 201, the plaintext key once, an ETag and the full view', async () => {
    const tenantId = uniqueTenant();
    const res = await request(sut.url)
      .post('/admin/api-keys')
      .set(bearer(admin.token))
      .send({
        tenantId,
        name: '  billing export  ',
        scopes: ['invoices:read', 'invoices:read', 'customers:read'],
        tags: { region: 'eu', plan: 'pro' },
      })
      .expect(201);
    secrets.add(res.body.key);

    expect(res.headers.etag).toBe('"1"');
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      publicId: expect.stringMatching(/^[0-9A-Za-z]{12}$/),
      name: 'billing export',
      tenantId,
      scopes: ['customers:read', 'invoices:read'],
      tags: { plan: 'pro', region: 'eu' },
      status: 'active',
      expiresAt: null,
      graceEndsAt: null,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
      version: 1,
      reason: null,
      reasonCode: null,
      key: expect.stringMatching(TOKEN),
    });
    expect(res.body.key).toContain(`_${res.body.publicId}_`);
  });

  it('issues a key that authenticates at once, with its key-bound tags', async () => {
    const tenantId = uniqueTenant();
    const created = await createKey(sut, secrets, admin.token, { tenantId, name: 'k', tags: { plan: 'pro' } });
    await untilUsable(sut, created.token);
    const who = await request(sut.url).get('/examples/whoami').set('x-api-key', created.token).expect(200);
    expect(who.body).toEqual({
      keyId: created.id,
      publicId: created.publicId,
      tenantId,
      scopes: [],
      tags: { plan: 'pro' },
      expiresAt: null,
    });
  });

  it('issues a different secret and publicId for every key', async () => {
    const tenantId = uniqueTenant();
    const a = await createKey(sut, secrets, admin.token, { tenantId, name: 'a' });
    const b = await createKey(sut, secrets, admin.token, { tenantId, name: 'a' });
    expect(a.id).not.toBe(b.id);
    expect(a.publicId).not.toBe(b.publicId);
    expect(a.token).not.toBe(b.token);
  });

  it('sets expiresAt from expiresInDays', async () => {
    const before = Date.now();
    const created = await createKey(sut, secrets, admin.token, { tenantId: uniqueTenant(), name: 'ttl', expiresInDays: 30 });
    const expiresAt = Date.parse(created.body.expiresAt as string);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 30 * 86_400_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000);
  });

  it('keeps an explicit future expiresAt', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const created = await createKey(sut, secrets, admin.token, { tenantId: uniqueTenant(), name: 'ttl', expiresAt });
    expect(created.body.expiresAt).toBe(expiresAt);
  });

  it('returns the same key by keyId and by publicId, with its ETag and never a secret', async () => {
    const created = await createKey(sut, secrets, admin.token, { tenantId: uniqueTenant(), name: 'lookup', scopes: ['reports:read'] });
    const byId = await request(sut.url).get(`/admin/api-keys/${created.id}`).set(bearer(admin.token)).expect(200);
    const byPublicId = await request(sut.url).get(`/admin/api-keys/${created.publicId}`).set(bearer(admin.token)).expect(200);

    expect(byId.body).toEqual(byPublicId.body);
    const { key: _key, ...view } = created.body;
    expect(byId.body).toEqual(asReadView(view));
    expect(byId.headers.etag).toBe('"1"');
    expect(byId.body).not.toHaveProperty('key');
    expect(byId.text).not.toContain(created.token);
    expect(byId.text).not.toMatch(/[0-9a-f]{64}/);
  });

  it('answers 404 KEY.NOT_FOUND for an unknown keyId, publicId or a malformed id', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'AAAAAAAAAAAA', 'not-an-id']) {
      const res = await request(sut.url).get(`/admin/api-keys/${id}`).set(bearer(admin.token));
      expectErrorShape(res, 404, 'KEY.NOT_FOUND');
    }
  });

  it('records who created the key, the request id, the IP and the user agent in the event', async () => {
    const tenantId = uniqueTenant();
    const created = await createKey(
      sut,
      secrets,
      admin.token,
      { tenantId, name: 'audited' },
      { 'x-request-id': 'req-create-1', 'user-agent': 'keyledger-e2e/create' },
    );
    const events = await streamEvents(pool, created.id);
    expect(events).toHaveLength(1);
    expect(events[0].type).toBe('key.created');
    expect(events[0].stream_version).toBe(1);
    expect(events[0].payload).toMatchObject({ keyId: created.id, publicId: created.publicId, tenantId, name: 'audited' });
    expect(events[0].metadata).toEqual({
      actor: { type: 'api-key', id: admin.id },
      requestId: 'req-create-1',
      ip: '127.0.0.1',
      userAgent: 'keyledger-e2e/create',
    });
  });

  it('generates a request id when the caller sends none (or a malformed one)', async () => {
    const a = await createKey(sut, secrets, admin.token, { tenantId: uniqueTenant(), name: 'no id' });
    const b = await createKey(
      sut,
      secrets,
      admin.token,
      { tenantId: uniqueTenant(), name: 'bad id' },
      { 'x-request-id': 'has spaces and ; quotes"' },
    );
    for (const key of [a, b]) {
      const [event] = await streamEvents(pool, key.id);
      expect(event.metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('leaks no plaintext key into logs, events or the read model', async () => {
    await expectNoSecretLeaks(sut, pool, secrets);
  });
});
