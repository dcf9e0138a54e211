/**
 * ConnectionEvent: one change of a connection (history and audit), and the account's event feed.
 * Events outlive their connection. `connection` is non-null as it always was, so it cannot carry
 * a deleted connection: events of deleted connections are only listed where a client asks for
 * them (`connectionEvents(includeDeleted: true)`, `auditEvents`), and such clients read
 * `connectionId`, `connectionName` and `currentConnection` (null once deleted) instead.
 */
import { decodeBase64, decodeCursorChunk, encodeBase64, encodeCursorTuple } from '@pothos/core';
import type { ConnectionEventDetails } from '../domain/connection-events.js';
import { ValidationError } from '../domain/errors.js';
import { connectionEventKind, type connections, type connectionEvents } from '../db/schema.js';
import type { ConnectionEventRow, ConnectionRow } from '../domain/types.js';
import {
  canSeeConnection,
  canUseConnection,
  eventConnectionFacts,
  type Viewer,
  visibleConnectionsCondition,
  visibleEventsCondition,
} from '../domain/viewer.js';
import { builder, viewerOf } from './builder.js';
import { ConnectionType } from './connection.js';
import { ConnectionStatusEnum, DisconnectReasonEnum } from './connection-status.js';
import { encodeGlobalId, parseGlobalId } from '../domain/global-ids.js';
import { MAX_PAGE_SIZE, pageQuery } from './pagination.js';

const KIND_DESCRIPTIONS: Record<(typeof connectionEventKind.enumValues)[number], string> = {
  STATUS_CHANGED: 'Its status changed (a refresh, a health check, a reported error, a superseding connection, a first sign-in).',
  CREATED: 'It was created (PENDING for a sign-in, or ACTIVE at once for credentials).',
  RENAMED: 'It was renamed (details: previousName, name).',
  SHARED: 'Its owner shared it with the account.',
  UNSHARED: 'Its owner made it private again.',
  REAUTHENTICATED: 'It was signed in again or given new credentials (a status change too when it was not ACTIVE).',
  REVOKED: 'A person revoked it.',
  DELETED: 'It was deleted; its events stay (a tombstone).',
  DATA_SOURCE_ADDED: 'A data source was added to it (details: the data source).',
  DATA_SOURCE_MOVED: 'A data source moved from or to it (details: the data source and both connections).',
  DATA_SOURCE_REMOVED: 'A data source read through it was deleted (details: the data source).',
  RECONNECT_LINK_CREATED: 'A reconnect link was made for its owner to repair it (the actor asked); its use shows as REAUTHENTICATED by the owner.',
  RECONNECT_LINK_REVOKED: 'A pending reconnect link for it was withdrawn.',
};

export const ConnectionEventKindEnum = builder.enumType('ConnectionEventKind', {
  description: 'What kind of change a connection event records.',
  values: Object.fromEntries(connectionEventKind.enumValues.map((kind) => [kind, { description: KIND_DESCRIPTIONS[kind] }])) as Record<
    (typeof connectionEventKind.enumValues)[number],
    { description: string }
  >,
});

/** An event with its connection as it is now (null once deleted), as the fields below select it. */
type EventWithConnection = ConnectionEventRow & { connection?: ConnectionRow | null };

/** Whether the viewer may see what the event says beyond that it happened (names, data sources). */
function mayReadContents(viewer: Viewer, event: EventWithConnection): boolean {
  return canUseConnection(viewer, eventConnectionFacts(event, event.connection));
}

