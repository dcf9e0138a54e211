/**
 * Every GraphQL operation the dashboard sends, with the shapes of their results. The documents
 * follow schema.graphql (the partners' contract); tests/dashboard-documents.test.ts validates each
 * one against the server's schema, so a renamed field fails a test instead of a page.
 *
 * This module imports only @urql/core: the server-side tests load it under Node's resolution.
 */
import { gql } from '@urql/core';

export type ConnectionStatus = 'PENDING' | 'ACTIVE' | 'DISCONNECTED' | 'REVOKED';
export type DisconnectReason =
  | 'INVALID_CREDENTIALS'
  | 'INVALID_REFRESH_TOKEN'
  | 'INSUFFICIENT_PRIVILEGES'
  | 'EXPIRED_TOKEN'
  | 'PROVIDER_ERROR'
  | 'SUPERSEDED'
  | 'UNKNOWN'
  | 'DATABASE_NOT_FOUND'
  | 'USER_NOT_FOUND'
  | 'TLS_REQUIRED'
  | 'HOST_UNREACHABLE'
  | 'HOST_NOT_FOUND'
  | 'TLS_CERTIFICATE';
export type AuthMethod = 'OAUTH2' | 'OAUTH2_CLIENT_CREDENTIALS' | 'OAUTH1' | 'BASIC' | 'API_KEY' | 'PROXY';
export type DataSourceStatus = 'ACTIVE' | 'BROKEN' | 'PAUSED';
export type RefreshRunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABANDONED';
export type ActorKind = 'USER' | 'SERVICE' | 'SYSTEM';

/**
 * The types implementing `interface Error` (graphcache matches `... on Error` by this list instead
 * of guessing); a test compares it with the schema.
 */
export const ERROR_TYPES = [
  'AuthenticationError',
  'ConnectionInUseError',
  'CredentialsRejectedError',
  'ForbiddenError',
  'NotFoundError',
  'ProviderUnavailableError',
  'RefreshRunningError',
  'ValidationError',
] as const;

/** A typed error from a mutation's result union. */
export interface MutationError {
  __typename: (typeof ERROR_TYPES)[number];
  message: string;
  code: string;
  /** CredentialsRejectedError */
  reason?: DisconnectReason;
  interpretation?: string;
  resolution?: string;
  /** ProviderUnavailableError */
  retryAfterSeconds?: number | null;
  likelyCause?: { reason: DisconnectReason; interpretation: string; resolution: string } | null;
  /** ValidationError */
  field?: string | null;
  /** ConnectionInUseError */
  dataSourceCount?: number;
}

export interface ConnectionProblem {
  reason: DisconnectReason;
  message: string | null;
  interpretation: string;
  resolution: string;
}

export interface ConnectionPermissions {
  use: boolean;
  rename: boolean;
  share: boolean;
  editDataSources: boolean;
  reauthenticate: boolean;
  revoke: boolean;
  delete: boolean;
}

export interface ConnectionSummary {
  __typename: 'Connection';
  id: string;
  /** Null when the connection is private to another user. */
  name: string | null;
  status: ConnectionStatus;
  shared: boolean;
  resourceName: string | null;
  createdAt: string;
  updatedAt: string;
  lastCheckedAt: string | null;
  integration: { __typename: 'Integration'; key: string; name: string; authMethod: AuthMethod };
  owner: { __typename: 'User'; id: string; name: string };
  problem: ConnectionProblem | null;
  viewerCan: ConnectionPermissions;
}

/** What the list, the connection page and the live updates all read of a connection. */
export const ConnectionSummaryFragment = gql`
  fragment ConnectionSummary on Connection {
    id
    name
    status
    shared
    resourceName
    createdAt
    updatedAt
    lastCheckedAt
    integration {
      key
      name
      authMethod
    }
    owner {
      id
      name
    }
    problem {
      reason
      message
      interpretation
      resolution
    }
    viewerCan {
      use
      rename
      share
      editDataSources
      reauthenticate
      revoke
      delete
    }
  }
`;

/**
 * What every mutation reads of a typed error: the fields all errors share and those of each error
 * type that has its own (see MutationError).
 */
export const MutationErrorFragment = gql`
  fragment MutationError on Error {
    message
    code
    ... on CredentialsRejectedError {
      reason
      interpretation
      resolution
    }
    ... on ProviderUnavailableError {
      retryAfterSeconds
      likelyCause {
        reason
        interpretation
        resolution
      }
    }
    ... on ValidationError {
      field
    }
    ... on ConnectionInUseError {
      dataSourceCount
    }
  }
`;

/** A started or reauthenticated connection: where to sign in (OAuth), and the connection itself. */
export const StartConnectionPayloadFragment = gql`
  fragment StartConnectionPayload on StartConnectionPayload {
    authorizationUrl
    connection {
      ...ConnectionSummary
    }
  }
  ${ConnectionSummaryFragment}
`;

export interface ViewerData {
  viewer: {
    tokenKind: 'USER' | 'SERVICE';
    user: { __typename: 'User'; id: string; name: string; email: string; role: 'MEMBER' | 'EDITOR' | 'ADMIN'; isOwner: boolean };
    account: { __typename: 'Account'; id: string; name: string };
  };
}

/** Who the token belongs to: signs in, and names the user in the header. */
export const ViewerQuery = gql<ViewerData, Record<string, never>>`
  query Viewer {
    viewer {
      tokenKind
      user {
        id
        name
        email
        role
        isOwner
      }
      account {
        id
        name
      }
    }
  }
`;

export type NotificationKind = 'CONNECTION_DISCONNECTED' | 'REAUTHORIZATION_DUE';

export interface Notification {
  __typename: 'Notification';
  id: string;
  kind: NotificationKind;
  title: string;
  createdAt: string;
  readAt: string | null;
  /** REAUTHORIZATION_DUE: when the connection must be authorized again. */
  deadline: string | null;
  connection: { __typename: 'Connection'; id: string; status: ConnectionStatus };
  /** CONNECTION_DISCONNECTED: why it broke and what to do, as of the incident. */
  problem: ConnectionProblem | null;
}

