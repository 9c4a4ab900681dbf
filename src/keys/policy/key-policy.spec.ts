import { ValidationError } from '../../common/index.js';
import {
  assertConsistent,
  defaultExpiry,
  effectivePolicy,
  gracePeriodBreaches,
  keyBreaches,
  NO_POLICY,
  policyChanges,
  validatePolicy,
} from './key-policy.js';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const days = (n: number): Date => new Date(NOW.getTime() + n * 86_400_000);

describe('key policy', () => {
  it('merges per setting: the tenant where set, else the platform, else no rule', () => {
    const sut = effectivePolicy(
      { ...NO_POLICY, maxLifetimeDays: 90, requireExpiry: true },
      { ...NO_POLICY, requireExpiry: false, allowedScopes: ['a:*'] },
    );
    expect(sut.settings).toMatchObject({ maxLifetimeDays: 90, requireExpiry: false, allowedScopes: ['a:*'], inactiveAfterDays: null });
    expect(sut.sources).toMatchObject({
      maxLifetimeDays: 'platform',
      requireExpiry: 'tenant',
      allowedScopes: 'tenant',
      inactiveAfterDays: null,
    });
  });

  it('validates every field at once and refuses a default lifetime over the maximum', () => {
    expect(() => validatePolicy({ maxLifetimeDays: 0, requireExpiry: 'yes', allowedScopes: ['Bad'] })).toThrow(
      expect.objectContaining({
        details: [
          expect.objectContaining({ field: 'maxLifetimeDays' }),
          expect.objectContaining({ field: 'requireExpiry' }),
          expect.objectContaining({ field: 'allowedScopes' }),
        ],
      }),
    );
    expect(() => assertConsistent(validatePolicy({ maxLifetimeDays: 30, defaultLifetimeDays: 31 }))).toThrow(ValidationError);
    expect(validatePolicy({ allowedScopes: ['b:read', 'a:read'] }).allowedScopes).toEqual(['a:read', 'b:read']);
  });

  it('names each broken rule with its limit and what the key has', () => {
    const policy = effectivePolicy(
      { ...NO_POLICY, requireExpiry: true, maxLifetimeDays: 30, allowedScopes: ['invoices:*'], maxGracePeriodSeconds: 60 },
      null,
    );
    expect(
      keyBreaches(policy, { scopes: ['orders:read', 'invoices:read'], expiresAt: null, secretIssuedAt: NOW }).map((b) => [
        b.rule,
        b.limit,
        b.got,
      ]),
    ).toEqual([
      ['requireExpiry', true, null],
      ['maxLifetimeDays', 30, null],
      ['allowedScopes', ['invoices:*'], ['orders:read']],
    ]);
    expect(keyBreaches(policy, { scopes: [], expiresAt: days(31), secretIssuedAt: NOW })).toEqual([
      expect.objectContaining({ rule: 'maxLifetimeDays', got: 31 }),
    ]);
    expect(keyBreaches(policy, { scopes: [], expiresAt: days(30), secretIssuedAt: NOW })).toEqual([]);
    expect(gracePeriodBreaches(policy, 61)).toEqual([expect.objectContaining({ rule: 'maxGracePeriodSeconds', limit: 60, got: 61 })]);
    expect(gracePeriodBreaches(policy, 60)).toEqual([]);
  });

  it('gives a create without an expiry the default lifetime, and keeps a given one (null included)', () => {
    const policy = effectivePolicy({ ...NO_POLICY, defaultLifetimeDays: 7 }, null);
    expect(defaultExpiry(policy, undefined, NOW)).toEqual(days(7));
    expect(defaultExpiry(policy, days(2), NOW)).toEqual(days(2));
    expect(defaultExpiry(policy, null, NOW)).toBeNull();
    expect(defaultExpiry(effectivePolicy(NO_POLICY, null), undefined, NOW)).toBeUndefined();
  });

  it('lists the settings a change changes', () => {
    expect(policyChanges({ ...NO_POLICY, maxLifetimeDays: 30 }, { ...NO_POLICY, maxLifetimeDays: 60, allowedScopes: ['a'] })).toEqual({
      maxLifetimeDays: { from: 30, to: 60 },
      allowedScopes: { from: null, to: ['a'] },
    });
  });
});
