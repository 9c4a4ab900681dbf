import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { RetryBackoff, withTransaction } from '@keyledger/nestjs/internal';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { PG_POOL } from '../../database/index.js';
import { expiringKeys } from '../../keys/index.js';
import { WebhookDispatcher } from '../delivery/webhook-dispatcher.js';

/* The notices not queued yet, of those given; the primary key makes each (key, offset) queued once, whatever the number of instances. */
const NOTICE = `
INSERT INTO webhook_expiry_notices (key_id, offset_seconds)
SELECT * FROM unnest($1::uuid[], $2::int[])
ON CONFLICT (key_id, offset_seconds) DO NOTHING
RETURNING key_id, offset_seconds`;

/* One delivery per newly queued notice and endpoint that wants key.expiring, in the same transaction. */
const QUEUE = `
INSERT INTO webhook_deliveries (id, endpoint_id, message_id, event_type, order_key, payload)
SELECT gen_random_uuid(), e.id, 'msg_expiring_' || k.key_id || '_' || k.secs, 'key.expiring', k.key_id::text,
  json_build_object('type', 'key.expiring', 'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'data', json_build_object(
    'keyId', k.key_id, 'publicId', k.public_id, 'tenantId', k.tenant_id, 'name', k.name,
    'expiresAt', to_char(k.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'offsetSeconds', k.secs))::text
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::int[]) AS k(key_id, public_id, tenant_id, name, expires_at, secs)
JOIN webhook_endpoints e ON e.enabled AND e.deleted_at IS NULL AND 'key.expiring' = ANY(e.event_types)
  AND (e.tenant_id IS NULL OR e.tenant_id = k.tenant_id)
ORDER BY k.expires_at, k.secs DESC
ON CONFLICT (endpoint_id, message_id) WHERE redelivery_of IS NULL DO NOTHING`;

const seconds = (ms: number): number => Math.round(ms / 1000);

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
  private running: Promise<number> | undefined;

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
    const queued = await withTransaction(this.pool, async (client) => {
      const due = await expiringKeys(client, offsets);
      if (due.length === 0) return 0;
      const { rows } = await client.query<{ key_id: string; offset_seconds: number }>(NOTICE, [
        due.map((k) => k.keyId),
        due.map((k) => k.offsetSeconds),
      ]);
      const fresh = new Set(rows.map((r) => `${r.key_id} ${r.offset_seconds}`));
      const notices = due.filter((k) => fresh.has(`${k.keyId} ${k.offsetSeconds}`));
      if (notices.length > 0) {
        await client.query(QUEUE, [
          notices.map((k) => k.keyId),
          notices.map((k) => k.publicId),
          notices.map((k) => k.tenantId),
          notices.map((k) => k.name),
          notices.map((k) => k.expiresAt),
          notices.map((k) => k.offsetSeconds),
        ]);
      }
      return notices.length;
    });
    if (queued > 0) this.dispatcher.wake();
    return queued;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }
}
