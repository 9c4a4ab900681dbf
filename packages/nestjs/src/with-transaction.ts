import type { Pool, PoolClient } from 'pg';

export interface TransactionOptions {
  /** The statement that opens the transaction: `BEGIN` unless given (an isolation level, READ ONLY, …). */
  begin?: string;
}

/**
 * Runs `work` in one transaction on a connection of its own from `pool`: COMMIT when it resolves.
 * When it throws, the connection is closed rather than rolled back and reused: its state is then
 * unknown (inside a COPY, a failed statement, a lost socket), and closing it ends the transaction
 * on the server all the same.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  { begin = 'BEGIN' }: TransactionOptions = {},
): Promise<T> {
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    client.release(failed);
  }
}

/** One consistent snapshot for several reads, writing nothing. */
export const READ_SNAPSHOT: TransactionOptions = { begin: 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' };
