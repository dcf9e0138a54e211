/**
 * Bad input never reaches PostgreSQL: NUL and control characters, impossible dates, deep or huge
 * JSON, in every kind of argument, are VALIDATION errors naming the field, through the real
 * gateway (error masking, HTTP status), never a 5xx, never echoing the value, and change nothing.
 */
import { inArray } from 'drizzle-orm';
import { parse, subscribe } from 'graphql';
import { expect, it } from 'vitest';
import { createApp } from '../server/app.js';
import type { Database } from '../server/db/client.js';
import {
  apiTokens,
  connectionEvents,
  connections,
  dataSources,
  integrations,
  notifications,
  oauthApps,
  refreshRuns,
  webhookEndpoints,
} from '../server/db/schema.js';
import { MAX_JSON_DEPTH } from '../server/domain/validation.js';
import { createLog } from '../server/log.js';
import { schema } from '../server/graphql/schema.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, type Tenant, tenant, testOAuthSettings, testVault } from './support/fixtures.js';

const NUL = 'a\u0000b';
/** Stands for a 20,000-deep JSON object, spliced into the request body as text. */
const DEEP = '<20,000-deep JSON>';
const DEEP_JSON = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);

const nested = (depth: number): Record<string, unknown> => {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let level = 1; level < depth; level += 1) value = { a: value };
  return value;
};

/** A mutation document that shows a ValidationError's field. */
const mutation = (field: string, inputType: string) => `mutation($input: ${inputType}!) {
  ${field}(input: $input) { __typename ... on Error { message code } ... on ValidationError { field } }
}`;

interface BadInput {
  name: string;
  document: string;
  variables: (a: Tenant) => Record<string, unknown>;
  /** The field the error must name. */
  field: string;
  /** The bad value, which must not appear in the answer. */
  bad: string;
}

const m = (name: string, field: string, inputType: string, input: (a: Tenant) => Record<string, unknown>, at: string, bad = NUL): BadInput => ({
  name,
  document: mutation(field, inputType),
  variables: (a) => ({ input: input(a) }),
  field: at,
  bad,
});

const source = (a: Tenant, override: Record<string, unknown>) => ({
  connectionId: a.connections.shared.gid,
  resourceId: 'properties/5',
  name: 'Sessions',
  schedule: '0 6 * * *',
  ...override,
});
const run = (a: Tenant, override: Record<string, unknown>) => ({
  dataSourceId: a.dataSource.gid,
  status: 'SUCCEEDED',
  startedAt: '2026-01-31T12:00:00Z',
  finishedAt: '2026-01-31T12:05:00Z',
  ...override,
});

