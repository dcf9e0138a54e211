/** Connection: one user's authorization to one integration, and its root fields and mutations. */
import {
  connectionListCondition,
  connectionSearch,
  countConnections,
  deleteConnection,
  updateConnection,
  type ConnectionListFilter,
} from '../domain/connections.js';
import { DISCONNECT_REASONS } from '../domain/disconnect-reasons.js';
import { ValidationError } from '../domain/errors.js';
import { loadIntegrations } from '../domain/integrations.js';
import type { ConnectionRow, DisconnectReason } from '../domain/types.js';
import {
  canEditConnection,
  canEditDataSources,
  canManageConnection,
  canShareConnection,
  canUseConnection,
  type Viewer,
} from '../domain/viewer.js';
import { builder, viewerOf, type Context } from './builder.js';
import { ConnectionStatusEnum, DisconnectReasonEnum } from './connection-status.js';
import { COMMON_ERRORS } from './errors.js';
import { multilineText } from './input-rules.js';
import { encodeGlobalId, parseGlobalId } from '../domain/global-ids.js';
import { IntegrationType } from './integration.js';
import { checkPageSize, MAX_PAGE_SIZE, pageQuery } from './pagination.js';
import type { connections } from '../db/schema.js';
import { ConnectionInUseError, CredentialsRejectedError, ProviderUnavailableError } from '../domain/errors.js';
import type { AvailableResource } from '../domain/auth-methods.js';
import {
  connectionAccessToken,
  listAvailableResources,
  reauthenticateConnection,
  reportConnectionError,
  revokeConnection,
  startConnection,
  type StartResult,
  testConnection,
} from '../domain/lifecycle.js';

interface Problem {
  reason: DisconnectReason;
  message: string | null;
}

export const ConnectionProblem = builder.objectRef<Problem>('ConnectionProblem').implement({
  description: 'Why a connection is broken and what to do about it.',
  fields: (t) => ({
    reason: t.field({ type: DisconnectReasonEnum, description: 'The classified reason.', resolve: (p) => p.reason }),
    message: t.exposeString('message', { nullable: true, description: 'The service’s own message, if any.' }),
    interpretation: t.string({
      description: 'What most likely happened.',
      resolve: (p) => DISCONNECT_REASONS[p.reason].interpretation,
    }),
    resolution: t.string({ description: 'What to do about it.', resolve: (p) => DISCONNECT_REASONS[p.reason].resolution }),
  }),
});

interface Permissions {
  use: boolean;
  edit: boolean;
  rename: boolean;
  share: boolean;
  editDataSources: boolean;
  reauthenticate: boolean;
  revoke: boolean;
  delete: boolean;
}

const ConnectionPermissions = builder.objectRef<Permissions>('ConnectionPermissions').implement({
  description: 'What the viewer may do with a connection; the dashboard shows buttons by these.',
  fields: (t) => ({
    use: t.exposeBoolean('use', { description: 'See its details and read data sources through it.' }),
    edit: t.exposeBoolean('edit', {
      description: 'Rename it (same as `rename`).',
      deprecationReason: 'Renaming and sharing have their own rules now: use `rename` and `share`.',
    }),
    rename: t.exposeBoolean('rename', { description: 'Rename it: its owner, or an admin when it is shared.' }),
    share: t.exposeBoolean('share', { description: 'Share or unshare it: its owner only.' }),
    editDataSources: t.exposeBoolean('editDataSources', {
      description: 'Add, change and delete its data sources, and refresh them now: editors, admins, its owner and service workers, where they may use it.',
    }),
    reauthenticate: t.exposeBoolean('reauthenticate', { description: 'Authorize it again (same id).' }),
    revoke: t.exposeBoolean('revoke', { description: 'Revoke it at the service and here.' }),
    delete: t.exposeBoolean('delete', { description: 'Delete it (only once no data source depends on it).' }),
  }),
});

/**
 * For fields that reveal a connection's contents: null unless the viewer may use the connection
 * (admins see that a private connection of another user exists, not what is in it).
 */
const hiddenFromNonUsers = {
  authScopes: (connection: ConnectionRow, _args: object, context: Context) =>
    canUseConnection(viewerOf(context), connection),
  unauthorizedResolver: () => null,
};

const AvailableResourceType = builder.objectRef<AvailableResource>('AvailableResource').implement({
  description: 'A resource a connection can read.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Its id at the service (e.g. "public.orders").' }),
    name: t.exposeString('name', { description: 'Display name.' }),
  }),
});

