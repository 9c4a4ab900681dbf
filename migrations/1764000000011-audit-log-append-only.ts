import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * audit_log refuses UPDATE, DELETE and TRUNCATE, as events does: its rows only ever come from the
 * audit projection's appends, and a rebuild builds a new table and swaps it in
 * (src/event-store/table-swap.ts), which needs none of those rights. GET /admin/audit/verify
 * recomputes every row from its event, so a row changed anyway (the owner can disable the
 * triggers, or swap in a table of its own) is reported at its position.
 */
export class AuditLogAppendOnly1764000000011 implements MigrationInterface {
  name = 'AuditLogAppendOnly1764000000011';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION audit_log_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the audit_log table is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'Audit rows come from the events: rebuild the audit-log projection instead of changing them.';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change()`);
    await q.query(`
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER audit_log_no_truncate ON audit_log');
    await q.query('DROP TRIGGER audit_log_append_only ON audit_log');
    await q.query('DROP FUNCTION audit_log_reject_change()');
  }
}