const BAD_INPUTS: BadInput[] = [
  // Names, keys and identifiers: no control character at all.
  m('NUL in a connection name', 'updateConnection', 'UpdateConnectionInput', (a) => ({ id: a.connections.shared.gid, name: NUL }), 'input.name'),
  m('a bell in a connection name', 'updateConnection', 'UpdateConnectionInput', (a) => ({ id: a.connections.shared.gid, name: 'a\u0007b' }), 'input.name', 'a\u0007b'),
  m('NUL in an id', 'updateConnection', 'UpdateConnectionInput', (a) => ({ id: a.connections.shared.gid + '\u0000', name: 'x' }), 'input.id', '\u0000'),
  m('a line break in an integration key', 'startConnection', 'StartConnectionInput', () => ({ integration: 'stripe\n', name: 'x' }), 'input.integration', 'stripe\n'),
  m('NUL in a resource id', 'startConnection', 'StartConnectionInput', () => ({ integration: 'stripe', name: 'x', resourceId: NUL }), 'input.resourceId'),
  m('NUL in a resource name', 'startConnection', 'StartConnectionInput', () => ({ integration: 'stripe', name: 'x', resourceName: NUL }), 'input.resourceName'),
  m('NUL in returnTo', 'startConnection', 'StartConnectionInput', () => ({ integration: 'hubspot', name: 'x', returnTo: `http://app.example.test/${NUL}` }), 'input.returnTo'),
  m('NUL in a credential value', 'startConnection', 'StartConnectionInput', () => ({ integration: 'stripe', name: 'x', credentials: { apiKey: NUL } }), 'input.credentials'),
  m('half a surrogate pair in a name', 'createApiToken', 'CreateApiTokenInput', () => ({ name: 'a\ud800b' }), 'input.name', 'a\ud800b'),
  m('an escape character in a token name', 'createApiToken', 'CreateApiTokenInput', () => ({ name: '\u001b[31mred' }), 'input.name', '\u001b[31mred'),
  m('NUL in a schedule', 'createDataSource', 'CreateDataSourceInput', (a) => source(a, { schedule: `0 6 * * *${NUL}` }), 'input.schedule'),
  m('NUL in a data source resource id', 'createDataSource', 'CreateDataSourceInput', (a) => source(a, { resourceId: NUL }), 'input.resourceId'),
  m('NUL in a webhook URL', 'createWebhookEndpoint', 'CreateWebhookEndpointInput', () => ({ url: `https://hooks.example.test/${NUL}` }), 'input.url'),
  m('NUL in a listed integration key', 'createWebhookEndpoint', 'CreateWebhookEndpointInput', () => ({ url: 'https://hooks.example.test/', integrationKeys: ['stripe', NUL] }), 'input.integrationKeys.1'),
  m('a header break in an API key header', 'registerIntegration', 'RegisterIntegrationInput', () => ({ key: 'acme', name: 'Acme', authMethod: 'API_KEY', apiKeyHeader: 'X-Key\r\nX-Evil: 1' }), 'input.apiKeyHeader', 'X-Key\r\nX-Evil: 1'),
  m('NUL in a client secret', 'configureIntegration', 'ConfigureIntegrationInput', () => ({ integration: 'hubspot', clientId: 'c', clientSecret: NUL }), 'input.clientSecret'),
  m('NUL in a notification id', 'markNotificationsRead', 'MarkNotificationsReadInput', () => ({ ids: [NUL] }), 'input.ids.0'),
  // Free text keeps tabs and line breaks, never NUL nor other controls.
  m('NUL in a reported message', 'reportConnectionError', 'ReportConnectionErrorInput', (a) => ({ id: a.connections.shared.gid, reason: 'UNKNOWN', message: NUL }), 'input.message'),
  m('a backspace in a reported message', 'reportConnectionError', 'ReportConnectionErrorInput', (a) => ({ id: a.connections.shared.gid, reason: 'UNKNOWN', message: 'a\bb' }), 'input.message', 'a\bb'),
  m('NUL in a refresh run error', 'recordRefreshRun', 'RecordRefreshRunInput', (a) => run(a, { status: 'FAILED', error: NUL }), 'input.error'),
  m('NUL in a webhook description', 'createWebhookEndpoint', 'CreateWebhookEndpointInput', () => ({ url: 'https://hooks.example.test/', description: NUL }), 'input.description'),
  m('NUL in an integration description', 'registerIntegration', 'RegisterIntegrationInput', () => ({ key: 'acme', name: 'Acme', authMethod: 'API_KEY', description: NUL }), 'input.description'),
  // Dates PostgreSQL cannot store.
  m('year 0000', 'recordRefreshRun', 'RecordRefreshRunInput', (a) => run(a, { startedAt: '0000-01-01T00:00:00Z' }), 'input.startedAt', '0000-01-01'),
  m('the last JavaScript date, +275760', 'recordRefreshRun', 'RecordRefreshRunInput', (a) => run(a, { finishedAt: '+275760-09-13T00:00:00.000Z' }), 'input.finishedAt', '275760'),
  m('year 999', 'recordRefreshRun', 'RecordRefreshRunInput', (a) => run(a, { startedAt: '0999-12-31T23:59:59Z' }), 'input.startedAt', '0999-12-31'),
  m('year 10000', 'updateRefreshRun', 'UpdateRefreshRunInput', (a) => ({ id: a.refreshRun.gid, status: 'FAILED', finishedAt: '+010000-01-01T00:00:00Z' }), 'input.finishedAt', '010000'),
  m('a string that is no date', 'recordRefreshRun', 'RecordRefreshRunInput', (a) => run(a, { startedAt: 'yesterday-ish' }), 'input.startedAt', 'yesterday-ish'),
  // JSON: depth, size, NUL.
  m('a 20,000-deep JSON filter', 'createDataSource', 'CreateDataSourceInput', (a) => source(a, { filter: DEEP }), 'input.filter', '{"a":{"a":{"a":'),
  m(`a JSON filter ${MAX_JSON_DEPTH + 1} deep`, 'updateDataSource', 'UpdateDataSourceInput', (a) => ({ id: a.dataSource.gid, filter: nested(MAX_JSON_DEPTH + 1) }), 'input.filter', '"leaf"'),
  m('a 70 KB JSON filter', 'createDataSource', 'CreateDataSourceInput', (a) => source(a, { filter: { blob: 'z'.repeat(70_000) } }), 'input.filter', 'zzzzzzzz'),
  m('NUL in a JSON filter key', 'createDataSource', 'CreateDataSourceInput', (a) => source(a, { filter: { [NUL]: 1 } }), 'input.filter'),
  m('NUL in a JSON filter value', 'updateDataSource', 'UpdateDataSourceInput', (a) => ({ id: a.dataSource.gid, filter: { dimensions: ['date', NUL] } }), 'input.filter'),
  m('half a surrogate pair in JSON credentials', 'reauthenticateConnection', 'ReauthenticateConnectionInput', (a) => ({ id: a.connections.shared.gid, credentials: { apiKey: 'k\udc00' } }), 'input.credentials', 'k\udc00'),
  // Query arguments, top-level and nested (nested ones feed the root field's SQL).
  { name: 'NUL in a connection filter', document: `query($k: String!) { connections(first: 5, filter: { integration: $k }) { totalCount } }`, variables: () => ({ k: NUL }), field: 'filter.integration', bad: NUL },
  { name: 'a 121-character connection search', document: `query($s: String!) { connections(first: 5, filter: { search: $s }) { totalCount } }`, variables: () => ({ s: 'q'.repeat(121) }), field: 'filter.search', bad: 'q'.repeat(121) },
  { name: 'NUL in a cursor', document: `query($c: String!) { connections(first: 5, after: $c) { totalCount } }`, variables: () => ({ c: NUL }), field: 'after', bad: NUL },
  { name: 'NUL in an integration key lookup', document: `query($k: String!) { integration(key: $k) { key } }`, variables: () => ({ k: NUL }), field: 'key', bad: NUL },
  { name: 'NUL in a catalog search', document: `query($s: String!) { integrations(first: 5, filter: { search: $s }) { totalCount } }`, variables: () => ({ s: NUL }), field: 'filter.search', bad: NUL },
  { name: 'NUL in an event feed filter', document: `query($id: ID!) { connectionEvents(first: 5, filter: { connectionIds: [$id] }) { nodes { id } } }`, variables: () => ({ id: NUL }), field: 'filter.connectionIds.0', bad: NUL },
  { name: 'NUL in a node id', document: `query($id: ID!) { node(id: $id) { id } }`, variables: (a) => ({ id: a.connections.shared.gid + '\u0000' }), field: 'id', bad: '\u0000' },
  {
    name: 'NUL in a nested connection filter',
    document: `query($k: String!) { viewer { account { connections(first: 5, filter: { integration: $k }) { nodes { id } } } } }`,
    variables: () => ({ k: NUL }),
    field: 'account.connections(filter.integration)',
    bad: NUL,
  },
  {
    name: 'NUL in a nested cursor, through a fragment',
    document: `query($id: ID!, $c: String!) { connection(id: $id) { ...Sources } } fragment Sources on Connection { dataSources(first: 1, after: $c) { totalCount } }`,
    variables: (a) => ({ id: a.connections.shared.gid, c: NUL }),
    field: 'dataSources(after)',
    bad: NUL,
  },
  {
    name: 'year 0000 written into the document',
    document: `mutation($id: ID!) { recordRefreshRun(input: { dataSourceId: $id, status: RUNNING, startedAt: "0000-06-01T00:00:00Z" }) { __typename ... on ValidationError { message code field } } }`,
    variables: (a) => ({ id: a.dataSource.gid }),
    field: 'input.startedAt',
    bad: '0000-06-01',
  },
];

