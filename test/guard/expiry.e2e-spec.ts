import type { Pool } from 'pg';
import request, { type Response } from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { whoami } from './guard-helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { issueUsableKey, uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';

interface Sample {
  sentAt: number;
  receivedAt: number;
  res: Response;
}

/**
 * Calls `call` back to back until a call sent at or after `instant` has answered (bounded by
 * `instant + 3 s`), recording when each was sent and answered. This polls a condition; it never
 * sleeps a fixed time.
 */
async function sampleAcross(instant: number, call: () => Promise<Response>): Promise<Sample[]> {
  const samples: Sample[] = [];
  const deadline = instant + 3000;
  for (;;) {
    const sentAt = Date.now();
    const res = await call();
    samples.push({ sentAt, receivedAt: Date.now(), res });
    if (sentAt >= instant + 1 || Date.now() > deadline) return samples;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * The guard compares expiresAt (and a rotation's grace end) with the clock on every request: a key
 * is refused the instant it passes, before and whether or not the sweeper writes KeyExpired.
 */
describe('a key whose expiresAt passes mid-test', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: string;
  let verifyCaller: string;

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(2);
    admin = (await issueUsableKey(sut, { scopes: ['admin'] })).token;
    verifyCaller = (await issueUsableKey(sut, { scopes: ['keys:verify', 'keys:verify:all-tenants'] })).token;
  });
  afterAll(async () => {
    await Promise.all([sut?.close(), pool?.end()]);
  });

  const eventTypes = async (keyId: string): Promise<string[]> =>
    (
      await pool.query<{ type: string }>(`SELECT type FROM events WHERE stream_id = 'key-' || $1 ORDER BY stream_version`, [keyId])
    ).rows.map((r) => r.type);

  const verify = (token: string): Promise<Response> =>
    request(sut.url).post('/v1/keys/verify').set(bearer(verifyCaller)).send({ key: token });

  it('is accepted until expiresAt and refused from that instant by the guard and by POST /v1/keys/verify, with no KeyExpired written', async () => {
    const created = await request(sut.url)
      .post('/admin/api-keys')
      .set(bearer(admin))
      .send({ tenantId: uniqueTenant(), name: 'short-lived', expiresAt: new Date(Date.now() + 1200).toISOString() })
      .expect(201);
    const { id, key: token } = created.body as { id: string; key: string };
    const expiresAt = Date.parse(created.body.expiresAt as string);
    await until(
      'the key to reach the replica',
      () => whoami(sut, token),
      (r) => r.status === 200,
    );

    const [guard, api] = await Promise.all([
      sampleAcross(expiresAt, () => whoami(sut, token)),
      sampleAcross(expiresAt, () => verify(token)),
    ]);
    // Read at once: a sweeper writes KeyExpired only later (its delay is at least 300 ms).
    const typesAtRefusal = await eventTypes(id);

    // The guard: every call answered before expiresAt passed was accepted; every call sent after it was refused.
    expect(guard.length).toBeGreaterThan(1);
    for (const { sentAt, receivedAt, res } of guard) {
      if (receivedAt < expiresAt) expect(res.status).toBe(200);
      if (sentAt >= expiresAt) expectErrorShape(res, 401, 'AUTH.EXPIRED');
      if (res.status === 200) expect(sentAt).toBeLessThan(expiresAt);
    }
    expect(guard.at(-1)!.res.status).toBe(401);

    // The verify API, the same instant.
    for (const { sentAt, receivedAt, res } of api) {
      expect(res.status).toBe(200);
      if (receivedAt < expiresAt) expect(res.body).toMatchObject({ valid: true, code: 'VALID' });
      if (sentAt >= expiresAt) expect(res.body).toEqual({ valid: false, code: 'EXPIRED' });
    }
    expect(api.at(-1)!.res.body.code).toBe('EXPIRED');

    expect(typesAtRefusal).toEqual(['key.created']);
    const row = await pool.query<{ status: string }>('SELECT status FROM api_keys WHERE key_id = $1', [id]);
    expect(row.rows[0].status).toBe('active'); // the read model still says active: the refusal came from the clock
  });

  it('refuses a rotated-out secret the instant its grace period ends, while the new one keeps working', async () => {
    const key = await issueUsableKey(sut, { tenantId: uniqueTenant() });
    const rotated = await request(sut.url)
      .post(`/admin/api-keys/${key.id}/rotate`)
      .set(bearer(admin))
      .send({ gracePeriodSeconds: 1 })
      .expect(200);
    const graceEndsAt = Date.parse(rotated.body.graceEndsAt as string);
    const newToken = rotated.body.key as string;
    await until(
      'the new secret to reach the replica',
      () => whoami(sut, newToken),
      (r) => r.status === 200,
    );

    const samples = await sampleAcross(graceEndsAt, () => whoami(sut, key.token));

    for (const { sentAt, receivedAt, res } of samples) {
      if (receivedAt < graceEndsAt) expect(res.status).toBe(200);
      if (sentAt >= graceEndsAt) expectErrorShape(res, 401, 'AUTH.NOT_FOUND');
    }
    expect(samples.at(-1)!.res.status).toBe(401);
    await whoami(sut, newToken).expect(200);
  });
});
