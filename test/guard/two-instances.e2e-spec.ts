import request from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { whoami } from './guard-helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { issueUsableKey, uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';

/**
 * Two instances of the registry on one database, as behind a load balancer: every change made
 * through A's admin API must reach B's guard (B's in-memory replica, refreshed by NOTIFY).
 */
describe('two instances on one database', () => {
  let a: TestApp;
  let b: TestApp;
  let admin: string;

  beforeAll(async () => {
    [a, b] = await Promise.all([createTestApp(), createTestApp()]);
    admin = (await issueUsableKey(a, { scopes: ['admin'] })).token;
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  /** Creates a key through A's HTTP API; B's guard accepts it at its first request. */
  async function createOnA(body: Record<string, unknown> = {}): Promise<{ id: string; token: string; tenantId: string }> {
    const tenantId = uniqueTenant();
    const res = await request(a.url)
      .post('/admin/api-keys')
      .set(bearer(admin))
      .send({ tenantId, name: 'two instances', ...body })
      .expect(201);
    const key = { id: res.body.id as string, token: res.body.key as string, tenantId };
    await whoami(b, key.token).expect(200);
    return key;
  }

  /** Polls B's guard until it refuses `token`, then returns the refusal. */
  const untilRefusedOnB = (token: string) =>
    until(
      'B to refuse the key',
      () => whoami(b, token),
      (r) => r.status !== 200,
    );

  it('refuses on B a key revoked through A', async () => {
    const key = await createOnA();

    await request(a.url).post(`/admin/api-keys/${key.id}/revoke`).set(bearer(admin)).send({ reason: 'leaked' }).expect(200);

    expectErrorShape(await untilRefusedOnB(key.token), 401, 'AUTH.REVOKED');
    expectErrorShape(await whoami(a, key.token), 401, 'AUTH.REVOKED');
  });

  it('refuses on B a key revoked through A with DELETE', async () => {
    const key = await createOnA();

    await request(a.url).delete(`/admin/api-keys/${key.id}`).set(bearer(admin)).expect(200);

    expectErrorShape(await untilRefusedOnB(key.token), 401, 'AUTH.REVOKED');
  });

  it('refuses on B a key expired manually through A', async () => {
    const key = await createOnA({ expiresInDays: 30 });

    await request(a.url).post(`/admin/api-keys/${key.id}/expire`).set(bearer(admin)).expect(200);

    expectErrorShape(await untilRefusedOnB(key.token), 401, 'AUTH.EXPIRED');
  });

  it('after a rotation through A (grace 0), B refuses the old secret and accepts the new one', async () => {
    const key = await createOnA({ tags: { plan: 'pro' } });

    const rotated = await request(a.url)
      .post(`/admin/api-keys/${key.id}/rotate`)
      .set(bearer(admin))
      .send({ gracePeriodSeconds: 0 })
      .expect(200);
    const newToken = rotated.body.key as string;
    expect(newToken).not.toBe(key.token);

    expectErrorShape(await untilRefusedOnB(key.token), 401, 'AUTH.NOT_FOUND');
    const who = await whoami(b, newToken).expect(200);
    expect(who.body).toMatchObject({ keyId: key.id, tenantId: key.tenantId, tags: { plan: 'pro' } });
  });

  it('returns on B the tags updated through A', async () => {
    const key = await createOnA({ tags: { plan: 'free', region: 'eu' } });
    expect((await whoami(b, key.token)).body.tags).toEqual({ plan: 'free', region: 'eu' });

    await request(a.url)
      .patch(`/admin/api-keys/${key.id}`)
      .set(bearer(admin))
      .send({ tags: { plan: 'enterprise' } })
      .expect(200);

    const who = await until(
      'B to return the new tags',
      () => whoami(b, key.token),
      (r) => r.status === 200 && r.body.tags?.plan === 'enterprise',
    );
    expect(who.body.tags).toEqual({ plan: 'enterprise' });
  });

  it('applies on B scopes granted and taken away through A', async () => {
    const key = await createOnA({ scopes: ['invoices:read'] });
    expectErrorShape(await request(b.url).get('/examples/reports').set(bearer(key.token)), 403, 'AUTH.INSUFFICIENT_SCOPE');

    await request(a.url)
      .patch(`/admin/api-keys/${key.id}`)
      .set(bearer(admin))
      .send({ scopes: ['invoices:read', 'reports:read'] })
      .expect(200);
    await until(
      'B to grant reports:read',
      () => request(b.url).get('/examples/reports').set(bearer(key.token)),
      (r) => r.status === 200,
    );

    await request(a.url)
      .patch(`/admin/api-keys/${key.id}`)
      .set(bearer(admin))
      .send({ scopes: ['invoices:read'] })
      .expect(200);
    const res = await until(
      'B to take reports:read away',
      () => request(b.url).get('/examples/reports').set(bearer(key.token)),
      (r) => r.status !== 200,
    );
    expectErrorShape(res, 403, 'AUTH.INSUFFICIENT_SCOPE');
  });
});
