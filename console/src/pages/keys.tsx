import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Alert, Chips, ExpiryCell, Loading, SecretDialog, StatusBadge, TagChips, TenantInput, Time } from '../components';
import { CreateKeyDialog, EndKeyDialog, ReportLeakDialog } from '../key-dialogs';
import { addKey, keysStore, loadMoreKeys, patchKey, reloadKeys, setFilters, type StatusFilter } from '../keys-store';
import { Link } from '../router';
import { session } from '../session';
import { useStore } from '../store';
import { api } from '../api';
import type { KeyView, KeyWithSecret, UsageDay } from '../types';
import { UsageChart } from '../usage-chart';

const USAGE_DAYS = 30;

type Pending = { kind: 'expire' | 'revoke'; key: KeyView } | null;

export function KeysPage(): JSX.Element {
  const state = useStore(keysStore);
  const me = useStore(session).me!;
  const { filters } = state;
  const [creating, setCreating] = useState(false);
  const [reporting, setReporting] = useState(false);
  const [secret, setSecret] = useState<KeyWithSecret | null>(null);
  const [pending, setPending] = useState<Pending>(null);
  const [announce, setAnnounce] = useState('');
  const debounce = useRef<number | undefined>(undefined);
  const [usage, setUsage] = useState<UsageDay[] | null>(null);
  const usageTenant = me.admin ? filters.tenantId.trim() || undefined : me.tenantId;

  useEffect(() => {
    if (!state.loaded && !state.loading) void reloadKeys();
  }, []);

  // The chart follows the tenant filter (after its debounce, as the list does); a failure leaves it out.
  useEffect(() => {
    const timer = window.setTimeout(
      () =>
        void api.tenantUsage(usageTenant, USAGE_DAYS).then(
          (page) => setUsage(page.items),
          () => setUsage(null),
        ),
      350,
    );
    return () => window.clearTimeout(timer);
  }, [usageTenant]);

  /** Text filters reload after a pause in typing; the others at once. */
  const change = (patch: Partial<typeof filters>, immediate = true): void => {
    setFilters(patch);
    window.clearTimeout(debounce.current);
    if (immediate) void reloadKeys();
    else debounce.current = window.setTimeout(() => void reloadKeys(), 350);
  };

  const onStatus = (status: StatusFilter): void => {
    // Expired or revoked keys are only listed with the switch on.
    change({ status, ...(status === 'expired' || status === 'revoked' ? { showInactive: true } : {}) });
  };
  const onSwitch = (showInactive: boolean): void => {
    change({
      showInactive,
      ...(!showInactive && (filters.status === 'expired' || filters.status === 'revoked') ? { status: 'any' as const } : {}),
    });
  };

  const onCreated = (created: KeyWithSecret): void => {
    setCreating(false);
    const { key: _secret, ...view } = created;
    addKey(view);
    setSecret(created);
  };

  const onActionDone = (key: KeyView): void => {
    patchKey(key);
    setPending(null);
    setAnnounce(`Key ${key.name} is now ${key.status}.`);
  };

  return (
    <section aria-labelledby="page-title" data-loads={state.loads} data-loading={state.loading}>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          API keys
        </h1>
        <div class="page-actions">
          <button type="button" class="button-secondary" onClick={() => void reloadKeys()} disabled={state.loading}>
            Reload list
          </button>
          <button type="button" class="button-secondary" onClick={() => setReporting(true)}>
            Report a leaked key
          </button>
          <button type="button" class="button-primary" onClick={() => setCreating(true)}>
            Create key
          </button>
        </div>
      </div>

      <form class="filters" role="search" aria-label="Filter keys" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="filter-tenant">Tenant</label>
          <TenantInput
            id="filter-tenant"
            me={me}
            value={filters.tenantId}
            onInput={(e) => change({ tenantId: e.currentTarget.value }, false)}
          />
        </div>
        <div class="field">
          <label for="filter-status">Status</label>
          <select id="filter-status" value={filters.status} onChange={(e) => onStatus(e.currentTarget.value as StatusFilter)}>
            <option value="any">Any status</option>
            <option value="active">Active</option>
            <option value="expired">Expired</option>
            <option value="revoked">Revoked</option>
          </select>
        </div>
        <div class="field">
          <label for="filter-name">Name contains</label>
          <input
            id="filter-name"
            type="search"
            value={filters.name}
            onInput={(e) => change({ name: e.currentTarget.value }, false)}
            autoComplete="off"
          />
        </div>
        <div class="field">
          <label for="filter-tag">Tag</label>
          <input
            id="filter-tag"
            type="search"
            value={filters.tag}
            placeholder="key or key=value"
            onInput={(e) => change({ tag: e.currentTarget.value }, false)}
            autoComplete="off"
            spellcheck={false}
          />
        </div>
        <div class="field switch-field">
          <label class="switch" for="filter-inactive">
            <input
              id="filter-inactive"
              type="checkbox"
              role="switch"
              checked={filters.showInactive}
              onChange={(e) => onSwitch(e.currentTarget.checked)}
            />
            Show expired and revoked
          </label>
        </div>
      </form>

      <p class="visually-hidden" role="status" aria-live="polite">
        {announce}
      </p>

      {usage && (
        <UsageChart
          days={usage}
          id="tenant-usage"
          title={`Verifications per day${usageTenant ? ` for ${usageTenant}` : ', all tenants'}, last ${USAGE_DAYS} days`}
        />
      )}

      {state.error && <Alert onRetry={() => void reloadKeys()}>Could not load the keys: {state.error.message}</Alert>}

      {state.items.length > 0 && (
        <div class="table-wrap">
          <table class="data-table keys-table" aria-busy={state.loading}>
            <caption class="visually-hidden">API keys, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Public ID</th>
                <th scope="col">Tenant</th>
                <th scope="col">Scopes</th>
                <th scope="col">Tags</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {state.items.map((key) => (
                <tr
                  key={key.id}
                  class={`${key.status !== 'active' ? 'is-inactive' : ''}${state.highlight === key.id ? ' is-new' : ''}`}
                  data-key-id={key.id}
                  data-status={key.status}
                >
                  <th scope="row" data-label="Name">
                    <Link to={`/keys/${key.id}`}>{key.name}</Link>
                    {state.highlight === key.id && <span class="badge badge-new">new</span>}
                  </th>
                  <td data-label="Public ID">
                    <code>{key.publicId}</code>
                  </td>
                  <td data-label="Tenant">{key.tenantId}</td>
                  <td data-label="Scopes">
                    <Chips values={key.scopes} />
                  </td>
                  <td data-label="Tags">
                    <TagChips tags={key.tags} />
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={key.status} />
                  </td>
                  <td data-label="Created">
                    <Time iso={key.createdAt} />
                  </td>
                  <td data-label="Expires">
                    <ExpiryCell keyView={key} />
                  </td>
                  <td data-label="Last used">
                    <Time iso={key.lastUsedAt ?? null} />
                  </td>
                  <td data-label="Actions" class="row-actions">
                    {key.status === 'active' && (
                      <>
                        <button
                          type="button"
                          class="button-small"
                          onClick={() => setPending({ kind: 'expire', key })}
                          aria-label={`Expire ${key.name}`}
                        >
                          Expire
                        </button>
                        <button
                          type="button"
                          class="button-small button-danger"
                          onClick={() => setPending({ kind: 'revoke', key })}
                          aria-label={`Revoke ${key.name}`}
                        >
                          Revoke
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {state.loading && <Loading label={state.items.length > 0 ? 'Loading more keys…' : 'Loading keys…'} />}

      {state.loaded && !state.loading && !state.error && state.items.length === 0 && (
        <div class="empty" role="status">
          <p>
            <strong>No keys match these filters.</strong>
          </p>
          <p>
            {filters.showInactive
              ? 'Try other filters, or create a key.'
              : 'Expired and revoked keys are hidden: turn on “Show expired and revoked” to see them, or create a key.'}
          </p>
        </div>
      )}

      {state.cursor !== null && !state.loading && (
        <div class="more">
          <button type="button" class="button-secondary" onClick={() => void loadMoreKeys()}>
            Load more keys
          </button>
        </div>
      )}

      {reporting && (
        <ReportLeakDialog
          onClose={() => setReporting(false)}
          onDone={(report) => report.label === 'true_positive' && report.revoked && void reloadKeys()}
        />
      )}
      {creating && <CreateKeyDialog onClose={() => setCreating(false)} onCreated={onCreated} />}
      {secret && secret.key && <SecretDialog secret={secret.key} keyView={secret} onClose={() => setSecret(null)} />}
      {pending && <EndKeyDialog action={pending.kind} keyView={pending.key} onClose={() => setPending(null)} onDone={onActionDone} />}
    </section>
  );
}
