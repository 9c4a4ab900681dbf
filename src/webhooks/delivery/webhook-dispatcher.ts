import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { Webhook } from 'standardwebhooks';
import { EventNotifications, RetryBackoff, withTransaction, type EventNotification } from '@keyledger/nestjs/internal';
import { counter } from '../../common/index.js';
import { APP_CONFIG, type AppConfig, type WebhookConfig } from '../../config/index.js';
import { PG_POOL } from '../../database/index.js';
import { ConcurrencyError, EventStore, ProjectionsService } from '../../event-store/index.js';
import { eventMetadata, systemActor } from '../../keys/index.js';
import {
  isWebhookEvent,
  WEBHOOK_EVENT_SCHEMA_VERSION,
  WEBHOOK_STREAM_PREFIX,
  webhookStreamId,
  type WebhookEventPayload,
} from '../domain/webhook-events.js';
import { WebhookSecrets } from '../webhook-secrets.js';
import { nextAttemptDelay } from './retry-schedule.js';
import { sendWebhook, type SendResult } from './webhook-sender.js';

const attemptsTotal = counter({
  name: 'keyledger_webhook_attempts_total',
  help: 'Webhook delivery attempts by this process',
  labelNames: ['outcome'],
});

/** Deliveries one process holds leased at once, over all endpoints: being sent, or waiting for a slot of their endpoint. */
const MAX_HELD = 512;
/**
 * A dispatcher leases up to this many times an endpoint's concurrency limit, so that a response
 * starts the next delivery at once instead of a round later (a round costs 10–70 ms; a local
 * receiver answers in 1). Fewer when WEBHOOK_LEASE is short: see `leaseAheadWindow`.
 */
const MAX_LEASE_AHEAD = 4;

/**
 * How many of an endpoint's deliveries a dispatcher leases at most: its concurrency limit times
 * the lease-ahead. A delivery waiting for a slot must still be sent, answered (WEBHOOK_TIMEOUT at
 * worst, per delivery ahead of it) and recorded within its lease, so the lease-ahead is at most
 * WEBHOOK_LEASE / WEBHOOK_TIMEOUT - 1 (one timeout spare), at least 1, at most MAX_LEASE_AHEAD.
 */
export function leaseAheadWindow({ concurrency, leaseMs, timeoutMs }: WebhookConfig): number {
  return concurrency * Math.max(1, Math.min(MAX_LEASE_AHEAD, Math.floor(leaseMs / timeoutMs) - 1));
}
/**
 * How far into an endpoint's pending deliveries (oldest first) one claim looks, in multiples of
 * what the dispatcher may hold for it: past those it holds, to those waiting for a retry or behind
 * their key's older one. Each row looked at costs an index probe (its key's oldest).
 */
const CLAIM_WINDOW_PER_HELD = 2;

/** A success waiting for the next round to record it; `done` once recorded (or left to its lease). */
interface Delivered {
  id: string;
  leaseId: string;
  status: number;
  body: string | null;
  at: Date;
  done: () => void;
}

interface Claimed {
  id: string;
  endpoint_id: string;
  url: string;
  message_id: string;
  payload: string;
  attempts: number;
  first_attempt_at: Date;
}

/** A delivery this dispatcher leased: being sent, or waiting for a slot of its endpoint. */
interface Held extends Claimed {
  leaseId: string;
  /** When its lease runs out at the latest (measured from before the round that took it). */
  leaseEnds: number;
}

/** One endpoint's deliveries on this dispatcher: at most WEBHOOK_ENDPOINT_CONCURRENCY sent at once, the rest waiting in order. */
interface EndpointSlots {
  sending: number;
  waiting: Held[];
}

/*
 * One round trip per round (webhook_dispatch_round, migrations …024 and …025): record the
 * successes given, then lease what is due. Inside it: a try-lock per endpoint with due work (an
 * endpoint another dispatcher is claiming for is skipped), then, in a statement of its own (so it
 * sees every lease committed before the lock), for each endpoint no other dispatcher holds a live
 * lease of, up to the lease-ahead window (held ones included), oldest first, only a key's oldest
 * pending delivery (in order per key). A lease that runs out (its dispatcher died) makes the
 * delivery due again.
 */
