/**
 * The normalized cache: connections, data sources, runs, events, notifications and users are
 * entities keyed by id, integrations by key, everything else lives inside its parent. A status
 * change from the subscription (or the catch-up after a reconnect) is merged into the Connection
 * entity, so every badge showing it re-renders; the updaters below only handle what a merge cannot
 * (lists that gain or lose members, timelines, the notices a broken connection wrote, the unread
 * count).
 */
import { gql } from '@urql/core';
import { cacheExchange, type Cache } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';
import { ERROR_TYPES, UnreadNotificationCountQuery } from './documents';

/** Objects without an identity of their own: stored inside the entity that holds them. */
const EMBEDDED = [
  'ConnectionProblem',
  'ConnectionPermissions',
  'CredentialField',
  'IntegrationEndpoints',
  'TokenLifetime',
  'Viewer',
  'PageInfo',
  'QueryConnectionsConnection',
  'AccountUsersConnection',
  'QueryConnectionEventsConnection',
  'QueryAuditEventsConnection',
  'QueryIntegrationsConnection',
  'ConnectionDataSourcesConnection',
  'ConnectionEventsConnection',
  'DataSourceRefreshRunsConnection',
  'ViewerNotificationsConnection',
  'StartConnectionSuccess',
  'ReauthenticateConnectionSuccess',
  'TestConnectionSuccess',
  'RevokeConnectionSuccess',
  'UpdateConnectionSuccess',
  'DeleteConnectionSuccess',
  'MarkNotificationsReadSuccess',
  'MarkNotificationsReadPayload',
  'StartConnectionPayload',
  'TestConnectionPayload',
  'RevokeConnectionPayload',
  'ConnectionStatusChange',
  'ConnectionChange',
  'ConnectionEventDetails',
  'DataSourceStatusChange',
  'RefreshRunUpdate',
  'ConfigureIntegrationSuccess',
  'CreateReconnectLinkSuccess',
  'CreateReconnectLinkPayload',
  'RedeemReconnectLinkSuccess',
  'RevokeReconnectLinkSuccess',
  ...ERROR_TYPES,
];

/** Drops every cached page of a list field, so the screens showing it fetch it again. */
function invalidateField(cache: Cache, entity: string, fieldName: string) {
  for (const field of cache.inspectFields(entity)) {
    if (field.fieldName === fieldName) cache.invalidate(entity, field.fieldName, field.arguments ?? undefined);
  }
}

/** The entities every cached page of the list field `entity.fieldName` holds. */
function listed(cache: Cache, entity: string, fieldName: string): (string | null)[] {
  return cache.inspectFields(entity).flatMap((field) => {
    if (field.fieldName !== fieldName) return [];
    const page = cache.resolve(entity, field.fieldName, field.arguments ?? undefined) as string | null | undefined;
    return (page ? (cache.resolve(page, 'nodes') as (string | null)[] | null | undefined) : undefined) ?? [];
  });
}

/**
 * A status change of connection `id`, live or read from the feed after a reconnect: the merge
 * updated the connection itself (or the catch-up's refetch will); its timeline gained an event,
 * and a connection the list does not hold yet (created elsewhere) drops the list. After a live
 * change graphcache then reads the list again itself; after a catch-up it does not (it fetches
 * nothing another query's result dropped), so the list page asks for it (see connections.tsx).
 */
function statusChanged(cache: Cache, id: string, created: boolean) {
  const key = cache.keyOfEntity({ __typename: 'Connection', id });
  invalidateField(cache, key ?? '', 'events');
  if (created || !listed(cache, 'Query', 'connections').includes(key)) invalidateField(cache, 'Query', 'connections');
  else invalidateNarrowedByStatus(cache);
}

/**
 * Connection `id` was deleted, or its owner made it private and the viewer may no longer see it:
 * it leaves every list and its page reads it again (and finds nothing).
 */
function connectionGone(cache: Cache, id: string) {
  cache.invalidate({ __typename: 'Connection', id });
  invalidateField(cache, 'Query', 'connections');
}

/**
 * A status changed: the lists narrowed by status (a filtered list, the status tiles' counts) may
 * gain or lose it, so they are read again; the others only re-render the connection.
 */
function invalidateNarrowedByStatus(cache: Cache) {
  for (const field of cache.inspectFields('Query')) {
    const filter = field.arguments?.filter as { status?: unknown[] | null } | null | undefined;
    if (field.fieldName === 'connections' && filter?.status?.length) cache.invalidate('Query', field.fieldName, field.arguments ?? undefined);
  }
}

/** Where the viewer's fields are kept (Viewer is embedded in Query.viewer); null before it is read. */
function viewerKey(cache: Cache): string | null {
  return (cache.resolve('Query', 'viewer') as string | null | undefined) ?? null;
}

/**
 * A connection broke live: its transaction wrote notices (to its owner and the account owner),
 * which no subscription carries. The unread count and the notice lists are dropped, so the bell
 * and any open list read them again from the gateway. (After a reconnect they read them again
 * themselves: graphcache does not fetch what a query's updater drops for another query.)
 */
function noticesWritten(cache: Cache) {
  const viewer = viewerKey(cache);
  if (!viewer) return;
  cache.invalidate(viewer, 'unreadNotificationCount');
  invalidateField(cache, viewer, 'notifications');
}

const NotificationReadFragment = gql`
  fragment NotificationRead on Notification {
    id
    readAt
  }
`;

