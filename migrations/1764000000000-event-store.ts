import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The append-only event store. Readers order by (transaction_id, global_position) and only read
 * below the oldest running transaction (pg_snapshot_xmin), so an event whose transaction commits
 * after a higher-numbered one is never skipped. See docs/adr/0001-event-store-on-postgres.md.
 */
export class EventStore1764000000000 implements MigrationInterface {
  name = 'EventStore1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE events (
        global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        stream_id       text        NOT NULL,
        stream_version  integer     NOT NULL CHECK (stream_version > 0),
        event_id        uuid        NOT NULL,
        type            text        NOT NULL,
        schema_version  integer     NOT NULL,
        payload         jsonb       NOT NULL,
        metadata        jsonb       NOT NULL,
        recorded_at     timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()), -- ms: exact in JS and in the audit chain
        transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
        CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version),
        CONSTRAINT events_event_id_key UNIQUE (event_id)
      )`);
    await q.query(`CREATE INDEX events_transaction_position_idx ON events (transaction_id, global_position)`);
    await q.query(`
      CREATE FUNCTION events_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the events table is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'Record a new event instead of changing or removing one.';
      END $$`);
    await q.query(`
      CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
      FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change()`);
    await q.query(`
      CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
      FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change()`);
    await q.query(`
      CREATE TABLE projection_checkpoints (
        name           text PRIMARY KEY,
        transaction_id xid8        NOT NULL DEFAULT '0',
        position       bigint      NOT NULL DEFAULT 0,
        updated_at     timestamptz NOT NULL DEFAULT now(),
        halted_at      timestamptz,
        halted_error   text
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE projection_checkpoints');
    await q.query('DROP TABLE events');
    await q.query('DROP FUNCTION events_reject_change()');
  }
}
