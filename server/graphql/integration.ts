/** Integration: a service in the catalog (built in or registered by the account). */
import { dataloaderGetter } from '@pothos/plugin-dataloader';
import { resolveArrayConnection } from '@pothos/plugin-relay';
import { AUTH_METHODS, CONNECTION_POLICIES, type CredentialField, type TokenLifetime } from '../domain/catalog-types.js';
import {
  type Integration,
  listIntegrations,
  loadIntegrations,
  registerCustomIntegration,
} from '../domain/integrations.js';
import { configureIntegration, type OAuthAppSummary, oauthAppSummaries } from '../domain/oauth2.js';
import { builder, type Context, viewerOf } from './builder.js';
import { COMMON_ERRORS } from './errors.js';
import { multilineText } from './input-rules.js';
import { checkPageSize } from './pagination.js';

export const AuthMethodEnum = builder.enumType('AuthMethod', {
  description: 'How Patchbay authenticates against a service.',
  values: Object.fromEntries(
    AUTH_METHODS.map((method) => [
      method,
      {
        description: {
          OAUTH2: 'OAuth 2.0 authorization code with PKCE; the user signs in at the service.',
          OAUTH2_CLIENT_CREDENTIALS: 'OAuth 2.0 client credentials: an app-level client id and secret.',
          OAUTH1: 'OAuth 1.0a three-legged flow with signed requests.',
          BASIC: 'HTTP Basic auth with a user name and password.',
          API_KEY: 'An API key sent in a header.',
          PROXY: 'A login the gateway uses itself, such as a database account.',
        }[method],
      },
    ]),
  ) as Record<(typeof AUTH_METHODS)[number], { description: string }>,
});

const ConnectionPolicyEnum = builder.enumType('ConnectionPolicy', {
  description: 'How many live connections a service allows per resource.',
  values: {
    MULTIPLE: { description: 'Any number of connections.' },
    ONE_PER_RESOURCE: {
      description: 'One live connection per resource: a new one supersedes the old (e.g. QuickBooks Online per company).',
    },
  } satisfies Record<(typeof CONNECTION_POLICIES)[number], { description: string }>,
});

const IntegrationEndpoints = builder.objectRef<Integration['endpoints']>('IntegrationEndpoints').implement({
  description: 'The service endpoints a connection uses; null where the service has none.',
  fields: (t) => ({
    authorizeUrl: t.string({ nullable: true, description: 'Where users consent (OAuth).', resolve: (e) => e.authorize }),
    tokenUrl: t.string({ nullable: true, description: 'Token endpoint (OAuth).', resolve: (e) => e.token }),
    requestTokenUrl: t.string({
      nullable: true,
      description: 'Request-token endpoint (OAuth 1.0a).',
      resolve: (e) => e.requestToken,
    }),
    revokeUrl: t.string({ nullable: true, description: 'Token revocation endpoint.', resolve: (e) => e.revoke }),
    verifyUrl: t.string({
      nullable: true,
      description: 'The authenticated call that tests a connection.',
      resolve: (e) => e.verify?.url,
    }),
  }),
});

const TokenLifetimeType = builder.objectRef<TokenLifetime>('TokenLifetime').implement({
  description: 'How long the service’s authorizations last, from its documentation.',
  fields: (t) => ({
    accessTokenSeconds: t.exposeInt('accessTokenSeconds', { nullable: true, description: 'Access-token lifetime.' }),
    refreshTokenSeconds: t.exposeInt('refreshTokenSeconds', {
      nullable: true,
      description: 'Refresh-token lifetime; after it the user must reauthorize.',
    }),
    refreshable: t.exposeBoolean('refreshable', { description: 'Whether access can be refreshed without the user.' }),
    rotatesRefreshToken: t.boolean({
      description: 'Whether each refresh replaces the refresh token.',
      resolve: (lifetime) => lifetime.rotatesRefreshToken ?? false,
    }),
    note: t.exposeString('note', { nullable: true, description: 'A note for users, e.g. a yearly reauthorization.' }),
  }),
});