/**
 * Notices were marked read (those with `ids`, or all): each one cached as unread gets a readAt
 * (this browser's clock; the gateway's own instant is not returned), and the count becomes the
 * one the gateway answered with.
 */
function noticesRead(cache: Cache, ids: string[] | 'all', unreadCount: number) {
  const viewer = viewerKey(cache);
  const keys = ids === 'all' ? (viewer ? listed(cache, viewer, 'notifications') : []) : ids.map((id) => cache.keyOfEntity({ __typename: 'Notification', id }));
  const readAt = new Date().toISOString();
  for (const key of new Set(keys)) {
    if (key && cache.resolve(key, 'readAt') === null) cache.writeFragment(NotificationReadFragment, { __typename: 'Notification', id: cache.resolve(key, 'id'), readAt });
  }
  cache.updateQuery({ query: UnreadNotificationCountQuery }, (data) => data && { viewer: { ...data.viewer, unreadNotificationCount: unreadCount } });
}

function typename(data: Record<string, unknown>, field: string): string | undefined {
  const value = data[field] as { __typename?: string } | null | undefined;
  return value?.__typename;
}

export function createCache() {
  return cacheExchange({
    keys: {
      Integration: (data) => (data.key as string | undefined) ?? null,
      ...Object.fromEntries(EMBEDDED.map((name) => [name, () => null])),
    },
    possibleTypes: { Error: [...ERROR_TYPES] },
    // Pages a screen loads one after another are read back as one list.
    resolvers: {
      Query: { connections: relayPagination(), auditEvents: relayPagination() },
      Connection: { events: relayPagination() },
      DataSource: { refreshRuns: relayPagination() },
      Viewer: { notifications: relayPagination() },
    },
    updates: {
      Query: {
        // Events a catch-up read from the feed are applied as the live ones are.
        connectionEvents: (result, _args, cache) => {
          const feed = result.connectionEvents as {
            nodes?: { kind?: string; fromStatus: string | null; connectionId?: string; currentConnection?: { id: string } | null }[];
          };
          for (const event of feed.nodes ?? []) {
            // The dashboard's own feed reads carry connectionId; nothing else of the feed is applied here.
            if (!event.connectionId) continue;
            if (event.currentConnection === null) connectionGone(cache, event.connectionId);
            else statusChanged(cache, event.connectionId, event.kind === 'CREATED' || event.fromStatus === null);
          }
        },
      },
      Mutation: {
        // A new connection belongs in the list; where it sorts is the server's business.
        startConnection: (result, _args, cache) => {
          if (typename(result, 'startConnection') === 'StartConnectionSuccess') invalidateField(cache, 'Query', 'connections');
        },
        deleteConnection: (result, _args, cache) => {
          const outcome = result.deleteConnection as { __typename: string; deletedId?: string };
          if (outcome.__typename !== 'DeleteConnectionSuccess' || !outcome.deletedId) return;
          cache.invalidate({ __typename: 'Connection', id: outcome.deletedId });
          invalidateField(cache, 'Query', 'connections');
        },
        // A moved data source belongs in its new connection's list, which may now forbid Delete; the page
        // it left reads its connection again (connection.tsx).
        updateDataSource: (result, args, cache) => {
          const to = (args.input as { connectionId?: string | null }).connectionId;
          if (typename(result, 'updateDataSource') !== 'UpdateDataSourceSuccess' || !to) return;
          const key = cache.keyOfEntity({ __typename: 'Connection', id: to });
          if (!key) return;
          invalidateField(cache, key, 'dataSources');
          cache.invalidate(key, 'viewerCan');
        },
        deleteDataSource: (result, _args, cache) => {
          const outcome = result.deleteDataSource as { __typename: string; deletedId?: string };
          if (outcome.__typename === 'DeleteDataSourceSuccess' && outcome.deletedId) cache.invalidate({ __typename: 'DataSource', id: outcome.deletedId });
        },
        markNotificationsRead: (result, args, cache) => {
          const outcome = result.markNotificationsRead as { __typename: string; payload?: { unreadCount: number } };
          if (outcome.__typename !== 'MarkNotificationsReadSuccess' || !outcome.payload) return;
          const input = args.input as { ids?: string[] | null; all?: boolean | null };
          noticesRead(cache, input.all ? 'all' : (input.ids ?? []), outcome.payload.unreadCount);
        },
      },
      Subscription: {
        connectionStatusChanged: (result, _args, cache) => {
          const change = result.connectionStatusChanged as { previousStatus: string | null; status: string; connection: { id: string } };
          statusChanged(cache, change.connection.id, change.previousStatus === null);
          if (change.status === 'DISCONNECTED') noticesWritten(cache);
        },
        connectionChanged: (result, _args, cache) => {
          const change = result.connectionChanged as { connectionId: string; connection: { id: string } | null };
          if (!change.connection) connectionGone(cache, change.connectionId);
          else invalidateField(cache, cache.keyOfEntity({ __typename: 'Connection', id: change.connectionId }) ?? '', 'events');
        },
        refreshRunUpdated: (result, _args, cache) => {
          const update = result.refreshRunUpdated as { dataSource: { id: string } };
          invalidateField(cache, cache.keyOfEntity({ __typename: 'DataSource', id: update.dataSource.id }) ?? '', 'refreshRuns');
        },
      },
    },
  });
}
