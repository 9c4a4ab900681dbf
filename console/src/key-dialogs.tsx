import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, type CreateKeyInput } from './api';
import { Alert, ConfirmDialog, describedBy, Dialog, DialogActions, Field, fieldErrors, type FieldErrors } from './components';
import { DAY_MS, formatTags, formatValue, parseList, parseTags } from './format';
import { session } from './session';
import { REASON_CODES, REASON_LABELS, type KeyView, type KeyWithSecret, type LeakReport, type ReasonCode } from './types';

/** One option per reason code, for a select (the dialogs' and the audit filter's). */
export function ReasonCodeOptions(): JSX.Element {
  return (
    <>
      {REASON_CODES.map((code) => (
        <option key={code} value={code}>
          {REASON_LABELS[code]}
        </option>
      ))}
    </>
  );
}

/** The reason-code select of the expire and revoke dialog. */
function ReasonCodeField({
  id,
  value,
  onChange,
  error,
}: {
  id: string;
  value: ReasonCode;
  onChange: (code: ReasonCode) => void;
  error?: string;
}): JSX.Element {
  return (
    <Field id={id} label="Reason code" hint="Recorded in the audit log; reports group keys by it" error={error}>
      <select {...describedBy(id, error, true)} value={value} onChange={(e) => onChange(e.currentTarget.value as ReasonCode)}>
        <ReasonCodeOptions />
      </select>
    </Field>
  );
}

type ExpiryChoice = '7' | '30' | '90' | 'date' | 'never';

const EXPIRY_CHOICES: { value: ExpiryChoice; label: string }[] = [
  { value: '7', label: 'In 7 days' },
  { value: '30', label: 'In 30 days' },
  { value: '90', label: 'In 90 days' },
  { value: 'date', label: 'On a date' },
  { value: 'never', label: 'Never' },
];

function tomorrow(): string {
  return new Date(Date.now() + DAY_MS).toISOString().slice(0, 10);
}

