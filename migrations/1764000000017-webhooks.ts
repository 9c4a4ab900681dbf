import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhooks (issue #19, docs/webhooks.md).
 *
 * - `webhook_endpoints`: the endpoints, an inline projection of the `webhook.*` events (a deleted
 *   endpoint keeps its row, `deleted_at` set). `created_transaction_id, created_position`: the
 *   endpoint receives only events after its creation in the readers' order, also in a rebuild.
 * - `webhook_secrets`: each endpoint's signing secret, AES-256-GCM encrypted (docs/security.md).
 *   Written with the endpoint's `webhook.created` in one transaction; never in an event.
 * - `webhook_deliveries`: the outbox. The async projection `webhook-outbox` inserts one row per
 *   (endpoint, message), in event order (`seq`); dispatchers lease due rows with
 *   `FOR UPDATE SKIP LOCKED` and a lease that expires, so a delivery whose dispatcher died is
 *   taken again. A manual redelivery is a new row (`redelivery_of`) with the same message id.
 * - `webhook_endpoint_health`: since when an endpoint has failed without a success in between.
 * - `webhook_expiry_notices`: one row per key and offset: `key.expiring` is queued once, whatever
 *   the number of instances.
 *
 * No foreign keys: the endpoints table is rebuilt from events, the rest is not.
 */
export class Webhooks1764000000017 implements MigrationInterface {
  name = 'Webhooks1764000000017';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_endpoints (
        id                     uuid        PRIMARY KEY,
        tenant_id              text,
        url                    text        NOT NULL,
        event_types            text[]      NOT NULL,
        enabled                boolean     NOT NULL,
        disabled_reason        text,
        created_at             timestamptz NOT NULL,
        updated_at             timestamptz NOT NULL,
        deleted_at             timestamptz,
        version                integer     NOT NULL,
        created_transaction_id xid8        NOT NULL,
        created_position       bigint      NOT NULL
      )`);
    await q.query('CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, created_at) WHERE deleted_at IS NULL');
    await q.query(`
      CREATE TABLE webhook_secrets (
        endpoint_id uuid  PRIMARY KEY,
        ciphertext  bytea NOT NULL
      )`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id               uuid        PRIMARY KEY,
        seq              bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
        endpoint_id      uuid        NOT NULL,
        message_id       text        NOT NULL,
        event_type       text        NOT NULL,
        order_key        text        NOT NULL,
        payload          text        NOT NULL,
        redelivery_of    uuid,
        status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts         integer     NOT NULL DEFAULT 0,
        created_at       timestamptz NOT NULL DEFAULT now(),
        first_attempt_at timestamptz,
        next_attempt_at  timestamptz NOT NULL DEFAULT now(),
        last_attempt_at  timestamptz,
        delivered_at     timestamptz,
        leased_until     timestamptz,
        lease_id         uuid,
        response_status  integer,
        response_body    text,
        last_error       text
      )`);
    await q.query(
      'CREATE UNIQUE INDEX webhook_deliveries_message_idx ON webhook_deliveries (endpoint_id, message_id) WHERE redelivery_of IS NULL',
    );
    await q.query(
      `CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (endpoint_id, order_key, seq) WHERE status = 'pending'`,
    );
    await q.query(`CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`);
    await q.query('CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (endpoint_id, seq DESC)');
    await q.query(`
      CREATE TABLE webhook_endpoint_health (
        endpoint_id   uuid        PRIMARY KEY,
        failing_since timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE TABLE webhook_expiry_notices (
        key_id         uuid        NOT NULL,
        offset_seconds integer     NOT NULL,
        queued_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (key_id, offset_seconds)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE webhook_expiry_notices');
    await q.query('DROP TABLE webhook_endpoint_health');
    await q.query('DROP TABLE webhook_deliveries');
    await q.query('DROP TABLE webhook_secrets');
    await q.query('DROP TABLE webhook_endpoints');
  }
}
