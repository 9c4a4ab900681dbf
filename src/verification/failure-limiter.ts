/**
 * Counts failed verifications per caller in fixed windows. A caller that keeps sending bad keys
 * (a scanner, a misconfigured client) is slowed down; valid traffic is never counted.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  /** Milliseconds until the caller may try again, or 0 if it is not limited. */
  retryAfter(caller: string, now = Date.now()): number {
    const w = this.windows.get(caller);
    if (!w || now - w.start >= this.windowMs) return 0;
    return w.failures >= this.maxFailures ? w.start + this.windowMs - now : 0;
  }

  recordFailure(caller: string, now = Date.now()): void {
    const w = this.windows.get(caller);
    if (!w || now - w.start >= this.windowMs) {
      if (this.windows.size > 10_000) this.prune(now);
      this.windows.set(caller, { start: now, failures: 1 });
    } else {
      w.failures++;
    }
  }

  private prune(now: number): void {
    for (const [caller, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(caller);
  }
}