export const ConnectionType = builder.drizzleNode('connections', {
  name: 'Connection',
  description:
    'A user’s authorization to an integration. Private connections of other users show only that they exist (to admins).',
  id: { column: (connection) => connection.id },
  fields: (t) => ({
    name: t.exposeString('name', {
      nullable: true,
      description: 'Its name, e.g. "Pam’s QBO Company A"; null when private to another user.',
      ...hiddenFromNonUsers,
    }),
    status: t.expose('status', { type: ConnectionStatusEnum, description: 'Lifecycle status.' }),
    problem: t.field({
      type: ConnectionProblem,
      nullable: true,
      description: 'Why it is DISCONNECTED and how to fix it; null otherwise.',
      resolve: (c) =>
        c.status === 'DISCONNECTED' ? { reason: c.disconnectReason ?? 'UNKNOWN', message: c.errorMessage } : null,
    }),
    shared: t.exposeBoolean('shared', { description: 'Usable by everyone in the account, not only its owner.' }),
    owner: t.relation('owner', { description: 'The user who authorized it.' }),
    integration: t.loadable({
      type: IntegrationType,
      description: 'The service it connects to.',
      sort: (integration) => integration.key,
      load: async (keys: string[], context: Context) => {
        const found = await loadIntegrations(context.db, viewerOf(context).accountId, keys);
        return found.map((integration, index) => integration ?? new Error(`Integration ${keys[index]} not found`));
      },
      resolve: (c) => c.integrationKey,
    }),
    resourceId: t.exposeString('resourceId', {
      nullable: true,
      description: 'The resource picked while connecting (account, property, store, company id); null when private to another user.',
      ...hiddenFromNonUsers,
    }),
    resourceName: t.exposeString('resourceName', {
      nullable: true,
      description: 'The resource’s display name; null when private to another user.',
      ...hiddenFromNonUsers,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    lastCheckedAt: t.expose('lastCheckedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was last tested against the service.',
    }),
    accessTokenExpiresAt: t.expose('accessTokenExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the current access token expires (it is refreshed before then).',
    }),
    refreshBlockedUntil: t.expose('refreshBlockedUntil', {
      type: 'DateTime',
      nullable: true,
      description:
        'No token refresh is sent to the service before this instant (its Retry-After, or the backoff after a failed refresh), whichever gateway asks; null or past: none is pending.',
    }),
    reauthorizeBy: t.expose('reauthorizeBy', {
      type: 'DateTime',
      nullable: true,
      description: 'When the service will demand a new sign-in (e.g. LinkedIn yearly).',
    }),
    availableResources: t.field({
      type: [AvailableResourceType],
      nullable: true,
      description:
        'PROXY connections: the resources (tables) its login can read, listed live from the service; null for other methods.',
      resolve: (c, _args, context) => listAvailableResources(context.db, context.vault, viewerOf(context), c),
    }),
    viewerCan: t.field({
      type: ConnectionPermissions,
      description: 'What the viewer may do with it.',
      select: { with: { dataSources: { columns: { id: true }, limit: 1 } } },
      resolve: (c, _args, context) => {
        const viewer = viewerOf(context);
        const manage = canManageConnection(viewer, c);
        const edit = canEditConnection(viewer, c);
        return {
          use: canUseConnection(viewer, c),
          edit,
          rename: edit,
          share: canShareConnection(viewer, c),
          editDataSources: canEditDataSources(viewer, c),
          reauthenticate: edit,
          revoke: manage && (c.status === 'ACTIVE' || c.status === 'DISCONNECTED'),
          delete: manage && c.dataSources.length === 0,
        };
      },
    }),
    dataSources: t.relatedConnection('dataSources', {
      description: 'The data sources read through it, oldest first; null when it is private to another user.',
      nullable: true,
      ...hiddenFromNonUsers,
      maxSize: MAX_PAGE_SIZE,
      totalCount: true,
      query: (args) => pageQuery(args, { orderBy: { createdAt: 'asc' as const } }),
    }),
    events: t.relatedConnection('events', {
      description:
        'Its changes (status changes, renames, sharing, reauthentication, data sources: see ConnectionEvent.kind), newest first. Like its status and problem, and like the event feed and live status, they are visible to whoever may see the connection.',
      nullable: true,
      maxSize: MAX_PAGE_SIZE,
      totalCount: true,
      query: (args) => pageQuery(args, { orderBy: { createdAt: 'desc' as const } }),
    }),
  }),
});

