/**
 * Refresh dispatch in GraphQL: `claimRefreshes` and `Subscription.refreshDue` for workers with
 * SERVICE tokens, and `refreshDataSourceNow` for people (and workers).
 */
import { ForbiddenError, RefreshRunningError } from '../domain/errors.js';
import {
  claimRefreshes,
  DEFAULT_LEASE_SECONDS,
  MAX_CLAIM,
  MAX_LEASE_SECONDS,
  MIN_LEASE_SECONDS,
  type RefreshClaim,
  refreshDataSourceNow,
  validIntegrationKeys,
} from '../domain/refresh-dispatch.js';
import { parseGlobalId } from '../domain/global-ids.js';
import type { RefreshDuePayload } from '../realtime/hub.js';
import { builder, viewerOf } from './builder.js';
import { ConnectionType } from './connection.js';
import { DataSourceType } from './data-source.js';
import { COMMON_ERRORS } from './errors.js';
import { liveHubOf } from './live.js';
import { RefreshRunType } from './refresh-run.js';

const RefreshClaimType = builder.objectRef<RefreshClaim>('RefreshClaim').implement({
  description: 'A due data source leased to the worker that claimed it, with the RUNNING run it reports on.',
  fields: (t) => ({
    refreshRun: t.field({
      type: RefreshRunType,
      description: 'The run to report progress and the end on (updateRefreshRun); each progress report renews the lease.',
      resolve: (claim) => claim.refreshRun,
    }),
    dataSource: t.field({ type: DataSourceType, description: 'What to refresh (its resourceId and filter).', resolve: (claim) => claim.dataSource }),
    connection: t.field({ type: ConnectionType, description: 'The connection to read through.', resolve: (claim) => claim.connection }),
    filter: t.field({
      type: 'JSONObject',
      nullable: true,
      description: 'The data source’s filter, as dataSource.filter.',
      resolve: (claim) => claim.dataSource.filter ?? null,
    }),
    leaseExpiresAt: t.field({
      type: 'DateTime',
      description: 'When the lease ends unless renewed: the run is then ABANDONED and the source due again.',
      resolve: (claim) => claim.leaseExpiresAt,
    }),
  }),
});

builder.mutationFields((t) => ({
  claimRefreshes: t.fieldWithInput({
    type: [RefreshClaimType],
    description:
      'SERVICE tokens: leases up to `max` due data sources of the given integrations (one holder across every gateway) and starts a RUNNING run for each. Report progress (which renews the lease) and the end with updateRefreshRun; a lease not renewed in time ends the run ABANDONED and the source is due again.',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'claims' } },
    input: {
      integrations: t.input.stringList({ required: true, description: 'Integration keys the worker refreshes (1 to 50).' }),
      max: t.input.int({ description: `How many to lease at most, 1 to ${MAX_CLAIM} (default 10).` }),
      leaseSeconds: t.input.int({
        description: `How long the lease lasts without a report, ${MIN_LEASE_SECONDS} to ${MAX_LEASE_SECONDS} seconds (default ${DEFAULT_LEASE_SECONDS}).`,
      }),
    },
    resolve: (_root, { input }, context) => claimRefreshes(context.db, viewerOf(context), input),
  }),
  refreshDataSourceNow: t.fieldWithInput({
    type: DataSourceType,
    description: 'Makes a data source due at once, so the next claim takes it; refused while one of its runs is RUNNING.',
    authScopes: { authenticated: true },
    errors: { types: [...COMMON_ERRORS, RefreshRunningError], dataField: { name: 'dataSource' } },
    input: { id: t.input.id({ required: true, description: 'The DataSource id.' }) },
    resolve: (_root, { input }, context) => refreshDataSourceNow(context.db, viewerOf(context), parseGlobalId(input.id, 'DataSource')),
  }),
}));

const RefreshDueType = builder.objectRef<RefreshDuePayload>('RefreshDue').implement({
  description: 'Data sources became due: claim them with claimRefreshes.',
  fields: (t) => ({
    integrations: t.stringList({ description: 'The integrations (of those subscribed to) with new due work.', resolve: (due) => due.integrationKeys }),
    occurredAt: t.field({ type: 'DateTime', description: 'When it was noticed.', resolve: (due) => due.occurredAt }),
  }),
});

builder.subscriptionField('refreshDue', (t) =>
  t.field({
    type: RefreshDueType,
    description:
      'SERVICE tokens: a signal each time data sources of these integrations become due (their schedule came, Refresh now, an expired lease), so workers need not poll. Claim once when subscribing, then on each signal until a claim comes back empty.',
    authScopes: { authenticated: true },
    args: { integrations: t.arg.stringList({ required: true, description: 'Integration keys the worker refreshes.' }) },
    subscribe: async (_root, args, context) => {
      const viewer = viewerOf(context);
      if (viewer.tokenKind !== 'SERVICE') throw new ForbiddenError('Only SERVICE tokens may subscribe to refreshDue');
      const wanted = new Set(await validIntegrationKeys(context.db, viewer.accountId, args.integrations));
      return liveHubOf(context).subscribe(context, 'refreshDue', viewer, (due) => due.integrationKeys.some((key) => wanted.has(key)));
    },
    // Each subscriber hears only the integrations it asked for (its arguments are part of the shared-execution key).
    resolve: (due, args) => ({ ...due, integrationKeys: due.integrationKeys.filter((key) => args.integrations.some((given) => given.trim() === key)) }),
  }),
);
