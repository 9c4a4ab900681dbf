import { ValidationError, type FieldError } from '../../common/index.js';
import { normalizeScopes, ungrantable } from '../../token/index.js';
import { MAX_GRACE_PERIOD_SECONDS, TENANT_ID_PATTERN } from '../domain/api-key.aggregate.js';
import { PolicyViolationError, type PolicyBreach } from './policy.errors.js';

/**
 * A key policy: at the platform level (the default) or a tenant's. `null` is "not set at this
 * level": a tenant's setting wins where it is set, else the platform's, else there is no rule.
 */
export interface PolicySettings {
  /** A secret's expiresAt is at most this many days after the secret was issued (created or rotated). */
  readonly maxLifetimeDays: number | null;
  /** The expiry a create gets when it gives none. */
  readonly defaultLifetimeDays: number | null;
  /** Every key has an expiresAt. */
  readonly requireExpiry: boolean | null;
  /** A rotation's grace period is at most this long. */
  readonly maxGracePeriodSeconds: number | null;
  /** A key of the tenant may only hold scopes these cover. */
  readonly allowedScopes: readonly string[] | null;
  /** The sweeper expires an active key unused (or, never used, created) this many days ago. */
  readonly inactiveAfterDays: number | null;
}

export type PolicySetting = keyof PolicySettings;

export const POLICY_SETTINGS: readonly PolicySetting[] = [
  'maxLifetimeDays',
  'defaultLifetimeDays',
  'requireExpiry',
  'maxGracePeriodSeconds',
  'allowedScopes',
  'inactiveAfterDays',
];

export const NO_POLICY: PolicySettings = Object.freeze({
  maxLifetimeDays: null,
  defaultLifetimeDays: null,
  requireExpiry: null,
  maxGracePeriodSeconds: null,
  allowedScopes: null,
  inactiveAfterDays: null,
});

export const MAX_POLICY_DAYS = 3650;
const DAY_MS = 86_400_000;

/** Where an effective setting comes from. */
export type PolicySource = 'tenant' | 'platform' | null;

export interface EffectivePolicy {
  readonly settings: PolicySettings;
  readonly sources: Readonly<Record<PolicySetting, PolicySource>>;
}

/** The merge rule, per setting: the tenant's where set, else the platform's, else none. */
export function effectivePolicy(platform: PolicySettings, tenant: PolicySettings | null): EffectivePolicy {
  const settings: Record<string, unknown> = {};
  const sources: Record<string, PolicySource> = {};
  for (const name of POLICY_SETTINGS) {
    const own = tenant?.[name] ?? null;
    settings[name] = own ?? platform[name];
    sources[name] = own !== null ? 'tenant' : platform[name] !== null ? 'platform' : null;
  }
  return { settings: settings as unknown as PolicySettings, sources: sources as Record<PolicySetting, PolicySource> };
}

function days(field: PolicySetting, value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_POLICY_DAYS) {
    throw ValidationError.field(field, `must be null or a whole number of days from 1 to ${MAX_POLICY_DAYS}`);
  }
  return value as number;
}

/**
 * A policy as given (an HTTP body, CLI options), checked field by field: every problem at once,
 * in the one error shape. Missing fields are null. `defaultLifetimeDays` may not exceed
 * `maxLifetimeDays` in the same policy (or in `merged`, the effective one, for a tenant).
 */
export function validatePolicy(input: Partial<Record<PolicySetting, unknown>>): PolicySettings {
  const details: FieldError[] = [];
  const check = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      details.push(...(error.details ?? []));
      return fallback;
    }
  };
  const settings: PolicySettings = {
    maxLifetimeDays: check(() => days('maxLifetimeDays', input.maxLifetimeDays), null),
    defaultLifetimeDays: check(() => days('defaultLifetimeDays', input.defaultLifetimeDays), null),
    requireExpiry: check(() => {
      const v = input.requireExpiry ?? null;
      if (v !== null && typeof v !== 'boolean') throw ValidationError.field('requireExpiry', 'must be true, false or null');
      return v;
    }, null),
    maxGracePeriodSeconds: check(() => {
      const v = input.maxGracePeriodSeconds ?? null;
      if (v !== null && (!Number.isInteger(v) || (v as number) < 0 || (v as number) > MAX_GRACE_PERIOD_SECONDS)) {
        throw ValidationError.field(
          'maxGracePeriodSeconds',
          `must be null or a whole number of seconds from 0 to ${MAX_GRACE_PERIOD_SECONDS}`,
        );
      }
      return v as number | null;
    }, null),
    allowedScopes: check(() => {
      const v = input.allowedScopes ?? null;
      if (v === null) return null;
      try {
        return normalizeScopes(v as string[]);
      } catch (error) {
        if (error instanceof ValidationError) {
          throw ValidationError.of((error.details ?? []).map((d) => ({ ...d, field: 'allowedScopes' })));
        }
        throw error;
      }
    }, null),
    inactiveAfterDays: check(() => days('inactiveAfterDays', input.inactiveAfterDays), null),
  };
  if (details.length > 0) throw ValidationError.of(details);
  return settings;
}

