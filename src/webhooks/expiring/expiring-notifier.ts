import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { RetryBackoff } from '@keyledger/nestjs/internal';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { PG_POOL } from '../../database/index.js';
import { expiringKeysSource } from '../../keys/index.js';
import { WebhookDispatcher } from '../delivery/webhook-dispatcher.js';

/*
 * One statement: the due (key, offset) pairs of the keys module's source that have no notice yet
 * get one, and each new notice one delivery per endpoint that wants key.expiring; only the new
 * notices come back. The primary key of webhook_expiry_notices makes each (key, offset) queued once,
 * whatever the number of instances: of two scans that both saw a pair without a notice, the second
 * waits for the first's insert and then skips the pair (ON CONFLICT DO NOTHING returns nothing).
 */
const notify = (due: string): string => `
WITH due AS (${due}),
notices AS (
  INSERT INTO webhook_expiry_notices (key_id, offset_seconds)
  SELECT d.key_id, d.offset_seconds FROM due d
  WHERE NOT EXISTS (SELECT FROM webhook_expiry_notices n WHERE n.key_id = d.key_id AND n.offset_seconds = d.offset_seconds)
  ON CONFLICT (key_id, offset_seconds) DO NOTHING
  RETURNING key_id, offset_seconds
),
queued AS (
  INSERT INTO webhook_deliveries (id, endpoint_id, message_id, event_type, order_key, payload)
  SELECT gen_random_uuid(), e.id, 'msg_expiring_' || k.key_id || '_' || k.offset_seconds || '_' || floor(extract(epoch FROM k.expires_at))::bigint, 'key.expiring', k.key_id::text,
    json_build_object('type', 'key.expiring', 'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'data', json_build_object(
      'keyId', k.key_id, 'publicId', k.public_id, 'tenantId', k.tenant_id, 'name', k.name,
      'expiresAt', to_char(k.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'offsetSeconds', k.offset_seconds))::text
  FROM notices n JOIN due k USING (key_id, offset_seconds)
  JOIN webhook_endpoints e ON e.enabled AND e.deleted_at IS NULL AND 'key.expiring' = ANY(e.event_types)
    AND (e.tenant_id IS NULL OR e.tenant_id = k.tenant_id)
  ORDER BY k.expires_at, k.offset_seconds DESC
  ON CONFLICT (endpoint_id, message_id) WHERE redelivery_of IS NULL DO NOTHING
)
SELECT key_id, offset_seconds FROM notices`;

const seconds = (ms: number): number => Math.round(ms / 1000);

/** Notices deleted per statement. */
const PRUNE_BATCH = 1000;

/*
 * A notice is sent at or after its expiry minus its offset, so the expiry it was sent for is at
 * most queued_at + offset: once that lies the retention in the past, the key has expired (or its
 * expiry moved more than the retention later, and a notice for the new one is due in its time).
 */
const PRUNE = `
DELETE FROM webhook_expiry_notices WHERE (key_id, offset_seconds) IN (
  SELECT key_id, offset_seconds FROM webhook_expiry_notices
  WHERE queued_at < now() - make_interval(secs => $1 / 1000.0)
    AND queued_at + make_interval(secs => offset_seconds) < now() - make_interval(secs => $1 / 1000.0)
  LIMIT ${PRUNE_BATCH})`;

/**
 * Queues `key.expiring` at each offset before a key's expiresAt (WEBHOOK_EXPIRING_OFFSETS, per
 * tenant WEBHOOK_EXPIRING_OFFSETS_BY_TENANT): once per key and offset across every instance.
 * A key whose expiresAt moves keeps the notices already sent.
 */
@Injectable()
export class ExpiringNotifier implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ExpiringNotifier.name);
  private readonly retry = new RetryBackoff(this.logger, 'key.expiring scan');
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private pruning: Promise<number> | undefined;
  private stopped = false;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.asyncProjectionsEnabled || !this.config.webhooks.dispatchEnabled) return;
    this.timer = setInterval(() => {
      this.scan().then(
        () => this.retry.succeeded(),
        (error: unknown) => this.retry.failed(error),
      );
    }, this.config.webhooks.expiringScanMs);
    this.timer.unref();
    this.pruneTimer = setInterval(() => {
      this.prune().catch((error: unknown) =>
        this.logger.warn(
          `could not prune key.expiring notices (tried again in WEBHOOK_PRUNE_INTERVAL): ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    }, this.config.webhooks.pruneEveryMs);
    this.pruneTimer.unref();
  }

  /**
   * Deletes the notices whose expiry lies WEBHOOK_DELIVERY_RETENTION in the past, a bounded batch
   * per statement; resolves with how many. Two instances at it at once delete each row once.
   */
  prune(): Promise<number> {
    this.pruning ??= (async () => {
      let total = 0;
      for (;;) {
        const deleted = (await this.pool.query(PRUNE, [this.config.webhooks.retentionMs])).rowCount ?? 0;
        total += deleted;
        if (deleted < PRUNE_BATCH || this.stopped) return total; // a stop waits for one batch at most
      }
    })().finally(() => {
      this.pruning = undefined;
    });
    return this.pruning;
  }

  /** One scan; resolves with how many notices it queued. */
  scan(): Promise<number> {
    this.running ??= this.scanOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async scanOnce(): Promise<number> {
    const { default: defaults, byTenant } = this.config.webhooks.expiringOffsets;
    const offsets = {
      defaults: defaults.map(seconds),
      byTenant: Object.fromEntries(Object.entries(byTenant).map(([tenant, list]) => [tenant, list.map(seconds)])),
    };
    const due = expiringKeysSource(offsets, 1);
    const { rows } = await this.pool.query(notify(due.sql), due.params);
    const queued = rows.length;
    if (queued > 0) this.dispatcher.wake();
    return queued;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    await this.running?.catch(() => undefined);
    await this.pruning?.catch(() => undefined);
  }
}