const ROUND = `SELECT * FROM webhook_dispatch_round($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::timestamptz[], $6, $7, $8, $9, $10, $11)`;

/**
 * Leases given back unsent (at shutdown, or when their endpoint changed): they are leased again,
 * by another instance or this one, as the endpoint now is, rather than when they run out.
 */
const RELEASE = `
UPDATE webhook_deliveries w SET leased_until = NULL, lease_id = NULL, leased_by = NULL
FROM unnest($1::uuid[], $2::uuid[]) AS u(id, lease) WHERE w.id = u.id AND w.lease_id = u.lease`;

const FAILED = `
UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = now(), leased_until = NULL, lease_id = NULL, leased_by = NULL,
  response_status = $3, response_body = $4, last_error = $5,
  status = CASE WHEN $6::int IS NULL THEN 'failed' ELSE 'pending' END,
  next_attempt_at = CASE WHEN $6::int IS NULL THEN next_attempt_at ELSE now() + make_interval(secs => $6 / 1000.0) END
WHERE id = $1 AND lease_id = $2`;

/** Records the failure; true when the endpoint has failed, without a success, for longer than `disableAfter`. */
const FAILING = `
WITH h AS (
  INSERT INTO webhook_endpoint_health (endpoint_id, failing_since) VALUES ($1, now())
  ON CONFLICT (endpoint_id) DO UPDATE SET failing_since = webhook_endpoint_health.failing_since
  RETURNING failing_since
)
SELECT failing_since <= now() - make_interval(secs => $2 / 1000.0) AS expired, failing_since FROM h`;

/** Finished deliveries deleted per statement: a pruning never holds its lock for long. */
const PRUNE_BATCH = 1000;

/*
 * The outbox runner's own lock (projection-runner.ts): while a pruning holds it, no outbox batch
 * and no rebuild runs, and only one instance prunes at a time.
 */
const PRUNE_LOCK = `SELECT pg_try_advisory_xact_lock(hashtext('keyledger.projection'), hashtext('webhook-outbox')) AS locked`;

/* Oldest first, never a pending delivery. */
const PRUNE = `
DELETE FROM webhook_deliveries WHERE id IN (
  SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < now() - make_interval(secs => $1 / 1000.0)
  ORDER BY created_at LIMIT ${PRUNE_BATCH})`;

/*
 * Every delivery pruned so far belongs to an event at or before the outbox checkpoint read after
 * the DELETE (a row commits with its batch's checkpoint): a rebuild of the outbox skips those events.
 */
const PRUNED_THROUGH = `
INSERT INTO webhook_delivery_pruning (transaction_id, position, pruned_at)
SELECT transaction_id, position, now() FROM projection_checkpoints WHERE name = 'webhook-outbox'
ON CONFLICT (id) DO UPDATE SET transaction_id = excluded.transaction_id, position = excluded.position, pruned_at = excluded.pruned_at`;

