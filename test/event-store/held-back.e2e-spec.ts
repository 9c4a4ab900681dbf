import { Client, Pool } from 'pg';
import { ProjectionsService } from '../../src/event-store/index.js';
import { until } from '../support/poll.js';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { createScratchDatabase, gatePassed, type ScratchDatabase } from '../support/test-database.js';

/**
 * An async runner reads only below the oldest transaction still running (the gap-safe order), so
 * an older transaction left open holds back an event committed after it. Once that transaction
 * ends, nothing else need wake the runner: not a notification (the event's was heard while it was
 * held back), not the poll (PROJECTION_POLL_MS is a minute here). It wakes itself while it is
 * behind, every 5 ms doubling to 200 ms (docs/ARCHITECTURE.md, "Projections and ordering"): the
 * event is applied within that cap plus a batch of the gate passing it (another test file's
 * transaction can hold the gate a moment longer: the bound counts from then); the bound asserted,
 * 1 s, leaves room for a loaded machine. Before, the event waited for the poll.
 */
describe('an event held back by an older open transaction (real PostgreSQL)', () => {
  let db: ScratchDatabase;
  let sut: TestApp;
  let pool: Pool;

  beforeAll(async () => {
    // A database of its own: no other test file's notifications wake the runner.
    db = await createScratchDatabase('held_back');
    sut = await createTestApp({ PROJECTION_POLL_MS: '60000', EXPIRY_SWEEP_ENABLED: 'false' }, db.url);
    pool = new Pool({ connectionString: db.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await sut?.close();
    await db?.drop();
  });

  it('is applied within a bound of the older transaction ending, with no poll and no further notification', async () => {
    const runner = sut.app.get(ProjectionsService).runner('audit-log');
    const audited = async (keyId: string): Promise<string[]> =>
      (await pool.query<{ event_type: string }>('SELECT event_type FROM audit_log WHERE key_id = $1', [keyId])).rows.map(
        (r) => r.event_type,
      );
    const blocker = new Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT pg_current_xact_id()'); // takes a transaction id older than the create's
      const { id } = await issueKey(sut.app);
      await runner.wake();
      expect(await audited(id)).toEqual([]);

      await blocker.query('COMMIT');
      const { rows } = await pool.query<{ xid: string }>('SELECT transaction_id::text AS xid FROM events WHERE stream_id = $1', [
        `key-${id}`,
      ]);
      await gatePassed(pool, rows[0].xid);
      await until('the audit runner to apply the held-back create by itself', async () => (await audited(id)).length === 1, {
        timeoutMs: 1_000,
        intervalMs: 10,
      });
      expect(await audited(id)).toEqual(['key.created']);
    } finally {
      await blocker.end();
    }
  });
});