/** Create a key: every field error from the API's `details` is shown under its field. */
export function CreateKeyDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (key: KeyWithSecret) => void }): JSX.Element {
  const me = session.get().me;
  const tenantLocked = me !== null && !me.admin;
  const [name, setName] = useState('');
  const [tenantId, setTenantId] = useState(tenantLocked ? me.tenantId : '');
  const [scopes, setScopes] = useState('');
  const [tags, setTags] = useState('');
  const [expiry, setExpiry] = useState<ExpiryChoice>('90');
  const [date, setDate] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const parsedTags = parseTags(tags);
    const local: FieldErrors = {};
    if ('error' in parsedTags) local.tags = parsedTags.error;
    if (expiry === 'date' && date === '') local.expiry = 'Choose the date the key expires';
    if (Object.keys(local).length > 0) {
      setErrors(local);
      setFormError(null);
      return;
    }
    const input: CreateKeyInput = {
      name,
      tenantId: tenantId.trim(),
      scopes: parseList(scopes),
      tags: 'tags' in parsedTags ? parsedTags.tags : {},
    };
    // A chosen date expires at the end of that day, in the person's own time zone.
    if (expiry === 'date') input.expiresAt = new Date(`${date}T23:59:59.999`).toISOString();
    else if (expiry !== 'never') input.expiresInDays = Number(expiry);
    setBusy(true);
    try {
      const created = await api.createKey(input);
      onCreated(created);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const { errors: found, rest } = fieldErrors(error, ['name', 'tenantId', 'scopes', 'tags', 'expiresAt', 'expiresInDays']);
      setErrors({ ...found, expiry: found.expiresAt ?? found.expiresInDays });
      setFormError(rest);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="Create an API key" onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        {formError && <Alert>{formError}</Alert>}
        <Field id="create-name" label="Name" hint="What the key is for, e.g. billing export" error={errors.name}>
          <input
            {...describedBy('create-name', errors.name, true)}
            type="text"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            autoComplete="off"
            required
          />
        </Field>
        <Field
          id="create-tenant"
          label="Tenant"
          hint={tenantLocked ? 'Your key manages this tenant only' : 'The tenant id the key belongs to'}
          error={errors.tenantId}
        >
          <input
            {...describedBy('create-tenant', errors.tenantId, true)}
            type="text"
            value={tenantId}
            readOnly={tenantLocked}
            onInput={(e) => setTenantId(e.currentTarget.value)}
            autoComplete="off"
            required
          />
        </Field>
        <Field id="create-scopes" label="Scopes" hint="Space- or comma-separated, e.g. invoices:read invoices:write" error={errors.scopes}>
          <input
            {...describedBy('create-scopes', errors.scopes, true)}
            type="text"
            value={scopes}
            onInput={(e) => setScopes(e.currentTarget.value)}
            autoComplete="off"
            spellcheck={false}
          />
        </Field>
        <Field
          id="create-tags"
          label="Tags"
          hint="One key=value per line; the guard injects them into every request made with the key"
          error={errors.tags}
        >
          <textarea
            {...describedBy('create-tags', errors.tags, true)}
            rows={3}
            value={tags}
            onInput={(e) => setTags(e.currentTarget.value)}
            spellcheck={false}
          />
        </Field>
        <fieldset class={`field${errors.expiry ? ' has-error' : ''}`} aria-describedby={errors.expiry ? 'create-expiry-error' : undefined}>
          <legend>Expires</legend>
          <div class="radio-row">
            {EXPIRY_CHOICES.map((choice) => (
              <label key={choice.value} class="radio">
                <input
                  type="radio"
                  name="create-expiry"
                  value={choice.value}
                  checked={expiry === choice.value}
                  onChange={() => setExpiry(choice.value)}
                />
                {choice.label}
              </label>
            ))}
          </div>
          {expiry === 'date' && (
            <div class="field nested">
              <label for="create-expiry-date">Expiry date (the key expires at the end of that day, your time)</label>
              <input
                id="create-expiry-date"
                type="date"
                min={tomorrow()}
                value={date}
                onInput={(e) => setDate(e.currentTarget.value)}
                aria-invalid={errors.expiry ? 'true' : undefined}
                aria-describedby={errors.expiry ? 'create-expiry-error' : undefined}
              />
            </div>
          )}
          {errors.expiry && (
            <p class="field-error" id="create-expiry-error" data-field-error="create-expiry">
              {errors.expiry}
            </p>
          )}
        </fieldset>
        <DialogActions busy={busy} submitLabel="Create key" onCancel={onClose} />
      </form>
    </Dialog>
  );
}

/** What each way of ending a key says; only a revoke takes a free-text reason (the expire API takes a code only). */
const END_ACTIONS = {
  expire: {
    title: (name: string) => `Expire “${name}” now?`,
    consequence: (publicId: string) => (
      <>
        Requests made with <code>{publicId}</code> are refused from now on. Expiry is final; the key's record and history stay.
      </>
    ),
    submitLabel: 'Expire key',
    freeText: false,
  },
  revoke: {
    title: (name: string) => `Revoke “${name}”?`,
    consequence: (publicId: string) => (
      <>
        Every request made with <code>{publicId}</code> is refused within moments, on every instance. Revoking is final.
      </>
    ),
    submitLabel: 'Revoke key',
    freeText: true,
  },
};

/** Expire or revoke a key, after asking: with a reason code (and, for a revoke, a reason), both recorded in the audit log. */
export function EndKeyDialog({
  action,
  keyView,
  onClose,
  onDone,
}: {
  action: keyof typeof END_ACTIONS;
  keyView: KeyView;
  onClose: () => void;
  onDone: (key: KeyView) => void;
}): JSX.Element {
  const words = END_ACTIONS[action];
  const [reason, setReason] = useState('');
  const [reasonCode, setReasonCode] = useState<ReasonCode>('other');
  const confirm = async (): Promise<void> =>
    onDone(action === 'expire' ? await api.expireKey(keyView.id, reasonCode) : await api.revokeKey(keyView.id, reason.trim(), reasonCode));
  return (
    <ConfirmDialog
      title={words.title(keyView.name)}
      submitLabel={words.submitLabel}
      fields={words.freeText ? ['reason', 'reasonCode'] : ['reasonCode']}
      onClose={onClose}
      onConfirm={confirm}
    >
      {(error) => (
        <>
          <p>{words.consequence(keyView.publicId)}</p>
          <ReasonCodeField
            id={`${action}-reason-code`}
            value={reasonCode}
            onChange={setReasonCode}
            error={error?.fieldMessage('reasonCode')}
          />
          {words.freeText && (
            <Field
              id={`${action}-reason`}
              label="Reason (recorded in the audit log)"
              hint="Optional, up to 512 characters"
              error={error?.fieldMessage('reason')}
            >
              <textarea
                {...describedBy(`${action}-reason`, error?.fieldMessage('reason'), true)}
                rows={2}
                maxLength={512}
                value={reason}
                onInput={(e) => setReason(e.currentTarget.value)}
              />
            </Field>
          )}
        </>
      )}
    </ConfirmDialog>
  );
}

