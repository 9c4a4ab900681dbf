import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ProjectionsService } from '../../src/event-store/index.js';
import { bearer } from '../support/http.js';
import { uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';
import type { Receiver } from './receiver.js';
import { startWebhookSuite, type WebhookSuite } from './webhook-suite.js';

/*
 * Finished deliveries queued longer ago than WEBHOOK_DELIVERY_RETENTION (default 30 days) are
 * deleted every WEBHOOK_PRUNE_INTERVAL (docs/webhooks.md). A first attempt that fails is final
 * here (the next one would come after WEBHOOK_RETRY_FOR), so a delivery ends `failed` at once.
 */
const PRUNE_BOUND_MS = 3000;
const ENV = { WEBHOOK_RETRY_SCHEDULE: '0,1h', WEBHOOK_RETRY_FOR: '1s', WEBHOOK_PRUNE_INTERVAL: '200ms' };
const DELIVERY_BOUND_MS = 3000;

interface Row {
  id: string;
  message_id: string;
  status: string;
}

describe('webhooks: finished deliveries are pruned after WEBHOOK_DELIVERY_RETENTION', () => {
  let suite: WebhookSuite;

  beforeAll(async () => {
    suite = await startWebhookSuite('webhooks_pruning', ENV);
  }, 60_000);

  afterAll(() => suite.close());

  const endpoint = async (tenantId: string, answer: number): Promise<{ id: string; hooks: Receiver }> => {
    const { sut, admin } = suite;
    const hooks = await suite.receiver(() => answer);
    const created = await request(sut.url)
      .post('/admin/webhooks')
      .set(bearer(admin))
      .send({ url: hooks.url, eventTypes: ['key.created'], tenantId })
      .expect(201);
    return { id: (created.body as { id: string }).id, hooks };
  };

  const rows = async (): Promise<Row[]> =>
    (await suite.pool.query<Row>('SELECT id, message_id, status FROM webhook_deliveries ORDER BY seq')).rows;

  it('deletes delivered and failed ones past the retention, never a pending one, and a rebuild does not queue them again', async () => {
    const { sut, admin, pool } = suite;
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