const CredentialFieldType = builder.objectRef<CredentialField>('CredentialField').implement({
  description: 'A field a user fills in to connect (API key, password, host...).',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Input key.' }),
    label: t.exposeString('label', { description: 'Label to show.' }),
    secret: t.exposeBoolean('secret', { description: 'Whether to mask it; secrets are never returned.' }),
    required: t.exposeBoolean('required', { description: 'Whether it must be filled in.' }),
    suffix: t.string({
      nullable: true,
      description: 'What the service appends to the value (e.g. ".atlassian.net"), to show after the field; a pasted full address is trimmed to the part before it.',
      resolve: (field) => field.suffix ?? null,
    }),
  }),
});

/**
 * The account's own OAuth apps by integration key, per request: every field below that needs one
 * shares a single statement for a whole page of integrations.
 */
const accountOAuthApp = dataloaderGetter<string, OAuthAppSummary | null, string>(
  undefined,
  (keys, context) => oauthAppSummaries((context as Context).db, viewerOf(context as Context).accountId, keys),
  undefined,
  false,
);

/** The Integration type, for fields elsewhere that return one. */
export const IntegrationType = builder.objectRef<Integration>('Integration').implement({
  description: 'A service Patchbay can connect to.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Stable identifier, e.g. "quickbooks-online".' }),
    name: t.exposeString('name', { description: 'Display name.' }),
    description: t.exposeString('description', { description: 'What the service is.' }),
    authMethod: t.field({ type: AuthMethodEnum, description: 'How it authenticates.', resolve: (i) => i.authMethod }),
    docsUrl: t.exposeString('docsUrl', { description: 'The service’s API authentication docs.' }),
    endpoints: t.field({ type: IntegrationEndpoints, description: 'Service endpoints.', resolve: (i) => i.endpoints }),
    defaultScopes: t.exposeStringList('defaultScopes', { description: 'OAuth scopes requested by default.' }),
    credentialFields: t.field({
      type: [CredentialFieldType],
      description: 'What a user fills in to connect (non-OAuth methods).',
      resolve: (i) => i.credentialFields,
    }),
    tokenLifetime: t.field({ type: TokenLifetimeType, description: 'Token lifetime facts.', resolve: (i) => i.tokenLifetime }),
    revocable: t.exposeBoolean('revocable', { description: 'Whether tokens can be revoked at the service.' }),
    requirements: t.exposeStringList('requirements', { description: 'What the connecting user must have or be.' }),
    connectionPolicy: t.field({
      type: ConnectionPolicyEnum,
      description: 'MULTIPLE or ONE_PER_RESOURCE.',
      resolve: (i) => i.connectionPolicy,
    }),
    resourceKind: t.exposeString('resourceKind', {
      nullable: true,
      description: 'What a connection is bound to, e.g. a GA4 property or a QuickBooks company.',
    }),
    isCustom: t.boolean({ description: 'Whether the account registered it.', resolve: (i) => Boolean(i.customId) }),
    callbackUrl: t.string({
      nullable: true,
      description: 'OAuth 2.0: the exact redirect URI to register with the service; null for other methods.',
      resolve: (i, _args, context) => (i.authMethod === 'OAUTH2' ? context.oauth.callbackUrl : null),
    }),
    oauthClientId: t.string({
      nullable: true,
      description:
        'OAuth: the client id of the app in use: the account’s own, else the operator’s default; null when neither is configured.',
      resolve: async (i, _args, context) =>
        (await accountOAuthApp(context).load(i.key))?.clientId ?? context.oauth.defaultApps?.get(i.key)?.clientId ?? null,
    }),
    oauthAppConfigured: t.boolean({
      description: 'OAuth: whether the account has its own app (its client secret is set; it is never returned).',
      resolve: async (i, _args, context) => Boolean(await accountOAuthApp(context).load(i.key)),
    }),
    scopes: t.stringList({
      description: 'OAuth 2.0: the scopes a sign-in requests: those set on the account’s app, else `defaultScopes`.',
      resolve: async (i, _args, context) => (await accountOAuthApp(context).load(i.key))?.scopes ?? i.defaultScopes,
    }),
    oauthAppScopesCustomized: t.boolean({
      description: 'OAuth 2.0: whether the account’s app sets its own scopes instead of `defaultScopes`.',
      resolve: async (i, _args, context) => Boolean((await accountOAuthApp(context).load(i.key))?.scopes),
    }),
  }),
});

