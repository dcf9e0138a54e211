/** ReconnectLink: a one-time, expiring link that lets a connection's owner repair it. */
import {
  createReconnectLink,
  openReconnectLink,
  pendingReconnectLinks,
  type ReconnectLink,
  type ReconnectLinkState,
  redeemReconnectLink,
  revokeReconnectLink,
} from '../domain/reconnect-links.js';
import { NotFoundError } from '../domain/errors.js';
import { encodeGlobalId, parseGlobalId } from '../domain/global-ids.js';
import type { ConnectionRow } from '../domain/types.js';
import { builder, viewerOf } from './builder.js';
import { ConnectionType, credentialsInput, LIFECYCLE_ERRORS, StartConnectionPayload } from './connection.js';
import { COMMON_ERRORS } from './errors.js';
import { UserType } from './user.js';

const ReconnectLinkStateEnum = builder.enumType('ReconnectLinkState', {
  description: 'Where a reconnect link stands.',
  values: {
    PENDING: { description: 'Waiting for the connection’s owner to use it.' },
    USED: { description: 'Used: the connection came back through it (it works once).' },
    EXPIRED: { description: 'Past its expiry, unused.' },
    REVOKED: { description: 'Withdrawn before it was used.' },
  } satisfies Record<ReconnectLinkState, { description: string }>,
});

const ReconnectLinkType = builder.objectRef<ReconnectLink & { connection?: ConnectionRow }>('ReconnectLink').implement({
  description: 'A one-time, expiring link for a connection’s owner to sign in at the service again. Its URL is shown only when created.',
  fields: (t) => ({
    id: t.id({ description: 'The link’s id (for revoking it).', resolve: (link) => encodeGlobalId('ReconnectLink', link.id) }),
    state: t.field({ type: ReconnectLinkStateEnum, description: 'Pending, used, expired or revoked.', resolve: (link) => link.state }),
    createdBy: t.field({
      type: UserType,
      nullable: true,
      description: 'Who asked for it; null once that user is gone.',
      resolve: (link) => link.createdBy,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it stops working.' }),
    usedAt: t.expose('usedAt', { type: 'DateTime', nullable: true, description: 'When the connection came back through it.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was withdrawn.' }),
    connection: t.field({
      type: ConnectionType,
      nullable: true,
      description: 'The connection it repairs (shown to its owner, who opens the link).',
      resolve: (link) => link.connection ?? null,
    }),
  }),
});

const CreateReconnectLinkPayload = builder.objectRef<{ link: ReconnectLink; url: string }>('CreateReconnectLinkPayload').implement({
  description: 'A new reconnect link and its URL, shown this once.',
  fields: (t) => ({
    link: t.field({ type: ReconnectLinkType, description: 'The link.', resolve: (p) => p.link }),
    url: t.exposeString('url', { description: 'Send this to the connection’s owner; it is not shown again.' }),
  }),
});

builder.objectField(ConnectionType, 'reconnectLinks', (t) =>
  t.field({
    type: [ReconnectLinkType],
    nullable: true,
    description: 'Reconnect links waiting to be used, newest first; null unless the viewer is its owner or an admin.',
    resolve: (connection, _args, context) => pendingReconnectLinks(context.db, viewerOf(context), connection),
  }),
);

builder.queryField('reconnectLink', (t) =>
  t.field({
    type: ReconnectLinkType,
    nullable: true,
    description:
      'The link behind a reconnect token, for the connection’s owner; null for anyone else and for unknown tokens. A used, expired or revoked link is still answered, with its state.',
    authScopes: { authenticated: true },
    args: { token: t.arg.string({ required: true, description: 'The token from the link’s URL.' }) },
    resolve: async (_root, { token }, context) => {
      try {
        return await openReconnectLink(context.db, viewerOf(context), token);
      } catch (error) {
        if (error instanceof NotFoundError) return null;
        throw error;
      }
    },
  }),
);

builder.mutationFields((t) => ({
  createReconnectLink: t.fieldWithInput({
    type: CreateReconnectLinkPayload,
    description: 'Creates a one-time, expiring reconnect link for a connection (its owner or an admin) and returns its URL once.',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'result' } },
    input: {
      connectionId: t.input.id({ required: true, description: 'The Connection id.' }),
      expiresIn: t.input.int({ description: 'Seconds it stays valid, 300 to 2592000 (default: the gateway’s setting, 7 days).' }),
    },
    resolve: (_root, { input }, context) =>
      createReconnectLink(
        context.db,
        context.oauth,
        viewerOf(context),
        parseGlobalId(input.connectionId, 'Connection', 'connectionId'),
        input.expiresIn,
      ),
  }),
  redeemReconnectLink: t.fieldWithInput({
    type: StartConnectionPayload,
    description:
      'The connection’s owner repairs it through a reconnect link: OAuth returns the authorization URL (the link is used once the sign-in completes); credential methods test and store the new credentials.',
    authScopes: { authenticated: true },
    errors: { types: LIFECYCLE_ERRORS, dataField: { name: 'result' } },
    input: {
      token: t.input.string({ required: true, description: 'The token from the link’s URL.' }),
      credentials: t.input.field(credentialsInput('New values for the integration’s credentialFields (non-OAuth).')),
      returnTo: t.input.string({ description: 'OAuth: where to send the user after the callback.' }),
    },
    resolve: (_root, { input }, context) => redeemReconnectLink(context.db, context.vault, context.oauth, viewerOf(context), input),
  }),
  revokeReconnectLink: t.fieldWithInput({
    type: ReconnectLinkType,
    description: 'Withdraws a reconnect link before it is used (the connection’s owner or an admin).',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'link' } },
    input: { id: t.input.id({ required: true, description: 'The ReconnectLink id.' }) },
    resolve: (_root, { input }, context) => revokeReconnectLink(context.db, viewerOf(context), parseGlobalId(input.id, 'ReconnectLink')),
  }),
}));