/** Every row of these accounts a request could change. */
async function snapshot(db: Database, accountIds: string[]) {
  return {
    connections: await db.select().from(connections).where(inArray(connections.accountId, accountIds)).orderBy(connections.id),
    events: await db.select().from(connectionEvents).where(inArray(connectionEvents.accountId, accountIds)).orderBy(connectionEvents.id),
    dataSources: await db.select().from(dataSources).where(inArray(dataSources.accountId, accountIds)).orderBy(dataSources.id),
    refreshRuns: await db.select().from(refreshRuns).where(inArray(refreshRuns.accountId, accountIds)).orderBy(refreshRuns.id),
    apiTokens: await db.select().from(apiTokens).where(inArray(apiTokens.accountId, accountIds)).orderBy(apiTokens.id),
    notifications: await db.select().from(notifications).where(inArray(notifications.accountId, accountIds)).orderBy(notifications.id),
    webhookEndpoints: await db.select().from(webhookEndpoints).where(inArray(webhookEndpoints.accountId, accountIds)).orderBy(webhookEndpoints.id),
    integrations: await db.select().from(integrations).where(inArray(integrations.accountId, accountIds)).orderBy(integrations.id),
    oauthApps: await db.select().from(oauthApps).where(inArray(oauthApps.accountId, accountIds)),
  };
}

