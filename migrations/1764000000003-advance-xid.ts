import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * After a logical restore into a new cluster, moves the transaction counter past the ids stored in
 * events (each loop iteration commits one transaction). See docs/operations.md.
 */
export class AdvanceXid1764000000003 implements MigrationInterface {
  name = 'AdvanceXid1764000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE PROCEDURE keyledger_advance_xid(target xid8) LANGUAGE plpgsql AS $$
      BEGIN
        WHILE pg_current_xact_id() <= target LOOP
          COMMIT;
        END LOOP;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP PROCEDURE keyledger_advance_xid(xid8)');
  }
}
