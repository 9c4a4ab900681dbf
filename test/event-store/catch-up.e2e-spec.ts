import { Client, type Pool } from 'pg';
import request from 'supertest';
import { ProjectionsService } from '../../src/event-store/index.js';
import { bearer } from '../support/http.js';
import { uniqueTenant } from '../support/keys.js';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { testDatabaseUrl, testPool } from '../support/test-database.js';

/**
 * ProjectionsService.catchUp() promises every event committed when it is called, applied. The
 * async runners read only below the oldest transaction still running (the gap-safe order), so an
 * older transaction left open, here on another connection, holds a committed event back. The test
 * holds it for one bounded catchUp (100 ms), then ends it itself: no timing decides the outcome.
 */
describe('catchUp (real PostgreSQL)', () => {
  let sut: TestApp;
  let pool: Pool;

  beforeAll(async () => {
    pool = testPool(2);
    sut = await createTestApp();
  });
  afterAll(async () => {
    await sut?.close();
    await pool?.end();
  });

  it('waits for an event an older open transaction holds back, and resolves once it is applied', async () => {
    const projections = sut.app.get(ProjectionsService);
    const admin = await issueKey(sut.app, { scopes: ['admin'] });
    const audited = async (keyId: string): Promise<string[]> =>
      (await pool.query<{ event_type: string }>('SELECT event_type FROM audit_log WHERE key_id = $1', [keyId])).rows.map(
        (r) => r.event_type,
      );
    const blocker = new Client({ connectionString: testDatabaseUrl() });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT pg_current_xact_id()'); // takes a transaction id older than the create's
      const created = await request(sut.url)
        .post('/admin/api-keys')
        .set(bearer(admin.token))
        .send({ tenantId: uniqueTenant(), name: 'held back' })
        .expect(201);
      const keyId = (created.body as { id: string }).id;

      let settled = false;
      const waiting = projections.catchUp().finally(() => {
        settled = true;
      });
      // While the older transaction is open nothing can apply the create: a bounded catchUp says so
      // when its time is up, and the unbounded one is still waiting.
      const bounded = await projections.catchUp(100);
      expect(settled).toBe(false);
      expect(bounded).toBe(false);
      expect(await audited(keyId)).toEqual([]);

      await blocker.query('COMMIT');
      expect(await waiting).toBe(true);
      expect(await audited(keyId)).toEqual(['key.created']);
    } finally {
      await blocker.end();
    }
  });
});
