import pg from 'pg';
import request from 'supertest';
import { KeyReplica, type ReplicaRow } from '@keyledger/nestjs';
import { REPLICA_COLUMNS, replicaRowOf } from '@keyledger/nestjs/internal';
import { KeyRepository } from '../../src/keys/index.js';
import { createTestApp, TEST_PEPPER, type TestApp } from '../support/test-app.js';
import { testDatabaseUrl } from '../support/test-database.js';
import { verifierOf } from './guard-helpers.js';
import { bearer } from '../support/http.js';
import { issueUsableKey, uniqueTenant } from '../support/keys.js';

/**
 * The start-up load (binary COPY) must read every kind of key exactly as the live replica holds
 * it after notifications: a fresh replica loaded from the table gives each token the same verdict
 * and the same principal as the running app.
 */
describe('the replica start-up load', () => {
  let sut: TestApp;
  let admin: string;
  let pool: pg.Pool;

  beforeAll(async () => {
    sut = await createTestApp();
    admin = (await issueUsableKey(sut, { scopes: ['admin'] })).token;
    pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await sut?.close();
  });

  const create = async (body: Record<string, unknown>): Promise<{ id: string; token: string }> => {
    const res = await request(sut.url)
      .post('/admin/api-keys')
      .set(bearer(admin))
      .send({ tenantId: uniqueTenant(), name: 'load', ...body })
      .expect(201);
    return { id: res.body.id as string, token: res.body.key as string };
  };
  const rotate = async (id: string, gracePeriodSeconds: number): Promise<string> =>
    (await request(sut.url).post(`/admin/api-keys/${id}/rotate`).set(bearer(admin)).send({ gracePeriodSeconds }).expect(200)).body
      .key as string;

  it('gives every kind of key the verdict and principal the live replica gives', async () => {
    const plain = await create({});
    const rich = await create({
      scopes: ['invoices:read', 'reports:*'],
      tags: { region: 'eu-west', owner: 'Zoë “ops” \\ team\ttab' },
      expiresInDays: 30,
    });
    const inGrace = await create({ tags: { plan: 'pro' } });
    const graceToken = await rotate(inGrace.id, 3600);
    const noGrace = await create({});
    const noGraceToken = await rotate(noGrace.id, 0);
    const revoked = await create({});
    await request(sut.url).post(`/admin/api-keys/${revoked.id}/revoke`).set(bearer(admin)).send({ reason: 'leaked' }).expect(200);
    const expired = await create({ expiresInDays: 30 });
    await request(sut.url).post(`/admin/api-keys/${expired.id}/expire`).set(bearer(admin)).expect(200);

    const tokens = [plain.token, rich.token, inGrace.token, graceToken, noGrace.token, noGraceToken, revoked.token, expired.token];
    const live = verifierOf(sut);
    await live.settled();

    const fresh = new KeyReplica(pool, Buffer.from(TEST_PEPPER, 'utf8'));
    expect(await fresh.load()).toBeGreaterThanOrEqual(6); // six keys here (two of them rotated), and the admin's

    expect(tokens.map((t) => fresh.verify(t))).toEqual(tokens.map((t) => live.verify(t)));
    expect(tokens.map((t) => fresh.verify(t).code)).toEqual([
      'VALID',
      'VALID',
      'VALID',
      'VALID',
      'NOT_FOUND',
      'VALID',
      'REVOKED',
      'EXPIRED',
    ]);
    const principal = fresh.verify(rich.token);
    expect(principal.code === 'VALID' && principal.principal.tags).toEqual({ region: 'eu-west', owner: 'Zoë “ops” \\ team\ttab' });
  });

  it("builds from a key's state exactly the row the guard reads from api_keys (one column contract)", async () => {
    const rich = await create({ scopes: ['invoices:read'], tags: { owner: 'Zoë \\ team\ttab' }, expiresInDays: 30 });
    const inGrace = await create({});
    await rotate(inGrace.id, 3600);
    const noGrace = await create({});
    await rotate(noGrace.id, 0);
    const revoked = await create({});
    await request(sut.url).post(`/admin/api-keys/${revoked.id}/revoke`).set(bearer(admin)).send({ reason: 'leaked' }).expect(200);
    const repository = sut.app.get(KeyRepository);
    for (const { id } of [rich, inGrace, noGrace, revoked]) {
      const { rows } = await pool.query<ReplicaRow>(`SELECT ${REPLICA_COLUMNS} FROM api_keys WHERE key_id = $1`, [id]);
      // Scopes and tags as JSON values: jsonb writes its own spacing.
      const parsed = (row: ReplicaRow): object => ({
        ...row,
        scopes: JSON.parse(row.scopes) as unknown,
        tags: JSON.parse(row.tags) as unknown,
      });
      expect(parsed(replicaRowOf(await repository.load(id)))).toEqual(parsed(rows[0]));
    }
  });
});
