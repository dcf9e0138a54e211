/** DataSourceStatusChange: a live data source status change, and `Subscription.dataSourceStatusChanged`. */
import { canUseConnection } from '../domain/viewer.js';
import type { DataSourceStatusChangePayload } from '../realtime/hub.js';
import { builder, viewerOf } from './builder.js';
import { DataSourceStatusEnum, DataSourceType } from './data-source.js';
import { parseGlobalId } from '../domain/global-ids.js';
import { liveHubOf } from './live.js';

const DataSourceStatusChangeType = builder.objectRef<DataSourceStatusChangePayload>('DataSourceStatusChange').implement({
  description: 'A data source changed status (e.g. BROKEN because its connection broke).',
  fields: (t) => ({
    dataSource: t.field({ type: DataSourceType, description: 'The data source, as it is now.', resolve: (change) => change.dataSource }),
    previousStatus: t.field({ type: DataSourceStatusEnum, description: 'The status before.', resolve: (change) => change.previousStatus }),
    status: t.field({ type: DataSourceStatusEnum, description: 'The status after.', resolve: (change) => change.status }),
    occurredAt: t.field({ type: 'DateTime', description: 'When it changed.', resolve: (change) => change.occurredAt }),
  }),
});

const DataSourceStatusChangedFilter = builder.inputType('DataSourceStatusChangedFilter', {
  description: 'Which data sources to hear about.',
  fields: (t) => ({
    connectionId: t.id({ description: 'Only the data sources read through this connection.' }),
  }),
});

builder.subscriptionField('dataSourceStatusChanged', (t) =>
  t.field({
    type: DataSourceStatusChangeType,
    description: 'Status changes of the data sources the viewer may see (those on connections they may use).',
    authScopes: { authenticated: true },
    args: { filter: t.arg({ type: DataSourceStatusChangedFilter, description: 'Narrows what is sent.' }) },
    subscribe: (_root, args, context) => {
      const connectionId = args.filter?.connectionId == null ? null : parseGlobalId(args.filter.connectionId, 'Connection', 'filter.connectionId');
      return liveHubOf(context).subscribe(context, 'dataSourceStatus', viewerOf(context), ({ connection }, viewer) =>
        canUseConnection(viewer, connection) && (connectionId === null || connection.id === connectionId),
        // Nothing here but the arguments: an alike subscriber needs no run of its own.
        { reusable: true },
      );
    },
    resolve: (change) => change,
  }),
);
