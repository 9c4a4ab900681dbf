import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';

/*
 * synchronous_commit off: the notify transaction writes nothing worth an fsync, so it holds
 * PostgreSQL's notify queue lock only for a moment.
 */
const NOTIFY_SQL = `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, n) FROM unnest($2::text[]) AS n`;

/**
 * Sends the append notifications right after the append commits, batched, one batch in flight.
 *
 * Why not pg_notify inside the append: a committing transaction that notified holds a
 * cluster-wide lock until its commit is on disk, which serializes every append behind the disk
 * and costs most of the throughput at concurrency (docs/adr/0004-notify-after-commit.md). The
 * price: if this process dies between an append's commit and its notification, listeners learn of
 * that change at their next poll or resync instead of at once. Nothing is lost; it is only late.
 */
export class PostCommitNotifier {
  private readonly logger = new Logger('EventNotify');
  private queue: string[] = [];
  private sending: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
  ) {}

  send(payloads: readonly string[]): void {
    for (const p of payloads) this.queue.push(p);
    this.sending ??= this.drain().finally(() => {
      this.sending = undefined;
    });
  }

  /** Resolves once everything queued so far has been sent. */
  async flushed(): Promise<void> {
    while (this.sending) await this.sending;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.pool.query({ name: 'keyledger_notify', text: NOTIFY_SQL, values: [this.channel, batch] });
      } catch (error) {
        // Listeners resync periodically and after reconnects; a failed notify only delays them.
        this.logger.warn(`could not send ${batch.length} notification(s): ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}
