import type { Pool } from 'pg';
import request from 'supertest';
import type { AccessEntry } from '../../src/access/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { createKey, expectNoSecretLeaks, Secrets } from '../keys/helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { type IssuedKey, issueUsableKey, uniqueTenant } from '../support/keys.js';

/** The structured records the app logged (Nest's logger is given objects; test-app captures them as JSON). */
function logRecords(sut: TestApp): (Record<string, unknown> & { level: string })[] {
  return sut.logs.flatMap((line) => {
    const match = /^(\w+) (\{.*\})(?:\s+\S+)?\s*$/.exec(line);
    if (!match) return [];
    try {
      return [{ level: match[1], ...(JSON.parse(match[2]) as Record<string, unknown>) }];
    } catch {
      return [];
    }
  });
}

describe('decisions leave a trace: refusal log lines, and access records for refused admin commands and audit reads', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: IssuedKey;
  const secrets = new Secrets();
  const T = uniqueTenant();
  const U = uniqueTenant();
  let managerT: IssuedKey;
  let readerT: IssuedKey;
  let verifierT: IssuedKey;
  let keyU: IssuedKey;

  /** The access records of one request, found by the request id it was sent with. */
  async function recordsOf(requestId: string): Promise<AccessEntry[]> {
    const res = await request(sut.url).get('/admin/audit/access').query({ limit: 1000 }).set(bearer(admin.token)).expect(200);
    return (res.body.items as AccessEntry[]).filter((e) => e.requestId === requestId);
  }

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(2);
    admin = await issueUsableKey(sut, { scopes: ['admin'] }, { secrets });
    managerT = await issueUsableKey(sut, { tenantId: T, scopes: ['keys:manage'] }, { secrets });
    readerT = await issueUsableKey(sut, { tenantId: T, scopes: ['audit:read'] }, { secrets });
    verifierT = await issueUsableKey(sut, { tenantId: T, scopes: ['keys:verify'] }, { secrets });
    keyU = await createKey(sut, secrets, admin.token, { tenantId: U, name: 'in U' });
  });
  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  describe('log lines', () => {
    it('a refused authentication logs the publicId (never the secret), the route, the target and the reason', async () => {
      const revoked = await issueUsableKey(sut, { tenantId: T }, { secrets });
      await request(sut.url).post(`/admin/api-keys/${revoked.id}/revoke`).set(bearer(admin.token)).send({}).expect(200);
      await request(sut.url).get(`/admin/api-keys/${keyU.id}`).set(bearer(revoked.token)).expect(401);
      await request(sut.url).get('/admin/api-keys').expect(401);
      const lines = logRecords(sut).filter((l) => l.event === 'access.refused' && l.status === 401);
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          outcome: 'refused',
          reason: 'AUTH.REVOKED',
          actor: revoked.publicId,
          route: 'GET /admin/api-keys/:id',
          target: keyU.id,
        }),
      );
      expect(lines).toContainEqual(
        expect.objectContaining({ reason: 'AUTH.MISSING_KEY', actor: null, route: 'GET /admin/api-keys', target: null }),
      );
    });

    it('a refused authorization (guard 403, tenancy 404, forbidden tenant 403) logs who, where, which key and why', async () => {
      await request(sut.url)
        .post(`/admin/api-keys/${keyU.id}/rotate`)
        .set(bearer(verifierT.token))
        .set('x-request-id', 'log-403')
        .send({})
        .expect(403);
      await request(sut.url)
        .post(`/admin/api-keys/${keyU.id}/revoke`)
        .set(bearer(managerT.token))
        .set('x-request-id', 'log-404')
        .send({})
        .expect(404);
      await request(sut.url).post('/admin/api-keys').set(bearer(managerT.token)).send({ tenantId: U, name: 'n' }).expect(403);
      const lines = logRecords(sut).filter((l) => l.event === 'access.refused');
      expect(lines).toContainEqual(
        expect.objectContaining({
          status: 403,
          reason: 'AUTH.INSUFFICIENT_SCOPE',
          actor: verifierT.publicId,
          route: 'POST /admin/api-keys/:id/rotate',
          target: keyU.id,
          requestId: 'log-403',
        }),
      );
      expect(lines).toContainEqual(
        expect.objectContaining({
          status: 404,
          reason: 'KEY.NOT_FOUND',
          actor: managerT.publicId,
          route: 'POST /admin/api-keys/:id/revoke',
          target: keyU.id,
          requestId: 'log-404',
        }),
      );
      expect(lines).toContainEqual(
        expect.objectContaining({ status: 403, reason: 'TENANT.FORBIDDEN', actor: managerT.publicId, route: 'POST /admin/api-keys' }),
      );
    });

    it('a failed verification logs differently from a successful one', async () => {
      const checked = await issueUsableKey(sut, { tenantId: T }, { secrets });
      await request(sut.url)
        .post('/v1/keys/verify')
        .set(bearer(verifierT.token))
        .send({ key: checked.token })
        .expect(200, /"valid":true/);
      await request(sut.url)
        .post('/v1/keys/verify')
        .set(bearer(verifierT.token))
        .send({ key: checked.token, scopes: ['billing:write'] })
        .expect(200, /"valid":false/);
      const lines = logRecords(sut).filter((l) => l.event === 'key.verification' && l.target === checked.publicId);
      expect(lines).toEqual([
        expect.objectContaining({ level: 'debug', outcome: 'ok', actor: verifierT.publicId }),
        expect.objectContaining({ level: 'warn', outcome: 'refused', reason: 'INSUFFICIENT_SCOPE', actor: verifierT.publicId }),
      ]);
    });
  });

  describe('access records', () => {
    it('records every refused admin command of an authenticated caller: who, what, which key, the answer, from where', async () => {
      const revokedInT = await createKey(sut, secrets, admin.token, { tenantId: T, name: 'to revoke twice' });
      await request(sut.url).post(`/admin/api-keys/${revokedInT.id}/revoke`).set(bearer(admin.token)).send({}).expect(200);
      const calls: [string, () => request.Test, number, string, IssuedKey][] = [
        [
          'acc-403',
          () => request(sut.url).post(`/admin/api-keys/${keyU.id}/rotate`).set(bearer(verifierT.token)).send({}),
          403,
          'AUTH.INSUFFICIENT_SCOPE',
          verifierT,
        ],
        [
          'acc-404',
          () => request(sut.url).patch(`/admin/api-keys/${keyU.id}`).set(bearer(managerT.token)).send({ name: 'x' }),
          404,
          'KEY.NOT_FOUND',
          managerT,
        ],
        [
          'acc-409',
          () => request(sut.url).post(`/admin/api-keys/${revokedInT.id}/revoke`).set(bearer(managerT.token)).send({}),
          409,
          'KEY.INACTIVE',
          managerT,
        ],
        [
          'acc-403-tenant',
          () => request(sut.url).post('/admin/api-keys').set(bearer(managerT.token)).send({ tenantId: U, name: 'n' }),
          403,
          'TENANT.FORBIDDEN',
          managerT,
        ],
      ];
      for (const [requestId, call, status, code, actor] of calls) {
        const res = await call().set('x-request-id', requestId).set('user-agent', 'decisions-test/1.0');
        expectErrorShape(res, status, code);
        const records = await recordsOf(requestId);
        expect(records).toEqual([
          expect.objectContaining({
            outcome: 'refused',
            status,
            code,
            actor: { keyId: actor.id, publicId: actor.publicId, tenantId: T },
            ip: '127.0.0.1',
            userAgent: 'decisions-test/1.0',
          }),
        ]);
        expect(Date.now() - Date.parse(records[0].recordedAt)).toBeLessThan(60_000);
      }
      expect((await recordsOf('acc-404'))[0]).toMatchObject({ route: 'PATCH /admin/api-keys/:id', target: keyU.id });
      expect((await recordsOf('acc-403-tenant'))[0]).toMatchObject({ route: 'POST /admin/api-keys', target: null });
    });

    it('a key pasted as the target is redacted in the record and the log line', async () => {
      const victim = await issueUsableKey(sut, { tenantId: U }, { secrets });
      await request(sut.url)
        .get(`/admin/api-keys/${victim.token}`)
        .set(bearer(managerT.token))
        .set('x-request-id', 'acc-pasted')
        .expect(404);
      expect(await recordsOf('acc-pasted')).toEqual([expect.objectContaining({ status: 404, target: '[redacted key]' })]);
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM access_audit WHERE strpos(access_audit::text, $1) > 0`,
        [victim.token.slice(-34, -6)],
      );
      expect(rows[0].n).toBe(0);
    });

    it('records nothing for bad input, a missing key or a caller that is not authenticated', async () => {
      await request(sut.url)
        .post('/admin/api-keys')
        .set(bearer(admin.token))
        .set('x-request-id', 'acc-400')
        .send({ tenantId: T })
        .expect(400);
      await request(sut.url).get('/admin/api-keys').set('x-request-id', 'acc-401').expect(401);
      expect(await recordsOf('acc-400')).toEqual([]);
      expect(await recordsOf('acc-401')).toEqual([]);
    });

    it('records every read, export, digest and verification of the audit log, and reads of these records', async () => {
      const reads: [string, string, IssuedKey][] = [
        ['acc-read', '/admin/audit?limit=1', readerT],
        ['acc-export', '/admin/audit/export?format=csv', readerT],
        ['acc-digest', '/admin/audit/digest', admin],
        ['acc-verify', '/admin/audit/verify', admin],
        ['acc-access', '/admin/audit/access?limit=1', readerT],
      ];
      for (const [requestId, path, caller] of reads) {
        await request(sut.url).get(path).set(bearer(caller.token)).set('x-request-id', requestId).expect(200);
        expect(await recordsOf(requestId)).toEqual([
          expect.objectContaining({
            outcome: 'allowed',
            status: 200,
            code: 'OK',
            route: `GET ${path.split('?')[0]}`,
            actor: expect.objectContaining({ keyId: caller.id }),
          }),
        ]);
      }
      await request(sut.url).get('/admin/audit/digest').set(bearer(readerT.token)).set('x-request-id', 'acc-digest-refused').expect(403);
      expect(await recordsOf('acc-digest-refused')).toEqual([
        expect.objectContaining({ outcome: 'refused', status: 403, code: 'AUTH.INSUFFICIENT_SCOPE' }),
      ]);
    });

    it('an audit:read key reads its own tenant’s records only; another tenant is a 403', async () => {
      const own = await request(sut.url).get('/admin/audit/access').query({ limit: 1000 }).set(bearer(readerT.token)).expect(200);
      const items = own.body.items as AccessEntry[];
      expect(items.length).toBeGreaterThan(0);
      expect(new Set(items.map((e) => e.actor.tenantId))).toEqual(new Set([T]));
      expectErrorShape(
        await request(sut.url).get('/admin/audit/access').query({ tenantId: U }).set(bearer(readerT.token)),
        403,
        'AUDIT.TENANT_FORBIDDEN',
      );
      expectErrorShape(await request(sut.url).get('/admin/audit/access').set(bearer(managerT.token)), 403, 'AUTH.INSUFFICIENT_SCOPE');
    });

    it('filters by actor and outcome, newest first, and pages without overlap', async () => {
      const refused = await request(sut.url)
        .get('/admin/audit/access')
        .query({ actorId: managerT.id, outcome: 'refused' })
        .set(bearer(admin.token))
        .expect(200);
      const items = refused.body.items as AccessEntry[];
      expect(items.length).toBeGreaterThanOrEqual(3);
      expect(items.every((e) => e.actor.keyId === managerT.id && e.outcome === 'refused')).toBe(true);
      const ids = items.map((e) => e.id);
      expect(ids).toEqual([...ids].sort((a, b) => b - a));
      const first = await request(sut.url)
        .get('/admin/audit/access')
        .query({ actorId: managerT.id, limit: 1 })
        .set(bearer(admin.token))
        .expect(200);
      const second = await request(sut.url)
        .get('/admin/audit/access')
        .query({ actorId: managerT.id, limit: 1, cursor: first.body.nextCursor })
        .set(bearer(admin.token))
        .expect(200);
      expect(second.body.items[0].id).toBeLessThan(first.body.items[0].id);
    });

    it('the table refuses UPDATE, DELETE and TRUNCATE, like the events table', async () => {
      await expect(pool.query(`UPDATE access_audit SET actor_key_id = NULL`)).rejects.toThrow(/append-only/);
      await expect(pool.query(`DELETE FROM access_audit`)).rejects.toThrow(/append-only/);
      await expect(pool.query(`TRUNCATE access_audit`)).rejects.toThrow(/append-only/);
    });

    it('a record the database refuses to store leaves the answer a 4xx and is logged with its content', async () => {
      // A real failure in PostgreSQL, for this one request id only (other files share the table).
      await pool.query(
        `CREATE FUNCTION decisions_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full (test)'; END $$`,
      );
      await pool.query(
        `CREATE TRIGGER decisions_test_fail BEFORE INSERT ON access_audit FOR EACH ROW WHEN (NEW.request_id = 'acc-db-fails') EXECUTE FUNCTION decisions_test_fail()`,
      );
      try {
        const res = await request(sut.url)
          .post(`/admin/api-keys/${keyU.id}/revoke`)
          .set(bearer(managerT.token))
          .set('x-request-id', 'acc-db-fails')
          .send({});
        expectErrorShape(res, 404, 'KEY.NOT_FOUND');
      } finally {
        await pool.query('DROP TRIGGER decisions_test_fail ON access_audit');
        await pool.query('DROP FUNCTION decisions_test_fail()');
      }
      expect(await recordsOf('acc-db-fails')).toEqual([]);
      const failure = logRecords(sut).find((l) => l.event === 'access.record_failed');
      expect(failure).toMatchObject({
        level: 'error',
        error: expect.stringContaining('disk full (test)'),
        record: expect.objectContaining({ requestId: 'acc-db-fails', code: 'KEY.NOT_FOUND' }),
      });
    });
  });

  it('leaks no plaintext key into logs, events or the read model', async () => {
    await expectNoSecretLeaks(sut, pool, secrets);
  });
});
