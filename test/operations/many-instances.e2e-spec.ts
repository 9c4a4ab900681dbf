import type { Pool } from 'pg';
import { ProjectionsService } from '../../src/event-store/index.js';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { eventually } from '../support/poll.js';
import { uniqueTenant } from '../support/keys.js';

const json = { 'content-type': 'application/json' };

describe('three instances on one database under mixed admin and verify load', () => {
  let instances: TestApp[];
  let pool: Pool;
  beforeAll(async () => {
    pool = testPool();
    instances = await Promise.all([1, 2, 3].map(() => createTestApp({ EXPIRY_SWEEP_ENABLED: 'false' })));
  });
  afterAll(async () => {
    await Promise.all(instances.map((i) => i.close()));
    await pool.end();
  });

  it('loses and duplicates no event, and every instance ends with the same view', async () => {
    const tenantId = uniqueTenant();
    const admin = await issueKey(instances[0].app, { scopes: ['admin'] });
    const verifierKey = await issueKey(instances[0].app, { scopes: ['keys:verify', 'keys:verify:all-tenants'] });
    for (const i of instances) {
      const verifier = i.app.get((await import('@keyledger/nestjs')).KeyVerifier);
      const deadline = Date.now() + 5000;
      while (verifier.verify(admin.token).code !== 'VALID' || verifier.verify(verifierKey.token).code !== 'VALID') {
        if (Date.now() > deadline) throw new Error('keys did not reach every replica');
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const call = async (i: number, path: string, body?: unknown): Promise<Response> =>
      fetch(`${instances[i % 3].url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { ...json, 'x-api-key': path.startsWith('/v1') ? verifierKey.token : admin.token },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    // Each acknowledged command must have written exactly one event.
    const acknowledged = new Map<string, number>(); // keyId -> acknowledged command count (create included)
    const created: { id: string; key: string }[] = [];
    let verifications = 0;
    await Promise.all(
      Array.from({ length: 6 }, async (_, worker) => {
        for (let n = 0; n < 15; n++) {
          const res = await call(worker + n, '/admin/api-keys', { tenantId, name: `w${worker}-${n}` });
          expect(res.status).toBe(201);
          const body = (await res.json()) as { id: string; key: string };
          created.push(body);
          acknowledged.set(body.id, 1);
          // Mixed traffic: verify through another instance, then rotate or revoke through a third.
          const verify = await call(worker + n + 1, '/v1/keys/verify', { key: body.key });
          expect(verify.status).toBe(200);
          verifications++;
          const action = n % 3 === 0 ? 'revoke' : 'rotate';
          const changed = await call(worker + n + 2, `/admin/api-keys/${body.id}/${action}`, {});
          if (changed.status === 200) acknowledged.set(body.id, 2);
          else expect(changed.status).toBe(409);
        }
      }),
    );
    expect(verifications).toBe(90);

    const { rows } = await pool.query<{ stream_id: string; n: string; max: number; distinct_versions: string }>(
      `SELECT stream_id, count(*) AS n, max(stream_version) AS max, count(DISTINCT stream_version) AS distinct_versions
       FROM events WHERE stream_id = ANY($1::text[]) GROUP BY stream_id`,
      [[...acknowledged.keys()].map((id) => `key-${id}`)],
    );
    expect(rows).toHaveLength(acknowledged.size);
    for (const r of rows) {
      const keyId = r.stream_id.slice(4);
      expect(Number(r.n)).toBe(acknowledged.get(keyId));
      expect(Number(r.distinct_versions)).toBe(Number(r.n)); // versions 1..n, no gaps, no doubles
      expect(r.max).toBe(Number(r.n));
    }

    // The async audit projection saw each of these events exactly once. Another app on this
    // database (test files run in parallel) may hold the projection's turn: wait for the rows.
    const total = [...acknowledged.values()].reduce((a, b) => a + b, 0);
    await eventually(
      'the audit projection to hold each event exactly once',
      async () => {
        await Promise.all(instances.map((i) => i.app.get(ProjectionsService).catchUp()));
        const audit = await pool.query<{ n: string; positions: string }>(
          `SELECT count(*) AS n, count(DISTINCT position) AS positions FROM audit_log WHERE tenant_id = $1`,
          [tenantId],
        );
        expect(Number(audit.rows[0].n)).toBe(total);
        expect(Number(audit.rows[0].positions)).toBe(total);
      },
      { timeoutMs: 30_000 },
    );

    // Every instance's guard ends with the same answer for every key.
    // (Asked of each guard directly: through the verify API, the 60 refusals of rotated-away secrets
    // on each instance would reach the caller's failure limit, which is shared across instances.)
    const { KeyVerifier } = await import('@keyledger/nestjs');
    for (const { key } of created) {
      const answers = await Promise.all(instances.map(async (i) => (await i.app.get(KeyVerifier).check(key)).code));
      expect(new Set(answers).size).toBe(1);
    }
  }, 120_000);
});
