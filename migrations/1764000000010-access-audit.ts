import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The access audit: one row per refused admin command and per read of the audit log (PCI DSS
 * 10.2.1.3). Outside the key event chain, since these are decisions, not changes to a key; as
 * append-only as the events table, enforced by the database.
 */
export class AccessAudit1764000000010 implements MigrationInterface {
  name = 'AccessAudit1764000000010';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE access_audit (
        id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        recorded_at     timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
        outcome         text        NOT NULL CHECK (outcome IN ('allowed', 'refused')),
        status          smallint    NOT NULL,
        code            text        NOT NULL,
        route           text        NOT NULL,
        target          text,
        actor_key_id    uuid,
        actor_public_id text,
        tenant_id       text,
        request_id      text        NOT NULL,
        ip              text,
        user_agent      text
      )`);
    await q.query('CREATE INDEX access_audit_tenant_idx ON access_audit (tenant_id, id DESC)');
    await q.query('CREATE INDEX access_audit_actor_idx ON access_audit (actor_key_id, id DESC)');
    await q.query('CREATE INDEX access_audit_recorded_idx ON access_audit (recorded_at DESC, id DESC)');
    await q.query(`
      CREATE FUNCTION access_audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the access_audit table is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'Access records are evidence: add a row instead of changing or removing one.';
      END $$`);
    await q.query(`
      CREATE TRIGGER access_audit_append_only BEFORE UPDATE OR DELETE ON access_audit
      FOR EACH STATEMENT EXECUTE FUNCTION access_audit_reject_change()`);
    await q.query(`
      CREATE TRIGGER access_audit_no_truncate BEFORE TRUNCATE ON access_audit
      FOR EACH STATEMENT EXECUTE FUNCTION access_audit_reject_change()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE access_audit');
    await q.query('DROP FUNCTION access_audit_reject_change()');
  }
}
