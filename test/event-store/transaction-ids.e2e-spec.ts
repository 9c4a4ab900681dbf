import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { runMigrations } from '../../src/database/index.js';
import { assertTransactionIdsAhead, TransactionIdsBehindError } from '../../src/event-store/transaction-id-check.js';
import { testDatabaseUrl } from '../support/test-database.js';

/** Simulates a logical restore: events whose stored transaction ids are ahead of the cluster's counter. */
describe('transaction ids after a logical restore', () => {
  const name = `keyledger_test_xid_${randomBytes(4).toString('hex')}`;
  const url = new URL(testDatabaseUrl());
  let admin: Client;
  let pool: Pool;

  beforeAll(async () => {
    admin = new Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    url.pathname = `/${name}`;
    await runMigrations(url.toString());
    pool = new Pool({ connectionString: url.toString() });
    pool.on('error', () => undefined); // an idle client dropped by the server is not this test's concern
  });
  afterAll(async () => {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  it('refuses to start while stored ids are ahead, and starts after keyledger_advance_xid', async () => {
    await expect(assertTransactionIdsAhead(pool)).resolves.toBeUndefined();
    const { rows } = await pool.query<{ ahead: string }>(`SELECT (pg_current_xact_id()::text::bigint + 200)::text AS ahead`);
    await pool.query(
      `INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, payload, metadata, transaction_id)
       VALUES ('restored', 1, gen_random_uuid(), 'test.restored', 1, '{}', '{}', $1::xid8)`,
      [rows[0].ahead],
    );
    await expect(assertTransactionIdsAhead(pool)).rejects.toThrow(TransactionIdsBehindError);
    await expect(assertTransactionIdsAhead(pool)).rejects.toThrow(/keyledger_advance_xid/);

    await pool.query(`CALL keyledger_advance_xid($1::xid8)`, [rows[0].ahead]);
    await expect(assertTransactionIdsAhead(pool)).resolves.toBeUndefined();
  });
});
