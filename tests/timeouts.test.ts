/**
 * Timeouts and callers who give up, against a real gateway: a mutation blocked by a row lock is
 * answered TIMEOUT within the lock timeout and changes nothing; statement_timeout cancels a long
 * statement; the execution timeout answers TIMEOUT over HTTP and WebSocket; a client that
 * disconnects (HTTP) or completes the operation (WebSocket) stops the work it started, in the
 * database and at the provider; and a token refresh already sent to the provider is stored anyway.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq, sql } from 'drizzle-orm';
import { createClient } from 'graphql-ws';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApp, type App } from '../server/app.js';
import { type DatabaseHandle, type SessionTimeouts, openPglite, openPostgres } from '../server/db/client.js';
import { connections, tokenRefreshes } from '../server/db/schema.js';
import { readCredentials } from '../server/domain/credentials.js';
import { timeoutFromDatabaseError } from '../server/domain/errors.js';
import { parseGlobalId } from '../server/domain/global-ids.js';
import type { OAuthTokens } from '../server/domain/oauth2.js';
import { ConfigError, readConfig } from '../server/config.js';
import { createLog } from '../server/log.js';
import { backends } from './support/db.js';
import { tenant, testVault, type Tenant } from './support/fixtures.js';

const databaseUrl = process.env.TEST_DATABASE_URL;

/** Polls `check` until it returns true; fails after `timeoutMs`. */
async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * A third-party service that answers, or holds its answers: an API-key check at /me, and an
 * OAuth token endpoint whose refresh grants can be held until released. It counts the requests
 * whose caller gave up before the answer (the socket closed under a pending request).
 */