/** How many notices the bell's panel and the notifications page read at a time. */
export const NOTIFICATIONS_PAGE_SIZE = 10;

/** The header's bell: how many of the viewer's notices are unread (markNotificationsRead writes it too, see cache.ts). */
export const UnreadNotificationCountQuery = gql<{ viewer: { unreadNotificationCount: number } }, Record<string, never>>`
  query UnreadNotificationCount {
    viewer {
      unreadNotificationCount
    }
  }
`;

/** The viewer's notices, newest first; a page read with `after` is appended to the first (see cache.ts). */
export const NotificationsQuery = gql<
  { viewer: { notifications: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: Notification[] } } },
  { first: number; after?: string | null }
>`
  query Notifications($first: Int!, $after: String) {
    viewer {
      notifications(first: $first, after: $after) {
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          kind
          title
          createdAt
          readAt
          deadline
          connection {
            id
            status
          }
          problem {
            reason
            message
            interpretation
            resolution
          }
        }
      }
    }
  }
`;

export interface MarkNotificationsReadSuccess {
  __typename: 'MarkNotificationsReadSuccess';
  payload: { markedCount: number; unreadCount: number };
}

/** Marks some of the viewer's notices read, or all of them; the cache sets their readAt and the count. */
export const MarkNotificationsReadMutation = gql<
  { markNotificationsRead: Result<MarkNotificationsReadSuccess> },
  { input: { ids: string[] } | { all: true } }
>`
  mutation MarkNotificationsRead($input: MarkNotificationsReadInput!) {
    markNotificationsRead(input: $input) {
      __typename
      ... on MarkNotificationsReadSuccess {
        payload {
          markedCount
          unreadCount
        }
      }
      ...MutationError
    }
  }
  ${MutationErrorFragment}
`;

export interface ConnectionsData {
  connections: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    nodes: ConnectionSummary[];
  };
}

/** What the list can be narrowed by (ConnectionFilter); the list keeps it in the address. */
export interface ConnectionFilter {
  status?: ConnectionStatus[] | null;
  integration?: string | null;
  owner?: string | null;
  shared?: boolean | null;
  search?: string | null;
}

export type ConnectionOrder = 'NAME_ASC' | 'CREATED_AT_DESC' | 'CREATED_AT_ASC' | 'UPDATED_AT_DESC';

/** How many connections the list reads at a time. */
export const CONNECTIONS_PAGE_SIZE = 100;

/** The connections list, narrowed and ordered (pages of the same filter and order merge in the cache, see cache.ts). */
export const ConnectionsQuery = gql<ConnectionsData, { after?: string | null; filter?: ConnectionFilter | null; orderBy?: ConnectionOrder }>`
  query Connections($after: String, $filter: ConnectionFilter, $orderBy: ConnectionOrder = NAME_ASC) {
    connections(first: 100, after: $after, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        ...ConnectionSummary
      }
    }
  }
  ${ConnectionSummaryFragment}
`;

export interface ConnectionCountsData {
  broken: { totalCount: number };
  pending: { totalCount: number };
  active: { totalCount: number };
  revoked: { totalCount: number };
}

/**
 * How many connections of each status the list's other filters leave: the status tiles. Counts
 * only (`first: 0`), so it reads no rows.
 */
export const ConnectionCountsQuery = gql<ConnectionCountsData, { integration?: string | null; owner?: string | null; shared?: boolean | null; search?: string | null }>`
  query ConnectionCounts($integration: String, $owner: ID, $shared: Boolean, $search: String) {
    broken: connections(first: 0, filter: { status: [DISCONNECTED], integration: $integration, owner: $owner, shared: $shared, search: $search }) {
      totalCount
    }
    pending: connections(first: 0, filter: { status: [PENDING], integration: $integration, owner: $owner, shared: $shared, search: $search }) {
      totalCount
    }
    active: connections(first: 0, filter: { status: [ACTIVE], integration: $integration, owner: $owner, shared: $shared, search: $search }) {
      totalCount
    }
    revoked: connections(first: 0, filter: { status: [REVOKED], integration: $integration, owner: $owner, shared: $shared, search: $search }) {
      totalCount
    }
  }
`;

export interface Person {
  __typename: 'User';
  id: string;
  name: string;
}

/** The account's people, for the list's owner filter. */
export const PeopleQuery = gql<{ viewer: { account: { __typename: 'Account'; id: string; users: { totalCount: number; nodes: Person[] } } } }, Record<string, never>>`
  query People {
    viewer {
      account {
        id
        users(first: 100) {
          totalCount
          nodes {
            id
            name
          }
        }
      }
    }
  }
`;

export interface CredentialField {
  key: string;
  label: string;
  secret: boolean;
  required: boolean;
  /** What the service appends to the value (".atlassian.net"), shown after the field. */
  suffix: string | null;
}

/** One page of a list, and where the next one starts. */
export interface Page<Item> {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  nodes: Item[];
}

/** How many refresh runs of each data source, and history events, the connection page reads at a time. */
export const RUNS_PAGE_SIZE = 5;
export const EVENTS_PAGE_SIZE = 20;

export interface RefreshRun {
  __typename: 'RefreshRun';
  id: string;
  status: RefreshRunStatus;
  startedAt: string;
  finishedAt: string | null;
  rows: number | null;
  error: string | null;
}

/** A refresh run as the connection page's history table shows it. */
export const RefreshRunFragment = gql`
  fragment RefreshRun on RefreshRun {
    id
    status
    startedAt
    finishedAt
    rows
    error
  }
`;

export interface DataSource {
  __typename: 'DataSource';
  id: string;
  name: string;
  status: DataSourceStatus;
  schedule: string;
  resourceId: string;
  /** What it reads of the resource (a JSON object), null for all of it. */
  filter: Record<string, unknown> | null;
  lastRefreshedAt: string | null;
  /** Null while it does not refresh; in the past while due. */
  nextRefreshAt: string | null;
  late: boolean;
  runningRun: RefreshRun | null;
  refreshRuns: Page<RefreshRun>;
}

