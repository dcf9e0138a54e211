/**
 * A reconnect link, opened by the connection's owner (the token rides in the address's fragment,
 * so no server log or Referer sees it): who asked, for which connection, and until when; then the
 * owner signs in at the service (OAuth) or enters the credentials again, and the same connection
 * comes back with its data sources. To anyone else the link does not exist; a used, expired or
 * withdrawn link says so.
 */
import { useMemo, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link } from 'wouter';
import { ActionButton } from '../components/connection-actions';
import { CredentialFields, filledCredentials, Form } from '../components/credential-form';
import { EmptyState, LoadError, OutcomeNotice, outcomeOf, Skeleton, StatusBadge, type Outcome } from '../components/ui';
import { RedeemReconnectLinkMutation, ReconnectLinkQuery, type OpenedReconnectLink, type ReconnectLinkState } from '../documents';
import { dateTime, signsInAtService } from '../format';
import { PageHeading } from '../page';

const UNUSABLE: Record<Exclude<ReconnectLinkState, 'PENDING'>, { title: string; body: string }> = {
  USED: { title: 'This reconnect link was already used', body: 'It works once. If the connection needs repairing again, ask for a new link.' },
  EXPIRED: { title: 'This reconnect link has expired', body: 'Ask whoever sent it for a new one.' },
  REVOKED: { title: 'This reconnect link was withdrawn', body: 'Ask whoever sent it for a new one.' },
};

export function ReconnectPage() {
  const token = window.location.hash.slice(1);
  // Sent as a POST: a GET would put the token in a URL that proxies may log.
  const context = useMemo(() => ({ preferGetMethod: false as const }), []);
  const [result, reexecute] = useQuery({ query: ReconnectLinkQuery, variables: { token }, pause: !token, requestPolicy: 'network-only', context });
  const link = result.data?.reconnectLink;
  return (
    <div className="page page-narrow">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link href="/">Connections</Link>
        <span aria-hidden="true">/</span>
        <span>Reconnect</span>
      </nav>
      {result.error && !result.data && <LoadError error={result.error} retry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {token && !result.data && !result.error && <Skeleton rows={3} />}
      {(!token || (result.data && (!link || !link.connection))) && (
        <EmptyState page title="Reconnect link not found" action={<Link href="/" className="button button-secondary">Go to connections</Link>}>
          This link does not exist, or it is not for you: only the connection’s owner can use it, signed in as themselves.
        </EmptyState>
      )}
      {link?.connection && <ReconnectLinkDetails link={link as OpenedReconnectLink & { connection: NonNullable<OpenedReconnectLink['connection']> }} token={token} />}
    </div>
  );
}

function ReconnectLinkDetails({ link, token }: { link: OpenedReconnectLink & { connection: NonNullable<OpenedReconnectLink['connection']> }; token: string }) {
  const { connection } = link;
  const oauth = signsInAtService(connection.integration.authMethod);
  const [, redeem] = useMutation(RedeemReconnectLinkMutation);
  const [credentials, setCredentials] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [done, setDone] = useState(false);
  const connectionPath = `/connections/${encodeURIComponent(connection.id)}`;
  const asker = link.createdBy?.name ?? 'Someone in your account';

  async function submit() {
    setBusy(true);
    setOutcome(null);
    try {
      const returnTo = new URL(connectionPath, window.location.href).toString();
      const input = oauth ? { token, returnTo } : { token, credentials: filledCredentials(credentials) };
      const { value, failure } = outcomeOf<{ __typename: string; result: { authorizationUrl: string | null } }>(await redeem({ input }), 'redeemReconnectLink');
      if (failure) {
        setOutcome(failure);
        return;
      }
      if (value!.result.authorizationUrl) {
        setOutcome({ kind: 'notice', tone: 'info', title: `Taking you to ${connection.integration.name} to sign in…` });
        window.location.assign(value!.result.authorizationUrl);
        return;
      }
      setCredentials({});
      setDone(true);
      setOutcome({ kind: 'notice', tone: 'success', title: 'Reconnected: the connection is active again, with its data sources.' });
    } finally {
      setBusy(false);
    }
  }

  const unusable = link.state === 'PENDING' ? null : UNUSABLE[link.state];
  return (
    <div className="connect">
      <header className="page-header">
        <div>
          <div className="detail-kicker">Reconnect link</div>
          <PageHeading title={`Reconnect ${connection.name ?? connection.integration.name}`} />
        </div>
      </header>
      <section className="panel" data-reconnect-link>
        <p>
          <strong>{asker}</strong> asked you to sign in to <strong>{connection.integration.name}</strong> again for your connection{' '}
          <Link href={connectionPath} className="text-link">
            {connection.name}
          </Link> <StatusBadge status={connection.status} />.
        </p>
        <p className="muted small">
          Asked {dateTime(link.createdAt)}; {link.state === 'PENDING' ? `valid until ${dateTime(link.expiresAt)}` : `expired ${dateTime(link.expiresAt)}`}. The connection keeps
          its id, so its data sources carry on. The link works once.
        </p>
      </section>

      {unusable && !done && (
        <EmptyState title={unusable.title} action={<Link href={connectionPath} className="button button-secondary">Open the connection</Link>}>
          {unusable.body}
        </EmptyState>
      )}

      {!unusable && !done && (
        <Form className="panel stacked-form" onSubmit={submit}>
          {oauth ? (
            <p>You will sign in at {connection.integration.name} with your own login and come back to the connection’s page.</p>
          ) : (
            <>
              <p className="muted small">Enter the current credentials. They are tested at {connection.integration.name} before anything is stored.</p>
              <CredentialFields
                fields={connection.integration.credentialFields}
                values={credentials}
                onChange={setCredentials}
                invalidField={outcome?.kind === 'error' ? outcome.error.field : null}
              />
            </>
          )}
          <div className="actions">
            <ActionButton
              submit
              action="redeem-reconnect-link"
              label={oauth ? `Sign in at ${connection.integration.name}` : 'Test and reconnect'}
              busyLabel={oauth ? 'Opening…' : 'Testing…'}
              tone="primary"
              busy={busy}
              disabled={busy}
            />
          </div>
        </Form>
      )}

      {outcome && <OutcomeNotice outcome={outcome} focus onDismiss={() => setOutcome(null)} />}
      {done && (
        <p>
          <Link href={connectionPath} className="button button-secondary">
            Open the connection
          </Link>
        </p>
      )}
    </div>
  );
}
