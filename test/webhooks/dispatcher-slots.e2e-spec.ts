import { Pool } from 'pg';
import request from 'supertest';
import { bearer } from '../support/http.js';
import { issueUsableKey, uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/test-database.js';
import { startReceiver, type Receiver } from './receiver.js';
import { addEndpoint } from './webhook-suite.js';

/**
 * WEBHOOK_ENDPOINT_CONCURRENCY 2 with the default WEBHOOK_TIMEOUT (10 s) and WEBHOOK_LEASE (60 s):
 * a dispatcher leases up to 4 × 2 of an endpoint's deliveries ahead and sends 2 at once
 * (docs/webhooks.md, Concurrency).
 */
const DISPATCH = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_POLL: '100ms',
  WEBHOOK_ENDPOINT_CONCURRENCY: '2',
  EXPIRY_SWEEP_ENABLED: 'false',
};
const LIMIT = 2;
const LEASED_AHEAD = 8;
const KEYS = 12;
/** How long a delivery may take once it is due, when nothing holds it back (docs/webhooks.md). */
const DELIVERY_BOUND_MS = 3000;

const LEASES = `
SELECT count(*)::int AS leased, count(DISTINCT leased_by)::int AS dispatchers FROM webhook_deliveries
WHERE endpoint_id = $1 AND status = 'pending' AND lease_id IS NOT NULL AND leased_until > now()`;

