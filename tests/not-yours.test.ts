/**
 * "Not yours" answers exactly like "does not exist": for every query, mutation and subscription
 * that takes an id, a random id, another member's private object in the same account and another
 * account's object give byte-identical results (apart from the id itself), and change nothing.
 */
import { randomUUID } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import { parse, subscribe } from 'graphql';
import { expect, it } from 'vitest';
import type { Database } from '../server/db/client.js';
import { apiTokens, connections, dataSources, notifications, refreshRuns, webhookEndpoints } from '../server/db/schema.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import type { Viewer } from '../server/domain/viewer.js';
import { schema } from '../server/graphql/schema.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, type Tenant, tenant, testOAuthSettings, testVault } from './support/fixtures.js';

/** A mutation document selecting everything an error answer carries. */
const mutation = (field: string, inputType: string) => `mutation($input: ${inputType}!) {
  ${field}(input: $input) {
    __typename
    ... on Error { message code }
    ... on NotFoundError { typename }
    ... on ValidationError { field }
  }
}`;

/** One entry point taking an id, and the answer every hidden id must get. */
interface Case {
  name: string;
  /** Who asks. */
  viewer: (a: Tenant) => Viewer;
  document: string;
  variables: (id: string) => Record<string, unknown>;
  /** Ids of the right type: another member's private object, and another account's. */
  hidden: (a: Tenant, b: Tenant, extra: Extra) => { memberPrivate?: string; otherAccount: string };
  /** What all of them answer (checked so the table cannot pass by answering success alike). */
  expected: unknown;
  /** Applied to every answer (e.g. the error a subscription returns). */
  run?: (tx: Database, viewer: Viewer, document: string, variables: Record<string, unknown>) => Promise<unknown>;
}

/** Fixtures the tenant builder does not make: a run on a private data source, notices, endpoints. */
interface Extra {
  privateRunId: string;
  ownSourceId: string;
  memberNoticeId: (t: Tenant) => string;
  endpointId: (t: Tenant) => string;
}

const notFound = (field: string, typename: string) => ({
  [field]: { __typename: 'NotFoundError', message: `${typename} not found`, code: 'NOT_FOUND', typename },
});

const gid = encodeGlobalId;
const member2 = (a: Tenant) => a.member2.viewer;
const privateConnection = (a: Tenant, b: Tenant) => ({ memberPrivate: a.connections.memberPrivate.gid, otherAccount: b.connections.shared.gid });
const privateSource = (a: Tenant, b: Tenant) => ({ memberPrivate: a.privateDataSource.gid, otherAccount: b.dataSource.gid });

