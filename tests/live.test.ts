import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import type { Database } from '../server/db/client.js';
import { eq, max } from 'drizzle-orm';
import { connectionEvents, connections, dataSources } from '../server/db/schema.js';
import { transaction } from '../server/db/transaction.js';
import { type Change, onCommittedChanges } from '../server/domain/changes.js';
import { transition } from '../server/domain/lifecycle.js';
import type { ConnectionRow, UserRow } from '../server/domain/types.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { RATE_LIMITS_OFF } from '../server/edge/rate-limit.js';
import { createLog } from '../server/log.js';
import { MAX_QUEUED_RESULTS, REPLAY_LIMIT } from '../server/realtime/hub.js';
import { MAX_OPERATIONS_PER_SOCKET } from '../server/realtime/websocket.js';
import WebSocket from 'ws';
import { describeEachDatabase } from './support/db.js';
import { tenant, testVault, type Tenant } from './support/fixtures.js';
import { postGraphql } from './support/graphql-http.js';
import { settle, sseSubscribe, wsClient } from './support/live-clients.js';

const STATUS_CHANGED = `subscription($filter: ConnectionStatusChangedFilter) {
  connectionStatusChanged(filter: $filter) {
    cursor previousStatus status reason occurredAt
    event { id toStatus }
    connection { id name status problem { reason interpretation resolution } viewerCan { use revoke } }
  }
}`;

