/** DataSource: a resource read through a connection, and its mutations. */
import { createDataSource, deleteDataSource, recordRefreshRun, updateDataSource, updateRefreshRun } from '../domain/data-sources.js';
import { RefreshRunStatusRef, RefreshRunType } from './refresh-run.js';
import { builder, viewerOf } from './builder.js';
import { COMMON_ERRORS } from './errors.js';
import { multilineText } from './input-rules.js';
import { encodeGlobalId, parseGlobalId } from '../domain/global-ids.js';
import { MAX_PAGE_SIZE, pageQuery } from './pagination.js';
import { isLate, nextRefreshAtOf } from '../domain/refresh-dispatch.js';

export const DataSourceStatusEnum = builder.enumType('DataSourceStatus', {
  description: 'Whether a data source refreshes.',
  values: {
    ACTIVE: { description: 'Refreshes on its schedule.' },
    PAUSED: { description: 'Paused by a user.' },
    BROKEN: { description: 'Its connection is not ACTIVE; it resumes when the connection is repaired.' },
  },
});

export const DataSourceType = builder.drizzleNode('dataSources', {
  name: 'DataSource',
  description: 'A resource (property, company, table...) read through a connection.',
  id: { column: (dataSource) => dataSource.id },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    resourceId: t.exposeString('resourceId', { description: 'The resource’s id at the service.' }),
    schedule: t.exposeString('schedule', { description: 'Refresh schedule, a five-field cron expression in UTC.' }),
    filter: t.expose('filter', { type: 'JSONObject', nullable: true, description: 'What to read, service-specific.' }),
    status: t.expose('status', { type: DataSourceStatusEnum, description: 'Whether it refreshes.' }),
    lastRefreshedAt: t.expose('lastRefreshedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When a refresh last succeeded.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    nextRefreshAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        'When it refreshes next, from its schedule (UTC); in the past while it is due and not yet claimed. Null while it does not refresh (PAUSED, or its connection is not ACTIVE).',
      select: { columns: { status: true, nextRefreshAt: true, refreshLeaseUntil: true, schedule: true } },
      resolve: (dataSource) => nextRefreshAtOf(dataSource),
    }),
    late: t.boolean({
      description: 'Due for longer than the gateway’s grace (PATCHBAY_REFRESH_LATE_AFTER_MS) and no worker has started it.',
      select: { columns: { status: true, nextRefreshAt: true, refreshLeaseUntil: true } },
      resolve: (dataSource) => isLate(dataSource),
    }),
    runningRun: t.relation('runningRun', { nullable: true, description: 'Its RUNNING refresh, if any.' }),
    connection: t.relation('connection', { description: 'The connection it reads through.' }),
    refreshRuns: t.relatedConnection('refreshRuns', {
      description: 'Its refreshes, newest first.',
      maxSize: MAX_PAGE_SIZE,
      totalCount: true,
      query: (args) => pageQuery(args, { orderBy: { startedAt: 'desc' as const } }),
    }),
  }),
});

const scheduleDescription = 'Five-field cron expression in UTC, e.g. "0 6 * * *" (daily at 06:00).';

builder.mutationFields((t) => ({
  createDataSource: t.fieldWithInput({
    type: DataSourceType,
    description: 'Adds a data source on a connection the viewer may use.',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'dataSource' } },
    input: {
      connectionId: t.input.id({ required: true, description: 'The Connection to read through.' }),
      resourceId: t.input.string({ required: true, description: 'The resource’s id at the service.' }),
      name: t.input.string({ required: true, description: 'Display name, 1 to 120 characters.' }),
      schedule: t.input.string({ required: true, description: scheduleDescription }),
      filter: t.input.field({ type: 'JSONObject', description: 'What to read, service-specific.' }),
    },
    resolve: (_root, { input }, context) =>
      createDataSource(context.db, viewerOf(context), {
        ...input,
        connectionId: parseGlobalId(input.connectionId, 'Connection', 'connectionId'),
      }),
  }),
  updateDataSource: t.fieldWithInput({
    type: DataSourceType,
    description:
      'Changes a data source, or moves it to another connection of the same integration (editors, admins, the connection owner).',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'dataSource' } },
    input: {
      id: t.input.id({ required: true, description: 'The DataSource id.' }),
      name: t.input.string({ description: 'New name.' }),
      schedule: t.input.string({ description: scheduleDescription }),
      filter: t.input.field({ type: 'JSONObject', description: 'New filter; null clears it.' }),
      connectionId: t.input.id({ description: 'Another Connection of the same integration.' }),
    },
    resolve: (_root, { input }, context) =>
      updateDataSource(context.db, viewerOf(context), parseGlobalId(input.id, 'DataSource'), {
        ...input,
        connectionId:
          input.connectionId == null ? null : parseGlobalId(input.connectionId, 'Connection', 'connectionId'),
      }),
  }),
  recordRefreshRun: t.fieldWithInput({
    type: RefreshRunType,
    description: 'A worker records a refresh of a data source; a success stamps its lastRefreshedAt.',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'refreshRun' } },
    input: {
      dataSourceId: t.input.id({ required: true, description: 'The DataSource id.' }),
      status: t.input.field({ type: RefreshRunStatusRef, required: true, description: 'How the run went.' }),
      startedAt: t.input.field({ type: 'DateTime', required: true, description: 'When it started.' }),
      finishedAt: t.input.field({ type: 'DateTime', description: 'When it finished (required unless RUNNING).' }),
      rows: t.input.int({ description: 'Rows read.' }),
      error: t.input.string({ description: 'Why it failed.', ...multilineText }),
    },
    resolve: (_root, { input }, context) =>
      recordRefreshRun(context.db, viewerOf(context), {
        ...input,
        dataSourceId: parseGlobalId(input.dataSourceId, 'DataSource', 'dataSourceId'),
      }),
  }),
  updateRefreshRun: t.fieldWithInput({
    type: RefreshRunType,
    description:
      'A worker reports a RUNNING run’s progress (rows so far) or finishes it; subscribers of refreshRunUpdated see each report. Finished runs are final.',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'refreshRun' } },
    input: {
      id: t.input.id({ required: true, description: 'The RefreshRun id.' }),
      status: t.input.field({ type: RefreshRunStatusRef, description: 'RUNNING (default) for progress, or how it ended.' }),
      rows: t.input.int({ description: 'Rows read so far (or in all, when it ends).' }),
      finishedAt: t.input.field({ type: 'DateTime', description: 'When it ended (default now; not for RUNNING).' }),
      error: t.input.string({ description: 'Why it failed.', ...multilineText }),
    },
    resolve: (_root, { input }, context) =>
      updateRefreshRun(context.db, viewerOf(context), { ...input, id: parseGlobalId(input.id, 'RefreshRun') }),
  }),
  deleteDataSource: t.fieldWithInput({
    type: 'ID',
    description: 'Deletes a data source and its refresh history.',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'deletedId' } },
    input: { id: t.input.id({ required: true, description: 'The DataSource id.' }) },
    resolve: async (_root, { input }, context) => {
      const row = await deleteDataSource(context.db, viewerOf(context), parseGlobalId(input.id, 'DataSource'));
      return encodeGlobalId('DataSource', row.id);
    },
  }),
}));
