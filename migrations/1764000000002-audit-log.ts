import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The audit log: one row per event, in chain order (seq), each carrying the running hash chain. */
export class AuditLog1764000000002 implements MigrationInterface {
  name = 'AuditLog1764000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_log (
        seq          bigint      PRIMARY KEY,
        position     bigint      NOT NULL UNIQUE,
        recorded_at  timestamptz NOT NULL,
        occurred_at  timestamptz NOT NULL,
        event_type   text        NOT NULL,
        stream_id    text        NOT NULL,
        key_id       uuid,
        public_id    text,
        tenant_id    text,
        actor_type   text,
        actor_id     text,
        request_id   text,
        ip           text,
        user_agent   text,
        reason       text,
        changes      jsonb       NOT NULL,
        chain_hash   bytea       NOT NULL
      )`);
    // Newest-first keyset pagination (seq DESC) under each common filter.
    await q.query('CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, seq DESC)');
    await q.query('CREATE INDEX audit_log_key_idx ON audit_log (key_id, seq DESC)');
    await q.query('CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, seq DESC)');
    await q.query('CREATE INDEX audit_log_type_idx ON audit_log (event_type, seq DESC)');
    await q.query('CREATE INDEX audit_log_recorded_idx ON audit_log (recorded_at DESC, seq DESC)');
    await q.query('CREATE INDEX audit_log_tenant_recorded_idx ON audit_log (tenant_id, recorded_at DESC, seq DESC)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE audit_log');
  }
}