describe('webhooks: one dispatcher at a time per endpoint, leasing ahead, sending WEBHOOK_ENDPOINT_CONCURRENCY at once', () => {
  let db: ScratchDatabase;
  let pool: Pool;
  let admin: TestApp;
  let first: TestApp | undefined;
  let second: TestApp | undefined;
  let receiver: Receiver;
  /** Answers for the requests the receiver holds, oldest first; once `answerAll`, it answers at once. */
  const held: (() => void)[] = [];
  let answerAll = false;
  let open = 0;
  let mostOpen = 0;

  beforeAll(async () => {
    db = await createScratchDatabase('webhooks_slots');
    pool = new Pool({ connectionString: db.url, max: 2 });
    admin = await createTestApp({ ...DISPATCH, WEBHOOK_DISPATCH_ENABLED: 'false' }, db.url);
    receiver = await startReceiver(() => {
      mostOpen = Math.max(mostOpen, ++open);
      return new Promise<number>((resolve) => {
        const answer = (): void => {
          open--;
          resolve(200);
        };
        if (answerAll) answer();
        else held.push(answer);
      });
    });
  }, 60_000);

  afterAll(async () => {
    answerAll = true;
    held.splice(0).forEach((answer) => answer());
    await first?.close();
    await second?.close();
    await admin.close();
    await receiver.close();
    await pool.end();
    await db.drop();
  });

  it('sends at most the limit at once, across instances; a graceful stop records what was in flight and gives back the rest', async () => {
    const token = (await issueUsableKey(admin, { scopes: ['admin'] })).token;
    const tenant = uniqueTenant();
    const { id, secret } = await addEndpoint(admin, token, { url: receiver.url, eventTypes: ['key.created'], tenantId: tenant });
    for (let i = 0; i < KEYS; i++) {
      await request(admin.url)
        .post('/admin/api-keys')
        .set(bearer(token))
        .send({ tenantId: tenant, name: `k${i}` })
        .expect(201);
    }
    const leases = async (): Promise<{ leased: number; dispatchers: number }> =>
      (await pool.query<{ leased: number; dispatchers: number }>(LEASES, [id])).rows[0];

    // One dispatcher leases 4 × the limit ahead, and sends the limit.
    first = await createTestApp(DISPATCH, db.url);
    expect(await until('the first dispatcher to lease ahead', leases, (l) => l.leased === LEASED_AHEAD)).toEqual({
      leased: LEASED_AHEAD,
      dispatchers: 1,
    });
    await until(
      'the first deliveries',
      () => receiver.received.length,
      (n) => n === LIMIT,
    );

    // Another dispatcher, given room for 100, leases nothing of that endpoint while the first holds
    // leases of it, though 4 of its deliveries are due and leased by nobody: the limit is the first
    // one's to keep. An instance of the version before (the 10-argument round) neither. The first
    // one itself would (the control). Each in a transaction that waits for the endpoint's claim lock
    // (the round's try-lock then holds it too) and is rolled back.
    const roundAs = async (dispatcher: string): Promise<unknown[]> => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT pg_advisory_xact_lock(hashtext('keyledger.webhook-endpoint'), hashtext($1))`, [id]);
        const args = `'{}', '{}', '{}', '{}', '{}', 100, 100, 60000, gen_random_uuid(), 200${dispatcher}`;
        return (await client.query<Record<string, unknown>>(`SELECT * FROM webhook_dispatch_round(${args})`)).rows;
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    };
    const holder = (
      await pool.query<{ leased_by: string }>(
        'SELECT DISTINCT leased_by FROM webhook_deliveries WHERE endpoint_id = $1 AND lease_id IS NOT NULL',
        [id],
      )
    ).rows;
    expect(holder).toHaveLength(1);
    expect(await roundAs(', gen_random_uuid()')).toEqual([]);
    expect(await roundAs('')).toEqual([]);
    expect(await roundAs(`, '${holder[0].leased_by}'::uuid`)).toHaveLength(KEYS - LEASED_AHEAD);
    second = await createTestApp(DISPATCH, db.url);

    // A response starts the next delivery; the limit still holds.
    held.shift()!();
    await until(
      'a response to start the next delivery',
      () => receiver.received.length,
      (n) => n === LIMIT + 1,
      {
        timeoutMs: DELIVERY_BOUND_MS,
      },
    );
    expect(open).toBe(LIMIT);

    // A graceful stop waits for the two in flight, records them, and gives back its other leases,
    // which the second instance sends at once rather than when they run out (60 s).
    const stopping = first.close();
    // Its dispatcher stops claiming and sending before its HTTP server closes (beforeApplicationShutdown).
    const firstUrl = first.url;
    await until('the first instance to close its server', () =>
      fetch(`${firstUrl}/health/live`).then(
        () => false,
        () => true,
      ),
    );
    answerAll = true;
    held.splice(0).forEach((answer) => answer());
    await stopping;
    first = undefined;
    // It leases nothing any more: the two in flight are recorded, the rest given back.
    const kept = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM webhook_deliveries WHERE leased_by = $1 AND lease_id IS NOT NULL AND leased_until > now()',
      [holder[0].leased_by],
    );
    expect(kept.rows[0].n).toBe(0);
    await until(
      'every delivery',
      () => receiver.received.length,
      (n) => n === KEYS,
      { timeoutMs: DELIVERY_BOUND_MS },
    );
    const ids = receiver.verifiedWith(secret).map((r) => r.id);
    expect(new Set(ids).size).toBe(KEYS); // none twice
    expect(mostOpen).toBe(LIMIT);
    await until(
      'every delivery recorded',
      async () =>
        (
          await pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'delivered'`,
            [id],
          )
        ).rows[0].n,
      (n) => n === KEYS,
      { timeoutMs: DELIVERY_BOUND_MS },
    );
  }, 90_000);
  it('gives back what it has not sent when its endpoint changes: those go to the new URL', async () => {
    const token = (await issueUsableKey(admin, { scopes: ['admin'] })).token;
    const tenant = uniqueTenant();
    const oldHeld: (() => void)[] = [];
    const old = await startReceiver(() => new Promise<number>((resolve) => oldHeld.push(() => resolve(200))));
    const moved = await startReceiver();
    try {
      const { id, secret } = await addEndpoint(admin, token, { url: old.url, eventTypes: ['key.created'], tenantId: tenant });
      for (let i = 0; i < KEYS; i++) {
        await request(admin.url)
          .post('/admin/api-keys')
          .set(bearer(token))
          .send({ tenantId: tenant, name: `m${i}` })
          .expect(201);
      }
      // The running instance leases 8 ahead and has 2 in flight to the old URL.
      await until(
        'the dispatcher to lease ahead',
        () => pool.query<{ leased: number }>(LEASES, [id]),
        (r) => r.rows[0].leased === LEASED_AHEAD,
      );
      await until(
        'the first deliveries',
        () => old.received.length,
        (n) => n === LIMIT,
      );
      const waiting = await pool.query<{ id: string; lease_id: string }>(
        `SELECT id, lease_id FROM webhook_deliveries
         WHERE endpoint_id = $1 AND status = 'pending' AND lease_id IS NOT NULL AND leased_until > now() AND NOT message_id = ANY($2::text[])`,
        [id, old.received.map((r) => r.id)],
      );
      expect(waiting.rows).toHaveLength(LEASED_AHEAD - LIMIT);

      await request(admin.url).patch(`/admin/webhooks/${id}`).set(bearer(token)).send({ url: moved.url }).expect(200);
      await until(
        'the unsent ones given back (on the change’s notification)',
        async () =>
          (
            await pool.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM webhook_deliveries w JOIN unnest($1::uuid[], $2::uuid[]) AS u(id, lease) ON w.id = u.id AND w.lease_id = u.lease`,
              [waiting.rows.map((r) => r.id), waiting.rows.map((r) => r.lease_id)],
            )
          ).rows[0].n,
        (n) => n === 0,
        { timeoutMs: DELIVERY_BOUND_MS },
      );
      oldHeld.splice(0).forEach((answer) => answer());
      await until(
        'the rest at the new URL',
        () => moved.received.length,
        (n) => n === KEYS - LIMIT,
        { timeoutMs: DELIVERY_BOUND_MS },
      );
      expect(old.received).toHaveLength(LIMIT);
      const ids = [...old.verifiedWith(secret), ...moved.verifiedWith(secret)].map((r) => r.id);
      expect(new Set(ids).size).toBe(KEYS);
    } finally {
      oldHeld.splice(0).forEach((answer) => answer());
      await old.close();
      await moved.close();
    }
  }, 90_000);
});
