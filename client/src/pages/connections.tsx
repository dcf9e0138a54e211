/**
 * The connections list: grouped by integration, broken connections first (in the groups and
 * among them), each with its live status, its problem when broken, and the actions the viewer may
 * take. Also where an OAuth sign-in comes back to (`?connection=&status=&error=`).
 */
import { useEffect, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { Link, useSearch } from 'wouter';
import { ConnectionActions } from '../components/connection-actions';
import { EmptyState, LoadError, Notice, Pill, ProblemPanel, Skeleton, StatusBadge, TimeAgo } from '../components/ui';
import { ConnectionsQuery, type ConnectionStatus, type ConnectionSummary } from '../documents';
import { AUTH_METHOD_LABELS, plural, STATUS_LABELS, STATUS_ORDER } from '../format';
import { useReconnected } from '../live';

interface IntegrationGroup {
  key: string;
  name: string;
  authMethod: ConnectionSummary['integration']['authMethod'];
  connections: ConnectionSummary[];
  broken: number;
}

function byStatusThenName(a: ConnectionSummary, b: ConnectionSummary) {
  return STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || (a.name ?? '\uffff').localeCompare(b.name ?? '\uffff');
}

/** Groups by integration; groups with broken connections come first, then by name. */
export function groupByIntegration(connections: ConnectionSummary[]): IntegrationGroup[] {
  const groups = new Map<string, IntegrationGroup>();
  for (const connection of connections) {
    const { key, name, authMethod } = connection.integration;
    const group = groups.get(key) ?? { key, name, authMethod, connections: [], broken: 0 };
    group.connections.push(connection);
    if (connection.status === 'DISCONNECTED') group.broken += 1;
    groups.set(key, group);
  }
  const sorted = [...groups.values()];
  for (const group of sorted) group.connections.sort(byStatusThenName);
  return sorted.sort((a, b) => Number(b.broken > 0) - Number(a.broken > 0) || a.name.localeCompare(b.name));
}

/** The outcome an OAuth sign-in came back with, shown once, then removed from the address. */
function useReturnedSignIn() {
  const search = useSearch();
  const [returned] = useState(() => {
    const params = new URLSearchParams(search);
    const connection = params.get('connection');
    return connection ? { connection, status: params.get('status') as ConnectionStatus | null, error: params.get('error') } : null;
  });
  useEffect(() => {
    if (returned) window.history.replaceState(window.history.state, '', window.location.pathname);
  }, [returned]);
  return returned;
}

export function ConnectionsPage() {
  const [after, setAfter] = useState<string | null>(null);
  const [result, reexecute] = useQuery({ query: ConnectionsQuery, variables: { after } });
  const returned = useReturnedSignIn();
  const [dismissed, setDismissed] = useState(false);
  const connections = result.data?.connections;
  // Missed status changes are caught up connection by connection; the whole list is read again
  // only when that could not be done, or when a connection changed that the list does not hold
  // (created while the socket was down). The cache drops the list then, but graphcache does not
  // fetch a query that another query's result dropped, so the list asks for itself.
  useReconnected((outcome) => {
    const held = new Set(connections?.nodes.map((connection) => connection.id));
    if (outcome.kind === 'refetch' || outcome.changed.some((id) => !held.has(id))) reexecute({ requestPolicy: 'network-only' });
  });
  const groups = useMemo(() => groupByIntegration(connections?.nodes ?? []), [connections]);
  const counts = useMemo(() => {
    const tally: Record<ConnectionStatus, number> = { DISCONNECTED: 0, PENDING: 0, ACTIVE: 0, REVOKED: 0 };
    for (const connection of connections?.nodes ?? []) tally[connection.status] += 1;
    return tally;
  }, [connections]);
  const returnedConnection = returned && connections?.nodes.find((connection) => connection.id === returned.connection);

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1>Connections</h1>
          <p className="muted">
            {connections ? `${plural(connections.totalCount, 'connection')} across ${plural(groups.length, 'integration')}` : 'Authorizations to the services your data comes from.'}
          </p>
        </div>
        <Link href="/connect" className="button button-primary">
          New connection
        </Link>
      </header>

      {returned && !dismissed && (
        <div className="returned" data-testid="returned">
          {returned.error ? (
            <Notice tone="error" title="The connection was not completed" onDismiss={() => setDismissed(true)}>
              <p>{returned.error}</p>
            </Notice>
          ) : (
            <Notice
              tone={returned.status === 'ACTIVE' ? 'success' : 'warn'}
              title={
                returned.status === 'ACTIVE'
                  ? `${returnedConnection?.name ? `“${returnedConnection.name}”` : 'The connection'} is connected and active.`
                  : `The sign-in finished, but the connection is ${STATUS_LABELS[returned.status ?? 'PENDING'].toLowerCase()}.`
              }
              onDismiss={() => setDismissed(true)}
            >
              <p>
                <Link href={`/connections/${encodeURIComponent(returned.connection)}`}>Open the connection</Link>
              </p>
            </Notice>
          )}
        </div>
      )}

      {connections && connections.totalCount > 0 && (
        <div className="summary" aria-label="By status">
          {(Object.keys(counts) as ConnectionStatus[]).map((status) => (
            <div key={status} className={`summary-item summary-${status.toLowerCase()}`}>
              <span className="summary-count">{counts[status]}</span>
              <span className="summary-label">{STATUS_LABELS[status]}</span>
            </div>
          ))}
        </div>
      )}

      {result.error && !connections && <LoadError error={result.error} retry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {!connections && !result.error && <Skeleton rows={4} />}
      {connections && connections.totalCount === 0 && (
        <EmptyState
          title="No connections yet"
          action={
            <Link href="/connect" className="button button-primary">
              Connect a service
            </Link>
          }
        >
          Connect Google Analytics, Salesforce, a database or any of the catalog’s services to start reading data.
        </EmptyState>
      )}

      {groups.map((group) => (
        <section key={group.key} className="group" aria-label={group.name} data-integration={group.key}>
          <header className="group-header">
            <h2>{group.name}</h2>
            <Pill>{AUTH_METHOD_LABELS[group.authMethod]}</Pill>
            <span className="muted small">{plural(group.connections.length, 'connection')}</span>
            {group.broken > 0 && <Pill tone="bad">{group.broken} broken</Pill>}
          </header>
          <ul className="cards">
            {group.connections.map((connection) => (
              <ConnectionCard key={connection.id} connection={connection} />
            ))}
          </ul>
        </section>
      ))}

      {connections?.pageInfo.hasNextPage && (
        <div className="load-more">
          <button type="button" className="button button-secondary" disabled={result.fetching} onClick={() => setAfter(connections.pageInfo.endCursor)}>
            {result.fetching ? 'Loading…' : 'Show more connections'}
          </button>
        </div>
      )}
    </div>
  );
}

function ConnectionCard({ connection }: { connection: ConnectionSummary }) {
  const hidden = connection.name === null;
  return (
    <li className={`card card-${connection.status.toLowerCase()}`} data-connection={connection.id} data-status={connection.status}>
      <div className="card-main">
        <div className="card-title">
          {hidden ? (
            <span className="muted italic">Private connection</span>
          ) : (
            <Link href={`/connections/${encodeURIComponent(connection.id)}`} className="card-name">
              {connection.name}
            </Link>
          )}
          <StatusBadge status={connection.status} />
        </div>
        <div className="card-meta">
          <span>{connection.owner.name}</span>
          <span aria-hidden="true">·</span>
          <span>{connection.shared ? 'Shared with the account' : 'Private'}</span>
          {connection.resourceName && (
            <>
              <span aria-hidden="true">·</span>
              <span>{connection.resourceName}</span>
            </>
          )}
          <span aria-hidden="true">·</span>
          <span>{connection.lastCheckedAt ? <>Checked <TimeAgo iso={connection.lastCheckedAt} /></> : 'Never checked'}</span>
        </div>
        {hidden && <p className="muted small">Private to {connection.owner.name}: you can see that it exists, not what it holds.</p>}
      </div>
      {connection.problem && <ProblemPanel problem={connection.problem} />}
      <ConnectionActions connection={connection} />
    </li>
  );
}