const ConnectionFilter = builder.inputType('ConnectionFilter', {
  description: 'Narrows a connection list; all given fields must match.',
  fields: (t) => ({
    status: t.field({ type: [ConnectionStatusEnum], description: 'Any of these statuses.' }),
    integration: t.string({ description: 'An integration key.' }),
    owner: t.id({ description: 'A User id.' }),
    shared: t.boolean({ description: 'Shared (true) or private (false) connections.' }),
    search: t.string({
      description:
        'Text found in the name or the resource’s name, case-insensitive (at most 120 characters); only connections the viewer may use match.',
    }),
  }),
});

const ConnectionOrder = builder.enumType('ConnectionOrder', {
  description: 'The order of a connection list.',
  values: {
    CREATED_AT_DESC: { description: 'Newest first (default).' },
    CREATED_AT_ASC: { description: 'Oldest first.' },
    NAME_ASC: { description: 'By name, A to Z.' },
    UPDATED_AT_DESC: { description: 'Most recently changed first.' },
  },
});

const ORDERINGS = {
  CREATED_AT_DESC: { createdAt: 'desc' },
  CREATED_AT_ASC: { createdAt: 'asc' },
  NAME_ASC: { name: 'asc' },
  UPDATED_AT_DESC: { updatedAt: 'desc' },
} as const;

async function listFilter(
  context: Context,
  filter:
    | { status?: ConnectionRow['status'][] | null; integration?: string | null; owner?: string | null; shared?: boolean | null; search?: string | null }
    | null
    | undefined,
): Promise<ConnectionListFilter> {
  if (!filter) return {};
  if (filter.integration != null) {
    const [integration] = await loadIntegrations(context.db, viewerOf(context).accountId, [filter.integration]);
    if (!integration) throw new ValidationError(`Unknown integration "${filter.integration}"`, 'filter.integration');
  }
  return {
    status: filter.status,
    integrationKey: filter.integration,
    ownerId: filter.owner == null ? null : parseGlobalId(filter.owner, 'User', 'filter.owner'),
    shared: filter.shared,
    search: connectionSearch(filter.search),
  };
}

/** Connection list arguments, shared by Query.connections and Account.connections. */
const listArgs = builder.args((t) => ({
  filter: t.field({ type: ConnectionFilter, description: 'Narrows the list.' }),
  orderBy: t.field({ type: ConnectionOrder, defaultValue: 'CREATED_AT_DESC', description: 'The order.' }),
}));

builder.queryFields((t) => ({
  connections: t.drizzleConnection({
    type: 'connections',
    description: 'The connections the viewer may see.',
    authScopes: { authenticated: true },
    args: listArgs,
    maxSize: MAX_PAGE_SIZE,
    totalCount: async (_root, args, context) => {
      checkPageSize(args);
      return countConnections(context.db, viewerOf(context), await listFilter(context, args.filter));
    },
    resolve: async (query, _root, args, context) => {
      const viewer = viewerOf(context);
      const filter = await listFilter(context, args.filter);
      checkPageSize(args);
      return context.db.query.connections.findMany(
        query({
          where: { RAW: (table) => connectionListCondition(table, viewer, filter) },
          orderBy: ORDERINGS[args.orderBy ?? 'CREATED_AT_DESC'],
        }),
      );
    },
  }),
  connection: t.drizzleField({
    type: 'connections',
    nullable: true,
    description: 'One connection by id; null when it does not exist or is not visible.',
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true, description: 'The Connection id.' }) },
    resolve: async (query, _root, args, context) => {
      const viewer = viewerOf(context);
      const id = parseGlobalId(args.id, 'Connection');
      return (
        (await context.db.query.connections.findFirst(
          query({ where: { id, RAW: (table) => connectionListCondition(table, viewer) } }),
        )) ?? null
      );
    },
  }),
}));

