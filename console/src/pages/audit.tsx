import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type AuditFilter } from '../api';
import {
  ActorLabel,
  Alert,
  CopyButton,
  describedBy,
  ExportButton,
  Field,
  Loading,
  TenantInput,
  Time,
  useExportDownload,
} from '../components';
import { describeChanges, shortId } from '../format';
import { ReasonCodeOptions } from '../key-dialogs';
import { Link } from '../router';
import { session } from '../session';
import { openEventStream, type StreamStatus } from '../sse';
import { useStore } from '../store';
import { describeReason, EVENT_LABELS, EVENT_TYPES, type AuditEntry, type TailEvent, type VerifyResult } from '../types';

interface FilterForm {
  key: string;
  tenantId: string;
  actorId: string;
  type: string;
  reasonCode: string;
  from: string;
  to: string;
}

const EMPTY_FORM: FilterForm = { key: '', tenantId: '', actorId: '', type: '', reasonCode: '', from: '', to: '' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PUBLIC_ID = /^[0-9A-Za-z]{12}$/;

/** datetime-local (the person's own time) → an ISO instant. */
function instant(local: string): string | undefined {
  if (local === '') return undefined;
  const ms = Date.parse(local);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function EntryDetails({ entry }: { entry: AuditEntry }): JSX.Element {
  const lines = describeChanges(entry.changes);
  const reason = describeReason(entry.reasonCode, entry.reason);
  return (
    <>
      {reason && <div data-reason-code={entry.reasonCode ?? undefined}>reason: {reason}</div>}
      {lines.map((line) => (
        <div key={line}>{line}</div>
      ))}
      {!reason && lines.length === 0 && <span class="muted">—</span>}
    </>
  );
}

export function AuditPage(): JSX.Element {
  const me = useStore(session).me!;
  const tenantLocked = !me.admin;
  const [form, setForm] = useState<FilterForm>(EMPTY_FORM);
  const [applied, setApplied] = useState<AuditFilter>({});
  const [items, setItems] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [loads, setLoads] = useState(0);
  const [error, setError] = useState<ApiError | null>(null);
  const [keyError, setKeyError] = useState<string | undefined>(undefined);
  const download = useExportDownload((format) => api.exportAudit(applied, format));
  const generation = useRef(0);

  const search = async (filter: AuditFilter, from: string | null): Promise<void> => {
    const mine = ++generation.current;
    setLoading(true);
    setError(null);
    if (from === null) setItems([]);
    try {
      const page = await api.searchAudit(filter, from);
      if (mine !== generation.current) return;
      setItems((current) => (from === null ? page.items : [...current, ...page.items]));
      setCursor(page.nextCursor);
    } catch (e) {
      if (mine !== generation.current) return;
      if (e instanceof ApiError) setError(e);
      else throw e;
    } finally {
      if (mine === generation.current) {
        setLoading(false);
        setLoaded(true);
        setLoads((n) => n + 1);
      }
    }
  };

  useEffect(() => {
    if (me.canReadAudit) void search({}, null);
  }, []);

  if (!me.canReadAudit) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1}>
          Audit log
        </h1>
        <Alert kind="info">Your key cannot read the audit log: that needs the audit:read or admin scope.</Alert>
      </section>
    );
  }

  const apply = async (event: Event): Promise<void> => {
    event.preventDefault();
    setKeyError(undefined);
    let keyId: string | undefined;
    const key = form.key.trim();
    if (key !== '') {
      if (UUID.test(key)) keyId = key;
      else if (PUBLIC_ID.test(key) && me.canManageKeys) {
        const found = await api.getKey(key).catch(() => null);
        if (found === null) {
          setKeyError('No key with this public id');
          return;
        }
        keyId = found.id;
      } else {
        setKeyError(me.canManageKeys ? 'Enter a key id (UUID) or a public id' : 'Enter a key id (UUID)');
        return;
      }
    }
    const filter: AuditFilter = {
      keyId,
      tenantId: tenantLocked ? undefined : form.tenantId.trim() || undefined,
      actorId: form.actorId.trim() || undefined,
      type: form.type || undefined,
      reasonCode: form.reasonCode || undefined,
      from: instant(form.from),
      to: instant(form.to),
    };
    setApplied(filter);
    await search(filter, null);
  };

  const clear = (): void => {
    setForm(EMPTY_FORM);
    setKeyError(undefined);
    setApplied({});
    void search({}, null);
  };

  const set = (field: keyof FilterForm) => (event: Event) =>
    setForm({ ...form, [field]: (event.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const fromError = error?.fieldMessage('from');
  const toError = error?.fieldMessage('to');

  return (
    <section aria-labelledby="page-title" data-loads={loads} data-loading={loading}>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Audit log
        </h1>
        <div class="page-actions">
          <ExportButton format="ndjson" download={download} />
          <ExportButton format="csv" download={download} />
        </div>
      </div>
      <p class="muted">Every change to every key, newest first. Downloads use the filters applied below.</p>
      {download.error && <Alert>Could not export: {download.error.message}</Alert>}

      <form class="filters" role="search" aria-label="Filter the audit log" onSubmit={(e) => void apply(e)} noValidate>
        <Field id="audit-key" label="Key" error={keyError}>
          <input
            {...describedBy('audit-key', keyError)}
            type="text"
            value={form.key}
            onInput={set('key')}
            placeholder={me.canManageKeys ? 'key id or public id' : 'key id'}
            autoComplete="off"
            spellcheck={false}
          />
        </Field>
        <Field id="audit-tenant" label="Tenant">
          <TenantInput id="audit-tenant" me={me} value={form.tenantId} onInput={set('tenantId')} />
        </Field>
        <Field id="audit-actor" label="Actor">
          <input
            id="audit-actor"
            type="text"
            value={form.actorId}
            onInput={set('actorId')}
            placeholder="key id, cli:user or system"
            autoComplete="off"
            spellcheck={false}
          />
        </Field>
        <Field id="audit-type" label="Event type">
          <select id="audit-type" value={form.type} onChange={set('type')}>
            <option value="">Any event</option>
            {EVENT_TYPES.map((type) => (
              <option key={type} value={type}>
                {EVENT_LABELS[type]} ({type})
              </option>
            ))}
          </select>
        </Field>
        <Field id="audit-reason-code" label="Reason code">
          <select id="audit-reason-code" value={form.reasonCode} onChange={set('reasonCode')}>
            <option value="">Any (or none)</option>
            <ReasonCodeOptions />
          </select>
        </Field>
        <Field id="audit-from" label="From" error={fromError}>
          <input {...describedBy('audit-from', fromError)} type="datetime-local" value={form.from} onInput={set('from')} />
        </Field>
        <Field id="audit-to" label="To" error={toError}>
          <input {...describedBy('audit-to', toError)} type="datetime-local" value={form.to} onInput={set('to')} />
        </Field>
        <div class="filter-buttons">
          <button type="submit" class="button-primary">
            Apply filters
          </button>
          <button type="button" class="button-secondary" onClick={clear}>
            Clear
          </button>
        </div>
      </form>

      {error && !fromError && !toError && (
        <Alert onRetry={() => void search(applied, null)}>Could not load the audit log: {error.message}</Alert>
      )}

      {items.length > 0 && (
        <div class="table-wrap">
          <table class="data-table audit-table" aria-busy={loading}>
            <caption class="visually-hidden">Audit log entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col">Key</th>
                <th scope="col">Tenant</th>
                <th scope="col">Actor</th>
                <th scope="col">Details</th>
                <th scope="col">Position</th>
              </tr>
            </thead>
            <tbody>
              {items.map((entry) => (
                <tr key={entry.seq} data-position={entry.position} data-type={entry.type} data-key-id={entry.keyId ?? ''}>
                  <td data-label="When">
                    <Time iso={entry.recordedAt} />
                  </td>
                  <th scope="row" data-label="Event">
                    <span class={`event-type event-${entry.type.replace('key.', '')}`}>{EVENT_LABELS[entry.type] ?? entry.type}</span>
                  </th>
                  <td data-label="Key">
                    {entry.keyId && me.canManageKeys ? (
                      <Link to={`/keys/${entry.keyId}`}>
                        <code>{entry.publicId ?? shortId(entry.keyId)}</code>
                      </Link>
                    ) : (
                      <code>{entry.publicId ?? '—'}</code>
                    )}
                  </td>
                  <td data-label="Tenant">{entry.tenantId ?? '—'}</td>
                  <td data-label="Actor" class="actor-cell">
                    <ActorLabel actor={entry.actor} />
                  </td>
                  <td data-label="Details" class="details-cell">
                    <EntryDetails entry={entry} />
                  </td>
                  <td data-label="Position">{entry.position}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {loading && <Loading label="Loading the audit log…" />}
      {loaded && !loading && !error && items.length === 0 && (
        <div class="empty" role="status">
          <p>
            <strong>No audit entries match these filters.</strong>
          </p>
        </div>
      )}
      {cursor !== null && !loading && (
        <div class="more">
          <button type="button" class="button-secondary" onClick={() => void search(applied, cursor)}>
            Load older entries
          </button>
        </div>
      )}

      <div class="panels">
        <LiveTail />
        {me.admin && <VerifyPanel />}
      </div>
    </section>
  );
}

const STATUS_TEXT: Record<StreamStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  stopped: 'Paused',
  forbidden: 'Not allowed',
};

/** New events as they are appended, pushed by the server (Server-Sent Events over fetch), without polling. */
function LiveTail(): JSX.Element {
  const [running, setRunning] = useState(true);
  const [status, setStatus] = useState<StreamStatus>('connecting');
  const [events, setEvents] = useState<TailEvent[]>([]);
  const [gap, setGap] = useState(false);
  const [announce, setAnnounce] = useState('');

  useEffect(() => {
    if (!running) {
      setStatus('stopped');
      return;
    }
    const stop = openEventStream('/console/api/audit/tail', {
      onStatus: (next) => setStatus(next),
      onMessage: (message) => {
        if (message.event === 'gap') setGap(true);
        if (message.event !== 'key-event') return;
        const event = JSON.parse(message.data) as TailEvent;
        setEvents((current) => (current.some((e) => e.position === event.position) ? current : [event, ...current].slice(0, 50)));
        setAnnounce(`${EVENT_LABELS[event.type] ?? event.type}: ${event.name ?? event.publicId ?? 'a key'}`);
      },
    });
    return stop;
  }, [running]);

  return (
    <section class="panel live-tail" aria-labelledby="tail-title">
      <div class="panel-head">
        <h2 id="tail-title">Live tail</h2>
        <span class={`stream-status stream-${status}`} data-stream-status={status}>
          <span class="dot" aria-hidden="true" />
          {STATUS_TEXT[status]}
        </span>
        <button type="button" class="button-small" onClick={() => setRunning(!running)} aria-pressed={!running}>
          {running ? 'Pause' : 'Resume'}
        </button>
      </div>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announce}
      </p>
      {gap && <Alert kind="warning">Some events were missed while the connection was down: apply the filters again to see them all.</Alert>}
      {events.length === 0 ? (
        <p class="muted">New events appear here as they happen.</p>
      ) : (
        <ol class="tail-list" aria-label="Latest events, newest first" tabIndex={0}>
          {events.map((event) => (
            <li key={event.position} data-position={event.position} data-type={event.type} data-public-id={event.publicId ?? ''}>
              <span class={`event-type event-${event.type.replace('key.', '')}`}>{EVENT_LABELS[event.type] ?? event.type}</span>{' '}
              <strong>{event.name ?? '—'}</strong> <code>{event.publicId ?? shortId(event.keyId ?? '')}</code>
              <span class="muted">
                {' '}
                · {event.tenantId ?? '—'} · by <ActorLabel actor={event.actor} /> · <Time iso={event.recordedAt} /> · position{' '}
                {event.position}
              </span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/** Check the hash chain against a digest kept outside the system. */
function VerifyPanel(): JSX.Element {
  const [digest, setDigest] = useState('');
  const [current, setCurrent] = useState<string | null>(null);
  const [result, setResult] = useState<VerifyResult | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const verify = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api.verifyAudit(digest.trim()));
    } catch (e) {
      if (e instanceof ApiError) setError(e);
      else throw e;
    } finally {
      setBusy(false);
    }
  };

  const fetchDigest = async (): Promise<void> => {
    try {
      setCurrent((await api.auditDigest()).digest);
    } catch (e) {
      if (e instanceof ApiError) setError(e);
    }
  };

  const digestError = error?.fieldMessage('fromDigest');
  return (
    <section class="panel verify" aria-labelledby="verify-title">
      <div class="panel-head">
        <h2 id="verify-title">Verify the record</h2>
      </div>
      <p class="muted">
        Paste a digest you stored outside keyledger earlier. The chain is recomputed from the events table and checked against the audit log
        and your digest.
      </p>
      <form onSubmit={(e) => void verify(e)} noValidate>
        <Field id="verify-digest" label="Digest" hint="position:chainHash, as the current digest below shows it" error={digestError}>
          <input
            {...describedBy('verify-digest', digestError, true)}
            type="text"
            value={digest}
            onInput={(e) => setDigest(e.currentTarget.value)}
            spellcheck={false}
            autoComplete="off"
          />
        </Field>
        <div class="filter-buttons">
          <button type="submit" class="button-primary" disabled={busy} aria-busy={busy}>
            {busy ? 'Verifying…' : 'Verify'}
          </button>
          <button type="button" class="button-secondary" onClick={() => void fetchDigest()}>
            Show the current digest
          </button>
        </div>
      </form>
      {current && (
        <div class="field">
          <label for="current-digest">Current digest (store it somewhere safe)</label>
          <div class="secret-row">
            <input id="current-digest" type="text" readOnly value={current} spellcheck={false} />
            <CopyButton value={current} inputId="current-digest" />
          </div>
        </div>
      )}
      {error && !digestError && <Alert>{error.message}</Alert>}
      {result && <VerifyOutcome result={result} />}
    </section>
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function VerifyOutcome({ result }: { result: VerifyResult }): JSX.Element {
  if (result.ok) {
    return (
      <Alert kind="success">
        <strong data-verify-result="intact">Intact up to position {result.headPosition}</strong>: {result.checkedEvents} events checked
        {result.digest ? `; your digest at position ${result.digest.position} matches.` : '.'}
      </Alert>
    );
  }
  if (result.firstMismatch) {
    return (
      <Alert>
        <strong data-verify-result="broken" data-position={result.firstMismatch.position}>
          Not intact: the first position that fails is {result.firstMismatch.position}
        </strong>
        . {capitalize(result.firstMismatch.reason)}. {result.checkedEvents} events before it check out.
      </Alert>
    );
  }
  return (
    <Alert>
      <strong data-verify-result="digest-mismatch" data-position={result.digest?.position}>
        Not intact: the chain does not match your digest at position {result.digest?.position}
      </strong>
      . The events up to there were changed, or the digest is from another system.
    </Alert>
  );
}
