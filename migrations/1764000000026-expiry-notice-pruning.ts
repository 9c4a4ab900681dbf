import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `key.expiring` notices are pruned (issue #19, expiring-notifier.ts, docs/webhooks.md): a notice
 * row is kept until the expiry it was sent for (at most `queued_at` + its offset) lies
 * WEBHOOK_DELIVERY_RETENTION in the past. This index finds the candidates (queued longer ago than
 * the retention) without reading the whole table.
 */
export class ExpiryNoticePruning1764000000026 implements MigrationInterface {
  name = 'ExpiryNoticePruning1764000000026';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX webhook_expiry_notices_queued_idx ON webhook_expiry_notices (queued_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX webhook_expiry_notices_queued_idx');
  }
}
