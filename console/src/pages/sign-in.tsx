import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Alert, describedBy, Field } from '../components';
import { session, signIn } from '../session';
import { useStore } from '../store';

/**
 * The key is checked against /console/api/session before it is kept anywhere; it is then held in
 * sessionStorage for this tab only (never localStorage, a cookie or a URL).
 */
export function SignInPage(): JSX.Element {
  const { notice } = useStore(session);
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const value = key.trim();
    if (value === '') {
      setError('Paste an API key with the admin, keys:manage or webhooks:manage scope');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const me = await api.session(value);
      setKey('');
      signIn(value, me);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      setError(
        e.status === 401 ? `That key was not accepted: ${e.message}` : e.status === 403 ? e.message : `Could not sign in: ${e.message}`,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <div class="sign-in-card">
        <p class="brand">
          <span class="brand-mark" aria-hidden="true" />
          keyledger
        </p>
        <h1 id="page-title" tabIndex={-1}>
          Sign in to the console
        </h1>
        {notice && <Alert kind="warning">{notice}</Alert>}
        <form onSubmit={(e) => void submit(e)} noValidate>
          <Field
            id="sign-in-key"
            label="API key"
            hint="An admin, keys:manage or webhooks:manage key. It stays in this browser tab only and is forgotten when you sign out or close the tab."
            error={error}
          >
            <input
              {...describedBy('sign-in-key', error, true)}
              type="password"
              value={key}
              onInput={(e) => setKey(e.currentTarget.value)}
              autoComplete="off"
              spellcheck={false}
              autoFocus
            />
          </Field>
          <button type="submit" class="button-primary button-block" disabled={busy} aria-busy={busy}>
            {busy ? 'Checking the key…' : 'Sign in'}
          </button>
        </form>
        <p class="muted small">
          First run? The bootstrap admin key is in <code>DATA_DIR/bootstrap-admin.key</code> (<code>./.data</code> by default).
        </p>
      </div>
    </main>
  );
}
