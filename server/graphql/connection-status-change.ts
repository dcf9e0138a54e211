/** ConnectionStatusChange: a live connection status event, and `Subscription.connectionStatusChanged`. */
import { isStatusChange } from '../domain/connection-events.js';
import { canSeeConnection } from '../domain/viewer.js';
import { type ConnectionStatusChangePayload, REPLAY_LIMIT } from '../realtime/hub.js';
import { builder, viewerOf } from './builder.js';
import { ConnectionType } from './connection.js';
import { ConnectionEventType, eventCursor, eventCursorSeq } from './connection-event.js';
import { ConnectionStatusEnum, DisconnectReasonEnum } from './connection-status.js';
import { parseGlobalId } from '../domain/global-ids.js';
import { liveHubOf } from './live.js';

const ConnectionStatusChangeType = builder.objectRef<ConnectionStatusChangePayload>('ConnectionStatusChange').implement({
  description: 'A connection changed status.',
  fields: (t) => ({
    cursor: t.string({
      description: 'Pass as `after` to Query.connectionEvents to get what came after this event (e.g. after a reconnect).',
      resolve: (change) => eventCursor(change.event),
    }),
    event: t.field({ type: ConnectionEventType, description: 'The event row (history and audit).', resolve: (change) => change.event }),
    connection: t.field({ type: ConnectionType, description: 'The connection, as it is now.', resolve: (change) => change.connection }),
    previousStatus: t.field({
      type: ConnectionStatusEnum,
      nullable: true,
      description: 'The status before; null when the connection was just created.',
      resolve: (change) => change.event.fromStatus,
    }),
    status: t.field({ type: ConnectionStatusEnum, description: 'The status after.', resolve: (change) => change.event.toStatus }),
    reason: t.field({
      type: DisconnectReasonEnum,
      nullable: true,
      description: 'Why, when it became DISCONNECTED.',
      resolve: (change) => change.event.reason,
    }),
    occurredAt: t.field({ type: 'DateTime', description: 'When it changed.', resolve: (change) => change.event.createdAt }),
  }),
});

const ConnectionStatusChangedFilter = builder.inputType('ConnectionStatusChangedFilter', {
  description: 'Which connections to hear about; all given fields must match.',
  fields: (t) => ({
    connectionIds: t.idList({ description: 'Only these connections.' }),
    integration: t.string({ description: 'Only connections of this integration key.' }),
  }),
});

builder.subscriptionField('connectionStatusChanged', (t) =>
  t.field({
    type: ConnectionStatusChangeType,
    description:
      'Every status change of the connections the viewer may see (private ones of others: to admins, without their contents).',
    authScopes: { authenticated: true },
    args: {
      filter: t.arg({ type: ConnectionStatusChangedFilter, description: 'Narrows what is sent.' }),
      after: t.arg.string({
        description: `Resume after this cursor (a ConnectionStatusChange's or the event feed's): the changes missed since are sent first, in commit order, then live ones, none twice and none lost. At most ${REPLAY_LIMIT}; beyond that the subscription is refused (reload instead).`,
      }),
    },
    subscribe: async (_root, args, context) => {
      const ids = args.filter?.connectionIds?.map((id, index) => parseGlobalId(id, 'Connection', `filter.connectionIds.${index}`));
      const after = args.after == null ? null : eventCursorSeq(args.after);
      const wanted = ids ? new Set(ids) : null;
      const integration = args.filter?.integration ?? null;
      const hub = liveHubOf(context);
      // Status changes only (connectionChanged carries the other kinds), as before other kinds existed.
      const stream = hub.subscribe(context, 'connectionStatus', viewerOf(context), ({ event, connection, deleted }, viewer) =>
        !deleted &&
        isStatusChange(event) &&
        canSeeConnection(viewer, connection) &&
        (!wanted || wanted.has(connection.id)) &&
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