/** A policy's tenant from a path or a flag: a tenant id any key could have, or null (the platform default). */
export function assertPolicyTenant(tenantId: string | null): void {
  if (tenantId !== null && !TENANT_ID_PATTERN.test(tenantId)) {
    throw ValidationError.field('tenantId', 'must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" or "-"');
  }
}

/** For a policy and, for a tenant, the effective one it makes: a default lifetime within the maximum. */
export function assertConsistent(settings: PolicySettings): void {
  const { defaultLifetimeDays: def, maxLifetimeDays: max } = settings;
  if (def !== null && max !== null && def > max) {
    throw ValidationError.field('defaultLifetimeDays', `must be at most maxLifetimeDays (${max}), got ${def}`);
  }
}

/** Each setting that differs, as `{from, to}`. */
export function policyChanges(before: PolicySettings, after: PolicySettings): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const name of POLICY_SETTINGS) {
    if (JSON.stringify(before[name]) !== JSON.stringify(after[name])) changes[name] = { from: before[name], to: after[name] };
  }
  return changes;
}

/** A key as the rules see it: what it holds, and when its current secret was issued. */
export interface PolicySubject {
  scopes: readonly string[];
  expiresAt: Date | null;
  secretIssuedAt: Date;
}

/**
 * The rules on what a key is: an expiry (requireExpiry), its lifetime from the secret's issue
 * (maxLifetimeDays) and its scopes (allowedScopes, for `scopes`: all of the key's, or only those an
 * update adds). Checked again on each command, never applied to keys already stored.
 */
export function keyBreaches(
  { settings }: EffectivePolicy,
  subject: PolicySubject,
  { expiry = true, scopes = subject.scopes }: { expiry?: boolean; scopes?: readonly string[] } = {},
): PolicyBreach[] {
  const breaches: PolicyBreach[] = [];
  if (expiry && subject.expiresAt === null && settings.requireExpiry === true) {
    breaches.push({ field: 'expiresAt', message: 'is required', rule: 'requireExpiry', limit: true, got: null });
  }
  if (expiry && settings.maxLifetimeDays !== null) {
    const max = settings.maxLifetimeDays;
    const lifetime = subject.expiresAt === null ? null : (subject.expiresAt.getTime() - subject.secretIssuedAt.getTime()) / DAY_MS;
    if (lifetime === null || lifetime > max) {
      breaches.push({
        field: 'expiresAt',
        message: `must be at most ${max} days after the secret was issued (${subject.secretIssuedAt.toISOString()})`,
        rule: 'maxLifetimeDays',
        limit: max,
        got: lifetime === null ? null : Math.round(lifetime * 100) / 100,
      });
    }
  }
  if (settings.allowedScopes !== null) {
    const outside = ungrantable(settings.allowedScopes, scopes);
    if (outside.length > 0) {
      breaches.push({
        field: 'scopes',
        message: `outside the tenant's allowed scopes: ${outside.join(', ')}`,
        rule: 'allowedScopes',
        limit: settings.allowedScopes,
        got: outside,
      });
    }
  }
  return breaches;
}

export function gracePeriodBreaches({ settings }: EffectivePolicy, gracePeriodSeconds: number): PolicyBreach[] {
  const max = settings.maxGracePeriodSeconds;
  if (max === null || gracePeriodSeconds <= max) return [];
  return [
    { field: 'gracePeriodSeconds', message: `must be at most ${max}`, rule: 'maxGracePeriodSeconds', limit: max, got: gracePeriodSeconds },
  ];
}

export function assertNoBreach(breaches: PolicyBreach[]): void {
  if (breaches.length > 0) throw PolicyViolationError.of(breaches);
}

/** A create that gives no expiry gets the default lifetime, where the policy has one. */
export function defaultExpiry({ settings }: EffectivePolicy, expiresAt: Date | null | undefined, now: Date): Date | null | undefined {
  if (expiresAt !== undefined || settings.defaultLifetimeDays === null) return expiresAt;
  return new Date(now.getTime() + settings.defaultLifetimeDays * DAY_MS);
}
