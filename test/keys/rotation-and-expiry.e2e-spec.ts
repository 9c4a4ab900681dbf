import type { Pool } from 'pg';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { createKey, expectNoSecretLeaks, Secrets, streamEvents, untilUsable, withSweeperPaused } from './helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { type IssuedKey, issueUsableKey, uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';

describe('what the guard accepts after a rotation, a revoke and an expiry', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: IssuedKey;
  const secrets = new Secrets();

  const whoami = (token: string) => request(sut.url).get('/examples/whoami').set(bearer(token));
  const rotate = async (id: string, gracePeriodSeconds: number): Promise<string> => {
    const res = await request(sut.url)
      .post(`/admin/api-keys/${id}/rotate`)
      .set(bearer(admin.token))
      .send({ gracePeriodSeconds })
      .expect(200);
    return secrets.add(res.body.key);
  };

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(2);
    admin = await issueUsableKey(sut, { scopes: ['admin'] }, { secrets });
  });
  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  it('accepts both the old and the new secret during a 60 s grace period', async () => {
    const key = await issueUsableKey(sut, { tenantId: uniqueTenant(), tags: { plan: 'pro' } }, { secrets });
    const rotated = await rotate(key.id, 60);
    await untilUsable(sut, rotated);
    for (const token of [key.token, rotated, key.token, rotated]) {
      const res = await whoami(token).expect(200);
      expect(res.body).toMatchObject({ keyId: key.id, publicId: key.publicId, tags: { plan: 'pro' } });
    }
  });

  it('refuses the old secret at once with a grace period of 0, and accepts the new one', async () => {
    const key = await issueUsableKey(sut, { tenantId: uniqueTenant() }, { secrets });
    const rotated = await rotate(key.id, 0);
    await untilUsable(sut, rotated);
    expectErrorShape(await whoami(key.token), 401, 'AUTH.NOT_FOUND');
    expect((await whoami(rotated).expect(200)).body.keyId).toBe(key.id);
  });

  it('refuses a rotated key after its grace period, and keeps accepting the new one', async () => {
    const key = await issueUsableKey(sut, { tenantId: uniqueTenant() }, { secrets });
    const rotated = await rotate(key.id, 1);
    await untilUsable(sut, rotated);
    const graceEndsAt = Date.parse(
      (await request(sut.url).get(`/admin/api-keys/${key.id}`).set(bearer(admin.token)).expect(200)).body.graceEndsAt as string,
    );
    await whoami(key.token).expect(200);
    await until('the grace period to end', () => Date.now() >= graceEndsAt, { timeoutMs: 5000 });
    expectErrorShape(await whoami(key.token), 401, 'AUTH.NOT_FOUND');
    expect((await whoami(rotated).expect(200)).body.keyId).toBe(key.id);
  });

  it('ends the older secret at once when a key is rotated again during a grace period', async () => {
    const key = await issueUsableKey(sut, { tenantId: uniqueTenant() }, { secrets });
    const second = await rotate(key.id, 60);
    await untilUsable(sut, second);
    const third = await rotate(key.id, 60);
    await untilUsable(sut, third);
    expectErrorShape(await whoami(key.token), 401, 'AUTH.NOT_FOUND');
    await whoami(second).expect(200);
  });

  it('refuses a revoked key (within milliseconds of the revoke), including a secret still in its grace period', async () => {
    const key = await issueUsableKey(sut, { tenantId: uniqueTenant() }, { secrets });
    const rotated = await rotate(key.id, 60);
    await untilUsable(sut, rotated);
    await request(sut.url).post(`/admin/api-keys/${key.id}/revoke`).set(bearer(admin.token)).send({ reason: 'test' }).expect(200);
    expectErrorShape(await whoami(rotated), 401, 'AUTH.REVOKED');
    expectErrorShape(await whoami(key.token), 401, 'AUTH.REVOKED');
  });

  it.each(['revoke', 'expire'] as const)(
    'shows no grace period once a key in one is %sd: not in the answer, the detail, the list or asOf',
    async (action) => {
      const tenantId = uniqueTenant();
      const key = await createKey(sut, secrets, admin.token, { tenantId, name: 'rotated, then ended', expiresInDays: 90 });
      await rotate(key.id, 3600);
      const get = (path: string) => request(sut.url).get(path).set(bearer(admin.token)).expect(200);
      const listed = async (status: string) =>
        (
          (await get(`/admin/api-keys?tenantId=${tenantId}&status=${status}`)).body.items as { id: string; graceEndsAt: string | null }[]
        ).find((k) => k.id === key.id);
      // While the key is active, its grace shows everywhere.
      expect((await get(`/admin/api-keys/${key.id}`)).body.graceEndsAt).toEqual(expect.any(String));
      expect((await listed('active'))?.graceEndsAt).toEqual(expect.any(String));

      const ended = await request(sut.url).post(`/admin/api-keys/${key.id}/${action}`).set(bearer(admin.token)).send({}).expect(200);
      const status = `${action}d`;
      expect(ended.body).toMatchObject({ status, graceEndsAt: null });
      expect((await get(`/admin/api-keys/${key.id}`)).body).toMatchObject({ status, graceEndsAt: null, expiresAt: expect.any(String) });
      expect(await listed(status)).toMatchObject({ status, graceEndsAt: null });
      expect((await get(`/admin/api-keys/${key.id}?asOf=${new Date().toISOString()}`)).body).toMatchObject({ status, graceEndsAt: null });
    },
  );

  it('refuses a key once its expiresAt passes, though no KeyExpired was written', async () => {
    await withSweeperPaused(pool, async () => {
      const expiresAt = new Date(Date.now() + 1500).toISOString();
      const key = await createKey(sut, secrets, admin.token, { tenantId: uniqueTenant(), name: 'short-lived', expiresAt });
      await untilUsable(sut, key.token);
      expect((await whoami(key.token).expect(200)).body.expiresAt).toBe(expiresAt);

      await until('its expiresAt to pass', () => Date.now() >= Date.parse(expiresAt), { timeoutMs: 4000 });
      expectErrorShape(await whoami(key.token), 401, 'AUTH.EXPIRED');
      expect((await streamEvents(pool, key.id)).map((e) => e.type)).toEqual(['key.created']);
      const view = await request(sut.url).get(`/admin/api-keys/${key.id}`).set(bearer(admin.token)).expect(200);
      expect(view.body.status).toBe('expired');
    });
  });

  it('refuses a key expired by an admin with 401 AUTH.EXPIRED', async () => {
    const key = await issueUsableKey(sut, { tenantId: uniqueTenant() }, { secrets });
    await request(sut.url).post(`/admin/api-keys/${key.publicId}/expire`).set(bearer(admin.token)).expect(200);
    expectErrorShape(await whoami(key.token), 401, 'AUTH.EXPIRED');
  });

  it('leaks no plaintext key into logs, events or the read model', async () => {
    await expectNoSecretLeaks(sut, pool, secrets);
  });
});
