/**
 * graphql-ws's lean subscribers (server/realtime/websocket.ts): a subscribe alike to one Yoga
 * accepted before (same document, operation, variables and viewer class) is registered in the hub
 * without Yoga. Everything a client can observe must be what the Yoga path gives it: messages,
 * completes both ways, duplicate ids, visibility, rate limits, revoked tokens, the access log and
 * metrics. Real gateways, real sockets speaking graphql-transport-ws.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { createApp, type App } from '../server/app.js';
import type { Database } from '../server/db/client.js';
import { connections } from '../server/db/schema.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { RATE_LIMITS_OFF } from '../server/edge/rate-limit.js';
import { createLog } from '../server/log.js';
import { MAX_QUEUED_RESULTS } from '../server/realtime/hub.js';
import { MAX_OPERATIONS_PER_SOCKET } from '../server/realtime/websocket.js';
import { transaction } from '../server/db/transaction.js';
import { transition } from '../server/domain/lifecycle.js';
import type { ConnectionRow } from '../server/domain/types.js';
import WebSocket from 'ws';
import { describeEachDatabase } from './support/db.js';
import { tenant, testVault, type Tenant } from './support/fixtures.js';
import { postGraphql } from './support/graphql-http.js';
import { settle } from './support/live-clients.js';

const STATUS = `subscription LeanStatus($filter: ConnectionStatusChangedFilter) {
  connectionStatusChanged(filter: $filter) {
    cursor previousStatus status reason
    connection { id name status viewerCan { use edit revoke } }
  }
}`;
const CHANGES = 'subscription LeanChanges { connectionChanged { event { kind } connection { id } } }';

type Message = { id?: string; type: string; payload?: any };

/** A socket speaking graphql-transport-ws, with what it received (raw and parsed) and how it closed. */
async function rawSocket(base: string, token: string) {
  const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: Message[] = [];
  const raw: string[] = [];
  let closed: { code: number; reason: string } | undefined;
  socket.on('close', (code, reason) => (closed = { code, reason: String(reason) }));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await new Promise((resolve) => socket.once('message', resolve));
  socket.on('message', (data) => {
    raw.push(String(data));
    messages.push(JSON.parse(String(data)) as Message);
  });
  return {
    socket,
    messages,
    raw,
    get closed() {
      return closed;
    },
    subscribe(id: string, query: string, variables?: Record<string, unknown>) {
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, ...(variables ? { variables } : {}) } }));
    },
    complete(id: string) {
      socket.send(JSON.stringify({ id, type: 'complete' }));
    },
    /** Messages for operation `id`. */
    of(id: string) {
      return messages.filter((message) => message.id === id);
    },
    /** Waits until `test` holds; fails after about 5 s. */
    async until(test: () => boolean, what: string) {
      for (let i = 0; i < 500 && !test(); i++) await settle(10);
      if (!test()) throw new Error(`timed out waiting for ${what}`);
    },
  };
}

