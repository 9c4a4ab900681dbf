import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Alert, Chips, Loading, StatusBadge, TenantInput, Time } from '../components';
import { Link } from '../router';
import { session } from '../session';
import { useStore } from '../store';
import type { WebhookEndpoint, WebhookWithSecret } from '../types';
import { tenantLabel, WebhookDialog, WebhookSecretDialog } from '../webhook-dialogs';

/** The webhook endpoints the key may see (docs/webhooks.md), and adding one. */
export function WebhooksPage(): JSX.Element {
  const me = useStore(session).me!;
  const tenantLocked = !me.admin;
  const [tenant, setTenant] = useState('');
  const [items, setItems] = useState<WebhookEndpoint[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loads, setLoads] = useState(0);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<WebhookWithSecret | null>(null);
  const debounce = useRef<number | undefined>(undefined);

  const load = async (tenantId: string): Promise<void> => {
    setError(null);
    try {
      setItems(await api.listWebhooks(tenantLocked ? undefined : tenantId.trim() || undefined));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      setError(e);
    } finally {
      setLoads((n) => n + 1);
    }
  };

  useEffect(() => {
    void load('');
  }, []);

  const onTenant = (value: string): void => {
    setTenant(value);
    window.clearTimeout(debounce.current);
    debounce.current = window.setTimeout(() => void load(value), 350);
  };

  const onCreated = (endpoint: WebhookWithSecret): void => {
    setCreating(false);
    const { secret: _secret, ...view } = endpoint;
    setItems((current) => [...(current ?? []).filter((e) => e.id !== view.id), view]);
    setCreated(endpoint);
  };

  return (
    <section aria-labelledby="page-title" data-loads={loads} data-loading={items === null && error === null}>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Webhooks
        </h1>
        <div class="page-actions">
          <button type="button" class="button-secondary" onClick={() => void load(tenant)}>
            Reload list
          </button>
          <button type="button" class="button-primary" onClick={() => setCreating(true)}>
            Add endpoint
          </button>
        </div>
      </div>
      <p class="muted">
        Signed HTTP POSTs (Standard Webhooks) when keys change, at least once and in order per key. Open an endpoint for its delivery log.
      </p>

      <form class="filters" role="search" aria-label="Filter webhook endpoints" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="webhooks-tenant">Tenant</label>
          <TenantInput id="webhooks-tenant" me={me} value={tenant} onInput={(e) => onTenant(e.currentTarget.value)} />
        </div>
      </form>

      {error && <Alert onRetry={() => void load(tenant)}>Could not load the webhook endpoints: {error.message}</Alert>}
      {items === null && !error && <Loading label="Loading the webhook endpoints…" />}

      {items !== null && items.length > 0 && (
        <div class="table-wrap">
          <table class="data-table webhooks-table">
            <caption class="visually-hidden">Webhook endpoints, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Tenant</th>
                <th scope="col">Event types</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {items.map((endpoint) => (
                <tr key={endpoint.id} data-webhook-id={endpoint.id} data-enabled={String(endpoint.enabled)}>
                  <th scope="row" data-label="URL" class="url-cell">
                    <Link to={`/webhooks/${endpoint.id}`}>{endpoint.url}</Link>
                  </th>
                  <td data-label="Tenant">{tenantLabel(endpoint.tenantId)}</td>
                  <td data-label="Event types">
                    <Chips values={endpoint.eventTypes} />
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={endpoint.enabled ? 'enabled' : 'disabled'} />
                    {endpoint.disabledReason && <div class="muted small">{endpoint.disabledReason}</div>}
                  </td>
                  <td data-label="Created">
                    <Time iso={endpoint.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {items !== null && items.length === 0 && !error && (
        <div class="empty" role="status">
          <p>
            <strong>No webhook endpoints yet.</strong>
          </p>
          <p>Add one to be told when keys are created, rotated, revoked, leaked or about to expire.</p>
        </div>
      )}

      {creating && <WebhookDialog onClose={() => setCreating(false)} onCreated={onCreated} />}
      {created && <WebhookSecretDialog endpoint={created} onClose={() => setCreated(null)} />}
    </section>
  );
}
