import type { Logger } from '@nestjs/common';
import { isConnectionError } from './connection-errors.js';

export interface BackoffOptions {
  /** The delay after the first failure (half to all of it, jittered). */
  minMs: number;
  /** No delay is longer than this, however many failures in a row. */
  maxMs: number;
}

/** The background tasks' backoff: 100 ms doubling to 5 s (documented in docs/operations.md). */
export const DATABASE_BACKOFF: BackoffOptions = { minMs: 100, maxMs: 5_000 };

/** A failure as a log line: what it is (unreachable, or the error's own words). */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return isConnectionError(error) ? `database unreachable: ${message}` : message;
}

/**
 * One background task's run of failures: it logs the first failure and the recovery, once each
 * (not every retry), and gives each retry's delay: doubling from minMs to maxMs, with jitter (half
 * to all of it) so that the instances of a fleet do not all retry at the same moment.
 */
export class RetryBackoff {
  private failures = 0;
  private since = 0;

  constructor(
    private readonly logger: Logger,
    private readonly task: string,
    private readonly options: BackoffOptions = DATABASE_BACKOFF,
  ) {}

  get failing(): boolean {
    return this.failures > 0;
  }

  /** Records a failure; returns how long to wait before the next attempt. */
  failed(error: unknown): number {
    if (this.failures++ === 0) {
      this.since = Date.now();
      this.logger.warn(`${this.task} failed (${describe(error)}); retrying, and logged again once it works`);
    }
    const ceiling = Math.min(this.options.maxMs, this.options.minMs * 2 ** Math.min(this.failures - 1, 30));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  /** Records a success; logs the recovery if it ends a run of failures. */
  succeeded(): void {
    if (this.failures === 0) return;
    const seconds = ((Date.now() - this.since) / 1000).toFixed(1);
    this.logger.log(`${this.task} works again after ${this.failures} failed attempt(s) over ${seconds} s`);
    this.failures = 0;
  }
}
