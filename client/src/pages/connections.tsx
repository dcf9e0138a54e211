/**
 * The connections list: searched and narrowed (status, integration, owner, sharing) and ordered,
 * all kept in the address so a reload or a shared link shows the same list. Ordered "broken
 * first", it groups by integration, broken connections first (in the groups and among them);
 * other orders are one list in the gateway's order. Each card has its live status (a change made
 * elsewhere is highlighted for a moment and announced), its problem when broken, and the actions
 * the viewer may take. Also where an OAuth sign-in comes back to (`?connection=&status=&error=`).
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useQuery } from 'urql';
import { Link, useSearch } from 'wouter';
import { useAddressParams } from '../address-params';
import { ConnectionActions } from '../components/connection-actions';
import { EmptyState, LoadError, Notice, Pill, ProblemPanel, Skeleton, StatusBadge, TimeAgo } from '../components/ui';
import {
  ConnectionCountsQuery,
  ConnectionsQuery,
  IntegrationsQuery,
  PeopleQuery,
  ViewerQuery,
  type ConnectionFilter,
  type ConnectionOrder,
  type ConnectionStatus,
  type ConnectionSummary,
} from '../documents';
import { AUTH_METHOD_LABELS, plural, STATUS_LABELS, STATUS_ORDER } from '../format';
import { useReconnected } from '../live';
import { focusPageHeading, PageHeading } from '../page';

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

/** The orders the list offers, by their name in the address. */
const SORTS: Record<string, { label: string; orderBy: ConnectionOrder; grouped: boolean }> = {
  status: { label: 'Broken first, by integration', orderBy: 'NAME_ASC', grouped: true },
  name: { label: 'Name, A to Z', orderBy: 'NAME_ASC', grouped: false },
  newest: { label: 'Newest first', orderBy: 'CREATED_AT_DESC', grouped: false },
  oldest: { label: 'Oldest first', orderBy: 'CREATED_AT_ASC', grouped: false },
  changed: { label: 'Recently changed', orderBy: 'UPDATED_AT_DESC', grouped: false },
};

/** The statuses by their name in the address, in the tiles' order. */
const STATUS_PARAMS: Record<string, ConnectionStatus> = { broken: 'DISCONNECTED', pending: 'PENDING', active: 'ACTIVE', revoked: 'REVOKED' };
const STATUS_PARAM_OF = Object.fromEntries(Object.entries(STATUS_PARAMS).map(([param, status]) => [status, param])) as Record<ConnectionStatus, string>;
const COUNT_FIELDS: Record<ConnectionStatus, 'broken' | 'pending' | 'active' | 'revoked'> = { DISCONNECTED: 'broken', PENDING: 'pending', ACTIVE: 'active', REVOKED: 'revoked' };

/** The address's list settings: `q`, `status`, `integration`, `owner`, `shared` (shared|private), `sort`. */
interface ListSettings {
  search: string;
  status: ConnectionStatus | null;
  integration: string | null;
  owner: string | null;
  shared: boolean | null;
  sort: string;
}

function readSettings(params: URLSearchParams): ListSettings {
  const shared = params.get('shared');
  const sort = params.get('sort') ?? 'status';
  return {
    search: params.get('q') ?? '',
    status: STATUS_PARAMS[params.get('status') ?? ''] ?? null,
    integration: params.get('integration') || null,
    owner: params.get('owner') || null,
    shared: shared === 'shared' ? true : shared === 'private' ? false : null,
    sort: sort in SORTS ? sort : 'status',
  };
}

/** The list's filter for the gateway, with or without the status (the tiles count each status). */
function filterOf(settings: ListSettings, withStatus: boolean): ConnectionFilter {
  return {
    ...(withStatus && settings.status ? { status: [settings.status] } : {}),
    ...(settings.integration ? { integration: settings.integration } : {}),
    ...(settings.owner ? { owner: settings.owner } : {}),
    ...(settings.shared !== null ? { shared: settings.shared } : {}),
    ...(settings.search.trim() ? { search: settings.search.trim() } : {}),
  };
}

