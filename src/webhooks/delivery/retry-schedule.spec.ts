import { nextAttemptDelay } from './retry-schedule.js';

const SCHEDULE = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
const DAYS_3 = 3 * 86_400_000;

describe('nextAttemptDelay', () => {
  it('follows the Standard Webhooks schedule, never later than it, and repeats the last delay', () => {
    expect(nextAttemptDelay(SCHEDULE, 1, 0, DAYS_3, () => 0)).toBe(5_000);
    expect(nextAttemptDelay(SCHEDULE, 2, 5_000, DAYS_3, () => 0)).toBe(300_000);
    expect(nextAttemptDelay(SCHEDULE, 3, 0, DAYS_3, () => 0.999)).toBeGreaterThan(1_800_000 * 0.8);
    expect(nextAttemptDelay(SCHEDULE, 3, 0, DAYS_3, () => 0.999)).toBeLessThanOrEqual(1_800_000);
    expect(nextAttemptDelay(SCHEDULE, 12, 0, DAYS_3, () => 0)).toBe(36_000_000);
  });

  it('gives up when the next attempt would start more than retryFor after the first', () => {
    expect(nextAttemptDelay(SCHEDULE, 9, DAYS_3 - 36_000_000, DAYS_3, () => 0)).toBe(36_000_000);
    expect(nextAttemptDelay(SCHEDULE, 9, DAYS_3 - 1000, DAYS_3, () => 0)).toBeNull();
  });
});
