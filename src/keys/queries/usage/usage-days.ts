/** Verifications of one UTC day, by outcome (key_usage_daily.outcome). */
export interface UsageDay {
  day: string;
  valid: number;
  insufficientScope: number;
  expired: number;
  revoked: number;
}

export interface UsageRow {
  day: string;
  outcome: string;
  count: string;
}

const FIELD: Record<string, Exclude<keyof UsageDay, 'day'>> = {
  valid: 'valid',
  insufficient_scope: 'insufficientScope',
  expired: 'expired',
  revoked: 'revoked',
};

export const MAX_USAGE_DAYS = 90;
export const DEFAULT_USAGE_DAYS = 30;

/** The first of the last `days` UTC days (today included), as YYYY-MM-DD. */
export function firstDay(days: number, now: Date): string {
  return new Date(now.getTime() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
}

/** One entry per day, oldest first, zero where nothing was counted. */
export function usageDays(days: number, now: Date, rows: readonly UsageRow[]): UsageDay[] {
  const byDay = new Map<string, UsageDay>();
  const start = Date.parse(firstDay(days, now));
  for (let i = 0; i < days; i++) {
    const day = new Date(start + i * 86_400_000).toISOString().slice(0, 10);
    byDay.set(day, { day, valid: 0, insufficientScope: 0, expired: 0, revoked: 0 });
  }
  for (const row of rows) {
    const entry = byDay.get(row.day);
    const field = FIELD[row.outcome];
    if (entry !== undefined && field !== undefined) entry[field] += Number(row.count);
  }
  return [...byDay.values()];
}