describeEachDatabase('live status over graphql-ws and SSE', (db) => {
  let app: App;
  let url: string;
  let a: Tenant;
  let b: Tenant;
  const disposers: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    a = await tenant(db(), 'live-a');
    b = await tenant(db(), 'live-b');
    // Load tests below run thousands of operations with one token: rate limits are tested elsewhere.
    app = createApp({ db: db() as Database, vault: testVault, log: createLog('silent'), rateLimit: RATE_LIMITS_OFF });
    url = await app.start(0);
  });
  afterAll(async () => {
    for (const dispose of disposers) await dispose();
    await app?.stop();
  });

  /** A fresh ACTIVE connection with one data source, so each test breaks its own. */
  async function activeConnection(owner: UserRow, shared: boolean, name: string) {
    const [row] = await db()
      .insert(connections)
      .values({ accountId: owner.accountId, ownerId: owner.id, integrationKey: 'google-analytics-4', status: 'ACTIVE', shared, name })
      .returning();
    const [source] = await db()
      .insert(dataSources)
      .values({ accountId: owner.accountId, connectionId: row.id, resourceId: 'p/1', name: `${name} sessions`, schedule: '0 6 * * *' })
      .returning();
    return { ...row, gid: encodeGlobalId('Connection', row.id), sourceGid: encodeGlobalId('DataSource', source.id) };
  }

  const gql = (token: string, query: string, variables: Record<string, unknown> = {}) => postGraphql(url, token, query, variables);

  const reportError = (tenantOf: Tenant, id: string, reason = 'INVALID_REFRESH_TOKEN') =>
    gql(tenantOf.service.token, 'mutation($id: ID!, $reason: DisconnectReason!) { reportConnectionError(input: { id: $id, reason: $reason, message: "invalid_grant" }) { __typename } }', {
      id,
      reason,
    });

  function client(token: string | null, onClose?: (code: number, reason: string) => void) {
    const c = wsClient(url, token, onClose);
    disposers.push(() => c.dispose());
    return c;
  }

  /** Resolves once the hub has as many connection-status subscribers as expected. */
  async function subscribers(count: number) {
    for (let i = 0; i < 500 && app.live.counts().connectionStatus !== count; i++) await settle(10);
    expect(app.live.counts().connectionStatus).toBe(count);
  }

  it('a disconnection reaches a graphql-ws subscriber with the previous and new status, the problem, and a cursor that resumes the event feed', async () => {
    const connection = await activeConnection(a.owner.user, true, 'Live shared GA4');
    const owner = client(a.owner.token);
    const before = app.live.counts().connectionStatus;
    const { received } = owner.subscribe(STATUS_CHANGED, { filter: { connectionIds: [connection.gid] } });
    await subscribers(before + 1);

    expect((await reportError(a, connection.gid)).data.reportConnectionError.__typename).toBe('ReportConnectionErrorSuccess');
    const [message] = await received.until(1);
    const change = message.data.connectionStatusChanged;
    expect(change).toMatchObject({
      previousStatus: 'ACTIVE',
      status: 'DISCONNECTED',
      reason: 'INVALID_REFRESH_TOKEN',
      event: { toStatus: 'DISCONNECTED' },
      connection: {
        id: connection.gid,
        name: 'Live shared GA4',
        status: 'DISCONNECTED',
        problem: { reason: 'INVALID_REFRESH_TOKEN' },
        viewerCan: { use: true, revoke: true },
      },
    });
    expect(change.connection.problem.resolution).toMatch(/\w/);

    // The cursor resumes the feed right after this event: a later change is all that follows.
    await gql(a.owner.token, 'mutation($id: ID!) { revokeConnection(input: { id: $id }) { __typename } }', { id: connection.gid });
    const [, revoked] = await received.until(2);
    const feed = await gql(a.owner.token, 'query($after: String) { connectionEvents(first: 10, after: $after) { nodes { id toStatus connection { id } } pageInfo { endCursor } } }', {
      after: change.cursor,
    });
    expect(feed.data.connectionEvents.nodes).toEqual([
      { id: revoked.data.connectionStatusChanged.event.id, toStatus: 'REVOKED', connection: { id: connection.gid } },
    ]);
    expect(feed.data.connectionEvents.pageInfo.endCursor).toBe(revoked.data.connectionStatusChanged.cursor);
  });

  it('a bad token is refused with close code 4403; an anonymous subscribe too', async () => {
    for (const token of ['pb_not-a-real-token', null]) {
      let closed: number | undefined;
      const bad = client(token, (code) => (closed = code));
      const { received } = bad.subscribe(STATUS_CHANGED);
      await received.ended();
      expect(closed).toBe(4403);
    }
  });

  it('a private connection’s events reach its owner, reach admins without its contents, and never reach another member or account', async () => {
    const connection = await activeConnection(a.member.user, false, 'Member secret GA4');
    const before = app.live.counts().connectionStatus;
    const streams = {
      owner: client(a.member.token).subscribe(STATUS_CHANGED),
      admin: client(a.admin.token).subscribe(STATUS_CHANGED),
      otherMember: client(a.member2.token).subscribe(STATUS_CHANGED),
      otherAccount: client(b.owner.token).subscribe(STATUS_CHANGED),
    };
    await subscribers(before + 4);
    await reportError(a, connection.gid);
    const [mine] = await streams.owner.received.until(1);
    const [admins] = await streams.admin.received.until(1);
    expect(mine.data.connectionStatusChanged.connection).toMatchObject({ name: 'Member secret GA4', status: 'DISCONNECTED' });
    expect(admins.data.connectionStatusChanged.connection).toMatchObject({ id: connection.gid, name: null, status: 'DISCONNECTED' });
    await settle(300);
    expect(streams.otherMember.received.messages).toEqual([]);
    expect(streams.otherAccount.received.messages).toEqual([]);
    for (const stream of Object.values(streams)) stream.unsubscribe();
    await subscribers(before);
  });

  it('subscribers with the same document and the same access share one execution and one serialization per event', async () => {
    const connection = await activeConnection(a.owner.user, true, 'Shared by many');
    const before = app.live.counts().connectionStatus;
    // Two members who own neither connection: identical permissions on it, hence identical results.
    const sockets = [...Array(5)].flatMap(() => [client(a.member.token), client(a.member2.token)]);
    const streams = sockets.map((socket) => socket.subscribe(STATUS_CHANGED, { filter: { connectionIds: [connection.gid] } }));
    const editor = client(a.editor.token).subscribe(STATUS_CHANGED, { filter: { connectionIds: [connection.gid] } });
    await subscribers(before + streams.length + 1);
    const stats = { ...app.live.stats };

    await reportError(a, connection.gid);
    const payloads = await Promise.all(streams.map(async (stream) => (await stream.received.until(1))[0]));
    await editor.received.until(1);
    // Members: one group. The editor may edit data sources: a second group.
    expect(app.live.stats.executions - stats.executions).toBe(2);
    expect(app.live.stats.serializations - stats.serializations).toBe(2);
    expect(app.live.stats.deliveries - stats.deliveries).toBe(streams.length + 1);
    for (const payload of payloads) expect(payload).toEqual(payloads[0]);
  });

  it('the gateway declines permessage-deflate, writes shared results straight to idle sockets as graphql-ws messages, and keeps nothing after complete', async () => {
    // A tenant of its own: no other test's subscriber shares its events or the counts below.
    const c = await tenant(db(), 'live-direct');
    const connection = await activeConnection(c.owner.user, true, 'Written directly');
    const before = app.live.counts().connectionStatus;
    // ws offers permessage-deflate by default, as browsers do; accepting it would keep a zlib
    // context per socket outside the JS heap (the fan-out retention of issue 11).
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    disposers.push(() => socket.terminate());
    const offered = new Promise<string | undefined>((resolve) => socket.once('upgrade', (response) => resolve(response.headers['sec-websocket-extensions'])));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    expect(await offered).toBeUndefined();
    expect(socket.extensions).toBe('');
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${c.member.token}` } }));
    await new Promise((resolve) => socket.once('message', resolve));
    const received: { id: string; type: string; payload?: any }[] = [];
    socket.on('message', (data, isBinary) => {
      expect(isBinary).toBe(false);
      received.push(JSON.parse(String(data)));
    });
    const ids = ['one', 'two', 'three'];
    for (const id of ids) {
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: STATUS_CHANGED, variables: { filter: { connectionIds: [connection.gid] } } } }));
    }
    await subscribers(before + ids.length);
    const stats = { ...app.live.stats };

    await reportError(c, connection.gid);
    for (let i = 0; i < 500 && received.length < ids.length; i++) await settle(10);
    expect(received.map((message) => message.id).sort()).toEqual([...ids].sort());
    for (const message of received) {
      expect(message.type).toBe('next');
      expect(message.payload).toEqual(received[0].payload);
    }
    expect(received[0].payload.data.connectionStatusChanged).toMatchObject({ status: 'DISCONNECTED', connection: { id: connection.gid } });
    // One execution, one serialization, three direct writes: no per-subscriber pipeline.
    expect(app.live.stats.executions - stats.executions).toBe(1);
    expect(app.live.stats.serializations - stats.serializations).toBe(1);
    expect(app.live.stats.directSends - stats.directSends).toBe(ids.length);

    for (const id of ids) socket.send(JSON.stringify({ id, type: 'complete' }));
    await subscribers(before);
    const after = { ...app.live.stats };
    await transaction(db(), async (tx) => {
      const [row] = await tx.select().from(connections).where(eq(connections.id, connection.id));
      await transition(tx, row, 'ACTIVE', { kind: 'SYSTEM' }, { reason: 'UNKNOWN', message: null });
    });
    // Completed subscriptions are gone from the hub: the next change reaches no one.
    await settle(100);
    expect(app.live.stats.deliveries).toBe(after.deliveries);
    expect(app.live.stats.executions).toBe(after.executions);
    expect(received.filter((message) => message.type === 'next')).toHaveLength(ids.length);
  });

  it('data sources turn BROKEN live with their connection, and refresh runs stream to who may see them', async () => {
    const connection = await activeConnection(a.owner.user, true, 'With sources');
    const owner = client(a.owner.token);
    const sources = owner.subscribe(
      'subscription($c: ID) { dataSourceStatusChanged(filter: { connectionId: $c }) { previousStatus status dataSource { id status } } }',
      { c: connection.gid },
    );
    const runs = owner.subscribe('subscription($d: ID!) { refreshRunUpdated(dataSourceId: $d) { refreshRun { status rows } dataSource { id } } }', {
      d: connection.sourceGid,
    });
    const foreign = client(b.owner.token).subscribe('subscription($d: ID!) { refreshRunUpdated(dataSourceId: $d) { refreshRun { id } } }', {
      d: connection.sourceGid,
    });
    const [refused] = await foreign.received.until(1);
    expect(refused.errors[0].extensions.code).toBe('NOT_FOUND');
    for (let i = 0; i < 500 && (app.live.counts().dataSourceStatus < 1 || app.live.counts().refreshRun < 1); i++) await settle(10);

    const recorded = await gql(
      a.service.token,
      'mutation($d: ID!, $at: DateTime!) { recordRefreshRun(input: { dataSourceId: $d, status: SUCCEEDED, startedAt: $at, finishedAt: $at, rows: 42 }) { __typename } }',
      { d: connection.sourceGid, at: new Date().toISOString() },
    );
    expect(recorded.data.recordRefreshRun.__typename).toBe('RecordRefreshRunSuccess');
    const [run] = await runs.received.until(1);
    expect(run.data.refreshRunUpdated).toEqual({ refreshRun: { status: 'SUCCEEDED', rows: 42 }, dataSource: { id: connection.sourceGid } });

    await reportError(a, connection.gid);
    const [broken] = await sources.received.until(1);
    expect(broken.data.dataSourceStatusChanged).toEqual({
      previousStatus: 'ACTIVE',
      status: 'BROKEN',
      dataSource: { id: connection.sourceGid, status: 'BROKEN' },
    });
  });

  it('a RUNNING refresh streams its progress to the end, and a finished run is final', async () => {
    const connection = await activeConnection(a.owner.user, true, 'With progress');
    const subscribed = app.live.counts().refreshRun;
    const runs = client(a.owner.token).subscribe(
      'subscription($d: ID!) { refreshRunUpdated(dataSourceId: $d) { refreshRun { status rows finishedAt } } }',
      { d: connection.sourceGid },
    );
    for (let i = 0; i < 500 && app.live.counts().refreshRun <= subscribed; i++) await settle(10);
    const started = await gql(
      a.service.token,
      'mutation($d: ID!, $at: DateTime!) { recordRefreshRun(input: { dataSourceId: $d, status: RUNNING, startedAt: $at }) { ... on RecordRefreshRunSuccess { refreshRun { id } } } }',
      { d: connection.sourceGid, at: new Date().toISOString() },
    );
    const runId = started.data.recordRefreshRun.refreshRun.id;
    await runs.received.until(1);
    const UPDATE = 'mutation($input: UpdateRefreshRunInput!) { updateRefreshRun(input: $input) { __typename ... on Error { code } } }';
    // Each report is awaited live before the next: a subscriber sees the run as it is when the
    // message is made, so reports in quick succession may arrive as one.
    for (const [index, rows] of [100, 250].entries()) {
      expect((await gql(a.service.token, UPDATE, { input: { id: runId, rows } })).data.updateRefreshRun.__typename).toBe('UpdateRefreshRunSuccess');
      await runs.received.until(index + 2);
    }
    // Another member may not touch it (the data source is shared, but members do not edit it).
    expect((await gql(a.member2.token, UPDATE, { input: { id: runId, rows: 1 } })).data.updateRefreshRun.code).toBe('FORBIDDEN');
    expect((await gql(b.owner.token, UPDATE, { input: { id: runId, rows: 1 } })).data.updateRefreshRun.code).toBe('NOT_FOUND');
    await gql(a.service.token, UPDATE, { input: { id: runId, status: 'SUCCEEDED', rows: 300 } });
    const messages = await runs.received.until(4);
    expect(messages.map((message) => [message.data.refreshRunUpdated.refreshRun.status, message.data.refreshRunUpdated.refreshRun.rows])).toEqual([
      ['RUNNING', null],
      ['RUNNING', 100],
      ['RUNNING', 250],
      ['SUCCEEDED', 300],
    ]);
    expect(messages[3].data.refreshRunUpdated.refreshRun.finishedAt).not.toBeNull();
    const again = await gql(a.service.token, UPDATE, { input: { id: runId, rows: 301 } });
    expect(again.data.updateRefreshRun.code).toBe('VALIDATION');
  });

  it('a subscription resumed after a cursor gets what it missed, then live changes, none twice and none lost', async () => {
    const connection = await activeConnection(a.owner.user, true, 'Resumed');
    const filter = { connectionIds: [connection.gid] };
    let row: ConnectionRow = connection;
    const flip = async () => {
      row = await transaction(db(), (tx) =>
        transition(tx, row, row.status === 'ACTIVE' ? 'DISCONNECTED' : 'ACTIVE', { kind: 'SYSTEM' }, { reason: 'UNKNOWN', message: null }),
      );
    };
    const first = client(a.owner.token);
    const before = app.live.counts().connectionStatus;
    const seen = first.subscribe(STATUS_CHANGED, { filter });
    for (let i = 0; i < 500 && app.live.counts().connectionStatus <= before; i++) await settle(10);
    await flip();
    const [firstChange] = await seen.received.until(1);
    const cursor = firstChange.data.connectionStatusChanged.cursor;
    await first.dispose();
    // Offline: three changes. Then the client resumes while changes keep committing.
    for (let i = 0; i < 3; i++) await flip();
    const RESUME = `subscription($filter: ConnectionStatusChangedFilter, $after: String) {
      connectionStatusChanged(filter: $filter, after: $after) { cursor status event { id } }
    }`;
    const resumed = client(a.owner.token).subscribe(RESUME, { filter, after: cursor });
    const during = Promise.all([flip(), flip()]);
    await during;
    await flip();
    const expected = (await db().select({ id: connectionEvents.id }).from(connectionEvents).where(eq(connectionEvents.connectionId, connection.id)).orderBy(connectionEvents.seq))
      .map((event) => encodeGlobalId('ConnectionEvent', event.id))
      .slice(1);
    const messages = await resumed.received.until(expected.length);
    await settle(300);
    expect(resumed.received.messages.map((message) => message.data.connectionStatusChanged.event.id)).toEqual(expected);

    const bad = client(a.owner.token).subscribe(RESUME, { filter, after: 'bm90LWEtY3Vyc29y' });
    const [refused] = await bad.received.until(1);
    expect(refused.errors[0].extensions).toMatchObject({ code: 'VALIDATION' });
    expect(messages).toHaveLength(expected.length);
  });

  it('resuming never sends an event twice, whether it was queued live before the replay or delivered live after it', async () => {
    const connection = await activeConnection(a.owner.user, true, 'Resumed in the hub');
    let row: ConnectionRow = connection;
    const flip = async () => {
      row = await transaction(db(), (tx) =>
        transition(tx, row, row.status === 'ACTIVE' ? 'DISCONNECTED' : 'ACTIVE', { kind: 'SYSTEM' }, { reason: 'UNKNOWN', message: null }),
      );
    };
    const [{ start }] = await db().select({ start: max(connectionEvents.seq) }).from(connectionEvents).where(eq(connectionEvents.accountId, a.account.id));
    const stream = app.live.subscribe({}, 'connectionStatus', a.owner.viewer, (payload) => payload.connection.id === connection.id);
    // Two changes reach the subscription live before it resumes: the replay covers them too.
    await flip();
    await flip();
    for (let i = 0; i < 500 && app.live.stats.deliveries === 0; i++) await settle(10);
    await settle(100);
    // One more commits and is still on its way live while the replay reads it from the table.
    const inFlight = flip();
    await app.live.resume(stream, start ?? 0);
    await inFlight;
    await flip();
    const ids = (await db().select({ id: connectionEvents.id }).from(connectionEvents).where(eq(connectionEvents.connectionId, connection.id)).orderBy(connectionEvents.seq)).map((event) => event.id);
    const iterator = stream[Symbol.asyncIterator]();
    const got: string[] = [];
    for (let i = 0; i < ids.length; i++) got.push(((await iterator.next()).value as { event: { id: string } }).event.id);
    expect(got).toEqual(ids);
    await settle(200);
    const extra = await Promise.race([iterator.next().then(() => 'more'), settle(200).then(() => 'none')]);
    expect(extra).toBe('none');
    await iterator.return?.();
  });

  it('resuming after more than the replay limit is refused with a typed error and leaves no subscriber', async () => {
    const connection = await activeConnection(a.owner.user, true, 'Too far behind');
    let row: ConnectionRow = connection;
    const [{ start }] = await db().select({ start: max(connectionEvents.seq) }).from(connectionEvents).where(eq(connectionEvents.accountId, a.account.id));
    for (let i = 0; i <= REPLAY_LIMIT; i++) {
      row = await transaction(db(), (tx) =>
        transition(tx, row, row.status === 'ACTIVE' ? 'DISCONNECTED' : 'ACTIVE', { kind: 'SYSTEM' }, { reason: 'UNKNOWN', message: null }),
      );
    }
    await settle(200);
    const before = app.live.counts().connectionStatus;
    const stream = app.live.subscribe({}, 'connectionStatus', a.owner.viewer, (payload) => payload.connection.id === connection.id);
    await expect(app.live.resume(stream, start ?? 0)).rejects.toMatchObject({ code: 'VALIDATION', field: 'after' });
    expect(app.live.counts().connectionStatus).toBe(before);
  });

  it('serves the same subscription over SSE', async () => {
    const connection = await activeConnection(a.owner.user, true, 'Over SSE');
    const before = app.live.counts().connectionStatus;
    const stream = sseSubscribe(url, a.owner.token, STATUS_CHANGED, { filter: { connectionIds: [connection.gid] } });
    disposers.push(() => stream.close());
    await stream.ready;
    await subscribers(before + 1);
    await reportError(a, connection.gid);
    const [message] = await stream.received.until(1);
    expect(message.data.connectionStatusChanged).toMatchObject({ status: 'DISCONNECTED', connection: { id: connection.gid } });
    stream.close();
    await subscribers(before);
  });

  it('a revoked token’s subscription ends at the next event with UNAUTHENTICATED', async () => {
    const connection = await activeConnection(a.owner.user, true, 'Revoked viewer');
    const created = await gql(a.member.token, 'mutation { createApiToken(input: { name: "live" }) { ... on CreateApiTokenSuccess { payload { token apiToken { id } } } } }');
    const { token, apiToken } = created.data.createApiToken.payload;
    const before = app.live.counts().connectionStatus;
    const { received } = client(token).subscribe(STATUS_CHANGED);
    await subscribers(before + 1);
    await gql(a.member.token, 'mutation($id: ID!) { revokeApiToken(input: { id: $id }) { __typename } }', { id: apiToken.id });
    await reportError(a, connection.gid);
    const [last] = await received.until(1);
    expect(last.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(last.data).toBeUndefined();
    await received.ended();
    await subscribers(before);
  });

  it('changes in a transaction that rolls back are never announced; committed ones are, once', async () => {
    const heard: Change[] = [];
    const stop = onCommittedChanges(db(), (changes) => heard.push(...changes));
    try {
      const connection = await activeConnection(a.owner.user, true, 'Rolled back');
      await expect(
        transaction(db(), async (tx) => {
          await transition(tx, connection, 'DISCONNECTED', { kind: 'SYSTEM' }, { reason: 'UNKNOWN', message: null });
          throw new Error('crash mid-write');
        }),
      ).rejects.toThrow('crash mid-write');
      expect(heard).toEqual([]);
      await transaction(db(), (tx) => transition(tx, connection, 'DISCONNECTED', { kind: 'SYSTEM' }, { reason: 'UNKNOWN', message: null }));
      expect(heard.map((change) => change.type).sort()).toEqual(['connection', 'dataSource']);
    } finally {
      stop();
    }
  });

  it('a socket that stops reading holds a bounded backlog: its subscriptions end as slow consumers and are released', async () => {
    const watched = createApp({ db: db() as Database, vault: testVault, log: createLog('silent'), rateLimit: RATE_LIMITS_OFF });
    const base = await watched.start(0);
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    try {
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${a.owner.token}` } }));
      await new Promise((resolve) => socket.once('message', resolve));
      const received: { id: string; type: string; payload?: any }[] = [];
      socket.on('message', (data) => received.push(JSON.parse(String(data))));
      const document = 'subscription { connectionStatusChanged { cursor status event { id message } connection { id name } } }';
      for (let id = 1; id <= MAX_OPERATIONS_PER_SOCKET; id++) {
        socket.send(JSON.stringify({ id: String(id), type: 'subscribe', payload: { query: document } }));
      }
      for (let i = 0; i < 500 && watched.live.counts().connectionStatus < MAX_OPERATIONS_PER_SOCKET; i++) await settle(10);
      // The client stops reading. graphql-ws waits for each send, so once the kernel's buffers
      // are full every subscription has one unsent result and the rest wait in the hub's queue.
      const raw = (socket as unknown as { _socket: import('node:net').Socket })._socket;
      raw.pause();
      let row: ConnectionRow = await activeConnection(a.owner.user, true, 'Never read');
      const before = watched.live.stats.slowConsumers;
      const message = 'x'.repeat(2_000);
      for (let i = 0; i < 2 * MAX_QUEUED_RESULTS && watched.live.stats.slowConsumers < before + MAX_OPERATIONS_PER_SOCKET; i++) {
        row = await transaction(db(), (tx) =>
          transition(tx, row, row.status === 'ACTIVE' ? 'DISCONNECTED' : 'ACTIVE', { kind: 'SYSTEM' }, { reason: 'UNKNOWN', message }),
        );
        if (i % 50 === 0) await settle(20);
      }
      for (let i = 0; i < 500 && watched.live.counts().connectionStatus > 0; i++) await settle(10);
      expect(watched.live.stats.slowConsumers - before).toBe(MAX_OPERATIONS_PER_SOCKET);
      expect(watched.live.counts().connectionStatus).toBe(0);
      // Reading again, the client learns why each subscription ended; the socket stays usable.
      raw.resume();
      for (let i = 0; i < 1000 && received.filter((m) => m.type === 'complete').length < MAX_OPERATIONS_PER_SOCKET; i++) await settle(10);
      const ended = received.filter((m) => m.type === 'next' && m.payload.errors?.[0]?.extensions?.code === 'SLOW_CONSUMER');
      expect(new Set(ended.map((m) => m.id)).size).toBe(MAX_OPERATIONS_PER_SOCKET);
      expect(received.filter((m) => m.type === 'complete')).toHaveLength(MAX_OPERATIONS_PER_SOCKET);
      expect(socket.readyState).toBe(WebSocket.OPEN);
    } finally {
      socket.terminate();
      await watched.stop();
    }
    // Up to 512 committed changes: on a loaded 2-core machine that alone can pass 30 s (it counts, never times).
  }, 120_000);

  it('a consumer that stops reading is ended after a bounded backlog instead of growing memory', async () => {
    const connection = await activeConnection(a.owner.user, true, 'Slow consumer');
    // The hub's own iterator, never pulled: the shape of a consumer stuck behind a full socket.
    const context = {};
    const stuck = app.live.subscribe(context, 'connectionStatus', a.owner.viewer, () => true)[Symbol.asyncIterator]();
    const before = app.live.stats.slowConsumers;
    let row: ConnectionRow = connection;
    for (let i = 0; i <= MAX_QUEUED_RESULTS; i++) {
      row = await transaction(db(), (tx) =>
        transition(tx, row, row.status === 'ACTIVE' ? 'DISCONNECTED' : 'ACTIVE', { kind: 'SYSTEM' }, { reason: 'UNKNOWN', message: null }),
      );
    }
    for (let i = 0; i < 500 && app.live.stats.slowConsumers === before; i++) await settle(10);
    expect(app.live.stats.slowConsumers).toBe(before + 1);
    const last = await stuck.next();
    expect((last.value as any).errors[0].extensions.code).toBe('SLOW_CONSUMER');
    expect(await stuck.next()).toEqual({ value: undefined, done: true });
  });

  it('10,000 subscribe/unsubscribe cycles leave no subscriber behind', async () => {
    const before = app.live.counts();
    const socket = client(a.owner.token);
    for (let round = 0; round < 100; round++) {
      const streams = [...Array(100)].map(() => socket.subscribe(STATUS_CHANGED));
      await settle(0);
      for (const stream of streams) stream.unsubscribe();
    }
    for (let i = 0; i < 1000 && app.live.counts().connectionStatus !== before.connectionStatus; i++) await settle(10);
    expect(app.live.counts()).toEqual(before);
  }, 120_000);
});
