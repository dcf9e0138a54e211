/** RefreshRun: one refresh of a data source. */
import { builder } from './builder.js';

export const RefreshRunStatusRef = builder.enumType('RefreshRunStatus', {
  description: 'How a refresh went.',
  values: {
    RUNNING: { description: 'Started, not finished.' },
    SUCCEEDED: { description: 'Finished and stored its rows.' },
    FAILED: { description: 'Finished with the error given.' },
    ABANDONED: { description: 'Its worker’s lease expired before it reported the end; the data source was due again.' },
  },
});

export const RefreshRunType = builder.drizzleNode('refreshRuns', {
  name: 'RefreshRun',
  description: 'One refresh of a data source.',
  id: { column: (run) => run.id },
  fields: (t) => ({
    status: t.expose('status', { type: RefreshRunStatusRef, description: 'How it went.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When it started.' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true, description: 'When it finished.' }),
    rows: t.exposeInt('rows', { nullable: true, description: 'Rows read.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed.' }),
    dataSource: t.relation('dataSource', { description: 'The data source refreshed.' }),
  }),
});
