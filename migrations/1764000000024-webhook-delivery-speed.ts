import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The round as this migration created it (1764000000025 replaces it, and restores it on the way down). */
export const DISPATCH_ROUND_0024 = `
      CREATE FUNCTION webhook_dispatch_round(
        done_ids uuid[], done_leases uuid[], done_statuses int[], done_bodies text[], done_at timestamptz[],
        max_rows int, per_endpoint int, lease_ms int, new_lease uuid, claim_window int)
      RETURNS TABLE (id uuid, endpoint_id uuid, url text, message_id text, payload text, attempts int, first_attempt_at timestamptz)
      LANGUAGE plpgsql VOLATILE AS $fn$
      #variable_conflict use_column
      DECLARE
        locked uuid[];
      BEGIN
        IF cardinality(done_ids) > 0 THEN
          WITH d AS (
            UPDATE webhook_deliveries w SET status = 'delivered', attempts = w.attempts + 1, last_attempt_at = u.at, delivered_at = u.at,
              leased_until = NULL, lease_id = NULL, response_status = u.status, response_body = u.body, last_error = NULL
            FROM unnest(done_ids, done_leases, done_statuses, done_bodies, done_at) AS u(id, lease, status, body, at)
            WHERE w.id = u.id AND w.lease_id = u.lease
            RETURNING w.endpoint_id
          )
          DELETE FROM webhook_endpoint_health h WHERE h.endpoint_id IN (SELECT d.endpoint_id FROM d);
        END IF;
        IF max_rows <= 0 THEN
          RETURN;
        END IF;
        SELECT array_agg(c.id) INTO locked FROM (
          SELECT e.id FROM webhook_endpoints e
          WHERE e.enabled AND e.deleted_at IS NULL AND EXISTS (
            SELECT 1 FROM webhook_deliveries d
            WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= now() AND (d.leased_until IS NULL OR d.leased_until < now()))
          OFFSET 0) c
        WHERE pg_try_advisory_xact_lock(hashtext('keyledger.webhook-endpoint'), hashtext(c.id::text));
        IF locked IS NULL THEN
          RETURN;
        END IF;
        RETURN QUERY
        WITH busy AS (
          SELECT b.endpoint_id, count(*)::int AS n FROM webhook_deliveries b
          WHERE b.endpoint_id = ANY(locked) AND b.status = 'pending' AND b.lease_id IS NOT NULL AND b.leased_until >= now() GROUP BY b.endpoint_id
        ), due AS (
          SELECT c.id, c.endpoint_id, c.seq, row_number() OVER (PARTITION BY c.endpoint_id ORDER BY c.seq) AS rn
          FROM unnest(locked) AS ep(id)
          CROSS JOIN LATERAL (
            SELECT d.id, d.endpoint_id, d.seq, d.order_key, d.next_attempt_at, d.leased_until FROM webhook_deliveries d
            WHERE d.endpoint_id = ep.id AND d.status = 'pending' ORDER BY d.seq LIMIT claim_window) c
          WHERE c.next_attempt_at <= now() AND (c.leased_until IS NULL OR c.leased_until < now())
            AND c.seq = (
              SELECT min(p.seq) FROM webhook_deliveries p WHERE p.endpoint_id = c.endpoint_id AND p.order_key = c.order_key AND p.status = 'pending')
        ), picked AS (
          SELECT due.id FROM due LEFT JOIN busy ON busy.endpoint_id = due.endpoint_id
          WHERE due.rn <= per_endpoint - coalesce(busy.n, 0) ORDER BY due.seq LIMIT max_rows
        ), leased AS (
          UPDATE webhook_deliveries w
          SET leased_until = now() + make_interval(secs => lease_ms / 1000.0), lease_id = new_lease, first_attempt_at = coalesce(w.first_attempt_at, now())
          FROM picked, webhook_endpoints e
          WHERE w.id = picked.id AND e.id = w.endpoint_id
          RETURNING w.id, w.endpoint_id, e.url, w.message_id, w.payload, w.attempts, w.first_attempt_at
        )
        SELECT * FROM leased;
      END
      $fn$`;

/**
 * Webhook delivery speed and retention (issue #19, docs/webhooks.md).
 *
 * - `webhook_deliveries_claim_idx`: an endpoint's pending deliveries in `seq` order, so a claim
 *   reads the oldest few of them instead of sorting all of them.
 * - `webhook_deliveries_leased_idx`: the deliveries leased now (`lease_id` is set while a
 *   dispatcher holds one), counted per endpoint by every claim (the concurrency limit).
 * - `webhook_deliveries_finished_idx`: delivered and failed deliveries by age, for pruning them
 *   past WEBHOOK_DELIVERY_RETENTION.
 * - `webhook_dispatch_round(…)`: a dispatcher's round in one round trip (webhook-dispatcher.ts):
 *   records the successes it is given, try-locks each endpoint with due work, then, in a statement
 *   of its own (a new snapshot, so it sees every lease committed before the lock), leases per
 *   locked endpoint its oldest due deliveries up to the concurrency limit, only a key's oldest
 *   pending one. Five round trips before (BEGIN, record, lock, claim, COMMIT): on a busy machine
 *   each cost more than the work. Every part reads an index: the leased rows (`lease_id` is set
 *   only while leased), an endpoint's oldest pending ones, a key's oldest (a subquery per row: as
 *   NOT EXISTS the planner hashed every pending row of the table, 76 ms at 6,000).
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
    await q.query(DISPATCH_ROUND_0024);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP FUNCTION webhook_dispatch_round');
    await q.query('DROP TABLE webhook_delivery_pruning');
    await q.query('DROP INDEX webhook_deliveries_finished_idx');
    await q.query('DROP INDEX webhook_deliveries_leased_idx');
    await q.query('DROP INDEX webhook_deliveries_claim_idx');
  }
}
