import request from 'supertest';
import { bearer } from '../support/http.js';
import { issueUsableKey, uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';
import { startAppProcess, type AppProcess } from '../support/app-process.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/test-database.js';
import { startReceiver, type Receiver } from './receiver.js';
import { addEndpoint } from './webhook-suite.js';

/** A lease outlives the timeout; a delivery whose dispatcher died is due again when its lease runs out (docs/webhooks.md). */
const DISPATCH = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_POLL: '100ms',
  WEBHOOK_TIMEOUT: '2s',
  WEBHOOK_LEASE: '3s',
  EXPIRY_SWEEP_ENABLED: 'false',
};
const DELIVERY_BOUND_MS = 3000;

describe('webhooks: a dispatcher killed mid-delivery', () => {
  let db: ScratchDatabase;
  let admin: TestApp;
  let killed: AppProcess;
  let survivor: TestApp | undefined;
  let receiver: Receiver;
  let arrived: () => void;
  const firstArrival = new Promise<void>((resolve) => (arrived = resolve));

  beforeAll(async () => {
    db = await createScratchDatabase('webhooks_crash');
    // Receives the admin API calls; delivers nothing itself.
    admin = await createTestApp({ ...DISPATCH, WEBHOOK_DISPATCH_ENABLED: 'false' }, db.url);
    receiver = await startReceiver((_r, i) => {
      if (i > 0) return 200;
      arrived();
      return 'hang'; // the first attempt is in flight when its dispatcher is killed
    });
  }, 60_000);

  afterAll(async () => {
    await killed?.stop();
    await survivor?.close();
    await admin.close();
    await receiver.close();
    await db.drop();
  });

  it('is delivered by another instance once the lease runs out: retried, not lost', async () => {
    const token = (await issueUsableKey(admin, { scopes: ['admin'] })).token;
    const tenant = uniqueTenant();
    const { id, secret } = await addEndpoint(admin, token, { url: receiver.url, eventTypes: ['key.created'], tenantId: tenant });
    killed = await startAppProcess({ ...DISPATCH, DATABASE_URL: db.url });

    await request(admin.url).post('/admin/api-keys').set(bearer(token)).send({ tenantId: tenant, name: 'in flight' }).expect(201);
    await firstArrival;
    await killed.stop(); // SIGKILL while the receiver holds the request
    const killedAt = Date.now();

    survivor = await createTestApp(DISPATCH, db.url);
    await until(
      'the delivery again',
      () => receiver.received.length,
      (n) => n >= 2,
      { timeoutMs: 3000 + DELIVERY_BOUND_MS },
    );
    expect(Date.now() - killedAt).toBeLessThan(3000 + DELIVERY_BOUND_MS);
    const [first, second] = receiver.verifiedWith(secret);
    expect(second.id).toBe(first.id);
    expect(second.body).toBe(first.body);

    const log = await until(
      'the delivery log to say delivered',
      async () =>
        (
          (await request(admin.url).get(`/admin/webhooks/${id}/deliveries`).set(bearer(token)).expect(200)).body as {
            items: Record<string, unknown>[];
          }
        ).items,
      (items) => items[0]?.status === 'delivered',
      { timeoutMs: DELIVERY_BOUND_MS },
    );
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ attempts: 1, responseStatus: 200 });
  }, 90_000);
});
