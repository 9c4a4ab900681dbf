import type { VerificationCode } from '@keyledger/nestjs';
import { counter, histogram } from '../common/index.js';

/** Plain counts on the hot path; prom-client reads them when /metrics is scraped. */
const counts = new Map<VerificationCode, number>();

counter({
  name: 'keyledger_verifications_total',
  help: 'Key verifications by result code',
  labelNames: ['code'] as const,
  collect() {
    for (const [code, n] of counts) this.labels(code).inc(n);
    counts.clear();
  },
});

const latency = histogram({
  name: 'keyledger_verification_duration_seconds',
  help: 'Time to verify a key from the in-memory replica (sampled: 1 verification in 128)',
  buckets: [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.001, 0.005],
});

/** `seconds` is given for a sample of verifications only: timing every one costs more than the lookup. */
export function recordVerification(code: VerificationCode, seconds?: number): void {
  counts.set(code, (counts.get(code) ?? 0) + 1);
  if (seconds !== undefined) latency.observe(seconds);
}

const lookups = counter({
  name: 'keyledger_replica_lookups_total',
  help: 'Database lookups behind refusals of well-formed keys the replica did not know (found: the key was newer in the database)',
  labelNames: ['outcome'] as const,
});

export function recordLookup(outcome: 'found' | 'not-found' | 'failed'): void {
  lookups.labels(outcome).inc();
}
