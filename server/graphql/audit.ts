/**
 * The account's audit trail: `Query.auditEvents` (every change of every connection the viewer may
 * see, deleted ones included, newest first, with filters) and `Query.accessTokenHandouts` (access
 * tokens handed to SERVICE tokens, summarised per connection, token and hour or day).
 */
import { summariseHandouts } from '../domain/audit.js';
import { parseGlobalId, encodeGlobalId } from '../domain/global-ids.js';
import { ValidationError } from '../domain/errors.js';
import type { connectionEvents } from '../db/schema.js';
import { visibleEventsCondition } from '../domain/viewer.js';
import { builder, viewerOf } from './builder.js';
import { ConnectionEventKindEnum } from './connection-event.js';
import { MAX_PAGE_SIZE, pageQuery } from './pagination.js';

const AuditEventFilter = builder.inputType('AuditEventFilter', {
  description: 'Narrows the audit feed; all given fields must match.',
  fields: (t) => ({
    connection: t.id({ description: 'Only events of this connection (a Connection id; deleted ones too).' }),
    actor: t.id({ description: 'Only changes made by this user (a User id).' }),
    kinds: t.field({ type: [ConnectionEventKindEnum], description: 'Only these kinds.' }),
    since: t.field({ type: 'DateTime', description: 'Only events at or after this instant.' }),
    until: t.field({ type: 'DateTime', description: 'Only events before this instant.' }),
  }),
});

/** Refuses a time range that ends before it starts. */
function checkRange(since: Date | null | undefined, until: Date | null | undefined, field: string): void {
  if (since && until && since.getTime() > until.getTime()) throw new ValidationError('since must not be after until', field);
}

builder.queryField('auditEvents', (t) =>
  t.drizzleConnection({
    type: 'connectionEvents',
    description:
      'The account’s audit trail: every change of every connection the viewer may see, with its actor, newest first; events of deleted connections stay (to whoever could see the connection). Admins see every connection’s events (private ones of others without names or details); members see those of their own and shared connections. Select connectionId, connectionName and currentConnection, not connection (deleted ones have none).',
    authScopes: { authenticated: true },
    maxSize: MAX_PAGE_SIZE,
    args: { filter: t.arg({ type: AuditEventFilter, description: 'Narrows the feed.' }) },
    resolve: (query, _root, args, context) => {
      const viewer = viewerOf(context);
      const filter = args.filter ?? {};
      checkRange(filter.since, filter.until, 'filter.until');
      const connectionId = filter.connection ? parseGlobalId(filter.connection, 'Connection', 'filter.connection') : null;
      const actorId = filter.actor ? parseGlobalId(filter.actor, 'User', 'filter.actor') : null;
      const createdAt = {
        ...(filter.since ? { gte: filter.since.toISOString() } : {}),
        ...(filter.until ? { lt: filter.until.toISOString() } : {}),
      };
      return context.db.query.connectionEvents.findMany(
        query(
          pageQuery(args, {
            where: {
              accountId: viewer.accountId,
              ...(connectionId ? { connectionId } : {}),
              ...(actorId ? { actorUserId: actorId } : {}),
              ...(filter.kinds?.length ? { kind: { in: filter.kinds } } : {}),
              ...(filter.since || filter.until ? { createdAt } : {}),
              RAW: (table: typeof connectionEvents) => visibleEventsCondition(table, viewer),
            },
            orderBy: { seq: 'desc' as const },
          }),
        ),
      );
    },
  }),
);

const HandoutPeriodEnum = builder.enumType('HandoutPeriod', {
  description: 'How access-token hand-outs are summarised.',
  values: { HOUR: { description: 'Per hour (UTC).' }, DAY: { description: 'Per day (UTC).' } },
});

const AccessTokenHandoutSummary = builder
  .objectRef<Awaited<ReturnType<typeof summariseHandouts>>[number]>('AccessTokenHandoutSummary')
  .implement({
    description: 'The access tokens of one connection handed to one SERVICE token within one hour or day.',
    fields: (t) => ({
      connectionId: t.id({ description: 'The connection (a Connection id).', resolve: (s) => encodeGlobalId('Connection', s.connectionId) }),
      apiTokenId: t.id({ description: 'The SERVICE token that fetched them (an ApiToken id).', resolve: (s) => encodeGlobalId('ApiToken', s.apiTokenId) }),
      apiTokenName: t.exposeString('apiTokenName', {
        nullable: true,
        description: 'The token’s name; null unless the viewer is an admin or the token’s own user.',
      }),
      periodStart: t.expose('periodStart', { type: 'DateTime', description: 'The start of the hour or day (UTC).' }),
      count: t.exposeInt('count', { description: 'How many access tokens were handed out.' }),
      firstAt: t.expose('firstAt', { type: 'DateTime', description: 'The first hand-out in the period.' }),
      lastAt: t.expose('lastAt', { type: 'DateTime', description: 'The last hand-out in the period.' }),
    }),
  });

const AccessTokenHandoutFilter = builder.inputType('AccessTokenHandoutFilter', {
  description: 'Narrows the hand-out summaries; all given fields must match.',
  fields: (t) => ({
    connection: t.id({ description: 'Only this connection (a Connection id).' }),
    apiToken: t.id({ description: 'Only this SERVICE token (an ApiToken id).' }),
    since: t.field({ type: 'DateTime', description: 'Only hand-outs at or after this instant.' }),
    until: t.field({ type: 'DateTime', description: 'Only hand-outs before this instant.' }),
  }),
});

builder.queryField('accessTokenHandouts', (t) =>
  t.field({
    type: [AccessTokenHandoutSummary],
    description:
      'Access tokens handed to SERVICE tokens (connectionAccessToken), summarised: one row per connection, token and hour or day, newest first, for the connections the viewer may see. Hand-outs of a deleted connection go with it.',
    authScopes: { authenticated: true },
    args: {
      per: t.arg({ type: HandoutPeriodEnum, defaultValue: 'DAY', description: 'Summarise per HOUR or per DAY (default).' }),
      filter: t.arg({ type: AccessTokenHandoutFilter, description: 'Narrows the summaries.' }),
      first: t.arg.int({ defaultValue: 100, description: 'At most this many rows (1 to 500).' }),
    },
    resolve: (_root, args, context) => {
      const filter = args.filter ?? {};
      checkRange(filter.since, filter.until, 'filter.until');
      return summariseHandouts(
        context.db,
        viewerOf(context),
        args.per ?? 'DAY',
        {
          connectionId: filter.connection ? parseGlobalId(filter.connection, 'Connection', 'filter.connection') : null,
          apiTokenId: filter.apiToken ? parseGlobalId(filter.apiToken, 'ApiToken', 'filter.apiToken') : null,
          since: filter.since,
          until: filter.until,
        },
        args.first ?? 100,
      );
    },
  }),
);
