/**
 * ConnectionChange: any change of a connection, live (`Subscription.connectionChanged`): status
 * changes as connectionStatusChanged sends them, and renames, sharing, reauthentication, data
 * sources and deletion, so a dashboard renames a card, or drops it when it is deleted or its owner
 * makes it private, as it happens.
 */
import { canSeeConnection, canSeeEvent } from '../domain/viewer.js';
import { type ConnectionStatusChangePayload, REPLAY_LIMIT } from '../realtime/hub.js';
import { builder, viewerOf } from './builder.js';
import { ConnectionType } from './connection.js';
import { ConnectionEventKindEnum, ConnectionEventType, eventCursor, eventCursorSeq } from './connection-event.js';
import { encodeGlobalId, parseGlobalId } from '../domain/global-ids.js';
import { liveHubOf } from './live.js';

const ConnectionChangeType = builder.objectRef<ConnectionStatusChangePayload>('ConnectionChange').implement({
  description: 'A connection changed: its status, name, sharing, credentials or data sources, or it was deleted.',
  fields: (t) => ({
    cursor: t.string({
      description: 'Pass as `after` to Query.connectionEvents (or this subscription) to get what came after this change.',
      resolve: (change) => eventCursor(change.event),
    }),
    kind: t.field({ type: ConnectionEventKindEnum, description: 'What changed.', resolve: (change) => change.event.kind }),
    event: t.field({ type: ConnectionEventType, description: 'The event row (history and audit).', resolve: (change) => change.event }),
    connectionId: t.id({
      description: 'The connection (a Connection id), also when it was deleted or the viewer can no longer see it.',
      resolve: (change) => encodeGlobalId('Connection', change.event.connectionId),
    }),
    connection: t.field({
      type: ConnectionType,
      nullable: true,
      description: 'The connection as it is now; null when it was deleted or the viewer may no longer see it (drop it from screens).',
      resolve: (change, _args, context) =>
        !change.deleted && canSeeConnection(viewerOf(context), change.connection) ? change.connection : null,
    }),
    deleted: t.boolean({ description: 'Whether the connection no longer exists.', resolve: (change) => change.deleted === true }),
    occurredAt: t.field({ type: 'DateTime', description: 'When it changed.', resolve: (change) => change.event.createdAt }),
  }),
});

const ConnectionChangedFilter = builder.inputType('ConnectionChangedFilter', {
  description: 'Which changes to hear about; all given fields must match.',
  fields: (t) => ({
    connectionIds: t.idList({ description: 'Only these connections.' }),
    integration: t.string({ description: 'Only connections of this integration key.' }),
    kinds: t.field({ type: [ConnectionEventKindEnum], description: 'Only these kinds.' }),
  }),
});

builder.subscriptionField('connectionChanged', (t) =>
  t.field({
    type: ConnectionChangeType,
    description:
      'Every change of the connections the viewer may see (private ones of others: to admins, without their contents), deletions included; an UNSHARED change also reaches those who could see the connection while it was shared, with `connection` null.',
    authScopes: { authenticated: true },
    args: {
      filter: t.arg({ type: ConnectionChangedFilter, description: 'Narrows what is sent.' }),
      after: t.arg.string({
        description: `Resume after this cursor (a ConnectionChange's, a ConnectionStatusChange's or the event feed's): the changes missed since are sent first, in commit order, then live ones. At most ${REPLAY_LIMIT}; beyond that the subscription is refused (reload instead).`,
      }),
    },
    subscribe: async (_root, args, context) => {
      const ids = args.filter?.connectionIds?.map((id, index) => parseGlobalId(id, 'Connection', `filter.connectionIds.${index}`));
      const after = args.after == null ? null : eventCursorSeq(args.after);
      const wanted = ids ? new Set(ids) : null;
      const kinds = args.filter?.kinds?.length ? new Set<string>(args.filter.kinds) : null;
      const integration = args.filter?.integration ?? null;
      const hub = liveHubOf(context);
      const stream = hub.subscribe(context, 'connectionStatus', viewerOf(context), ({ event, connection, deleted }, viewer) =>
        canSeeEvent(viewer, event, deleted ? null : connection) &&
        (!wanted || wanted.has(event.connectionId)) &&
        (!kinds || kinds.has(event.kind)) &&
        (integration === null || connection.integrationKey === integration),
        // Nothing here but the arguments: an alike subscriber needs no run of its own (unless it resumes).
        { reusable: after === null },
      );
      if (after !== null) await hub.resume(stream, after);
      return stream;
    },
    resolve: (change) => change,
  }),
);
