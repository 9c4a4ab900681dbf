import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { READ_SNAPSHOT, withTransaction } from '@keyledger/nestjs/internal';
import { testPool } from '../support/test-database.js';

describe('withTransaction (real PostgreSQL)', () => {
  let pool: Pool;
  const table = `test_tx_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const count = async (): Promise<number> => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

  beforeAll(async () => {
    pool = testPool(2);
    await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
  });
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  });

  it('commits what the work wrote and returns its result', async () => {
    const result = await withTransaction(pool, async (client) => {
      await client.query(`INSERT INTO ${table} VALUES (1)`);
      return 'done';
    });
    expect(result).toBe('done');
    expect(await count()).toBe(1);
  });

  it('when the work throws: rethrows, keeps nothing it wrote, and closes that connection instead of reusing it', async () => {
    const single = testPool(1); // one connection at most: reusing it would give the same backend
    const pid = async (): Promise<number> => (await single.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    try {
      const used = await pid();
      await expect(
        withTransaction(single, async (client) => {
          await client.query(`INSERT INTO ${table} VALUES (2)`);
          throw new Error('work failed');
        }),
      ).rejects.toThrow('work failed');
      expect(await count()).toBe(1);
      expect(await pid()).not.toBe(used);
    } finally {
      await single.end();
    }
  });

  it('opens the transaction with the statement given (a read-only snapshot refuses writes)', async () => {
    await expect(withTransaction(pool, (client) => client.query(`INSERT INTO ${table} VALUES (3)`), READ_SNAPSHOT)).rejects.toThrow(
      /read-only transaction/,
    );
    expect(await count()).toBe(1);
  });
});
