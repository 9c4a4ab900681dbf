import type { ComponentChildren, InputEventHandler, JSX } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError, type ExportFormat } from './api';
import { exactTime, expiresSoon, relativeTime, shortId } from './format';
import { Link } from './router';
import { session } from './session';
import { createStore, useStore } from './store';
import type { Actor, ConsoleSession, DeliveryStatus, KeyStatus, KeyView } from './types';

/** Relative times ("2 minutes ago") move on by themselves: every time shown re-renders on this tick. */
const clock = createStore(Date.now());
setInterval(() => clock.set(Date.now()), 30_000);

/** A time as "in 3 days" / "2 hours ago", the exact time on hover (and to screen readers via the title). */
export function Time({ iso, prefix = '' }: { iso: string | null; prefix?: string }): JSX.Element {
  useStore(clock);
  if (iso === null) return <span class="muted">never</span>;
  return (
    <time dateTime={iso} title={exactTime(iso)}>
      {prefix}
      {relativeTime(iso)}
    </time>
  );
}

export function StatusBadge({ status }: { status: KeyStatus | DeliveryStatus | 'enabled' | 'disabled' }): JSX.Element {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

export function ExpiryCell({ keyView }: { keyView: KeyView }): JSX.Element {
  // A revoked key, or one expired by hand before its date, will not expire "in 3 months": it ended already.
  if (keyView.status !== 'active' && (keyView.expiresAt === null || Date.parse(keyView.expiresAt) > Date.now())) {
    return <span class="muted">no longer applies: the key is {keyView.status}</span>;
  }
  const soon = keyView.status === 'active' && expiresSoon(keyView.expiresAt);
  return (
    <span class="expiry">
      <Time iso={keyView.expiresAt} />
      {soon && (
        <span class="badge badge-soon" title="This key expires within 7 days">
          expires soon
        </span>
      )}
    </span>
  );
}

export function Chips({ values, empty = 'none' }: { values: string[]; empty?: string }): JSX.Element {
  if (values.length === 0) return <span class="muted">{empty}</span>;
  return (
    <ul class="chips">
      {values.map((v) => (
        <li key={v}>
          <code>{v}</code>
        </li>
      ))}
    </ul>
  );
}

export function TagChips({ tags }: { tags: Record<string, string> }): JSX.Element {
  return <Chips values={Object.entries(tags).map(([k, v]) => `${k}=${v}`)} />;
}

export function Alert({
  kind = 'error',
  children,
  onRetry,
}: {
  kind?: 'error' | 'info' | 'success' | 'warning';
  children: ComponentChildren;
  onRetry?: () => void;
}): JSX.Element {
  return (
    <div class={`alert alert-${kind}`} role={kind === 'error' || kind === 'warning' ? 'alert' : 'status'}>
      <div>{children}</div>
      {onRetry && (
        <button type="button" class="button-secondary" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ label }: { label: string }): JSX.Element {
  return (
    <p class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

/**
 * A detail page (a key, a webhook endpoint) that cannot show its subject yet: loading, or its load
 * failed, as not found (404) or with Try again.
 */
export function DetailUnavailable({
  noun,
  error,
  back,
  notFound,
  onRetry,
}: {
  /** "key", "webhook endpoint". */
  noun: string;
  error: ApiError | null;
  back: { to: string; label: string };
  notFound: string;
  onRetry: () => void;
}): JSX.Element {
  const title = noun.charAt(0).toUpperCase() + noun.slice(1);
  if (error === null) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1} class="visually-hidden">
          {title}
        </h1>
        <Loading label={`Loading the ${noun}…`} />
      </section>
    );
  }
  return (
    <section aria-labelledby="page-title">
      <p>
        <Link to={back.to}>{back.label}</Link>
      </p>
      <h1 id="page-title" tabIndex={-1}>
        {error.status === 404 ? `${title} not found` : `Could not load the ${noun}`}
      </h1>
      <Alert onRetry={error.status === 404 ? undefined : onRetry}>{error.status === 404 ? notFound : error.message}</Alert>
    </section>
  );
}

/** The ids and ARIA attributes that tie an input to its hint and error message. */
export function describedBy(
  id: string,
  error: string | undefined,
  hint?: boolean,
): { id: string; 'aria-invalid'?: 'true'; 'aria-describedby'?: string } {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return { id, ...(error ? { 'aria-invalid': 'true' as const } : {}), ...(ids ? { 'aria-describedby': ids } : {}) };
}

/** A label, the control, a hint and the field's error message right under it. */
export function Field({
  id,
  label,
  hint,
  error,
  children,
}: {
  id: string;
  label: string;
  hint?: string;
  error?: string;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={id}>{label}</label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {children}
      {error && (
        <p class="field-error" id={`${id}-error`} data-field-error={id}>
          {error}
        </p>
      )}
    </div>
  );
}

interface DialogProps {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  /** false: Escape does not close it (the one-time secret must be dismissed on purpose). */
  dismissible?: boolean;
  class?: string;
}

/** A native modal <dialog>: focus moves in and is trapped, Escape closes it, focus returns on close. */
export function Dialog({ title, onClose, children, dismissible = true, class: className }: DialogProps): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const onCancel = (event: Event): void => {
    event.preventDefault();
    if (dismissible) onClose();
  };
  return (
    <dialog ref={ref} class={`dialog ${className ?? ''}`} aria-labelledby={titleId} onCancel={onCancel}>
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

export interface ExportDownload {
  /** The format being prepared, if any. */
  busy: ExportFormat | null;
  error: ApiError | null;
  /** The file name of the last download saved. */
  saved: string | null;
  start(format: ExportFormat): Promise<void>;
}

/** The state of a page's CSV/NDJSON downloads around `save` (one of the api's `downloadExport()` calls). */
export function useExportDownload(save: (format: ExportFormat) => Promise<string>): ExportDownload {
  const [busy, setBusy] = useState<ExportFormat | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const start = async (format: ExportFormat): Promise<void> => {
    setBusy(format);
    setError(null);
    setSaved(null);
    try {
      setSaved(await save(format));
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, 'UNKNOWN', String(e)));
    } finally {
      setBusy(null);
    }
  };
  return { busy, error, saved, start };
}

/** "Download CSV" / "Download NDJSON"; `submit`: the form's submit button (its form starts the download). */
export function ExportButton({
  format,
  download,
  primary = false,
  submit = false,
}: {
  format: ExportFormat;
  download: ExportDownload;
  primary?: boolean;
  submit?: boolean;
}): JSX.Element {
  return (
    <button
      type={submit ? 'submit' : 'button'}
      class={primary ? 'button-primary' : 'button-secondary'}
      onClick={submit ? undefined : () => void download.start(format)}
      disabled={download.busy !== null}
      aria-busy={download.busy === format}
    >
      {download.busy === format ? 'Preparing…' : format === 'csv' ? 'Download CSV' : 'Download NDJSON'}
    </button>
  );
}

export type FieldErrors = Record<string, string | undefined>;

/** The API's field errors for these fields, and its message when none of them is named (shown at the top). */
export function fieldErrors(error: ApiError, fields: string[]): { errors: FieldErrors; rest: string | null } {
  const errors: FieldErrors = {};
  for (const field of fields) errors[field] = error.fieldMessage(field);
  const mapped = Object.values(errors).some((m) => m !== undefined);
  return { errors, rest: mapped ? null : error.message };
}

/** A dialog form's Cancel and submit buttons. */
export function DialogActions({
  busy,
  submitLabel,
  onCancel,
  danger = false,
}: {
  busy: boolean;
  submitLabel: string;
  onCancel: () => void;
  danger?: boolean;
}): JSX.Element {
  return (
    <div class="dialog-actions">
      <button type="button" class="button-secondary" onClick={onCancel} disabled={busy}>
        Cancel
      </button>
      <button type="submit" class={danger ? 'button-danger' : 'button-primary'} disabled={busy} aria-busy={busy}>
        {busy ? 'Working…' : submitLabel}
      </button>
    </div>
  );
}

/**
 * Asks before an action (revoke, expire, rotate, delete). `children` gets the API's error to show a
 * field's message under its field; an error naming none of `fields` is shown at the top.
 */
export function ConfirmDialog({
  title,
  submitLabel,
  danger = true,
  fields = [],
  onClose,
  onConfirm,
  children,
}: {
  title: string;
  submitLabel: string;
  /** false: a primary button rather than a red one (rotate is not final). */
  danger?: boolean;
  fields?: string[];
  onClose: () => void;
  onConfirm: () => Promise<void>;
  children: (error: ApiError | null) => ComponentChildren;
}): JSX.Element {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    try {
      await onConfirm();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, 'UNKNOWN', String(e)));
      setBusy(false);
    }
  };
  const rest = error && fieldErrors(error, fields).rest;
  return (
    <Dialog title={title} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        {rest && <Alert>{rest}</Alert>}
        {children(error)}
        <DialogActions busy={busy} submitLabel={submitLabel} onCancel={onClose} danger={danger} />
      </form>
    </Dialog>
  );
}

