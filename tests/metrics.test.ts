/**
 * What an operator watches: /metrics after real traffic (HTTP operations by name and outcome, a
 * live subscription over graphql-ws, connections by status, the outbox backlog, a health round,
 * Node's own event-loop lag), /readyz apart from /healthz, and who may scrape in production.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws/client';
import WebSocket from 'ws';
import { createApp, type App } from '../server/app.js';
import { type Database, openPostgres } from '../server/db/client.js';
import { DEFAULT_LIMITS } from '../server/edge/limits.js';
import { createLog } from '../server/log.js';
import { describeEachDatabase } from './support/db.js';
import { tenant, testVault, type Tenant } from './support/fixtures.js';
import { until } from './support/wait.js';

/** The value of one sample line of a Prometheus text exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((label) => line.includes(label))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describeEachDatabase('operations endpoints', (db) => {
  let app: App;
  let production: App;
  let url: string;
  let productionUrl: string;
  let a: Tenant;
  const logLines: string[] = [];

  beforeAll(async () => {
    a = await tenant(db(), 'metrics');
    app = createApp({ db: db() as Database, vault: testVault, log: createLog('debug', (line) => logLines.push(line)) });
    url = await app.start(0);
    production = createApp({
      db: db() as Database,
      vault: testVault,
      log: createLog('silent'),
      metricsToken: 'scrape-secret-1',
      edge: { production: true, graphiql: false, corsOrigins: [], document: { limits: DEFAULT_LIMITS, introspection: false } },
    });
    productionUrl = await production.start(0);
  });
  afterAll(async () => {
    await app?.stop();
    await production?.stop();
  });

  const post = (body: object) =>
    fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.owner.token}` },
      body: JSON.stringify(body),
    });

  it('counts and times operations by name and outcome, and shows subscriptions, connections, backlog and the event loop', async () => {
    await post({ query: 'query ListConnections { connections(first: 5) { totalCount } }' });
    await post({ query: 'query ListConnections { connections(first: 5) { totalCount } }' });
    await post({ query: 'query TooBig($n: Int!) { connections(first: $n) { totalCount } }', variables: { n: 'many' } });
    await post({ query: 'mutation Rename($input: UpdateConnectionInput!) { updateConnection(input: $input) { __typename } }', variables: { input: { id: a.connections.shared.gid, name: 'Renamed for metrics' } } });
    const client = createClient({ url: `${url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${a.owner.token}` }, lazy: false, retryAttempts: 0 });
    const unsubscribe = client.subscribe({ query: 'subscription Watch { connectionStatusChanged { status } }' }, { next: () => {}, error: () => {}, complete: () => {} });
    try {
      const scrape = async () => (await fetch(`${url}/metrics`)).text();
      await until(async () => (sample(await scrape(), 'patchbay_live_subscriptions', { kind: 'connectionStatus' }) ?? 0) >= 1, 'the live subscription');
      const text = await scrape();
      expect(sample(text, 'patchbay_graphql_operations_total', { operation: 'ListConnections', type: 'query', outcome: 'ok' })).toBe(2);
      expect(sample(text, 'patchbay_graphql_operations_total', { operation: 'TooBig', outcome: 'VALIDATION' })).toBe(1);
      expect(sample(text, 'patchbay_graphql_operations_total', { operation: 'Rename', type: 'mutation', outcome: 'ok' })).toBe(1);
      expect(sample(text, 'patchbay_graphql_operations_total', { operation: 'Watch', type: 'subscription', outcome: 'ok' })).toBe(1);
      expect(sample(text, 'patchbay_graphql_operation_duration_seconds_count', { operation: 'ListConnections' })).toBe(2);
      expect(sample(text, 'patchbay_connections', { status: 'DISCONNECTED' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'patchbay_outbox_backlog', { outbox: 'webhooks' })).toBeGreaterThanOrEqual(0);
      expect(sample(text, 'patchbay_open_sockets')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'patchbay_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
      // Variables, tokens and names never reach a label.
      expect(text).not.toContain(a.owner.token);
      expect(text).not.toContain('Renamed for metrics');
    } finally {
      unsubscribe();
      await client.dispose();
    }
  });

  it('records health rounds reported by the jobs', async () => {
    app.metrics.recordHealthRound({ checked: 3, healthy: 2, disconnected: 1, transient: 0, refreshed: 4, warned: 0, expired: 2 });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(sample(text, 'patchbay_health_checks_total', { outcome: 'healthy' })).toBe(2);
    expect(sample(text, 'patchbay_health_checks_total', { outcome: 'disconnected' })).toBe(1);
    expect(sample(text, 'patchbay_job_token_refreshes_total')).toBe(4);
    expect(sample(text, 'patchbay_abandoned_connections_expired_total')).toBe(2);
  });

  it('keeps operation names a client invents from growing the label set without bound', async () => {
    for (let i = 0; i < 210; i++) await post({ query: `query Name${i} { __typename }` });
    const text = await (await fetch(`${url}/metrics`)).text();
    const names = new Set([...text.matchAll(/patchbay_graphql_operations_total\{operation="([^"]+)"/g)].map((match) => match[1]));
    expect(names.size).toBeLessThanOrEqual(201);
    expect(names.has('other')).toBe(true);
  });

  it('answers /readyz with the database, migrations and bus, and /healthz while alive', async () => {
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok', bus: 'ok' }, bus: 'memory' });
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
  });

  it('gives every request an id (the caller\'s when sane), echoes it, and logs one access line per operation without variables', async () => {
    const secret = 'sk_live_never_logged_77';
    const mine = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.owner.token}`, 'x-request-id': 'req-abc.123' },
      body: JSON.stringify({ query: 'query Logged($first: Int) { connections(first: $first) { totalCount } }', variables: { first: secret } }),
    });
    expect(mine.headers.get('x-request-id')).toBe('req-abc.123');
    const made = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.owner.token}`, 'x-request-id': 'bad id with spaces and "quotes"' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // A typed error from a resolver (here UNAUTHENTICATED) is the caller's, not the gateway's fault.
    const anonymous = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-anonymous' },
      body: JSON.stringify({ query: 'query Anonymous { viewer { user { email } } }' }),
    });
    expect(JSON.stringify(await anonymous.json())).toContain('UNAUTHENTICATED');
    const lines = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((line) => line.requestId === 'req-anonymous')).toMatchObject({ level: 'info', outcome: 'UNAUTHENTICATED' });
    const access = lines.filter((line) => line.message === 'graphql operation' && line.requestId === 'req-abc.123');
    expect(access).toHaveLength(1);
    // A bad variable is the caller's mistake: an info line with its code, no SQL, no value.
    expect(access[0]).toMatchObject({ level: 'info', operation: 'Logged', type: 'query', outcome: 'VALIDATION', tokenKind: 'USER' });
    expect(access[0].durationMs).toBeTypeOf('number');
    const everything = logLines.join('\n');
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(a.owner.token);
    expect(everything).not.toMatch(/Failed query|params:/);
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
  });

  it('serves /metrics in production only with the metrics token', async () => {
    expect((await fetch(`${productionUrl}/metrics`)).status).toBe(403);
    expect((await fetch(`${productionUrl}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(403);
    const allowed = await fetch(`${productionUrl}/metrics`, { headers: { authorization: 'Bearer scrape-secret-1' } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('content-type')).toContain('text/plain');
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('pool use on PostgreSQL', () => {
  it("shows this process's sessions by state next to the pool's size, read from pg_stat_activity", async () => {
    const handle = await openPostgres(process.env.TEST_DATABASE_URL!, { max: 3 });
    const app = createApp({ db: handle.db, vault: testVault, log: createLog('silent'), pool: handle.pool });
    const url = await app.start(0);
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    try {
      // One session idles inside a transaction, another runs a statement.
      let opened = () => {};
      const inTransaction = new Promise<void>((resolve) => (opened = resolve));
      const transaction = handle.db.transaction(async (tx) => {
        await tx.execute(sql`select 1`);
        opened();
        await held;
      });
      await inTransaction;
      // (drizzle's query runs once awaited: Promise.resolve starts it now.)
      const sleeping = Promise.resolve(handle.db.execute(sql`select pg_sleep(4)`));
      const scrape = async () => (await fetch(`${url}/metrics`)).text();
      let busy = '';
      await until(async () => (sample((busy = await scrape()), 'patchbay_db_pool_sessions', { state: 'active' }) ?? 0) >= 1, 'the running statement');
      expect(sample(busy, 'patchbay_db_pool_max')).toBe(3);
      expect(sample(busy, 'patchbay_db_pool_sessions', { state: 'idle in transaction' })).toBe(1);
      expect(sample(busy, 'patchbay_db_pool_sessions', { state: 'active' })).toBe(1);
      release();
      await transaction;
      await sleeping;
      const quiet = await scrape();
      expect(sample(quiet, 'patchbay_db_pool_sessions', { state: 'active' })).toBe(0);
      expect(sample(quiet, 'patchbay_db_pool_sessions', { state: 'idle in transaction' })).toBe(0);
      expect(sample(quiet, 'patchbay_db_pool_sessions', { state: 'idle' })).toBeGreaterThanOrEqual(1);
    } finally {
      release();
      await app.stop();
      await handle.close();
    }
  });
});
