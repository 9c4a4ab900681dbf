import type { Pool } from 'pg';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { EventStore, ProjectionsService } from '../../src/event-store/index.js';
import { keyStreamId } from '@keyledger/nestjs/internal';
import { bearer, expectErrorShape, expectValidationError } from '../support/http.js';
import { issueUsableKey, uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';
import type { TestApp } from '../support/test-app.js';
import type { Receiver, startReceiver } from './receiver.js';
import { startWebhookSuite, type WebhookSuite } from './webhook-suite.js';

/*
 * Delivery is asynchronous (docs/webhooks.md): the first attempt starts within PROJECTION_POLL_MS
 * + WEBHOOK_POLL of the commit, and at once when this instance hears the event. Here 200 + 100 ms;
 * DELIVERY_BOUND_MS adds room for a loaded CI machine, and is what every wait below asserts.
 */
const DELIVERY_BOUND_MS = 3000;
const ENV = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_POLL: '100ms',
  WEBHOOK_RETRY_SCHEDULE: '0,300ms,600ms,1200ms',
  WEBHOOK_DISABLE_AFTER: '3s',
  EXPIRY_SWEEP_ENABLED: 'false',
};

describe('webhooks: endpoints, signed deliveries in order, retries, redelivery, audit', () => {
  let suite: WebhookSuite;
  let pool: Pool;
  let sut: TestApp;
  let admin: string;

  beforeAll(async () => {
    suite = await startWebhookSuite('webhooks', ENV);
    ({ pool, sut, admin } = suite);
  }, 60_000);

  afterAll(() => suite.close());

  const receiver = (...args: Parameters<typeof startReceiver>): Promise<Receiver> => suite.receiver(...args);

  const createEndpoint = async (
    token: string,
    body: Record<string, unknown>,
  ): Promise<{ id: string; secret: string; tenantId: string | null }> =>
    (
      await request(sut.url)
        .post('/admin/webhooks')
        .set(bearer(token))
        .send(body)
        .expect((r) => {
          if (r.status !== 201) throw new Error(JSON.stringify(r.body));
        })
    ).body as { id: string; secret: string; tenantId: string | null };

  const types = (r: Receiver): string[] => r.received.map((m) => m.message.type);

  it('signs every delivery (Standard Webhooks) and delivers a key’s events in order, without secrets', async () => {
    const tenant = uniqueTenant();
    const hooks = await receiver();
    const endpoint = await createEndpoint(admin, {
      url: hooks.url,
      eventTypes: ['key.created', 'key.updated', 'key.rotated', 'key.revoked'],
      tenantId: tenant,
    });
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(endpoint.tenantId).toBe(tenant);

    const created = await request(sut.url)
      .post('/admin/api-keys')
      .set(bearer(admin))
      .send({ tenantId: tenant, name: 'hooked' })
      .expect(201);
    const id = (created.body as { id: string }).id;
    const token = (created.body as { key: string }).key;
    await request(sut.url).patch(`/admin/api-keys/${id}`).set(bearer(admin)).send({ name: 'renamed' }).expect(200);
    const rotated = await request(sut.url).post(`/admin/api-keys/${id}/rotate`).set(bearer(admin)).send({}).expect(200);
    await request(sut.url).post(`/admin/api-keys/${id}/revoke`).set(bearer(admin)).send({ reason: 'done' }).expect(200);
    // Another tenant's key: not for this endpoint.
    await request(sut.url).post('/admin/api-keys').set(bearer(admin)).send({ tenantId: uniqueTenant(), name: 'other' }).expect(201);

    await until(
      'the four deliveries',
      () => hooks.received.length,
      (n) => n >= 4,
      { timeoutMs: DELIVERY_BOUND_MS * 4 },
    );
    const messages = hooks.verifiedWith(endpoint.secret);
    expect(types(hooks)).toEqual(['key.created', 'key.updated', 'key.rotated', 'key.revoked']);
    for (const m of messages) {
      expect(m.message.data).toMatchObject({ keyId: id, tenantId: tenant });
      expect(m.body).not.toMatch(/secretHash|previousSecretHash/);
      expect(m.body).not.toContain(token);
      expect(m.body).not.toContain((rotated.body as { key: string }).key);
    }
    expect(messages[1].message.data.changes).toEqual({ name: { from: 'hooked', to: 'renamed' } });
    // A tampered body fails the receiver's check.
    expect(() => startReceiverCheck(endpoint.secret, messages[0].body.replace('hooked', 'hacked'), messages[0])).toThrow();

    // The secret was shown once: never by GET, the list, an event or the audit log.
    const got = await request(sut.url).get(`/admin/webhooks/${endpoint.id}`).set(bearer(admin)).expect(200);
    expect(JSON.stringify(got.body)).not.toContain('whsec_');
    const listed = await request(sut.url).get('/admin/webhooks').set(bearer(admin)).expect(200);
    expect(JSON.stringify(listed.body)).not.toContain('whsec_');
    const secretBase64 = endpoint.secret.slice('whsec_'.length);
    const leaks = await pool.query(
      `SELECT (SELECT count(*) FROM events WHERE payload::text LIKE '%' || $1 || '%' OR metadata::text LIKE '%' || $1 || '%')::int AS events,
              (SELECT count(*) FROM webhook_secrets WHERE encode(ciphertext, 'base64') LIKE '%' || $1 || '%')::int AS plain`,
      [secretBase64],
    );
    expect(leaks.rows[0]).toEqual({ events: 0, plain: 0 });
    expect(sut.logs.join('\n')).not.toContain(secretBase64);

    const log = await request(sut.url).get(`/admin/webhooks/${endpoint.id}/deliveries`).set(bearer(admin)).expect(200);
    const items = (
      log.body as { items: { status: string; attempts: number; responseStatus: number; responseBody: string; eventType: string }[] }
    ).items;
    expect(items.map((d) => d.eventType)).toEqual(['key.revoked', 'key.rotated', 'key.updated', 'key.created']);
    for (const d of items) expect(d).toMatchObject({ status: 'delivered', attempts: 1, responseStatus: 200, responseBody: 'ok' });
  }, 60_000);

  it('retries a failing receiver with growing delays, then delivers; the log keeps the first 1 KB of the response', async () => {
    const tenant = uniqueTenant();
    const hooks = await receiver((_r, i) => (i < 3 ? 500 : 200));
    const endpoint = await createEndpoint(admin, { url: hooks.url, eventTypes: ['key.created'], tenantId: tenant });
    await request(sut.url).post('/admin/api-keys').set(bearer(admin)).send({ tenantId: tenant, name: 'flaky' }).expect(201);

    // Schedule 0, 300, 600, 1200 ms (less up to 20 % jitter): delivered within its sum and the bound.
    await until(
      'the fourth attempt',
      () => hooks.received.length,
      (n) => n >= 4,
      { timeoutMs: 2100 + DELIVERY_BOUND_MS },
    );
    hooks.verifiedWith(endpoint.secret);
    expect(new Set(hooks.received.map((r) => r.id)).size).toBe(1); // one message, attempted four times
    const gaps = hooks.received.slice(1).map((r, i) => r.at - hooks.received[i].at);
    expect(gaps[0]).toBeGreaterThanOrEqual(240);
    expect(gaps[1]).toBeGreaterThan(gaps[0]);
    expect(gaps[2]).toBeGreaterThan(gaps[1]);

    const delivery = await until(
      'the delivery log to say delivered',
      async () =>
        (
          (await request(sut.url).get(`/admin/webhooks/${endpoint.id}/deliveries`).set(bearer(admin)).expect(200)).body as {
            items: Record<string, unknown>[];
          }
        ).items[0],
      (d) => d.status === 'delivered',
      { timeoutMs: DELIVERY_BOUND_MS },
    );
    expect(delivery).toMatchObject({ attempts: 4, responseStatus: 200, error: null });

    // Manual redelivery: a new delivery of the same message (same webhook-id).
    const redelivered = await request(sut.url)
      .post(`/admin/webhooks/${endpoint.id}/deliveries/${delivery.id as string}/redeliver`)
      .set(bearer(admin))
      .expect(201);
    expect(redelivered.body).toMatchObject({ redeliveryOf: delivery.id, status: 'pending', messageId: hooks.received[0].id });
    await until(
      'the redelivery',
      () => hooks.received.length,
      (n) => n >= 5,
      { timeoutMs: DELIVERY_BOUND_MS },
    );
    expect(hooks.received[4].id).toBe(hooks.received[0].id);
    hooks.verifiedWith(endpoint.secret);
  }, 60_000);

  it('keeps the first 1 KB of a failed response and disables an endpoint failing past WEBHOOK_DISABLE_AFTER, by an event', async () => {
    const tenant = uniqueTenant();
    const hooks = await receiver(() => 500);
    const endpoint = await createEndpoint(admin, { url: hooks.url, eventTypes: ['key.created'], tenantId: tenant });
    await request(sut.url).post('/admin/api-keys').set(bearer(admin)).send({ tenantId: tenant, name: 'doomed' }).expect(201);

    // Failing at 0, 0.3, 0.9, 2.1, 3.3 s: the attempt after 3 s of failure disables it.
    const disabled = await until(
      'the endpoint to be disabled',
      async () =>
        (await request(sut.url).get(`/admin/webhooks/${endpoint.id}`).set(bearer(admin)).expect(200)).body as Record<string, unknown>,
      (e) => e.enabled === false,
      { timeoutMs: 3300 + 1200 + DELIVERY_BOUND_MS },
    );
    expect(disabled.disabledReason).toMatch(/WEBHOOK_DISABLE_AFTER/);
    const events = await pool.query<{ type: string; metadata: { actor: { id: string } } }>(
      `SELECT type, metadata FROM events WHERE stream_id = $1 ORDER BY stream_version`,
      [`webhook-${endpoint.id}`],
    );
    expect(events.rows.map((e) => e.type)).toEqual(['webhook.created', 'webhook.disabled']);
    expect(events.rows[1].metadata.actor.id).toBe('system:webhook-dispatcher');

    const log = await request(sut.url).get(`/admin/webhooks/${endpoint.id}/deliveries`).set(bearer(admin)).expect(200);
    const [d] = (log.body as { items: { status: string; responseStatus: number; responseBody: string; error: string }[] }).items;
    expect(d.responseStatus).toBe(500);
    expect(d.responseBody).toBe('x'.repeat(1024));
    expect(d.error).toBe('status 500');
  }, 60_000);

  it('sends key.leaked (and key.revoked) for a revocation with reasonCode leaked', async () => {
    const tenant = uniqueTenant();
    const hooks = await receiver();
    const endpoint = await createEndpoint(admin, { url: hooks.url, eventTypes: ['key.leaked'], tenantId: tenant });
    const key = await issueUsableKey(sut, { tenantId: tenant });
    // reasonCode is written by the leaked-key reports (issue #19 item 5); appended here as they will.
    await sut.app.get(EventStore).append(
      keyStreamId(key.id),
      1,
      [
        {
          type: 'key.revoked',
          schemaVersion: 1,
          payload: { reason: 'found in a public repository', reasonCode: 'leaked', occurredAt: new Date().toISOString() },
        },
      ],
      { actor: { type: 'system', id: 'system:test' }, requestId: 'test' },
    );
    await until(
      'key.leaked',
      () => hooks.received.length,
      (n) => n >= 1,
      { timeoutMs: DELIVERY_BOUND_MS },
    );
    const [leaked] = hooks.verifiedWith(endpoint.secret);
    expect(leaked.message).toMatchObject({ type: 'key.leaked', data: { keyId: key.id, publicId: key.publicId, reasonCode: 'leaked' } });
  }, 30_000);

  it('tenant keys manage only their tenant’s endpoints; platform-wide ones hear every tenant', async () => {
    const [a, b] = [uniqueTenant('a'), uniqueTenant('b')];
    const aKey = (await issueUsableKey(sut, { tenantId: a, scopes: ['webhooks:manage', 'keys:manage'] })).token;
    const bKey = (await issueUsableKey(sut, { tenantId: b, scopes: ['webhooks:manage'] })).token;
    const hooks = await receiver();
    const own = await createEndpoint(aKey, { url: hooks.url, eventTypes: ['key.created'] });
    expect(own.tenantId).toBe(a);
    expectErrorShape(
      await request(sut.url)
        .post('/admin/webhooks')
        .set(bearer(aKey))
        .send({ url: hooks.url, eventTypes: ['key.created'], tenantId: b }),
      403,
      'WEBHOOK.FORBIDDEN',
    );
    expectErrorShape(await request(sut.url).get(`/admin/webhooks/${own.id}`).set(bearer(bKey)), 404, 'WEBHOOK.NOT_FOUND');
    expectErrorShape(
      await request(sut.url).patch(`/admin/webhooks/${own.id}`).set(bearer(bKey)).send({ enabled: false }),
      404,
      'WEBHOOK.NOT_FOUND',
    );
    expectErrorShape(await request(sut.url).delete(`/admin/webhooks/${own.id}`).set(bearer(bKey)), 404, 'WEBHOOK.NOT_FOUND');
    const bList = await request(sut.url).get('/admin/webhooks').set(bearer(bKey)).expect(200);
    expect((bList.body as { items: unknown[] }).items).toEqual([]);

    const platformHooks = await receiver();
    const platform = await createEndpoint(admin, { url: platformHooks.url, eventTypes: ['key.created'] });
    expect(platform.tenantId).toBeNull();
    expectErrorShape(await request(sut.url).get(`/admin/webhooks/${platform.id}`).set(bearer(aKey)), 404, 'WEBHOOK.NOT_FOUND');
    await request(sut.url).post('/admin/api-keys').set(bearer(aKey)).send({ tenantId: a, name: 'mine' }).expect(201);
    await until(
      'both endpoints to hear of it',
      () => hooks.received.length + platformHooks.received.length,
      (n) => n >= 2,
      { timeoutMs: DELIVERY_BOUND_MS },
    );
    expect(hooks.verifiedWith(own.secret)[0].message.data.tenantId).toBe(a);
    expect(platformHooks.verifiedWith(platform.secret)[0].message.data.tenantId).toBe(a);
  }, 30_000);

  it('rebuilding the webhook projections changes no endpoint and queues nothing again', async () => {
    const tenant = uniqueTenant();
    const hooks = await receiver();
    const endpoint = await createEndpoint(admin, { url: hooks.url, eventTypes: ['key.created'], tenantId: tenant });
    await request(sut.url).post('/admin/api-keys').set(bearer(admin)).send({ tenantId: tenant, name: 'before the rebuild' }).expect(201);
    await until(
      'the delivery',
      () => hooks.received.length,
      (n) => n >= 1,
      { timeoutMs: DELIVERY_BOUND_MS },
    );
    const snapshot = async (): Promise<unknown[]> =>
      (
        await pool.query<Record<string, unknown>>(
          'SELECT id, tenant_id, url, event_types, enabled, disabled_reason, version, updated_at FROM webhook_endpoints ORDER BY id',
        )
      ).rows.concat(
        // Which deliveries exist, not their status: the dispatcher may still be recording an earlier test's delivery.
        (await pool.query<Record<string, unknown>>('SELECT id, endpoint_id, message_id FROM webhook_deliveries ORDER BY seq')).rows,
      );
    const before = await snapshot();
    const projections = sut.app.get(ProjectionsService);
    await projections.rebuild('webhook-endpoints');
    await projections.rebuild('webhook-outbox');
    expect(await snapshot()).toEqual(before);
    await request(sut.url).post('/admin/api-keys').set(bearer(admin)).send({ tenantId: tenant, name: 'after the rebuild' }).expect(201);
    await until(
      'the next delivery',
      () => hooks.received.length,
      (n) => n >= 2,
      { timeoutMs: DELIVERY_BOUND_MS },
    );
    // The first key's delivery was not sent again by the rebuild.
    expect(hooks.verifiedWith(endpoint.secret).map((m) => m.message.data.name)).toEqual(['before the rebuild', 'after the rebuild']);
  }, 60_000);

  it('refuses bad input with a 4xx and writes no event', async () => {
    const before = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0].n;
    const post = (body: unknown) =>
      request(sut.url)
        .post('/admin/webhooks')
        .set(bearer(admin))
        .send(body as object);
    expectErrorShape(await post({ url: 'https://example.com/h', eventTypes: ['key.exploded'] }), 400, 'VALIDATION');
    expectErrorShape(await post({ url: 'https://example.com/h', eventTypes: [] }), 400, 'VALIDATION');
    expectErrorShape(await post({ url: 'not a url', eventTypes: ['key.created'] }), 400, 'WEBHOOK.URL_REFUSED');
    expectErrorShape(await post({ url: 'ftp://example.com/h', eventTypes: ['key.created'] }), 400, 'WEBHOOK.URL_REFUSED');
    expectErrorShape(await request(sut.url).get('/admin/webhooks/not-a-uuid').set(bearer(admin)), 404, 'WEBHOOK.NOT_FOUND');
    expect((await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0].n).toBe(before);
  });

  it('takes If-Match on PATCH: a stale ETag is a 412 that writes no event, the current one a 200, a malformed one a 400', async () => {
    const hooks = await receiver();
    const endpoint = await createEndpoint(admin, { url: hooks.url, eventTypes: ['key.created'], tenantId: uniqueTenant() });
    const path = `/admin/webhooks/${endpoint.id}`;
    const patch = (ifMatch: string, body: object) => request(sut.url).patch(path).set(bearer(admin)).set('If-Match', ifMatch).send(body);
    const read = await request(sut.url).get(path).set(bearer(admin)).expect(200);
    expect(read.headers.etag).toBe('"1"');
    // Someone else's edit, made with the ETag both read.
    const theirs = await patch(read.headers.etag, { eventTypes: ['key.revoked'] }).expect(200);
    expect(theirs.headers.etag).toBe('"2"');
    const events = async (): Promise<number> =>
      (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE stream_id = $1', [`webhook-${endpoint.id}`])).rows[0].n;
    expect(await events()).toBe(2);

    const stale = await patch(read.headers.etag, { enabled: false });
    expectErrorShape(stale, 412, 'WEBHOOK.VERSION_MISMATCH');
    expect(stale.body.message).toContain('If-Match was version 1, it is now at version 2');
    // Even an edit that would change nothing is refused: the caller's picture of the endpoint is out of date.
    expectErrorShape(await patch(read.headers.etag, { eventTypes: ['key.revoked'] }), 412, 'WEBHOOK.VERSION_MISMATCH');
    expectValidationError(await patch('yesterday', { enabled: false }), 'If-Match');
    expect(await events()).toBe(2);
    expect((await request(sut.url).get(path).set(bearer(admin)).expect(200)).body).toMatchObject({
      enabled: true,
      eventTypes: ['key.revoked'],
    });

    const mine = await patch(theirs.headers.etag, { enabled: false }).expect(200);
    expect(mine.body).toMatchObject({ enabled: false, version: 3 });
    expect(mine.headers.etag).toBe('"3"');
    expect(await events()).toBe(3);
  });

  it('puts endpoint changes in the audit chain with tenant, actor and changes, and the chain verifies', async () => {
    const tenant = uniqueTenant();
    const hooks = await receiver();
    const endpoint = await createEndpoint(admin, { url: hooks.url, eventTypes: ['key.created'], tenantId: tenant });
    await request(sut.url)
      .patch(`/admin/webhooks/${endpoint.id}`)
      .set(bearer(admin))
      .send({ eventTypes: ['key.revoked'], enabled: false })
      .expect(200);
    expect((await request(sut.url).delete(`/admin/webhooks/${endpoint.id}`).set(bearer(admin)).expect(200)).body).toEqual({
      id: endpoint.id,
      deleted: true,
    });
    expectErrorShape(await request(sut.url).get(`/admin/webhooks/${endpoint.id}`).set(bearer(admin)), 404, 'WEBHOOK.NOT_FOUND');

    const rows = await until(
      'the audit log to hold the three endpoint events',
      async () =>
        (
          (await request(sut.url).get('/admin/audit').query({ tenantId: tenant, limit: 100 }).set(bearer(admin)).expect(200)).body as {
            items: Record<string, unknown>[];
          }
        ).items.filter((r) => typeof r.type === 'string' && r.type.startsWith('webhook.')),
      (r) => r.length === 3,
      { timeoutMs: 10_000 },
    );
    const byType = Object.fromEntries(rows.map((r) => [r.type as string, r]));
    expect(byType['webhook.created']).toMatchObject({
      tenantId: tenant,
      changes: { url: { from: null, to: hooks.url }, enabled: { from: null, to: true } },
    });
    expect(byType['webhook.updated']).toMatchObject({
      tenantId: tenant,
      changes: { eventTypes: { from: ['key.created'], to: ['key.revoked'] }, enabled: { from: true, to: false } },
    });
    expect(byType['webhook.deleted']).toMatchObject({ tenantId: tenant });
    for (const r of rows) expect(JSON.stringify(r.actor)).toContain('api-key');
    const verified = await request(sut.url).get('/admin/audit/verify').set(bearer(admin)).expect(200);
    expect(verified.body).toMatchObject({ ok: true });
  }, 30_000);
});

function startReceiverCheck(secret: string, body: string, original: { headers: Record<string, unknown> }): void {
  new Webhook(secret).verify(body, {
    'webhook-id': String(original.headers['webhook-id']),
    'webhook-timestamp': String(original.headers['webhook-timestamp']),
    'webhook-signature': String(original.headers['webhook-signature']),
  });
}