export type ConnectionEventKind =
  | 'STATUS_CHANGED'
  | 'CREATED'
  | 'RENAMED'
  | 'SHARED'
  | 'UNSHARED'
  | 'REAUTHENTICATED'
  | 'REVOKED'
  | 'DELETED'
  | 'DATA_SOURCE_ADDED'
  | 'DATA_SOURCE_MOVED'
  | 'DATA_SOURCE_REMOVED'
  | 'RECONNECT_LINK_CREATED'
  | 'RECONNECT_LINK_REVOKED';

/** What changed besides the status (null when hidden from the viewer). */
export interface ConnectionEventDetails {
  previousName: string | null;
  name: string | null;
  dataSourceName: string | null;
  fromConnectionId: string | null;
  fromConnectionName: string | null;
  toConnectionId: string | null;
  toConnectionName: string | null;
}

export interface ConnectionEvent {
  __typename: 'ConnectionEvent';
  id: string;
  kind: ConnectionEventKind;
  details: ConnectionEventDetails | null;
  fromStatus: ConnectionStatus | null;
  toStatus: ConnectionStatus;
  reason: DisconnectReason | null;
  message: string | null;
  actorKind: ActorKind;
  actor: { __typename: 'User'; id: string; name: string } | null;
  createdAt: string;
}

/** A status change as the connection page's timeline shows it. */
export const ConnectionEventFragment = gql`
  fragment ConnectionEvent on ConnectionEvent {
    id
    kind
    details {
      previousName
      name
      dataSourceName
      fromConnectionId
      fromConnectionName
      toConnectionId
      toConnectionName
    }
    fromStatus
    toStatus
    reason
    message
    actorKind
    actor {
      id
      name
    }
    createdAt
  }
`;

/** A page of a data source's refresh runs, newest first. */
export const RefreshRunsPageFragment = gql`
  fragment RefreshRunsPage on DataSourceRefreshRunsConnection {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      ...RefreshRun
    }
  }
  ${RefreshRunFragment}
`;

/** A page of a connection's timeline, newest first. */
export const ConnectionEventsPageFragment = gql`
  fragment ConnectionEventsPage on ConnectionEventsConnection {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      ...ConnectionEvent
    }
  }
  ${ConnectionEventFragment}
`;

/** When a data source refreshes next, whether it is late, and its running refresh (kept current live). */
export const RefreshScheduleFragment = gql`
  fragment RefreshSchedule on DataSource {
    nextRefreshAt
    late
    runningRun {
      ...RefreshRun
    }
  }
  ${RefreshRunFragment}
`;

/** Refresh now: the data source is due at once (refused while a refresh runs). */
export const RefreshDataSourceNowMutation = gql<
  { refreshDataSourceNow: Result<{ __typename: 'RefreshDataSourceNowSuccess'; dataSource: Pick<DataSource, '__typename' | 'id' | 'nextRefreshAt' | 'late' | 'runningRun'> }> },
  { id: string }
>`
  mutation RefreshDataSourceNow($id: ID!) {
    refreshDataSourceNow(input: { id: $id }) {
      __typename
      ... on RefreshDataSourceNowSuccess {
        dataSource {
          id
          ...RefreshSchedule
        }
      }
      ...MutationError
    }
  }
  ${RefreshScheduleFragment}
  ${MutationErrorFragment}
`;

export interface ConnectionDetail extends ConnectionSummary {
  resourceId: string | null;
  accessTokenExpiresAt: string | null;
  reauthorizeBy: string | null;
  integration: ConnectionSummary['integration'] & {
    description: string;
    docsUrl: string;
    credentialFields: CredentialField[];
    tokenLifetime: { note: string | null };
  };
  dataSources: { totalCount: number; nodes: DataSource[] } | null;
  events: Page<ConnectionEvent> | null;
}

/** One connection with its data sources, their recent refreshes, and its event timeline. */
/** The credential form's fields, as the connect and reauthenticate forms render them. */
export const CredentialFieldsFragment = gql`
  fragment CredentialFields on Integration {
    credentialFields {
      key
      label
      secret
      required
      suffix
    }
  }
`;

export const ConnectionQuery = gql<{ connection: ConnectionDetail | null }, { id: string; runs: number; events: number }>`
  query Connection($id: ID!, $runs: Int!, $events: Int!) {
    connection(id: $id) {
      ...ConnectionSummary
      resourceId
      accessTokenExpiresAt
      reauthorizeBy
      integration {
        key
        description
        docsUrl
        ...CredentialFields
        tokenLifetime {
          note
        }
      }
      dataSources(first: 50) {
        totalCount
        nodes {
          id
          name
          status
          schedule
          resourceId
          filter
          lastRefreshedAt
          ...RefreshSchedule
          refreshRuns(first: $runs) {
            ...RefreshRunsPage
          }
        }
      }
      events(first: $events) {
        ...ConnectionEventsPage
      }
    }
  }
  ${ConnectionSummaryFragment}
  ${CredentialFieldsFragment}
  ${RefreshScheduleFragment}
  ${RefreshRunsPageFragment}
  ${ConnectionEventsPageFragment}
`;

export interface UpdateDataSourceInput {
  id: string;
  name?: string;
  schedule?: string;
  filter?: Record<string, unknown> | null;
  /** Another connection of the same integration: moves the data source there. */
  connectionId?: string;
}

/** Edit or move a data source (editors, admins, the connection owner). */
export const UpdateDataSourceMutation = gql<
  {
    updateDataSource: Result<{
      __typename: 'UpdateDataSourceSuccess';
      dataSource: Pick<DataSource, '__typename' | 'id' | 'name' | 'schedule' | 'filter' | 'nextRefreshAt' | 'late' | 'runningRun'> & { connection: { __typename: 'Connection'; id: string } };
    }>;
  },
  { input: UpdateDataSourceInput }
>`
  mutation UpdateDataSource($input: UpdateDataSourceInput!) {
    updateDataSource(input: $input) {
      __typename
      ... on UpdateDataSourceSuccess {
        dataSource {
          id
          name
          schedule
          filter
          connection {
            id
          }
          ...RefreshSchedule
        }
      }
      ...MutationError
    }
  }
  ${RefreshScheduleFragment}
  ${MutationErrorFragment}
`;