/** Copies a value: the async clipboard where the page may use it, else select-and-copy. */
export function CopyButton({ value, label = 'Copy', inputId }: { value: string; label?: string; inputId?: string }): JSX.Element {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      const input = inputId ? (document.getElementById(inputId) as HTMLInputElement | null) : null;
      input?.select();
      // The fallback where the async clipboard is not allowed (a plain-http origin other than localhost).
      setCopied(input && document.execCommand('copy') ? 'yes' : 'failed');
    }
  };
  return (
    <>
      <button type="button" class="button-secondary" onClick={() => void copy()}>
        {label}
      </button>
      <span class="copy-status" role="status">
        {copied === 'yes' ? 'Copied to the clipboard' : copied === 'failed' ? 'Could not copy: select the text and copy it by hand' : ''}
      </span>
    </>
  );
}

/**
 * A secret shown once (a key right after create or rotate, a webhook signing secret right after
 * create). The value lives only in this component's props; closing the dialog drops it and nothing
 * can show it again. Escape does not close it: it must be dismissed on purpose.
 */
export function ShownOnceDialog({
  title,
  label,
  warning,
  summary,
  doneLabel,
  secret,
  onClose,
}: {
  title: string;
  label: string;
  warning: ComponentChildren;
  summary: ComponentChildren;
  doneLabel: string;
  secret: string;
  onClose: () => void;
}): JSX.Element {
  return (
    <Dialog title={title} onClose={onClose} dismissible={false} class="secret-dialog">
      <Alert kind="warning">{warning}</Alert>
      <p>{summary}</p>
      <div class="field">
        <label for="new-secret">{label}</label>
        <div class="secret-row">
          <input
            id="new-secret"
            class="secret"
            type="text"
            readOnly
            value={secret}
            spellcheck={false}
            autoComplete="off"
            onFocus={(e) => e.currentTarget.select()}
          />
          <CopyButton value={secret} inputId="new-secret" />
        </div>
      </div>
      <div class="dialog-actions">
        <button type="button" class="button-primary" onClick={onClose}>
          {doneLabel}
        </button>
      </div>
    </Dialog>
  );
}

