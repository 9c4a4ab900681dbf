import { performance } from 'node:perf_hooks';

export interface PhaseResult {
  ops: number;
  seconds: number;
  /** One entry per operation, in milliseconds. */
  latenciesMs: number[];
}

/**
 * Runs `concurrency` async workers, each calling its own operation (from `makeOp`) back to back
 * until `seconds` have passed or `signal` aborts. A worker waits for its operation before starting
 * the next, so at most `concurrency` operations are in flight: one per pooled connection. The
 * first failure stops every worker; it is rethrown once all have stopped.
 */
export async function runPhase(
  concurrency: number,
  seconds: number,
  makeOp: () => () => Promise<void>,
  signal: AbortSignal,
): Promise<PhaseResult> {
  const latenciesMs: number[] = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let failed = false;
  const worker = async (op: () => Promise<void>): Promise<void> => {
    try {
      while (!failed && !signal.aborted && performance.now() < deadline) {
        const t0 = performance.now();
        await op();
        latenciesMs.push(performance.now() - t0);
      }
    } catch (error) {
      failed = true;
      throw error;
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: concurrency }, () => worker(makeOp())));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return { ops: latenciesMs.length, seconds: (performance.now() - start) / 1000, latenciesMs };
}

export function rate(result: PhaseResult): number {
  return result.seconds > 0 ? result.ops / result.seconds : 0;
}

export function combine(results: readonly PhaseResult[]): PhaseResult {
  return {
    ops: results.reduce((n, r) => n + r.ops, 0),
    seconds: results.reduce((n, r) => n + r.seconds, 0),
    latenciesMs: results.flatMap((r) => r.latenciesMs),
  };
}

export interface Summary {
  perSecond: number;
  p50: number;
  p99: number;
}

/** Throughput over the summed phase time, and nearest-rank latency percentiles. */
export function summarize(result: PhaseResult): Summary {
  const sorted = Float64Array.from(result.latenciesMs).sort();
  const rank = (p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : NaN);
  return { perSecond: rate(result), p50: rank(0.5), p99: rank(0.99) };
}