/** The list settings in the address: read, and changed in place (no new history entry per keystroke). */
function useListSettings(): [ListSettings, (change: Partial<Record<'q' | 'status' | 'integration' | 'owner' | 'shared' | 'sort', string | null>>) => void] {
  const [params, change] = useAddressParams<'q' | 'status' | 'integration' | 'owner' | 'shared' | 'sort'>();
  const settings = useMemo(() => readSettings(params), [params]);
  return [settings, change];
}

export function ConnectionsPage() {
  const [settings, change] = useListSettings();
  const returned = useReturnedSignIn();
  const [dismissed, setDismissed] = useState(false);
  const narrowed = Boolean(settings.status || settings.integration || settings.owner || settings.shared !== null || settings.search.trim());
  const countFilter = filterOf(settings, false);
  const [counts, reexecuteCounts] = useQuery({
    query: ConnectionCountsQuery,
    variables: { integration: countFilter.integration ?? null, owner: countFilter.owner ?? null, shared: countFilter.shared ?? null, search: countFilter.search ?? null },
  });
  useReconnected(() => reexecuteCounts({ requestPolicy: 'network-only' }));
  const [announcement, setAnnouncement] = useState('');
  const filter = filterOf(settings, true);
  const listKey = JSON.stringify([filter, settings.sort]);

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <PageHeading title="Connections" />
          <p className="muted">Authorizations to the services your data comes from.</p>
        </div>
        <Link href="/connect" className="button button-primary">
          New connection
        </Link>
      </header>

      {returned && !dismissed && <ReturnedSignIn returned={returned} onDismiss={() => setDismissed(true)} />}

      {counts.data && (
        <div className="summary" role="group" aria-label="Show connections by status">
          {(Object.keys(COUNT_FIELDS) as ConnectionStatus[]).map((status) => {
            const pressed = settings.status === status;
            return (
              <button
                key={status}
                type="button"
                className={`summary-item summary-${status.toLowerCase()}`}
                aria-pressed={pressed}
                data-status-tile={status}
                onClick={() => change({ status: pressed ? null : STATUS_PARAM_OF[status] })}
              >
                <span className="summary-count">{counts.data![COUNT_FIELDS[status]].totalCount}</span>
                <span className="summary-label">{STATUS_LABELS[status]}</span>
              </button>
            );
          })}
        </div>
      )}

      <ListControls settings={settings} change={change} narrowed={narrowed} />

      <div className="sr-only" role="status" aria-live="polite">
        {announcement}
      </div>
      <ConnectionList key={listKey} filter={filter} sort={settings.sort} narrowed={narrowed} onChanged={setAnnouncement} />
    </div>
  );
}

