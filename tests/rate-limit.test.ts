/**
 * Rate limits per API token at the edge: real gateways on real ports, buckets in memory, in the
 * database (PGlite and PostgreSQL) and in Redis, with small limits configured per test. Windows
 * are waited out with the server's own Retry-After, never asserted as wall-clock times.
 */
import { randomUUID } from 'node:crypto';
import { eq, like } from 'drizzle-orm';
import type { GraphQLError } from 'graphql';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { ConfigError, readConfig } from '../server/config.js';
import { type Database, type DatabaseHandle, executedStatements, openPglite, openPostgres } from '../server/db/client.js';
import { connections, rateLimits } from '../server/db/schema.js';
import { createRateLimiter, DEFAULT_RATE_LIMITS, deleteExpiredRateLimits, type RateLimitSettings, type RateLimitStore } from '../server/edge/rate-limit.js';
import type { Viewer } from '../server/domain/viewer.js';
import { createLog } from '../server/log.js';
import { describeEachDatabase } from './support/db.js';
import { tenant, testVault, type Tenant } from './support/fixtures.js';
import { settle, wsClient } from './support/live-clients.js';

const VIEWER = '{ viewer { user { email } } }';
const RENAME = 'mutation($id: ID!, $name: String!) { updateConnection(input: { id: $id, name: $name }) { __typename } }';

function limits(user: string | null, service: string | null = null, failedAuth: string | null = null): RateLimitSettings {
  const parse = (text: string | null) => {
    if (!text) return null;
    const [points, seconds] = text.split('/').map(Number);
    return { points, durationSeconds: seconds };
  };
  return { perToken: { USER: parse(user), SERVICE: parse(service) }, failedAuthPerAddress: parse(failedAuth) };
}

/** Gateways started by a suite, stopped in its afterAll. */
function gateways() {
  const started: App[] = [];
  return {
    async start(db: Database, settings: RateLimitSettings, store: RateLimitStore, keyPrefix = `rl-test:${randomUUID()}`) {
      const app = createApp({ db, vault: testVault, log: createLog('silent'), rateLimit: { limits: settings, store, keyPrefix } });
      started.push(app);
      return { app, url: await app.start(0), keyPrefix };
    },
    async stopAll() {
      await Promise.all(started.splice(0).map((app) => app.stop()));
    },
  };
}

async function post(url: string, token: string | null, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as any };
}

describe('rate limit settings', () => {
  it('reads <operations>/<window> per token kind, 0 turns one off, and a bad value names the variable and an example', () => {
    expect(readConfig({}).rateLimits).toEqual(DEFAULT_RATE_LIMITS);
    const config = readConfig({ PATCHBAY_RATE_LIMIT_USER: '100/30s', PATCHBAY_RATE_LIMIT_SERVICE: '5000/1h', PATCHBAY_RATE_LIMIT_FAILED_AUTH: '20/m' });
    expect(config.rateLimits).toEqual({
      perToken: { USER: { points: 100, durationSeconds: 30 }, SERVICE: { points: 5000, durationSeconds: 3600 } },
      failedAuthPerAddress: { points: 20, durationSeconds: 60 },
    });
    expect(readConfig({ PATCHBAY_RATE_LIMIT_USER: '0', PATCHBAY_RATE_LIMIT_SERVICE: '0' }).rateLimits.perToken).toEqual({ USER: null, SERVICE: null });
    for (const bad of ['600', '600/60', 'lots/60s', '0/60s', '10/0s', '10/25h', '-1/60s']) {
      expect(() => readConfig({ PATCHBAY_RATE_LIMIT_USER: bad })).toThrow(ConfigError);
    }
    expect(() => readConfig({ PATCHBAY_RATE_LIMIT_SERVICE: '600 per minute' })).toThrow(
      new ConfigError(
        'PATCHBAY_RATE_LIMIT_SERVICE must be <operations>/<window> with the window in s, m or h (at most 24h), like 600/60s, or 0 for no limit; got "600 per minute"',
      ),
    );
  });
});

