import request from 'supertest';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { SETUP_TIMEOUT, TIMEOUT } from './helpers.js';
import { bearer, expectValidationError } from '../support/http.js';
import { uniqueTenant } from '../support/keys.js';

interface HistoryItem {
  type: string;
  occurredAt: string;
  recordedAt: string;
  changes: Record<string, unknown>;
}

const shift = (iso: string, ms: number): string => new Date(Date.parse(iso) + ms).toISOString();

/**
 * activeAt and asOf replay each key's events up to the instant asked for, by the time each event
 * occurred (payload.occurredAt): exact to the millisecond at every boundary.
 */
describe('temporal queries: activeAt and asOf at the exact boundaries', () => {
  let sut: TestApp;
  let admin: { id: string; token: string };
  const X = uniqueTenant();

  const as = (method: 'get' | 'post' | 'patch', path: string) => request(sut.url)[method](path).set(bearer(admin.token));

  async function create(body: Record<string, unknown> = {}): Promise<{ id: string; publicId: string }> {
    const res = await as('post', '/admin/api-keys')
      .send({ tenantId: X, name: 'temporal', ...body })
      .expect(201);
    return { id: res.body.id, publicId: res.body.publicId };
  }

  async function history(id: string): Promise<HistoryItem[]> {
    return (await as('get', `/admin/api-keys/${id}/events`).expect(200)).body.items as HistoryItem[];
  }

  async function occurred(id: string, type: string): Promise<string> {
    const item = (await history(id)).find((e) => e.type === type);
    if (!item) throw new Error(`no ${type} for ${id}`);
    return item.occurredAt;
  }

  /** The ids GET /admin/api-keys?activeAt= lists for the tenant, following every page. */
  async function activeAt(at: string): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await as('get', '/admin/api-keys')
        .query({ tenantId: X, activeAt: at, limit: 2, ...(cursor ? { cursor } : {}) })
        .expect(200);
      ids.push(...(res.body.items as { id: string }[]).map((k) => k.id));
      cursor = res.body.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return ids;
  }

  const asOf = (id: string, at: string) => as('get', `/admin/api-keys/${id}`).query({ asOf: at });

  beforeAll(async () => {
    sut = await createTestApp();
    admin = await issueKey(sut.app, { scopes: ['admin'] });
    const deadline = Date.now() + 10_000;
    while ((await as('get', '/admin/api-keys').query({ tenantId: X })).status === 401) {
      if (Date.now() > deadline) throw new Error('admin key never became usable');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }, SETUP_TIMEOUT);

  afterAll(() => sut.close());

  it(
    'creation: absent 1 ms before occurredAt, present at it; asOf before creation is a 404',
    async () => {
      const key = await create();
      const created = await occurred(key.id, 'key.created');
      expect(await activeAt(shift(created, -1))).not.toContain(key.id);
      expect(await activeAt(created)).toContain(key.id);
      const before = await asOf(key.id, shift(created, -1)).expect(404);
      expect(before.body.code).toBe('KEY.NOT_FOUND');
      await asOf(key.publicId, shift(created, -1)).expect(404);
      const at = await asOf(key.id, created).expect(200);
      expect(at.body).toMatchObject({ id: key.id, status: 'active', createdAt: created, version: 1 });
    },
    TIMEOUT,
  );

  it(
    'revoke: present 1 ms before the revoke occurred, absent at it',
    async () => {
      const key = await create();
      await as('post', `/admin/api-keys/${key.id}/revoke`).send({ reason: 'boundary' }).expect(200);
      const revoked = await occurred(key.id, 'key.revoked');
      expect(await activeAt(shift(revoked, -1))).toContain(key.id);
      expect(await activeAt(revoked)).not.toContain(key.id);
      expect((await asOf(key.id, shift(revoked, -1)).expect(200)).body).toMatchObject({ status: 'active', version: 1 });
      expect((await asOf(key.id, revoked).expect(200)).body).toMatchObject({ status: 'revoked', version: 2, updatedAt: revoked });
    },
    TIMEOUT,
  );

  it(
    'expiresAt T: present at T - 1 ms, absent at T (no KeyExpired needed)',
    async () => {
      const T = new Date(Date.now() + 86_400_000).toISOString();
      const key = await create({ expiresAt: T });
      expect((await history(key.id)).map((e) => e.type)).toEqual(['key.created']);
      expect(await activeAt(shift(T, -1))).toContain(key.id);
      expect(await activeAt(T)).not.toContain(key.id);
      expect(await activeAt(shift(T, 1))).not.toContain(key.id);
      expect((await asOf(key.id, shift(T, -1)).expect(200)).body).toMatchObject({ status: 'active', expiresAt: T });
      expect((await asOf(key.id, T).expect(200)).body).toMatchObject({ status: 'expired', expiresAt: T });
    },
    TIMEOUT,
  );

  it(
    'manual expire: present 1 ms before it occurred, absent at it',
    async () => {
      const key = await create();
      await as('post', `/admin/api-keys/${key.id}/expire`).expect(200);
      const expired = await occurred(key.id, 'key.expired');
      expect(await activeAt(shift(expired, -1))).toContain(key.id);
      expect(await activeAt(expired)).not.toContain(key.id);
      expect((await asOf(key.id, shift(expired, -1)).expect(200)).body.status).toBe('active');
      expect((await asOf(key.id, expired).expect(200)).body.status).toBe('expired');
    },
    TIMEOUT,
  );

  it(
    'rotation grace: graceEndsAt is shown from the rotation until 1 ms before its end, null at and after it',
    async () => {
      const key = await create();
      await as('post', `/admin/api-keys/${key.id}/rotate`).send({ gracePeriodSeconds: 90 }).expect(200);
      const rotation = (await history(key.id)).find((e) => e.type === 'key.rotated')!;
      const graceEndsAt = (rotation.changes.graceEndsAt as { to: string }).to;
      expect(Date.parse(graceEndsAt) - Date.parse(rotation.occurredAt)).toBe(90_000);

      const view = async (at: string) =>
        (await asOf(key.id, at).expect(200)).body as { graceEndsAt: string | null; version: number; status: string };
      expect(await view(shift(rotation.occurredAt, -1))).toMatchObject({ graceEndsAt: null, version: 1 });
      expect(await view(rotation.occurredAt)).toMatchObject({ graceEndsAt, version: 2 });
      expect(await view(shift(graceEndsAt, -1))).toMatchObject({ graceEndsAt, version: 2 });
      expect(await view(graceEndsAt)).toMatchObject({ graceEndsAt: null, version: 2, status: 'active' });
      expect(await view(shift(graceEndsAt, 1))).toMatchObject({ graceEndsAt: null });
      // The key itself stays valid across the grace end: only the previous secret stops working.
      expect(await activeAt(graceEndsAt)).toContain(key.id);
    },
    TIMEOUT,
  );

  it(
    'an update shows the old name until it occurred and the new one from then on',
    async () => {
      const key = await create({ name: 'before' });
      await as('patch', `/admin/api-keys/${key.id}`).send({ name: 'after' }).expect(200);
      const updated = await occurred(key.id, 'key.updated');
      expect((await asOf(key.id, shift(updated, -1)).expect(200)).body.name).toBe('before');
      expect((await asOf(key.id, updated).expect(200)).body.name).toBe('after');
    },
    TIMEOUT,
  );

  it(
    'a timestamp with an offset or microseconds means the same instant',
    async () => {
      const key = await create();
      const created = await occurred(key.id, 'key.created');
      const plusTwo = `${shift(created, 2 * 3_600_000).slice(0, 23)}+02:00`;
      expect(await activeAt(plusTwo)).toContain(key.id);
      // 1 µs before creation is before it: the key did not exist yet.
      const justBefore = `${shift(created, -1).slice(0, 23)}999Z`;
      expect(await activeAt(justBefore)).not.toContain(key.id);
      await asOf(key.id, justBefore).expect(404);
    },
    TIMEOUT,
  );

  it.each([
    ['activeAt', 'not-a-date'],
    ['activeAt', '2026-W05'],
    ['activeAt', '2026-032'],
    ['activeAt', '20260101T000000Z'],
  ])(
    'GET /admin/api-keys?%s=%s is a 400, never a 500',
    async (field, value) => {
      expectValidationError(await as('get', '/admin/api-keys').query({ tenantId: X, [field]: value }), field);
    },
    TIMEOUT,
  );

  it.each(['not-a-date', '2026-W05', '2026-032', '20260101T000000Z'])(
    'GET /admin/api-keys/:id?asOf=%s is a 400, never a 500',
    async (value) => {
      const key = await create();
      expectValidationError(await asOf(key.id, value), 'asOf');
    },
    TIMEOUT,
  );
});
