import { Pool } from 'pg';
import request from 'supertest';
import { KeyVerifier } from '@keyledger/nestjs';
import { ProjectionsService } from '../../src/event-store/index.js';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { createScratchDatabase, testPool, type ScratchDatabase } from '../support/test-database.js';

/**
 * The active-key read model is a pure function of the events: dropping and rebuilding it gives the
 * same rows, byte for byte. In a database of its own, since a rebuild locks out appends meanwhile.
 */
describe('active-key read model rebuild', () => {
  let pool: Pool;
  let db: ScratchDatabase;
  let sut: TestApp;

  beforeAll(async () => {
    pool = testPool();
    db = await createScratchDatabase('rebuild');
    sut = await createTestApp({ EXPIRY_SWEEP_ENABLED: 'false' }, db.url);
  });
  afterAll(async () => {
    await sut.close();
    await db.drop();
    await pool.end();
  });

  it('rebuilds from the events to exactly the rows the inline projection wrote', async () => {
    const admin = await issueKey(sut.app, { scopes: ['admin'] });
    const auth = { 'x-api-key': admin.token };
    const verifier = sut.app.get(KeyVerifier);
    const deadline = Date.now() + 5000;
    while (verifier.verify(admin.token).code !== 'VALID') {
      if (Date.now() > deadline) throw new Error('the admin key did not reach the guard');
      await new Promise((r) => setTimeout(r, 10));
    }
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await request(sut.url)
        .post('/admin/api-keys')
        .set(auth)
        .send({ tenantId: `t${i % 3}`, name: `k${i}`, scopes: ['reports:read'], tags: { n: String(i) }, expiresInDays: 30 })
        .expect(201);
      ids.push(res.body.id as string);
    }
    // Every kind of change: rotate with and without grace, update each field, expire, revoke.
    await request(sut.url).post(`/admin/api-keys/${ids[0]}/rotate`).set(auth).send({ gracePeriodSeconds: 3600 }).expect(200);
    await request(sut.url).post(`/admin/api-keys/${ids[1]}/rotate`).set(auth).send({}).expect(200);
    await request(sut.url)
      .patch(`/admin/api-keys/${ids[2]}`)
      .set(auth)
      .send({ name: 'renamed', scopes: ['reports:read', 'invoices:read'], tags: { a: 'b' }, expiresAt: null })
      .expect(200);
    await request(sut.url).post(`/admin/api-keys/${ids[3]}/expire`).set(auth).expect(200);
    await request(sut.url).post(`/admin/api-keys/${ids[4]}/revoke`).set(auth).send({ reason: 'leaked' }).expect(200);
    await request(sut.url).delete(`/admin/api-keys/${ids[5]}`).set(auth).expect(200);
    await request(sut.url).post(`/admin/api-keys/${ids[6]}/rotate`).set(auth).send({ gracePeriodSeconds: 60 }).expect(200);
    await request(sut.url).post(`/admin/api-keys/${ids[6]}/rotate`).set(auth).send({ gracePeriodSeconds: 0 }).expect(200);

    const isolated = new Pool({ connectionString: db.url });
    try {
      const rows = async (): Promise<string[]> =>
        (
          await isolated.query<{ row: string }>(`SELECT row_to_json(k)::text AS row FROM (SELECT * FROM api_keys ORDER BY key_id) k`)
        ).rows.map((r) => r.row);
      const live = await rows();
      expect(live).toHaveLength(13);
      let progress = 0;
      await sut.app.get(ProjectionsService).rebuild('active-keys', (n) => (progress = n));
      expect(progress).toBeGreaterThanOrEqual(21);
      expect(await rows()).toEqual(live);
    } finally {
      await isolated.end();
    }
  });
});
