import type { Pool } from 'pg';
import request from 'supertest';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { auditSettled, download, walkAudit, type AuditEntry, SETUP_TIMEOUT, TIMEOUT } from './helpers.js';
import { bearer, expectValidationError } from '../support/http.js';
import { uniqueTenant } from '../support/keys.js';

const UA = 'keyledger-e2e/audit-query';

interface Key {
  id: string;
  publicId: string;
  token: string;
}

/** One event as the key's own history reports it: the model the audit log is checked against. */
interface Fact {
  position: number;
  type: string;
  keyId: string;
  tenantId: string;
  actorId: string;
  recordedAt: string;
  occurredAt: string;
}

type Filter = Partial<Record<'tenantId' | 'keyId' | 'actorId' | 'type' | 'from' | 'to', string>>;

/** What the audit log must return for `filter`: newest first (these events were written one after another). */
function expected(facts: readonly Fact[], f: Filter): number[] {
  return facts
    .filter(
      (e) =>
        (f.tenantId === undefined || e.tenantId === f.tenantId) &&
        (f.keyId === undefined || e.keyId === f.keyId.toLowerCase()) &&
        (f.actorId === undefined || e.actorId === f.actorId) &&
        (f.type === undefined || e.type === f.type) &&
        (f.from === undefined || Date.parse(e.recordedAt) >= ceilMs(f.from)) &&
        (f.to === undefined || Date.parse(e.recordedAt) < ceilMs(f.to)),
    )
    .map((e) => e.position)
    .sort((a, b) => b - a);
}