export const DeleteDataSourceMutation = gql<{ deleteDataSource: Result<{ __typename: 'DeleteDataSourceSuccess'; deletedId: string }> }, { id: string }>`
  mutation DeleteDataSource($id: ID!) {
    deleteDataSource(input: { id: $id }) {
      __typename
      ... on DeleteDataSourceSuccess {
        deletedId
      }
      ...MutationError
    }
  }
  ${MutationErrorFragment}
`;

/** The connections a data source may move to: the same integration's, that the viewer may use (the gateway checks again). */
export const MoveTargetsQuery = gql<
  {
    connections: {
      totalCount: number;
      nodes: (Pick<ConnectionSummary, '__typename' | 'id' | 'name' | 'status' | 'resourceName'> & { viewerCan: Pick<ConnectionPermissions, 'use' | 'editDataSources'> })[];
    };
  },
  { integration: string }
>`
  query MoveTargets($integration: String!) {
    connections(first: 100, filter: { integration: $integration }, orderBy: NAME_ASC) {
      totalCount
      nodes {
        id
        name
        status
        resourceName
        viewerCan {
          use
          editDataSources
        }
      }
    }
  }
`;

/** The next page of a data source's refresh runs (the cache appends it to the connection page's). */
export const MoreRefreshRunsQuery = gql<
  { node: { __typename: 'DataSource'; id: string; refreshRuns: Page<RefreshRun> } | null },
  { id: string; first: number; after: string }
>`
  query MoreRefreshRuns($id: ID!, $first: Int!, $after: String!) {
    node(id: $id) {
      ... on DataSource {
        id
        refreshRuns(first: $first, after: $after) {
          ...RefreshRunsPage
        }
      }
    }
  }
  ${RefreshRunsPageFragment}
`;

/** The next page of a connection's timeline (the cache appends it to the connection page's). */
export const MoreConnectionEventsQuery = gql<
  { connection: { __typename: 'Connection'; id: string; events: Page<ConnectionEvent> | null } | null },
  { id: string; first: number; after: string }
>`
  query MoreConnectionEvents($id: ID!, $first: Int!, $after: String!) {
    connection(id: $id) {
      id
      events(first: $first, after: $after) {
        ...ConnectionEventsPage
      }
    }
  }
  ${ConnectionEventsPageFragment}
`;

export interface CatalogIntegration {
  __typename: 'Integration';
  key: string;
  name: string;
  description: string;
  authMethod: AuthMethod;
  isCustom: boolean;
}

/** The catalog, narrowed by a search text. */
export const IntegrationsQuery = gql<{ integrations: { totalCount: number; nodes: CatalogIntegration[] } }, { search?: string | null }>`
  query Integrations($search: String) {
    integrations(first: 100, filter: { search: $search }) {
      totalCount
      nodes {
        key
        name
        description
        authMethod
        isCustom
      }
    }
  }
`;

export interface IntegrationDetail extends CatalogIntegration {
  docsUrl: string;
  requirements: string[];
  oauthClientId: string | null;
  resourceKind: string | null;
  credentialFields: CredentialField[];
  tokenLifetime: { note: string | null; refreshable: boolean };
}

/** What the connect form is generated from. */
export const IntegrationQuery = gql<{ integration: IntegrationDetail | null }, { key: string }>`
  query Integration($key: String!) {
    integration(key: $key) {
      key
      name
      description
      authMethod
      isCustom
      docsUrl
      requirements
      oauthClientId
      resourceKind
      ...CredentialFields
      tokenLifetime {
        note
        refreshable
      }
    }
  }
  ${CredentialFieldsFragment}
`;

/** A mutation result: the success type's payload, or one of the typed errors. */
export type Result<Success> = Success | MutationError;

export interface StartConnectionSuccess {
  __typename: 'StartConnectionSuccess' | 'ReauthenticateConnectionSuccess';
  result: { authorizationUrl: string | null; connection: ConnectionSummary };
}

export interface StartConnectionInput {
  integration: string;
  name: string;
  shared?: boolean;
  resourceId?: string;
  resourceName?: string;
  credentials?: Record<string, string>;
  returnTo?: string;
}

export const StartConnectionMutation = gql<{ startConnection: Result<StartConnectionSuccess> }, { input: StartConnectionInput }>`
  mutation StartConnection($input: StartConnectionInput!) {
    startConnection(input: $input) {
      __typename
      ... on StartConnectionSuccess {
        result {
          ...StartConnectionPayload
        }
      }
      ...MutationError
    }
  }
  ${StartConnectionPayloadFragment}
  ${MutationErrorFragment}
`;

export const ReauthenticateConnectionMutation = gql<
  { reauthenticateConnection: Result<StartConnectionSuccess> },
  { input: { id: string; credentials?: Record<string, string>; returnTo?: string } }
>`
  mutation ReauthenticateConnection($input: ReauthenticateConnectionInput!) {
    reauthenticateConnection(input: $input) {
      __typename
      ... on ReauthenticateConnectionSuccess {
        result {
          ...StartConnectionPayload
        }
      }
      ...MutationError
    }
  }
  ${StartConnectionPayloadFragment}
  ${MutationErrorFragment}
`;

export interface TestConnectionSuccess {
  __typename: 'TestConnectionSuccess';
  result: { ok: boolean; transientMessage: string | null; connection: ConnectionSummary };
}

export const TestConnectionMutation = gql<{ testConnection: Result<TestConnectionSuccess> }, { id: string }>`
  mutation TestConnection($id: ID!) {
    testConnection(input: { id: $id }) {
      __typename
      ... on TestConnectionSuccess {
        result {
          ok
          transientMessage
          connection {
            ...ConnectionSummary
          }
        }
      }
      ...MutationError
    }
  }
  ${ConnectionSummaryFragment}
  ${MutationErrorFragment}
`;

export interface RevokeConnectionSuccess {
  __typename: 'RevokeConnectionSuccess';
  result: { providerRevoked: boolean; providerMessage: string; connection: ConnectionSummary };
}

