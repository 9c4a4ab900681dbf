import { keyStreamId, withTransaction } from '@keyledger/nestjs/internal';
import type { QueryRunner } from 'typeorm';
import request from 'supertest';
import { ReasonCodes1764000000019 } from '../../migrations/1764000000019-reason-codes.js';
import { EventStore } from '../../src/event-store/index.js';
import { REASON_CODES, type ReasonCode } from '../../src/keys/index.js';
import { bearer, expectValidationError } from '../support/http.js';
import { uniqueTenant } from '../support/keys.js';
import type { TestApp } from '../support/test-app.js';
import {
  auditCaughtUp,
  download,
  openIsolatedApp,
  parseCsv,
  walkAudit,
  SETUP_TIMEOUT,
  TIMEOUT,
  type AuditEntry,
  type IsolatedApp,
} from './helpers.js';

interface View {
  id: string;
  status: string;
  reason: string | null;
  reasonCode: ReasonCode | null;
  version: number;
}

/**
 * Issue 18, item 4 — reason codes: revoke and expire take one, the key view, its history, the
 * audit log (filter and export) carry it, and events written before codes read as `other`
 * everywhere. A database of its own, so `verify` covers exactly this file's chain.
 */
describe('reason codes on revoke and expire', () => {
  let isolated: IsolatedApp | undefined;
  let sut: TestApp;
  let admin: { id: string; token: string };
  const T = uniqueTenant('rc');

  const get = (path: string, query: Record<string, string> = {}) => request(sut.url).get(path).query(query).set(bearer(admin.token));
  const act = (method: 'post' | 'delete', path: string, body?: Record<string, unknown>) => {
    const req = request(sut.url)[method](path).set(bearer(admin.token));
    return body === undefined ? req : req.send(body);
  };
  const create = async (name: string): Promise<View> =>
    (await act('post', '/admin/api-keys', { tenantId: T, name }).expect(201)).body as View;
  const settled = async (): Promise<void> => auditCaughtUp(sut, isolated!.pool);

  beforeAll(async () => {
    isolated = await openIsolatedApp();
    ({ sut, admin } = isolated);
  }, SETUP_TIMEOUT);

  afterAll(async () => {
    await isolated?.close();
  }, SETUP_TIMEOUT);

  it(
    'revokes with each code; the response, the key view, its history and the audit filter carry it',
    async () => {
      const keys: Record<string, View> = {};
      for (const code of REASON_CODES) {
        const key = await create(`revoke-${code}`);
        const revoked = (await act('post', `/admin/api-keys/${key.id}/revoke`, { reason: `why: ${code}`, reasonCode: code }).expect(200))
          .body as View;
        expect(revoked).toMatchObject({ status: 'revoked', reason: `why: ${code}`, reasonCode: code });
        expect((await get(`/admin/api-keys/${key.id}`).expect(200)).body).toMatchObject({
          status: 'revoked',
          reason: `why: ${code}`,
          reasonCode: code,
        });
        const history = (await get(`/admin/api-keys/${key.id}/events`).expect(200)).body as {
          items: { type: string; reasonCode: string | null }[];
        };
        expect(history.items.map((e) => [e.type, e.reasonCode])).toEqual([
          ['key.created', null],
          ['key.revoked', code],
        ]);
        keys[code] = key;
      }
      await settled();
      for (const code of REASON_CODES) {
        const entries = await walkAudit(sut, admin.token, { tenantId: T, reasonCode: code });
        expect(entries.map((e) => [e.keyId, e.type, e.reasonCode, e.reason])).toEqual([
          [keys[code].id, 'key.revoked', code, `why: ${code}`],
        ]);
      }
      // The created entries carry no code, so the filter leaves them out.
      const created = await walkAudit(sut, admin.token, { tenantId: T, type: 'key.created' });
      expect(created.length).toBe(REASON_CODES.length);
      expect(created.every((e) => e.reasonCode === null)).toBe(true);
    },
    TIMEOUT,
  );

  it(
    'expire takes a code; DELETE and a revoke or expire without one record `other`',
    async () => {
      const expired = await create('expire-offboarding');
      expect((await act('post', `/admin/api-keys/${expired.id}/expire`, { reasonCode: 'offboarding' }).expect(200)).body).toMatchObject({
        status: 'expired',
        reason: 'manual',
        reasonCode: 'offboarding',
      });
      const bare = await create('expire-bare');
      expect((await act('post', `/admin/api-keys/${bare.id}/expire`).expect(200)).body).toMatchObject({
        status: 'expired',
        reason: 'manual',
        reasonCode: 'other',
      });
      const deleted = await create('deleted');
      expect((await act('delete', `/admin/api-keys/${deleted.id}`).expect(200)).body).toMatchObject({
        status: 'revoked',
        reason: null,
        reasonCode: 'other',
      });
      const plain = await create('revoke-plain');
      expect((await act('post', `/admin/api-keys/${plain.id}/revoke`, { reason: 'no code' }).expect(200)).body).toMatchObject({
        reasonCode: 'other',
      });
      await settled();
      const offboarding = await walkAudit(sut, admin.token, { tenantId: T, type: 'key.expired', reasonCode: 'offboarding' });
      expect(offboarding.map((e) => [e.keyId, e.type, e.reason])).toEqual([[expired.id, 'key.expired', 'manual']]);
      const other = await walkAudit(sut, admin.token, { tenantId: T, reasonCode: 'other', order: 'asc' });
      expect(other.map((e) => e.keyId).slice(-3)).toEqual([bare.id, deleted.id, plain.id]);
    },
    TIMEOUT,
  );

  it(
    'refuses an unknown code with a 400 naming the field, and writes nothing',
    async () => {
      const key = await create('bad-code');
      expectValidationError(await act('post', `/admin/api-keys/${key.id}/revoke`, { reasonCode: 'stolen' }), 'reasonCode');
      expectValidationError(await act('post', `/admin/api-keys/${key.id}/expire`, { reasonCode: 'Leaked' }), 'reasonCode');
      expectValidationError(await act('post', `/admin/api-keys/${key.id}/revoke`, { reasonCode: ['leaked'] }), 'reasonCode');
      expectValidationError(await get('/admin/audit', { reasonCode: 'nonsense' }), 'reasonCode');
      expect((await get(`/admin/api-keys/${key.id}`).expect(200)).body).toMatchObject({
        status: 'active',
        version: 1,
        reason: null,
        reasonCode: null,
      });
    },
    TIMEOUT,
  );

  it(
    'reads a revocation written before codes as `other` in the view, the history, the audit log and its filter; verify passes',
    async () => {
      const key = await create('before-codes');
      // The payload a release before reason codes wrote: no reasonCode member.
      await sut.app
        .get(EventStore)
        .append(
          keyStreamId(key.id),
          1,
          [{ type: 'key.revoked', schemaVersion: 1, payload: { reason: 'from an older release', occurredAt: new Date().toISOString() } }],
          { actor: { type: 'system', id: 'system:test' } },
        );
      const stored = await isolated!.pool.query<{ payload: Record<string, unknown> }>(
        `SELECT payload FROM events WHERE stream_id = $1 AND type = 'key.revoked'`,
        [keyStreamId(key.id)],
      );
      expect(stored.rows[0].payload).not.toHaveProperty('reasonCode');
      expect((await get(`/admin/api-keys/${key.id}`).expect(200)).body).toMatchObject({
        status: 'revoked',
        reason: 'from an older release',
        reasonCode: 'other',
      });
      const history = (await get(`/admin/api-keys/${key.id}/events`).expect(200)).body as { items: { reasonCode: string | null }[] };
      expect(history.items[1].reasonCode).toBe('other');
      await settled();
      const entries = await walkAudit(sut, admin.token, { keyId: key.id, reasonCode: 'other' });
      expect(entries.map((e) => [e.type, e.reasonCode, e.reason])).toEqual([['key.revoked', 'other', 'from an older release']]);
      expect((await get('/admin/audit/verify').expect(200)).body).toMatchObject({ ok: true });
    },
    TIMEOUT,
  );

  it(
    'exports the code in NDJSON and CSV, filtered by it',
    async () => {
      await settled();
      const ndjson = await download(sut, admin.token, { tenantId: T, reasonCode: 'leaked' });
      expect(ndjson.status).toBe(200);
      const lines = ndjson.text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditEntry);
      expect(lines.map((e) => [e.type, e.reasonCode])).toEqual([['key.revoked', 'leaked']]);
      const csv = parseCsv((await download(sut, admin.token, { tenantId: T, type: 'key.expired', format: 'csv' })).text);
      const column = csv[0].indexOf('reasonCode');
      expect(column).toBeGreaterThan(-1);
      expect(
        csv
          .slice(1)
          .map((r) => r[column])
          .sort(),
      ).toEqual(['offboarding', 'other']);
    },
    TIMEOUT,
  );

  it(
    'migration 0019 on a database with ended keys fills both tables from the events, as the projections derive them; verify passes',
    async () => {
      const pool = isolated!.pool;
      const snapshot = async () => ({
        keys: (await pool.query('SELECT key_id, reason_code FROM api_keys ORDER BY key_id')).rows,
        audit: (await pool.query('SELECT position, reason_code FROM audit_log ORDER BY seq')).rows,
      });
      await settled();
      const before = await snapshot();
      expect(before.keys.filter((r: { reason_code: string | null }) => r.reason_code === 'leaked')).toHaveLength(1);
      await withTransaction(pool, async (client) => {
        const q = { query: (sql: string) => client.query(sql) } as unknown as QueryRunner;
        await new ReasonCodes1764000000019().down(q); // the tables as the previous release had them…
        await new ReasonCodes1764000000019().up(q); // …and the upgrade
      });
      expect(await snapshot()).toEqual(before);
      expect((await get('/admin/audit/verify').expect(200)).body).toMatchObject({ ok: true });
    },
    TIMEOUT,
  );
});
