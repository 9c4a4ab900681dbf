import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import pg, { Pool, type QueryResult } from 'pg';
import request from 'supertest';
import { PG_POOL } from '../../src/database/index.js';
import { ExpiringNotifier } from '../../src/webhooks/index.js';
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

/**
 * The rows that the queries `work` makes (in its own async context: no other task's) bring back to
 * Node, through a pool or a checked-out client (a pool's query calls a client's with a callback,
 * which is not counted again).
 */
async function rowsShippedBy<T>(work: () => Promise<T>): Promise<{ result: T; rows: number }> {
  const scope = new AsyncLocalStorage<{ rows: number }>();
  const targets = [pg.Pool.prototype, pg.Client.prototype] as unknown as { query: (...args: unknown[]) => unknown }[];
  const originals = targets.map((target) => target.query);
  targets.forEach((target, i) => {
    target.query = function (this: unknown, ...args: unknown[]): unknown {
      const answer = originals[i].apply(this, args);
      const tally = scope.getStore();
      if (tally && answer instanceof Promise) {
        answer.then(
          (result: QueryResult) => (tally.rows += result.rows.length),
          () => undefined,
        );
      }
      return answer;
    };
  });
  try {
    const tally = { rows: 0 };
    const result = await scope.run(tally, work);
    return { result, rows: tally.rows };
  } finally {
    targets.forEach((target, i) => (target.query = originals[i]));
  }
}

describe('webhooks: a key.expiring scan', () => {
  let db: ScratchDatabase;
  let sut: TestApp;
  const offsetSeconds = 60;
  const keys = 40;
  /** A tenant with offsets of its own, instead of the default ones. */
  const own = uniqueTenant('own');

  beforeAll(async () => {
    db = await createScratchDatabase('webhooks_expiring_scan');
    // No scan timer: the test runs each scan itself.
    sut = await createTestApp(
      {
        WEBHOOK_EXPIRING_OFFSETS: `${offsetSeconds}s`,
        WEBHOOK_EXPIRING_OFFSETS_BY_TENANT: `${own}:120s,90s`,
        WEBHOOK_DISPATCH_ENABLED: 'false',
        EXPIRY_SWEEP_ENABLED: 'false',
      },
      db.url,
    );
  }, 90_000);

  afterAll(async () => {
    await sut.close();
    await db.drop();
  });

  it('brings back to the instance only the notices it queues, none of those already queued', async () => {
    const notifier = sut.app.get(ExpiringNotifier);
    const tenant = uniqueTenant();
    // Each key is created before the moment when its offset comes, the same for them all.
    const moment = Date.now() + 8000;
    const at = (seconds: number): Date => new Date(moment + seconds * 1000);
    for (let i = 0; i < keys; i++) await issueKey(sut.app, { tenantId: tenant, name: `k${i}`, expiresAt: at(offsetSeconds) });
    // The tenant's own 90 s offset comes at the moment (its 120 s one had passed at creation); the default 60 s one does not apply to it.
    const ownDue = await issueKey(sut.app, { tenantId: own, name: 'own 90s', expiresAt: at(90) });
    const ownNotDue = await issueKey(sut.app, { tenantId: own, name: 'own 60s', expiresAt: at(offsetSeconds) });
    expect(Date.now()).toBeLessThan(moment);
    await until('the moment', () => Date.now() > moment, { timeoutMs: 8000 });

    const first = await rowsShippedBy(() => notifier.scan());
    expect(first.result).toBe(keys + 1);
    expect(first.rows).toBe(keys + 1);
    const pool = sut.app.get<Pool>(PG_POOL);
    const ownNotices = await pool.query<{ key_id: string; offset_seconds: number }>(
      'SELECT key_id, offset_seconds FROM webhook_expiry_notices WHERE key_id = ANY($1::uuid[])',
      [[ownDue.id, ownNotDue.id]],
    );
    expect(ownNotices.rows).toEqual([{ key_id: ownDue.id, offset_seconds: 90 }]);

    // All still due, all already noticed: nothing to queue, nothing to ship.
    const again = await rowsShippedBy(() => notifier.scan());
    expect(again.result).toBe(0);
    expect(again.rows).toBe(0);

    // A key due after them: only its notice comes back.
    const lateMoment = Date.now() + 3000;
    await issueKey(sut.app, { tenantId: tenant, name: 'late', expiresAt: new Date(lateMoment + offsetSeconds * 1000) });
    await until('the moment of the late key', () => Date.now() > lateMoment, { timeoutMs: 4000 });
    const third = await rowsShippedBy(() => notifier.scan());
    expect(third.result).toBe(1);
    expect(third.rows).toBe(1);
  }, 60_000);

  it('prunes a notice once the expiry it was sent for lies WEBHOOK_DELIVERY_RETENTION in the past', async () => {
    const notifier = sut.app.get(ExpiringNotifier);
    const pool = sut.app.get<Pool>(PG_POOL);
    const retention = `make_interval(secs => ${sut.config.webhooks.retentionMs / 1000})`;
    const day = 86_400;
    // Queued a retention and 10 days ago: for 1 day ahead (that expiry 9 days past the retention: pruned),
    // for 30 days ahead (that expiry 20 days within it: kept); queued now for 1 day ahead: kept.
    const [gone, kept, recent] = ['gone', 'kept', 'recent'].map(() => randomUUID());
    await pool.query(
      `INSERT INTO webhook_expiry_notices (key_id, offset_seconds, queued_at) VALUES
         ($1, ${day}, now() - ${retention} - interval '10 days'), ($2, ${30 * day}, now() - ${retention} - interval '10 days'), ($3, ${day}, now())`,
      [gone, kept, recent],
    );
    expect(await notifier.prune()).toBe(1);
    const left = await pool.query<{ key_id: string }>(
      'SELECT key_id FROM webhook_expiry_notices WHERE key_id = ANY($1::uuid[]) ORDER BY key_id',
      [[gone, kept, recent]],
    );
    expect(left.rows.map((r) => r.key_id)).toEqual([kept, recent].sort());
    expect(await notifier.prune()).toBe(0);
  });
});
