import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import request from 'supertest';
import { ApiKey } from '../../src/keys/domain/api-key.aggregate.js';
import { ExpirySweeper, KeyRepository, systemActor } from '../../src/keys/index.js';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { bearer } from '../support/http.js';
import { issueUsableKey, uniqueTenant, type IssuedKey } from '../support/keys.js';

const DAY_MS = 86_400_000;

/**
 * Inactive keys (issue #18, item 2): with a tenant's `inactiveAfterDays`, the sweeper expires its
 * keys unused that long (`KeyExpired { reason: 'inactive' }`, with the last use it decided on); a
 * key never used counts from its creation. Use is simulated by rows in key_last_use (what the
 * instances flush), and age by keys whose KeyCreated says they were created days ago.
 */
describe('inactive key expiry', () => {
  let instances: TestApp[];
  let pool: Pool;
  let admin: IssuedKey;

  beforeAll(async () => {
    pool = testPool(2);
    // Sweeping is driven by the test here, so each instance's own timer stays off.
    instances = await Promise.all([1, 2, 3].map(() => createTestApp({ EXPIRY_SWEEP_ENABLED: 'false' })));
    admin = await issueUsableKey(instances[0], { scopes: ['admin'] });
  });
  afterAll(async () => {
    await Promise.all(instances.map((i) => i.close()));
    await pool.end();
  });

  /** A key whose events say it was created `daysAgo` days ago (and so its row's created_at). */
  const createdDaysAgo = async (tenantId: string, daysAgo: number): Promise<string> => {
    const sut = instances[0];
    const { key } = ApiKey.create(
      { keyId: randomUUID(), tenantId, name: 'old', prefix: sut.config.tokenPrefix },
      new Date(Date.now() - daysAgo * DAY_MS),
    );
    await sut.app.get(KeyRepository).save(key, { actor: systemActor('test'), requestId: 'test' });
    return key.keyId;
  };
  const usedDaysAgo = async (keyId: string, daysAgo: number): Promise<Date> => {
    const at = new Date(Date.now() - daysAgo * DAY_MS);
    await pool.query(`INSERT INTO key_last_use (key_id, last_used_at, ip, user_agent) VALUES ($1, $2, '203.0.113.9', 'test')`, [keyId, at]);
    return at;
  };
  const setPolicy = (tenantId: string, policy: Record<string, unknown>) =>
    request(instances[0].url).put(`/admin/tenants/${tenantId}/policy`).set(bearer(admin.token)).send(policy).expect(200);
  const expiredEvents = async (tenantId: string) =>
    (
      await pool.query<{ key_id: string; payload: Record<string, unknown>; actor: string }>(
        `SELECT k.key_id, e.payload, e.metadata->'actor'->>'id' AS actor
         FROM events e JOIN api_keys k ON e.stream_id = 'key-' || k.key_id
         WHERE k.tenant_id = $1 AND e.type = 'key.expired' ORDER BY k.key_id`,
        [tenantId],
      )
    ).rows;
  const sweepAll = () => Promise.all(instances.map((i) => i.app.get(ExpirySweeper).sweep(25)));

  it('expires each key unused past inactiveAfterDays exactly once with three instances sweeping at once', async () => {
    const tenantId = uniqueTenant();
    const idle: string[] = [];
    const lastUse = new Map<string, Date>();
    for (let i = 0; i < 60; i++) {
      const keyId = await createdDaysAgo(tenantId, 10);
      if (i % 2 === 0) lastUse.set(keyId, await usedDaysAgo(keyId, 3));
      idle.push(keyId);
    }
    const usedLately = await createdDaysAgo(tenantId, 10);
    await usedDaysAgo(usedLately, 1);
    await setPolicy(tenantId, { inactiveAfterDays: 2 });

    await sweepAll();
    await sweepAll();
    const events = await expiredEvents(tenantId);
    expect(events.map((e) => e.key_id)).toEqual([...idle].sort());
    for (const e of events) {
      expect(e.payload).toMatchObject({
        reason: 'inactive',
        inactiveAfterDays: 2,
        lastUsedAt: lastUse.get(e.key_id)?.toISOString() ?? null,
      });
      expect(e.actor).toBe('system:expiry-sweeper');
    }
    const { rows } = await pool.query<{ status: string }>('SELECT status FROM api_keys WHERE key_id = $1', [usedLately]);
    expect(rows[0].status).toBe('active');
  }, 60_000);

  it('counts a key never used from its creation', async () => {
    const tenantId = uniqueTenant();
    const old = await createdDaysAgo(tenantId, 3);
    const fresh = await issueKey(instances[0].app, { tenantId });
    await setPolicy(tenantId, { inactiveAfterDays: 2 });
    await sweepAll();
    expect((await expiredEvents(tenantId)).map((e) => [e.key_id, e.payload.lastUsedAt])).toEqual([[old, null]]);
    const { rows } = await pool.query<{ status: string }>('SELECT status FROM api_keys WHERE key_id = $1', [fresh.id]);
    expect(rows[0].status).toBe('active');
  });

  it('expires nothing for inactivity without the setting', async () => {
    const tenantId = uniqueTenant();
    await createdDaysAgo(tenantId, 400);
    await setPolicy(tenantId, { maxLifetimeDays: 3650 });
    await sweepAll();
    expect(await expiredEvents(tenantId)).toEqual([]);
  });
});