export const RevokeConnectionMutation = gql<{ revokeConnection: Result<RevokeConnectionSuccess> }, { id: string }>`
  mutation RevokeConnection($id: ID!) {
    revokeConnection(input: { id: $id }) {
      __typename
      ... on RevokeConnectionSuccess {
        result {
          providerRevoked
          providerMessage
          connection {
            ...ConnectionSummary
          }
        }
      }
      ...MutationError
    }
  }
  ${ConnectionSummaryFragment}
  ${MutationErrorFragment}
`;

export interface UpdateConnectionSuccess {
  __typename: 'UpdateConnectionSuccess';
  connection: ConnectionSummary;
}

export const UpdateConnectionMutation = gql<
  { updateConnection: Result<UpdateConnectionSuccess> },
  { input: { id: string; name?: string; shared?: boolean } }
>`
  mutation UpdateConnection($input: UpdateConnectionInput!) {
    updateConnection(input: $input) {
      __typename
      ... on UpdateConnectionSuccess {
        connection {
          ...ConnectionSummary
        }
      }
      ...MutationError
    }
  }
  ${ConnectionSummaryFragment}
  ${MutationErrorFragment}
`;

export interface DeleteConnectionSuccess {
  __typename: 'DeleteConnectionSuccess';
  deletedId: string;
}

export const DeleteConnectionMutation = gql<{ deleteConnection: Result<DeleteConnectionSuccess> }, { id: string }>`
  mutation DeleteConnection($id: ID!) {
    deleteConnection(input: { id: $id }) {
      __typename
      ... on DeleteConnectionSuccess {
        deletedId
      }
      ...MutationError
    }
  }
  ${MutationErrorFragment}
`;

export interface ConnectionStatusChange {
  __typename: 'ConnectionStatusChange';
  cursor: string;
  previousStatus: ConnectionStatus | null;
  status: ConnectionStatus;
  occurredAt: string;
  connection: ConnectionSummary;
}

/**
 * Every status change the viewer may see, for as long as someone is signed in: the cache merges
 * each changed connection, so badges, problems and buttons update wherever they are shown.
 */
export const ConnectionStatusChangedSubscription = gql<{ connectionStatusChanged: ConnectionStatusChange }, Record<string, never>>`
  subscription ConnectionStatusChanged {
    connectionStatusChanged {
      cursor
      previousStatus
      status
      occurredAt
      connection {
        ...ConnectionSummary
      }
    }
  }
  ${ConnectionSummaryFragment}
`;

/** A change that is not a status change (those come above), as the live list applies it. */
export interface ConnectionChange {
  __typename: 'ConnectionChange';
  kind: ConnectionEventKind;
  deleted: boolean;
  connectionId: string;
  /** Null once deleted or no longer visible to the viewer: screens drop it. */
  connection: ConnectionSummary | null;
}

/**
 * Renames, sharing, data sources and deletions of the connections the viewer may see (status
 * changes come through ConnectionStatusChangedSubscription): the cache merges a renamed card and
 * drops a deleted one, or one its owner made private.
 */
export const ConnectionChangedSubscription = gql<{ connectionChanged: ConnectionChange }, Record<string, never>>`
  subscription ConnectionChanged {
    connectionChanged(filter: { kinds: [RENAMED, SHARED, UNSHARED, DELETED, DATA_SOURCE_ADDED, DATA_SOURCE_MOVED, DATA_SOURCE_REMOVED] }) {
      kind
      deleted
      connectionId
      connection {
        ...ConnectionSummary
      }
    }
  }
  ${ConnectionSummaryFragment}
`;

/** An event of the account's audit trail. */
export interface AuditEvent {
  __typename: 'ConnectionEvent';
  id: string;
  kind: ConnectionEventKind;
  details: ConnectionEventDetails | null;
  fromStatus: ConnectionStatus | null;
  toStatus: ConnectionStatus;
  reason: DisconnectReason | null;
  actorKind: ActorKind;
  actor: { __typename: 'User'; id: string; name: string } | null;
  connectionId: string;
  connectionName: string | null;
  integration: string | null;
  connectionDeleted: boolean;
  createdAt: string;
}

export interface AuditFilter {
  connection?: string | null;
  actor?: string | null;
  kinds?: ConnectionEventKind[] | null;
  since?: string | null;
  until?: string | null;
}

/** The audit page: the account's changes, newest first, filtered (the filters live in the URL). */
export const AuditEventsQuery = gql<
  { auditEvents: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: AuditEvent[] } },
  { filter: AuditFilter; first: number; after?: string | null }
>`
  query AuditEvents($filter: AuditEventFilter, $first: Int!, $after: String) {
    auditEvents(filter: $filter, first: $first, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        kind
        details {
          previousName
          name
          dataSourceName
          fromConnectionId
          fromConnectionName
          toConnectionId
          toConnectionName
        }
        fromStatus
        toStatus
        reason
        actorKind
        actor {
          id
          name
        }
        connectionId
        connectionName
        integration
        connectionDeleted
        createdAt
      }
    }
  }
`;

/** Data source status changes of one connection (its page). */
export const DataSourceStatusChangedSubscription = gql<
  { dataSourceStatusChanged: { dataSource: { __typename: 'DataSource'; id: string; status: DataSourceStatus } } },
  { connectionId: string }
>`
  subscription DataSourceStatusChanged($connectionId: ID) {
    dataSourceStatusChanged(filter: { connectionId: $connectionId }) {
      previousStatus
      status
      occurredAt
      dataSource {
        id
        status
        lastRefreshedAt
      }
    }
  }
`;

/** Refresh runs of one data source as they start and finish. */
export const RefreshRunUpdatedSubscription = gql<
  {
    refreshRunUpdated: {
      refreshRun: RefreshRun;
      dataSource: Pick<DataSource, '__typename' | 'id' | 'lastRefreshedAt' | 'nextRefreshAt' | 'late' | 'runningRun'>;
    };
  },
  { dataSourceId: string }
