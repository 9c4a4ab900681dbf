import type { Pool } from 'pg';
import request from 'supertest';
import { generateToken } from '../../src/token/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { createKey, expectNoSecretLeaks, Secrets, secretPart, streamEvents } from './helpers.js';
import { bearer } from '../support/http.js';
import { type IssuedKey, issueUsableKey, uniqueTenant } from '../support/keys.js';
import { eventually } from '../support/poll.js';

describe('secrets never leak', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: IssuedKey;
  let manager: IssuedKey;
  /** Keys of every kind a client might submit where it should not. */
  const submitted: Record<string, string> = {};
  const secrets = new Secrets();

  /** Asserts that no error body contains any submitted key (whole, or its secret part). */
  function expectNoKeyIn(res: request.Response, context: string): void {
    expect(res.status).toBeGreaterThanOrEqual(400);
    const found = Object.entries(submitted)
      .filter(([, token]) => res.text.includes(token) || res.text.includes(secretPart(token)))
      .map(([name]) => name);
    expect({ context, found }).toEqual({ context, found: [] });
  }

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(2);
    admin = await issueUsableKey(sut, { scopes: ['admin'] }, { secrets });
    manager = await issueUsableKey(sut, { scopes: ['keys:manage'] }, { secrets });
    const valid = await issueUsableKey(sut, { tenantId: uniqueTenant(), scopes: ['invoices:read'] }, { secrets });
    const revoked = await issueUsableKey(sut, { tenantId: uniqueTenant() }, { secrets });
    const expired = await issueUsableKey(sut, { tenantId: uniqueTenant() }, { secrets });
    const rotated = await issueUsableKey(sut, { tenantId: uniqueTenant() }, { secrets });
    await request(sut.url).delete(`/admin/api-keys/${revoked.id}`).set(bearer(admin.token)).expect(200);
    await request(sut.url).post(`/admin/api-keys/${expired.id}/expire`).set(bearer(admin.token)).expect(200);
    const roll = await request(sut.url)
      .post(`/admin/api-keys/${rotated.id}/rotate`)
      .set(bearer(admin.token))
      .send({ gracePeriodSeconds: 0 })
      .expect(200);
    secrets.add(roll.body.key);
    const broken = valid.token.slice(0, -8) + (valid.token.at(-8) === 'x' ? 'y' : 'x') + valid.token.slice(-7);
    Object.assign(submitted, {
      valid: valid.token,
      revoked: revoked.token,
      expired: expired.token,
      'rotated out': rotated.token,
      unknown: generateToken('kl_live').token,
      'checksum broken': broken,
      admin: admin.token,
    });
    await eventually('the revoked, expired and rotated-out keys to be refused', async () => {
      await request(sut.url).get('/examples/whoami').set(bearer(revoked.token)).expect(401);
      await request(sut.url).get('/examples/whoami').set(bearer(expired.token)).expect(401);
      await request(sut.url).get('/examples/whoami').set(bearer(rotated.token)).expect(401);
    });
  });
  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  it('never echoes a refused key in a 401 or 403 body', async () => {
    for (const name of ['revoked', 'expired', 'rotated out', 'unknown', 'checksum broken']) {
      for (const headers of [bearer(submitted[name]), { 'x-api-key': submitted[name] }]) {
        const res = await request(sut.url).get('/admin/api-keys').set(headers);
        expect(res.status).toBe(401);
        expectNoKeyIn(res, `${name} key refused`);
      }
    }
    const forbidden = await request(sut.url).get('/admin/api-keys').set(bearer(submitted.valid));
    expect(forbidden.status).toBe(403);
    expectNoKeyIn(forbidden, 'insufficient scope');
  });

  it('never echoes a key given where an id is expected', async () => {
    for (const token of Object.values(submitted)) {
      const id = encodeURIComponent(token);
      const attempts = [
        request(sut.url).get(`/admin/api-keys/${id}`),
        request(sut.url).patch(`/admin/api-keys/${id}`).send({ name: 'x' }),
        request(sut.url).post(`/admin/api-keys/${id}/rotate`).send({}),
        request(sut.url).post(`/admin/api-keys/${id}/expire`),
        request(sut.url).post(`/admin/api-keys/${id}/revoke`).send({}),
        request(sut.url).delete(`/admin/api-keys/${id}`),
        request(sut.url).get(`/admin/api-keys/${id}/events`),
      ];
      for (const attempt of attempts) {
        const res = await attempt.set(bearer(admin.token));
        expect(res.status).toBe(404);
        expectNoKeyIn(res, `key as :id`);
      }
    }
  });

  it('never echoes a key given in a path that matches no route', async () => {
    const res = await request(sut.url).get(`/admin/keys/${submitted.valid}`).set(bearer(admin.token));
    expect(res.status).toBe(404);
    expectNoKeyIn(res, 'unknown route');
  });

  it('never echoes a key given in a body or query field that is refused', async () => {
    const token = submitted.valid;
    const tenantId = uniqueTenant();
    const target = await createKey(sut, secrets, admin.token, { tenantId, name: 'target' });
    const attempts: [string, () => PromiseLike<request.Response>][] = [
      [
        'as a scope',
        () =>
          request(sut.url)
            .post('/admin/api-keys')
            .set(bearer(admin.token))
            .send({ tenantId, name: 'n', scopes: [token] }),
      ],
      [
        'as a tag key',
        () =>
          request(sut.url)
            .post('/admin/api-keys')
            .set(bearer(admin.token))
            .send({ tenantId, name: 'n', tags: { [token]: 5 } }),
      ],
      [
        'as a tag value',
        () =>
          request(sut.url)
            .post('/admin/api-keys')
            .set(bearer(admin.token))
            .send({ tenantId, name: 'n', tags: { k: token.repeat(5) } }),
      ],
      [
        'as an unknown field',
        () =>
          request(sut.url)
            .post('/admin/api-keys')
            .set(bearer(admin.token))
            .send({ tenantId, name: 'n', [token]: 1 }),
      ],
      [
        'as an over-long tenantId',
        () =>
          request(sut.url)
            .post('/admin/api-keys')
            .set(bearer(admin.token))
            .send({ tenantId: token.repeat(2), name: 'n' }),
      ],
      [
        'as a foreign tenantId',
        () => request(sut.url).post('/admin/api-keys').set(bearer(manager.token)).send({ tenantId: token, name: 'n' }),
      ],
      ['as a tenantId filter', () => request(sut.url).get('/admin/api-keys').query({ tenantId: token }).set(bearer(manager.token))],
      ['as a cursor', () => request(sut.url).get('/admin/api-keys').query({ cursor: token }).set(bearer(admin.token))],
      ['as a status', () => request(sut.url).get('/admin/api-keys').query({ status: token }).set(bearer(admin.token))],
      [
        'as expiresAt',
        () => request(sut.url).post('/admin/api-keys').set(bearer(admin.token)).send({ tenantId, name: 'n', expiresAt: token }),
      ],
      [
        'in malformed JSON',
        () =>
          request(sut.url)
            .post('/admin/api-keys')
            .set(bearer(admin.token))
            .set('content-type', 'application/json')
            .send(`{"name": ${token}}`),
      ],
      [
        'in malformed JSON, quoted',
        () =>
          request(sut.url)
            .post('/admin/api-keys')
            .set(bearer(admin.token))
            .set('content-type', 'application/json')
            .send(`{"name": "${token}"`),
      ],
      [
        'as the If-Match',
        () => request(sut.url).patch(`/admin/api-keys/${target.id}`).set(bearer(admin.token)).set('if-match', token).send({ name: 'x' }),
      ],
      [
        'as the Idempotency-Key of another request',
        async () => {
          await request(sut.url)
            .post('/admin/api-keys')
            .set(bearer(admin.token))
            .set('idempotency-key', token)
            .send({ tenantId, name: 'first' })
            .then((res) => secrets.track(res));
          return request(sut.url)
            .post('/admin/api-keys')
            .set(bearer(admin.token))
            .set('idempotency-key', token)
            .send({ tenantId, name: 'second' });
        },
      ],
      [
        'as a revoke reason that is too long',
        () =>
          request(sut.url)
            .post(`/admin/api-keys/${target.id}/revoke`)
            .set(bearer(admin.token))
            .send({ reason: token.repeat(10) }),
      ],
      [
        'as a grace period',
        () => request(sut.url).post(`/admin/api-keys/${target.id}/rotate`).set(bearer(admin.token)).send({ gracePeriodSeconds: token }),
      ],
    ];
    for (const [context, send] of attempts) {
      const res = await send();
      expectNoKeyIn(res, context);
    }
  });

  it('does not record a key sent as the request id or inside the user agent', async () => {
    const token = submitted.valid;
    const created = await createKey(
      sut,
      secrets,
      admin.token,
      { tenantId: uniqueTenant(), name: 'metadata' },
      { 'x-request-id': token, 'user-agent': `curl/8.0 ${token}` },
    );
    const [event] = await streamEvents(pool, created.id);
    const metadata = JSON.stringify(event.metadata);
    expect(metadata).not.toContain(token);
    expect(metadata).not.toContain(secretPart(token));
    expect(event.metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.metadata.userAgent).toMatch(/^curl\/8\.0 /);
  });

  it('leaks no plaintext key into logs, events or the read model', async () => {
    await expectNoSecretLeaks(sut, pool, secrets);
  });
});
