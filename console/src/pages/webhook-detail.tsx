import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Alert, Chips, DetailUnavailable, Loading, StatusBadge, Time } from '../components';
import { shortId } from '../format';
import { Link, navigate } from '../router';
import { session } from '../session';
import { useStore } from '../store';
import type { Delivery, WebhookEndpoint } from '../types';
import { DeleteWebhookDialog, tenantLabel, WebhookDialog } from '../webhook-dialogs';

type Action = 'edit' | 'delete' | null;

/** One endpoint: its settings, enable/disable, edit, delete, and its delivery log with redelivery. */
export function WebhookDetailPage({ id }: { id: string }): JSX.Element {
  const [endpoint, setEndpoint] = useState<WebhookEndpoint | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [action, setAction] = useState<Action>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [toggling, setToggling] = useState(false);

  const load = async (): Promise<void> => {
    setError(null);
    try {
      setEndpoint(await api.getWebhook(id));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      setError(e);
    }
  };

  useEffect(() => {
    setEndpoint(null);
    void load();
  }, [id]);

  const changed = (next: WebhookEndpoint, message: string): void => {
    setEndpoint(next);
    setAction(null);
    setActionError(null);
    setNotice(message);
  };

  const setEnabled = async (enabled: boolean): Promise<void> => {
    setToggling(true);
    setActionError(null);
    try {
      const next = await api.updateWebhook(id, { enabled });
      changed(next, enabled ? 'Enabled: new events are queued for it again.' : 'Disabled: events from now on are not queued for it.');
    } catch (e) {
      setActionError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setToggling(false);
    }
  };

  if (error || !endpoint) {
    return (
      <DetailUnavailable
        noun="webhook endpoint"
        error={error}
        back={{ to: '/webhooks', label: '← All webhooks' }}
        notFound="There is no endpoint with this id that your key may see (or it was deleted)."
        onRetry={() => void load()}
      />
    );
  }

  return (
    <section aria-labelledby="page-title">
      <p>
        <Link to="/webhooks">← All webhooks</Link>
      </p>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1} class="url-cell">
          {endpoint.url} <StatusBadge status={endpoint.enabled ? 'enabled' : 'disabled'} />
        </h1>
        <div class="page-actions">
          <button type="button" class="button-secondary" onClick={() => setAction('edit')}>
            Edit
          </button>
          <button
            type="button"
            class="button-secondary"
            onClick={() => void setEnabled(!endpoint.enabled)}
            disabled={toggling}
            aria-busy={toggling}
          >
            {endpoint.enabled ? 'Disable' : 'Enable'}
          </button>
          <button type="button" class="button-danger" onClick={() => setAction('delete')}>
            Delete
          </button>
        </div>
      </div>
      {actionError && <Alert>{actionError}</Alert>}
      {notice && <Alert kind="success">{notice}</Alert>}
      {!endpoint.enabled && (
        <Alert kind="warning">
          <span data-disabled-reason>Disabled: {endpoint.disabledReason ?? 'no reason recorded'}.</span> No deliveries are queued while it
          is disabled (events meanwhile are not sent later); pending ones resume when it is enabled.
        </Alert>
      )}

      <dl class="details">
        <dt>Endpoint ID</dt>
        <dd>
          <code>{endpoint.id}</code>
        </dd>
        <dt>Tenant</dt>
        <dd>{tenantLabel(endpoint.tenantId)}</dd>
        <dt>Event types</dt>
        <dd>
          <Chips values={endpoint.eventTypes} />
        </dd>
        <dt>Created</dt>
        <dd>
          <Time iso={endpoint.createdAt} />
        </dd>
        <dt>Last changed</dt>
        <dd>
          <Time iso={endpoint.updatedAt} />
        </dd>
        <dt>Version</dt>
        <dd>{endpoint.version}</dd>
      </dl>

      <DeliveryLog id={id} />

      {action === 'edit' && (
        <WebhookDialog endpoint={endpoint} onClose={() => setAction(null)} onUpdated={(next) => changed(next, 'Changes saved.')} />
      )}
      {action === 'delete' && (
        <DeleteWebhookDialog endpoint={endpoint} onClose={() => setAction(null)} onDone={() => navigate('/webhooks')} />
      )}
    </section>
  );
}

const PAGE_SIZE = 20;

