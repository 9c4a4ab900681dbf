/**
 * When the attempt after `attempts` failed ones starts: `schedule[attempts]` (the last delay once
 * past the list), shortened by up to 20 % of jitter so retries of many deliveries spread out and
 * never come later than the schedule says. Null: no attempt after `retryForMs` from the first.
 */
export function nextAttemptDelay(
  schedule: readonly number[],
  attempts: number,
  sinceFirstMs: number,
  retryForMs: number,
  random: () => number = Math.random,
): number | null {
  const base = schedule[Math.min(attempts, schedule.length - 1)];
  const delay = Math.round(base * (1 - 0.2 * random()));
  return sinceFirstMs + delay > retryForMs ? null : delay;
}
