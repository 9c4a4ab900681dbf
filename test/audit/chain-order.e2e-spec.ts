import { withTransaction } from '@keyledger/nestjs/internal';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Pool, types } from 'pg';
import { GENESIS, nextChainHash, AuditReader, ChainVerifier } from '../../src/audit/index.js';
import { AuditLogProjection } from '../../src/audit/projections/audit-log.projection.js';
import { EventStore, ProjectionRunner, type RecordedEvent } from '../../src/event-store/index.js';
import { ApiKey } from '../../src/keys/domain/api-key.aggregate.js';
import { serializeKeyEvent } from '../../src/keys/domain/key-events.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/test-database.js';
import { SETUP_TIMEOUT, TIMEOUT } from './helpers.js';

// As the app's DatabaseModule does: bigint columns (seq, position) as numbers.
types.setTypeParser(types.builtins.INT8, (v) => Number(v));

const VERIFIER = join(import.meta.dirname, '..', '..', 'docs', 'audit-verifier.mjs');

/**
 * Stored transaction ids on both sides of 100, inserted out of both position and xid order. Below
 * every real transaction id (initdb alone uses several hundred), so every reader may see them.
 */
const XIDS = ['100', '98', '101', '99'];

/**
 * Chain order is (transaction_id, global_position) by the xid8 *value*. Its decimal text sorts
 * differently across every power of ten ('100' < '99'), and a live cluster crosses 10^4, 10^5, …
 * as it ages. The events here carry such ids directly (as restored rows would), in a database of
 * their own, so the case is exact and repeatable without advancing the cluster's counter.
 */
describe('chain order across a power of ten of transaction ids (99 → 100)', () => {
  let db: ScratchDatabase;
  let pool: Pool;
  let inXidOrder: RecordedEvent[];
  let head: string;

  beforeAll(async () => {
    db = await createScratchDatabase('audit');
    pool = new Pool({ connectionString: db.url, max: 4 });
    // pool.end() can resolve while a connection is still closing; DROP … WITH (FORCE) then ends it with an error.
    pool.on('error', () => undefined);
    for (const xid of XIDS) {
      const { key } = ApiKey.create({ keyId: randomUUID(), tenantId: 't-xid', name: `xid ${xid}`, prefix: 'kl_test' }, new Date());
      const [created] = key.pullPendingEvents().map(serializeKeyEvent);
      await pool.query(
        `INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, payload, metadata, transaction_id)
         VALUES ($1, 1, $2, $3, $4, $5, $6, $7::xid8)`,
        [
          `key-${key.keyId}`,
          randomUUID(),
          created.type,
          created.schemaVersion,
          JSON.stringify(created.payload),
          JSON.stringify({ actor: { type: 'system', id: 'system' } }),
          xid,
        ],
      );
    }
    const { rows } = await pool.query<Record<string, unknown>>(
      `SELECT e.global_position, e.transaction_id::text AS transaction_id, e.stream_id, e.stream_version, e.event_id, e.type,
              e.schema_version, e.payload, e.metadata, e.recorded_at
         FROM events e ORDER BY e.transaction_id, e.global_position`,
    );
    inXidOrder = rows.map((r) => ({
      position: Number(r.global_position),
      transactionId: r.transaction_id as string,
      streamId: r.stream_id as string,
      streamVersion: r.stream_version as number,
      eventId: r.event_id as string,
      type: r.type as string,
      schemaVersion: r.schema_version as number,
      payload: r.payload,
      metadata: r.metadata as Record<string, unknown>,
      recordedAt: r.recorded_at as Date,
    }));
    expect(inXidOrder.map((e) => e.transactionId)).toEqual(['98', '99', '100', '101']);
    head = `${inXidOrder[3].position}:${inXidOrder.reduce((chain, e) => nextChainHash(chain, e), GENESIS).toString('hex')}`;
  }, SETUP_TIMEOUT);

  afterEach(async () => {
    // audit_log refuses TRUNCATE; the superuser turns that off for the reset between tests.
    await pool.query(
      'BEGIN; ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate; TRUNCATE audit_log; ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate; COMMIT',
    );
    await pool.query(`UPDATE projection_checkpoints SET transaction_id = '0', position = 0, halted_at = NULL, halted_error = NULL`);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  }, SETUP_TIMEOUT);

  it(
    'the outside verifier chains them by the xid8 value',
    async () => {
      const out = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(process.execPath, [VERIFIER, head], { env: { ...process.env, DATABASE_URL: db.url } }, (error, stdout) => {
          resolve({ code: error ? Number(error.code) : 0, stdout });
        });
      });
      expect(out.stdout.trim().split('\n')).toEqual([head, `digest ${head}: matches`]);
      expect(out.code).toBe(0);
    },
    TIMEOUT,
  );

  it(
    'verify recomputes them by the xid8 value (an intact chain verifies)',
    async () => {
      // Audit rows written in the right order, straight through the projection.
      await withTransaction(pool, (client) => new AuditLogProjection(new EventStore(pool)).apply(client, inXidOrder));
      const verified = await new ChainVerifier(pool, new EventStore(pool)).verify(head);
      expect(verified).toMatchObject({ ok: true, checkedEvents: 4, headPosition: inXidOrder[3].position, digest: { matches: true } });
      expect((await new AuditReader(pool).digest()).digest).toBe(head);
    },
    TIMEOUT,
  );

  // Regression: readAll once ordered by its `transaction_id::text` output column, so '100' sorted
  // before '99', the runner re-read an applied event and halted on the duplicate audit row.
  it(
    'the audit projection applies them by the xid8 value and does not halt',
    async () => {
      const runner = new ProjectionRunner(new AuditLogProjection(new EventStore(pool)), pool, new EventStore(pool), 1000);
      await runner.init();
      await runner.wake();
      const status = await runner.status();
      expect(status.error).toBeUndefined();
      expect(status.state).toBe('idle');
      const { rows } = await pool.query<{ position: number }>('SELECT position FROM audit_log ORDER BY seq');
      expect(rows.map((r) => r.position)).toEqual(inXidOrder.map((e) => e.position));
      expect(await new ChainVerifier(pool, new EventStore(pool)).verify(head)).toMatchObject({
        ok: true,
        checkedEvents: 4,
        digest: { matches: true },
      });
    },
    TIMEOUT,
  );
});
