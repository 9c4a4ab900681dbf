import { Pool } from 'pg';
import request from 'supertest';
import { bearer, expectErrorShape } from '../support/http.js';
import { issueUsableKey, uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/test-database.js';
import { startReceiver, type Receiver } from './receiver.js';

/** The first attempt starts within PROJECTION_POLL_MS + WEBHOOK_POLL of the commit (docs/webhooks.md), with room for a loaded machine. */
const DELIVERY_BOUND_MS = 3000;

describe('webhooks: SSRF protection at create time and at send time', () => {
  let db: ScratchDatabase;
  let pool: Pool;
  /** Production rules: no private networks, https only; it dispatches. */
  let strict: TestApp;
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS=true, not dispatching: lets an endpoint on loopback be created. */
  let lenient: TestApp;
  let admin: string;
  let receiver: Receiver;

  beforeAll(async () => {
    db = await createScratchDatabase('webhooks_ssrf');
    pool = new Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => undefined);
    strict = await createTestApp({ WEBHOOK_POLL: '100ms', EXPIRY_SWEEP_ENABLED: 'false' }, db.url);
    lenient = await createTestApp(
      { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_DISPATCH_ENABLED: 'false', EXPIRY_SWEEP_ENABLED: 'false' },
      db.url,
    );
    admin = (await issueUsableKey(strict, { scopes: ['admin'] })).token;
    receiver = await startReceiver();
  }, 60_000);

  afterAll(async () => {
    await strict.close();
    await lenient.close();
    await receiver.close();
    await pool.end();
    await db.drop();
  });

  it.each([
    ['loopback', 'https://127.0.0.1/hooks', /loopback/],
    ['10/8', 'https://10.1.2.3/hooks', /private/],
    ['172.16/12', 'https://172.20.0.5/hooks', /private/],
    ['192.168/16', 'https://192.168.1.1/hooks', /private/],
    ['link-local', 'https://169.254.10.10/hooks', /link-local/],
    ['cloud metadata', 'https://169.254.169.254/latest/meta-data', /metadata/],
    ['IPv6 loopback', 'https://[::1]/hooks', /loopback/],
    ['IPv6 unique local', 'https://[fd12::1]/hooks', /private/],
    ['IPv4-mapped IPv6', 'https://[::ffff:127.0.0.1]/hooks', /IPv4-mapped/],
    ['unspecified', 'https://0.0.0.0/hooks', /unspecified/],
    ['a name resolving to loopback', 'https://localhost/hooks', /resolves to a loopback/],
    ['plain http', 'http://example.com/hooks', /https/],
    ['credentials in the URL', 'https://user:pw@example.com/hooks', /user name or password/],
  ])('refuses %s at create time with a 400 and writes no event', async (_what, url, message) => {
    const before = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0].n;
    const res = await request(strict.url)
      .post('/admin/webhooks')
      .set(bearer(admin))
      .send({ url, eventTypes: ['key.created'] });
    expectErrorShape(res, 400, 'WEBHOOK.URL_REFUSED');
    expect((res.body as { message: string }).message).toMatch(message);
    await expect(pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events').then((r) => r.rows[0].n)).resolves.toBe(before);
  });

  it('checks again at send time: an endpoint whose name resolves to loopback gets no connection', async () => {
    const tenant = uniqueTenant();
    const port = new URL(receiver.url).port;
    // Allowed where it was created (private networks allowed there), refused where it is sent from.
    const created = await request(lenient.url)
      .post('/admin/webhooks')
      .set(bearer(admin))
      .send({ url: `https://localhost:${port}/hooks`, eventTypes: ['key.created'], tenantId: tenant })
      .expect(201);
    const endpointId = (created.body as { id: string }).id;
    await request(strict.url).post('/admin/api-keys').set(bearer(admin)).send({ tenantId: tenant, name: 'ssrf' }).expect(201);

    const delivery = await until(
      'the strict dispatcher to attempt it',
      async () =>
        (
          (await request(strict.url).get(`/admin/webhooks/${endpointId}/deliveries`).set(bearer(admin)).expect(200)).body as {
            items: Record<string, unknown>[];
          }
        ).items[0],
      (d) => d !== undefined && (d.attempts as number) >= 1,
      { timeoutMs: DELIVERY_BOUND_MS },
    );
    expect(delivery).toMatchObject({ status: 'pending', responseStatus: null });
    expect(delivery.error).toMatch(/resolves to a loopback/);
    expect(receiver.connections()).toBe(0);
  });
});