describeEachDatabase('rate limits per API token', (db) => {
  let a: Tenant;
  const apps = gateways();

  beforeAll(async () => {
    a = await tenant(db(), 'rate-limit');
  });
  afterAll(async () => {
    await apps.stopAll();
  });

  it('over the limit answers 429 with Retry-After and RATE_LIMITED, and the mutation changes nothing', async () => {
    const { url } = await apps.start(db(), limits('3/60'), 'database');
    const rename = (name: string) => post(url, a.owner.token, RENAME, { id: a.connections.shared.gid, name });
    expect((await post(url, a.owner.token, VIEWER)).status).toBe(200);
    expect((await rename('renamed within the limit')).body.data.updateConnection.__typename).toBe('UpdateConnectionSuccess');
    expect((await post(url, a.owner.token, VIEWER)).status).toBe(200);
    const refused = await rename('renamed over the limit');
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors).toHaveLength(1);
    expect(refused.body.errors[0].extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: Number(refused.retryAfter) });
    const [row] = await db().select({ name: connections.name }).from(connections).where(eq(connections.id, a.connections.shared.id));
    expect(row.name).toBe('renamed within the limit');
  });

  it('each token has its own bucket', async () => {
    const { url } = await apps.start(db(), limits('2/60'), 'database');
    await post(url, a.owner.token, VIEWER);
    await post(url, a.owner.token, VIEWER);
    expect((await post(url, a.owner.token, VIEWER)).status).toBe(429);
    expect((await post(url, a.member.token, VIEWER)).status).toBe(200);
    expect((await post(url, a.member.token, VIEWER)).status).toBe(200);
    expect((await post(url, a.member.token, VIEWER)).status).toBe(429);
  });

  it('limits follow the token kind, and a kind set to 0 is not limited', async () => {
    const { url } = await apps.start(db(), limits('2/60', '5/60'), 'memory');
    const statuses = async (token: string, count: number) => {
      const seen: number[] = [];
      for (let i = 0; i < count; i++) seen.push((await post(url, token, VIEWER)).status);
      return seen;
    };
    expect(await statuses(a.editor.token, 3)).toEqual([200, 200, 429]);
    expect(await statuses(a.service.token, 6)).toEqual([200, 200, 200, 200, 200, 429]);
    const unlimited = await apps.start(db(), limits(null, '1/60'), 'memory');
    for (let i = 0; i < 20; i++) expect((await post(unlimited.url, a.editor.token, VIEWER)).status).toBe(200);
  });

  it('two gateways on one database share a token’s limit', async () => {
    const first = await apps.start(db(), limits('4/60'), 'database');
    const second = await apps.start(db(), limits('4/60'), 'database', first.keyPrefix);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(i % 2 === 0 ? first.url : second.url, a.member2.token, VIEWER)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const [bucket] = await db().select().from(rateLimits).where(like(rateLimits.key, `${first.keyPrefix}:%`));
    expect(bucket).toMatchObject({ key: `${first.keyPrefix}:token:user:${a.member2.viewer.tokenId}` });
  });

  it('a WebSocket operation over the limit gets RATE_LIMITED, and the socket serves again after the window', async () => {
    const { url } = await apps.start(db(), limits('2/2'), 'memory');
    let closed: number | undefined;
    const ws = wsClient(url, a.admin.token, (code) => (closed = code));
    try {
      const results = [];
      for (let i = 0; i < 3; i++) {
        const { received } = ws.subscribe(VIEWER);
        await received.ended();
        results.push(received.messages[0]);
      }
      expect(results[0].data.viewer.user.email).toBe(a.admin.user.email);
      expect(results[1].data.viewer.user.email).toBe(a.admin.user.email);
      expect(results[2].data).toBeUndefined();
      expect(results[2].errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
      // A subscription counts too: refused, not registered.
      const live = ws.subscribe('subscription { connectionStatusChanged { status } }');
      await live.received.ended();
      expect(live.received.messages[0].errors[0].extensions.code).toBe('RATE_LIMITED');
      await settle(results[2].errors[0].extensions.retryAfterSeconds * 1000 + 100);
      const again = ws.subscribe(VIEWER);
      await again.received.ended();
      expect(again.received.messages[0].data.viewer.user.email).toBe(a.admin.user.email);
      expect(closed).toBeUndefined();
    } finally {
      await ws.dispose();
    }
  });

  it('costs one statement per operation on the database store, none in memory, and none once refused', async () => {
    const memory = await apps.start(db(), limits('100/60'), 'memory');
    const database = await apps.start(db(), limits('3/60'), 'database');
    const statementsOf = async (url: string, expected = 200) => {
      const before = executedStatements();
      expect((await post(url, a.member.token, VIEWER)).status).toBe(expected);
      return executedStatements() - before;
    };
    await statementsOf(memory.url); // warm-up (last_used_at)
    const inMemory = await statementsOf(memory.url);
    expect(await statementsOf(database.url)).toBe(inMemory + 1);
    await statementsOf(database.url);
    await statementsOf(database.url);
    // The first refusal is the upsert that finds the bucket full; later ones are refused from
    // memory until the window ends, and the token, seen a moment ago, is not looked up again
    // (the gateway remembers it, edge/viewer-cache.ts): a refusal costs no statement at all.
    const firstRefusal = await statementsOf(database.url, 429);
    expect(firstRefusal).toBe(1);
    expect(await statementsOf(database.url, 429)).toBe(0);
  });

  it('long-expired buckets are deleted', async () => {
    const prefix = `rl-test:${randomUUID()}`;
    const hour = 60 * 60_000;
    await db()
      .insert(rateLimits)
      .values([
        { key: `${prefix}:old`, points: 3, expire: new Date(Date.now() - 2 * hour) },
        { key: `${prefix}:recent`, points: 3, expire: new Date(Date.now() - 60_000) },
        { key: `${prefix}:current`, points: 3, expire: new Date(Date.now() + 60_000) },
      ]);
    expect(await deleteExpiredRateLimits(db())).toBeGreaterThanOrEqual(1);
    const left = await db().select({ key: rateLimits.key }).from(rateLimits).where(like(rateLimits.key, `${prefix}:%`));
    expect(left.map((row) => row.key).sort()).toEqual([`${prefix}:current`, `${prefix}:recent`]);
  });

  it('with a per-address limit, repeated bad tokens are refused with 429 before any lookup', async () => {
    const { url } = await apps.start(db(), limits(null, null, '2/60'), 'memory');
    expect((await post(url, 'pb_not-a-real-token-1', VIEWER)).status).toBe(401);
    expect((await post(url, 'pb_not-a-real-token-2', VIEWER)).status).toBe(401);
    const refused = await post(url, 'pb_not-a-real-token-3', VIEWER);
    expect(refused.status).toBe(429);
    expect(refused.body.errors[0].extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: Number(refused.retryAfter) });
    // The address is refused whatever it sends until the window ends: that is why it is off by default.
    expect((await post(url, a.owner.token, VIEWER)).status).toBe(429);
  });
});

