import type { PolicySetting, PolicyView, PolicyViolations } from '../../keys/index.js';
import { renderTable } from '../output.js';

/** A setting's value or a breach's limit: a number, a boolean, a list of scopes, or none. */
const show = (value: unknown): string =>
  value === null || value === undefined ? '-' : Array.isArray(value) ? value.join(',') : JSON.stringify(value);

/** One row per setting: this level's value, the effective one and where it comes from. */
export function renderPolicy(view: PolicyView, settings: readonly PolicySetting[]): string {
  const level = view.tenantId === null ? 'platform' : 'tenant';
  const title = view.tenantId === null ? 'platform default policy' : `policy of tenant ${view.tenantId}`;
  const rows = settings.map((name) => [
    name,
    show(view.policy[name]),
    show(view.effective[name].value),
    view.effective[name].source ?? '-',
  ]);
  return `${title} (version ${view.version})\n${renderTable(['SETTING', level.toUpperCase(), 'EFFECTIVE', 'FROM'], rows)}`;
}

export function renderViolations(violations: PolicyViolations): string {
  if (violations.total === 0) return 'No active key breaks the policy.';
  const rows = violations.keys.flatMap((k) => k.breaches.map((b) => [k.publicId, k.tenantId, k.name, b.rule, show(b.limit), show(b.got)]));
  const more = violations.truncated ? `\n(${violations.total} keys in all; the first ${violations.keys.length} shown)` : '';
  return `${violations.total} active key(s) break the policy (reported, not changed):\n${renderTable(['PUBLIC ID', 'TENANT', 'NAME', 'RULE', 'LIMIT', 'HAS'], rows)}${more}`;
}
