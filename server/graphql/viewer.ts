/** Viewer: who is asking (`Query.viewer`). */
import type { Viewer } from '../domain/viewer.js';
import { ApiTokenKindEnum } from './api-token.js';
import { builder, viewerOf } from './builder.js';
import { checkPageSize, MAX_PAGE_SIZE } from './pagination.js';

export const ViewerType = builder.objectRef<Viewer>('Viewer').implement({
  description: 'The authenticated principal of the request.',
  fields: (t) => ({
    user: t.drizzleField({
      type: 'users',
      description: 'The user the API token belongs to.',
      resolve: async (query, viewer, _args, context) =>
        (await context.db.query.users.findFirst(query({ where: { id: viewer.userId } })))!,
    }),
    account: t.drizzleField({
      type: 'accounts',
      description: 'The viewer’s account.',
      resolve: async (query, viewer, _args, context) =>
        (await context.db.query.accounts.findFirst(query({ where: { id: viewer.accountId } })))!,
    }),
    tokenKind: t.field({
      type: ApiTokenKindEnum,
      description: 'Whether the request came from a user token or a SERVICE (partner worker) token.',
      resolve: (viewer) => viewer.tokenKind,
    }),
    apiTokens: t.drizzleConnection({
      type: 'apiTokens',
      description: 'The viewer’s own API tokens, newest first.',
      maxSize: MAX_PAGE_SIZE,
      resolve: (query, viewer, args, context) => {
        checkPageSize(args);
        return context.db.query.apiTokens.findMany(
          query({ where: { userId: viewer.userId }, orderBy: { createdAt: 'desc' } }),
        );
      },
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerType,
    description: 'The user behind the API token, and their account.',
    authScopes: { authenticated: true },
    resolve: (_root, _args, context) => viewerOf(context),
  }),
);