const IntegrationFilter = builder.inputType('IntegrationFilter', {
  description: 'Narrows the catalog.',
  fields: (t) => ({
    authMethod: t.field({ type: AuthMethodEnum, description: 'Only this auth method.' }),
    search: t.string({ description: 'Text in the name, key or description (case-insensitive).' }),
  }),
});

builder.queryFields((t) => ({
  integrations: t.connection(
    {
      type: IntegrationType,
      description: 'The catalog: built-in integrations, then the account’s custom ones.',
      authScopes: { authenticated: true },
      args: { filter: t.arg({ type: IntegrationFilter, description: 'Narrows the list.' }) },
      resolve: async (_root, args, context) => {
        checkPageSize(args);
        const items = await listIntegrations(context.db, viewerOf(context).accountId, args.filter ?? {});
        return { ...resolveArrayConnection({ args }, items), totalCount: items.length };
      },
    },
    {
      fields: (connection) => ({
        totalCount: connection.int({
          description: 'How many integrations match, across all pages.',
          resolve: (page) => page.totalCount,
        }),
      }),
    },
  ),
  integration: t.field({
    type: IntegrationType,
    nullable: true,
    description: 'One integration by key; null when the account has no such integration.',
    authScopes: { authenticated: true },
    args: { key: t.arg.string({ required: true, description: 'The integration key.' }) },
    resolve: async (_root, { key }, context) =>
      (await loadIntegrations(context.db, viewerOf(context).accountId, [key]))[0] ?? null,
  }),
}));

builder.mutationField('configureIntegration', (t) =>
  t.fieldWithInput({
    type: IntegrationType,
    description:
      'Sets the account’s OAuth app for an integration (admins): the client id, the secret (stored encrypted and never returned; left out, the app keeps its stored one) and the scopes.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'integration' } },
    input: {
      integration: t.input.string({ required: true, description: 'The integration key.' }),
      clientId: t.input.string({ required: true, description: 'The app’s client id at the service.' }),
      clientSecret: t.input.string({
        description: 'The app’s client secret (write-only); leave it out to keep the stored one (required for a new app).',
      }),
      scopes: t.input.stringList({
        description: 'OAuth 2.0: the scopes sign-ins request (1 to 50, no spaces); null or absent: the integration’s `defaultScopes`.',
      }),
    },
    resolve: (_root, { input }, context) => configureIntegration(context.db, context.vault, viewerOf(context), input),
  }),
);

builder.mutationField('registerIntegration', (t) =>
  t.fieldWithInput({
    type: IntegrationType,
    description: 'Registers a custom integration for the account (admins): OAuth 2.0 or an API key.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'integration' } },
    input: {
      key: t.input.string({ required: true, description: 'kebab-case identifier, unique in the account.' }),
      name: t.input.string({ required: true, description: 'Display name.' }),
      authMethod: t.input.field({ type: AuthMethodEnum, required: true, description: 'OAUTH2 or API_KEY.' }),
      description: t.input.string({ description: 'What the service is.', ...multilineText }),
      authorizeUrl: t.input.string({ description: 'OAuth 2.0 authorization endpoint.' }),
      tokenUrl: t.input.string({ description: 'OAuth 2.0 token endpoint.' }),
      revokeUrl: t.input.string({ description: 'RFC 7009 revocation endpoint.' }),
      requestTokenUrl: t.input.string({ description: 'OAUTH1: the request-token endpoint.' }),
      verifyUrl: t.input.string({ description: 'An authenticated GET that tests a connection.' }),
      scopes: t.input.stringList({ description: 'OAuth scopes to request.' }),
      apiKeyHeader: t.input.string({ description: 'API_KEY: header carrying the key.' }),
      apiKeyPrefix: t.input.string({ description: 'API_KEY: prefix before the key, e.g. "Bearer ".' }),
      issuerUrl: t.input.string({
        description: 'OAUTH2: the issuer URL; its discovery document supplies the endpoints and enables the `iss` check.',
      }),
      connectionPolicy: t.input.field({
        type: ConnectionPolicyEnum,
        description: 'ONE_PER_RESOURCE when the service allows one live connection per resource (default MULTIPLE).',
      }),
    },
    resolve: (_root, { input }, context) => registerCustomIntegration(context.db, viewerOf(context), input),
  }),
);
