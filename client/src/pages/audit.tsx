/**
 * The audit trail (`/audit`): every change of every connection the viewer may see, with who made
 * it, newest first, deleted connections included. The filters (connection, person, kind, time
 * range) live in the address, so a filtered view can be linked to. Admins reach it from the header.
 */
import { useMemo, type ReactNode } from 'react';
import { useClient, useQuery } from 'urql';
import { Link } from 'wouter';
import { useAddressParams } from '../address-params';
import { EventSentence } from '../components/event-sentence';
import { EmptyState, LoadError, LoadMore, Skeleton, TimeAgo } from '../components/ui';
import { AuditEventsQuery, type AuditEvent, type AuditFilter, type ConnectionEventKind, PeopleQuery } from '../documents';
import { dateTime } from '../format';
import { PageHeading } from '../page';

const PAGE_SIZE = 50;

const KIND_LABELS: Record<ConnectionEventKind, string> = {
  STATUS_CHANGED: 'Status changes',
  CREATED: 'Created',
  RENAMED: 'Renamed',
  SHARED: 'Shared',
  UNSHARED: 'Made private',
  REAUTHENTICATED: 'Reauthenticated',
  REVOKED: 'Revoked',
  DELETED: 'Deleted',
  DATA_SOURCE_ADDED: 'Data source added',
  DATA_SOURCE_MOVED: 'Data source moved',
  DATA_SOURCE_REMOVED: 'Data source deleted',
  RECONNECT_LINK_CREATED: 'Reconnect link sent',
  RECONNECT_LINK_REVOKED: 'Reconnect link withdrawn',
};

type Param = 'connection' | 'actor' | 'kind' | 'since' | 'until';

/** The filters in the address: read, and changed in place. */
function useAuditFilters(): [Record<Param, string | null>, (change: Partial<Record<Param, string | null>>) => void] {
  const [params, change] = useAddressParams<Param>();
  const values = useMemo(
    () => ({
      connection: params.get('connection'),
      actor: params.get('actor'),
      kind: params.get('kind') && params.get('kind')! in KIND_LABELS ? params.get('kind') : null,
      since: params.get('since'),
      until: params.get('until'),
    }),
    [params],
  );
  return [values, change];
}

/** A date from the form (a day, UTC) as the instant the gateway filters on; `end` takes the next midnight. */
function dayInstant(day: string | null, end: boolean): string | null {
  if (!day || !/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const at = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(at.getTime())) return null;
  if (end) at.setUTCDate(at.getUTCDate() + 1);
  return at.toISOString();
}

export function AuditPage() {
  const [values, change] = useAuditFilters();
  const [people] = useQuery({ query: PeopleQuery });
  const filter: AuditFilter = {
    ...(values.connection ? { connection: values.connection } : {}),
    ...(values.actor ? { actor: values.actor } : {}),
    ...(values.kind ? { kinds: [values.kind as ConnectionEventKind] } : {}),
    ...(dayInstant(values.since, false) ? { since: dayInstant(values.since, false) } : {}),
    ...(dayInstant(values.until, true) ? { until: dayInstant(values.until, true) } : {}),
  };
  const narrowed = Object.values(values).some(Boolean);
  return (
    <div className="page">
      <header className="page-header">
        <div>
          <PageHeading title="Audit trail" />
          <p className="muted">Every change to a connection and who made it, newest first. Deleted connections keep their history.</p>
        </div>
      </header>
      <form className="list-controls" role="search" aria-label="Filter the audit trail" onSubmit={(event) => event.preventDefault()}>
        <Field label="Person" id="audit-actor">
          <select id="audit-actor" value={values.actor ?? ''} onChange={(event) => change({ actor: event.target.value || null })}>
            <option value="">Anyone</option>
            {people.data?.viewer.account.users.nodes.map((person) => (
              <option key={person.id} value={person.id}>
                {person.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Change" id="audit-kind">
          <select id="audit-kind" value={values.kind ?? ''} onChange={(event) => change({ kind: event.target.value || null })}>
            <option value="">Any change</option>
            {(Object.keys(KIND_LABELS) as ConnectionEventKind[]).map((kind) => (
              <option key={kind} value={kind}>
                {KIND_LABELS[kind]}
              </option>
            ))}
          </select>
        </Field>
        <Field label="From (UTC)" id="audit-since">
          <input id="audit-since" type="date" value={values.since ?? ''} onChange={(event) => change({ since: event.target.value || null })} />
        </Field>
        <Field label="To (UTC)" id="audit-until">
          <input id="audit-until" type="date" value={values.until ?? ''} onChange={(event) => change({ until: event.target.value || null })} />
        </Field>
        {narrowed && (
          <button type="button" className="button button-small button-ghost list-clear" onClick={() => change({ connection: null, actor: null, kind: null, since: null, until: null })}>
            Clear filters
          </button>
        )}
      </form>
      {values.connection && (
        <p className="muted small">
          Showing one connection’s changes. <button type="button" className="link-button" onClick={() => change({ connection: null })}>Show every connection</button>
        </p>
      )}
      <section className="panel panel-flush" aria-label="Changes">
        <AuditList key={JSON.stringify(filter)} filter={filter} onConnection={(id) => change({ connection: id })} />
      </section>
    </div>
  );
}

function Field({ label, id, children }: { label: string; id: string; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
    </div>
  );
}

function AuditList({ filter, onConnection }: { filter: AuditFilter; onConnection: (id: string) => void }) {
  const client = useClient();
  const [result, reexecute] = useQuery({ query: AuditEventsQuery, variables: { filter, first: PAGE_SIZE } });
  if (result.error && !result.data) return <LoadError error={result.error} retry={() => reexecute({ requestPolicy: 'network-only' })} />;
  if (!result.data) return <Skeleton rows={5} />;
  const page = result.data.auditEvents;
  if (page.nodes.length === 0) return <EmptyState title="No changes match">Change the filters to see more.</EmptyState>;
  return (
    <>
      <ol className="audit-list">
        {page.nodes.map((event) => (
          <li key={event.id} className="audit-item" data-kind={event.kind}>
            <div>
              <EventSentence event={event} subject={<ConnectionName event={event} />} />
            </div>
            <div className="muted small">
              <TimeAgo iso={event.createdAt} /> · {dateTime(event.createdAt)}
              {event.integration && <> · {event.integration}</>} ·{' '}
              <button type="button" className="link-button" onClick={() => onConnection(event.connectionId)}>
                Only this connection
              </button>
            </div>
          </li>
        ))}
      </ol>
      {page.pageInfo.hasNextPage && page.pageInfo.endCursor && (
        <LoadMore
          label="Show older changes"
          load={() => client.query(AuditEventsQuery, { filter, first: PAGE_SIZE, after: page.pageInfo.endCursor }, { requestPolicy: 'network-only' }).toPromise()}
        />
      )}
    </>
  );
}

/** The connection as the sentence names it: a link while it exists, its old name once deleted, "a private connection" when hidden. */
function ConnectionName({ event }: { event: AuditEvent }) {
  const name = event.connectionName ? `“${event.connectionName}”` : 'a private connection';
  if (event.connectionDeleted) return <span>{name} (deleted)</span>;
  return <Link href={`/connections/${encodeURIComponent(event.connectionId)}`}>{name}</Link>;
}