/**
 * Delivers the outbox (`webhook_deliveries`) on every instance: leases due rows (ROUND), signs
 * each with its endpoint's secret (Standard Webhooks), POSTs it (webhook-sender.ts) and records
 * the outcome under its lease. It leases ahead of its sends: each endpoint's leases belong to one
 * dispatcher at a time, which sends at most WEBHOOK_ENDPOINT_CONCURRENCY of them at once and
 * starts the next when a response comes back; successes are recorded by the next round. A failure is retried on the configured schedule; an
 * endpoint failing past WEBHOOK_DISABLE_AFTER is disabled by a `webhook.disabled` event. Woken by
 * each batch this instance's outbox runner applies and by a poll. Deletes
 * finished deliveries older than WEBHOOK_DELIVERY_RETENTION every WEBHOOK_PRUNE_INTERVAL.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly retry = new RetryBackoff(this.logger, 'webhook dispatch');
  private readonly signers = new Map<string, Webhook>();
  /** This process's id in `leased_by`. */
  private readonly dispatcherId = randomUUID();
  private readonly endpoints = new Map<string, EndpointSlots>();
  /** Deliveries leased and not yet recorded. */
  private held = 0;
  /** Attempts being sent, or (failures) recorded. */
  private readonly attempts = new Set<Promise<void>>();
  /** Endpoints changed (NOTIFY) since the current round began. */
  private readonly changedInRound = new Set<string>();
  private delivered: Delivered[] = [];
  private pumping: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private pollTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private pruning: Promise<void> | undefined;
  private unsubscribe: (() => void)[] = [];

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly secrets: WebhookSecrets,
    private readonly store: EventStore,
    private readonly projections: ProjectionsService,
    private readonly notifications: EventNotifications,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.asyncProjectionsEnabled || !this.config.webhooks.dispatchEnabled) return;
    this.stopped = false;
    // Woken once this instance's outbox runner has queued deliveries (it reaches events an older
    // transaction held back, e.g. a round of this dispatcher, by itself).
    this.unsubscribe = [
      this.projections.runner('webhook-outbox').onApplied(() => this.wake()),
      this.notifications.onEvent((n) => this.endpointChanged(n)),
    ];
    this.pollTimer = setInterval(() => this.wake(), this.config.webhooks.pollMs);
    this.pollTimer.unref();
    this.pruneTimer = setInterval(
      () => void (this.pruning ??= this.prune().finally(() => (this.pruning = undefined))),
      this.config.webhooks.pruneEveryMs,
    );
    this.pruneTimer.unref();
    this.wake();
  }

  /** Deletes finished deliveries past the retention, a bounded batch per transaction, unless another instance is at it. */
  private async prune(): Promise<void> {
    try {
      let deleted: number;
      do {
        deleted = await withTransaction(this.pool, async (client) => {
          if (!(await client.query<{ locked: boolean }>(PRUNE_LOCK)).rows[0].locked) return 0;
          const n = (await client.query(PRUNE, [this.config.webhooks.retentionMs])).rowCount ?? 0;
          if (n > 0) await client.query(PRUNED_THROUGH);
          return n;
        });
      } while (deleted === PRUNE_BATCH && !this.stopped);
    } catch (error) {
      this.logger.warn(
        `could not prune webhook deliveries (tried again in WEBHOOK_PRUNE_INTERVAL): ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** Claims and starts what is due now; concurrent calls coalesce. */
  wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /**
   * Rounds until nothing is due: each round is one transaction that records the successes that
   * came back since the round before (their slots free up) and claims what is due now.
   */
  private async pump(): Promise<void> {
    try {
      while (!this.stopped) {
        const successes = this.delivered;
        this.delivered = [];
        this.changedInRound.clear();
        let claimed: Held[];
        try {
          claimed = await this.round(successes, MAX_HELD - this.held + successes.length);
        } catch (error) {
          this.delivered.unshift(...successes); // recorded by a later round (if their leases are still theirs)
          throw error;
        }
        for (const d of successes) d.done();
        // Leased as its endpoint was before a change that arrived meanwhile: given back, like those waiting.
        const stale = claimed.filter((d) => this.changedInRound.has(d.endpoint_id));
        if (stale.length > 0) void this.giveBack(stale).then(() => this.wake());
        for (const delivery of claimed) if (!this.changedInRound.has(delivery.endpoint_id)) this.hold(delivery);
        if (claimed.length === 0 && this.delivered.length === 0) break;
      }
      this.retry.succeeded();
    } catch (error) {
      this.retry.failed(error); // logged once per outage; the poll tries again
    }
  }

  private async round(successes: readonly Delivered[], limit: number): Promise<Held[]> {
    const leaseId = randomUUID();
    const { leaseMs } = this.config.webhooks;
    const leaseEnds = Date.now() + leaseMs;
    const perEndpoint = leaseAheadWindow(this.config.webhooks);
    const { rows } = await this.pool.query<Claimed>(ROUND, [
      successes.map((d) => d.id),
      successes.map((d) => d.leaseId),
      successes.map((d) => d.status),
      successes.map((d) => d.body),
      successes.map((d) => d.at),
      this.stopped ? 0 : limit,
      perEndpoint,
      leaseMs,
      leaseId,
      CLAIM_WINDOW_PER_HELD * perEndpoint,
      this.dispatcherId,
    ]);
    return rows.map((row) => ({ ...row, leaseId, leaseEnds }));
  }

  /** Queues a leased delivery behind its endpoint's others and sends what the endpoint's slots allow. */
  private hold(delivery: Held): void {
    let slots = this.endpoints.get(delivery.endpoint_id);
    if (slots === undefined) this.endpoints.set(delivery.endpoint_id, (slots = { sending: 0, waiting: [] }));
    slots.waiting.push(delivery);
    this.held++;
    this.sendWaiting(delivery.endpoint_id, slots);
  }

  private sendWaiting(endpointId: string, slots: EndpointSlots): void {
    while (slots.sending < this.config.webhooks.concurrency && slots.waiting.length > 0 && !this.stopped) {
      const delivery = slots.waiting.shift()!;
      slots.sending++;
      const freeSlot = (): void => {
        slots.sending--;
        this.sendWaiting(endpointId, slots);
      };
      const attempt = this.attempt(delivery, freeSlot).finally(() => this.attempts.delete(attempt));
      this.attempts.add(attempt);
    }
    if (slots.sending === 0 && slots.waiting.length === 0) this.endpoints.delete(endpointId);
  }

  /**
   * Sends one delivery (its slot freed as soon as the response is in), then records the outcome:
   * a failure at once, a success with the next round's others. It stops being held once recorded.
   */
  private async attempt(delivery: Held, freeSlot: () => void): Promise<void> {
    let result: SendResult | undefined;
    try {
      result = await this.send(delivery);
    } finally {
      freeSlot();
    }
    if (result === undefined) return this.finished(); // not sent: left to its lease
    attemptsTotal.inc({ outcome: result.error === null ? 'delivered' : 'failed' });
    if (result.error === null) {
      const { id, leaseId } = delivery;
      this.delivered.push({ id, leaseId, status: result.status!, body: result.body, at: new Date(), done: () => this.finished() });
      return this.wake();
    }
    try {
      await this.recordFailure(delivery, result);
    } catch (error) {
      // The lease runs out and the delivery is attempted again: at least once.
      this.logger.warn(`could not record webhook delivery ${delivery.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.finished();
  }

  /** A held delivery is recorded (or given up to its lease): room to lease another. */
  private finished(): void {
    this.held--;
    this.wake();
  }

  /**
   * An endpoint's URL, event types or enabled flag changed, or it was deleted: the deliveries this
   * dispatcher leased for it and has not sent yet are given back, to be leased again as it now is
   * (to its new URL; not at all once disabled). Those in flight finish as they started. A lost
   * notification leaves them to go out as leased, as they would have a moment earlier.
   */
  private endpointChanged(n: EventNotification): void {
    if (!isWebhookEvent(n.type) || n.type === 'webhook.created') return;
    const endpointId = n.streamId.slice(WEBHOOK_STREAM_PREFIX.length);
    this.changedInRound.add(endpointId);
    const slots = this.endpoints.get(endpointId);
    if (slots === undefined || slots.waiting.length === 0) return;
    const unsent = slots.waiting.splice(0);
    this.held -= unsent.length;
    void this.giveBack(unsent).then(() => this.wake());
  }

  private async giveBack(unsent: readonly Held[]): Promise<void> {
    await this.pool
      .query(RELEASE, [unsent.map((d) => d.id), unsent.map((d) => d.leaseId)])
      .catch((error: unknown) =>
        this.logger.warn(
          `could not give back ${unsent.length} unsent webhook deliveries (sent when their leases run out): ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
  }

  /**
   * Signs and POSTs it; undefined, not sent, when its lease could run out before the answer (it
   * waited that long for a slot or its secret): another dispatcher would send it too. It is due
   * again when the lease runs out.
   */
  private async send(delivery: Held): Promise<SendResult | undefined> {
    const { timeoutMs, allowPrivateNetworks } = this.config.webhooks;
    try {
      const signer = await this.signer(delivery.endpoint_id);
      if (Date.now() + timeoutMs > delivery.leaseEnds) return undefined;
      const now = new Date();
      const headers = {
        'webhook-id': delivery.message_id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signer.sign(delivery.message_id, now, delivery.payload),
      };
      return await sendWebhook(delivery.url, headers, delivery.payload, timeoutMs, allowPrivateNetworks);
    } catch (error) {
      return { status: null, body: null, error: error instanceof Error ? error.message : String(error) };
    }
  }

  private async recordFailure(delivery: Held, result: SendResult): Promise<void> {
    const { retrySchedule, retryForMs, disableAfterMs } = this.config.webhooks;
    const delay = nextAttemptDelay(retrySchedule, delivery.attempts + 1, Date.now() - delivery.first_attempt_at.getTime(), retryForMs);
    await this.pool.query(FAILED, [delivery.id, delivery.leaseId, result.status, result.body, result.error, delay]);
    const failing = await this.pool.query<{ expired: boolean; failing_since: Date }>(FAILING, [delivery.endpoint_id, disableAfterMs]);
    if (failing.rows[0]?.expired) await this.disable(delivery.endpoint_id, failing.rows[0].failing_since);
  }

  /** One `webhook.disabled` event, whatever the number of dispatchers that see the endpoint fail. */
  private async disable(endpointId: string, since: Date): Promise<void> {
    const { rows } = await this.pool.query<{ tenant_id: string | null; version: number; enabled: boolean }>(
      'SELECT tenant_id, version, enabled FROM webhook_endpoints WHERE id = $1',
      [endpointId],
    );
    if (rows.length === 0 || !rows[0].enabled) return;
    const payload: WebhookEventPayload = {
      webhookId: endpointId,
      tenantId: rows[0].tenant_id,
      changes: { enabled: { from: true, to: false } },
      reason: `failing since ${since.toISOString()}, longer than WEBHOOK_DISABLE_AFTER`,
      occurredAt: new Date().toISOString(),
    };
    try {
      await this.store.append(
        webhookStreamId(endpointId),
        rows[0].version,
        [{ type: 'webhook.disabled', schemaVersion: WEBHOOK_EVENT_SCHEMA_VERSION, payload }],
        eventMetadata({ actor: systemActor('webhook-dispatcher'), requestId: 'webhook-dispatcher' }),
      );
      this.logger.warn(`disabled webhook endpoint ${endpointId}: ${payload.reason}`);
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error; // someone else changed it first
    }
  }

  private async signer(endpointId: string): Promise<Webhook> {
    let signer = this.signers.get(endpointId);
    if (signer === undefined) {
      const { rows } = await this.pool.query<{ ciphertext: Buffer }>('SELECT ciphertext FROM webhook_secrets WHERE endpoint_id = $1', [
        endpointId,
      ]);
      if (rows.length === 0) throw new Error(`webhook endpoint ${endpointId} has no signing secret`);
      signer = new Webhook(this.secrets.open(endpointId, rows[0].ciphertext));
      this.signers.set(endpointId, signer);
    }
    return signer;
  }

  /**
   * Stops claiming and sending, waits for the deliveries in flight (each bounded by
   * WEBHOOK_TIMEOUT) and records them, and gives back the leases of those not sent yet: another
   * instance sends them at once, and a graceful restart sends nothing twice. A delivery whose
   * outcome could not be recorded keeps its lease, which runs out, and is sent again: at least
   * once, never lost.
   */
  /** Before the HTTP server closes: nothing more is claimed or started from here on. */
  beforeApplicationShutdown(): void {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearInterval(this.pruneTimer);
    this.unsubscribe.forEach((unsubscribe) => unsubscribe());
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pumping;
    await this.pruning;
    await Promise.all(this.attempts);
    // Successes not yet recorded: one last round records them (it claims nothing once stopped).
    if (this.delivered.length > 0) {
      const successes = this.delivered;
      this.delivered = [];
      await this.round(successes, 0).catch(() => undefined);
      for (const d of successes) d.done();
    }
    const unsent = [...this.endpoints.values()].flatMap((slots) => slots.waiting);
    this.endpoints.clear();
    if (unsent.length > 0) await this.giveBack(unsent);
  }
}
