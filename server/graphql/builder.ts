/** The Pothos builder: configuration only. Types live one module per domain noun. */
import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import DrizzlePlugin from '@pothos/plugin-drizzle';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import WithInputPlugin from '@pothos/plugin-with-input';
import { getTableConfig } from 'drizzle-orm/pg-core';
import type { Database } from '../db/client.js';
import { relations } from '../db/relations.js';
import { AuthenticationError, ForbiddenError } from '../domain/errors.js';
import type { OAuthSettings } from '../domain/oauth2.js';
import type { Vault } from '../domain/vault.js';
import type { Viewer } from '../domain/viewer.js';
import type { LiveHub } from '../realtime/hub.js';
import { decodeGlobalId, encodeGlobalId } from '../domain/global-ids.js';
import { fieldCost } from '../edge/cost.js';
import { loadVisibleNodes } from './node-access.js';
import InputRulesPlugin from './input-rules.js';

/** What every resolver receives. */
export interface Context {
  /** The drizzle client for this request: the pool, or a test's rolled-back transaction. */
  db: Database;
  /** The principal behind the request's API token; null when no valid token was sent. */
  viewer: Viewer | null;
  /** Seals and opens connection credentials. */
  vault: Vault;
  /** The OAuth callback URL and allowed return origins. */
  oauth: OAuthSettings;
  /** The instance's live hub, for subscriptions; absent where nothing serves them. */
  live?: LiveHub;
}

/** Context of a resolver that ran behind the `authenticated` scope. */
export type ViewerContext = Context & { viewer: Viewer };

const capitalize = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

export const builder = new SchemaBuilder<{
  Context: Context;
  DrizzleRelations: typeof relations;
  AuthScopes: {
    /** Any valid token. */
    authenticated: boolean;
    /** An ADMIN user or the account owner. */
    admin: boolean;
  };
  DefaultFieldNullability: false;
  Scalars: {
    ID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date | string };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
  };
}>({
  plugins: [ErrorsPlugin, ScopeAuthPlugin, InputRulesPlugin, RelayPlugin, WithInputPlugin, DrizzlePlugin, DataloaderPlugin, ComplexityPlugin],
  defaultFieldNullability: false,
  // Costs are stored on each field; the edge (server/edge/limits.ts) enforces them before execution.
  complexity: { disabled: true, fieldComplexity: fieldCost },
  scopeAuth: {
    authScopes: (context) => ({
      authenticated: context.viewer !== null,
      admin: context.viewer !== null && (context.viewer.role === 'ADMIN' || context.viewer.isOwner),
    }),
    unauthorizedError: (_parent, context) =>
      context.viewer
        ? new ForbiddenError('Your role does not allow this')
        : new AuthenticationError('Send a valid API token as "Authorization: Bearer <token>"'),
  },
  errors: {
    defaultResultOptions: { name: ({ fieldName }) => `${capitalize(fieldName)}Success` },
    defaultUnionOptions: { name: ({ fieldName }) => `${capitalize(fieldName)}Result` },
  },
  withInput: {
    typeOptions: { name: ({ fieldName }) => `${capitalize(fieldName)}Input` },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodesOnConnection: true,
    encodeGlobalID: encodeGlobalId,
    decodeGlobalID: decodeGlobalId,
    nodeQueryOptions: {
      description: 'Fetches any object of the viewer\'s account by its id; null when it does not exist or is not visible.',
      resolve: async (_root, { id }, context) => (await loadVisibleNodes(context, [id]))[0],
    },
    nodesQueryOptions: {
      description: 'Fetches objects by id, in order; null for each that does not exist or is not visible.',
      resolve: (_root, { ids }, context) => loadVisibleNodes(context, ids),
    },
  },
  drizzle: {
    client: (context) => context.db,
    getTableConfig,
    relations,
    defaultConnectionSize: 20,
    maxConnectionSize: 100,
  },
});

/** The viewer of a request; resolvers behind the `authenticated` scope always have one. */
export function viewerOf(context: Context): Viewer {
  if (!context.viewer) throw new AuthenticationError('Send a valid API token as "Authorization: Bearer <token>"');
  return context.viewer;
}
