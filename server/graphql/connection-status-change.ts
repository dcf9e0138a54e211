/** ConnectionStatusChange: a live connection status event, and `Subscription.connectionStatusChanged`. */
import { canSeeConnection } from '../domain/viewer.js';
import type { ConnectionStatusChangePayload } from '../realtime/hub.js';
import { builder, viewerOf } from './builder.js';
import { ConnectionType } from './connection.js';
import { ConnectionEventType, eventCursor } from './connection-event.js';
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
    args: { filter: t.arg({ type: ConnectionStatusChangedFilter, description: 'Narrows what is sent.' }) },
    subscribe: (_root, args, context) => {
      const ids = args.filter?.connectionIds?.map((id, index) => parseGlobalId(id, 'Connection', `filter.connectionIds.${index}`));
      const wanted = ids ? new Set(ids) : null;
      const integration = args.filter?.integration ?? null;
      return liveHubOf(context).subscribe(context, 'connectionStatus', viewerOf(context), ({ connection }, viewer) =>
        canSeeConnection(viewer, connection) &&
        (!wanted || wanted.has(connection.id)) &&
        (integration === null || connection.integrationKey === integration),
      );
    },
    resolve: (change) => change,
  }),
);