>`
  subscription RefreshRunUpdated($dataSourceId: ID!) {
    refreshRunUpdated(dataSourceId: $dataSourceId) {
      occurredAt
      refreshRun {
        ...RefreshRun
      }
      dataSource {
        id
        lastRefreshedAt
        ...RefreshSchedule
      }
    }
  }
  ${RefreshRunFragment}
  ${RefreshScheduleFragment}
`;

/** Where the event feed ends now: the position a dashboard catches up from until a live change moves it. */
export const LatestConnectionEventQuery = gql<{ connectionEvents: { pageInfo: { endCursor: string | null } } }, Record<string, never>>`
  query LatestConnectionEvent {
    connectionEvents(last: 1, includeDeleted: true) {
      pageInfo {
        endCursor
      }
    }
  }
`;

export interface MissedConnectionEvent {
  __typename: 'ConnectionEvent';
  id: string;
  kind: ConnectionEventKind;
  fromStatus: ConnectionStatus | null;
  connectionId: string;
  /** Null once deleted, or when the viewer may no longer see it (unshared). */
  currentConnection: { __typename: 'Connection'; id: string } | null;
}

/**
 * The status changes committed after `after`, oldest first: what the dashboard missed while its
 * live channel was down. Only which connections changed; ConnectionsByIdQuery reads them.
 */
export const MissedConnectionEventsQuery = gql<
  { connectionEvents: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: MissedConnectionEvent[] } },
  { after: string | null; first: number }
>`
  query MissedConnectionEvents($after: String, $first: Int!) {
    connectionEvents(after: $after, first: $first, includeDeleted: true) {
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        kind
        fromStatus
        connectionId
        currentConnection {
          id
        }
      }
    }
  }
`;

/** Some connections by id, as the list shows them: a catch-up reads just those that changed. */
export const ConnectionsByIdQuery = gql<{ nodes: (ConnectionSummary | null)[] }, { ids: string[] }>`
  query ConnectionsById($ids: [ID!]!) {
    nodes(ids: $ids) {
      ... on Connection {
        ...ConnectionSummary
      }
    }
  }
  ${ConnectionSummaryFragment}
`;

// --- Settings: integrations, API tokens, webhooks, people ---------------------------------------

export interface SettingsIntegration extends CatalogIntegration {
  oauthClientId: string | null;
  /** Whether the account has an app of its own (oauthClientId may also be the operator's default). */
  oauthAppConfigured: boolean;
  callbackUrl: string | null;
  defaultScopes: string[];
}

/** The catalog as Settings shows it: which OAuth apps are configured, and the custom integrations. */
export const SettingsIntegrationsQuery = gql<{ integrations: { totalCount: number; nodes: SettingsIntegration[] } }, Record<string, never>>`
  query SettingsIntegrations {
    integrations(first: 100) {
      totalCount
      nodes {
        key
        name
        description
        authMethod
        isCustom
        oauthClientId
        oauthAppConfigured
        callbackUrl
        defaultScopes
      }
    }
  }
`;

export interface RegisterIntegrationInput {
  key: string;
  name: string;
  authMethod: AuthMethod;
  description?: string;
  issuerUrl?: string;
  authorizeUrl?: string;
  tokenUrl?: string;
  revokeUrl?: string;
  verifyUrl?: string;
  scopes?: string[];
  apiKeyHeader?: string;
  apiKeyPrefix?: string;
}

/** Registers a custom integration (admins), by issuer URL or by its endpoints. */
export const RegisterIntegrationMutation = gql<
  { registerIntegration: Result<{ __typename: 'RegisterIntegrationSuccess'; integration: SettingsIntegration }> },
  { input: RegisterIntegrationInput }
>`
  mutation RegisterIntegration($input: RegisterIntegrationInput!) {
    registerIntegration(input: $input) {
      __typename
      ... on RegisterIntegrationSuccess {
        integration {
          key
          name
          description
          authMethod
          isCustom
          oauthClientId
          callbackUrl
          defaultScopes
          oauthAppConfigured
          scopes
          oauthAppScopesCustomized
        }
      }
      ...MutationError
    }
  }
  ${MutationErrorFragment}
`;

export type ApiTokenKind = 'USER' | 'SERVICE';

export interface ApiTokenRow {
  __typename: 'ApiToken';
  id: string;
  name: string;
  kind: ApiTokenKind;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  user: { __typename: 'User'; id: string; name: string };
}

export const ApiTokenFragment = gql`
  fragment ApiTokenRow on ApiToken {
    id
    name
    kind
    prefix
    createdAt
    lastUsedAt
    revokedAt
    user {
      id
      name
    }
  }
`;

/** The viewer's own tokens, and (admins) every token of the account. */
export const ApiTokensQuery = gql<
  { viewer: { apiTokens: { nodes: ApiTokenRow[] }; account: { __typename: 'Account'; id: string; apiTokens: { totalCount: number; nodes: ApiTokenRow[] } | null } } },
  Record<string, never>
>`
  query ApiTokens {
    viewer {
      apiTokens(first: 100) {
        nodes {
          ...ApiTokenRow
        }
      }
      account {
        id
        apiTokens(first: 100) {
          totalCount
          nodes {
            ...ApiTokenRow
          }
        }
      }
    }
  }
  ${ApiTokenFragment}
`;

/** Creates a token; the secret is in this answer only. */
export const CreateApiTokenMutation = gql<
  { createApiToken: Result<{ __typename: 'CreateApiTokenSuccess'; payload: { token: string; apiToken: ApiTokenRow } }> },
  { input: { name: string; kind?: ApiTokenKind } }
>`
  mutation CreateApiToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) {
      __typename
      ... on CreateApiTokenSuccess {
        payload {
          token
          apiToken {
            ...ApiTokenRow
          }
        }
      }
      ...MutationError
    }
  }
  ${ApiTokenFragment}
  ${MutationErrorFragment}
`;

export const RevokeApiTokenMutation = gql<
  { revokeApiToken: Result<{ __typename: 'RevokeApiTokenSuccess'; apiToken: ApiTokenRow }> },
  { id: string }
>`
  mutation RevokeApiToken($id: ID!) {
    revokeApiToken(input: { id: $id }) {
      __typename
      ... on RevokeApiTokenSuccess {
        apiToken {
          ...ApiTokenRow
        }
      }
      ...MutationError
    }
  }
  ${ApiTokenFragment}
  ${MutationErrorFragment}
`;