builder.drizzleObjectField('accounts', 'connections', (t) =>
  t.relatedConnection('connections', {
    description: 'The account’s connections the viewer may see (Query.connections also gives their totalCount).',
    maxSize: MAX_PAGE_SIZE,
    args: listArgs,
    query: (args, context) => {
      const viewer: Viewer = viewerOf(context);
      // Filters resolved synchronously here: the integration and owner are checked for shape only.
      const filter: ConnectionListFilter = {
        status: args.filter?.status,
        integrationKey: args.filter?.integration,
        ownerId: args.filter?.owner == null ? null : parseGlobalId(args.filter.owner, 'User', 'filter.owner'),
        shared: args.filter?.shared,
        search: connectionSearch(args.filter?.search),
      };
      return pageQuery(args, {
        where: { RAW: (table: typeof connections) => connectionListCondition(table, viewer, filter) },
        orderBy: ORDERINGS[args.orderBy ?? 'CREATED_AT_DESC'],
      });
    },
  }),
);

builder.mutationFields((t) => ({
  updateConnection: t.fieldWithInput({
    type: ConnectionType,
    description: 'Renames a connection or changes its sharing (owner or admin).',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'connection' } },
    input: {
      id: t.input.id({ required: true, description: 'The Connection id.' }),
      name: t.input.string({ description: 'New name, 1 to 120 characters.' }),
      shared: t.input.boolean({ description: 'Share with the account (true) or keep private (false).' }),
    },
    resolve: (_root, { input }, context) =>
      updateConnection(context.db, viewerOf(context), parseGlobalId(input.id, 'Connection'), input),
  }),
  deleteConnection: t.fieldWithInput({
    type: 'ID',
    description: 'Deletes a connection with its credentials and history; refused while data sources use it.',
    authScopes: { authenticated: true },
    errors: { types: [...COMMON_ERRORS, ConnectionInUseError], dataField: { name: 'deletedId' } },
    input: { id: t.input.id({ required: true, description: 'The Connection id.' }) },
    resolve: async (_root, { input }, context) => {
      const row = await deleteConnection(context.db, viewerOf(context), parseGlobalId(input.id, 'Connection'));
      return encodeGlobalId('Connection', row.id);
    },
  }),
}));

export const LIFECYCLE_ERRORS = [...COMMON_ERRORS, CredentialsRejectedError, ProviderUnavailableError];

export const credentialsInput = (description: string) => ({ type: 'JSONObject' as const, description });

const TestConnectionPayload = builder
  .objectRef<{ connection: ConnectionRow; ok: boolean; transientMessage?: string }>('TestConnectionPayload')
  .implement({
    description: 'The outcome of testing a connection against its service.',
    fields: (t) => ({
      connection: t.field({ type: ConnectionType, description: 'The connection after the test.', resolve: (p) => p.connection }),
      ok: t.exposeBoolean('ok', { description: 'Whether the service accepted the connection.' }),
      transientMessage: t.exposeString('transientMessage', {
        nullable: true,
        description: 'Set when the service could not be reached; the status did not change.',
      }),
    }),
  });

const RevokeConnectionPayload = builder
  .objectRef<{ connection: ConnectionRow; providerRevoked: boolean; providerMessage: string }>('RevokeConnectionPayload')
  .implement({
    description: 'A revoked connection, and what happened at the service.',
    fields: (t) => ({
      connection: t.field({ type: ConnectionType, description: 'The REVOKED connection.', resolve: (p) => p.connection }),
      providerRevoked: t.exposeBoolean('providerRevoked', { description: 'Whether the service confirmed the revocation.' }),
      providerMessage: t.exposeString('providerMessage', { description: 'What happened at the service.' }),
    }),
  });

export const StartConnectionPayload = builder.objectRef<StartResult>('StartConnectionPayload').implement({
  description: 'A started or reauthenticated connection, and where to send the user next.',
  fields: (t) => ({
    connection: t.field({ type: ConnectionType, description: 'The connection (PENDING until an OAuth sign-in completes).', resolve: (p) => p.connection }),
    authorizationUrl: t.exposeString('authorizationUrl', {
      nullable: true,
      description: 'OAuth: send the user here to authorize; it returns through /oauth/callback. Null when already ACTIVE.',
    }),
  }),
});