describe('rate limits when the shared store is down', () => {
  it('a per-gateway memory bucket of the same size decides, and the gateway says so', async () => {
    const lines: string[] = [];
    // Nothing listens on port 1: the Redis client never becomes ready.
    const limiter = createRateLimiter(
      { limits: limits('2/60'), store: { redisUrl: 'redis://127.0.0.1:1' }, keyPrefix: `rl-test:${randomUUID()}` },
      { db: undefined as unknown as Database, log: createLog('warn', (line) => lines.push(line)) },
    );
    try {
      const viewer = { tokenId: randomUUID(), tokenKind: 'USER' } as Viewer;
      const outcomes: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        let stopped: { errors: GraphQLError[] } | undefined;
        const onExecute = limiter.plugin.onExecute as unknown as (payload: object) => Promise<void>;
        await onExecute({ args: { contextValue: { viewer } }, setResultAndStopExecution: (result: { errors: GraphQLError[] }) => (stopped = result) });
        outcomes.push(stopped?.errors[0].extensions.code ?? 'ran');
      }
      expect(outcomes).toEqual(['ran', 'ran', 'RATE_LIMITED']);
      expect(lines.filter((line) => line.includes('rate limit store unavailable'))).toHaveLength(1);
    } finally {
      await limiter.close();
    }
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('rate limits across two PostgreSQL pools', () => {
  const apps = gateways();
  const handles: DatabaseHandle[] = [];
  afterAll(async () => {
    await apps.stopAll();
    await Promise.all(handles.map((handle) => handle.close()));
  });

  it('a token’s requests split over two gateways with their own pools hit one limit', async () => {
    for (let i = 0; i < 2; i++) handles.push(await openPostgres(process.env.TEST_DATABASE_URL!, { max: 2 }));
    const t = await tenant(handles[0].db, 'rate-limit-pools');
    const first = await apps.start(handles[0].db, limits('5/60'), 'database');
    const second = await apps.start(handles[1].db, limits('5/60'), 'database', first.keyPrefix);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post(i % 2 === 0 ? first.url : second.url, t.owner.token, VIEWER)));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(5);
    expect(answers.filter((answer) => answer.status === 429)).toHaveLength(3);
  });
});

describe.skipIf(!process.env.TEST_REDIS_URL)('rate limits on Redis', () => {
  const apps = gateways();
  let handle: DatabaseHandle;
  let t: Tenant;
  beforeAll(async () => {
    handle = await openPglite();
    await handle.migrate();
    t = await tenant(handle.db, 'rate-limit-redis');
  });
  afterAll(async () => {
    await apps.stopAll();
    await handle?.close();
  });

  it('two gateways share a token’s limit in Redis, at no SQL cost', async () => {
    const store = { redisUrl: process.env.TEST_REDIS_URL! };
    const first = await apps.start(handle.db, limits('4/60'), store);
    const second = await apps.start(handle.db, limits('4/60'), store, first.keyPrefix);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(i % 2 === 0 ? first.url : second.url, t.member.token, VIEWER)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const redis = new Redis(process.env.TEST_REDIS_URL!);
    try {
      const key = `${first.keyPrefix}:token:user:${t.member.viewer.tokenId}`;
      expect(Number(await redis.get(key))).toBeGreaterThanOrEqual(5);
      await redis.del(key);
    } finally {
      redis.disconnect();
    }
    // The store adds no statement to a request, and the store adds no statement to a request.
    const memory = await apps.start(handle.db, limits('100/60'), 'memory');
    const statementsOf = async (url: string) => {
      const before = executedStatements();
      expect((await post(url, t.owner.token, VIEWER)).status).toBe(200);
      return executedStatements() - before;
    };
    await statementsOf(first.url); // warm-up (last_used_at)
    expect(await statementsOf(first.url)).toBe(await statementsOf(memory.url));
  });
});