describeEachDatabase('bad input never reaches PostgreSQL', (db) => {
  it('every bad value is a VALIDATION error naming its field, not echoing it, never a 5xx, and changes nothing', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const logLines: string[] = [];
      const app = createApp({ db: tx, vault: testVault, log: createLog('debug', (line) => logLines.push(line)) });
      const before = await snapshot(tx, [a.account.id]);
      for (const bad of BAD_INPUTS) {
        const body = JSON.stringify({ query: bad.document, variables: bad.variables(a) }).replace(JSON.stringify(DEEP), DEEP_JSON);
        const response = await app.yoga.fetch('http://gateway.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${a.owner.token}` },
          body,
        });
        const text = await response.text();
        const answer = JSON.parse(text);
        // A mutation's result union carries the ValidationError; other fields answer with a top-level error.
        const [payload] = Object.values(answer.data ?? {}) as Record<string, unknown>[];
        const error =
          payload && typeof payload === 'object' && payload.__typename === 'ValidationError'
            ? { via: 'union', message: payload.message, code: payload.code, field: payload.field }
            : { via: 'errors', message: answer.errors?.[0]?.message, ...answer.errors?.[0]?.extensions };
        expect({ case: bad.name, status: response.status, ...error }).toEqual({
          case: bad.name,
          status: 200,
          via: bad.document.startsWith('mutation') ? 'union' : 'errors',
          message: expect.stringMatching(new RegExp(`^${bad.field.replace(/[.()]/g, '\\$&')} must `)),
          code: 'VALIDATION',
          field: bad.field,
        });
        expect({ case: bad.name, echoed: text.includes(JSON.stringify(bad.bad).slice(1, -1)) }).toEqual({ case: bad.name, echoed: false });
      }
      expect(await snapshot(tx, [a.account.id])).toEqual(before);
      expect(logLines.filter((line) => /Failed query|Unexpected error|INTERNAL/.test(line))).toEqual([]);
    });
  });

  it('a subscription refuses a bad argument before it subscribes', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const result = await subscribe({
        schema,
        document: parse(`subscription($c: String!) { connectionStatusChanged(after: $c) { cursor } }`),
        contextValue: { db: tx, viewer: a.owner.viewer, vault: testVault, oauth: testOAuthSettings },
        variableValues: { c: NUL },
      });
      expect(Symbol.asyncIterator in result).toBe(false);
      const { errors } = result as unknown as { errors: { message: string; originalError?: { field?: string } }[] };
      expect(errors.map((e) => [e.message, e.originalError?.field])).toEqual([
        ['after must not contain NUL characters', 'after'],
      ]);
    });
  });

  it('free text keeps tabs and line breaks; dates from year 1000 to 9999 and JSON 10 deep are stored', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const reported = await graphql(tx, a.service.viewer, `mutation($input: ReportConnectionErrorInput!) {
        reportConnectionError(input: $input) { __typename ... on ReportConnectionErrorSuccess { connection { problem { message } } } }
      }`, { input: { id: a.connections.shared.gid, reason: 'UNKNOWN', message: 'line 1\r\n\tline 2' } });
      expect(reported.data!.reportConnectionError).toEqual({
        __typename: 'ReportConnectionErrorSuccess',
        connection: { problem: { message: 'line 1\r\n\tline 2' } },
      });
      const recorded = await graphql(tx, a.service.viewer, mutation('recordRefreshRun', 'RecordRefreshRunInput').replace('__typename', '__typename ... on RecordRefreshRunSuccess { refreshRun { startedAt finishedAt } }'), {
        input: run(a, { startedAt: '1000-01-01T00:00:00Z', finishedAt: '9999-12-31T23:59:59.999Z' }),
      });
      expect(recorded.data!.recordRefreshRun).toEqual({
        __typename: 'RecordRefreshRunSuccess',
        refreshRun: { startedAt: '1000-01-01T00:00:00.000Z', finishedAt: '9999-12-31T23:59:59.999Z' },
      });
      const filter = nested(MAX_JSON_DEPTH);
      const created = await graphql(tx, a.owner.viewer, mutation('createDataSource', 'CreateDataSourceInput').replace('__typename', '__typename ... on CreateDataSourceSuccess { dataSource { filter } }'), {
        input: source(a, { filter }),
      });
      expect(created.data!.createDataSource).toEqual({ __typename: 'CreateDataSourceSuccess', dataSource: { filter } });
    });
  });
});
