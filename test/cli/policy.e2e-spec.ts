import type { PolicyView, PolicyViolations } from '../../src/keys/index.js';
import { uniqueTenant } from '../support/keys.js';
import { CLI_TEST_TIMEOUT, cli, cliJson, cliOk, type KeyJson } from './cli-helpers.js';

describe('keyledger policy', () => {
  it(
    'set changes only the settings given and lists the keys that break them; get shows the effective policy; keys create obeys it',
    async () => {
      const tenant = uniqueTenant();
      const forever = await cliJson<KeyJson>(['keys', 'create', '--tenant', tenant, '--name', 'forever']);

      const set = await cliJson<PolicyView & { violations: PolicyViolations }>([
        'policy',
        'set',
        '--tenant',
        tenant,
        '--require-expiry',
        'true',
        '--max-grace',
        '1h',
      ]);
      expect(set.policy).toMatchObject({ requireExpiry: true, maxGracePeriodSeconds: 3600, maxLifetimeDays: null });
      expect(set.violations.keys.map((k) => [k.id, k.breaches.map((b) => b.rule)])).toEqual([[forever.id, ['requireExpiry']]]);

      await cliOk(['policy', 'set', '--tenant', tenant, '--max-lifetime-days', '30', '--max-grace', 'none']);
      const got = await cliJson<PolicyView>(['policy', 'get', '--tenant', tenant]);
      expect(got).toMatchObject({
        tenantId: tenant,
        version: 2,
        policy: { requireExpiry: true, maxLifetimeDays: 30, maxGracePeriodSeconds: null },
      });
      expect(got.effective.maxLifetimeDays).toEqual({ value: 30, source: 'tenant' });

      const text = await cliOk(['policy', 'get', '--tenant', tenant, '--violations']);
      expect(text.stdout).toMatch(/^requireExpiry\s+true\s+true\s+tenant$/m);
      expect(text.stdout).toContain(forever.publicId);

      const refused = await cli(['keys', 'create', '--tenant', tenant, '--name', 'no expiry']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/requireExpiry/);
      const refusedJson = await cli(['keys', 'create', '--tenant', tenant, '--name', 'no expiry', '--json']);
      expect(refusedJson.code).toBe(1);
      expect(JSON.parse(refusedJson.stderr)).toEqual({
        error: {
          code: 'POLICY.VIOLATION',
          message: expect.stringContaining('requireExpiry') as string,
          details: [
            { field: 'expiresAt', message: 'is required', rule: 'requireExpiry', limit: true, got: null },
            {
              field: 'expiresAt',
              message: expect.stringMatching(/^must be at most 30 days/) as string,
              rule: 'maxLifetimeDays',
              limit: 30,
              got: null,
            },
          ],
        },
      });
      const bad = await cli(['policy', 'set', '--tenant', tenant, '--max-lifetime-days', 'soon']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--max-lifetime-days');
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'set --max-grace 0 allows no grace period: a rotation with one is refused, with the rule in --json, and one without passes',
    async () => {
      const tenant = uniqueTenant();
      const set = await cliJson<PolicyView>(['policy', 'set', '--tenant', tenant, '--max-grace', '0']);
      expect(set.policy.maxGracePeriodSeconds).toBe(0);
      const key = await cliJson<KeyJson>(['keys', 'create', '--tenant', tenant, '--name', 'no grace']);
      const refused = await cli(['keys', 'rotate', key.id, '--grace', '1h', '--json']);
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.stderr)).toMatchObject({
        error: { code: 'POLICY.VIOLATION', details: [{ field: 'gracePeriodSeconds', rule: 'maxGracePeriodSeconds', limit: 0, got: 3600 }] },
      });
      await cliOk(['keys', 'rotate', key.id]);
      await cliOk(['keys', 'rotate', key.id, '--grace', '0']);
    },
    CLI_TEST_TIMEOUT,
  );
});
