import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import request from 'supertest';
import { ApiKey } from '../../src/keys/domain/api-key.aggregate.js';
import { KeyRepository, SYSTEM_ACTOR, type KeyReportLine, type KeyView } from '../../src/keys/index.js';
import { download, parseCsv } from '../audit/helpers.js';
import { bearer, expectErrorShape, expectValidationError } from '../support/http.js';
import { issueUsableKey, uniqueTenant, type IssuedKey } from '../support/keys.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';

const DAY = 86_400_000;
const TIMEOUT = 30_000;
/** The line's fields that are the key's own: GET /admin/api-keys/:id gives each under the same name (keyId is its `id`). */
const VIEW_FIELDS = ['tenantId', 'name', 'publicId', 'scopes', 'createdAt', 'expiresAt', 'status', 'reason', 'reasonCode'] as const;
type ViewField = (typeof VIEW_FIELDS)[number];
const fromView = (view: KeyView): Pick<KeyReportLine, 'keyId' | ViewField> => ({
  keyId: view.id,
  ...(Object.fromEntries(VIEW_FIELDS.map((field) => [field, view[field]])) as Pick<KeyView, ViewField>),
});
/** A value as a CSV cell holds it (docs/api.md): null empty, scopes space-separated. */
const cellText = (value: string | number | readonly string[] | null | undefined): string =>
  value == null ? '' : typeof value === 'object' ? value.join(' ') : String(value);
const TRICKY_NAME = 'billing, "eu" export';
const FORMULA_REASON = '=HYPERLINK("http://x","click"), then\nsecond line';

/**
 * Issue 18, item 5 — the key inventory report: GET /admin/reports/keys, one line per key, agrees
 * with GET /admin/api-keys/:id for every key, now and at `asOf` (with the keys-as-of list too);
 * filters; CSV escaping; tenancy. Keys with a past come from the aggregate with past clocks, saved
 * through the repository (the events a real create and rotate wrote back then).
 */