describe('GET /admin/audit: filters, pagination, tenancy and bad input', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin1: Key;
  let admin2: Key;
  let readerT: Key; // audit:read in tenant T
  let managerT: Key; // keys:manage in tenant T, no audit:read
  const T = uniqueTenant();
  const U = uniqueTenant();
  const keys: Record<string, Key> = {};
  let facts: Fact[] = [];

  const get = (token: string, query: Record<string, string | number> = {}, path = '/admin/audit') =>
    request(sut.url).get(path).query(query).set(bearer(token));
  const act = (token: string, method: 'post' | 'patch', path: string, body: Record<string, unknown> = {}) =>
    request(sut.url)[method](path).set(bearer(token)).set('user-agent', UA).send(body);

  async function untilUsable(key: Key, tenantId?: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const res = await get(key.token, { limit: 1, ...(tenantId ? { tenantId } : {}) });
      if (res.status !== 401) return;
      if (Date.now() > deadline) throw new Error(`key ${key.id} never became usable`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function create(token: string, tenantId: string, name: string): Promise<Key> {
    const res = await act(token, 'post', '/admin/api-keys', { tenantId, name, scopes: ['invoices:read'] }).expect(201);
    return { id: res.body.id, publicId: res.body.publicId, token: res.body.key };
  }

  async function historyOf(keyId: string, tenantId: string): Promise<Fact[]> {
    const res = await get(admin1.token, {}, `/admin/api-keys/${keyId}/events`).expect(200);
    return (res.body.items as { position: number; type: string; recordedAt: string; occurredAt: string; actor: { id: string } }[]).map(
      (e) => ({
        position: e.position,
        type: e.type,
        keyId,
        tenantId,
        actorId: e.actor.id,
        recordedAt: e.recordedAt,
        occurredAt: e.occurredAt,
      }),
    );
  }

  const positions = (items: AuditEntry[]): number[] => items.map((e) => e.position);

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(4);
    admin1 = await issueKey(sut.app, { scopes: ['admin'] });
    admin2 = await issueKey(sut.app, { scopes: ['admin'] });
    readerT = await issueKey(sut.app, { tenantId: T, scopes: ['audit:read'] });
    managerT = await issueKey(sut.app, { tenantId: T, scopes: ['keys:manage'] });
    await Promise.all([untilUsable(admin1), untilUsable(admin2), untilUsable(readerT)]);

    // One after another, so the chain order of these events is their position order.
    keys.k1 = await create(admin1.token, T, 'k1');
    keys.k2 = await create(admin1.token, T, 'k2');
    keys.k3 = await create(admin2.token, T, 'k3');
    keys.u1 = await create(admin1.token, U, 'u1');
    await act(admin1.token, 'post', `/admin/api-keys/${keys.k1.id}/rotate`, { gracePeriodSeconds: 60 }).expect(200);
    await act(admin2.token, 'patch', `/admin/api-keys/${keys.k3.id}`, { name: 'k3, renamed' }).expect(200);
    await act(admin2.token, 'post', `/admin/api-keys/${keys.k2.id}/revoke`, { reason: 'leaked, see "ticket 42"' }).expect(200);
    await act(admin1.token, 'post', `/admin/api-keys/${keys.k1.id}/expire`).expect(200);
    await act(admin2.token, 'post', `/admin/api-keys/${keys.u1.id}/rotate`).expect(200);

    const inT = [readerT, managerT, keys.k1, keys.k2, keys.k3];
    await auditSettled(
      sut,
      pool,
      [...inT, keys.u1].map((k) => k.id),
    );
    facts = [...(await Promise.all(inT.map((k) => historyOf(k.id, T)))).flat(), ...(await historyOf(keys.u1.id, U))];
    facts.sort((a, b) => a.position - b.position);
    expect(facts).toHaveLength(2 + 3 + 4 + 2); // 2 issued, 3 created, rotate, patch, revoke, expire; u1 created + rotated
  }, SETUP_TIMEOUT);

  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  describe('filters return exactly the expected rows', () => {
    const cases: [string, () => Filter][] = [
      ['tenantId', () => ({ tenantId: T })],
      ['the other tenant', () => ({ tenantId: U })],
      ['keyId', () => ({ keyId: keys.k1.id })],
      ['keyId in upper case', () => ({ keyId: keys.k1.id.toUpperCase() })],
      ['actorId alone (it acts in both tenants)', () => ({ actorId: admin2.id })],
      ['actorId system', () => ({ actorId: 'system', tenantId: T })],
      ['type + tenantId', () => ({ tenantId: T, type: 'key.created' })],
      ['tenantId + actorId', () => ({ tenantId: T, actorId: admin1.id })],
      ['keyId + type', () => ({ keyId: keys.k1.id, type: 'key.rotated' })],
      ['keyId + a tenant it is not in', () => ({ keyId: keys.k1.id, tenantId: U })],
      ['type that did not happen in the tenant', () => ({ tenantId: U, type: 'key.revoked' })],
      ['from (inclusive) + tenantId', () => ({ tenantId: T, from: facts[4].recordedAt })],
      ['to (exclusive) + tenantId', () => ({ tenantId: T, to: facts[4].recordedAt })],
      ['tenant + type + range', () => ({ tenantId: T, type: 'key.created', from: facts[2].recordedAt, to: facts[4].recordedAt })],
      [
        'tenant + range of one instant',
        () => ({ tenantId: T, from: facts[6].recordedAt, to: new Date(Date.parse(facts[6].recordedAt) + 1).toISOString() }),
      ],
      ['from == to: empty', () => ({ tenantId: T, from: facts[3].recordedAt, to: facts[3].recordedAt })],
      [
        'range with offsets instead of Z',
        () => ({ tenantId: T, from: offsetIso(facts[3].recordedAt), to: offsetIso(facts[8].recordedAt) }),
      ],
      [
        'range in microseconds just after an event: the event is outside',
        () => ({ tenantId: T, from: `${facts[6].recordedAt.slice(0, 23)}001Z`, to: '2999-01-01' }),
      ],
      ['a year as a bound', () => ({ tenantId: T, from: '2000', to: '2999' })],
      [
        'every filter at once',
        () => ({
          tenantId: T,
          keyId: keys.k2.id,
          actorId: admin2.id,
          type: 'key.revoked',
          from: facts[0].recordedAt,
          to: '2999-01-01T00:00:00Z',
        }),
      ],
    ];

    it.each(cases)(
      '%s',
      async (_name, filterOf) => {
        const filter = filterOf();
        const want = expected(facts, filter);
        const items = await walkAudit(sut, admin1.token, filter);
        expect(positions(items)).toEqual(want);
        // The same answer through small pages.
        expect(positions(await walkAudit(sut, admin1.token, filter, 2))).toEqual(want);
      },
      TIMEOUT,
    );

    it(
      'the range filters really split this data set (no vacuous cases)',
      () => {
        expect(expected(facts, { tenantId: T, from: facts[4].recordedAt }).length).toBeGreaterThan(0);
        expect(expected(facts, { tenantId: T, to: facts[4].recordedAt }).length).toBeGreaterThan(0);
        expect(
          expected(facts, { tenantId: T, type: 'key.created', from: facts[2].recordedAt, to: facts[4].recordedAt }).length,
        ).toBeGreaterThan(0);
        expect(expected(facts, { tenantId: T, actorId: 'system' })).toHaveLength(2);
      },
      TIMEOUT,
    );

    it(
      'each entry carries who, what, when and from where; never a secret or a hash of one',
      async () => {
        const items = await walkAudit(sut, admin1.token, { keyId: keys.k2.id });
        const byType = Object.fromEntries(items.map((e) => [e.type, e]));
        const revoked = byType['key.revoked'];
        const fact = facts.find((f) => f.position === revoked.position)!;
        expect(revoked).toEqual({
          seq: expect.any(Number),
          position: fact.position,
          recordedAt: fact.recordedAt,
          occurredAt: fact.occurredAt,
          type: 'key.revoked',
          keyId: keys.k2.id,
          publicId: keys.k2.publicId,
          tenantId: T,
          actor: { type: 'api-key', id: admin2.id, publicId: admin2.publicId, name: 'test key' },
          requestId: expect.any(String),
          ip: expect.any(String),
          userAgent: UA,
          reason: 'leaked, see "ticket 42"',
          reasonCode: 'other',
          changes: { status: { from: 'active', to: 'revoked' } },
          chainHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        });
        expect(byType['key.created'].changes).toEqual({
          name: { from: null, to: 'k2' },
          scopes: { from: null, to: ['invoices:read'] },
          tags: { from: null, to: {} },
          expiresAt: { from: null, to: null },
        });
        const rotated = (await walkAudit(sut, admin1.token, { keyId: keys.k1.id, type: 'key.rotated' }))[0];
        expect(rotated.changes).toEqual({ graceEndsAt: { from: null, to: expect.any(String) }, expiresAt: { from: null, to: null } });

        // No plaintext, no secret hash (current or previous) anywhere in the tenant's audit log.
        const { rows } = await pool.query<{ payload: Record<string, unknown> }>(
          'SELECT payload FROM events WHERE stream_id = ANY($1::text[])',
          [Object.values(keys).map((k) => `key-${k.id}`)],
        );
        const hashes = rows
          .flatMap((r) => [r.payload.secretHash, r.payload.previousSecretHash])
          .filter((h): h is string => typeof h === 'string');
        expect(hashes.length).toBeGreaterThanOrEqual(6);
        const text = JSON.stringify([
          ...(await walkAudit(sut, admin1.token, { tenantId: T })),
          ...(await walkAudit(sut, admin1.token, { tenantId: U })),
        ]);
        for (const secret of [...hashes, ...Object.values(keys).map((k) => k.token)]) expect(text).not.toContain(secret);
        expect(text).not.toMatch(/secretHash|previousSecretHash/);
      },
      TIMEOUT,
    );
  });

  it(
    'walks pages newest first with no duplicates and no gaps while another client writes to the same tenant',
    async () => {
      const P = uniqueTenant();
      // The other client: its own admin key, so the actors of the filter tests stay exact.
      const writer = await issueKey(sut.app, { scopes: ['admin'] });
      await untilUsable(writer);
      const initial: Key[] = [];
      for (let i = 0; i < 6; i++) initial.push(await create(writer.token, P, `p${i}`));
      for (const k of initial.slice(0, 4)) await act(writer.token, 'post', `/admin/api-keys/${k.id}/rotate`).expect(200);
      const all = [...initial];
      await auditSettled(
        sut,
        pool,
        all.map((k) => k.id),
      );
      const before = await walkAudit(sut, admin1.token, { tenantId: P });
      expect(before).toHaveLength(10);

      // The writer: alternately issues a new key and rotates an existing one in the same tenant.
      let writes = 0;
      const write = async (): Promise<void> => {
        if (writes++ % 2 === 0) {
          all.push(await create(writer.token, P, `new${writes}`));
        } else {
          await act(writer.token, 'post', `/admin/api-keys/${initial[writes % initial.length].id}/rotate`).expect(200);
        }
        await auditSettled(
          sut,
          pool,
          all.map((k) => k.id),
        );
      };

      const walked: AuditEntry[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        // One write races the page read; another is committed (and projected) before the next page.
        const [res] = await Promise.all([
          get(admin1.token, { tenantId: P, limit: 3, ...(cursor ? { cursor } : {}) }).expect(200),
          pages > 0 ? write() : undefined,
        ]);
        pages++;
        const items = res.body.items as AuditEntry[];
        expect(items.length).toBeLessThanOrEqual(3);
        walked.push(...items);
        cursor = res.body.nextCursor ?? undefined;
        if (cursor !== undefined) {
          expect(items).toHaveLength(3);
          expect(cursor).not.toMatch(/^\d+$/); // opaque
          await write();
        }
      } while (cursor !== undefined);
      expect(pages).toBeGreaterThanOrEqual(4);
      expect(writes).toBeGreaterThanOrEqual(6);

      const seqs = walked.map((e) => e.seq);
      expect(new Set(seqs).size).toBe(seqs.length); // no duplicates
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeLessThan(seqs[i - 1]); // newest first
      // No gaps: every row that existed when the walk started was seen...
      const firstSeq = seqs[0];
      for (const e of before) expect(seqs).toContain(e.seq);
      // ...and the walk is exactly the tenant's rows up to its first row, whatever was written meanwhile.
      const after = await walkAudit(sut, admin1.token, { tenantId: P });
      expect(after.length).toBeGreaterThan(before.length);
      expect(after.filter((e) => e.seq <= firstSeq)).toEqual(walked);
      // Rows written during the walk are newer than everything it returned.
      for (const e of after.filter((x) => !seqs.includes(x.seq))) expect(e.seq).toBeGreaterThan(firstSeq);
    },
    TIMEOUT,
  );

  describe('tenancy', () => {
    it(
      'an audit:read key sees only its own tenant, with or without tenantId',
      async () => {
        const own = await walkAudit(sut, readerT.token, {});
        expect(positions(own)).toEqual(expected(facts, { tenantId: T }));
        expect(new Set(own.map((e) => e.tenantId))).toEqual(new Set([T]));
        expect(positions(await walkAudit(sut, readerT.token, { tenantId: T }))).toEqual(expected(facts, { tenantId: T }));
        // Filters still apply inside the tenant: admin2 also acted in U, which stays invisible.
        expect(positions(await walkAudit(sut, readerT.token, { actorId: admin2.id }))).toEqual(
          expected(facts, { tenantId: T, actorId: admin2.id }),
        );
      },
      TIMEOUT,
    );

    it(
      "an audit:read key asking for another tenant gets 403; another tenant's keyId gives an empty page",
      async () => {
        const res = await get(readerT.token, { tenantId: U }).expect(403);
        expect(res.body.code).toBe('AUDIT.TENANT_FORBIDDEN');
        await get(readerT.token, { tenantId: U, type: 'key.created' }).expect(403);
        await get(readerT.token, { tenantId: U, format: 'csv' }, '/admin/audit/export').expect(403);
        const foreign = await get(readerT.token, { keyId: keys.u1.id }).expect(200);
        expect(foreign.body).toEqual({ items: [], nextCursor: null });
        const exported = await download(sut, readerT.token, { keyId: keys.u1.id, format: 'ndjson' });
        expect(exported.status).toBe(200);
        expect(exported.text).toBe('');
      },
      TIMEOUT,
    );

    it(
      'an audit:read key may not read the digest or verify the chain (they span every tenant)',
      async () => {
        await get(readerT.token, {}, '/admin/audit/digest').expect(403);
        await get(readerT.token, {}, '/admin/audit/verify').expect(403);
        await get(readerT.token, { fromDigest: `0:${'0'.repeat(64)}` }, '/admin/audit/verify').expect(403);
      },
      TIMEOUT,
    );

    it(
      'a key without audit:read gets 403, no key 401',
      async () => {
        await untilUsable(managerT, T);
        await get(managerT.token, { tenantId: T }).expect(403);
        await get(managerT.token, { tenantId: T }, '/admin/audit/export').expect(403);
        await request(sut.url).get('/admin/audit').expect(401);
        await request(sut.url).get('/admin/audit/export').expect(401);
      },
      TIMEOUT,
    );

    it(
      'admin sees every tenant',
      async () => {
        expect(positions(await walkAudit(sut, admin2.token, { tenantId: U }))).toEqual(expected(facts, { tenantId: U }));
        const mixed = await walkAudit(sut, admin2.token, { actorId: admin2.id });
        expect(new Set(mixed.map((e) => e.tenantId))).toEqual(new Set([T, U]));
        await get(admin2.token, {}, '/admin/audit/digest').expect(200);
      },
      TIMEOUT,
    );
  });

  describe('bad input: 400 with details, never a 500', () => {
    const bad: [string, Record<string, string | number>, string, string?][] = [
      ['from after to', { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'from'],
      ['a timestamp that is not one', { from: 'yesterday' }, 'from'],
      ['an impossible date', { to: '2026-02-30T00:00:00Z' }, 'to'],
      ['an ISO week date no clock can order', { from: '2026-W05' }, 'from'],
      ['an ISO ordinal date', { to: '2026-032' }, 'to'],
      ['a basic-format timestamp', { from: '20260101T000000Z' }, 'from'],
      ['a decimal comma', { from: '2026-01-01T00:00:00,5Z' }, 'from'],
      ['an unknown type', { type: 'key.deleted' }, 'type'],
      ['limit 1001', { limit: 1001 }, 'limit'],
      ['limit 0', { limit: 0 }, 'limit'],
      ['limit not a number', { limit: 'ten' }, 'limit'],
      ['a bad cursor', { cursor: 'abc' }, 'cursor'],
      ['a negative cursor', { cursor: '-5' }, 'cursor'],
      ['a keyId that is not a UUID', { keyId: 'not-a-uuid' }, 'keyId'],
      ['an unknown query parameter', { foo: 'bar' }, 'foo'],
      ['a tenantId too long', { tenantId: 'x'.repeat(65) }, 'tenantId'],
      ['fromDigest without a hash', { fromDigest: '12' }, 'fromDigest', '/admin/audit/verify'],
      ['fromDigest with a short hash', { fromDigest: '12:abcd' }, 'fromDigest', '/admin/audit/verify'],
      ['fromDigest not hex', { fromDigest: `12:${'z'.repeat(64)}` }, 'fromDigest', '/admin/audit/verify'],
      ['fromDigest with a negative position', { fromDigest: `-1:${'0'.repeat(64)}` }, 'fromDigest', '/admin/audit/verify'],
      ['an unknown export format', { format: 'xml' }, 'format', '/admin/audit/export'],
      ['limit on export', { limit: 10 }, 'limit', '/admin/audit/export'],
      ['from after to on export', { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'to', '/admin/audit/export'],
      ['a bad timestamp on export', { from: '2026-W05' }, 'from', '/admin/audit/export'],
    ];

    it.each(bad)(
      '%s',
      async (_name, query, field, path = '/admin/audit') => {
        const res = await get(admin1.token, query, path);
        expectValidationError(res, field);
      },
      TIMEOUT,
    );

    it(
      'from after to names both fields',
      async () => {
        const res = await get(admin1.token, { tenantId: T, from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' });
        expectValidationError(res, 'from', 'to');
      },
      TIMEOUT,
    );

    it(
      'refuses a NUL in every string parameter of every audit query, naming it, quoting nothing',
      async () => {
        const fields: [string, string[]][] = [
          ['/admin/audit', ['tenantId', 'keyId', 'actorId', 'type', 'from', 'to', 'cursor']],
          ['/admin/audit/export', ['tenantId', 'keyId', 'actorId', 'type', 'from', 'to', 'format']],
          ['/admin/audit/verify', ['fromDigest']],
          ['/admin/audit/access', ['tenantId', 'actorId', 'outcome', 'from', 'to', 'cursor']],
        ];
        for (const [path, names] of fields) {
          for (const name of names) {
            const res = await get(admin1.token, { [name]: 'quoted\u0000back' }, path);
            expectValidationError(res, name);
            expect(res.body.details).toContainEqual({
              field: name,
              message: 'must not contain NUL characters or unpaired UTF-16 surrogates',
            });
            expect(res.text).not.toContain('quoted');
          }
        }
      },
      TIMEOUT,
    );

    it(
      'a tenant-bound reader gets the 400 too',
      async () => {
        expectValidationError(await get(readerT.token, { limit: 0 }), 'limit');
      },
      TIMEOUT,
    );
  });
});

/** recorded_at has whole milliseconds: `t >= x` ⇔ `t >= ⌈x⌉` for a bound x given in microseconds. */
function ceilMs(iso: string): number {
  return Date.parse(iso) + (/\.\d{3}\d*[1-9]/.test(iso) ? 1 : 0);
}

/** The same instant written with a +05:30 offset. */
function offsetIso(iso: string): string {
  const shifted = new Date(Date.parse(iso) + 5.5 * 3_600_000).toISOString();
  return `${shifted.slice(0, 23)}+05:30`;
}
