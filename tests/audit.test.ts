import { and, count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { countStatements, type Database } from '../server/db/client.js';
import { accessTokenGrants, connectionEvents, connections } from '../server/db/schema.js';
import { encodeGlobalId, parseGlobalId } from '../server/domain/global-ids.js';
import { RATE_LIMITS_OFF } from '../server/edge/rate-limit.js';
import { createLog } from '../server/log.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, tenant, type Tenant, testVault } from './support/fixtures.js';
import { postGraphql } from './support/graphql-http.js';
import { settle, wsClient } from './support/live-clients.js';
import { startStubService, type StubService } from './support/stub-service.js';

const EVENT_FIELDS = `id kind fromStatus toStatus actorKind actor { id } connectionId connectionName integration connectionDeleted
  currentConnection { id name }
  details { previousName name dataSourceId dataSourceName fromConnectionId fromConnectionName toConnectionId toConnectionName }`;

const HISTORY = `query($ids: [ID!], $after: String) {
  connectionEvents(first: 100, after: $after, includeDeleted: true, filter: { connectionIds: $ids }) {
    pageInfo { endCursor }
    nodes { ${EVENT_FIELDS} }
  }
}`;

const AUDIT = `query($filter: AuditEventFilter, $first: Int) {
  auditEvents(first: $first, filter: $filter) { nodes { ${EVENT_FIELDS} createdAt } }
}`;

const mutate = async (db: Database, t: Tenant['member'], document: string, variables: Record<string, unknown>) => {
  const result = await graphql(db, t.viewer, document, variables);
  expect(result.errors).toBeUndefined();
  const [payload] = Object.values(result.data!) as { __typename: string; message?: string }[];
  expect(payload.__typename, payload.message).toMatch(/Success$/);
  return payload as Record<string, any>;
};

const START = `mutation($input: StartConnectionInput!) { startConnection(input: $input) { __typename ... on Error { message } ... on StartConnectionSuccess { result { connection { id } } } } }`;
const UPDATE = `mutation($input: UpdateConnectionInput!) { updateConnection(input: $input) { __typename ... on Error { message } } }`;
const REAUTH = `mutation($id: ID!, $credentials: JSONObject) { reauthenticateConnection(input: { id: $id, credentials: $credentials }) { __typename ... on Error { message } } }`;
const REVOKE = `mutation($id: ID!) { revokeConnection(input: { id: $id }) { __typename ... on Error { message } } }`;
const DELETE = `mutation($id: ID!) { deleteConnection(input: { id: $id }) { __typename ... on Error { message } } }`;
const CREATE_SOURCE = `mutation($input: CreateDataSourceInput!) { createDataSource(input: $input) { __typename ... on Error { message } ... on CreateDataSourceSuccess { dataSource { id } } } }`;
const UPDATE_SOURCE = `mutation($input: UpdateDataSourceInput!) { updateDataSource(input: $input) { __typename ... on Error { message } } }`;
const DELETE_SOURCE = `mutation($id: ID!) { deleteDataSource(input: { id: $id }) { __typename ... on Error { message } } }`;

let stub: StubService;
beforeAll(async () => {
  stub = await startStubService();
  stub.validKeys = new Set(['key-live-123456', 'key-next-654321']);
});
afterAll(async () => {
  await stub.close();
});

async function registerStub(db: Database, t: Tenant) {
  await mutate(db, t.admin, `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename ... on Error { message } } }`, {
    input: { key: 'stub-api', name: 'Stub API', authMethod: 'API_KEY', verifyUrl: `${stub.url}/v1/me`, apiKeyHeader: 'X-Api-Key' },
  });
}

describeEachDatabase('audit trail', (db) => {
  it('every change of a connection is an event with its actor, and the events outlive the connection', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'audit-kinds');
      await registerStub(tx, a);
      const start = (name: string) =>
        mutate(tx, a.member, START, { input: { integration: 'stub-api', name, credentials: { apiKey: 'key-live-123456' } } });
      const id: string = (await start('Stub A')).result.connection.id;
      const other: string = (await start('Stub B')).result.connection.id;
      await mutate(tx, a.member, UPDATE, { input: { id, name: 'Stub A2' } });
      await mutate(tx, a.member, UPDATE, { input: { id, shared: true } });
      await mutate(tx, a.member, UPDATE, { input: { id, shared: false } });
      const source: string = (
        await mutate(tx, a.member, CREATE_SOURCE, { input: { connectionId: id, resourceId: 'r/1', name: 'Orders', schedule: '0 6 * * *' } })
      ).dataSource.id;
      await mutate(tx, a.member, UPDATE_SOURCE, { input: { id: source, connectionId: other } });
      await mutate(tx, a.member, UPDATE_SOURCE, { input: { id: source, connectionId: id } });
      await mutate(tx, a.member, DELETE_SOURCE, { id: source });
      await mutate(tx, a.member, REAUTH, { id, credentials: { apiKey: 'key-next-654321' } });
      await mutate(tx, a.admin, REVOKE, { id });
      await mutate(tx, a.member, REAUTH, { id, credentials: { apiKey: 'key-live-123456' } });
      await mutate(tx, a.admin, DELETE, { id });

      const history = await graphql(tx, a.member.viewer, HISTORY, { ids: [id] });
      expect(history.errors).toBeUndefined();
      const events = history.data!.connectionEvents.nodes as any[];
      expect(events.map((e) => [e.kind, e.fromStatus, e.toStatus, e.actor?.id])).toEqual([
        ['CREATED', 'PENDING', 'ACTIVE', a.member.id],
        ['RENAMED', 'ACTIVE', 'ACTIVE', a.member.id],
        ['SHARED', 'ACTIVE', 'ACTIVE', a.member.id],
        ['UNSHARED', 'ACTIVE', 'ACTIVE', a.member.id],
        ['DATA_SOURCE_ADDED', 'ACTIVE', 'ACTIVE', a.member.id],
        ['DATA_SOURCE_MOVED', 'ACTIVE', 'ACTIVE', a.member.id],
        ['DATA_SOURCE_MOVED', 'ACTIVE', 'ACTIVE', a.member.id],
        ['DATA_SOURCE_REMOVED', 'ACTIVE', 'ACTIVE', a.member.id],
        ['REAUTHENTICATED', 'ACTIVE', 'ACTIVE', a.member.id],
        ['REVOKED', 'ACTIVE', 'REVOKED', a.admin.id],
        ['REAUTHENTICATED', 'REVOKED', 'ACTIVE', a.member.id],
        ['DELETED', 'ACTIVE', 'ACTIVE', a.admin.id],
      ]);
      for (const event of events) {
        expect(event).toMatchObject({ actorKind: 'USER', connectionId: id, integration: 'stub-api', connectionDeleted: true, currentConnection: null });
      }
      expect(events[1].details).toMatchObject({ previousName: 'Stub A', name: 'Stub A2' });
      expect(events[1].connectionName).toBe('Stub A2');
      expect(events[5].details).toMatchObject({
        dataSourceId: source,
        dataSourceName: 'Orders',
        fromConnectionId: id,
        fromConnectionName: 'Stub A2',
        toConnectionId: other,
        toConnectionName: 'Stub B',
      });
      expect(events[11].connectionName).toBe('Stub A2');
      // The other connection's history tells where the data source came from and went.
      const otherHistory = await graphql(tx, a.member.viewer, HISTORY, { ids: [other] });
      expect((otherHistory.data!.connectionEvents.nodes as any[]).map((e) => e.kind)).toEqual(['CREATED', 'DATA_SOURCE_MOVED', 'DATA_SOURCE_MOVED']);
      // The rows stay in the table; the default feed, as before deletions were kept, lists none of them.
      const [{ value }] = await tx.select({ value: count() }).from(connectionEvents).where(eq(connectionEvents.connectionId, parseGlobalId(id, 'Connection', 'id')));
      expect(value).toBe(12);
      const plain = await graphql(tx, a.member.viewer, `query($ids: [ID!]) { connectionEvents(first: 100, filter: { connectionIds: $ids }) { nodes { id connection { id } } } }`, { ids: [id] });
      expect(plain.errors).toBeUndefined();
      expect(plain.data!.connectionEvents.nodes).toEqual([]);
    });
  });

  it('the audit feed shows each role what it may see, across accounts, with its filters', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'audit-feed-a');
      const b = await tenant(tx, 'audit-feed-b');
      const privateId = a.connections.member2Private.gid;
      const sharedId = a.connections.shared.gid;
      await mutate(tx, a.member2, UPDATE, { input: { id: privateId, name: 'Secret name' } });
      await mutate(tx, a.owner, UPDATE, { input: { id: sharedId, name: 'Team GA4' } });
      await mutate(tx, a.admin, DELETE, { id: privateId });
      await mutate(tx, b.owner, UPDATE, { input: { id: b.connections.shared.gid, name: 'Other account' } });
      // One transaction has one now(): move the deletion a minute later so the time range can split them.
      await tx
        .update(connectionEvents)
        .set({ createdAt: sql`${connectionEvents.createdAt} + interval '1 minute'` })
        .where(and(eq(connectionEvents.connectionId, a.connections.member2Private.id), eq(connectionEvents.kind, 'DELETED')));

      const feed = async (who: Tenant['member'], filter: Record<string, unknown> = {}) => {
        const result = await graphql(tx, who.viewer, AUDIT, { filter, first: 100 });
        expect(result.errors).toBeUndefined();
        // Fixture events (written straight to the table) are STATUS_CHANGED: look at the changes made here.
        return (result.data!.auditEvents.nodes as any[]).filter((e) => e.kind !== 'STATUS_CHANGED');
      };
      // Admin: every connection of the account, newest first; another member's private one without its name or details.
      const admin = await feed(a.admin);
      expect(admin.map((e) => [e.kind, e.connectionId, e.connectionName])).toEqual([
        ['DELETED', privateId, null],
        ['RENAMED', sharedId, 'Team GA4'],
        ['RENAMED', privateId, null],
      ]);
      expect(admin[2].details).toBeNull();
      expect(admin[0]).toMatchObject({ connectionDeleted: true, currentConnection: null, actor: { id: a.admin.id } });
      // Its owner sees the tombstone with names; another member sees only the shared connection's change.
      const owner2 = await feed(a.member2);
      expect(owner2.map((e) => [e.kind, e.connectionName])).toEqual([
        ['DELETED', 'Secret name'],
        ['RENAMED', 'Team GA4'],
        ['RENAMED', 'Secret name'],
      ]);
      expect(owner2[2].details).toMatchObject({ previousName: 'audit-feed-a member2 private', name: 'Secret name' });
      expect((await feed(a.member)).map((e) => e.connectionId)).toEqual([sharedId]);
      // Another account sees only its own.
      expect((await feed(b.admin)).map((e) => e.connectionName)).toEqual(['Other account']);
      // Filters: connection, actor, kind, time range.
      expect((await feed(a.admin, { connection: privateId })).map((e) => e.kind)).toEqual(['DELETED', 'RENAMED']);
      expect((await feed(a.admin, { actor: a.owner.id })).map((e) => e.connectionId)).toEqual([sharedId]);
      expect((await feed(a.admin, { kinds: ['DELETED'] })).map((e) => e.connectionId)).toEqual([privateId]);
      const deletedAt = admin[0].createdAt as string;
      expect((await feed(a.admin, { since: deletedAt })).map((e) => e.kind)).toEqual(['DELETED']);
      expect((await feed(a.admin, { until: deletedAt })).map((e) => e.kind)).toEqual(['RENAMED', 'RENAMED']);
      // Another account's connection id filters to nothing, exactly like a missing one.
      expect(await feed(a.admin, { connection: b.connections.shared.gid })).toEqual([]);
      const bad = await graphql(tx, a.admin.viewer, AUDIT, { filter: { since: deletedAt, until: '2000-01-01T00:00:00Z' } });
      expect(bad.errors?.map((e) => (e.originalError as { code?: string } | undefined)?.code)).toEqual(['VALIDATION']);
    });
  });

  it('reads the audit feed in the same number of statements at any page size', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'audit-count');
      for (let i = 0; i < 30; i++) await mutate(tx, a.owner, UPDATE, { input: { id: a.connections.shared.gid, name: `Name ${i}` } });
      await mutate(tx, a.admin, DELETE, { id: a.connections.member2Private.gid });
      const counts: number[] = [];
      for (const first of [2, 30]) {
        const { result, statements } = await countStatements(() => graphql(tx, a.admin.viewer, AUDIT, { first }));
        expect(result.errors).toBeUndefined();
        expect(result.data!.auditEvents.nodes).toHaveLength(first);
        counts.push(statements.length);
      }
      expect(counts[0]).toBe(counts[1]);
      expect(counts[0]).toBeLessThanOrEqual(2);
    });
  });

  it('summarises access-token hand-outs per connection, token and hour or day, for who may see the connection', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'audit-handouts');
      const grant = (connectionId: string, createdAt: string) =>
        tx.insert(accessTokenGrants).values({ accountId: a.account.id, connectionId, apiTokenId: a.service.viewer.tokenId, createdAt });
      for (const at of ['2026-11-20T10:05:00Z', '2026-11-20T10:55:00Z', '2026-11-20T11:30:00Z', '2026-11-21T09:00:00Z']) {
        await grant(a.connections.shared.id, at);
      }
      await grant(a.connections.member2Private.id, '2026-11-20T10:10:00Z');
      const HANDOUTS = `query($per: HandoutPeriod, $filter: AccessTokenHandoutFilter) {
        accessTokenHandouts(per: $per, filter: $filter) { connectionId apiTokenId apiTokenName periodStart count firstAt lastAt }
      }`;
      const tokenId = encodeGlobalId('ApiToken', a.service.viewer.tokenId);
      const { result: daily, statements } = await countStatements(() => graphql(tx, a.admin.viewer, HANDOUTS, { per: 'DAY' }));
      expect(daily.errors).toBeUndefined();
      expect(statements).toHaveLength(1);
      const shared = a.connections.shared.gid;
      const rows = (daily.data!.accessTokenHandouts as any[]).map((r) => [r.connectionId, r.periodStart, r.count, r.firstAt, r.lastAt]);
      expect(rows).toEqual([
        [shared, '2026-11-21T00:00:00.000Z', 1, '2026-11-21T09:00:00.000Z', '2026-11-21T09:00:00.000Z'],
        ...[
          [shared, '2026-11-20T00:00:00.000Z', 3, '2026-11-20T10:05:00.000Z', '2026-11-20T11:30:00.000Z'],
          [a.connections.member2Private.gid, '2026-11-20T00:00:00.000Z', 1, '2026-11-20T10:10:00.000Z', '2026-11-20T10:10:00.000Z'],
        ].sort((x, y) => (parseGlobalId(x[0] as string, 'Connection', 'id') < parseGlobalId(y[0] as string, 'Connection', 'id') ? -1 : 1)),
      ]);
      expect((daily.data!.accessTokenHandouts as any[])[0]).toMatchObject({ apiTokenId: tokenId, apiTokenName: 'test' });
      const hourly = await graphql(tx, a.admin.viewer, HANDOUTS, { per: 'HOUR', filter: { connection: shared, since: '2026-11-20T00:00:00Z', until: '2026-11-21T00:00:00Z' } });
      expect((hourly.data!.accessTokenHandouts as any[]).map((r) => [r.periodStart, r.count])).toEqual([
        ['2026-11-20T11:00:00.000Z', 1],
        ['2026-11-20T10:00:00.000Z', 2],
      ]);
      // A member: only connections they may see, and not the admin's token name.
      const member = await graphql(tx, a.member.viewer, HANDOUTS, {});
      expect((member.data!.accessTokenHandouts as any[]).map((r) => [r.connectionId, r.apiTokenName])).toEqual([
        [shared, null],
        [shared, null],
      ]);
    });
  });
});