describe('GET /admin/reports/keys', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: IssuedKey;
  let manager: IssuedKey;
  const A = uniqueTenant('report-a');
  const B = uniqueTenant('report-b');
  const ids: Record<string, string> = {};
  const now = Date.now();

  const get = (token: string, path: string, query: Record<string, string | number> = {}) =>
    request(sut.url).get(path).query(query).set(bearer(token));
  const ndjson = async (token: string, query: Record<string, string | number>): Promise<KeyReportLine[]> => {
    const res = await download(sut, token, query, '/admin/reports/keys');
    expect(res.status).toBe(200);
    return res.text === ''
      ? []
      : res.text
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line) as KeyReportLine);
  };
  const idsOf = (lines: readonly KeyReportLine[], among = Object.values(ids)): string[] =>
    lines
      .map((l) => l.keyId)
      .filter((id) => among.includes(id))
      .sort();
  const named = (...names: string[]): string[] => names.map((n) => ids[n]).sort();

  /** A key whose events were written `daysAgo`, rotated `rotatedDaysAgo` if given. */
  async function pastKey(name: string, daysAgo: number, rotatedDaysAgo?: number): Promise<string> {
    const { key } = ApiKey.create(
      { keyId: randomUUID(), tenantId: A, name, scopes: ['reports:read'], prefix: 'kl_live' },
      new Date(now - daysAgo * DAY),
    );
    if (rotatedDaysAgo !== undefined) key.rotate({}, new Date(now - rotatedDaysAgo * DAY));
    await sut.app.get(KeyRepository).save(key, { actor: SYSTEM_ACTOR, requestId: 'test' });
    return key.keyId;
  }

  const lastUse = (keyId: string, daysAgo: number) =>
    pool.query('INSERT INTO key_last_use (key_id, last_used_at, ip, user_agent) VALUES ($1, $2, $3, $4)', [
      keyId,
      new Date(now - daysAgo * DAY),
      '203.0.113.9',
      'test',
    ]);

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(2);
    admin = await issueUsableKey(sut, { tenantId: uniqueTenant('report-admin'), scopes: ['admin'] });
    manager = await issueUsableKey(sut, { tenantId: A, name: 'manager', scopes: ['keys:manage', 'reports:read'] });
    ids.manager = manager.id;
    const create = async (tenantId: string, name: string): Promise<string> =>
      (
        (
          await request(sut.url)
            .post('/admin/api-keys')
            .set(bearer(admin.token))
            .send({ tenantId, name, scopes: ['reports:read'] })
            .expect(201)
        ).body as KeyView
      ).id;
    [ids.fresh, ids.used40, ids.usedNow, ids.tricky, ids.offboarded, ids.other] = await Promise.all([
      create(A, 'fresh'),
      create(A, 'used 40 days ago'),
      create(A, 'used now'),
      create(A, TRICKY_NAME),
      create(A, 'offboarded'),
      create(B, 'other tenant'),
    ]);
    ids.old = await pastKey('created 100 days ago, rotated 50 days ago', 100, 50);
    ids.ancient = await pastKey('created 100 days ago, never rotated', 100);
    await request(sut.url)
      .post(`/admin/api-keys/${ids.tricky}/revoke`)
      .set(bearer(admin.token))
      .send({ reason: FORMULA_REASON, reasonCode: 'leaked' })
      .expect(200);
    await request(sut.url)
      .post(`/admin/api-keys/${ids.offboarded}/expire`)
      .set(bearer(admin.token))
      .send({ reasonCode: 'offboarding' })
      .expect(200);
    await Promise.all([lastUse(ids.used40, 40), lastUse(ids.usedNow, 0), lastUse(ids.old, 80)]);
  }, TIMEOUT);

  afterAll(async () => {
    await pool?.end();
    await sut?.close();
  });

  it(
    'has one line per key, and each agrees with GET /admin/api-keys/:id',
    async () => {
      const lines = await ndjson(admin.token, { tenantId: A });
      expect(lines.map((l) => l.keyId).sort()).toEqual(
        named('manager', 'fresh', 'used40', 'usedNow', 'tricky', 'offboarded', 'old', 'ancient'),
      );
      for (const line of lines) {
        const view = (await get(admin.token, `/admin/api-keys/${line.keyId}`).expect(200)).body as KeyView;
        expect(line).toEqual({
          ...fromView(view),
          createdBy:
            line.keyId === ids.old || line.keyId === ids.ancient || line.keyId === ids.manager
              ? { type: 'system', id: 'system' }
              : { type: 'api-key', id: admin.id },
          lastRotatedAt: line.keyId === ids.old ? new Date(now - 50 * DAY).toISOString() : null,
          lastUsedAt:
            {
              [ids.used40]: new Date(now - 40 * DAY).toISOString(),
              [ids.usedNow]: new Date(now).toISOString(),
              [ids.old]: new Date(now - 80 * DAY).toISOString(),
            }[line.keyId] ?? null,
          secretAgeDays: { [ids.old]: 50, [ids.ancient]: 100 }[line.keyId] ?? 0,
        });
      }
      expect(lines.find((l) => l.keyId === ids.tricky)).toMatchObject({ status: 'revoked', reasonCode: 'leaked', reason: FORMULA_REASON });
      expect(lines.find((l) => l.keyId === ids.offboarded)).toMatchObject({
        status: 'expired',
        reasonCode: 'offboarding',
        reason: 'manual',
      });
      // Never a secret, a hash of one, or the last use's IP and user agent.
      const text = JSON.stringify(lines);
      for (const leak of [manager.token, manager.token.split('_').pop()!, 'secretHash', '203.0.113.9']) expect(text).not.toContain(leak);
    },
    TIMEOUT,
  );

  it(
    'at asOf, agrees with GET /admin/api-keys/:id?asOf= for every key and with the keys-as-of list',
    async () => {
      const asOf = new Date(now - 75 * DAY).toISOString();
      const lines = await ndjson(admin.token, { tenantId: A, asOf });
      expect(lines.map((l) => l.keyId).sort()).toEqual(named('old', 'ancient'));
      for (const line of lines) {
        const view = (await get(admin.token, `/admin/api-keys/${line.keyId}`, { asOf }).expect(200)).body as KeyView;
        expect(line).toMatchObject(fromView(view));
        // Not rotated yet at asOf: the secret is as old as the key.
        expect(line).toMatchObject({ lastRotatedAt: null, secretAgeDays: 25 });
      }
      // The last use (80 days ago) is before asOf and is reported; a use after asOf is not.
      expect(lines.find((l) => l.keyId === ids.old)?.lastUsedAt).toBe(new Date(now - 80 * DAY).toISOString());
      const recent = new Date(now - 30 * DAY).toISOString();
      const atRecent = await ndjson(admin.token, { tenantId: A, asOf: recent });
      expect(atRecent.find((l) => l.keyId === ids.used40)).toBeUndefined(); // created after it
      expect(atRecent.find((l) => l.keyId === ids.old)).toMatchObject({
        lastRotatedAt: new Date(now - 50 * DAY).toISOString(),
        secretAgeDays: 20,
      });
      const activeAt = (await get(admin.token, '/admin/api-keys', { tenantId: A, activeAt: recent, limit: 200 }).expect(200)).body as {
        items: KeyView[];
      };
      expect(idsOf(atRecent.filter((l) => l.status === 'active'))).toEqual(activeAt.items.map((k) => k.id).sort());
    },
    TIMEOUT,
  );

  it(
    'filters by secret age, disuse and status',
    async () => {
      expect(idsOf(await ndjson(admin.token, { tenantId: A, secretOlderThanDays: 60 }))).toEqual(named('ancient'));
      expect(idsOf(await ndjson(admin.token, { tenantId: A, secretOlderThanDays: 40 }))).toEqual(named('old', 'ancient'));
      // Never used counts from creation: the fresh keys were created just now.
      expect(idsOf(await ndjson(admin.token, { tenantId: A, unusedForDays: 30 }))).toEqual(named('used40', 'old', 'ancient'));
      expect(idsOf(await ndjson(admin.token, { tenantId: A, unusedForDays: 30, secretOlderThanDays: 60 }))).toEqual(named('ancient'));
      expect(idsOf(await ndjson(admin.token, { tenantId: A, status: 'revoked' }))).toEqual(named('tricky'));
      expect(idsOf(await ndjson(admin.token, { tenantId: A, status: 'expired' }))).toEqual(named('offboarded'));
    },
    TIMEOUT,
  );

  it(
    'writes CSV (format=csv or Accept: text/csv), each row agreeing with GET /admin/api-keys/:id, quoted per RFC 4180, formulas disarmed',
    async () => {
      const res = await download(sut, admin.token, { tenantId: A, format: 'csv' }, '/admin/reports/keys');
      expect(res.contentType).toBe('text/csv; charset=utf-8');
      expect(res.disposition).toMatch(/^attachment; filename="keyledger-keys-[0-9TZ-]+\.csv"$/);
      const [header, ...rows] = parseCsv(res.text);
      const lines = await ndjson(admin.token, { tenantId: A });
      // The NDJSON line's fields, in its order, createdBy as two columns.
      expect(header).toEqual(Object.keys(lines[0]).flatMap((field) => (field === 'createdBy' ? ['createdByType', 'createdBy'] : [field])));
      expect(rows).toHaveLength(8);
      expect(rows.map((r) => r[header.indexOf('keyId')]).sort()).toEqual(lines.map((l) => l.keyId).sort());
      for (const row of rows) {
        const cells = Object.fromEntries(header.map((name, i) => [name, row[i]]));
        const view = (await get(admin.token, `/admin/api-keys/${cells.keyId}`).expect(200)).body as KeyView;
        const line = lines.find((l) => l.keyId === view.id)!; // checked against the view and the keys' past above
        expect(cells).toEqual({
          ...Object.fromEntries(Object.entries(fromView(view)).map(([field, value]) => [field, cellText(value)])),
          createdByType: line.createdBy.type,
          createdBy: line.createdBy.id,
          lastRotatedAt: cellText(line.lastRotatedAt),
          lastUsedAt: cellText(line.lastUsedAt),
          secretAgeDays: String(line.secretAgeDays),
          // A cell that a spreadsheet would run as a formula starts with a quote.
          ...(view.id === ids.tricky ? { reason: `'${FORMULA_REASON}` } : {}),
        });
      }
      const tricky = Object.fromEntries(header.map((name, i) => [name, rows.find((r) => r.includes(ids.tricky))![i]]));
      expect(tricky).toMatchObject({ name: TRICKY_NAME, reasonCode: 'leaked', scopes: 'reports:read', lastRotatedAt: '' });
      const byAccept = await fetch(`${sut.url}/admin/reports/keys?tenantId=${A}`, {
        headers: { ...bearer(admin.token), accept: 'text/csv' },
      });
      expect(byAccept.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(parseCsv(await byAccept.text())).toHaveLength(9);
      const ndjsonDefault = await download(sut, admin.token, { tenantId: A }, '/admin/reports/keys');
      expect(ndjsonDefault.contentType).toBe('application/x-ndjson; charset=utf-8');
    },
    TIMEOUT,
  );

  it(
    "a tenant's manager gets its own tenant only; another tenant is a 403; admin reads any",
    async () => {
      expect(idsOf(await ndjson(manager.token, {}), [...Object.values(ids)])).toEqual(
        named('manager', 'fresh', 'used40', 'usedNow', 'tricky', 'offboarded', 'old', 'ancient'),
      );
      expect((await ndjson(manager.token, {})).every((l) => l.tenantId === A)).toBe(true);
      expectErrorShape(await get(manager.token, '/admin/reports/keys', { tenantId: B }), 403, 'TENANT.FORBIDDEN');
      expect(idsOf(await ndjson(admin.token, { tenantId: B }))).toEqual(named('other'));
      const noScope = await issueUsableKey(sut, { tenantId: A, scopes: ['reports:read'] });
      expectErrorShape(await get(noScope.token, '/admin/reports/keys'), 403);
    },
    TIMEOUT,
  );

  it('walks past a page (500 keys) with no gap and no repeat, keys created in the same millisecond ordered by id', async () => {
    const C = uniqueTenant('report-pages');
    const at = new Date(now - DAY);
    const repository = sut.app.get(KeyRepository);
    const created: string[] = [];
    for (let i = 0; i < 520; i++) {
      const { key } = ApiKey.create(
        { keyId: randomUUID(), tenantId: C, name: `bulk ${i}`, prefix: 'kl_live' },
        i < 510 ? at : new Date(now),
      );
      await repository.save(key, { actor: SYSTEM_ACTOR, requestId: 'test' });
      created.push(key.keyId);
    }
    const lines = await ndjson(admin.token, { tenantId: C });
    // By creation time, then key id (lower-case UUIDs sort as text as PostgreSQL sorts uuid).
    expect(lines.map((l) => l.keyId)).toEqual([...created.slice(0, 510).sort(), ...created.slice(510).sort()]);
  }, 120_000);

  it(
    'refuses bad input with a 400 naming the field, before any line',
    async () => {
      expectValidationError(await get(admin.token, '/admin/reports/keys', { asOf: '2026-W05' }), 'asOf');
      expectValidationError(await get(admin.token, '/admin/reports/keys', { asOf: 'yesterday' }), 'asOf');
      expectValidationError(await get(admin.token, '/admin/reports/keys', { secretOlderThanDays: -1 }), 'secretOlderThanDays');
      expectValidationError(await get(admin.token, '/admin/reports/keys', { unusedForDays: '1.5' }), 'unusedForDays');
      expectValidationError(await get(admin.token, '/admin/reports/keys', { format: 'xlsx' }), 'format');
      expectValidationError(await get(admin.token, '/admin/reports/keys', { status: 'all' }), 'status');
      expectValidationError(await get(admin.token, '/admin/reports/keys', { tenantId: 'a b' }), 'tenantId');
    },
    TIMEOUT,
  );
});