/** What a leak report found, in words; the token itself is never shown again. */
function leakOutcome(report: LeakReport): { kind: 'success' | 'info'; text: string } {
  if (report.label === 'false_positive') {
    return { kind: 'info', text: 'Not a key you manage (or not a keyledger key at all): nothing was revoked.' };
  }
  if (report.revoked) {
    return { kind: 'success', text: `Key ${report.publicId} was revoked (reason code leaked). Every instance refuses it within moments.` };
  }
  return {
    kind: 'info',
    text: `Key ${report.publicId} no longer worked (revoked, expired, or this secret was rotated out): nothing to revoke.`,
  };
}

/**
 * Someone pasted a key where it should not be: paste it here and, if it is one of yours and still
 * works, it is revoked. The field is cleared once sent, and the answer never contains the key.
 */
export function ReportLeakDialog({ onClose, onDone }: { onClose: () => void; onDone: (report: LeakReport) => void }): JSX.Element {
  const [token, setToken] = useState('');
  const [sourceUrl, setSourceUrl] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [outcome, setOutcome] = useState<ReturnType<typeof leakOutcome> | null>(null);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setOutcome(null);
    try {
      const report = await api.reportLeak(token.trim(), sourceUrl.trim());
      setToken('');
      setOutcome(leakOutcome(report));
      onDone(report);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const tokenError = error?.fieldMessage('token');
  const urlError = error?.fieldMessage('sourceUrl');
  return (
    <Dialog title="Report a leaked key" onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        {error && !tokenError && !urlError && <Alert>{error.message}</Alert>}
        {outcome && (
          <Alert kind={outcome.kind}>
            <span data-leak-outcome>{outcome.text}</span>
          </Alert>
        )}
        <p>
          Found a key in a chat, a ticket or a repository? If it is one of the keys you manage and it still works, it is revoked at once.
        </p>
        <Field id="leak-token" label="The exposed key" hint="Pasted here, sent once, never shown again" error={tokenError}>
          <input
            {...describedBy('leak-token', tokenError, true)}
            type="password"
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            autoComplete="off"
            spellcheck={false}
            required
          />
        </Field>
        <Field id="leak-source" label="Where it was found (optional)" hint="An http(s) link, recorded with the revocation" error={urlError}>
          <input
            {...describedBy('leak-source', urlError, true)}
            type="url"
            value={sourceUrl}
            onInput={(e) => setSourceUrl(e.currentTarget.value)}
            autoComplete="off"
          />
        </Field>
        <DialogActions busy={busy} submitLabel="Report and revoke" onCancel={onClose} danger />
      </form>
    </Dialog>
  );
}

const GRACE_CHOICES = [
  { seconds: 0, label: 'None: the current secret stops working now' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86_400, label: '24 hours' },
  { seconds: 7 * 86_400, label: '7 days' },
  { seconds: 30 * 86_400, label: '30 days' },
];

export function RotateDialog({
  keyView,
  onClose,
  onDone,
}: {
  keyView: KeyView;
  onClose: () => void;
  onDone: (key: KeyWithSecret) => void;
}): JSX.Element {
  const [grace, setGrace] = useState(86_400);
  return (
    <ConfirmDialog
      title={`Rotate “${keyView.name}”?`}
      submitLabel="Rotate key"
      danger={false}
      onClose={onClose}
      onConfirm={async () => onDone(await api.rotateKey(keyView.id, grace))}
    >
      {() => (
        <>
          <p>A new secret is issued and shown once. Its public id, scopes and tags stay the same.</p>
          <Field
            id="rotate-grace"
            label="Grace period for the current secret"
            hint="How long the current secret keeps working, so clients can switch over"
          >
            <select
              {...describedBy('rotate-grace', undefined, true)}
              value={String(grace)}
              onChange={(e) => setGrace(Number(e.currentTarget.value))}
            >
              {GRACE_CHOICES.map((choice) => (
                <option key={choice.seconds} value={String(choice.seconds)}>
                  {choice.label}
                </option>
              ))}
            </select>
          </Field>
        </>
      )}
    </ConfirmDialog>
  );
}

/**
 * Edit name, scopes and tags with `If-Match`: when someone else changed the key meanwhile (412)
 * the person is told, shown the key as it now is, and may save their edits on top of it.
 */
export function EditDialog({
  keyView,
  onClose,
  onDone,
  onConflict,
}: {
  keyView: KeyView;
  onClose: () => void;
  onDone: (key: KeyView) => void;
  onConflict: (key: KeyView) => void;
}): JSX.Element {
  const [base, setBase] = useState(keyView);
  const [name, setName] = useState(keyView.name);
  const [scopes, setScopes] = useState(keyView.scopes.join(' '));
  const [tags, setTags] = useState(formatTags(keyView.tags));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [conflict, setConflict] = useState<KeyView | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const parsedTags = parseTags(tags);
    if ('error' in parsedTags) {
      setErrors({ tags: parsedTags.error });
      return;
    }
    const changes: { name?: string; scopes?: string[]; tags?: Record<string, string> } = {};
    if (name !== base.name) changes.name = name;
    const nextScopes = parseList(scopes);
    if (nextScopes.join(' ') !== base.scopes.join(' ')) changes.scopes = nextScopes;
    if (formatTags(parsedTags.tags) !== formatTags(base.tags)) changes.tags = parsedTags.tags;
    if (Object.keys(changes).length === 0) {
      onClose();
      return;
    }
    setBusy(true);
    setFormError(null);
    setErrors({});
    try {
      onDone(await api.updateKey(base.id, base.version, changes));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 412) {
        const current = await api.getKey(base.id).catch(() => null);
        if (current) {
          setConflict(current);
          setBase(current);
          onConflict(current);
        } else {
          setFormError(error.message);
        }
      } else {
        const { errors: found, rest } = fieldErrors(error, ['name', 'scopes', 'tags']);
        setErrors(found);
        setFormError(rest);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title={`Edit “${keyView.name}”`} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        {conflict && (
          <Alert kind="warning">
            <p>
              <strong>Someone else changed this key while you were editing it</strong> (it is now at version {conflict.version}, status{' '}
              {conflict.status}). Your changes were not saved. It now reads:
            </p>
            <dl class="compact">
              <dt>Name</dt>
              <dd>{conflict.name}</dd>
              <dt>Scopes</dt>
              <dd>{formatValue(conflict.scopes)}</dd>
              <dt>Tags</dt>
              <dd>{formatValue(conflict.tags)}</dd>
            </dl>
            <p>Your edits are still in the form: review them and save again to apply them to this version.</p>
          </Alert>
        )}
        {formError && <Alert>{formError}</Alert>}
        <Field id="edit-name" label="Name" error={errors.name}>
          <input
            {...describedBy('edit-name', errors.name)}
            type="text"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            autoComplete="off"
          />
        </Field>
        <Field id="edit-scopes" label="Scopes" hint="Space- or comma-separated" error={errors.scopes}>
          <input
            {...describedBy('edit-scopes', errors.scopes, true)}
            type="text"
            value={scopes}
            onInput={(e) => setScopes(e.currentTarget.value)}
            spellcheck={false}
            autoComplete="off"
          />
        </Field>
        <Field id="edit-tags" label="Tags" hint="One key=value per line; replaces all tags" error={errors.tags}>
          <textarea
            {...describedBy('edit-tags', errors.tags, true)}
            rows={3}
            value={tags}
            onInput={(e) => setTags(e.currentTarget.value)}
            spellcheck={false}
          />
        </Field>
        <DialogActions busy={busy} submitLabel={conflict ? 'Save over the new version' : 'Save changes'} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
