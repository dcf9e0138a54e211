/**
 * The normalized cache: connections, data sources, runs, events and users are entities keyed by
 * id, integrations by key, everything else lives inside its parent. A status change from the
 * subscription (or the catch-up after a reconnect) is merged into the Connection entity, so every
 * badge showing it re-renders; the updaters below only handle what a merge cannot (lists that gain
 * or lose members, timelines).
 */
import { cacheExchange, type Cache } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';
import { ERROR_TYPES } from './documents';

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
  'QueryConnectionEventsConnection',
  'QueryIntegrationsConnection',
  'ConnectionDataSourcesConnection',
  'ConnectionEventsConnection',
  'DataSourceRefreshRunsConnection',
  'StartConnectionSuccess',
  'ReauthenticateConnectionSuccess',
  'TestConnectionSuccess',
  'RevokeConnectionSuccess',
  'UpdateConnectionSuccess',
  'DeleteConnectionSuccess',
  'StartConnectionPayload',
  'TestConnectionPayload',
  'RevokeConnectionPayload',
  'ConnectionStatusChange',
  'DataSourceStatusChange',
  'RefreshRunUpdate',
  ...ERROR_TYPES,
];

/** Drops every cached page of a list field, so the screens showing it fetch it again. */
function invalidateField(cache: Cache, entity: string, fieldName: string) {
  for (const field of cache.inspectFields(entity)) {
    if (field.fieldName === fieldName) cache.invalidate(entity, field.fieldName, field.arguments ?? undefined);
  }
}

/** Whether a cached page of Query.connections holds the entity `key`. */
function isListed(cache: Cache, key: string | null): boolean {
  return cache.inspectFields('Query').some((field) => {
    if (field.fieldName !== 'connections') return false;
    const page = cache.resolve('Query', field.fieldName, field.arguments ?? undefined) as string | null | undefined;
    const nodes = page ? (cache.resolve(page, 'nodes') as (string | null)[] | null | undefined) : undefined;
    return nodes?.includes(key) ?? false;
  });
}

/**
 * A status change of connection `id`, live or read from the feed after a reconnect: the merge
 * updated the connection itself (or the catch-up's refetch will); its timeline gained an event,
 * and a connection the list does not hold yet (created elsewhere) makes the list refetch.
 */
function statusChanged(cache: Cache, id: string, created: boolean) {
  const key = cache.keyOfEntity({ __typename: 'Connection', id });
  invalidateField(cache, key ?? '', 'events');
  if (created || !isListed(cache, key)) invalidateField(cache, 'Query', 'connections');
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
      Query: { connections: relayPagination() },
      Connection: { events: relayPagination() },
      DataSource: { refreshRuns: relayPagination() },
    },
    updates: {
      Query: {
        // Events a catch-up read from the feed are applied as the live ones are.
        connectionEvents: (result, _args, cache) => {
          const feed = result.connectionEvents as { nodes?: { fromStatus: string | null; connection: { id: string } }[] };
          for (const event of feed.nodes ?? []) statusChanged(cache, event.connection.id, event.fromStatus === null);
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
      },
      Subscription: {
        connectionStatusChanged: (result, _args, cache) => {
          const change = result.connectionStatusChanged as { previousStatus: string | null; connection: { id: string } };
          statusChanged(cache, change.connection.id, change.previousStatus === null);
        },
        refreshRunUpdated: (result, _args, cache) => {
          const update = result.refreshRunUpdated as { dataSource: { id: string } };
          invalidateField(cache, cache.keyOfEntity({ __typename: 'DataSource', id: update.dataSource.id }) ?? '', 'refreshRuns');
        },
      },
    },
  });
}
