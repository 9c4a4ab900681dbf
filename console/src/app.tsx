import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from './api';
import { Loading } from './components';
import { AuditPage } from './pages/audit';
import { KeyDetailPage } from './pages/key-detail';
import { KeysPage } from './pages/keys';
import { PolicyPage } from './pages/policy';
import { ReportsPage } from './pages/reports';
import { SignInPage } from './pages/sign-in';
import { WebhookDetailPage } from './pages/webhook-detail';
import { WebhooksPage } from './pages/webhooks';
import { Link, matchPath, navigate, usePath } from './router';
import { session, signIn, signOut } from './session';
import { useStore } from './store';

function titleFor(path: string): string {
  if (path.startsWith('/audit')) return 'Audit log';
  if (path.startsWith('/policy')) return 'Key policy';
  if (path.startsWith('/reports')) return 'Key report';
  if (path.startsWith('/webhooks')) return 'Webhooks';
  if (matchPath('/keys/:id', path)) return 'Key';
  if (path.startsWith('/sign-in')) return 'Sign in';
  return 'API keys';
}

function NotFound(): JSX.Element {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        Page not found
      </h1>
      <p>
        <Link to="/keys">Go to the API keys</Link>
      </p>
    </section>
  );
}

export function App(): JSX.Element {
  const { key, me } = useStore(session);
  const path = usePath();
  const [checking, setChecking] = useState(key !== null && me === null);

  // A key kept in this tab from before a reload: check it is still valid before showing anything.
  useEffect(() => {
    if (key === null || me !== null) return;
    setChecking(true);
    api
      .session(key)
      .then((found) => signIn(key, found))
      .catch((error: unknown) =>
        signOut(error instanceof ApiError && error.status !== 0 ? `Please sign in again: ${error.message}` : 'Please sign in again.'),
      )
      .finally(() => setChecking(false));
  }, []);

  const signedIn = key !== null && me !== null;
  useEffect(() => {
    if (checking) return;
    if (!signedIn && path !== '/sign-in') navigate('/sign-in', { replace: true });
    else if (signedIn && (path === '/' || path === '/sign-in')) {
      navigate(me.canManageKeys ? '/keys' : me.canReadAudit ? '/audit' : '/webhooks', { replace: true });
    }
  }, [signedIn, path, checking]);

  // Move focus to the new page's heading, so keyboard and screen reader users start there.
  useEffect(() => {
    document.title = `${titleFor(path)} · keyledger console`;
    const heading = document.getElementById('page-title');
    if (heading && document.activeElement?.tagName !== 'INPUT') heading.focus({ preventScroll: false });
  }, [path, signedIn]);

  if (checking) {
    return (
      <main id="main" class="sign-in">
        <Loading label="Checking your session…" />
      </main>
    );
  }
  if (!signedIn) return <SignInPage />;

  const detail = matchPath('/keys/:id', path);
  const webhook = matchPath('/webhooks/:id', path);
  let page: JSX.Element;
  if (detail && me.canManageKeys) page = <KeyDetailPage id={detail.id} />;
  else if (path === '/keys' && me.canManageKeys) page = <KeysPage />;
  else if (path === '/policy' && me.canManageKeys) page = <PolicyPage />;
  else if (path === '/reports' && me.canManageKeys) page = <ReportsPage />;
  else if (path === '/audit') page = <AuditPage />;
  else if (webhook && me.canManageWebhooks) page = <WebhookDetailPage id={webhook.id} />;
  else if (path === '/webhooks' && me.canManageWebhooks) page = <WebhooksPage />;
  else if (path === '/' || path === '/sign-in') page = <Loading label="Loading…" />;
  else page = <NotFound />;

  const current = (prefix: string): 'page' | undefined => (path === prefix || path.startsWith(`${prefix}/`) ? 'page' : undefined);
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <p class="brand">
          <span class="brand-mark" aria-hidden="true" />
          keyledger
        </p>
        <nav aria-label="Console">
          <ul>
            {me.canManageKeys && (
              <li>
                <Link to="/keys" aria-current={current('/keys')}>
                  Keys
                </Link>
              </li>
            )}
            {me.canManageKeys && (
              <li>
                <Link to="/policy" aria-current={current('/policy')}>
                  Policy
                </Link>
              </li>
            )}
            {me.canManageKeys && (
              <li>
                <Link to="/reports" aria-current={current('/reports')}>
                  Report
                </Link>
              </li>
            )}
            {me.canReadAudit && (
              <li>
                <Link to="/audit" aria-current={current('/audit')}>
                  Audit
                </Link>
              </li>
            )}
            {me.canManageWebhooks && (
              <li>
                <Link to="/webhooks" aria-current={current('/webhooks')}>
                  Webhooks
                </Link>
              </li>
            )}
          </ul>
        </nav>
        <div class="whoami">
          <span class="whoami-text">
            {me.name ?? 'API key'} <code>{me.publicId}</code> · {me.admin ? 'all tenants' : `tenant ${me.tenantId}`}
          </span>
          <button
            type="button"
            class="button-secondary button-small"
            onClick={() => signOut('You have signed out. The key was forgotten.')}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
