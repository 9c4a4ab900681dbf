import type { Pool } from 'pg';
import { ExpirySweeper } from '../../src/keys/index.js';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { until } from '../support/poll.js';
import { uniqueTenant } from '../support/keys.js';

describe('expiry sweeper', () => {
  let instances: TestApp[];
  let pool: Pool;

  beforeAll(async () => {
    pool = testPool();
    // Sweeping is driven by the test here, so each instance's own timer stays off.
    instances = await Promise.all([1, 2, 3].map(() => createTestApp({ EXPIRY_SWEEP_ENABLED: 'false' })));
  });
  afterAll(async () => {
    await Promise.all(instances.map((i) => i.close()));
    await pool.end();
  });

  const expiredEvents = async (tenantId: string): Promise<{ n: number; keys: number; ttl: number }> => {
    const { rows } = await pool.query<{ n: string; keys: string; ttl: string }>(
      `SELECT count(*) AS n, count(DISTINCT e.stream_id) AS keys, count(*) FILTER (WHERE e.payload->>'reason' = 'ttl' AND e.metadata->'actor'->>'type' = 'system') AS ttl
       FROM events e JOIN api_keys k ON e.stream_id = 'key-' || k.key_id
       WHERE k.tenant_id = $1 AND e.type = 'key.expired'`,
      [tenantId],
    );
    return { n: Number(rows[0].n), keys: Number(rows[0].keys), ttl: Number(rows[0].ttl) };
  };

  it('writes exactly one KeyExpired per key when three instances sweep 1,000 due keys at once', async () => {
    const tenantId = uniqueTenant();
    // Far enough ahead for 1,000 creates on a slow machine; then the test waits for the deadline.
    const expiresAt = new Date(Date.now() + 15_000);
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, () => issueKey(instances[i % 3].app, { tenantId, expiresAt })));
    }
    await until("the keys' expiresAt to pass", () => Date.now() > expiresAt.getTime(), { timeoutMs: 30_000 });
    const sweepers = instances.map((i) => i.app.get(ExpirySweeper));
    // Keep all three sweeping concurrently until nothing of this tenant is due any more.
    await until(
      'no key of the tenant to be active',
      async () => {
        await Promise.all(sweepers.map((s) => s.sweep(200)));
        const { rows } = await pool.query(`SELECT 1 FROM api_keys WHERE tenant_id = $1 AND status = 'active' LIMIT 1`, [tenantId]);
        return rows.length === 0;
      },
      { timeoutMs: 60_000 },
    );
    expect(await expiredEvents(tenantId)).toEqual({ n: 1000, keys: 1000, ttl: 1000 });
  }, 120_000);

  it('leaves keys that are not due, and keys without an expiry, alone', async () => {
    const tenantId = uniqueTenant();
    await issueKey(instances[0].app, { tenantId, expiresAt: new Date(Date.now() + 3_600_000) });
    await issueKey(instances[0].app, { tenantId });
    await instances[0].app.get(ExpirySweeper).sweep();
    expect(await expiredEvents(tenantId)).toEqual({ n: 0, keys: 0, ttl: 0 });
  });
});