builder.mutationFields((t) => ({
  startConnection: t.fieldWithInput({
    type: StartConnectionPayload,
    description:
      'Starts a connection. OAuth 2.0: returns the authorization URL. Credentials (API key, Basic, database login): tested at the service first; on rejection nothing is stored.',
    authScopes: { authenticated: true },
    errors: { types: LIFECYCLE_ERRORS, dataField: { name: 'result' } },
    input: {
      integration: t.input.string({ required: true, description: 'The integration key.' }),
      name: t.input.string({ required: true, description: 'Its name, 1 to 120 characters.' }),
      shared: t.input.boolean({ description: 'Share with the account (default: private to you).' }),
      resourceId: t.input.string({ description: 'The resource it is bound to, if any.' }),
      resourceName: t.input.string({ description: 'The resource’s display name.' }),
      credentials: t.input.field(credentialsInput('Values for the integration’s credentialFields, by key.')),
      returnTo: t.input.string({ description: 'OAuth: where to send the user after the callback (must be an allowed origin).' }),
    },
    resolve: (_root, { input }, context) =>
      startConnection(context.db, context.vault, context.oauth, viewerOf(context), input),
  }),
  testConnection: t.fieldWithInput({
    type: TestConnectionPayload,
    description: 'Tests a connection against its service and records the outcome.',
    authScopes: { authenticated: true },
    errors: { types: LIFECYCLE_ERRORS, dataField: { name: 'result' } },
    input: { id: t.input.id({ required: true, description: 'The Connection id.' }) },
    resolve: (_root, { input }, context) =>
      testConnection(context.db, context.vault, context.oauth, viewerOf(context), parseGlobalId(input.id, 'Connection')),
  }),
  reauthenticateConnection: t.fieldWithInput({
    type: StartConnectionPayload,
    description:
      'Reauthenticates a connection (owner or admin), keeping its id so its data sources carry on: a new OAuth authorization URL, or new credentials.',
    authScopes: { authenticated: true },
    errors: { types: LIFECYCLE_ERRORS, dataField: { name: 'result' } },
    input: {
      id: t.input.id({ required: true, description: 'The Connection id.' }),
      credentials: t.input.field(credentialsInput('New values for the integration’s credentialFields (non-OAuth).')),
      returnTo: t.input.string({ description: 'OAuth: where to send the user after the callback.' }),
    },
    resolve: (_root, { input }, context) =>
      reauthenticateConnection(context.db, context.vault, context.oauth, viewerOf(context), parseGlobalId(input.id, 'Connection'), input),
  }),
  revokeConnection: t.fieldWithInput({
    type: RevokeConnectionPayload,
    description:
      'Revokes a connection (owner or admin): revoked at the service where it offers RFC 7009, credentials wiped, status REVOKED.',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'result' } },
    input: { id: t.input.id({ required: true, description: 'The Connection id.' }) },
    resolve: (_root, { input }, context) =>
      revokeConnection(context.db, context.vault, context.oauth, viewerOf(context), parseGlobalId(input.id, 'Connection')),
  }),
}));

const AccessTokenPayload = builder
  .objectRef<{ accessToken: string; expiresAt: string | null; connection: ConnectionRow }>('ConnectionAccessTokenPayload')
  .implement({
    description: 'A usable access token for a connection, for a partner worker. Treat it as a secret.',
    fields: (t) => ({
      accessToken: t.exposeString('accessToken', { description: 'The OAuth access token.' }),
      expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'When it expires, if known.' }),
      connection: t.field({ type: ConnectionType, description: 'The connection.', resolve: (p) => p.connection }),
    }),
  });

builder.mutationFields((t) => ({
  connectionAccessToken: t.fieldWithInput({
    type: AccessTokenPayload,
    description:
      'SERVICE tokens only: a fresh access token for an OAuth connection (refreshed first when due, single-flight across gateways). Audited.',
    authScopes: { authenticated: true },
    errors: { types: LIFECYCLE_ERRORS, dataField: { name: 'result' } },
    input: { connectionId: t.input.id({ required: true, description: 'The Connection id.' }) },
    resolve: (_root, { input }, context) =>
      connectionAccessToken(context.db, context.vault, context.oauth, viewerOf(context), parseGlobalId(input.connectionId, 'Connection', 'connectionId')),
  }),
  reportConnectionError: t.fieldWithInput({
    type: ConnectionType,
    description: 'A worker reports a definitive problem it hit; the connection becomes DISCONNECTED with that reason.',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'connection' } },
    input: {
      id: t.input.id({ required: true, description: 'The Connection id.' }),
      reason: t.input.field({ type: DisconnectReasonEnum, required: true, description: 'How the problem is classified.' }),
      message: t.input.string({ description: 'The service’s message (never a credential).', ...multilineText }),
    },
    resolve: (_root, { input }, context) =>
      reportConnectionError(context.db, viewerOf(context), parseGlobalId(input.id, 'Connection'), input),
  }),
}));
