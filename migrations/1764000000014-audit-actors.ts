import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit rows name the acting key's publicId and name as its own events had them when it acted
 * (`actor_public_id`, `actor_name`), and every row's `changes` is `{field: {from, to}}` with `from`
 * always present. Rows written before this were derived the old way, so the migration empties
 * audit_log and resets the projection's checkpoint: the audit-log projection derives every row
 * again from the events (the record itself; the hash chain over them is unchanged), in the
 * background once the server starts, or at once with `keyledger projections rebuild audit-log`.
 * The append-only trigger is set aside for this one statement, by the table's owner, as a rebuild's
 * table swap would.
 */
export class AuditActors1764000000014 implements MigrationInterface {
  name = 'AuditActors1764000000014';

  async up(q: QueryRunner): Promise<void> {
    await this.reset(q);
    await q.query('ALTER TABLE audit_log ADD COLUMN actor_public_id text, ADD COLUMN actor_name text');
  }

  async down(q: QueryRunner): Promise<void> {
    await this.reset(q);
    await q.query('ALTER TABLE audit_log DROP COLUMN actor_public_id, DROP COLUMN actor_name');
  }

  private async reset(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate');
    await q.query('TRUNCATE audit_log');
    await q.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate');
    await q.query(
      `UPDATE projection_checkpoints SET transaction_id = '0', position = 0, updated_at = now(), halted_at = NULL, halted_error = NULL WHERE name = 'audit-log'`,
    );
  }
}