export interface WebhookEndpointRow {
  __typename: 'WebhookEndpoint';
  id: string;
  url: string;
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  integrationKeys: string[] | null;
  previousSecretExpiresAt: string | null;
  createdAt: string;
}

export const WebhookEndpointFragment = gql`
  fragment WebhookEndpointRow on WebhookEndpoint {
    id
    url
    description
    enabled
    disabledReason
    integrationKeys
    previousSecretExpiresAt
    createdAt
  }
`;

/** The account's webhook endpoints; null for those who may not read them. */
export const WebhookEndpointsQuery = gql<
  { viewer: { account: { __typename: 'Account'; id: string; webhookEndpoints: { totalCount: number; nodes: WebhookEndpointRow[] } | null } } },
  Record<string, never>
>`
  query WebhookEndpoints {
    viewer {
      account {
        id
        webhookEndpoints(first: 100) {
          totalCount
          nodes {
            ...WebhookEndpointRow
          }
        }
      }
    }
  }
  ${WebhookEndpointFragment}
`;

export type WebhookDeliveryStatus = 'PENDING' | 'SENT' | 'FAILED';

export interface WebhookDeliveryRow {
  __typename: 'WebhookDelivery';
  id: string;
  eventType: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  responseStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
}

/** How many deliveries of an endpoint the log shows (written out in WebhookDeliveriesQuery). */
export const DELIVERIES_PAGE_SIZE = 20;

/** One endpoint's delivery log, newest first. */
export const WebhookDeliveriesQuery = gql<
  { node: { __typename: 'WebhookEndpoint'; id: string; deliveries: { totalCount: number; nodes: WebhookDeliveryRow[] } } | null },
  { id: string }
>`
  query WebhookDeliveries($id: ID!) {
    node(id: $id) {
      id
      ... on WebhookEndpoint {
        deliveries(first: 20) {
          totalCount
          nodes {
            id
            eventType
            status
            attempts
            responseStatus
            lastError
            createdAt
            deliveredAt
            nextAttemptAt
          }
        }
      }
    }
  }
`;

type SecretResult<Name extends string> = Result<{ __typename: Name; payload: { secret: string; webhookEndpoint: WebhookEndpointRow } }>;

export const CreateWebhookEndpointMutation = gql<
  { createWebhookEndpoint: SecretResult<'CreateWebhookEndpointSuccess'> },
  { input: { url: string; description?: string | null; integrationKeys?: string[] | null } }
>`
  mutation CreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      __typename
      ... on CreateWebhookEndpointSuccess {
        payload {
          secret
          webhookEndpoint {
            ...WebhookEndpointRow
          }
        }
      }
      ...MutationError
    }
  }
  ${WebhookEndpointFragment}
  ${MutationErrorFragment}
`;

export const UpdateWebhookEndpointMutation = gql<
  { updateWebhookEndpoint: Result<{ __typename: 'UpdateWebhookEndpointSuccess'; webhookEndpoint: WebhookEndpointRow }> },
  { input: { id: string; enabled?: boolean } }
>`
  mutation UpdateWebhookEndpoint($input: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(input: $input) {
      __typename
      ... on UpdateWebhookEndpointSuccess {
        webhookEndpoint {
          ...WebhookEndpointRow
        }
      }
      ...MutationError
    }
  }
  ${WebhookEndpointFragment}
  ${MutationErrorFragment}
`;

export const RotateWebhookEndpointSecretMutation = gql<{ rotateWebhookEndpointSecret: SecretResult<'RotateWebhookEndpointSecretSuccess'> }, { id: string }>`
  mutation RotateWebhookEndpointSecret($id: ID!) {
    rotateWebhookEndpointSecret(input: { id: $id }) {
      __typename
      ... on RotateWebhookEndpointSecretSuccess {
        payload {
          secret
          webhookEndpoint {
            ...WebhookEndpointRow
          }
        }
      }
      ...MutationError
    }
  }
  ${WebhookEndpointFragment}
  ${MutationErrorFragment}
`;

export const SendTestWebhookMutation = gql<
  { sendTestWebhook: Result<{ __typename: 'SendTestWebhookSuccess'; delivery: { __typename: 'WebhookDelivery'; id: string; status: WebhookDeliveryStatus } }> },
  { id: string }
>`
  mutation SendTestWebhook($id: ID!) {
    sendTestWebhook(input: { id: $id }) {
      __typename
      ... on SendTestWebhookSuccess {
        delivery {
          id
          status
        }
      }
      ...MutationError
    }
  }
  ${MutationErrorFragment}
`;

export const DeleteWebhookEndpointMutation = gql<
  { deleteWebhookEndpoint: Result<{ __typename: 'DeleteWebhookEndpointSuccess'; deletedId: string }> },
  { id: string }
>`
  mutation DeleteWebhookEndpoint($id: ID!) {
    deleteWebhookEndpoint(input: { id: $id }) {
      __typename
      ... on DeleteWebhookEndpointSuccess {
        deletedId
      }
      ...MutationError
    }
  }
  ${MutationErrorFragment}
`;

export type UserRole = 'MEMBER' | 'EDITOR' | 'ADMIN';

export interface PersonDetail {
  __typename: 'User';
  id: string;
  name: string;
  email: string;
  role: UserRole;
  isOwner: boolean;
  createdAt: string;
}

/** The account's people with their roles (Settings, read-only). */
export const AccountPeopleQuery = gql<
  { viewer: { account: { __typename: 'Account'; id: string; users: { totalCount: number; nodes: PersonDetail[] } } } },
  Record<string, never>
>`
  query AccountPeople {
    viewer {
      account {
        id
        users(first: 100) {
          totalCount
          nodes {
            id
            name
            email
            role
            isOwner
            createdAt
          }
        }
      }
    }
  }
`;

/** A person of the account, as the "who can do this" lists show them. */
export interface AccountPerson {
  __typename: 'User';
  id: string;
  name: string;
  email: string;
  role: 'MEMBER' | 'EDITOR' | 'ADMIN';
  isOwner: boolean;
}

