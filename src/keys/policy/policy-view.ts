import { effectivePolicy, POLICY_SETTINGS, type PolicySetting, type PolicySettings, type PolicySource } from './key-policy.js';
import type { StoredPolicy } from './policy-store.js';

/** A policy as the API shows it: this level's own settings, and what holds with where each value comes from. */
export interface PolicyView {
  /** null: the platform default. */
  tenantId: string | null;
  /** The policy stream's version (0: never set): the ETag, for If-Match. */
  version: number;
  policy: PolicySettings;
  effective: Record<PolicySetting, { value: unknown; source: PolicySource }>;
}

export function policyView(tenantId: string | null, levels: { platform: StoredPolicy; tenant: StoredPolicy | null }): PolicyView {
  const { settings, sources } = effectivePolicy(levels.platform.settings, levels.tenant?.settings ?? null);
  const own = levels.tenant ?? levels.platform;
  const effective = Object.fromEntries(POLICY_SETTINGS.map((name) => [name, { value: settings[name], source: sources[name] }]));
  return { tenantId, version: own.version, policy: own.settings, effective: effective as PolicyView['effective'] };
}
