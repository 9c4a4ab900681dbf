import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { countStreamEvents, countTenantEvents, createKey, expectNoSecretLeaks, Secrets, streamEvents, untilUsable } from './helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { type IssuedKey, issueUsableKey, uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';

/**
 * Holds the next version of a key's stream in an open transaction, so that every append to it
 * blocks on the unique (stream_id, stream_version) index until `release()`. Requests sent while it
 * is held all load the key at the same version: a deterministic race, whatever the timing of HTTP.
 * The row is rolled back; nothing of it stays in the append-only table.
 */
async function holdNextVersion(pool: Pool, keyId: string): Promise<{ waiters(): Promise<number>; release(): Promise<void> }> {
  const client: PoolClient = await pool.connect();
  await client.query('BEGIN');
  await client.query(
    `INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, payload, metadata)
     SELECT stream_id, max(stream_version) + 1, gen_random_uuid(), 'test.barrier', 1, '{}', '{}'
     FROM events WHERE stream_id = 'key-' || $1 GROUP BY stream_id`,
    [keyId],
  );
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  let released = false;
  return {
    async waiters() {
      const res = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) AND query LIKE '%INSERT INTO events%'`,
        [rows[0].pid],
      );
      return res.rows[0].n;
    },
    async release() {
      if (released) return;
      released = true;
      try {
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
    },
  };
}

describe('concurrency and idempotency', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: IssuedKey;
  let otherAdmin: IssuedKey;
  const secrets = new Secrets();

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(6);
    admin = await issueUsableKey(sut, { scopes: ['admin'] }, { secrets });
    otherAdmin = await issueUsableKey(sut, { scopes: ['admin'] }, { secrets });
  });
  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  describe('10 concurrent rotations of one key', () => {
    it('let exactly one win; the other nine get 409 STREAM.CONCURRENCY and write nothing', async () => {
      const key = await createKey(sut, secrets, admin.token, { tenantId: uniqueTenant(), name: 'contended' });
      const barrier = await holdNextVersion(pool, key.id);
      let responses: request.Response[];
      try {
        const pending = Promise.all(
          Array.from({ length: 10 }, () =>
            request(sut.url)
              .post(`/admin/api-keys/${key.id}/rotate`)
              .set(bearer(admin.token))
              .send({ gracePeriodSeconds: 0 })
              .then((res) => res),
          ),
        );
        // Every request has loaded the key at version 1 and is waiting to append version 2.
        await until(
          'the 10 rotations to wait at the barrier',
          () => barrier.waiters(),
          (n) => n === 10,
          { timeoutMs: 10_000 },
        );
        await barrier.release();
        responses = await pending;
      } finally {
        await barrier.release();
      }

      for (const res of responses) secrets.track(res);
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses).toEqual([200, ...Array<number>(9).fill(409)]);
      for (const res of responses.filter((r) => r.status === 409)) {
        expectErrorShape(res, 409, 'STREAM.CONCURRENCY');
        expect(res.body).not.toHaveProperty('key');
      }
      expect((await streamEvents(pool, key.id)).map((e) => [e.stream_version, e.type])).toEqual([
        [1, 'key.created'],
        [2, 'key.rotated'],
      ]);

      // The winner's secret is the one that works.
      const winner = responses.find((r) => r.status === 200)!;
      await untilUsable(sut, winner.body.key as string);
      expectErrorShape(await request(sut.url).get('/examples/whoami').set(bearer(key.token)), 401, 'AUTH.NOT_FOUND');
      expect((await request(sut.url).get(`/admin/api-keys/${key.id}`).set(bearer(admin.token)).expect(200)).body.version).toBe(2);
    });

    it('let exactly one of two concurrent revokes win', async () => {
      const key = await createKey(sut, secrets, admin.token, { tenantId: uniqueTenant(), name: 'double revoke' });
      const barrier = await holdNextVersion(pool, key.id);
      let responses: request.Response[];
      try {
        const pending = Promise.all([
          request(sut.url)
            .post(`/admin/api-keys/${key.id}/revoke`)
            .set(bearer(admin.token))
            .send({ reason: 'one' })
            .then((res) => res),
          request(sut.url)
            .delete(`/admin/api-keys/${key.id}`)
            .set(bearer(otherAdmin.token))
            .then((res) => res),
        ]);
        await until(
          'the 2 revokes to wait at the barrier',
          () => barrier.waiters(),
          (n) => n === 2,
          { timeoutMs: 10_000 },
        );
        await barrier.release();
        responses = await pending;
      } finally {
        await barrier.release();
      }
      expect(responses.map((r) => r.status).sort()).toEqual([200, 409]);
      expect(await countStreamEvents(pool, key.id)).toBe(2);
    });
  });

  describe('Idempotency-Key on create', () => {
    it('returns the first key on a retry: 201 with the key, then 200 with the same id, key null and Idempotent-Replayed', async () => {
      const tenantId = uniqueTenant();
      const idempotencyKey = `create-${randomUUID()}`;
      const body = { tenantId, name: 'once', scopes: ['reports:read'], tags: { plan: 'pro' }, expiresInDays: 30 };
      const first = await request(sut.url)
        .post('/admin/api-keys')
        .set(bearer(admin.token))
        .set('Idempotency-Key', idempotencyKey)
        .send(body)
        .expect(201);
      secrets.add(first.body.key);
      expect(first.headers['idempotent-replayed']).toBeUndefined();

      const retry = await request(sut.url)
        .post('/admin/api-keys')
        .set(bearer(admin.token))
        .set('Idempotency-Key', idempotencyKey)
        .send(body)
        .expect(200);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body.key).toBeNull();
      expect(retry.body.id).toBe(first.body.id);
      expect(retry.body.publicId).toBe(first.body.publicId);
      expect(retry.body.expiresAt).toBe(first.body.expiresAt);
      expect(retry.headers.etag).toBe('"1"');

      const { rows } = await pool.query(`SELECT 1 FROM events WHERE type = 'key.created' AND payload->>'tenantId' = $1`, [tenantId]);
      expect(rows).toHaveLength(1);
      await untilUsable(sut, first.body.key as string);
    });

    it('replays the first key even after the key changed', async () => {
      const tenantId = uniqueTenant();
      const idempotencyKey = randomUUID();
      const body = { tenantId, name: 'changes later' };
      const first = await createKey(sut, secrets, admin.token, body, { 'idempotency-key': idempotencyKey });
      await request(sut.url).post(`/admin/api-keys/${first.id}/revoke`).set(bearer(admin.token)).send({}).expect(200);
      const retry = await request(sut.url)
        .post('/admin/api-keys')
        .set(bearer(admin.token))
        .set('idempotency-key', idempotencyKey)
        .send(body)
        .expect(200);
      expect(retry.body).toMatchObject({ id: first.id, status: 'revoked', key: null, version: 2 });
      expect(await countTenantEvents(pool, tenantId)).toBe(1);
    });

    it('answers 422 IDEMPOTENCY_KEY_REUSED when the same Idempotency-Key comes with a different body, writing nothing', async () => {
      const tenantId = uniqueTenant();
      const idempotencyKey = randomUUID();
      const first = await createKey(sut, secrets, admin.token, { tenantId, name: 'original' }, { 'idempotency-key': idempotencyKey });
      for (const different of [
        { tenantId, name: 'changed' },
        { tenantId, name: 'original', scopes: ['reports:read'] },
        { tenantId, name: 'original', tags: { a: 'b' } },
      ]) {
        const res = await request(sut.url)
          .post('/admin/api-keys')
          .set(bearer(admin.token))
          .set('idempotency-key', idempotencyKey)
          .send(different);
        expectErrorShape(res, 422, 'IDEMPOTENCY_KEY_REUSED');
        expect(res.body).not.toHaveProperty('key');
      }
      expect(await countTenantEvents(pool, tenantId)).toBe(1);
      expect(await countStreamEvents(pool, first.id)).toBe(1);
    });

    it('creates a separate key when another admin key uses the same Idempotency-Key', async () => {
      const tenantId = uniqueTenant();
      const idempotencyKey = randomUUID();
      const body = { tenantId, name: 'shared idempotency key' };
      const mine = await createKey(sut, secrets, admin.token, body, { 'idempotency-key': idempotencyKey });
      const theirs = await createKey(sut, secrets, otherAdmin.token, body, { 'idempotency-key': idempotencyKey });
      expect(theirs.id).not.toBe(mine.id);
      expect(theirs.token).not.toBe(mine.token);
      expect(await countTenantEvents(pool, tenantId)).toBe(2);
    });

    it('creates one key from 5 concurrent requests with the same Idempotency-Key', async () => {
      const tenantId = uniqueTenant();
      const idempotencyKey = randomUUID();
      const responses = await Promise.all(
        Array.from({ length: 5 }, () =>
          request(sut.url)
            .post('/admin/api-keys')
            .set(bearer(admin.token))
            .set('idempotency-key', idempotencyKey)
            .send({ tenantId, name: 'racy retry' })
            .then((res) => res),
        ),
      );
      for (const res of responses) secrets.track(res);
      expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
      expect(new Set(responses.map((r) => r.body.id as string)).size).toBe(1);
      expect(responses.filter((r) => typeof r.body.key === 'string')).toHaveLength(1);
      expect(await countTenantEvents(pool, tenantId)).toBe(1);
    });

    it('creates a new key for every request without an Idempotency-Key', async () => {
      const tenantId = uniqueTenant();
      const body = { tenantId, name: 'twice' };
      const a = await createKey(sut, secrets, admin.token, body);
      const b = await createKey(sut, secrets, admin.token, body);
      expect(a.id).not.toBe(b.id);
      expect(await countTenantEvents(pool, tenantId)).toBe(2);
    });
  });

  it('leaks no plaintext key into logs, events or the read model', async () => {
    await expectNoSecretLeaks(sut, pool, secrets);
  });
});