const ConnectionEventDetailsType = builder.objectRef<ConnectionEventDetails>('ConnectionEventDetails').implement({
  description: 'What changed besides the status; which fields are set depends on the kind.',
  fields: (t) => ({
    previousName: t.exposeString('previousName', { nullable: true, description: 'RENAMED: the name before.' }),
    name: t.exposeString('name', { nullable: true, description: 'RENAMED: the name after.' }),
    dataSourceId: t.id({
      nullable: true,
      description: 'DATA_SOURCE_*: the data source (a DataSource id; it may be deleted since).',
      resolve: (d) => (d.dataSourceId ? encodeGlobalId('DataSource', d.dataSourceId) : null),
    }),
    dataSourceName: t.exposeString('dataSourceName', { nullable: true, description: 'DATA_SOURCE_*: its name then.' }),
    fromConnectionId: t.id({
      nullable: true,
      description: 'DATA_SOURCE_MOVED: the connection it moved from.',
      resolve: (d) => (d.fromConnectionId ? encodeGlobalId('Connection', d.fromConnectionId) : null),
    }),
    fromConnectionName: t.exposeString('fromConnectionName', { nullable: true, description: 'DATA_SOURCE_MOVED: its name then.' }),
    toConnectionId: t.id({
      nullable: true,
      description: 'DATA_SOURCE_MOVED: the connection it moved to.',
      resolve: (d) => (d.toConnectionId ? encodeGlobalId('Connection', d.toConnectionId) : null),
    }),
    toConnectionName: t.exposeString('toConnectionName', { nullable: true, description: 'DATA_SOURCE_MOVED: its name then.' }),
  }),
});

/** Loads the event's connection with the field (one lateral join in the event's own statement). */
const withConnection = { with: { connection: true } } as const;

const ActorKindEnum = builder.enumType('ActorKind', {
  description: 'Who caused a change.',
  values: {
    USER: { description: 'A person, through the API or dashboard.' },
    SERVICE: { description: 'A partner worker with a SERVICE token.' },
    SYSTEM: { description: 'Patchbay itself: a refresh, a health check, a superseding connection.' },
  },
});

export const ConnectionEventType = builder.drizzleNode('connectionEvents', {
  name: 'ConnectionEvent',
  description:
    'A change of a connection, with who made it. Other kinds than STATUS_CHANGED keep the status the connection had in fromStatus and toStatus. Events stay after their connection is deleted.',
  id: { column: (event) => event.id },
  fields: (t) => ({
    kind: t.expose('kind', { type: ConnectionEventKindEnum, description: 'What changed.' }),
    fromStatus: t.expose('fromStatus', {
      type: ConnectionStatusEnum,
      nullable: true,
      description: 'The status before; null for the creation of a connection that starts PENDING.',
    }),
    toStatus: t.expose('toStatus', { type: ConnectionStatusEnum, description: 'The status after.' }),
    connectionId: t.id({
      description: 'The connection it happened to (a Connection id), also once that connection is deleted.',
      resolve: (event) => encodeGlobalId('Connection', event.connectionId),
    }),
    connectionName: t.string({
      nullable: true,
      description:
        'The connection’s name when this happened; null when the viewer may not see its contents (another user’s private connection).',
      select: withConnection,
      resolve: (event, _args, context) => (mayReadContents(viewerOf(context), event) ? event.connectionName : null),
    }),
    integration: t.string({
      nullable: true,
      description: 'The integration key of the connection (kept after it is deleted).',
      resolve: (event) => event.integrationKey,
    }),
    connectionDeleted: t.boolean({
      description: 'Whether the connection has been deleted since (its DELETED event is the last one).',
      select: withConnection,
      resolve: (event) => !(event as EventWithConnection).connection,
    }),
    currentConnection: t.field({
      type: ConnectionType,
      nullable: true,
      description: 'The connection as it is now; null once deleted, or when the viewer may no longer see it.',
      select: withConnection,
      resolve: (event, _args, context) => {
        const connection = (event as EventWithConnection).connection;
        return connection && canSeeConnection(viewerOf(context), connection) ? connection : null;
      },
    }),
    details: t.field({
      type: ConnectionEventDetailsType,
      nullable: true,
      description: 'What changed besides the status (names, data sources); null when there is nothing more, or the viewer may not see the connection’s contents.',
      select: withConnection,
      resolve: (event, _args, context) =>
        event.details && mayReadContents(viewerOf(context), event) ? (event.details as ConnectionEventDetails) : null,
    }),
    reason: t.expose('reason', { type: DisconnectReasonEnum, nullable: true, description: 'Why, for DISCONNECTED.' }),
    message: t.exposeString('message', { nullable: true, description: 'Details, e.g. the service’s error message.' }),
    actorKind: t.expose('actorKind', { type: ActorKindEnum, description: 'Who caused it.' }),
    actor: t.relation('actor', { nullable: true, description: 'The user who caused it, if a user did.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it happened.' }),
    connection: t.relation('connection', {
      nullable: false,
      description:
        'The connection that changed. Non-null, so it cannot carry a deleted connection: where events of deleted connections are listed (includeDeleted, auditEvents), select connectionId, connectionName and currentConnection instead.',
      deprecationReason: 'Use connectionId, connectionName and currentConnection (null once the connection is deleted).',
    }),
  }),
});