const CHANGED = `subscription($after: String) {
  connectionChanged(after: $after) { cursor kind deleted connectionId connection { id name shared } event { actor { id } details { previousName name } } }
}`;
const STATUS = `subscription { connectionStatusChanged { status connection { id } } }`;

describeEachDatabase('live and catch-up of renames, sharing and deletions', (db) => {
  let app: App;
  let url: string;
  let a: Tenant;
  const disposers: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    a = await tenant(db(), 'audit-live');
    app = createApp({ db: db() as Database, vault: testVault, log: createLog('silent'), rateLimit: RATE_LIMITS_OFF });
    url = await app.start(0);
  });
  afterAll(async () => {
    for (const dispose of disposers) await dispose();
    await app?.stop();
  });

  const gql = async (who: Tenant['member'], query: string, variables: Record<string, unknown> = {}) => {
    const body = await postGraphql(url, who.token, query, variables);
    expect(body.errors).toBeUndefined();
    return body.data;
  };
  function client(token: string) {
    const c = wsClient(url, token);
    disposers.push(() => c.dispose());
    return c;
  }
  async function subscribers(count: number) {
    for (let i = 0; i < 500 && app.live.counts().connectionStatus < count; i++) await settle(10);
    expect(app.live.counts().connectionStatus).toBe(count);
  }

  it('a rename, an unshare and a delete reach graphql-ws clients as they may see them, and catch-up returns them', async () => {
    const id = a.connections.shared.gid;
    // Its data source would block the delete.
    await gql(a.owner, DELETE_SOURCE, { id: a.dataSource.gid });
    const [row] = await db()
      .insert(connections)
      .values({ accountId: a.account.id, ownerId: a.owner.user.id, integrationKey: 'google-analytics-4', status: 'ACTIVE', shared: true, name: 'Breaks later' })
      .returning();
    const breaking = { ...row, gid: encodeGlobalId('Connection', row.id) };
    const ownerLive = client(a.owner.token).subscribe(CHANGED);
    const memberLive = client(a.member2.token).subscribe(CHANGED);
    const statusLive = client(a.member2.token).subscribe(STATUS);
    await subscribers(3);
    const before = await gql(a.owner, `{ connectionEvents(last: 1, includeDeleted: true) { pageInfo { endCursor } } }`);

    await gql(a.owner, UPDATE, { input: { id, name: 'Renamed live' } });
    // Contents are judged as the connection is when the change is sent: read the rename before unsharing.
    const [renamed] = await memberLive.received.until(1);
    await gql(a.owner, UPDATE, { input: { id, shared: false } });
    await memberLive.received.until(2);
    expect(renamed.data.connectionChanged).toMatchObject({
      kind: 'RENAMED',
      connectionId: id,
      deleted: false,
      event: { actor: { id: a.owner.id }, details: { previousName: 'audit-live shared GA4', name: 'Renamed live' } },
    });
    // The member could see it while it was shared: told it is gone, without its contents.
    expect(memberLive.received.messages[1].data.connectionChanged).toMatchObject({ kind: 'UNSHARED', connectionId: id, connection: null });

    await gql(a.owner, DELETE, { id });
    const ownerMessages = await ownerLive.received.until(3);
    expect(ownerMessages.map((m) => [m.data.connectionChanged.kind, m.data.connectionChanged.deleted])).toEqual([
      ['RENAMED', false],
      ['UNSHARED', false],
      ['DELETED', true],
    ]);
    expect(ownerMessages[0].data.connectionChanged.connection).toMatchObject({ id, name: 'Renamed live' });
    expect(ownerMessages[2].data.connectionChanged.connection).toBeNull();
    // None of these is a status change: a status change made after them is the first thing that subscription hears.
    await gql(a.service, `mutation($id: ID!) { reportConnectionError(input: { id: $id, reason: INVALID_REFRESH_TOKEN }) { __typename } }`, {
      id: breaking.gid,
    });
    const [status] = await statusLive.received.until(1);
    expect(status.data.connectionStatusChanged).toMatchObject({ status: 'DISCONNECTED', connection: { id: breaking.gid } });
    expect(memberLive.received.messages).toHaveLength(2);

    // Catch-up from before: the same three changes, in commit order, to the owner.
    const missed = await gql(a.owner, HISTORY, { after: before.connectionEvents.pageInfo.endCursor });
    expect((missed.connectionEvents.nodes as any[]).filter((e) => e.connectionId === id).map((e) => e.kind)).toEqual(['RENAMED', 'UNSHARED', 'DELETED']);
    // The member who lost sight of it still learns it was unshared (and nothing after), so its list drops it.
    const memberMissed = await gql(a.member2, HISTORY, { after: before.connectionEvents.pageInfo.endCursor });
    expect((memberMissed.connectionEvents.nodes as any[]).filter((e) => e.connectionId === id).map((e) => [e.kind, e.connectionName])).toEqual([
      ['RENAMED', 'Renamed live'],
      ['UNSHARED', null],
    ]);
    // Resuming the subscription from a cursor replays the same.
    const resumed = client(a.owner.token).subscribe(CHANGED, { after: before.connectionEvents.pageInfo.endCursor });
    const replayed = await resumed.received.until(3);
    expect(replayed.slice(0, 3).map((m) => m.data.connectionChanged.kind)).toEqual(['RENAMED', 'UNSHARED', 'DELETED']);
    const [{ value }] = await db()
      .select({ value: count() })
      .from(connectionEvents)
      .where(and(eq(connectionEvents.connectionId, a.connections.shared.id), eq(connectionEvents.kind, 'DELETED')));
    expect(value).toBe(1);
  });
});
