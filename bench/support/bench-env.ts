import { createHash, randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** A number of seconds from the environment (e.g. BENCH_SECONDS), with a default and a minimum. */
export function envSeconds(name: string, fallback: number, min: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return value;
}

/** Progress lines go to stderr, tagged with the bench's name; results go to stdout. */
export function progressFor(bench: string): (line: string) => void {
  return (line) => process.stderr.write(`[${bench}] ${line}\n`);
}

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** One line about the machine: a busy neighbour (tests, other benches) skews every figure. */
/**
 * A fixed piece of work (JSON round trip and SHA-256 of a 600-byte event), timed now: this VM's
 * speed drifts by more than half over a day, so runs are comparable only next to this figure.
 */
function calibrationMicros(): number {
  const doc = {
    eventId: randomUUID(),
    payload: { scopes: ['invoices:read', 'reports:read'], tags: { plan: 'pro' }, name: 'x'.repeat(400) },
    position: 1,
  };
  const text = JSON.stringify(doc);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (let i = 0; i < 2000; i++) {
      createHash('sha256')
        .update(JSON.stringify(JSON.parse(text)))
        .digest();
    }
    best = Math.min(best, ((performance.now() - started) * 1000) / 2000);
  }
  return best;
}

export function machineLine(): string {
  const [one] = loadavg();
  return `node ${process.version}, ${availableParallelism()} CPUs, load average ${one.toFixed(2)} at start, calibration ${calibrationMicros().toFixed(2)} µs`;
}

export function verdict(pass: boolean): 'PASS' | 'FAIL' {
  return pass ? 'PASS' : 'FAIL';
}

export interface Distribution {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of a sample (same convention as measure.ts's summarize). */
export function distribution(samples: readonly number[]): Distribution {
  const sorted = Float64Array.from(samples).sort();
  const rank = (p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : NaN);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50: rank(0.5),
    p95: rank(0.95),
    p99: rank(0.99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
  };
}

const LOG_LEVELS = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'] as const;

/**
 * A Nest LoggerService that writes to stderr only (Nest's console logger prints `log` lines to
 * stdout, which is the benches' results channel). Only warnings and worse by default.
 */
export function stderrLogger(
  minimum: (typeof LOG_LEVELS)[number] = 'warn',
): Record<(typeof LOG_LEVELS)[number], (message: unknown, ...rest: unknown[]) => void> {
  const from = LOG_LEVELS.indexOf(minimum);
  const write =
    (level: (typeof LOG_LEVELS)[number]) =>
    (message: unknown, ...rest: unknown[]): void => {
      if (LOG_LEVELS.indexOf(level) < from) return;
      const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? `[${String(rest[rest.length - 1])}] ` : '';
      process.stderr.write(`  nest ${level} ${context}${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
    };
  return {
    verbose: write('verbose'),
    debug: write('debug'),
    log: write('log'),
    warn: write('warn'),
    error: write('error'),
    fatal: write('fatal'),
  };
}

/** The process's memory after full GCs (node --expose-gc), with turns of the event loop in between, once the heap stops shrinking. */
export async function settledHeap(): Promise<NodeJS.MemoryUsage> {
  let previous = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    gc!();
    await sleep(20);
    const used = process.memoryUsage().heapUsed;
    if (used >= previous - 1024) break;
    previous = used;
  }
  return process.memoryUsage();
}