describeEachDatabase('lean graphql-ws subscribers', (db) => {
  let app: App;
  let url: string;
  const logLines: string[] = [];
  const disposers: (() => void)[] = [];

  beforeAll(async () => {
    app = createApp({ db: db() as Database, vault: testVault, log: createLog('info', (line) => logLines.push(line)), rateLimit: RATE_LIMITS_OFF });
    url = await app.start(0);
  });
  afterAll(async () => {
    for (const dispose of disposers) dispose();
    await app?.stop();
  });

  async function open(token: string, base = url) {
    const s = await rawSocket(base, token);
    disposers.push(() => s.socket.terminate());
    return s;
  }

  /** Waits until the hub has `count` connection-status subscribers. */
  async function subscribers(count: number, on = app) {
    for (let i = 0; i < 500 && on.live.counts().connectionStatus !== count; i++) await settle(10);
    expect(on.live.counts().connectionStatus).toBe(count);
  }

  const reportError = (t: Tenant, id: string) =>
    postGraphql(url, t.service.token, 'mutation($id: ID!) { reportConnectionError(input: { id: $id, reason: INVALID_REFRESH_TOKEN, message: "invalid_grant" }) { __typename } }', { id });
  const reactivate = (t: Tenant, id: string) =>
    postGraphql(url, t.owner.token, 'mutation($id: ID!) { revokeConnection(input: { id: $id }) { __typename } }', { id });

  /** A fresh shared ACTIVE connection of the tenant's owner. */
  async function sharedConnection(t: Tenant, name: string) {
    const [row] = await db()
      .insert(connections)
      .values({ accountId: t.account.id, ownerId: t.owner.user.id, integrationKey: 'google-analytics-4', status: 'ACTIVE', shared: true, name })
      .returning();
    return { ...row, gid: encodeGlobalId('Connection', row.id) };
  }

  const operationsCounted = async (operation: string) => {
    const metric = await app.metrics.registry.getSingleMetric('patchbay_graphql_operations_total')!.get();
    return metric.values.filter((value) => value.labels.operation === operation && value.labels.outcome === 'ok').reduce((sum, value) => sum + value.value, 0);
  };

  it('an alike subscriber skips Yoga and gets the very bytes the first one gets, and is counted and logged as one', async () => {
    const t = await tenant(db(), 'lean-same');
    const connection = await sharedConnection(t, 'Lean same');
    const variables = { filter: { connectionIds: [connection.gid] } };
    const before = app.live.counts().connectionStatus;
    const alike = app.live.stats.alike;
    const counted = await operationsCounted('LeanStatus');
    const logged = logLines.length;

    const first = await open(t.member.token);
    first.subscribe('1', STATUS, variables);
    await subscribers(before + 1);
    expect(app.live.stats.alike).toBe(alike); // the first of its shape goes through Yoga

    const second = await open(t.member.token);
    second.subscribe('1', STATUS, variables);
    second.subscribe('two', STATUS, variables);
    await subscribers(before + 3);
    expect(app.live.stats.alike).toBe(alike + 2);

    await reportError(t, connection.gid);
    await first.until(() => first.messages.length === 1, 'the first subscriber’s event');
    await second.until(() => second.messages.length === 2, 'the lean subscribers’ events');
    expect(first.messages[0]).toMatchObject({ id: '1', type: 'next', payload: { data: { connectionStatusChanged: { status: 'DISCONNECTED' } } } });
    // Same operation id, same bytes; another id, the same payload.
    expect(second.raw.find((text) => JSON.parse(text).id === '1')).toBe(first.raw[0]);
    expect(second.of('two')[0].payload).toEqual(first.messages[0].payload);

    // Counted and logged once each, with the socket's request id and the operation's number.
    expect((await operationsCounted('LeanStatus')) - counted).toBe(3);
    const lines = logLines
      .slice(logged)
      .map((line) => JSON.parse(line))
      .filter((line) => line.message === 'graphql operation' && line.operation === 'LeanStatus');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatchObject({ type: 'subscription', outcome: 'ok', tokenKind: 'USER' });
    const secondIds = lines.slice(1).map((line) => line.requestId as string);
    expect(secondIds[0]).toMatch(/:1$/);
    expect(secondIds[1]).toBe(secondIds[0].replace(/:1$/, ':2'));
    expect(logLines.slice(logged).join('\n')).not.toContain(t.member.token);
  });

  it('another viewer class never copies a subscriber: a member’s and an admin’s see what Yoga would give each', async () => {
    const t = await tenant(db(), 'lean-class');
    const before = app.live.counts().connectionStatus;
    const alike = app.live.stats.alike;
    const member = await open(t.member.token);
    member.subscribe('1', STATUS);
    await subscribers(before + 1);
    const others = await Promise.all([open(t.member2.token), open(t.admin.token)]);
    for (const other of others) other.subscribe('1', STATUS);
    await subscribers(before + 3);
    expect(app.live.stats.alike).toBe(alike);

    // The member's private connection: its owner and the admin hear of it (the admin without its
    // contents), the other member does not.
    await reportError(t, t.connections.memberPrivate.gid);
    await member.until(() => member.messages.length === 1, 'the owner’s event');
    await others[1].until(() => others[1].messages.length === 1, 'the admin’s event');
    await settle(100);
    expect(others[0].messages).toEqual([]);
    // The admin's result is its own (what it may do differs), not the member's copied.
    expect(others[1].messages[0].payload).not.toEqual(member.messages[0].payload);
  });

  it('a viewer who loses access stops receiving, on the lean path as on Yoga’s', async () => {
    const t = await tenant(db(), 'lean-access');
    const connection = await sharedConnection(t, 'Lean access');
    const before = app.live.counts().connectionStatus;
    const alike = app.live.stats.alike;
    const viaYoga = await open(t.member.token);
    viaYoga.subscribe('1', STATUS);
    await subscribers(before + 1);
    const lean = await open(t.member.token);
    lean.subscribe('1', STATUS);
    const owner = await open(t.owner.token);
    owner.subscribe('1', STATUS);
    await subscribers(before + 3);
    expect(app.live.stats.alike).toBe(alike + 1);

    await reportError(t, connection.gid);
    for (const s of [viaYoga, lean, owner]) await s.until(() => s.messages.length === 1, 'the shared connection’s event');
    await db().update(connections).set({ shared: false }).where(eq(connections.id, connection.id));
    await reactivate(t, connection.gid);
    await owner.until(() => owner.messages.length === 2, 'the owner’s second event');
    await settle(100);
    expect(viaYoga.messages).toHaveLength(1);
    expect(lean.messages).toHaveLength(1);
  });

  it('complete works both ways: the client’s ends it quietly; a revoked token ends it with UNAUTHENTICATED and Complete, as on Yoga’s path', async () => {
    const t = await tenant(db(), 'lean-complete');
    const connection = await sharedConnection(t, 'Lean complete');
    const created = await postGraphql(url, t.member.token, 'mutation { createApiToken(input: { name: "lean" }) { ... on CreateApiTokenSuccess { payload { token apiToken { id } } } } }');
    const { token, apiToken } = created.data!.createApiToken.payload;
    const before = app.live.counts().connectionStatus;
    const alike = app.live.stats.alike;
    const viaYoga = await open(token);
    viaYoga.subscribe('1', STATUS);
    await subscribers(before + 1);
    const lean = await open(token);
    lean.subscribe('1', STATUS);
    lean.subscribe('quiet', STATUS);
    await subscribers(before + 3);
    expect(app.live.stats.alike).toBe(alike + 2);

    // The client completes one: it leaves the hub, and graphql-ws sends nothing back.
    lean.complete('quiet');
    await subscribers(before + 2);

    await postGraphql(url, t.member.token, 'mutation($id: ID!) { revokeApiToken(input: { id: $id }) { __typename } }', { id: apiToken.id });
    await reportError(t, connection.gid);
    await viaYoga.until(() => viaYoga.of('1').some((m) => m.type === 'complete'), 'the Yoga subscriber’s end');
    await lean.until(() => lean.of('1').some((m) => m.type === 'complete'), 'the lean subscriber’s end');
    expect(lean.of('1')).toEqual(viaYoga.of('1'));
    expect(lean.of('1').map((m) => m.type)).toEqual(['next', 'complete']);
    expect(lean.of('1')[0].payload.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(lean.of('quiet')).toEqual([]);
    await subscribers(before);
    expect(lean.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('a duplicate operation id closes the socket with 4409, whichever path holds the id, and leaves no subscriber', async () => {
    const t = await tenant(db(), 'lean-dup');
    const before = app.live.counts().connectionStatus;
    const template = await open(t.member.token);
    template.subscribe('1', STATUS);
    await subscribers(before + 1);

    const lean = await open(t.member.token);
    lean.subscribe('d', STATUS);
    await subscribers(before + 2);
    lean.subscribe('d', STATUS);
    await lean.until(() => lean.closed !== undefined, 'the duplicate’s close');
    expect(lean.closed).toEqual({ code: 4409, reason: 'Subscriber for d already exists' });

    // The id held by a Yoga-served subscription, then sent again in a shape the lean path takes.
    const mixed = await open(t.member.token);
    mixed.subscribe('x', CHANGES);
    await mixed.until(() => app.live.counts().connectionStatus === before + 2, 'the Yoga subscription');
    mixed.subscribe('x', STATUS);
    await mixed.until(() => mixed.closed !== undefined, 'the duplicate’s close');
    expect(mixed.closed).toEqual({ code: 4409, reason: 'Subscriber for x already exists' });
    await subscribers(before + 1);
  });

  it('mixed lean and Yoga subscribers on one socket: each gets its own messages, a copy outlives its template, and the operation limit counts both', async () => {
    const t = await tenant(db(), 'lean-mixed');
    const connection = await sharedConnection(t, 'Lean mixed');
    const before = app.live.counts().connectionStatus;
    const alike = app.live.stats.alike;
    const s = await open(t.member.token);
    s.subscribe('a', STATUS);
    await subscribers(before + 1);
    s.subscribe('b', STATUS); // lean
    s.subscribe('c', CHANGES); // another document: Yoga
    s.subscribe('q', '{ viewer { user { email } } }'); // a query: Yoga, and done
    await subscribers(before + 3);
    await s.until(() => s.of('q').some((m) => m.type === 'complete'), 'the query');
    expect(s.of('q')[0].payload.data.viewer.user.email).toBe(t.member.user.email);
    // Resuming is the subscriber's own: never copied, never a template.
    const cursor = (await postGraphql(url, t.member.token, '{ connectionEvents(first: 1) { pageInfo { endCursor } } }')).data!.connectionEvents.pageInfo.endCursor;
    s.subscribe('r', 'subscription($after: String) { connectionStatusChanged(after: $after) { status } }', { after: cursor });
    s.subscribe('r2', 'subscription($after: String) { connectionStatusChanged(after: $after) { status } }', { after: cursor });
    await subscribers(before + 5);
    expect(app.live.stats.alike).toBe(alike + 1);

    await reportError(t, connection.gid);
    await s.until(() => ['a', 'b', 'c', 'r', 'r2'].every((id) => s.of(id).length >= 1), 'every subscription’s event');
    expect(s.of('b')[0].payload).toEqual(s.of('a')[0].payload);

    // The template completes; its copy goes on, and a new alike subscribe still copies it.
    s.complete('a');
    await subscribers(before + 4);
    s.subscribe('e', STATUS);
    await subscribers(before + 5);
    expect(app.live.stats.alike).toBe(alike + 2);
    await reactivate(t, connection.gid);
    await s.until(() => s.of('b').length === 2 && s.of('e').length === 1, 'the copies’ second event');
    expect(s.of('a')).toHaveLength(1);
    expect(s.of('e')[0].payload).toEqual(s.of('b')[1].payload);

    // Fill the socket to its limit: Yoga's and the lean ones count alike.
    for (const id of ['b', 'c', 'r', 'r2', 'e']) s.complete(id);
    await subscribers(before);
    s.subscribe('0', STATUS);
    await subscribers(before + 1);
    for (let i = 1; i < MAX_OPERATIONS_PER_SOCKET; i++) s.subscribe(String(i), STATUS);
    await subscribers(before + MAX_OPERATIONS_PER_SOCKET);
    s.subscribe('over', STATUS);
    await s.until(() => s.of('over').length > 0, 'the refusal');
    expect(s.of('over')[0]).toMatchObject({ type: 'error', payload: [{ message: `At most ${MAX_OPERATIONS_PER_SOCKET} operations may run on one socket` }] });
    expect(app.live.counts().connectionStatus).toBe(before + MAX_OPERATIONS_PER_SOCKET);
    // Closing the socket releases them all.
    s.socket.close();
    await subscribers(before);
  });

  it('lean subscribers on a socket that stops reading hold a bounded backlog: they end as slow consumers, learn why, and are released', async () => {
    const t = await tenant(db(), 'lean-slow');
    const before = app.live.counts().connectionStatus;
    const alike = app.live.stats.alike;
    const slowBefore = app.live.stats.slowConsumers;
    const document = 'subscription LeanSlow { connectionStatusChanged { cursor status event { id message } connection { id name } } }';
    const reader = await open(t.member.token);
    reader.subscribe('1', document);
    await subscribers(before + 1);
    const stuck = await open(t.member.token);
    const lean = MAX_OPERATIONS_PER_SOCKET;
    for (let id = 1; id <= lean; id++) stuck.subscribe(String(id), document);
    await subscribers(before + 1 + lean);
    expect(app.live.stats.alike - alike).toBe(lean);
    // The client stops reading: once the kernel's buffers and the direct-write allowance are full,
    // each lean subscription has one result in flight and the rest wait in the hub's queue.
    const raw = (stuck.socket as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    let row: ConnectionRow = await sharedConnection(t, 'Never read (lean)');
    const message = 'x'.repeat(2_000);
    for (let i = 0; i < 2 * MAX_QUEUED_RESULTS && app.live.stats.slowConsumers < slowBefore + lean; i++) {
      row = await transaction(db(), (tx) =>
        transition(tx, row, row.status === 'ACTIVE' ? 'DISCONNECTED' : 'ACTIVE', { kind: 'SYSTEM' }, { reason: 'UNKNOWN', message }),
      );
      if (i % 50 === 0) await settle(20);
    }
    await stuck.until(() => app.live.counts().connectionStatus === before + 1, 'the slow subscribers’ release');
    expect(app.live.stats.slowConsumers - slowBefore).toBe(lean);
    // Reading again, the client learns why each one ended; the socket stays usable.
    raw.resume();
    const completes = () => stuck.messages.filter((m) => m.type === 'complete').length;
    for (let i = 0; i < 1000 && completes() < lean; i++) await settle(10);
    const ended = stuck.messages.filter((m) => m.type === 'next' && m.payload.errors?.[0]?.extensions?.code === 'SLOW_CONSUMER');
    expect(new Set(ended.map((m) => m.id)).size).toBe(lean);
    expect(completes()).toBe(lean);
    // Each operation's messages end with its error and then Complete, nothing after.
    for (let id = 1; id <= lean; id++) expect(stuck.of(String(id)).slice(-2).map((m) => m.type)).toEqual(['next', 'complete']);
    expect(stuck.socket.readyState).toBe(WebSocket.OPEN);
    // The reader kept up and is still subscribed.
    expect(reader.of('1').length).toBeGreaterThan(MAX_QUEUED_RESULTS);
  }, 120_000);

  it('the rate limit still applies: lean subscribes take points from the same bucket, and the one over it is refused as before', async () => {
    const t = await tenant(db(), 'lean-rate');
    const limited = createApp({
      db: db() as Database,
      vault: testVault,
      log: createLog('silent'),
      rateLimit: { limits: { perToken: { USER: { points: 3, durationSeconds: 60 }, SERVICE: null }, failedAuthPerAddress: null }, store: 'memory' },
    });
    const base = await limited.start(0);
    try {
      const s = await open(t.member.token, base);
      s.subscribe('1', STATUS);
      await subscribers(1, limited);
      s.subscribe('2', STATUS);
      s.subscribe('3', STATUS);
      await subscribers(3, limited);
      expect(limited.live.stats.alike).toBe(2);
      s.subscribe('4', STATUS);
      await s.until(() => s.of('4').some((m) => m.type === 'complete'), 'the refusal');
      expect(s.of('4').map((m) => m.type)).toEqual(['next', 'complete']);
      expect(s.of('4')[0].payload.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
      expect(limited.live.counts().connectionStatus).toBe(3);
      // The same bucket as HTTP's.
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.member.token}` },
        body: JSON.stringify({ query: '{ viewer { user { email } } }' }),
      });
      expect(response.status).toBe(429);
    } finally {
      await limited.stop();
    }
  });
});