async function startSlowService() {
  const state = {
    /** 'hang': /me never answers (the caller's timeout or cancellation decides). */
    mode: 'answer' as 'answer' | 'hang',
    /** Hold refresh grants until release() (answers go out then). */
    holdRefreshes: false,
    pending: 0,
    abandoned: 0,
    refreshesReceived: 0,
    held: [] as (() => void)[],
  };
  const json = (res: ServerResponse, body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const track = (res: ServerResponse) => {
    state.pending += 1;
    res.on('close', () => {
      state.pending -= 1;
      if (!res.writableFinished) state.abandoned += 1;
    });
  };
  const form = (req: IncomingMessage) =>
    new Promise<URLSearchParams>((resolve) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => resolve(new URLSearchParams(body)));
    });
  const server = createServer(async (req, res) => {
    track(res);
    if (req.url === '/token') {
      const grant = await form(req);
      if (grant.get('grant_type') === 'authorization_code') {
        // Due at once (less than the refresh margin left), so the next hand-out refreshes.
        return json(res, { access_token: 'access-1', refresh_token: 'refresh-1', token_type: 'Bearer', expires_in: 30 });
      }
      state.refreshesReceived += 1;
      const answer = () => json(res, { access_token: 'access-2', refresh_token: 'refresh-2', token_type: 'Bearer', expires_in: 3600 });
      return state.holdRefreshes ? state.held.push(answer) : answer();
    }
    if (state.mode === 'hang') return;
    return json(res, { id: 'me' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    release: () => state.held.splice(0).forEach((answer) => answer()),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

async function post(base: string, token: string, query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    signal,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[] } };
}

const TEST_CONNECTION = 'mutation($id: ID!) { testConnection(input: { id: $id }) { __typename } }';
const RENAME = 'mutation($id: ID!, $name: String!) { updateConnection(input: { id: $id, name: $name }) { __typename } }';

describe.each(backends.map(({ name }) => ({ name })))('timeouts [$name]', ({ name }) => {
  const onPostgres = name === 'postgres';
  const handles: DatabaseHandle[] = [];
  const apps: App[] = [];
  let pglite: DatabaseHandle | undefined;
  let a: Tenant;
  let slow: Awaited<ReturnType<typeof startSlowService>>;
  /** Gateways with short limits, and with limits so long that only the caller leaving stops work. */
  let fast: { url: string; handle: DatabaseHandle };
  let patient: { url: string; handle: DatabaseHandle };
  let slowConnectionId: string;

  /** A database handle under `timeouts`: its own pool on PostgreSQL, the one PGlite otherwise. */
  async function database(timeouts: SessionTimeouts): Promise<DatabaseHandle> {
    if (!onPostgres) return pglite!;
    const handle = await openPostgres(databaseUrl!, { max: 3, timeouts });
    handles.push(handle);
    return handle;
  }

  async function gateway(timeouts: SessionTimeouts, executionTimeoutMs: number) {
    const handle = await database(timeouts);
    const app = createApp({ db: handle.db, vault: testVault, log: createLog('silent'), executionTimeoutMs });
    apps.push(app);
    return { url: await app.start(0), handle };
  }

  beforeAll(async () => {
    if (!onPostgres) {
      pglite = await openPglite();
      await pglite.migrate();
      handles.push(pglite);
    }
    fast = await gateway({ statementMs: 1_500, lockMs: 400 }, 1_500);
    patient = await gateway({ statementMs: 60_000, lockMs: 30_000 }, 60_000);
    a = await tenant(fast.handle.db, `timeouts-${name}`);
    slow = await startSlowService();
    // An API-key connection whose check the slow service answers now, and later holds.
    const registered = await post(fast.url, a.admin.token, 'mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename } }', {
      input: { key: 'slow-service', name: 'Slow', authMethod: 'API_KEY', verifyUrl: `${slow.url}/me`, apiKeyHeader: 'X-Api-Key' },
    });
    expect(registered.body.data.registerIntegration.__typename).toBe('RegisterIntegrationSuccess');
    const started = await post(
      patient.url,
      a.member.token,
      'mutation($input: StartConnectionInput!) { startConnection(input: $input) { __typename ... on StartConnectionSuccess { result { connection { id } } } } }',
      { input: { integration: 'slow-service', name: 'Slow API', credentials: { apiKey: 'key-1' } } },
    );
    slowConnectionId = started.body.data.startConnection.result.connection.id;
  });

  afterAll(async () => {
    for (const app of apps) await app.stop();
    await slow?.close();
    for (const handle of handles) await handle.close();
  });

  async function lastCheckedAt(gid: string) {
    const [row] = await fast.handle.db
      .select({ lastCheckedAt: connections.lastCheckedAt })
      .from(connections)
      .where(eq(connections.id, parseGlobalId(gid, 'Connection')));
    return row.lastCheckedAt;
  }

  it('a mutation past the execution timeout is answered TIMEOUT (HTTP 200); its provider call is abandoned and nothing is written', async () => {
    slow.mode = 'hang';
    try {
      const checkedBefore = await lastCheckedAt(slowConnectionId);
      const abandoned = slow.abandoned;
      const { status, body } = await post(fast.url, a.member.token, TEST_CONNECTION, { id: slowConnectionId });
      expect(status).toBe(200);
      expect(body.data).toBeNull();
      expect(body.errors).toEqual([expect.objectContaining({ message: 'The operation took too long; try again', extensions: { code: 'TIMEOUT' } })]);
      // The provider call was waiting when time ran out: it is closed, not left to the service timeout.
      await eventually('the provider request is abandoned', () => slow.abandoned > abandoned);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await lastCheckedAt(slowConnectionId)).toBe(checkedBefore);
    } finally {
      slow.mode = 'answer';
    }
  });

  it('over WebSocket, a query or mutation past the execution timeout gets TIMEOUT and the socket stays usable', async () => {
    slow.mode = 'hang';
    const client = createClient({
      url: `${fast.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${a.member.token}` },
      retryAttempts: 0,
    });
    try {
      const run = (query: string, variables?: Record<string, unknown>) =>
        new Promise<any>((resolve, reject) => {
          let result: unknown;
          client.subscribe({ query, variables }, { next: (value) => (result = value), error: reject, complete: () => resolve(result) });
        });
      const timedOut = await run(TEST_CONNECTION, { id: slowConnectionId });
      expect(timedOut.errors).toEqual([expect.objectContaining({ extensions: { code: 'TIMEOUT' } })]);
      const next = await run('{ viewer { user { email } } }');
      expect(next.data.viewer.user.email).toBe(a.member.user.email);
    } finally {
      slow.mode = 'answer';
      await client.dispose();
    }
  });

  it('an HTTP client that disconnects stops the work it started: the provider call is closed and nothing is written', async () => {
    slow.mode = 'hang';
    try {
      const checkedBefore = await lastCheckedAt(slowConnectionId);
      const { pending, abandoned } = slow;
      const controller = new AbortController();
      const request = post(patient.url, a.member.token, TEST_CONNECTION, { id: slowConnectionId }, controller.signal).catch((error: Error) => error);
      await eventually('the provider is called', () => slow.pending > pending);
      controller.abort();
      expect(await request).toMatchObject({ name: 'AbortError' });
      // Without the caller's signal the call would wait for the service timeout (10 s), then write.
      await eventually('the provider request is abandoned', () => slow.abandoned > abandoned, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await lastCheckedAt(slowConnectionId)).toBe(checkedBefore);
    } finally {
      slow.mode = 'answer';
    }
  });

  it('a WebSocket client that completes a running mutation stops its work; the socket stays open', async () => {
    slow.mode = 'hang';
    let closed = false;
    const client = createClient({
      url: `${patient.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${a.member.token}` },
      retryAttempts: 0,
      // Not lazy: the socket stays open after the operation, so Complete (not a close) stops it.
      lazy: false,
      on: { closed: () => (closed = true) },
    });
    try {
      const { pending, abandoned } = slow;
      const unsubscribe = client.subscribe({ query: TEST_CONNECTION, variables: { id: slowConnectionId } }, { next: () => {}, error: () => {}, complete: () => {} });
      await eventually('the provider is called', () => slow.pending > pending);
      unsubscribe();
      await eventually('the provider request is abandoned', () => slow.abandoned > abandoned, 5_000);
      expect(closed).toBe(false);
    } finally {
      slow.mode = 'answer';
      await client.dispose();
    }
  });

  it('a token refresh the provider has received is stored even though the caller gave up', async () => {
    const registered = await post(
      fast.url,
      a.admin.token,
      'mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename ... on Error { message } } }',
      { input: { key: 'slow-oauth', name: 'Slow OAuth', authMethod: 'OAUTH2', authorizeUrl: `${slow.url}/authorize`, tokenUrl: `${slow.url}/token` } },
    );
    expect(registered.body.data.registerIntegration.__typename).toBe('RegisterIntegrationSuccess');
    const configured = await post(
      fast.url,
      a.admin.token,
      'mutation { configureIntegration(input: { integration: "slow-oauth", clientId: "client", clientSecret: "client-secret" }) { __typename ... on Error { message } } }',
    );
    expect(configured.body.data.configureIntegration.__typename).toBe('ConfigureIntegrationSuccess');
    const started = await post(
      patient.url,
      a.owner.token,
      'mutation { startConnection(input: { integration: "slow-oauth", name: "Slow OAuth", shared: true }) { ... on StartConnectionSuccess { result { authorizationUrl connection { id } } } } }',
    );
    const { authorizationUrl, connection } = started.body.data.startConnection.result;
    const state = new URL(authorizationUrl).searchParams.get('state')!;
    const callback = await fetch(`${patient.url}/oauth/callback?state=${encodeURIComponent(state)}&code=code-1`);
    expect(callback.status).toBe(200);
    const id = parseGlobalId(connection.id, 'Connection');

    slow.holdRefreshes = true;
    try {
      const { refreshesReceived, abandoned } = slow;
      const controller = new AbortController();
      const request = post(
        patient.url,
        a.service.token,
        'mutation($id: ID!) { connectionAccessToken(input: { connectionId: $id }) { __typename } }',
        { id: connection.id },
        controller.signal,
      ).catch((error: Error) => error);
      await eventually('the refresh reaches the provider', () => slow.refreshesReceived > refreshesReceived);
      controller.abort();
      expect(await request).toMatchObject({ name: 'AbortError' });
      // Unlike other provider calls, the refresh is not abandoned with its caller...
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(slow.abandoned).toBe(abandoned);
      slow.release();
      // ...and what the provider answered (a rotated refresh token) is stored.
      await eventually('the refreshed tokens are stored', async () => (await readCredentials<OAuthTokens>(fast.handle.db, testVault, id))?.refreshToken === 'refresh-2');
      const attempts = await fast.handle.db.select().from(tokenRefreshes).where(eq(tokenRefreshes.connectionId, id));
      expect(attempts).toMatchObject([{ outcome: 'SUCCEEDED' }]);
    } finally {
      slow.holdRefreshes = false;
      slow.release();
    }
  });

  describe.runIf(onPostgres)('row locks and long statements', () => {
    let admin: postgres.Sql;
    beforeAll(() => {
      admin = postgres(databaseUrl!, { max: 2, onnotice: () => {} });
    });
    afterAll(async () => {
      await admin?.end();
    });

    /** Holds a row lock on a connection in another session until release(). */
    async function holdRowLock(id: string) {
      const session = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
      let locked!: (pid: number) => void;
      const pid = new Promise<number>((resolve) => (locked = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const transaction = session.begin(async (tx) => {
        const [row] = await tx`select pg_backend_pid() as pid from connections where id = ${id} for update`;
        locked(row.pid);
        await released;
      });
      return {
        pid: await pid,
        release: async () => {
          release();
          await transaction;
          await session.end();
        },
      };
    }

    /** The sessions waiting for a lock `pid` holds. */
    async function blockedBy(pid: number): Promise<number> {
      const [{ count }] = await admin`select count(*)::int as count from pg_stat_activity where ${pid} = any(pg_blocking_pids(pid))`;
      return count;
    }

    async function nameOf(id: string) {
      const [row] = await admin`select name from connections where id = ${id}`;
      return row.name as string;
    }

    it('a mutation blocked by a row lock is answered TIMEOUT within the lock timeout and changes nothing', async () => {
      const target = a.connections.shared;
      const lock = await holdRowLock(target.id);
      try {
        // Answered while the lock is still held: the lock timeout ended the wait, not the release.
        const { status, body } = await post(fast.url, a.owner.token, RENAME, { id: target.gid, name: 'renamed under a lock' });
        expect(status).toBe(200);
        expect(body.data).toBeNull();
        expect(body.errors).toEqual([
          expect.objectContaining({ message: 'Another change to the same data is in progress; try again', extensions: { code: 'TIMEOUT' }, path: ['updateConnection'] }),
        ]);
        expect(await blockedBy(lock.pid)).toBe(0);
      } finally {
        await lock.release();
      }
      expect(await nameOf(target.id)).toBe(target.name);
      // The pool is healthy afterwards.
      const renamed = await post(fast.url, a.owner.token, RENAME, { id: target.gid, name: target.name });
      expect(renamed.body.data.updateConnection.__typename).toBe('UpdateConnectionSuccess');
    });

    it('statement_timeout cancels a long statement on every pooled session, and the caller sees TIMEOUT', async () => {
      const error = await fast.handle.db.execute(sql`select pg_sleep(30)`).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(timeoutFromDatabaseError(error)).toMatchObject({ code: 'TIMEOUT', message: 'The operation took too long; try again' });
      // A lock wait that the statement timeout ends (lock timeout above it): the same TIMEOUT.
      const statementOnly = await gateway({ statementMs: 600, lockMs: 30_000 }, 60_000);
      const target = a.connections.shared;
      const lock = await holdRowLock(target.id);
      try {
        const { body } = await post(statementOnly.url, a.owner.token, RENAME, { id: target.gid, name: 'renamed under a lock' });
        expect(body.errors).toEqual([expect.objectContaining({ message: 'The operation took too long; try again', extensions: { code: 'TIMEOUT' } })]);
      } finally {
        await lock.release();
      }
      expect(await nameOf(target.id)).toBe(target.name);
    });

    it('a gateway waiting for another’s migration lock longer than its lock and statement timeouts still migrates', async () => {
      const other = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
      try {
        const session = await other.reserve();
        await session`select pg_advisory_lock(hashtext('patchbay:migrate'))`;
        let settled: string | undefined;
        const migrating = fast.handle.migrate().then(
          () => (settled = 'migrated'),
          (error: Error) => (settled = `failed: ${error.message}`),
        );
        await eventually('the migration waits for the lock', async () => {
          const [{ count }] = await admin`select count(*)::int as count from pg_locks where locktype = 'advisory' and not granted`;
          return count > 0;
        });
        // Past this gateway's lock (400 ms) and statement (1.5 s) timeouts: still waiting, not failed.
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        expect(settled).toBeUndefined();
        await session`select pg_advisory_unlock(hashtext('patchbay:migrate'))`;
        session.release();
        await migrating;
        expect(settled).toBe('migrated');
      } finally {
        await other.end({ timeout: 1 });
      }
    });

    it('an HTTP client that disconnects cancels its statement waiting on a lock; nothing is written once the lock is released', async () => {
      const target = a.connections.shared;
      const lock = await holdRowLock(target.id);
      try {
        const controller = new AbortController();
        const request = post(patient.url, a.owner.token, RENAME, { id: target.gid, name: 'renamed after the caller left' }, controller.signal).catch(
          (error: Error) => error,
        );
        await eventually('the update waits on the lock', async () => (await blockedBy(lock.pid)) === 1);
        controller.abort();
        expect(await request).toMatchObject({ name: 'AbortError' });
        // The patient gateway's limits are 30-60 s: only the cancel can end the wait this soon.
        await eventually('the waiting statement is cancelled', async () => (await blockedBy(lock.pid)) === 0, 5_000);
      } finally {
        await lock.release();
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await nameOf(target.id)).toBe(target.name);
      const renamed = await post(patient.url, a.owner.token, RENAME, { id: target.gid, name: target.name });
      expect(renamed.body.data.updateConnection.__typename).toBe('UpdateConnectionSuccess');
    });
  });
});

describe('timeout settings', () => {
  const base = { LOG_LEVEL: 'silent' };

  it('default to 5 s per statement, 2 s per lock wait and 15 s per operation', () => {
    expect(readConfig(base).timeouts).toEqual({ statementMs: 5_000, lockMs: 2_000, executionMs: 15_000 });
    expect(
      readConfig({ ...base, PATCHBAY_STATEMENT_TIMEOUT_MS: '3000', PATCHBAY_LOCK_TIMEOUT_MS: '500', PATCHBAY_EXECUTION_TIMEOUT_MS: '8000' }).timeouts,
    ).toEqual({ statementMs: 3_000, lockMs: 500, executionMs: 8_000 });
  });

  it('refuse values that are not whole milliseconds in range, or a lock timeout that could never fire', () => {
    expect(() => readConfig({ ...base, PATCHBAY_STATEMENT_TIMEOUT_MS: '5s' })).toThrow(
      new ConfigError('PATCHBAY_STATEMENT_TIMEOUT_MS must be an integer from 100 to 600000, got "5s"'),
    );
    expect(() => readConfig({ ...base, PATCHBAY_EXECUTION_TIMEOUT_MS: '0' })).toThrow(ConfigError);
    expect(() => readConfig({ ...base, PATCHBAY_LOCK_TIMEOUT_MS: '5000' })).toThrow(
      /PATCHBAY_LOCK_TIMEOUT_MS \(5000\) must be less than PATCHBAY_STATEMENT_TIMEOUT_MS \(5000\)/,
    );
  });
});
