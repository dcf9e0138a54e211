/**
 * The dashboard: the session (sign in, sign out, a token revoked mid-session), the header (with
 * the notifications bell), and the routes. Client routes are real paths (`/connections/<id>`):
 * the gateway answers them with index.html.
 */
import { useCallback, useEffect, useState } from 'react';
import { Provider, useQuery } from 'urql';
import { Link, Redirect, Route, Switch } from 'wouter';
import { ViewerQuery } from './documents';
import { createGateway, type Gateway } from './gateway';
import { LiveIndicator, LiveUpdates } from './live';
import { NotificationBell } from './components/notifications';
import { CatalogPage, ConnectPage } from './pages/connect';
import { ConnectionPage } from './pages/connection';
import { ConnectionsPage } from './pages/connections';
import { NotificationsPage } from './pages/notifications';
import { AuditPage } from './pages/audit';
import { OAuthAppPage } from './pages/oauth-app';
import { ReconnectPage } from './pages/reconnect';
import { SettingsPage } from './pages/settings';
import { SignInPage, type SignInFailure } from './pages/sign-in';
import { maskToken, storedSignOutReason, storedToken, storeSignOutReason, storeToken } from './session';
import { EmptyState } from './components/ui';
import { focusPageHeading, resetPageFocus } from './page';

export function App() {
  const [token, setToken] = useState<string | null>(storedToken);
  // A sign-out the gateway caused (a revoked token) is still explained after a reload.
  const [failure, setFailure] = useState<SignInFailure | null>(() => storedSignOutReason(['expired'] as const));
  const [gateway, setGateway] = useState<Gateway | null>(null);

  const signOut = useCallback((why: SignInFailure | null = null) => {
    storeToken(null);
    storeSignOutReason(why);
    setFailure(why);
    setToken(null);
  }, []);

  // One gateway (HTTP client, cache and socket) per signed-in token, closed when it changes.
  useEffect(() => {
    if (!token) {
      setGateway(null);
      return;
    }
    const opened = createGateway(token, () => signOut('expired'));
    setGateway(opened);
    return () => opened.dispose();
  }, [token, signOut]);

  const signIn = useCallback(async (candidate: string) => {
    // A throwaway client asks who the token belongs to; its socket never opens.
    const probe = createGateway(candidate, () => {});
    const result = await probe.client.query(ViewerQuery, {}, { requestPolicy: 'network-only' }).toPromise();
    probe.dispose();
    storeSignOutReason(null);
    if (result.data?.viewer) {
      // The first page of the new session takes the focus.
      resetPageFocus();
      storeToken(candidate);
      setFailure(null);
      setToken(candidate);
      return;
    }
    setFailure(result.error?.response?.status === 401 || result.error?.graphQLErrors.length ? 'rejected' : 'unreachable');
  }, []);

  if (!token) return <SignInPage onSignIn={signIn} failure={failure} />;
  if (!gateway) return null;
  return (
    <Provider value={gateway.client}>
      <LiveUpdates gateway={gateway}>
        <Shell token={token} onSignOut={() => signOut()} />
      </LiveUpdates>
    </Provider>
  );
}

function Shell({ token, onSignOut }: { token: string; onSignOut: () => void }) {
  const [viewer] = useQuery({ query: ViewerQuery });
  const me = viewer.data?.viewer;
  return (
    <div className="shell">
      <a
        href="#main"
        className="skip-link"
        onClick={(event) => {
          event.preventDefault();
          focusPageHeading();
        }}
      >
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link href="/" className="brand">
            <span className="brand-mark" aria-hidden="true" />
            Patchbay
          </Link>
          {me && <span className="account">{me.account.name}</span>}
          <div className="topbar-right">
            <LiveIndicator />
            {me && (me.user.isOwner || me.user.role === 'ADMIN') && (
              <Link href="/audit" className="button button-ghost button-small">
                Audit trail
              </Link>
            )}
            <NotificationBell />
            <Link href="/settings/integrations" className="button button-ghost button-small settings-link">
              Settings
            </Link>
            {me && (
              <span className="whoami" title={me.user.email}>
                {me.user.name}
                <span className="muted small"> · {me.user.isOwner ? 'Owner' : me.user.role.charAt(0) + me.user.role.slice(1).toLowerCase()}</span>
              </span>
            )}
            <span className="token" title="The API token this browser uses">
              {maskToken(token)}
            </span>
            <button type="button" className="button button-ghost button-small" onClick={onSignOut}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main className="content" id="main" tabIndex={-1}>
        <Switch>
          <Route path="/">{() => <ConnectionsPage />}</Route>
          <Route path="/connect">{() => <CatalogPage />}</Route>
          <Route path="/connect/:key">{(params) => <ConnectPage integrationKey={decodeURIComponent(params.key)} />}</Route>
          <Route path="/connections/:id">{(params) => <ConnectionPage id={decodeURIComponent(params.id)} />}</Route>
          <Route path="/notifications">{() => <NotificationsPage />}</Route>
          <Route path="/settings">{() => <Redirect to="/settings/integrations" replace />}</Route>
          <Route path="/settings/integrations/:key">{(params) => <OAuthAppPage integrationKey={decodeURIComponent(params.key)} />}</Route>
          <Route path="/settings/:tab">{(params) => <SettingsPage tab={decodeURIComponent(params.tab)} />}</Route>
          <Route path="/reconnect">{() => <ReconnectPage />}</Route>
          <Route path="/audit">{() => <AuditPage />}</Route>
          <Route>
            <EmptyState page title="Page not found" action={<Link href="/" className="button button-secondary">Go to connections</Link>}>
              There is nothing at this address.
            </EmptyState>
          </Route>
        </Switch>
      </main>
    </div>
  );
}
