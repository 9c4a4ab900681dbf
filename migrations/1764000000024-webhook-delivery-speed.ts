import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook delivery speed and retention (issue #19, docs/webhooks.md).
 *
 * - `webhook_deliveries_claim_idx`: an endpoint's pending deliveries in `seq` order, so a claim
 *   reads the oldest few of them instead of sorting all of them.
 * - `webhook_deliveries_leased_idx`: the deliveries leased now (`lease_id` is set while a
 *   dispatcher holds one), counted per endpoint by every claim (the concurrency limit).
 * - `webhook_deliveries_finished_idx`: delivered and failed deliveries by age, for pruning them
 *   past WEBHOOK_DELIVERY_RETENTION.
 * - `webhook_delivery_pruning`: one row, the outbox checkpoint (transaction id, position) as of
 *   the newest pruning: every delivery pruned belongs to an event at or before it, so a rebuild of
 *   the outbox queues nothing again for those events (webhook-outbox.projection.ts).
 */
export class WebhookDeliverySpeed1764000000024 implements MigrationInterface {
  name = 'WebhookDeliverySpeed1764000000024';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX webhook_deliveries_claim_idx ON webhook_deliveries (endpoint_id, seq) WHERE status = 'pending'`);
    await q.query(
      `CREATE INDEX webhook_deliveries_leased_idx ON webhook_deliveries (endpoint_id) WHERE status = 'pending' AND lease_id IS NOT NULL`,
    );
    await q.query(`CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (created_at) WHERE status <> 'pending'`);
    await q.query(`
      CREATE TABLE webhook_delivery_pruning (
        id             boolean     PRIMARY KEY DEFAULT true CHECK (id),
        transaction_id xid8        NOT NULL,
        position       bigint      NOT NULL,
        pruned_at      timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE webhook_delivery_pruning');
    await q.query('DROP INDEX webhook_deliveries_finished_idx');
    await q.query('DROP INDEX webhook_deliveries_leased_idx');
    await q.query('DROP INDEX webhook_deliveries_claim_idx');
  }
}
