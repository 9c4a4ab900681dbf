import type { ReasonCode } from '../../keys/index.js';
import { UsageError } from '../errors.js';
import { parseDuration, parseDurationOrZero, parseInstant } from '../output.js';

/** `--tag plan=pro --tag region=eu` into `{ plan: 'pro', region: 'eu' }`; the value may be empty, the key may not. */
export function parseTags(raw: readonly string[] | undefined): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  const tags: Record<string, string> = {};
  for (const item of raw) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag must be key=value, got "${item}"`);
    const key = item.slice(0, eq).trim();
    if (key === '') throw new UsageError(`--tag must be key=value, got "${item}"`);
    if (Object.hasOwn(tags, key)) throw new UsageError(`--tag ${key} is given twice`);
    tags[key] = item.slice(eq + 1);
  }
  return tags;
}

/** An expiry from `--expires <ISO>` or `--expires-in 30d` (not both), checked before anything runs. */
export type Expiry = { at: Date } | { inSeconds: number } | undefined;

export function parseExpiry(options: { expires?: string; expiresIn?: string }): Expiry {
  if (options.expires !== undefined && options.expiresIn !== undefined) {
    throw new UsageError('give either --expires or --expires-in, not both');
  }
  if (options.expires !== undefined) return { at: parseInstant(options.expires, '--expires') };
  if (options.expiresIn !== undefined) return { inSeconds: parseDuration(options.expiresIn, '--expires-in') };
  return undefined;
}

/** `--expires-in` counts from when the command runs, not from when it was parsed (a cold start takes a moment). */
export function expiryAt(expiry: Expiry, now: Date): Date | undefined {
  if (expiry === undefined) return undefined;
  return 'at' in expiry ? expiry.at : new Date(now.getTime() + expiry.inSeconds * 1000);
}

/** The same 30-day ceiling the domain enforces, said in the CLI's own terms. */
export const MAX_GRACE_SECONDS = 30 * 86_400;

export function parseGrace(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = parseDurationOrZero(raw, '--grace');
  if (seconds > MAX_GRACE_SECONDS) throw new UsageError(`--grace must be at most 30d, got "${raw}"`);
  return seconds;
}

/** The keys module's REASON_CODES, spelled out so that --help loads no keys module; does not compile while one is missing. */
const REASON_CODES = [
  'compromised',
  'leaked',
  'superseded',
  'unused',
  'policy',
  'offboarding',
  'other',
] as const satisfies readonly ReasonCode[];
const ALL_REASON_CODES: readonly string[] = REASON_CODES satisfies [Exclude<ReasonCode, (typeof REASON_CODES)[number]>] extends [never]
  ? readonly string[]
  : never;

export const REASON_CODE_HELP = `why, as a code the audit log and the key report group by: ${ALL_REASON_CODES.join(', ')} (default other)`;

/** `--reason-code <code>`, checked before anything runs. */
export function parseReasonCode(value: string): ReasonCode {
  if (!ALL_REASON_CODES.includes(value)) {
    throw new UsageError(`--reason-code must be one of ${ALL_REASON_CODES.join(', ')}, got "${value}"`);
  }
  return value as ReasonCode;
}
