import type { VerificationCode } from './api-key-principal.js';
import { counter, histogram } from '../observability/metrics.js';

const verifications = counter({
  name: 'keyledger_verifications_total',
  help: 'Key verifications by result code',
  labelNames: ['code'] as const,
});

const latency = histogram({
  name: 'keyledger_verification_duration_seconds',
  help: 'Time to verify a key from the in-memory replica (sampled: 1 verification in 16)',
  buckets: [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.001, 0.005],
});

// Label children resolved once: the hot path only increments.
const byCode = new Map<VerificationCode, ReturnType<typeof verifications.labels>>();

/** `seconds` is given for a sample of verifications only: timing every one costs more than the lookup. */
export function recordVerification(code: VerificationCode, seconds?: number): void {
  let child = byCode.get(code);
  if (child === undefined) {
    child = verifications.labels(code);
    byCode.set(code, child);
  }
  child.inc();
  if (seconds !== undefined) latency.observe(seconds);
}
