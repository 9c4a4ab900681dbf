import type { Pool } from 'pg';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { createKey, expectNoSecretLeaks, Secrets, withSweeperPaused } from './helpers.js';
import { bearer, expectValidationError } from '../support/http.js';
import { type IssuedKey, issueUsableKey, uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';

interface ListedKey {
  id: string;
  tenantId: string;
  status: string;
  createdAt: string;
}

describe('GET /admin/api-keys', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: IssuedKey;
  const secrets = new Secrets();
  // One tenant with keys in every state: 5 active (created concurrently, so some share a
  // millisecond and only the key_id tie-break orders them), 2 expired (one by time), 2 revoked.
  const tenantId = uniqueTenant();
  const ids = { active: [] as string[], expired: [] as string[], revoked: [] as string[] };

  const list = (query: Record<string, string | number>) => request(sut.url).get('/admin/api-keys').query(query).set(bearer(admin.token));

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(4);
    admin = await issueUsableKey(sut, { scopes: ['admin'] }, { secrets });
    const create = (name: string, extra: Record<string, unknown> = {}) =>
      createKey(sut, secrets, admin.token, { tenantId, name, ...extra });

    ids.active = (await Promise.all([1, 2, 3, 4, 5].map((n) => create(`active ${n}`)))).map((k) => k.id);
    const [expired, expiring, revoked, deleted] = await Promise.all([
      create('expired'),
      create('expiring', { expiresAt: new Date(Date.now() + 1000).toISOString() }),
      create('revoked'),
      create('deleted'),
    ]);
    await request(sut.url).post(`/admin/api-keys/${expired.id}/expire`).set(bearer(admin.token)).expect(200);
    await request(sut.url).post(`/admin/api-keys/${revoked.id}/revoke`).set(bearer(admin.token)).send({ reason: 'test' }).expect(200);
    await request(sut.url).delete(`/admin/api-keys/${deleted.id}`).set(bearer(admin.token)).expect(200);
    ids.expired = [expired.id, expiring.id];
    ids.revoked = [revoked.id, deleted.id];
    // The "expiring" key passes its expiresAt without any KeyExpired being written.
    await until("the expiring key's expiresAt to pass", () => Date.now() >= Date.parse(expiring.body.expiresAt as string), {
      timeoutMs: 5000,
    });
    const res = await list({ tenantId, status: 'expired' }).expect(200);
    expect((res.body.items as ListedKey[]).map((k) => k.id)).toContain(expiring.id);
  });
  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  it('lists only active keys by default, newest first', async () => {
    const res = await list({ tenantId }).expect(200);
    const items = res.body.items as ListedKey[];
    expect(items.map((k) => k.id).sort()).toEqual([...ids.active].sort());
    expect(items.every((k) => k.status === 'active')).toBe(true);
    expect(res.body.nextCursor).toBeNull();
    const order = items.map((k) => [k.createdAt, k.id].join(' '));
    expect(order).toEqual([...order].sort().reverse());
  });

  it.each([
    ['expired', () => ids.expired],
    ['revoked', () => ids.revoked],
    ['all', () => [...ids.active, ...ids.expired, ...ids.revoked]],
    ['active', () => ids.active],
  ])('filters by status=%s', async (status, expected) => {
    const res = await list({ tenantId, status }).expect(200);
    const items = res.body.items as ListedKey[];
    expect(items.map((k) => k.id).sort()).toEqual([...expected()].sort());
    if (status !== 'all') expect(items.every((k) => k.status === status)).toBe(true);
  });

  it('lists a key whose expiresAt passed as expired, and never as active', async () => {
    const expired = await list({ tenantId, status: 'expired' }).expect(200);
    expect((expired.body.items as ListedKey[]).find((k) => k.id === ids.expired[1])?.status).toBe('expired');
    const active = await list({ tenantId, status: 'active' }).expect(200);
    expect((active.body.items as ListedKey[]).map((k) => k.id)).not.toContain(ids.expired[1]);
  });

  it('lists a key whose expiresAt passed as expired before the sweeper writes KeyExpired', async () => {
    await withSweeperPaused(pool, async () => {
      const key = await createKey(sut, secrets, admin.token, {
        tenantId: uniqueTenant(),
        name: 'unswept',
        expiresAt: new Date(Date.now() + 1000).toISOString(),
      });
      await until('its expiresAt to pass', () => Date.now() >= Date.parse(key.body.expiresAt as string), { timeoutMs: 5000 });
      const res = await list({ tenantId: key.body.tenantId as string, status: 'expired' }).expect(200);
      expect((res.body.items as ListedKey[]).map((k) => [k.id, k.status])).toEqual([[key.id, 'expired']]);
      expect((await list({ tenantId: key.body.tenantId as string }).expect(200)).body.items).toEqual([]);
      const { rows } = await pool.query(`SELECT 1 FROM events WHERE stream_id = $1 AND type = 'key.expired'`, [`key-${key.id}`]);
      expect(rows).toHaveLength(0);
    });
  });

  it('filters by tenantId: keys of other tenants never appear', async () => {
    const other = uniqueTenant();
    const otherKey = await createKey(sut, secrets, admin.token, { tenantId: other, name: 'other tenant' });
    const mine = await list({ tenantId, status: 'all' }).expect(200);
    expect((mine.body.items as ListedKey[]).every((k) => k.tenantId === tenantId)).toBe(true);
    const theirs = await list({ tenantId: other, status: 'all' }).expect(200);
    expect((theirs.body.items as ListedKey[]).map((k) => k.id)).toEqual([otherKey.id]);
  });

  it.each([1, 2, 3, 4])('walks every page with limit=%i: no duplicates, no gaps, the same order as one page', async (limit) => {
    const whole = await list({ tenantId, status: 'all', limit: 200 }).expect(200);
    const expected = (whole.body.items as ListedKey[]).map((k) => k.id);
    expect(expected).toHaveLength(9);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await list({ tenantId, status: 'all', limit, ...(cursor ? { cursor } : {}) }).expect(200);
      const items = res.body.items as ListedKey[];
      expect(items.length).toBeLessThanOrEqual(limit);
      seen.push(...items.map((k) => k.id));
      cursor = res.body.nextCursor as string | null;
      if (cursor !== null) expect(items).toHaveLength(limit);
      pages++;
    } while (cursor !== null && pages < 20);

    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(9 / limit));
  });

  it('keeps paging stable when keys are created between pages', async () => {
    const first = await list({ tenantId, status: 'all', limit: 4 }).expect(200);
    await createKey(sut, secrets, admin.token, { tenantId, name: 'late arrival' });
    const seen = (first.body.items as ListedKey[]).map((k) => k.id);
    let cursor = first.body.nextCursor as string | null;
    while (cursor !== null) {
      const res: request.Response = await list({ tenantId, status: 'all', limit: 4, cursor }).expect(200);
      seen.push(...(res.body.items as ListedKey[]).map((k) => k.id));
      cursor = res.body.nextCursor as string | null;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...ids.active, ...ids.expired, ...ids.revoked].sort());
  });

  it.each([
    [{ status: 'deleted' }, 'status'],
    [{ limit: 0 }, 'limit'],
    [{ limit: 201 }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ cursor: 'not-a-cursor' }, 'cursor'],
    [{ cursor: Buffer.from('["yesterday","x"]').toString('base64url') }, 'cursor'],
    [{ colour: 'red' }, 'colour'],
  ] as [Record<string, string | number>, string][])('refuses the query %j with 400 naming %s', async (query, field) => {
    const res = await list(query);
    expectValidationError(res, field);
  });

  it('leaks no plaintext key into logs, events or the read model', async () => {
    await expectNoSecretLeaks(sut, pool, secrets);
  });
});