/**
 * The cursor of an event in `Query.connectionEvents`: the drizzle plugin's own cursor format for
 * an `orderBy: { seq }` page (it appends the primary key), so a live event's cursor resumes that
 * list exactly.
 */
export function eventCursor(event: { seq: number; id: string }): string {
  return encodeBase64(`DC:${encodeCursorTuple([event.seq, event.id])}`);
}

/** The event sequence number in a cursor made by eventCursor (or by the event feed's pages). */
export function eventCursorSeq(cursor: string, field = 'after'): number {
  try {
    const decoded = decodeBase64(cursor);
    const [seq] = decoded.startsWith('DC:') ? (decodeCursorChunk(decoded.slice(3)) as unknown[]) : [];
    if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) return seq;
  } catch {
    // Reported below, like any other cursor that is not ours.
  }
  throw new ValidationError('Not a connection event cursor', field);
}

const ConnectionEventFilter = builder.inputType('ConnectionEventFilter', {
  description: 'Narrows the event feed.',
  fields: (t) => ({
    connectionIds: t.idList({ description: 'Only events of these connections.' }),
    kinds: t.field({ type: [ConnectionEventKindEnum], description: 'Only these kinds (e.g. STATUS_CHANGED alone, as the feed was before other kinds existed).' }),
  }),
});

builder.queryField('connectionEvents', (t) =>
  t.drizzleConnection({
    type: 'connectionEvents',
    description:
      'The changes of every connection the viewer may see (status changes, and since kinds exist renames, sharing, reauthentication, data sources: see `kind`), oldest first in commit order. A live client that reconnects passes the `cursor` of the last ConnectionStatusChange or ConnectionChange it received as `after` and gets exactly what it missed. Events of deleted connections (DELETED included) are listed only with `includeDeleted: true`.',
    authScopes: { authenticated: true },
    maxSize: MAX_PAGE_SIZE,
    args: {
      filter: t.arg({ type: ConnectionEventFilter, description: 'Narrows the feed.' }),
      includeDeleted: t.arg.boolean({
        defaultValue: false,
        description:
          'Also list the events of deleted connections, their DELETED event included (to whoever could see the connection last, or still can, unshared ones to those who could see it while shared). Such events have no `connection`: select `connectionId` and `currentConnection`.',
      }),
    },
    resolve: (query, _root, args, context) => {
      const viewer = viewerOf(context);
      const ids = args.filter?.connectionIds?.map((id, index) => parseGlobalId(id, 'Connection', `filter.connectionIds.${index}`));
      const kinds = args.filter?.kinds?.length ? { kind: { in: args.filter.kinds } } : {};
      return context.db.query.connectionEvents.findMany(
        query(
          pageQuery(args, {
            where: {
              accountId: viewer.accountId,
              ...(ids ? { connectionId: { in: ids } } : {}),
              ...kinds,
              ...(args.includeDeleted
                ? { RAW: (table: typeof connectionEvents) => visibleEventsCondition(table, viewer, { unshared: true }) }
                : { connection: { RAW: (table: typeof connections) => visibleConnectionsCondition(table, viewer) } }),
            },
            orderBy: { seq: 'asc' as const },
          }),
        ),
      );
    },
  }),
);