/** The endpoint's deliveries, newest first, a page at a time; each can be sent again. */
function DeliveryLog({ id }: { id: string }): JSX.Element {
  const me = useStore(session).me!;
  const [items, setItems] = useState<Delivery[]>([]);
  const [before, setBefore] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [loads, setLoads] = useState(0);
  const [error, setError] = useState<ApiError | null>(null);
  const [announce, setAnnounce] = useState('');
  const generation = useRef(0);

  const load = async (from: number | null): Promise<void> => {
    const mine = ++generation.current;
    setLoading(true);
    setError(null);
    try {
      const page = await api.webhookDeliveries(id, from, PAGE_SIZE);
      if (mine !== generation.current) return;
      setItems((current) => (from === null ? page.items : [...current, ...page.items]));
      setBefore(page.nextBefore);
    } catch (e) {
      if (mine !== generation.current) return;
      if (!(e instanceof ApiError)) throw e;
      setError(e);
    } finally {
      if (mine === generation.current) {
        setLoading(false);
        setLoads((n) => n + 1);
      }
    }
  };

  useEffect(() => {
    void load(null);
  }, [id]);

  const redeliver = async (delivery: Delivery): Promise<void> => {
    setError(null);
    try {
      const queued = await api.redeliver(id, delivery.id);
      setItems((current) => [queued, ...current]);
      setAnnounce(`Queued again as a new delivery of ${delivery.eventType}, with the same webhook-id.`);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      setError(e);
    }
  };

  return (
    <section aria-labelledby="deliveries-title" data-loads={loads} data-loading={loading}>
      <div class="page-head">
        <h2 id="deliveries-title">Delivery log</h2>
        <div class="page-actions">
          <button type="button" class="button-secondary" onClick={() => void load(null)} disabled={loading}>
            Reload deliveries
          </button>
        </div>
      </div>
      <p class="muted">
        Newest first. A failed attempt is retried with backoff for up to 3 days; the response shown is the last attempt's, its first 1 KB.
      </p>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announce}
      </p>
      {error && <Alert onRetry={() => void load(null)}>Could not load the delivery log: {error.message}</Alert>}
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="data-table deliveries-table" aria-busy={loading}>
            <caption class="visually-hidden">Deliveries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Event</th>
                <th scope="col">Key</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Response</th>
                <th scope="col">Error</th>
                <th scope="col">Times</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((delivery) => (
                <tr key={delivery.id} data-delivery-id={delivery.id} data-status={delivery.status}>
                  <td data-label="Created">
                    <Time iso={delivery.createdAt} />
                  </td>
                  <th scope="row" data-label="Event">
                    <code>{delivery.eventType}</code>
                    {delivery.redeliveryOf && <div class="muted small">redelivery</div>}
                  </th>
                  <td data-label="Key">
                    {me.canManageKeys ? (
                      <Link to={`/keys/${delivery.keyId}`}>
                        <code>{shortId(delivery.keyId)}</code>
                      </Link>
                    ) : (
                      <code title={delivery.keyId}>{shortId(delivery.keyId)}</code>
                    )}
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={delivery.status} />
                  </td>
                  <td data-label="Attempts">{delivery.attempts}</td>
                  <td data-label="Response" class="details-cell">
                    {delivery.responseStatus === null ? <span class="muted">—</span> : <strong>{delivery.responseStatus}</strong>}
                    {delivery.responseBody && (
                      <details>
                        <summary>Body (first 1 KB)</summary>
                        <pre class="response-body" tabIndex={0}>
                          {delivery.responseBody}
                        </pre>
                      </details>
                    )}
                  </td>
                  <td data-label="Error" class="details-cell">
                    {delivery.error ?? <span class="muted">—</span>}
                  </td>
                  <td data-label="Times" class="small">
                    <div>
                      last attempt <Time iso={delivery.lastAttemptAt} />
                    </div>
                    {delivery.deliveredAt && (
                      <div>
                        delivered <Time iso={delivery.deliveredAt} />
                      </div>
                    )}
                    {delivery.nextAttemptAt && (
                      <div>
                        next attempt <Time iso={delivery.nextAttemptAt} />
                      </div>
                    )}
                  </td>
                  <td data-label="Actions" class="row-actions">
                    <button
                      type="button"
                      class="button-small"
                      onClick={() => void redeliver(delivery)}
                      aria-label={`Redeliver ${delivery.eventType} of ${delivery.keyId}`}
                    >
                      Redeliver
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {loading && <Loading label="Loading the deliveries…" />}
      {!loading && !error && loads > 0 && items.length === 0 && (
        <div class="empty" role="status">
          <p>
            <strong>No deliveries yet.</strong> The endpoint gets the events it subscribes to that are committed after it was created.
          </p>
        </div>
      )}
      {before !== null && !loading && (
        <div class="more">
          <button type="button" class="button-secondary" onClick={() => void load(before)}>
            Load older deliveries
          </button>
        </div>
      )}
    </section>
  );
}