/** Search, filters and order; each change goes to the address at once (the search after a pause in typing). */
function ListControls({ settings, change, narrowed }: { settings: ListSettings; change: ReturnType<typeof useListSettings>[1]; narrowed: boolean }) {
  const [text, setText] = useState(settings.search);
  const typed = useRef(settings.search);
  // Back, forward or "Clear" changed the address: the box follows it.
  useEffect(() => {
    if (settings.search !== typed.current) {
      typed.current = settings.search;
      setText(settings.search);
    }
  }, [settings.search]);
  useEffect(() => {
    if (text === typed.current) return;
    const timer = setTimeout(() => {
      typed.current = text;
      change({ q: text.trim() ? text : null });
    }, 250);
    return () => clearTimeout(timer);
  });
  const [integrations] = useQuery({ query: IntegrationsQuery, variables: { search: null } });
  const [people] = useQuery({ query: PeopleQuery });
  const [viewer] = useQuery({ query: ViewerQuery });
  const me = viewer.data?.viewer.user.id;

  return (
    <form className="list-controls" role="search" aria-label="Search and filter connections" onSubmit={(event) => event.preventDefault()}>
      <div className="field list-search">
        <label htmlFor="list-search">Search</label>
        <input id="list-search" type="search" placeholder="Name or resource…" value={text} maxLength={120} onChange={(event) => setText(event.target.value)} />
      </div>
      <Select label="Status" id="list-status" value={settings.status ? STATUS_PARAM_OF[settings.status] : ''} onChange={(value) => change({ status: value })}>
        <option value="">Any status</option>
        {(Object.keys(STATUS_PARAMS) as string[]).map((param) => (
          <option key={param} value={param}>
            {STATUS_LABELS[STATUS_PARAMS[param]]}
          </option>
        ))}
      </Select>
      <Select label="Integration" id="list-integration" value={settings.integration ?? ''} onChange={(value) => change({ integration: value })}>
        <option value="">Any integration</option>
        {integrations.data?.integrations.nodes.map((integration) => (
          <option key={integration.key} value={integration.key}>
            {integration.name}
          </option>
        ))}
        {settings.integration && !integrations.data?.integrations.nodes.some((integration) => integration.key === settings.integration) && (
          <option value={settings.integration}>{settings.integration}</option>
        )}
      </Select>
      <Select label="Owner" id="list-owner" value={settings.owner ?? ''} onChange={(value) => change({ owner: value })}>
        <option value="">Anyone</option>
        {me && <option value={me}>Me</option>}
        {people.data?.viewer.account.users.nodes
          .filter((person) => person.id !== me)
          .map((person) => (
            <option key={person.id} value={person.id}>
              {person.name}
            </option>
          ))}
        {settings.owner && settings.owner !== me && !people.data?.viewer.account.users.nodes.some((person) => person.id === settings.owner) && (
          <option value={settings.owner}>Someone else</option>
        )}
      </Select>
      <Select label="Sharing" id="list-shared" value={settings.shared === null ? '' : settings.shared ? 'shared' : 'private'} onChange={(value) => change({ shared: value })}>
        <option value="">Shared or private</option>
        <option value="shared">Shared</option>
        <option value="private">Private</option>
      </Select>
      <Select label="Order" id="list-sort" value={settings.sort} onChange={(value) => change({ sort: value === 'status' ? null : value })}>
        {Object.entries(SORTS).map(([key, sort]) => (
          <option key={key} value={key}>
            {sort.label}
          </option>
        ))}
      </Select>
      {narrowed && (
        <button
          type="button"
          className="button button-small button-ghost list-clear"
          onClick={() => {
            change({ q: null, status: null, integration: null, owner: null, shared: null });
            document.getElementById('list-search')?.focus();
          }}
        >
          Clear filters
        </button>
      )}
    </form>
  );
}

function Select({ label, id, value, onChange, children }: { label: string; id: string; value: string; onChange: (value: string | null) => void; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => onChange(event.target.value || null)}>
        {children}
      </select>
    </div>
  );
}