const CASES: Case[] = [
  {
    name: 'updateConnection',
    viewer: member2,
    document: mutation('updateConnection', 'UpdateConnectionInput'),
    variables: (id) => ({ input: { id, name: 'Mine now' } }),
    hidden: privateConnection,
    expected: notFound('updateConnection', 'Connection'),
  },
  {
    name: 'deleteConnection',
    viewer: member2,
    document: mutation('deleteConnection', 'DeleteConnectionInput'),
    variables: (id) => ({ input: { id } }),
    hidden: privateConnection,
    expected: notFound('deleteConnection', 'Connection'),
  },
  {
    name: 'testConnection',
    viewer: member2,
    document: mutation('testConnection', 'TestConnectionInput'),
    variables: (id) => ({ input: { id } }),
    hidden: privateConnection,
    expected: notFound('testConnection', 'Connection'),
  },
  {
    name: 'reauthenticateConnection',
    viewer: member2,
    document: mutation('reauthenticateConnection', 'ReauthenticateConnectionInput'),
    variables: (id) => ({ input: { id, credentials: { apiKey: 'k' } } }),
    hidden: privateConnection,
    expected: notFound('reauthenticateConnection', 'Connection'),
  },
  {
    name: 'revokeConnection',
    viewer: member2,
    document: mutation('revokeConnection', 'RevokeConnectionInput'),
    variables: (id) => ({ input: { id } }),
    hidden: privateConnection,
    expected: notFound('revokeConnection', 'Connection'),
  },
  {
    name: 'reportConnectionError',
    viewer: member2,
    document: mutation('reportConnectionError', 'ReportConnectionErrorInput'),
    variables: (id) => ({ input: { id, reason: 'UNKNOWN', message: 'gone' } }),
    hidden: privateConnection,
    expected: notFound('reportConnectionError', 'Connection'),
  },
  {
    name: 'connectionAccessToken (a SERVICE token sees its whole account, so only other accounts hide)',
    viewer: (a) => a.service.viewer,
    document: mutation('connectionAccessToken', 'ConnectionAccessTokenInput'),
    variables: (id) => ({ input: { connectionId: id } }),
    hidden: (_a, b) => ({ otherAccount: b.connections.shared.gid }),
    expected: notFound('connectionAccessToken', 'Connection'),
  },
  {
    name: 'connectionAccessToken (a USER token is refused whatever the id)',
    viewer: member2,
    document: mutation('connectionAccessToken', 'ConnectionAccessTokenInput'),
    variables: (id) => ({ input: { connectionId: id } }),
    hidden: privateConnection,
    expected: {
      connectionAccessToken: { __typename: 'ForbiddenError', message: 'Only SERVICE tokens may fetch access tokens', code: 'FORBIDDEN' },
    },
  },
  {
    name: 'createDataSource on a connection',
    viewer: member2,
    document: mutation('createDataSource', 'CreateDataSourceInput'),
    variables: (id) => ({ input: { connectionId: id, resourceId: 'properties/7', name: 'Mine', schedule: '0 6 * * *' } }),
    hidden: privateConnection,
    expected: notFound('createDataSource', 'Connection'),
  },
  {
    name: 'updateDataSource',
    viewer: member2,
    document: mutation('updateDataSource', 'UpdateDataSourceInput'),
    variables: (id) => ({ input: { id, name: 'Mine now' } }),
    hidden: privateSource,
    expected: notFound('updateDataSource', 'DataSource'),
  },
  {
    name: 'updateDataSource moving one’s own data source to a connection',
    viewer: member2,
    document: mutation('updateDataSource', 'UpdateDataSourceInput'),
    variables: (id) => ({ input: { id: OWN_SOURCE, connectionId: id } }),
    hidden: privateConnection,
    expected: notFound('updateDataSource', 'Connection'),
  },
  {
    name: 'deleteDataSource',
    viewer: member2,
    document: mutation('deleteDataSource', 'DeleteDataSourceInput'),
    variables: (id) => ({ input: { id } }),
    hidden: privateSource,
    expected: notFound('deleteDataSource', 'DataSource'),
  },
  {
    name: 'recordRefreshRun',
    viewer: member2,
    document: mutation('recordRefreshRun', 'RecordRefreshRunInput'),
    variables: (id) => ({ input: { dataSourceId: id, status: 'RUNNING', startedAt: '2026-01-31T12:00:00Z' } }),
    hidden: privateSource,
    expected: notFound('recordRefreshRun', 'DataSource'),
  },
  {
    name: 'updateRefreshRun',
    viewer: member2,
    document: mutation('updateRefreshRun', 'UpdateRefreshRunInput'),
    variables: (id) => ({ input: { id, rows: 5 } }),
    hidden: (_a, b, extra) => ({ memberPrivate: extra.privateRunId, otherAccount: b.refreshRun.gid }),
    expected: notFound('updateRefreshRun', 'RefreshRun'),
  },
  {
    name: 'revokeApiToken',
    viewer: member2,
    document: mutation('revokeApiToken', 'RevokeApiTokenInput'),
    variables: (id) => ({ input: { id } }),
    hidden: (a, b) => ({ memberPrivate: gid('ApiToken', a.member.viewer.tokenId), otherAccount: gid('ApiToken', b.member.viewer.tokenId) }),
    expected: notFound('revokeApiToken', 'ApiToken'),
  },
  {
    name: 'markNotificationsRead',
    viewer: member2,
    document: mutation('markNotificationsRead', 'MarkNotificationsReadInput'),
    variables: (id) => ({ input: { ids: [id] } }),
    hidden: (a, b, extra) => ({ memberPrivate: extra.memberNoticeId(a), otherAccount: extra.memberNoticeId(b) }),
    expected: notFound('markNotificationsRead', 'Notification'),
  },
  ...(['updateWebhookEndpoint', 'rotateWebhookEndpointSecret', 'deleteWebhookEndpoint', 'sendTestWebhook'] as const).map(
    (field): Case => ({
      name: `${field} (endpoints belong to the whole account: only other accounts hide)`,
      viewer: (a) => a.admin.viewer,
      document: mutation(field, `${field.charAt(0).toUpperCase()}${field.slice(1)}Input`),
      variables: (id) => ({ input: field === 'updateWebhookEndpoint' ? { id, enabled: false } : { id } }),
      hidden: (_a, b, extra) => ({ otherAccount: extra.endpointId(b) }),
      expected: notFound(field, 'WebhookEndpoint'),
    }),
  ),
  {
    name: 'connection(id)',
    viewer: member2,
    document: `query($id: ID!) { connection(id: $id) { id name } }`,
    variables: (id) => ({ id }),
    hidden: privateConnection,
    expected: { connection: null },
  },
  {
    name: 'connectionEvents(filter: { connectionIds })',
    viewer: member2,
    document: `query($id: ID!) { connectionEvents(first: 5, filter: { connectionIds: [$id] }) { nodes { id } } }`,
    variables: (id) => ({ id }),
    hidden: privateConnection,
    expected: { connectionEvents: { nodes: [] } },
  },
  ...(
    [
      ['Connection', privateConnection],
      ['DataSource', privateSource],
      ['RefreshRun', (_a: Tenant, b: Tenant, extra: Extra) => ({ memberPrivate: extra.privateRunId, otherAccount: b.refreshRun.gid })],
      ['ApiToken', (a: Tenant, b: Tenant) => ({ memberPrivate: gid('ApiToken', a.member.viewer.tokenId), otherAccount: gid('ApiToken', b.member.viewer.tokenId) })],
      ['Notification', (a: Tenant, b: Tenant, extra: Extra) => ({ memberPrivate: extra.memberNoticeId(a), otherAccount: extra.memberNoticeId(b) })],
    ] as const
  ).map(
    ([type, hidden]): Case => ({
      name: `node(id) of a ${type}`,
      viewer: member2,
      document: `query($id: ID!) { node(id: $id) { id __typename } nodes(ids: [$id]) { id } }`,
      variables: (id) => ({ id }),
      hidden,
      expected: { node: null, nodes: [null] },
    }),
  ),
  {
    name: 'refreshRunUpdated(dataSourceId)',
    viewer: member2,
    document: `subscription($id: ID!) { refreshRunUpdated(dataSourceId: $id) { refreshRun { id } } }`,
    variables: (id) => ({ id }),
    hidden: privateSource,
    expected: 'DataSource not found',
    run: async (tx, viewer, document, variables) => {
      const result = await subscribe({
        schema,
        document: parse(document),
        contextValue: { db: tx, viewer, vault: testVault, oauth: testOAuthSettings },
        variableValues: variables,
      });
      if (Symbol.asyncIterator in result) throw new Error('subscribed to an object that is not visible');
      return result.errors?.[0]?.message;
    },
  },
];

