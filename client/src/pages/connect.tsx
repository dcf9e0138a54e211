/**
 * Adding a connection: search the catalog, pick a service, then either sign in at the service
 * (OAuth 2.0 / 1.0a: startConnection returns the authorization URL and the callback brings the
 * user back to the list) or fill in the credentials the integration asks for, which the gateway
 * tests before storing anything.
 */
import { useDeferredValue, useId, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link, useLocation } from 'wouter';
import { AdminsWhoCan, oauthAppPath, returnUrl } from '../components/connection-actions';
import { CredentialFields, filledCredentials, Form } from '../components/credential-form';
import { EmptyState, LoadError, MutationErrorNotice, Notice, Pill, Skeleton } from '../components/ui';
import { IntegrationQuery, IntegrationsQuery, StartConnectionMutation, ViewerQuery, type IntegrationDetail, type MutationError } from '../documents';
import { AUTH_METHOD_LABELS, plural, signsInAtService } from '../format';
import { PageHeading } from '../page';

export function CatalogPage() {
  const [search, setSearch] = useState('');
  // Typing stays responsive; the query follows the deferred text.
  const deferred = useDeferredValue(search.trim());
  const [result, reexecute] = useQuery({ query: IntegrationsQuery, variables: { search: deferred || null } });
  const integrations = result.data?.integrations;
  const searchId = useId();

  return (
    <div className="page">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link href="/">Connections</Link>
        <span aria-hidden="true">/</span>
        <span>New connection</span>
      </nav>
      <header className="page-header">
        <div>
          <PageHeading title="Connect a service" />
          <p className="muted">
            Pick the service your data lives in.{' '}
            {integrations && `${plural(integrations.totalCount, 'integration')} ${deferred ? (integrations.totalCount === 1 ? 'matches' : 'match') : 'available'}.`}
          </p>
        </div>
      </header>
      <div className="search">
        <label htmlFor={searchId} className="sr-only">
          Search the catalog
        </label>
        <input id={searchId} type="search" placeholder="Search by name or description…" value={search} onChange={(event) => setSearch(event.target.value)} />
      </div>
      {result.error && !integrations && <LoadError error={result.error} retry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {!integrations && !result.error && <Skeleton rows={3} />}
      {integrations && integrations.nodes.length === 0 && <EmptyState title={`Nothing matches “${deferred}”`}>Try another word, or ask an admin to register a custom integration.</EmptyState>}
      {integrations && integrations.nodes.length > 0 && (
        <ul className="catalog">
          {integrations.nodes.map((integration) => (
            <li key={integration.key}>
              <Link href={`/connect/${encodeURIComponent(integration.key)}`} className="catalog-item" data-integration={integration.key}>
                <span className="catalog-name">
                  {integration.name}
                  {integration.isCustom && <Pill tone="accent">Custom</Pill>}
                </span>
                <span className="catalog-description">{integration.description}</span>
                <span className="catalog-method">{AUTH_METHOD_LABELS[integration.authMethod]}</span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function ConnectPage({ integrationKey }: { integrationKey: string }) {
  const [result, reexecute] = useQuery({ query: IntegrationQuery, variables: { key: integrationKey } });
  const integration = result.data?.integration;
  return (
    <div className="page page-narrow">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link href="/">Connections</Link>
        <span aria-hidden="true">/</span>
        <Link href="/connect">New connection</Link>
        <span aria-hidden="true">/</span>
        <span>{integration?.name ?? integrationKey}</span>
      </nav>
      {result.error && !result.data && <LoadError error={result.error} retry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {!result.data && !result.error && <Skeleton rows={3} />}
      {result.data && !integration && (
        <EmptyState page title="No such integration" action={<Link href="/connect" className="button button-secondary">Back to the catalog</Link>}>
          “{integrationKey}” is not in your account’s catalog.
        </EmptyState>
      )}
      {integration && <ConnectForm integration={integration} />}
    </div>
  );
}

function ConnectForm({ integration }: { integration: IntegrationDetail }) {
  const [, navigate] = useLocation();
  const [, start] = useMutation(StartConnectionMutation);
  const [name, setName] = useState(`${integration.name} connection`);
  const [shared, setShared] = useState(false);
  const [resourceId, setResourceId] = useState('');
  const [credentials, setCredentials] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<MutationError | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [redirecting, setRedirecting] = useState(false);
  const oauth = signsInAtService(integration.authMethod);
  const needsApp = oauth && !integration.oauthClientId;
  const [viewer] = useQuery({ query: ViewerQuery });
  const isAdmin = Boolean(viewer.data?.viewer.user.isOwner || viewer.data?.viewer.user.role === 'ADMIN');
  const ids = useId();

  async function submit() {
    setBusy(true);
    setError(null);
    setFailure(null);
    try {
      const outcome = await start({
        input: {
          integration: integration.key,
          name: name.trim(),
          shared,
          ...(resourceId.trim() ? { resourceId: resourceId.trim() } : {}),
          ...(oauth ? { returnTo: returnUrl() } : { credentials: filledCredentials(credentials) }),
        },
      });
      const value = outcome.data?.startConnection;
      if (outcome.error || !value) {
        setFailure(outcome.error?.graphQLErrors[0]?.message ?? outcome.error?.message ?? 'The gateway sent no answer');
        return;
      }
      if ('code' in value) {
        setError(value);
        return;
      }
      const { authorizationUrl, connection } = value.result;
      if (authorizationUrl) {
        setRedirecting(true);
        window.location.assign(authorizationUrl);
        return;
      }
      navigate(`/connections/${encodeURIComponent(connection.id)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="connect">
      <header className="page-header">
        <div>
          <div className="detail-kicker">{AUTH_METHOD_LABELS[integration.authMethod]}</div>
          <PageHeading title={`Connect ${integration.name}`} />
          <p className="muted">{integration.description}</p>
        </div>
      </header>

      {(integration.requirements.length > 0 || integration.tokenLifetime.note) && (
        <div className="panel requirements">
          <h2>Before you start</h2>
          <ul>
            {integration.requirements.map((requirement) => (
              <li key={requirement}>{requirement}</li>
            ))}
            {integration.tokenLifetime.note && <li>{integration.tokenLifetime.note}</li>}
          </ul>
          <a href={integration.docsUrl} target="_blank" rel="noreferrer" className="small">
            {integration.name}’s authentication docs ↗
          </a>
        </div>
      )}

      {needsApp && (
        <Notice tone="warn" title="An admin must configure this integration first">
          <p>Connecting to {integration.name} needs your account’s OAuth app (client id and secret). An admin sets it once for everyone.</p>
          {isAdmin ? (
            <p>
              <Link href={oauthAppPath(integration.key, `/connect/${encodeURIComponent(integration.key)}`)} className="button button-small button-primary" data-action="configure-app">
                Set up {integration.name}’s OAuth app
              </Link>
            </p>
          ) : (
            <AdminsWhoCan what={`set up ${integration.name}’s OAuth app`} />
          )}
        </Notice>
      )}

      <Form className="panel stacked-form" onSubmit={submit}>
        <div className="field">
          <label htmlFor={`${ids}-name`}>Connection name</label>
          <input id={`${ids}-name`} value={name} required maxLength={120} onChange={(event) => setName(event.target.value)} />
          <p className="hint">How it appears in lists, e.g. “Pam’s QBO Company A”.</p>
        </div>
        {integration.resourceKind && (
          <div className="field">
            <label htmlFor={`${ids}-resource`}>
              {integration.resourceKind.charAt(0).toUpperCase() + integration.resourceKind.slice(1)} <span className="muted">(optional)</span>
            </label>
            <input id={`${ids}-resource`} value={resourceId} onChange={(event) => setResourceId(event.target.value)} />
          </div>
        )}
        {!oauth && (
          <CredentialFields fields={integration.credentialFields} values={credentials} onChange={setCredentials} invalidField={error?.field} />
        )}
        <label className="checkbox">
          <input type="checkbox" checked={shared} onChange={(event) => setShared(event.target.checked)} />
          Share with everyone in the account
        </label>

        {error && <MutationErrorNotice error={error} onDismiss={() => setError(null)} />}
        {failure && <Notice tone="error" title="The request failed"><p>{failure}</p></Notice>}

        <div className="actions">
          <button type="submit" className="button button-primary" disabled={busy || redirecting || needsApp || !name.trim()}>
            {redirecting ? `Opening ${integration.name}…` : busy ? (oauth ? 'Starting…' : 'Testing the credentials…') : oauth ? `Continue to ${integration.name}` : 'Test and connect'}
          </button>
          <Link href="/connect" className="button button-ghost">
            Cancel
          </Link>
        </div>
        <p className="hint">
          {oauth
            ? `You will sign in at ${integration.name} and come back here.`
            : 'The credentials are tested at the service first; nothing is stored if it refuses them. Secrets are encrypted and never shown again.'}
        </p>
      </Form>
    </div>
  );
}
