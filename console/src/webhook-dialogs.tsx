import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, type WebhookInput } from './api';
import {
  Alert,
  ConfirmDialog,
  describedBy,
  Dialog,
  DialogActions,
  Field,
  fieldErrors,
  ShownOnceDialog,
  type FieldErrors,
} from './components';
import { session } from './session';
import { WEBHOOK_EVENT_TYPES, type WebhookEndpoint, type WebhookWithSecret } from './types';

const EVENT_HINTS: Record<(typeof WEBHOOK_EVENT_TYPES)[number], string> = {
  'key.created': 'a key is issued',
  'key.rotated': 'a key is rotated',
  'key.updated': 'name, scopes, tags or expiry changed',
  'key.revoked': 'a key is revoked',
  'key.expired': 'a key expired (its date passed, or by hand)',
  'key.leaked': 'a key reported as leaked was revoked',
  'key.expiring': 'before a key expires (30, 7 and 1 days by default)',
};

/** Where a platform-wide endpoint (no tenant) would show a tenant. */
export function tenantLabel(tenantId: string | null): string {
  return tenantId ?? 'platform-wide';
}

/** The URL and the event types: the fields create and edit share. */
function EndpointFields({
  prefix,
  url,
  setUrl,
  types,
  setTypes,
  errors,
}: {
  prefix: string;
  url: string;
  setUrl: (url: string) => void;
  types: string[];
  setTypes: (types: string[]) => void;
  errors: FieldErrors;
}): JSX.Element {
  const toggle = (type: string, on: boolean): void => setTypes(WEBHOOK_EVENT_TYPES.filter((t) => (t === type ? on : types.includes(t))));
  const typesError = errors.eventTypes;
  return (
    <>
      <Field
        id={`${prefix}-url`}
        label="URL"
        hint="https; keyledger refuses loopback, private, link-local and metadata addresses, now and at every send"
        error={errors.url}
      >
        <input
          {...describedBy(`${prefix}-url`, errors.url, true)}
          type="url"
          value={url}
          onInput={(e) => setUrl(e.currentTarget.value)}
          autoComplete="off"
          spellcheck={false}
          required
        />
      </Field>
      <fieldset
        class={`field${typesError ? ' has-error' : ''}`}
        aria-describedby={typesError ? `${prefix}-types-error` : undefined}
        data-event-types
      >
        <legend>Event types</legend>
        <div class="checkbox-list">
          {WEBHOOK_EVENT_TYPES.map((type) => (
            <label key={type} class="radio">
              <input
                type="checkbox"
                name={`${prefix}-types`}
                value={type}
                checked={types.includes(type)}
                onChange={(e) => toggle(type, e.currentTarget.checked)}
              />
              <code>{type}</code>
              <span class="muted">{EVENT_HINTS[type]}</span>
            </label>
          ))}
        </div>
        {typesError && (
          <p class="field-error" id={`${prefix}-types-error`} data-field-error={`${prefix}-types`}>
            {typesError}
          </p>
        )}
      </fieldset>
    </>
  );
}

type WebhookDialogProps = { onClose: () => void } & (
  | { endpoint?: undefined; onCreated: (created: WebhookWithSecret) => void }
  | { endpoint: WebhookEndpoint; onUpdated: (updated: WebhookEndpoint) => void }
);

/**
 * Add an endpoint (its signing secret comes back once, for WebhookSecretDialog), or, given one,
 * change its URL and event types (only what changed is sent, with If-Match: a change made meanwhile
 * is refused with its message). The API's field errors show under their fields.
 */
export function WebhookDialog(props: WebhookDialogProps): JSX.Element {
  const { endpoint, onClose } = props;
  const me = session.get().me;
  const tenantLocked = me !== null && !me.admin;
  const [url, setUrl] = useState(endpoint?.url ?? '');
  const [types, setTypes] = useState<string[]>(endpoint?.eventTypes ?? []);
  const [tenantId, setTenantId] = useState(tenantLocked ? me.tenantId : '');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const send = async (): Promise<void> => {
    if (props.endpoint === undefined) {
      const input: WebhookInput = { url: url.trim(), eventTypes: types };
      if (tenantId.trim() !== '') input.tenantId = tenantId.trim();
      props.onCreated(await api.createWebhook(input));
      return;
    }
    const changes: { url?: string; eventTypes?: string[] } = {};
    if (url.trim() !== props.endpoint.url) changes.url = url.trim();
    if (types.join() !== props.endpoint.eventTypes.join()) changes.eventTypes = types;
    if (Object.keys(changes).length === 0) onClose();
    else props.onUpdated(await api.updateWebhook(props.endpoint.id, changes, props.endpoint.version));
  };

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (types.length === 0) {
      setErrors({ eventTypes: 'Choose at least one event type' });
      setFormError(null);
      return;
    }
    setBusy(true);
    try {
      await send();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const { errors: found, rest } = fieldErrors(error, ['url', 'eventTypes', 'tenantId']);
      setErrors(found);
      setFormError(rest);
      setBusy(false);
    }
  };

  const prefix = endpoint ? 'edit-webhook' : 'webhook';
  return (
    <Dialog title={endpoint ? 'Edit the webhook endpoint' : 'Add a webhook endpoint'} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        {formError && <Alert>{formError}</Alert>}
        <EndpointFields prefix={prefix} url={url} setUrl={setUrl} types={types} setTypes={setTypes} errors={errors} />
        {!endpoint && (
          <Field
            id="webhook-tenant"
            label="Tenant"
            hint={
              tenantLocked
                ? 'Your key manages this tenant only'
                : "The tenant whose keys it hears of; empty: platform-wide (every tenant's keys)"
            }
            error={errors.tenantId}
          >
            <input
              {...describedBy('webhook-tenant', errors.tenantId, true)}
              type="text"
              value={tenantId}
              readOnly={tenantLocked}
              onInput={(e) => setTenantId(e.currentTarget.value)}
              autoComplete="off"
            />
          </Field>
        )}
        <DialogActions busy={busy} submitLabel={endpoint ? 'Save changes' : 'Add endpoint'} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

/** The signing secret, right after create: the only time the console or the API shows it. */
export function WebhookSecretDialog({ endpoint, onClose }: { endpoint: WebhookWithSecret; onClose: () => void }): JSX.Element {
  return (
    <ShownOnceDialog
      title="Your webhook signing secret"
      label="Signing secret"
      warning={
        <>
          <strong>Copy this signing secret now: you will not see it again.</strong> Neither the console nor the API can show it later. Your
          receiver verifies every delivery with it; if you lose it, delete the endpoint and add a new one.
        </>
      }
      summary={
        <>
          <code>{endpoint.url}</code> · {tenantLabel(endpoint.tenantId)}
        </>
      }
      doneLabel="I have stored the secret"
      secret={endpoint.secret}
      onClose={onClose}
    />
  );
}

export function DeleteWebhookDialog({
  endpoint,
  onClose,
  onDone,
}: {
  endpoint: WebhookEndpoint;
  onClose: () => void;
  onDone: () => void;
}): JSX.Element {
  return (
    <ConfirmDialog
      title="Delete this webhook endpoint?"
      submitLabel="Delete endpoint"
      onClose={onClose}
      onConfirm={async () => {
        await api.deleteWebhook(endpoint.id);
        onDone();
      }}
    >
      {() => (
        <p>
          Nothing more is sent to <code>{endpoint.url}</code>, pending deliveries included, and its signing secret is destroyed. Deleting is
          final; the endpoint's history stays in the audit log.
        </p>
      )}
    </ConfirmDialog>
  );
}
