import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import request from 'supertest';
import { ProjectionsService } from '../../src/event-store/index.js';
import { bearer } from '../support/http.js';
import { issueUsableKey, uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/test-database.js';
import { startReceiver, type Receiver } from './receiver.js';

/*
 * Finished deliveries queued longer ago than WEBHOOK_DELIVERY_RETENTION (default 30 days) are
 * deleted every WEBHOOK_PRUNE_INTERVAL (docs/webhooks.md). A first attempt that fails is final
 * here (the next one would come after WEBHOOK_RETRY_FOR), so a delivery ends `failed` at once.
 */
const PRUNE_BOUND_MS = 3000;
const ENV = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_POLL: '100ms',
  WEBHOOK_RETRY_SCHEDULE: '0,1h',
  WEBHOOK_RETRY_FOR: '1s',
  WEBHOOK_PRUNE_INTERVAL: '200ms',
  EXPIRY_SWEEP_ENABLED: 'false',
};
const DELIVERY_BOUND_MS = 3000;

interface Row {
  id: string;
  message_id: string;
  status: string;
}

describe('webhooks: finished deliveries are pruned after WEBHOOK_DELIVERY_RETENTION', () => {
  let db: ScratchDatabase;
  let pool: Pool;
  let sut: TestApp;
  let admin: string;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    db = await createScratchDatabase('webhooks_pruning');
    pool = new Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => undefined);
    sut = await createTestApp(ENV, db.url);
    admin = (await issueUsableKey(sut, { scopes: ['admin'] })).token;
  }, 60_000);

  afterAll(async () => {
    await sut.close();
    for (const r of receivers) await r.close();
    await pool.end();
    await db.drop();
  });

  const endpoint = async (tenantId: string, answer: number): Promise<{ id: string; hooks: Receiver }> => {
    const hooks = await startReceiver(() => answer);
    receivers.push(hooks);
    const created = await request(sut.url)
      .post('/admin/webhooks')
      .set(bearer(admin))
      .send({ url: hooks.url, eventTypes: ['key.created'], tenantId })
      .expect(201);
    return { id: (created.body as { id: string }).id, hooks };
  };

  const rows = async (): Promise<Row[]> =>
    (await pool.query<Row>('SELECT id, message_id, status FROM webhook_deliveries ORDER BY seq')).rows;

  it('deletes delivered and failed ones past the retention, never a pending one, and a rebuild does not queue them again', async () => {
    const tenant = uniqueTenant();
    const ok = await endpoint(tenant, 200);
    const failing = await endpoint(tenant, 500);
    await request(sut.url).post('/admin/api-keys').set(bearer(admin)).send({ tenantId: tenant, name: 'old news' }).expect(201);
    const finished = await until(
      'one delivery delivered and one failed',
      rows,
      (r) => r.length === 2 && r.every((d) => d.status !== 'pending'),
      { timeoutMs: DELIVERY_BOUND_MS },
    );
    expect(finished.map((d) => d.status).sort()).toEqual(['delivered', 'failed']);
    // They were queued 31 days ago; so was a delivery still pending (its next attempt is an hour away).
    const pending = randomUUID();
    await pool.query(
      `INSERT INTO webhook_deliveries (id, endpoint_id, message_id, event_type, order_key, payload, next_attempt_at)
       VALUES ($1, $2, 'msg_still_pending', 'key.created', $3, '{}', now() + interval '1 hour')`,
      [pending, failing.id, randomUUID()],
    );
    await pool.query(`UPDATE webhook_deliveries SET created_at = now() - interval '31 days'`);
    // And a recent one, delivered: kept.
    await request(sut.url).post('/admin/api-keys').set(bearer(admin)).send({ tenantId: tenant, name: 'recent' }).expect(201);
    await until(
      'the recent delivery',
      () => ok.hooks.received.length,
      (n) => n >= 2,
      { timeoutMs: DELIVERY_BOUND_MS },
    );

    const left = await until(
      'the finished deliveries past the retention to be pruned',
      rows,
      (r) => !r.some((d) => finished.some((f) => f.id === d.id)),
      { timeoutMs: PRUNE_BOUND_MS },
    );
    expect(left.map((d) => d.id)).toContain(pending);
    expect(left.filter((d) => d.id !== pending)).toHaveLength(2); // the recent key's, to each endpoint
    expect(left.find((d) => d.id === pending)?.status).toBe('pending');

    // A rebuild replays the events, but not those whose deliveries may have been pruned: it queues nothing.
    const queued = async (): Promise<string[]> => (await rows()).map((d) => `${d.id} ${d.message_id}`);
    const before = await queued();
    await sut.app.get(ProjectionsService).rebuild('webhook-outbox');
    expect(await queued()).toEqual(before);
    expect(ok.hooks.received.map((r) => r.message.data.name)).toEqual(['old news', 'recent']);
  }, 60_000);
});