/** The one place a plaintext key appears: right after create or rotate. */
export function SecretDialog({
  secret,
  keyView,
  onClose,
  rotated = false,
}: {
  secret: string;
  keyView: KeyView;
  onClose: () => void;
  rotated?: boolean;
}): JSX.Element {
  return (
    <ShownOnceDialog
      title={rotated ? 'Your new key secret' : 'Your new API key'}
      label="API key"
      warning={
        <>
          <strong>Copy this key now. It is shown only this once</strong>: keyledger stores only its hash, and neither the console nor the
          API can show it again. If you lose it, rotate the key.
        </>
      }
      summary={
        <>
          <strong>{keyView.name}</strong> · <code>{keyView.publicId}</code> · tenant <code>{keyView.tenantId}</code>
        </>
      }
      doneLabel="I have stored the key"
      secret={secret}
      onClose={onClose}
    />
  );
}

/**
 * An actor as a person reads it: a key by the name it had when it acted and its publicId (both
 * from the history, never looked up today); the CLI and the system by their id.
 */
export function ActorLabel({ actor }: { actor: Actor | null }): JSX.Element {
  const me = session.get().me;
  if (actor === null || actor.id === null) return <span class="muted">unknown</span>;
  if (actor.type !== 'api-key') return <span class="actor">{actor.id}</span>;
  const isMe = me?.keyId === actor.id;
  return (
    <span class="actor" title={`API key ${actor.id}`}>
      {actor.publicId !== null ? (
        <>
          {actor.name} <code>{actor.publicId}</code>
        </>
      ) : (
        <code>{shortId(actor.id)}</code>
      )}
      {isMe && <span class="muted"> (you)</span>}
    </span>
  );
}

/**
 * The tenant filter of a list or report: a tenant key's own tenant, which it cannot change, or
 * (an admin) any tenant, empty for all of them. `id` and the ARIA attributes as `describedBy` gives them.
 */
export function TenantInput({
  me,
  value,
  onInput,
  ...ids
}: {
  me: ConsoleSession;
  value: string;
  onInput: InputEventHandler<HTMLInputElement>;
} & ReturnType<typeof describedBy>): JSX.Element {
  return (
    <input
      {...ids}
      type="text"
      value={me.admin ? value : me.tenantId}
      readOnly={!me.admin}
      placeholder="All tenants"
      onInput={onInput}
      autoComplete="off"
    />
  );
}
