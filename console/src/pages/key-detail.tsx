import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { ActorLabel, Alert, Chips, DetailUnavailable, ExpiryCell, Loading, SecretDialog, StatusBadge, TagChips, Time } from '../components';
import { describeChanges } from '../format';

function changeLines(event: KeyHistoryItem): string[] {
  const reason = describeReason(event.reasonCode, event.reason);
  return [...(reason ? [`reason: ${reason}`] : []), ...describeChanges(event.changes)];
}
import { EditDialog, EndKeyDialog, RotateDialog } from '../key-dialogs';
import { patchKey } from '../keys-store';
import { Link } from '../router';
import { describeReason, EVENT_LABELS, type KeyHistoryItem, type KeyView, type KeyWithSecret, type UsageDay } from '../types';
import { UsageChart } from '../usage-chart';

const USAGE_DAYS = 30;

type Action = 'edit' | 'rotate' | 'expire' | 'revoke' | null;

export function KeyDetailPage({ id }: { id: string }): JSX.Element {
  const [key, setKey] = useState<KeyView | null>(null);
  const [events, setEvents] = useState<KeyHistoryItem[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [action, setAction] = useState<Action>(null);
  const [secret, setSecret] = useState<KeyWithSecret | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [usage, setUsage] = useState<UsageDay[] | null>(null);

  const load = async (): Promise<void> => {
    setError(null);
    try {
      const [found, history] = await Promise.all([api.getKey(id), api.keyEvents(id)]);
      setKey(found);
      setEvents(history);
    } catch (e) {
      if (e instanceof ApiError) setError(e);
      else throw e;
    }
  };

  useEffect(() => {
    setKey(null);
    setEvents(null);
    setUsage(null);
    void load();
    // The chart is extra: a failure leaves it out rather than failing the page.
    void api.keyUsage(id, USAGE_DAYS).then(
      (page) => setUsage(page.items),
      () => undefined,
    );
  }, [id]);

  useEffect(() => {
    if (key) document.title = `${key.name} · keys · keyledger console`;
  }, [key?.name]);

  const changed = (answer: KeyView, message: string): void => {
    // A command's answer carries no last use: keep the one read with the key.
    const next = { ...key, ...answer };
    setKey(next);
    patchKey(next);
    setAction(null);
    setNotice(message);
    void api.keyEvents(id).then(setEvents, () => undefined);
  };

  if (error || !key) {
    return (
      <DetailUnavailable
        noun="key"
        error={error}
        back={{ to: '/keys', label: '← All keys' }}
        notFound="There is no key with this id that your key may see."
        onRetry={() => void load()}
      />
    );
  }

  const active = key.status === 'active';
  return (
    <section aria-labelledby="page-title">
      <p>
        <Link to="/keys">← All keys</Link>
      </p>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          {key.name} <StatusBadge status={key.status} />
        </h1>
        <div class="page-actions">
          <button type="button" class="button-secondary" onClick={() => setAction('edit')} disabled={!active}>
            Edit
          </button>
          <button type="button" class="button-secondary" onClick={() => setAction('rotate')} disabled={!active}>
            Rotate
          </button>
          <button type="button" class="button-secondary" onClick={() => setAction('expire')} disabled={!active}>
            Expire now
          </button>
          <button type="button" class="button-danger" onClick={() => setAction('revoke')} disabled={!active}>
            Revoke
          </button>
        </div>
      </div>
      {!active && <p class="muted">This key is {key.status}: it can no longer be changed. Its record and history stay.</p>}
      {notice && <Alert kind="success">{notice}</Alert>}

      <dl class="details">
        <dt>Key ID</dt>
        <dd>
          <code>{key.id}</code>
        </dd>
        <dt>Public ID</dt>
        <dd>
          <code>{key.publicId}</code>
        </dd>
        <dt>Tenant</dt>
        <dd>{key.tenantId}</dd>
        <dt>Status</dt>
        <dd>
          <StatusBadge status={key.status} />
        </dd>
        <dt>Scopes</dt>
        <dd>
          <Chips values={key.scopes} />
        </dd>
        <dt>Tags</dt>
        <dd>
          <TagChips tags={key.tags} />
        </dd>
        <dt>Created</dt>
        <dd>
          <Time iso={key.createdAt} />
        </dd>
        <dt>Last changed</dt>
        <dd>
          <Time iso={key.updatedAt} />
        </dd>
        <dt>Expires</dt>
        <dd>
          <ExpiryCell keyView={key} />
        </dd>
        {key.status === 'active' && key.graceEndsAt && (
          <>
            <dt>Previous secret works until</dt>
            <dd>
              <Time iso={key.graceEndsAt} />
            </dd>
          </>
        )}
        {key.reasonCode !== null && (
          <>
            <dt>{key.status === 'revoked' ? 'Revoked because' : 'Expired because'}</dt>
            <dd data-reason-code={key.reasonCode}>{describeReason(key.reasonCode, key.reason)}</dd>
          </>
        )}
        <dt>Version</dt>
        <dd>{key.version}</dd>
        <dt>Last used</dt>
        <dd>
          <Time iso={key.lastUsedAt ?? null} />
          {key.lastUsedIp && <> from {key.lastUsedIp}</>}
          {key.lastUsedUserAgent && <span class="muted"> · {key.lastUsedUserAgent}</span>}
        </dd>
      </dl>

      <h2>Usage</h2>
      <p class="muted">Written by each instance every few seconds (USAGE_FLUSH_MS): today's numbers may be up to that much behind.</p>
      {usage === null ? (
        <Loading label="Loading the usage…" />
      ) : (
        <UsageChart days={usage} id="key-usage" title={`Verifications per day, last ${USAGE_DAYS} days`} />
      )}

      <h2 id="timeline-title">History</h2>
      {events === null ? (
        <Loading label="Loading the history…" />
      ) : (
        <ol class="timeline" aria-labelledby="timeline-title">
          {events.map((event) => (
            <li key={event.position} data-event-type={event.type}>
              <div class="timeline-head">
                <span class={`event-type event-${event.type.replace('key.', '')}`}>{EVENT_LABELS[event.type] ?? event.type}</span>
                <span>
                  by <ActorLabel actor={event.actor} />
                </span>
                <Time iso={event.recordedAt} />
              </div>
              {changeLines(event).length > 0 && (
                <ul class="changes">
                  {changeLines(event).map((line) => (
                    <li key={line}>{line}</li>
                  ))}
                </ul>
              )}
              <p class="meta">
                version {event.version} · position {event.position}
                {event.ip && <> · from {event.ip}</>}
                {event.userAgent && <> · {event.userAgent}</>}
                {event.requestId && (
                  <>
                    {' '}
                    · request <code>{event.requestId}</code>
                  </>
                )}
              </p>
            </li>
          ))}
        </ol>
      )}

      {action === 'edit' && (
        <EditDialog
          keyView={key}
          onClose={() => setAction(null)}
          onDone={(next) => changed(next, 'Changes saved.')}
          onConflict={(current) => {
            setKey(current);
            patchKey(current);
            void api.keyEvents(id).then(setEvents, () => undefined);
          }}
        />
      )}
      {action === 'rotate' && (
        <RotateDialog
          keyView={key}
          onClose={() => setAction(null)}
          onDone={(rotated) => {
            const { key: _secret, ...view } = rotated;
            changed(view, 'The key was rotated.');
            setSecret(rotated);
          }}
        />
      )}
      {(action === 'expire' || action === 'revoke') && (
        <EndKeyDialog
          action={action}
          keyView={key}
          onClose={() => setAction(null)}
          onDone={(next) => changed(next, action === 'expire' ? 'The key has expired.' : 'The key was revoked.')}
        />
      )}
      {secret && secret.key && <SecretDialog secret={secret.key} keyView={secret} rotated onClose={() => setSecret(null)} />}
    </section>
  );
}
