import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { DomainError } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { PG_POOL } from '../../database/index.js';
import { RetryBackoff, withTransaction } from '@keyledger/nestjs/internal';
import { systemActor } from '../command-context.js';
import { ExpireKeyCommand } from '../commands/expire-key/expire-key.command.js';
import type { InactivityEvidence } from '../domain/events/key-expired.event.js';
import { PLATFORM_ROW } from '../policy/tenant-policies.projection.js';

const LOCK_SQL = `SELECT pg_try_advisory_xact_lock(hashtext('keyledger.expiry-sweeper')) AS locked`;

/**
 * Active keys unused for their tenant's effective inactiveAfterDays (the tenant's, else the
 * platform default's; none: never): the last use flushed to key_last_use, or, never used, the
 * creation. $1: the platform row, $2: the batch size.
 */
const INACTIVE_SQL = `
SELECT k.key_id, u.last_used_at, d.days
FROM api_keys k
LEFT JOIN tenant_policies t ON t.tenant_id = k.tenant_id
LEFT JOIN tenant_policies p ON p.tenant_id = $1
CROSS JOIN LATERAL (SELECT COALESCE((t.settings->>'inactiveAfterDays')::int, (p.settings->>'inactiveAfterDays')::int) AS days) d
LEFT JOIN key_last_use u ON u.key_id = k.key_id
WHERE k.status = 'active' AND (k.expires_at IS NULL OR k.expires_at > now())
  AND d.days IS NOT NULL AND COALESCE(u.last_used_at, k.created_at) <= now() - make_interval(days => d.days)
ORDER BY k.key_id
LIMIT $2`;

/**
 * Writes KeyExpired (reason `ttl`, actor `system:expiry-sweeper`) for keys whose expiresAt has passed. The guard
 * already refuses them at the deadline; this makes the record say so. Then KeyExpired (reason
 * `inactive`, with the last use it decided on) for keys unused past their tenant's
 * `inactiveAfterDays` (docs/operations.md). Any number of instances may
 * run it: an advisory lock lets one sweep at a time, and optimistic concurrency makes a duplicate
 * event impossible even if two did.
 */
@Injectable()
export class ExpirySweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ExpirySweeper.name);
  private readonly retry = new RetryBackoff(this.logger, 'expiry sweep');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private every = 0;
  private stopped = false;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly commands: CommandBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.expirySweepEnabled) return;
    // Sweeping three times per allowed delay keeps every KeyExpired within the delay of its deadline.
    this.every = Math.max(100, Math.floor(this.config.expirySweepDelayMs / 3));
    this.schedule(this.every);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  /** The timer's sweep never rejects: a failed one is logged (once per outage) and retried after a backoff. */
  private async tick(): Promise<void> {
    let delay = this.every;
    try {
      await this.sweep();
      this.retry.succeeded();
    } catch (error) {
      delay = Math.max(this.every, this.retry.failed(error));
    }
    this.schedule(delay);
  }

  /** One sweep (skipped if another instance holds the lock); resolves with how many keys it expired (both reasons). */
  sweep(batchSize = 500): Promise<number> {
    this.running ??= this.sweepOnce(batchSize).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweepOnce(batchSize: number): Promise<number> {
    let expired = 0;
    let inactive = 0;
    try {
      await withTransaction(this.pool, async (client) => {
        const { rows } = await client.query<{ locked: boolean }>(LOCK_SQL);
        if (!rows[0].locked) return; // another instance sweeps
        for (;;) {
          const due = await client.query<{ key_id: string }>(
            `SELECT key_id FROM api_keys WHERE status = 'active' AND expires_at <= now() ORDER BY expires_at LIMIT $1`,
            [batchSize],
          );
          let progressed = 0;
          for (const { key_id } of due.rows) {
            if (await this.expire(key_id)) progressed++;
          }
          expired += progressed;
          if (due.rows.length < batchSize || progressed === 0) break;
        }
        // Off by default: with no policy setting inactiveAfterDays, no key is scanned for it.
        const policies = await client.query(`SELECT 1 FROM tenant_policies WHERE settings->>'inactiveAfterDays' IS NOT NULL LIMIT 1`);
        for (; policies.rows.length > 0;) {
          const idle = await client.query<{ key_id: string; last_used_at: Date | null; days: number }>(INACTIVE_SQL, [
            PLATFORM_ROW,
            batchSize,
          ]);
          let progressed = 0;
          for (const { key_id, last_used_at, days } of idle.rows) {
            const evidence = { lastUsedAt: last_used_at?.toISOString() ?? null, inactiveAfterDays: days };
            if (await this.expire(key_id, 'inactive', evidence)) progressed++;
          }
          inactive += progressed;
          if (idle.rows.length < batchSize || progressed === 0) break;
        }
      });
      return expired + inactive;
    } finally {
      if (expired > 0) this.logger.log(`expired ${expired} key(s) whose expiresAt had passed`);
      if (inactive > 0) this.logger.log(`expired ${inactive} key(s) unused for their tenant's inactiveAfterDays`);
    }
  }

  private async expire(keyId: string, reason: 'ttl' | 'inactive' = 'ttl', evidence?: InactivityEvidence): Promise<boolean> {
    try {
      await this.commands.execute(
        new ExpireKeyCommand(keyId, reason, { actor: systemActor('expiry-sweeper'), requestId: 'expiry-sweeper' }, undefined, evidence),
      );
      return true;
    } catch (error) {
      // Someone else changed it first (revoked, expired, or a concurrent sweep): nothing to do.
      if (error instanceof DomainError && error.kind === 'conflict') return false;
      throw error;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}
