/**
 * One connection: its details and problem, the data sources it feeds with their recent refresh
 * runs, and the timeline of its status changes. Data source and refresh-run changes arrive live.
 */
import { type ReactNode, useState } from 'react';
import { useClient, useMutation, useQuery, useSubscription } from 'urql';
import { Link, useLocation } from 'wouter';
import { ConnectionActions } from '../components/connection-actions';
import { EventSentence } from '../components/event-sentence';
import { DataSourceActions } from '../components/data-source-actions';
import { EmptyState, LoadError, LoadMore, OutcomeNotice, outcomeOf, Pill, ProblemPanel, Skeleton, StatusBadge, TimeAgo, type Outcome } from '../components/ui';
import {
  ConnectionQuery,
  DataSourceStatusChangedSubscription,
  EVENTS_PAGE_SIZE,
  MoreConnectionEventsQuery,
  MoreRefreshRunsQuery,
  RefreshDataSourceNowMutation,
  RefreshRunUpdatedSubscription,
  RUNS_PAGE_SIZE,
  type ConnectionDetail,
  type DataSource,
  type Page,
} from '../documents';
import { ACTOR_LABELS, AUTH_METHOD_LABELS, DATA_SOURCE_STATUS_LABELS, dateTime, duration, plural, REASON_LABELS, RUN_STATUS_LABELS, scheduleInWords, STATUS_LABELS, timeAgo } from '../format';
import { useReconnected } from '../live';
import { PageHeading } from '../page';

/** A page the reader asked for comes from the gateway, not the cache. */
const fresh = { requestPolicy: 'network-only' } as const;

/** Where the page after `page` starts; null when there is none. */
function nextPage(page: Page<unknown> | null): string | null {
  return page?.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
}

