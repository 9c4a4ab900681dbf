import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import request from 'supertest';
import { ProjectionsService } from '../../src/event-store/index.js';
import { auditSettled, SETUP_TIMEOUT, TIMEOUT } from '../audit/helpers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/test-database.js';
import { countStreamEvents, createKey, expectNoSecretLeaks, Secrets } from './helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { type IssuedKey, issueUsableKey, uniqueTenant } from '../support/keys.js';

/**
 * Revocation is the emergency brake: an event in a key's stream that this version cannot read (a
 * bad deploy, a newer version's event, a hand-written row) must not stop it. It is reported (log,
 * metric, /health) and shown as unknown in history; rotate and update wait for a version that
 * reads it. Runs on a database of its own: it writes rows into `events` by hand.
 */
describe('a key stream holding an event this version cannot read', () => {
  let sut: TestApp;
  let pool: Pool;
  let db: ScratchDatabase;
  let admin: IssuedKey;
  const secrets = new Secrets();
  const tenant = uniqueTenant();

  /** What a bad deploy or a hand-written row leaves: inserted past the app, as SQL would. */
  async function insertEvent(keyId: string, type: string, schemaVersion: number, payload: unknown): Promise<number> {
    const { rows } = await pool.query<{ global_position: string }>(
      `INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, payload, metadata)
       SELECT $1, max(stream_version) + 1, $2, $3, $4, $5, '{"actor":{"type":"system","id":"hand-written"}}' FROM events WHERE stream_id = $1
       RETURNING global_position`,
      [`key-${keyId}`, randomUUID(), type, schemaVersion, JSON.stringify(payload)],
    );
    return Number(rows[0].global_position);
  }

  /** A usable key with an unknown event type and a known type at an unknown schema version behind it. */
  async function keyWithUnreadableEvents(): Promise<IssuedKey & { positions: number[] }> {
    const key = await createKey(sut, secrets, admin.token, { tenantId: tenant, name: 'poisoned', scopes: ['reports:read'] });
    const positions = [
      await insertEvent(key.id, 'key.frozen', 1, { occurredAt: new Date().toISOString(), until: 'forever' }),
      await insertEvent(key.id, 'key.revoked', 7, { reason: 'from the future', occurredAt: new Date().toISOString() }),
    ];
    return { ...key, positions };
  }

  beforeAll(async () => {
    db = await createScratchDatabase('audit');
    pool = new Pool({ connectionString: db.url, max: 2 });
    sut = await createTestApp({}, db.url);
    admin = await issueUsableKey(sut, { tenantId: uniqueTenant(), scopes: ['admin'] }, { secrets });
  }, SETUP_TIMEOUT);
  afterAll(async () => {
    await expectNoSecretLeaks(sut, pool, secrets);
    await sut.close();
    await pool.end();
    await db.drop();
  });

  it(
    'still accepts revoke, and the guard then refuses the key',
    async () => {
      const key = await keyWithUnreadableEvents();
      await request(sut.url).get('/examples/whoami').set(bearer(key.token)).expect(200);

      const res = await request(sut.url)
        .post(`/admin/api-keys/${key.id}/revoke`)
        .set(bearer(admin.token))
        .send({ reason: 'leaked' })
        .expect(200);
      expect(res.body).toMatchObject({ id: key.id, status: 'revoked' });
      expect(await countStreamEvents(pool, key.id)).toBe(4); // created, two unreadable, revoked
      // The instance that answered the revoke refuses the key when the response arrives (docs/guard.md).
      await request(sut.url).get('/examples/whoami').set(bearer(key.token)).expect(401);
    },
    TIMEOUT,
  );

  it(
    'still accepts expire',
    async () => {
      const key = await keyWithUnreadableEvents();
      const res = await request(sut.url).post(`/admin/api-keys/${key.id}/expire`).set(bearer(admin.token)).expect(200);
      expect(res.body).toMatchObject({ status: 'expired' });
      expect(await countStreamEvents(pool, key.id)).toBe(4);
    },
    TIMEOUT,
  );

  it(
    'refuses rotate and update with 409 KEY.UNREADABLE_HISTORY, naming the event, and writes nothing',
    async () => {
      const key = await keyWithUnreadableEvents();
      const rotate = await request(sut.url).post(`/admin/api-keys/${key.id}/rotate`).set(bearer(admin.token)).send({});
      expectErrorShape(rotate, 409, 'KEY.UNREADABLE_HISTORY');
      expect(rotate.body.message).toMatch(/stream version 2: unknown key event type "key.frozen"/);
      expect(rotate.text).not.toMatch(/"key"\s*:/);
      const patch = await request(sut.url).patch(`/admin/api-keys/${key.id}`).set(bearer(admin.token)).send({ name: 'renamed' });
      expectErrorShape(patch, 409, 'KEY.UNREADABLE_HISTORY');
      expect(await countStreamEvents(pool, key.id)).toBe(3);
    },
    TIMEOUT,
  );

  it(
    'shows the events as unknown in the key history instead of failing',
    async () => {
      const key = await keyWithUnreadableEvents();
      const res = await request(sut.url).get(`/admin/api-keys/${key.id}/events`).set(bearer(admin.token)).expect(200);
      const items = res.body.items as {
        type: string;
        version: number;
        changes: unknown;
        unknown?: { schemaVersion: number; problem: string };
      }[];
      expect(items.map((i) => [i.type, i.version])).toEqual([
        ['key.created', 1],
        ['key.frozen', 2],
        ['key.revoked', 3],
      ]);
      expect(items[0].unknown).toBeUndefined();
      expect(items[1]).toMatchObject({ changes: {}, unknown: { schemaVersion: 1, problem: 'unknown key event type "key.frozen"' } });
      expect(items[2].unknown).toMatchObject({ schemaVersion: 7, problem: expect.stringMatching(/unsupported schema version 7/) });
      // The payload of an event nobody can read is not shown (it may hold anything).
      expect(res.text).not.toContain('forever');
    },
    TIMEOUT,
  );

  it(
    'is reported: a log line naming it, the audit log, /health and the metric',
    async () => {
      const key = await keyWithUnreadableEvents();
      await auditSettled(sut, pool, [key.id]);

      const { rows } = await pool.query<{ global_position: string; type: string; stream_version: number; problem: string }>(
        'SELECT global_position, type, stream_version, problem FROM unreadable_events WHERE stream_id = $1 ORDER BY global_position',
        [`key-${key.id}`],
      );
      expect(rows.map((r) => [Number(r.global_position), r.type, r.stream_version])).toEqual([
        [key.positions[0], 'key.frozen', 2],
        [key.positions[1], 'key.revoked', 3],
      ]);
      const audit = await pool.query<{ event_type: string; key_id: string }>(
        'SELECT event_type, key_id FROM audit_log WHERE position = $1',
        [key.positions[0]],
      );
      expect(audit.rows).toEqual([{ event_type: 'key.frozen', key_id: key.id }]);

      expect(sut.logs.join('\n')).toContain(
        `unreadable event at position ${key.positions[0]} in key-${key.id} (stream version 2): unknown key event type "key.frozen"`,
      );
      const health = await request(sut.url).get('/health').expect(200);
      expect(health.body).toMatchObject({ status: 'degraded' });
      expect(health.body.unreadableEvents).toBeGreaterThanOrEqual(2);
      const metrics = await fetch(sut.metricsUrl);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/keyledger_unreadable_events_total\{type="key.frozen"\} [1-9]/);
      // The projection went on past them: the chain still verifies.
      const verified = await request(sut.url).get('/admin/audit/verify').set(bearer(admin.token)).expect(200);
      expect(verified.body).toMatchObject({ ok: true });
    },
    TIMEOUT,
  );

  it(
    'a rebuilt read model equals the live one, unreadable events included',
    async () => {
      const key = await keyWithUnreadableEvents();
      await request(sut.url).post(`/admin/api-keys/${key.id}/revoke`).set(bearer(admin.token)).send({}).expect(200);
      const rows = async (): Promise<string[]> =>
        (await pool.query<{ row: string }>(`SELECT row_to_json(k)::text AS row FROM (SELECT * FROM api_keys ORDER BY key_id) k`)).rows.map(
          (r) => r.row,
        );
      const live = await rows();
      await sut.app.get(ProjectionsService).rebuild('active-keys');
      expect(await rows()).toEqual(live);
    },
    TIMEOUT,
  );
});
