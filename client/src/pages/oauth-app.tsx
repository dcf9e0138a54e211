/**
 * An integration's OAuth app for the account (admins): the client id, the client secret (written,
 * never shown again: once set, leaving the field empty keeps it), the exact callback URL to register
 * at the service, and the scopes Patchbay asks for (editable, starting from the integration's
 * defaults, with a way back to them). Saved with configureIntegration.
 * `?next=<in-app path>` brings the admin back where they came from (e.g. a connection whose
 * reauthentication was waiting for the app); only same-origin paths are followed. Someone who may
 * not configure it is told which admins can.
 */
import { useId, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link, useLocation, useSearch } from 'wouter';
import { AdminsWhoCan, CopyField } from '../components/connection-actions';
import { Form } from '../components/credential-form';
import { EmptyState, LoadError, MutationErrorNotice, Notice, Pill, Skeleton } from '../components/ui';
import { ConfigureIntegrationMutation, OAuthAppQuery, ViewerQuery, type MutationError, type OAuthAppIntegration } from '../documents';
import { AUTH_METHOD_LABELS, signsInAtService, words } from '../format';
import { PageHeading } from '../page';

/** `next` when it is a path inside this dashboard ("/…", not "//host" or "/\\host"), else null. */
export function safeNextPath(next: string | null): string | null {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return null;
  try {
    const url = new URL(next, window.location.origin);
    return url.origin === window.location.origin ? url.pathname + url.search + url.hash : null;
  } catch {
    return null;
  }
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((item, index) => item === b[index]);

/** `next` without the request to continue a reauthentication (going back without an app must not loop here). */
function withoutResume(next: string): string {
  const url = new URL(next, window.location.origin);
  url.searchParams.delete('reauthenticate');
  return url.pathname + url.search + url.hash;
}

export function OAuthAppPage({ integrationKey }: { integrationKey: string }) {
  const [result, reexecute] = useQuery({ query: OAuthAppQuery, variables: { key: integrationKey } });
  const [viewer] = useQuery({ query: ViewerQuery });
  const me = viewer.data?.viewer.user;
  const integration = result.data?.integration;
  const next = safeNextPath(new URLSearchParams(useSearch()).get('next'));
  return (
    <div className="page page-narrow">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link href="/">Connections</Link>
        <span aria-hidden="true">/</span>
        <span>Settings</span>
        <span aria-hidden="true">/</span>
        <span>{integration?.name ?? integrationKey}</span>
      </nav>
      {result.error && !result.data && <LoadError error={result.error} retry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {(!result.data || !me) && !result.error && <Skeleton rows={4} />}
      {result.data && !integration && (
        <EmptyState page title="No such integration" action={<Link href="/" className="button button-secondary">Go to connections</Link>}>
          “{integrationKey}” is not in your account’s catalog.
        </EmptyState>
      )}
      {integration && me && !signsInAtService(integration.authMethod) && (
        <EmptyState page title={`${integration.name} has no OAuth app`}>
          It connects with {AUTH_METHOD_LABELS[integration.authMethod].toLowerCase()}: each connection carries its own credentials.
        </EmptyState>
      )}
      {integration && me && signsInAtService(integration.authMethod) && (
        <OAuthAppForm integration={integration} mayConfigure={me.isOwner || me.role === 'ADMIN'} next={next} />
      )}
    </div>
  );
}

function OAuthAppForm({ integration, mayConfigure, next }: { integration: OAuthAppIntegration; mayConfigure: boolean; next: string | null }) {
  const [, navigate] = useLocation();
  const [, configure] = useMutation(ConfigureIntegrationMutation);
  const configured = Boolean(integration.oauthClientId);
  // Only the account's own app has a stored secret to keep (the operator's default app does not count).
  const ownApp = integration.oauthAppConfigured;
  const [clientId, setClientId] = useState(integration.oauthClientId ?? '');
  const [clientSecret, setClientSecret] = useState('');
  const [scopesText, setScopesText] = useState(integration.scopes.join(' '));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<MutationError | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const ids = useId();
  const oauth1 = integration.authMethod === 'OAUTH1';
  const idLabel = oauth1 ? 'Consumer key' : 'Client id';
  const secretLabel = oauth1 ? 'Consumer secret' : 'Client secret';
  const scopes = words(scopesText);
  const defaultScopes = integration.defaultScopes;
  const atDefaults = sameList(scopes, defaultScopes);

  async function submit() {
    setBusy(true);
    setError(null);
    setFailure(null);
    try {
      const outcome = await configure({
        input: {
          integration: integration.key,
          clientId: clientId.trim(),
          // Left out, the gateway keeps the app's stored secret.
          ...(clientSecret ? { clientSecret } : {}),
          // The defaults are sent as null, so the app follows them if the integration's defaults change.
          scopes: oauth1 || atDefaults ? null : scopes,
        },
      });
      const value = outcome.data?.configureIntegration;
      if (outcome.error || !value) {
        setFailure(outcome.error?.graphQLErrors[0]?.message ?? outcome.error?.message ?? 'The gateway sent no answer');
        return;
      }
      if ('code' in value) {
        setError(value);
        return;
      }
      setClientSecret('');
      setScopesText(value.integration.scopes.join(' '));
      if (next) {
        navigate(next);
        return;
      }
      setSaved(true);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="connect">
      <header className="page-header">
        <div>
          <div className="detail-kicker">{AUTH_METHOD_LABELS[integration.authMethod]} app</div>
          <PageHeading title={`${integration.name} OAuth app`} />
          <p className="muted">
            Everyone in your account signs in to {integration.name} through this app.{' '}
            {configured ? <Pill tone="good">Set up</Pill> : <Pill tone="warn">Not set up</Pill>}
          </p>
        </div>
      </header>

      {next && mayConfigure && (
        <Notice tone="info" title="Set up the app, then you go back">
          <p>Once it is saved you return to where you were, and the sign-in continues.</p>
        </Notice>
      )}

      <section className="panel" aria-labelledby={`${ids}-register`}>
        <h2 id={`${ids}-register`}>At {integration.name}</h2>
        <p className="muted small">
          Create an app in {integration.name}’s developer console (
          <a className="text-link" href={integration.docsUrl} target="_blank" rel="noreferrer">
            its docs ↗
          </a>
          ) and register this callback URL exactly:
        </p>
        {integration.callbackUrl ? (
          <CopyField label="Callback URL" value={integration.callbackUrl} />
        ) : (
          <p className="muted small">The gateway sends its callback URL with each sign-in; no redirect URI needs registering.</p>
        )}
        {!mayConfigure && (
          <div className="field">
            <span className="label">Scopes Patchbay asks for</span>
            {integration.scopes.length > 0 ? (
              <ul className="scope-list" data-scopes>
                {integration.scopes.map((scope) => (
                  <li key={scope}>
                    <code>{scope}</code>
                  </li>
                ))}
              </ul>
            ) : (
              <p className="muted small">None beyond what the app itself grants.</p>
            )}
          </div>
        )}
      </section>

      {!mayConfigure && (
        <Notice tone="info" title={configured ? 'The app is set up' : `${integration.name} is not set up yet`}>
          <AdminsWhoCan what={`${configured ? 'change' : 'set up'} ${integration.name}’s OAuth app`} />
        </Notice>
      )}

      {mayConfigure && (
        <Form className="panel stacked-form" onSubmit={submit}>
          <h2>Your app’s credentials</h2>
          <div className="field">
            <label htmlFor={`${ids}-client-id`}>{idLabel}</label>
            <input id={`${ids}-client-id`} value={clientId} required maxLength={512} autoComplete="off" spellCheck={false} onChange={(event) => setClientId(event.target.value)} />
          </div>
          <div className="field">
            <label htmlFor={`${ids}-client-secret`}>{secretLabel}</label>
            <input
              id={`${ids}-client-secret`}
              type="password"
              value={clientSecret}
              required={!ownApp}
              maxLength={2048}
              autoComplete="new-password"
              placeholder={ownApp ? 'Set — leave empty to keep it' : undefined}
              aria-describedby={`${ids}-client-secret-hint`}
              onChange={(event) => setClientSecret(event.target.value)}
            />
            <p className="hint" id={`${ids}-client-secret-hint`} data-secret-state={ownApp ? 'set' : 'unset'}>
              {ownApp
                ? 'Set — leave empty to keep it. Stored encrypted; it is never shown again, here or in the API.'
                : 'Stored encrypted; it is never shown again, here or in the API.'}
            </p>
          </div>
          {!oauth1 && (
            <div className="field scopes-field">
              <label htmlFor={`${ids}-scopes`}>Scopes Patchbay asks for</label>
              <div className="input-with-button">
                <input
                  id={`${ids}-scopes`}
                  value={scopesText}
                  autoComplete="off"
                  spellCheck={false}
                  aria-describedby={`${ids}-scopes-hint`}
                  onChange={(event) => setScopesText(event.target.value)}
                />
                <button
                  type="button"
                  className="button button-small button-secondary"
                  data-action="reset-scopes"
                  disabled={atDefaults}
                  onClick={() => setScopesText(defaultScopes.join(' '))}
                >
                  Reset to defaults
                </button>
              </div>
              <p className="hint" id={`${ids}-scopes-hint`}>
                Separated by spaces or commas; every sign-in from now on asks for these.{' '}
                {defaultScopes.length > 0 ? <>{integration.name}’s defaults: <code>{defaultScopes.join(' ')}</code>.</> : 'This integration has no default scopes.'}{' '}
                {atDefaults ? <Pill tone="neutral">Defaults</Pill> : <Pill tone="accent">Custom</Pill>}
              </p>
            </div>
          )}
          {error && <MutationErrorNotice error={error} onDismiss={() => setError(null)} focus />}
          {failure && <Notice tone="error" title="The request failed" focus><p>{failure}</p></Notice>}
          {saved && (
            <Notice tone="success" title="Saved: everyone in your account can sign in to it now." focus onDismiss={() => setSaved(false)} />
          )}
          <div className="actions">
            <button type="submit" className="button button-primary" disabled={busy || !clientId.trim() || (!ownApp && !clientSecret)}>
              {busy ? 'Saving…' : next ? 'Save and go back' : 'Save'}
            </button>
            {next && (
              <Link href={withoutResume(next)} className="button button-ghost">
                Back without saving
              </Link>
            )}
          </div>
        </Form>
      )}
    </div>
  );
}