export interface OAuthAppIntegration {
  __typename: 'Integration';
  key: string;
  name: string;
  authMethod: AuthMethod;
  docsUrl: string;
  /** The app in use (the account's own, else the operator's default); null: none, so nobody can sign in. */
  oauthClientId: string | null;
  /** The exact redirect URI to register at the service (OAuth 2.0). */
  callbackUrl: string | null;
  defaultScopes: string[];
  /** Whether the account has its own app (a secret is set, never shown); else the operator's default, or none. */
  oauthAppConfigured: boolean;
  /** The scopes a sign-in requests: the account app's, else the defaults. */
  scopes: string[];
  /** Whether the account's app sets its own scopes. */
  oauthAppScopesCustomized: boolean;
}

/** What configureIntegration takes: the secret may be left out to keep the app's stored one; scopes null: the defaults. */
export interface ConfigureIntegrationInput {
  integration: string;
  clientId: string;
  clientSecret?: string;
  scopes: string[] | null;
}

/** What the OAuth app form shows: the integration's app, callback URL and scopes. */
export const OAuthAppQuery = gql<{ integration: OAuthAppIntegration | null }, { key: string }>`
  query OAuthApp($key: String!) {
    integration(key: $key) {
      key
      name
      authMethod
      docsUrl
      oauthClientId
      callbackUrl
      defaultScopes
      oauthAppConfigured
      scopes
      oauthAppScopesCustomized
    }
  }
`;

export const ConfigureIntegrationMutation = gql<
  { configureIntegration: Result<{ __typename: 'ConfigureIntegrationSuccess'; integration: OAuthAppIntegration }> },
  { input: ConfigureIntegrationInput }
>`
  mutation ConfigureIntegration($input: ConfigureIntegrationInput!) {
    configureIntegration(input: $input) {
      __typename
      ... on ConfigureIntegrationSuccess {
        integration {
          key
          name
          authMethod
          docsUrl
          oauthClientId
          callbackUrl
          defaultScopes
          oauthAppConfigured
          scopes
          oauthAppScopesCustomized
        }
      }
      ...MutationError
    }
  }
  ${MutationErrorFragment}
`;

export type ReconnectLinkState = 'PENDING' | 'USED' | 'EXPIRED' | 'REVOKED';

export interface ReconnectLinkSummary {
  __typename: 'ReconnectLink';
  id: string;
  state: ReconnectLinkState;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  createdBy: { __typename: 'User'; id: string; name: string } | null;
}

export const ReconnectLinkFragment = gql`
  fragment ReconnectLinkSummary on ReconnectLink {
    id
    state
    createdAt
    expiresAt
    usedAt
    createdBy {
      id
      name
    }
  }
`;

/** The reconnect links of a connection still waiting for its owner (its owner and admins see them). */
export const ConnectionReconnectLinksQuery = gql<
  { connection: { __typename: 'Connection'; id: string; reconnectLinks: ReconnectLinkSummary[] | null } | null },
  { id: string }
>`
  query ConnectionReconnectLinks($id: ID!) {
    connection(id: $id) {
      id
      reconnectLinks {
        ...ReconnectLinkSummary
      }
    }
  }
  ${ReconnectLinkFragment}
`;

export const CreateReconnectLinkMutation = gql<
  { createReconnectLink: Result<{ __typename: 'CreateReconnectLinkSuccess'; result: { url: string; link: ReconnectLinkSummary } }> },
  { input: { connectionId: string; expiresIn?: number } }
>`
  mutation CreateReconnectLink($input: CreateReconnectLinkInput!) {
    createReconnectLink(input: $input) {
      __typename
      ... on CreateReconnectLinkSuccess {
        result {
          url
          link {
            ...ReconnectLinkSummary
          }
        }
      }
      ...MutationError
    }
  }
  ${ReconnectLinkFragment}
  ${MutationErrorFragment}
`;

export const RevokeReconnectLinkMutation = gql<
  { revokeReconnectLink: Result<{ __typename: 'RevokeReconnectLinkSuccess'; link: ReconnectLinkSummary }> },
  { id: string }
>`
  mutation RevokeReconnectLink($id: ID!) {
    revokeReconnectLink(input: { id: $id }) {
      __typename
      ... on RevokeReconnectLinkSuccess {
        link {
          ...ReconnectLinkSummary
        }
      }
      ...MutationError
    }
  }
  ${ReconnectLinkFragment}
  ${MutationErrorFragment}
`;

export interface OpenedReconnectLink extends ReconnectLinkSummary {
  connection: {
    __typename: 'Connection';
    id: string;
    name: string | null;
    status: ConnectionStatus;
    integration: { __typename: 'Integration'; key: string; name: string; authMethod: AuthMethod; credentialFields: CredentialField[] };
  } | null;
}

/** The link behind a token, as its owner opens it: who asked, for which connection (null for anyone else). */
export const ReconnectLinkQuery = gql<{ reconnectLink: OpenedReconnectLink | null }, { token: string }>`
  query ReconnectLink($token: String!) {
    reconnectLink(token: $token) {
      ...ReconnectLinkSummary
      connection {
        id
        name
        status
        integration {
          key
          name
          authMethod
          ...CredentialFields
        }
      }
    }
  }
  ${ReconnectLinkFragment}
  ${CredentialFieldsFragment}
`;

export const RedeemReconnectLinkMutation = gql<
  { redeemReconnectLink: Result<{ __typename: 'RedeemReconnectLinkSuccess'; result: { authorizationUrl: string | null; connection: ConnectionSummary } }> },
  { input: { token: string; credentials?: Record<string, string>; returnTo?: string } }
>`
  mutation RedeemReconnectLink($input: RedeemReconnectLinkInput!) {
    redeemReconnectLink(input: $input) {
      __typename
      ... on RedeemReconnectLinkSuccess {
        result {
          ...StartConnectionPayload
        }
      }
      ...MutationError
    }
  }
  ${StartConnectionPayloadFragment}
  ${MutationErrorFragment}
`;