/** The one data source of member2's own, for the move case (filled in per test). */
let OWN_SOURCE = '';

/** Every row a refused mutation could have touched, to prove nothing changed. */
async function snapshot(db: Database, accountIds: string[]) {
  return {
    connections: await db.select().from(connections).where(inArray(connections.accountId, accountIds)).orderBy(connections.id),
    dataSources: await db.select().from(dataSources).where(inArray(dataSources.accountId, accountIds)).orderBy(dataSources.id),
    refreshRuns: await db.select().from(refreshRuns).where(inArray(refreshRuns.accountId, accountIds)).orderBy(refreshRuns.id),
    apiTokens: await db.select().from(apiTokens).where(inArray(apiTokens.accountId, accountIds)).orderBy(apiTokens.id),
    notifications: await db.select().from(notifications).where(inArray(notifications.accountId, accountIds)).orderBy(notifications.id),
    webhookEndpoints: await db.select().from(webhookEndpoints).where(inArray(webhookEndpoints.accountId, accountIds)).orderBy(webhookEndpoints.id),
  };
}

async function extraFixtures(tx: Database, a: Tenant, b: Tenant): Promise<Extra> {
  const [privateRun] = await tx
    .insert(refreshRuns)
    .values({ accountId: a.account.id, dataSourceId: a.privateDataSource.id, status: 'RUNNING' })
    .returning();
  const [ownSource] = await tx
    .insert(dataSources)
    .values({ accountId: a.account.id, connectionId: a.connections.member2Private.id, resourceId: 'properties/3', name: 'Own', schedule: '0 6 * * *' })
    .returning();
  const notices = new Map<string, string>();
  const endpoints = new Map<string, string>();
  for (const t of [a, b]) {
    const [notice] = await tx
      .insert(notifications)
      .values({
        accountId: t.account.id,
        recipientId: t.member.user.id,
        connectionId: t.connections.memberPrivate.id,
        kind: 'REAUTHORIZATION_DUE',
        deadline: '2027-01-01T00:00:00Z',
      })
      .returning();
    notices.set(t.account.id, gid('Notification', notice.id));
    const created = await graphql(
      tx,
      t.admin.viewer,
      `mutation { createWebhookEndpoint(input: { url: "http://127.0.0.1:9/patchbay" }) {
        ... on CreateWebhookEndpointSuccess { payload { webhookEndpoint { id } } } } }`,
    );
    endpoints.set(t.account.id, created.data!.createWebhookEndpoint.payload.webhookEndpoint.id);
  }
  return {
    privateRunId: gid('RefreshRun', privateRun.id),
    ownSourceId: gid('DataSource', ownSource.id),
    memberNoticeId: (t) => notices.get(t.account.id)!,
    endpointId: (t) => endpoints.get(t.account.id)!,
  };
}

describeEachDatabase('not yours answers like does not exist', (db) => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const b = await tenant(tx, 'b');
      const extra = await extraFixtures(tx, a, b);
      OWN_SOURCE = extra.ownSourceId;
      const hidden = c.hidden(a, b, extra);
      const typename = Buffer.from(hidden.otherAccount, 'base64url').toString().split(':')[0];
      const ids = { random: gid(typename, randomUUID()), ...hidden };
      const before = await snapshot(tx, [a.account.id, b.account.id]);
      const viewer = c.viewer(a);
      const answers: Record<string, string> = {};
      for (const [kind, id] of Object.entries(ids)) {
        const run = c.run ?? (async (t, v, d, vars) => await graphql(t, v, d, vars));
        const answer = await run(tx, viewer, c.document, c.variables(id));
        // The whole answer, errors included, with the id it was asked about taken out.
        answers[kind] = JSON.stringify(answer).split(id).join('<id>');
      }
      const expected = JSON.stringify(c.run ? c.expected : { data: c.expected });
      for (const [kind, answer] of Object.entries(answers)) expect([kind, answer]).toEqual([kind, expected]);
      expect(await snapshot(tx, [a.account.id, b.account.id])).toEqual(before);
    });
  });
});