/** The list for one filter and order, a page at a time. */
function ConnectionList({
  filter,
  sort,
  narrowed,
  onChanged,
}: {
  filter: ConnectionFilter;
  sort: string;
  narrowed: boolean;
  onChanged: (announcement: string) => void;
}) {
  const [after, setAfter] = useState<string | null>(null);
  const { orderBy, grouped } = SORTS[sort];
  const [result, reexecute] = useQuery({ query: ConnectionsQuery, variables: { after, filter, orderBy } });
  const connections = result.data?.connections;
  // Missed status changes are caught up connection by connection; the whole list is read again
  // only when that could not be done, or when a connection changed that the list does not hold
  // (created while the socket was down). The cache drops the list then, but graphcache does not
  // fetch a query that another query's result dropped, so the list asks for itself.
  useReconnected((outcome) => {
    const held = new Set(connections?.nodes.map((connection) => connection.id));
    if (outcome.kind === 'refetch' || outcome.changed.some((id) => !held.has(id)) || filter.status) reexecute({ requestPolicy: 'network-only' });
  });
  const groups = useMemo(() => (grouped ? groupByIntegration(connections?.nodes ?? []) : []), [connections, grouped]);

  return (
    <>
      {connections && (
        <p className="muted list-count" data-total={connections.totalCount}>
          {narrowed
            ? `${plural(connections.totalCount, 'connection matches', 'connections match')} the filters`
            : `${plural(connections.totalCount, 'connection')}${grouped ? ` across ${plural(groups.length, 'integration')}` : ''}`}
          {connections.nodes.length < connections.totalCount && ` · showing ${connections.nodes.length}`}
        </p>
      )}
      {result.error && !connections && <LoadError error={result.error} retry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {!connections && !result.error && <Skeleton rows={4} />}
      {connections && connections.totalCount === 0 && !narrowed && (
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
      {connections && connections.totalCount === 0 && narrowed && <EmptyState title="No connection matches">Try another word, or clear the filters.</EmptyState>}

      {grouped ? (
        groups.map((group) => (
          <section key={group.key} className="group" aria-label={group.name} data-integration={group.key}>
            <header className="group-header">
              <h2>{group.name}</h2>
              <Pill>{AUTH_METHOD_LABELS[group.authMethod]}</Pill>
              <span className="muted small">{plural(group.connections.length, 'connection')}</span>
              {group.broken > 0 && <Pill tone="bad">{group.broken} broken</Pill>}
            </header>
            <ul className="cards">
              {group.connections.map((connection) => (
                <ConnectionCard key={connection.id} connection={connection} onChanged={onChanged} />
              ))}
            </ul>
          </section>
        ))
      ) : connections && connections.nodes.length > 0 ? (
        <section className="group" aria-label="Connection list">
          <ul className="cards">
            {connections.nodes.map((connection) => (
              <ConnectionCard key={connection.id} connection={connection} showIntegration onChanged={onChanged} />
            ))}
          </ul>
        </section>
      ) : null}

      {connections?.pageInfo.hasNextPage && (
        <div className="load-more">
          <button type="button" className="button button-secondary" disabled={result.fetching} onClick={() => setAfter(connections.pageInfo.endCursor)}>
            {result.fetching ? 'Loading…' : `Show more connections (${connections.totalCount - connections.nodes.length} more)`}
          </button>
        </div>
      )}
    </>
  );
}

/** The outcome of an OAuth sign-in this page was returned to. */
function ReturnedSignIn({ returned, onDismiss }: { returned: NonNullable<ReturnType<typeof useReturnedSignIn>>; onDismiss: () => void }) {
  const [result] = useQuery({ query: ConnectionsQuery, variables: { after: null, filter: {}, orderBy: 'NAME_ASC' } });
  const returnedConnection = result.data?.connections.nodes.find((connection) => connection.id === returned.connection);
  return (
    <div className="returned" data-testid="returned">
      {returned.error ? (
        <Notice tone="error" title="The connection was not completed" onDismiss={onDismiss}>
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
          onDismiss={onDismiss}
        >
          <p>
            <Link href={`/connections/${encodeURIComponent(returned.connection)}`}>Open the connection</Link>
          </p>
        </Notice>
      )}
    </div>
  );
}

function ConnectionCard({ connection, showIntegration = false, onChanged }: { connection: ConnectionSummary; showIntegration?: boolean; onChanged: (announcement: string) => void }) {
  const hidden = connection.name === null;
  // A status that changed while the list was open (live, or caught up) is highlighted for a moment.
  const seen = useRef(connection.status);
  const [changed, setChanged] = useState(false);
  useEffect(() => {
    if (seen.current === connection.status) return;
    seen.current = connection.status;
    setChanged(true);
    onChanged(`${connection.name ?? 'A private connection'} is now ${STATUS_LABELS[connection.status].toLowerCase()}.`);
    const timer = setTimeout(() => setChanged(false), 4000);
    return () => clearTimeout(timer);
  }, [connection.status, connection.name, onChanged]);
  return (
    <li
      className={`card card-${connection.status.toLowerCase()}${changed ? ' card-changed' : ''}`}
      data-connection={connection.id}
      data-status={connection.status}
      data-changed={changed || undefined}
    >
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
          {showIntegration && (
            <>
              <span>{connection.integration.name}</span>
              <span aria-hidden="true">·</span>
            </>
          )}
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
      <ConnectionActions connection={connection} layout="menu" onDeleted={focusPageHeading} />
    </li>
  );
}
