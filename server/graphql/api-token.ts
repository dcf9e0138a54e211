/** ApiToken: how people and partner workers authenticate. */
import { createApiToken, revokeApiToken } from '../domain/api-tokens.js';
import { builder, viewerOf } from './builder.js';
import { COMMON_ERRORS } from './errors.js';
import { parseGlobalId } from '../domain/global-ids.js';
import { MAX_PAGE_SIZE, pageQuery } from './pagination.js';

export const ApiTokenKindEnum = builder.enumType('ApiTokenKind', {
  description: 'Who a token is for.',
  values: {
    USER: { description: 'Acts as the user who created it, with that user’s role.' },
    SERVICE: {
      description: 'A partner worker: sees every connection of the account and may fetch access tokens.',
    },
  },
});

const ApiToken = builder.drizzleNode('apiTokens', {
  name: 'ApiToken',
  description: 'An API token. Its secret is shown once, at creation, and never stored.',
  id: { column: (token) => token.id },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'What the token is for.' }),
    kind: t.expose('kind', { type: ApiTokenKindEnum, description: 'USER or SERVICE.' }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the token, to tell tokens apart.' }),
    user: t.relation('user', { description: 'The user the token acts as.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the token was created.' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the token last authenticated a request (to the minute).',
    }),
    revokedAt: t.expose('revokedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the token was revoked; revoked tokens authenticate nothing.',
    }),
  }),
});

const CreateApiTokenPayload = builder
  .objectRef<{ token: string; apiToken: typeof ApiToken.$inferType }>('CreateApiTokenPayload')
  .implement({
    description: 'A new token. Store `token` now: it cannot be shown again.',
    fields: (t) => ({
      token: t.exposeString('token', { description: 'The secret, to send as "Authorization: Bearer <token>".' }),
      apiToken: t.field({ type: ApiToken, description: 'The stored token.', resolve: (payload) => payload.apiToken }),
    }),
  });

builder.mutationField('createApiToken', (t) =>
  t.fieldWithInput({
    type: CreateApiTokenPayload,
    description: 'Creates an API token for the viewer. SERVICE tokens need an admin.',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'payload' } },
    input: {
      name: t.input.string({ required: true, description: 'What the token is for.' }),
      kind: t.input.field({ type: ApiTokenKindEnum, defaultValue: 'USER', description: 'USER (default) or SERVICE.' }),
    },
    resolve: async (_root, { input }, context) => {
      const { token, row } = await createApiToken(context.db, viewerOf(context), {
        name: input.name,
        kind: input.kind ?? ('USER' as const),
      });
      return { token, apiToken: row };
    },
  }),
);

builder.mutationField('revokeApiToken', (t) =>
  t.fieldWithInput({
    type: ApiToken,
    description: 'Revokes a token at once. Users revoke their own; admins any in the account.',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'apiToken' } },
    input: { id: t.input.id({ required: true, description: 'The ApiToken id.' }) },
    resolve: (_root, { input }, context) =>
      revokeApiToken(context.db, viewerOf(context), parseGlobalId(input.id, 'ApiToken')),
  }),
);

builder.drizzleObjectField('accounts', 'apiTokens', (t) =>
  t.relatedConnection('apiTokens', {
    description: 'Every API token of the account (revoked ones too), newest first, with the user each acts as; null unless the viewer is an admin.',
    nullable: true,
    authScopes: { admin: true },
    unauthorizedResolver: () => null,
    maxSize: MAX_PAGE_SIZE,
    totalCount: true,
    query: (args) => pageQuery(args, { orderBy: { createdAt: 'desc' as const } }),
  }),
);
