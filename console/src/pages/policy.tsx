import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Alert, Field, Loading } from '../components';
import { session } from '../session';
import { useStore } from '../store';
import type { PolicySetting, PolicySettings, PolicyView, PolicyViolations } from '../types';

const SETTINGS: { name: PolicySetting; label: string; hint: string }[] = [
  { name: 'maxLifetimeDays', label: 'Maximum lifetime (days)', hint: "A secret's expiry at most this many days after it is issued" },
  { name: 'defaultLifetimeDays', label: 'Default lifetime (days)', hint: 'The expiry a key created without one gets' },
  { name: 'requireExpiry', label: 'Require an expiry', hint: 'Every key must have an expiry' },
  { name: 'maxGracePeriodSeconds', label: 'Maximum grace period (seconds)', hint: "A rotation's grace period at most this long" },
  { name: 'allowedScopes', label: 'Allowed scopes', hint: 'Comma-separated: keys may only hold scopes these cover' },
  { name: 'inactiveAfterDays', label: 'Expire when unused for (days)', hint: 'Never used: counted from creation' },
];

const show = (value: unknown): string =>
  value === null || value === undefined ? 'no rule' : Array.isArray(value) ? value.join(', ') : JSON.stringify(value);

/** The form's text for each setting ('' = not set at this level). */
type Draft = Record<PolicySetting, string>;

const toDraft = (policy: PolicySettings): Draft =>
  Object.fromEntries(
    SETTINGS.map(({ name }) => [
      name,
      policy[name] === null ? '' : Array.isArray(policy[name]) ? policy[name].join(', ') : String(policy[name]),
    ]),
  ) as Draft;

function fromDraft(draft: Draft): PolicySettings {
  const num = (text: string): number | null => (text.trim() === '' ? null : Number(text));
  return {
    maxLifetimeDays: num(draft.maxLifetimeDays),
    defaultLifetimeDays: num(draft.defaultLifetimeDays),
    requireExpiry: draft.requireExpiry === '' ? null : draft.requireExpiry === 'true',
    maxGracePeriodSeconds: num(draft.maxGracePeriodSeconds),
    allowedScopes:
      draft.allowedScopes.trim() === ''
        ? null
        : draft.allowedScopes
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    inactiveAfterDays: num(draft.inactiveAfterDays),
  };
}

function Violations({ violations }: { violations: PolicyViolations }): JSX.Element {
  if (violations.total === 0) return <Alert kind="success">No active key breaks this policy.</Alert>;
  return (
    <div class="table-wrap">
      <table class="data-table">
        <caption>
          {violations.total} active key(s) break the policy: reported, not changed
          {violations.truncated ? ` (first ${violations.keys.length} shown)` : ''}
        </caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Tenant</th>
            <th scope="col">Rule</th>
            <th scope="col">Limit</th>
            <th scope="col">Has</th>
          </tr>
        </thead>
        <tbody>
          {violations.keys.flatMap((k) =>
            k.breaches.map((b) => (
              <tr key={`${k.id}-${b.rule}`}>
                <td data-label="Key">
                  {k.name} <code>{k.publicId}</code>
                </td>
                <td data-label="Tenant">{k.tenantId}</td>
                <td data-label="Rule">{b.rule}</td>
                <td data-label="Limit">{show(b.limit)}</td>
                <td data-label="Has">{b.got === null ? 'none' : show(b.got)}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The key policy: admins pick the platform default or a tenant and may change it; a tenant's own
 * key managers see their tenant's policy, read-only (docs/security.md, "Key policy").
 */
export function PolicyPage(): JSX.Element {
  const { me } = useStore(session);
  const admin = me?.admin === true;
  const [tenant, setTenant] = useState<string>(admin ? '' : (me?.tenantId ?? ''));
  const [view, setView] = useState<PolicyView | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [violations, setViolations] = useState<PolicyViolations | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saving, setSaving] = useState(false);

  const level = tenant.trim() === '' ? null : tenant.trim();
  const load = async (): Promise<void> => {
    setError(null);
    setViolations(null);
    try {
      const found = await api.getPolicy(level);
      setView(found);
      setDraft(toDraft(found.policy));
    } catch (e) {
      if (e instanceof ApiError) setError(e);
      else throw e;
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const save = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (!view || !draft) return;
    setSaving(true);
    setError(null);
    try {
      const saved = await api.setPolicy(level, view.version, fromDraft(draft));
      setView(saved);
      setDraft(toDraft(saved.policy));
      setViolations(saved.violations);
    } catch (e) {
      if (e instanceof ApiError) setError(e);
      else throw e;
    } finally {
      setSaving(false);
    }
  };

  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Key policy
        </h1>
      </div>
      <form class="filters" aria-label="Which policy" onSubmit={(e) => (e.preventDefault(), void load())}>
        <Field id="policy-tenant" label="Tenant" hint={admin ? 'Empty: the platform default' : undefined}>
          <input id="policy-tenant" value={tenant} readOnly={!admin} onInput={(e) => setTenant(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="button-secondary">
          Show
        </button>
      </form>
      {error && <Alert>{error.message}</Alert>}
      {!view || !draft ? (
        !error && <Loading label="Loading the policy…" />
      ) : (
        <form aria-label="Policy settings" onSubmit={(e) => void save(e)}>
          <p>
            {view.tenantId === null ? 'The platform default' : `Tenant ${view.tenantId}`}, version {view.version}. A tenant's setting wins
            where it is set, else the platform default's.
          </p>
          {SETTINGS.map(({ name, label, hint }) => {
            const effective = view.effective[name];
            const fieldHint = `${hint}. In effect: ${show(effective.value)}${effective.source ? ` (from the ${effective.source})` : ''}.`;
            return (
              <Field key={name} id={`policy-${name}`} label={label} hint={fieldHint} error={error?.fieldMessage(name)}>
                {name === 'requireExpiry' ? (
                  <select
                    id={`policy-${name}`}
                    disabled={!admin}
                    value={draft[name]}
                    onChange={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })}
                  >
                    <option value="">not set</option>
                    <option value="true">yes</option>
                    <option value="false">no</option>
                  </select>
                ) : (
                  <input
                    id={`policy-${name}`}
                    readOnly={!admin}
                    inputMode={name === 'allowedScopes' ? 'text' : 'numeric'}
                    placeholder="not set"
                    value={draft[name]}
                    onInput={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })}
                  />
                )}
              </Field>
            );
          })}
          {admin && (
            <button type="submit" class="button-primary" disabled={saving}>
              {saving ? 'Saving…' : 'Save policy'}
            </button>
          )}
          <button
            type="button"
            class="button-secondary"
            onClick={() => void api.policyViolations(level).then(setViolations, (e: unknown) => e instanceof ApiError && setError(e))}
          >
            Show keys that break it
          </button>
        </form>
      )}
      {violations && <Violations violations={violations} />}
    </section>
  );
}
