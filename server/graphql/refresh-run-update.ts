/** RefreshRunUpdate: a refresh run recorded or finished, and `Subscription.refreshRunUpdated`. */
import { NotFoundError } from '../domain/errors.js';
import { findVisibleRows } from '../domain/visibility.js';
import { canUseConnection } from '../domain/viewer.js';
import type { RefreshRunUpdatePayload } from '../realtime/hub.js';
import { builder, viewerOf } from './builder.js';
import { DataSourceType } from './data-source.js';
import { parseGlobalId } from '../domain/global-ids.js';
import { liveHubOf } from './live.js';
import { RefreshRunType } from './refresh-run.js';

const RefreshRunUpdateType = builder.objectRef<RefreshRunUpdatePayload>('RefreshRunUpdate').implement({
  description: 'A refresh run of a data source was recorded or changed.',
  fields: (t) => ({
    refreshRun: t.field({ type: RefreshRunType, description: 'The run, as it is now.', resolve: (update) => update.refreshRun }),
    dataSource: t.field({ type: DataSourceType, description: 'Its data source.', resolve: (update) => update.dataSource }),
    occurredAt: t.field({ type: 'DateTime', description: 'When it was recorded.', resolve: (update) => update.occurredAt }),
  }),
});

builder.subscriptionField('refreshRunUpdated', (t) =>
  t.field({
    type: RefreshRunUpdateType,
    description: 'Progress of one data source’s refresh runs.',
    authScopes: { authenticated: true },
    args: { dataSourceId: t.arg.id({ required: true, description: 'The DataSource id.' }) },
    subscribe: async (_root, args, context) => {
      const viewer = viewerOf(context);
      const id = parseGlobalId(args.dataSourceId, 'DataSource', 'dataSourceId');
      // Refused up front like node(id) would: another account's id is simply not found.
      const [visible] = await findVisibleRows(context.db, viewer, 'DataSource', [id]);
      if (!visible) throw new NotFoundError('DataSource');
      return liveHubOf(context).subscribe(context, 'refreshRun', viewer, (update, current) =>
        update.dataSource.id === id && canUseConnection(current, update.connection),
      );
    },
    resolve: (update) => update,
  }),
);
