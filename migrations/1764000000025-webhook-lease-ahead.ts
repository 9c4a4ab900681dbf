import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DISPATCH_ROUND_0024 } from './1764000000024-webhook-delivery-speed.js';

/**
 * Webhook dispatchers lease ahead (issue #19, webhook-dispatcher.ts, docs/webhooks.md).
 *
 * - `webhook_deliveries.leased_by`: the dispatcher process holding a lease. An endpoint's live
 *   leases all belong to one dispatcher at a time, so that dispatcher alone keeps the endpoint's
 *   concurrency limit (deliveries in flight at once), in memory, while it holds more leases than
 *   that: the ones it will send as soon as a response frees a slot.
 * - `webhook_dispatch_round(…)` gains `dispatcher` and returns `seq`: it leases nothing for an
 *   endpoint another dispatcher (or one from before this migration) holds a live lease for, and
 *   up to `per_endpoint` (now the lease-ahead window) for the others.
 * - The 10-argument round stays, for instances of the version before during a rolling deploy: it
 *   leases as no dispatcher in particular (`leased_by` NULL), so old instances keep the limit
 *   among themselves, as before, and leave endpoints new ones hold alone (and the reverse).
 */
const ROUND_ARGS = 'uuid[], uuid[], int[], text[], timestamptz[], int, int, int, uuid, int';
export class WebhookLeaseAhead1764000000025 implements MigrationInterface {
  name = 'WebhookLeaseAhead1764000000025';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE webhook_deliveries ADD COLUMN leased_by uuid');
    await q.query('DROP FUNCTION webhook_dispatch_round');
    await q.query(`
      CREATE FUNCTION webhook_dispatch_round(
        done_ids uuid[], done_leases uuid[], done_statuses int[], done_bodies text[], done_at timestamptz[],
        max_rows int, per_endpoint int, lease_ms int, new_lease uuid, claim_window int, dispatcher uuid)
      RETURNS TABLE (id uuid, endpoint_id uuid, url text, message_id text, payload text, attempts int, first_attempt_at timestamptz, seq bigint)
      LANGUAGE plpgsql VOLATILE AS $fn$
      #variable_conflict use_column
      DECLARE
        locked uuid[];
      BEGIN
        IF cardinality(done_ids) > 0 THEN
          WITH d AS (
            UPDATE webhook_deliveries w SET status = 'delivered', attempts = w.attempts + 1, last_attempt_at = u.at, delivered_at = u.at,
              leased_until = NULL, lease_id = NULL, leased_by = NULL, response_status = u.status, response_body = u.body, last_error = NULL
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
        WITH held AS (
          SELECT b.endpoint_id, count(*)::int AS n, bool_or(b.leased_by IS DISTINCT FROM dispatcher) AS by_another
          FROM webhook_deliveries b
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
          SELECT due.id FROM due LEFT JOIN held ON held.endpoint_id = due.endpoint_id
          WHERE NOT coalesce(held.by_another, false) AND due.rn <= per_endpoint - coalesce(held.n, 0) ORDER BY due.seq LIMIT max_rows
        ), leased AS (
          UPDATE webhook_deliveries w
          SET leased_until = now() + make_interval(secs => lease_ms / 1000.0), lease_id = new_lease, leased_by = dispatcher,
            first_attempt_at = coalesce(w.first_attempt_at, now())
          FROM picked, webhook_endpoints e
          WHERE w.id = picked.id AND e.id = w.endpoint_id
          RETURNING w.id, w.endpoint_id, e.url, w.message_id, w.payload, w.attempts, w.first_attempt_at, w.seq
        )
        SELECT * FROM leased ORDER BY leased.seq;
      END
      $fn$`);
    await q.query(`
      CREATE FUNCTION webhook_dispatch_round(
        done_ids uuid[], done_leases uuid[], done_statuses int[], done_bodies text[], done_at timestamptz[],
        max_rows int, per_endpoint int, lease_ms int, new_lease uuid, claim_window int)
      RETURNS TABLE (id uuid, endpoint_id uuid, url text, message_id text, payload text, attempts int, first_attempt_at timestamptz)
      LANGUAGE sql VOLATILE AS $fn$
        SELECT r.id, r.endpoint_id, r.url, r.message_id, r.payload, r.attempts, r.first_attempt_at
        FROM webhook_dispatch_round(done_ids, done_leases, done_statuses, done_bodies, done_at, max_rows, per_endpoint, lease_ms, new_lease,
          claim_window, NULL::uuid) r
      $fn$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION webhook_dispatch_round(${ROUND_ARGS})`);
    await q.query(`DROP FUNCTION webhook_dispatch_round(${ROUND_ARGS}, uuid)`);
    await q.query(DISPATCH_ROUND_0024);
    await q.query('ALTER TABLE webhook_deliveries DROP COLUMN leased_by');
  }
}
