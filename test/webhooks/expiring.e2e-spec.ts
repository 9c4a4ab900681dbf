import { Pool } from 'pg';
import request from 'supertest';
import { bearer } from '../support/http.js';
import { issueUsableKey, uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/test-database.js';
import { startReceiver, type Receiver } from './receiver.js';

/** Offsets of seconds instead of days (WEBHOOK_EXPIRING_OFFSETS), scanned every 100 ms by each of three instances. */
const ENV = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_POLL: '100ms',
  WEBHOOK_EXPIRING_OFFSETS: '3s,2s,1s',
  WEBHOOK_EXPIRING_SCAN: '100ms',
  EXPIRY_SWEEP_ENABLED: 'false',
};
/** A notice is queued within WEBHOOK_EXPIRING_SCAN of its moment and sent within WEBHOOK_POLL; room for a loaded machine. */
const NOTICE_BOUND_MS = 3000;

describe('webhooks: key.expiring across three instances', () => {
  let db: ScratchDatabase;
  let pool: Pool;
  const apps: TestApp[] = [];
  let receiver: Receiver;

  beforeAll(async () => {
    db = await createScratchDatabase('webhooks_expiring');
    pool = new Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => undefined);
    for (let i = 0; i < 3; i++) apps.push(await createTestApp(ENV, db.url));
    receiver = await startReceiver();
  }, 90_000);

  afterAll(async () => {
    for (const app of apps) await app.close();
    await receiver.close();
    await pool.end();
    await db.drop();
  });

  it('sends each offset exactly once per key, skipping offsets already past when the key was created', async () => {
    const [app] = apps;
    const token = (await issueUsableKey(app, { scopes: ['admin'] })).token;
    const tenant = uniqueTenant();
    const created = await request(app.url)
      .post('/admin/webhooks')
      .set(bearer(token))
      .send({ url: receiver.url, eventTypes: ['key.expiring'], tenantId: tenant })
      .expect(201);
    const secret = (created.body as { secret: string }).secret;

    const longExpiresAt = Date.now() + 4500;
    const shortExpiresAt = Date.now() + 1600; // 3 s and 2 s had passed at creation
    const long = await issueKey(app.app, { tenantId: tenant, name: 'long', expiresAt: new Date(longExpiresAt) });
    const short = await issueKey(app.app, { tenantId: tenant, name: 'short', expiresAt: new Date(shortExpiresAt) });
    const expected = [
      [long.id, 3],
      [long.id, 2],
      [long.id, 1],
      [short.id, 1],
    ];
    await until(
      'the four notices',
      () => receiver.received.length,
      (n) => n >= expected.length,
      { timeoutMs: 4500 + NOTICE_BOUND_MS },
    );
    // No notice after a key's expiresAt: past it, nothing more can come.
    // Past both keys' expiresAt (and a few scans of every instance) nothing more can be queued for them.
    await until('both keys to be past their expiresAt', () => Date.now() > longExpiresAt + 500, { timeoutMs: 4500 + NOTICE_BOUND_MS });
    const notices = receiver.verifiedWith(secret).map((r) => [r.message.data.keyId, r.message.data.offsetSeconds]);
    expect(notices.sort()).toEqual(expected.sort());
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(expected.length);
    for (const r of receiver.received) expect(r.message.type).toBe('key.expiring');
    const keys = {
      [long.id]: { publicId: long.publicId, name: 'long', expiresAt: new Date(longExpiresAt).toISOString() },
      [short.id]: { publicId: short.publicId, name: 'short', expiresAt: new Date(shortExpiresAt).toISOString() },
    };
    for (const { message } of receiver.received) {
      const keyId = message.data.keyId as string;
      expect(message.data).toEqual({ keyId, tenantId: tenant, ...keys[keyId], offsetSeconds: message.data.offsetSeconds });
    }
    const rows = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_expiry_notices');
    expect(rows.rows[0].n).toBe(expected.length);
  }, 60_000);
});
