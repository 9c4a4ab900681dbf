import { performance } from 'node:perf_hooks';

export interface PhaseResult {
  ops: number;
  seconds: number;
  /** One entry per operation, in milliseconds. */
  latenciesMs: number[];
}

/**
 * Runs `concurrency` async workers, each calling `op` back to back until `seconds` have passed (or
 * `signal` aborts). Every worker waits for its own operation before starting the next one, so at
 * most `concurrency` operations are in flight: one per pooled connection.
 */
export async function runPhase(
  concurrency: number,
  seconds: number,
  makeOp: (worker: number) => () => Promise<void>,
  signal: AbortSignal,
): Promise<PhaseResult> {
  const latenciesMs: number[] = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async (op: () => Promise<void>): Promise<void> => {
    while (!signal.aborted && performance.now() < deadline) {
      const t0 = performance.now();
      await op();
      latenciesMs.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(makeOp(i))));
  return { ops: latenciesMs.length, seconds: (performance.now() - start) / 1000, latenciesMs };
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

/** Throughput and nearest-rank percentiles. */
export function summarize(result: PhaseResult): Summary {
  const sorted = Float64Array.from(result.latenciesMs).sort();
  const rank = (p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : NaN);
  return { perSecond: result.ops / result.seconds, p50: rank(0.5), p99: rank(0.99) };
}