export function ConnectionPage({ id }: { id: string }) {
  const [result, reexecute] = useQuery({ query: ConnectionQuery, variables: { id, runs: RUNS_PAGE_SIZE, events: EVENTS_PAGE_SIZE } });
  const [, navigate] = useLocation();
  useSubscription({ query: DataSourceStatusChangedSubscription, variables: { connectionId: id } });
  // Its data sources and refresh runs have no feed to catch up from: read this one connection again.
  useReconnected(() => reexecute({ requestPolicy: 'network-only' }));
  const connection = result.data?.connection;

  return (
    <div className="page">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link href="/">Connections</Link>
        <span aria-hidden="true">/</span>
        <span>{connection?.name ?? connection?.integration.name ?? '…'}</span>
      </nav>
      {result.error && !result.data && <LoadError error={result.error} retry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {!result.data && !result.error && <Skeleton rows={5} />}
      {result.data && !connection && (
        <EmptyState page title="Connection not found" action={<Link href="/" className="button button-secondary">Back to connections</Link>}>
          It was deleted, or it is not visible to you.
        </EmptyState>
      )}
      {connection && <ConnectionDetails connection={connection} onDeleted={() => navigate('/')} onChanged={() => reexecute({ requestPolicy: 'network-only' })} />}
    </div>
  );
}

function ConnectionDetails({ connection, onDeleted, onChanged }: { connection: ConnectionDetail; onDeleted: () => void; onChanged: () => void }) {
  const hidden = connection.name === null;
  return (
    <>
      <header className="page-header detail-header">
        <div>
          <div className="detail-kicker">
            {connection.integration.name} · {AUTH_METHOD_LABELS[connection.integration.authMethod]}
          </div>
          <PageHeading title={connection.name ?? 'Private connection'} className="detail-title">
            {hidden ? <span className="muted italic">Private connection</span> : connection.name}
            <StatusBadge status={connection.status} />
          </PageHeading>
        </div>
      </header>

      {connection.problem && <ProblemPanel problem={connection.problem} />}
      <div className="panel">
        <ConnectionActions connection={connection} onDeleted={onDeleted} dataSourceCount={hidden ? null : (connection.dataSources?.totalCount ?? null)} />
      </div>

      <section className="panel">
        <h2>Details</h2>
        <dl className="facts">
          <Fact term="Owner">{connection.owner.name}</Fact>
          <Fact term="Visibility">{connection.shared ? 'Shared with the account' : 'Private to its owner'}</Fact>
          {connection.resourceName || connection.resourceId ? <Fact term="Resource">{connection.resourceName ?? connection.resourceId}</Fact> : null}
          <Fact term="Created">{dateTime(connection.createdAt)}</Fact>
          <Fact term="Last checked">
            <TimeAgo iso={connection.lastCheckedAt} />
          </Fact>
          <Fact term="Last changed">
            <TimeAgo iso={connection.updatedAt} />
          </Fact>
          {connection.accessTokenExpiresAt && (
            <Fact term="Access token expires">
              <TimeAgo iso={connection.accessTokenExpiresAt} /> <span className="muted small">(refreshed before then)</span>
            </Fact>
          )}
          {connection.reauthorizeBy && (
            <Fact term="Sign in again by">
              <strong>{dateTime(connection.reauthorizeBy)}</strong>
            </Fact>
          )}
          {connection.integration.tokenLifetime.note && <Fact term="Good to know">{connection.integration.tokenLifetime.note}</Fact>}
        </dl>
      </section>

      {hidden ? (
        <section className="panel">
          <p className="muted">Private to {connection.owner.name}: its data sources and history are visible only to them.</p>
        </section>
      ) : (
        <>
          <DataSources connection={connection} onChanged={onChanged} />
          <Timeline connection={connection} />
        </>
      )}
    </>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="fact">
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function DataSources({ connection, onChanged }: { connection: ConnectionDetail; onChanged: () => void }) {
  const sources = connection.dataSources?.nodes ?? [];
  return (
    <section className="panel" aria-label="Data sources" id="data-sources" tabIndex={-1}>
      <h2>
        Data sources <span className="muted count">{connection.dataSources?.totalCount ?? 0}</span>
      </h2>
      {sources.length === 0 ? (
        <p className="muted">No data source reads through this connection yet.</p>
      ) : (
        <ul className="sources">
          {sources.map((source) => (
            <DataSourceItem key={source.id} source={source} connection={connection} onChanged={onChanged} />
          ))}
        </ul>
      )}
    </section>
  );
}

function DataSourceItem({ source, connection, onChanged }: { source: DataSource; connection: ConnectionDetail; onChanged: () => void }) {
  const canEdit = connection.viewerCan.editDataSources;
  const client = useClient();
  const words = scheduleInWords(source.schedule);
  const olderRuns = nextPage(source.refreshRuns);
  useSubscription({ query: RefreshRunUpdatedSubscription, variables: { dataSourceId: source.id } });
  const tone = source.status === 'ACTIVE' ? 'good' : source.status === 'BROKEN' ? 'bad' : 'neutral';
  return (
    <li className="source" data-data-source={source.id}>
      <div className="source-header">
        <div>
          <div className="source-name">{source.name}</div>
          <div className="muted small">
            {source.resourceId} ·{' '}
            <span data-schedule title={`cron: ${source.schedule} (UTC)`}>
              {words ? `${words} (UTC)` : <code>{source.schedule}</code>}
            </span>{' '}
            · last refreshed <TimeAgo iso={source.lastRefreshedAt} />
          </div>
        </div>
        <div className="source-badges">
          {source.late && <Pill tone="warn">Late</Pill>}
          <Pill tone={tone}>{DATA_SOURCE_STATUS_LABELS[source.status]}</Pill>
        </div>
      </div>
      <RefreshSchedule source={source} canEdit={canEdit} />
      {canEdit && <DataSourceActions source={source} connection={connection} onChanged={onChanged} />}
      {source.refreshRuns.nodes.length === 0 ? (
        <p className="muted small">No refresh has run yet.</p>
      ) : (
        <table className="runs">
          <caption className="sr-only">Recent refreshes of {source.name}</caption>
          <thead>
            <tr>
              <th>Refresh</th>
              <th>Started</th>
              <th>Took</th>
              <th className="numeric">Rows</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {source.refreshRuns.nodes.map((run) => (
              <tr key={run.id}>
                <td>
                  <span className={`run run-${run.status.toLowerCase()}`}>{RUN_STATUS_LABELS[run.status]}</span>
                </td>
                <td>{dateTime(run.startedAt)}</td>
                <td>{duration(run.startedAt, run.finishedAt)}</td>
                <td className="numeric">{run.rows?.toLocaleString() ?? '–'}</td>
                <td className="run-error">{run.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {olderRuns && (
        <LoadMore
          label="Show older refreshes"
          remaining={plural(source.refreshRuns.totalCount - source.refreshRuns.nodes.length, 'older refresh', 'older refreshes')}
          load={() => client.query(MoreRefreshRunsQuery, { id: source.id, first: RUNS_PAGE_SIZE, after: olderRuns }, fresh).toPromise()}
        />
      )}
    </li>
  );
}

/**
 * When the source refreshes next (in words), its running refresh's progress (kept current by
 * refreshRunUpdated), and Refresh now, answered in place.
 */
function RefreshSchedule({ source, canEdit }: { source: DataSource; canEdit: boolean }) {
  const [, refreshNow] = useMutation(RefreshDataSourceNowMutation);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const running = source.runningRun;
  const next = source.nextRefreshAt;
  const onRefreshNow = async () => {
    setBusy(true);
    setOutcome(null);
    try {
      const { failure } = outcomeOf(await refreshNow({ id: source.id }), 'refreshDataSourceNow');
      setOutcome(failure ?? { kind: 'notice', tone: 'success', title: 'Refresh requested: a worker will pick it up shortly.' });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="source-schedule small" data-refresh-schedule>
      {running ? (
        <p role="status" aria-live="polite" data-running-run={running.id}>
          Refreshing now: started <TimeAgo iso={running.startedAt} />
          {running.rows != null && <>, {plural(running.rows, 'row')} so far</>}
        </p>
      ) : next == null ? (
        <p className="muted">Not scheduled while {source.status === 'PAUSED' ? 'paused' : 'its connection is broken'}.</p>
      ) : (
        <p>
          Next refresh{' '}
          {Date.parse(next) <= Date.now() ? (
            <strong>{source.late ? `was due ${timeAgo(next)}` : 'due now'}</strong>
          ) : (
            <time dateTime={next} title={dateTime(next)}>
              {timeAgo(next)}
            </time>
          )}
        </p>
      )}
      {canEdit && source.status === 'ACTIVE' && !running && (
        <button type="button" className="button button-small button-secondary" data-action="refresh-now" onClick={onRefreshNow} disabled={busy}>
          {busy ? 'Refresh now…' : 'Refresh now'}
        </button>
      )}
      {outcome && <OutcomeNotice outcome={outcome} onDismiss={() => setOutcome(null)} />}
    </div>
  );
}

function Timeline({ connection }: { connection: ConnectionDetail }) {
  const client = useClient();
  const events = connection.events?.nodes ?? [];
  const total = connection.events?.totalCount ?? 0;
  const olderEvents = nextPage(connection.events);
  return (
    <section className="panel" aria-label="History">
      <h2>
        History <span className="muted count">{total}</span>
      </h2>
      {events.length === 0 ? (
        <p className="muted">No change recorded.</p>
      ) : (
        <ol className="timeline">
          {events.map((event) => (
            <li key={event.id} className={`event event-${event.toStatus.toLowerCase()}`}>
              <span className="event-dot" aria-hidden="true" />
              <div className="event-body">
                <div>
                  {event.kind === 'STATUS_CHANGED' ? (
                    event.fromStatus ? (
                      <>
                        {STATUS_LABELS[event.fromStatus]} → <strong>{STATUS_LABELS[event.toStatus]}</strong>
                        {event.reason && <span className="muted"> · {REASON_LABELS[event.reason]}</span>}
                      </>
                    ) : (
                      <>
                        Created as <strong>{STATUS_LABELS[event.toStatus]}</strong>
                      </>
                    )
                  ) : (
                    <EventSentence event={event} />
                  )}
                </div>
                {event.message && <div className="quote small">{event.message}</div>}
                <div className="muted small">
                  <TimeAgo iso={event.createdAt} />
                  {event.kind === 'STATUS_CHANGED' && <> · by {event.actor?.name ?? ACTOR_LABELS[event.actorKind]}</>}
                </div>
              </div>
            </li>
          ))}
        </ol>
      )}
      {olderEvents && (
        <LoadMore
          label="Show older changes"
          remaining={plural(total - events.length, 'older change')}
          load={() => client.query(MoreConnectionEventsQuery, { id: connection.id, first: EVENTS_PAGE_SIZE, after: olderEvents }, fresh).toPromise()}
        />
      )}
    </section>
  );
}
