import type { Pool } from 'pg';

export class TransactionIdsBehindError extends Error {}

/**
 * Readers order events by the writing transaction's id. A logical restore (pg_dump → new cluster)
 * keeps the stored ids while the new cluster counts from a lower one, so new events would sort
 * before old ones and checkpoints would skip them. Refuse to start until the cluster's counter has
 * been moved past the stored ids (docs/operations.md, "Restoring from a logical dump").
 */
export async function assertTransactionIdsAhead(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ stored: string | null; current: string }>(
    `SELECT (SELECT max(transaction_id) FROM events)::text AS stored, pg_current_xact_id()::text AS current`,
  );
  const { stored, current } = rows[0];
  if (stored !== null && BigInt(stored) >= BigInt(current)) {
    throw new TransactionIdsBehindError(
      `this database's transaction counter (${current}) is behind the newest stored event's (${stored}), as after a logical restore: ` +
        `run CALL keyledger_advance_xid('${stored}') once (see docs/operations.md) before starting keyledger`,
    );
  }
}
