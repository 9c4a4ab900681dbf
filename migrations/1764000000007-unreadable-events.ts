import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stored key events this version cannot read (an unknown type or schema version), as the audit-log
 * projection meets them: what /health reports, so an operator learns of one whichever instance
 * projected it. A projection output like audit_log (rebuilt from the events), not a source of truth.
 */
export class UnreadableEvents1764000000007 implements MigrationInterface {
  name = 'UnreadableEvents1764000000007';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE unreadable_events (
        global_position bigint PRIMARY KEY,
        stream_id       text        NOT NULL,
        stream_version  integer     NOT NULL,
        type            text        NOT NULL,
        schema_version  integer     NOT NULL,
        problem         text        NOT NULL,
        detected_at     timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE unreadable_events');
  }
}
