import type { Pool } from 'pg';
import { RateLimiterMemory, RateLimiterPostgres } from 'rate-limiter-flexible';

/**
 * Counts failed verifications per caller in fixed windows, across every instance: the count lives
 * in PostgreSQL (rate-limiter-flexible's store, table `verify_failures`), so N instances still allow
 * `maxFailures` a window, not N times that. While the database is away an in-memory limiter stands
 * in (the library's insurance). A caller found over the limit is blocked here until its window
 * ends, so valid verifications never wait on the database; only failures write. Each instance
 * learns of a block at the caller's next failure there: at most one more failure per instance.
 */
export class FailureLimiter {
  private readonly shared: RateLimiterPostgres;
  /** caller → when its window ends, once it is over the limit. */
  private readonly blocked = new Map<string, number>();

  constructor(
    pool: Pool,
    private readonly maxFailures: number,
    windowSeconds: number,
  ) {
    this.shared = new RateLimiterPostgres({
      storeClient: pool,
      tableName: 'verify_failures',
      tableCreated: true, // by a migration, not by the library at run time
      keyPrefix: 'verify',
      points: maxFailures,
      duration: windowSeconds,
      insuranceLimiter: new RateLimiterMemory({ points: maxFailures, duration: windowSeconds }),
    });
  }

  /** Milliseconds until the caller may try again, or 0 if it is not limited. */
  retryAfter(caller: string, now = Date.now()): number {
    const until = this.blocked.get(caller);
    if (until === undefined) return 0;
    if (until > now) return until - now;
    this.blocked.delete(caller);
    return 0;
  }

  async recordFailure(caller: string): Promise<void> {
    const res = await this.shared.penalty(caller, 1);
    if (res.consumedPoints >= this.maxFailures) this.blocked.set(caller, Date.now() + res.msBeforeNext);
  }
}
