/**
 * Token refresh against a real OAuth server (oidc-provider, refresh-token rotation with reuse
 * detection) behind a fault-injecting proxy, with several gateway processes on one PostgreSQL:
 * a slow answer is kept, a 429's Retry-After is one cooldown for every gateway and the jobs, and
 * a gateway killed mid-refresh holds the connection up for one short lease at most.
 */
import { randomBytes } from 'node:crypto';
import { and, eq, ne } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { countStatements, type DatabaseHandle, openPostgres } from '../server/db/client.js';
import { connections, tokenRefreshes } from '../server/db/schema.js';
import { readCredentials, storeCredentials } from '../server/domain/credentials.js';
import { parseGlobalId } from '../server/domain/global-ids.js';
import { loadIntegrations } from '../server/domain/integrations.js';
import { disconnectOnRefreshFailure } from '../server/domain/lifecycle.js';
import type { OAuthSettings, OAuthTokens } from '../server/domain/oauth2.js';
import {
  freshTokens,
  REFRESH_BACKOFF_BASE_MS,
  REFRESH_HARD_LIMIT_FACTOR,
  refreshHardLimitMs,
  REFRESH_HEARTBEAT_MS,
  REFRESH_LEASE_MS,
} from '../server/domain/token-refresh.js';
import { Vault } from '../server/domain/vault.js';
import { DEFAULT_HEALTH_OPTIONS, runHealthRound } from '../server/jobs/health.js';
import { createLog } from '../server/log.js';
import { tenant, type Tenant } from './support/fixtures.js';
import type { FaultProxy } from './support/fault-proxy.js';
import { postGraphql } from './support/graphql-http.js';
import { type OAuthServer, registerOAuthIntegration, startOAuthServer } from './support/oauth-server.js';
import { TEST_ALLOW_PRIVATE_HOSTS } from './support/outbound.js';
import { startScript } from './support/processes.js';
import { until } from './support/wait.js';

const url = process.env.TEST_DATABASE_URL;
const GATEWAYS = 3;
/** The gateways' service timeout: how long a caller waits for the provider (a request may take 6 times this). */
const SERVICE_TIMEOUT_MS = 2_000;

const ACCESS_TOKEN = `mutation($id: ID!) { connectionAccessToken(input: { connectionId: $id }) { __typename ... on Error { message } ... on ProviderUnavailableError { retryAfterSeconds } ... on ConnectionAccessTokenSuccess { result { accessToken } } } }`;

type Gateway = Awaited<ReturnType<typeof startScript>> & { url: string };

describe.runIf(url)('token refresh through a faulty provider, across gateway processes', () => {
  const secretKey = `ci:${randomBytes(32).toString('base64')}`;
  const vault = Vault.fromKeyList(secretKey);
  let database: DatabaseHandle;
  let app: App;
  let base: string;
  let provider: OAuthServer;
  let proxy: FaultProxy;
  let a: Tenant;
  let settings: OAuthSettings;
  const gateways: Gateway[] = [];

  const startGateway = async (): Promise<Gateway> => {
    const started = await startScript(
      'server/main.ts',
      {
        DATABASE_URL: url,
        PATCHBAY_SECRET_KEY: secretKey,
        PORT: '0',
        LOG_LEVEL: 'error',
        PATCHBAY_SEED_DEMO: 'false',
        PATCHBAY_ALLOW_PRIVATE_HOSTS: TEST_ALLOW_PRIVATE_HOSTS,
        PATCHBAY_SERVICE_TIMEOUT_MS: String(SERVICE_TIMEOUT_MS),
        // The jobs run where a test calls them (runHealthRound): none refreshes behind its back.
        PATCHBAY_JOBS: 'false',
      },
      /GraphQL:\s+\S+/,
    );
    return { ...started, url: /GraphQL:\s+(\S+)\/graphql/.exec(started.stdout())![1] };
  };

  /** A new ACTIVE connection to the provider (through the proxy, passing), its access token due. */
  const connect = async (name: string) => {
    proxy.fault = { kind: 'pass' };
    const started = (
      await postGraphql(
        base,
        a.owner.token,
        `mutation($name: String!) { startConnection(input: { integration: "test-oidc", name: $name, shared: true }) { ... on StartConnectionSuccess { result { authorizationUrl connection { id } } } } }`,
        { name },
      )
    ).data.startConnection.result;
    const callback = await fetch(await provider.authorize(started.authorizationUrl));
    expect(callback.status).toBe(200);
    const gid: string = started.connection.id;
    const id = parseGlobalId(gid, 'Connection');
    const before = (await readCredentials<OAuthTokens>(database.db, vault, id))!;
    const past = new Date(Date.now() - 1000).toISOString();
    await storeCredentials(database.db, vault, { id, accountId: a.account.id }, { ...before, expiresAt: past });
    await database.db.update(connections).set({ accessTokenExpiresAt: past }).where(eq(connections.id, id));
    return { gid, id, before };
  };

  const accessToken = async (gateway: Gateway, gid: string) => (await postGraphql(gateway.url, a.service.token, ACCESS_TOKEN, { id: gid })).data.connectionAccessToken;
  const row = async (id: string) => (await database.db.select().from(connections).where(eq(connections.id, id)))[0];
  const attempts = (id: string) => database.db.select().from(tokenRefreshes).where(eq(tokenRefreshes.connectionId, id)).orderBy(tokenRefreshes.startedAt);
  const refreshGrants = () => provider.tokenRequests.filter((grant) => grant === 'refresh_token').length;
  const introspect = async (token: string) => {
    const response = await fetch(`${provider.issuer}/token/introspection`, {
      method: 'POST',
      body: new URLSearchParams({ token, client_id: provider.clientId, client_secret: provider.clientSecret }),
    });
    return ((await response.json()) as { active: boolean }).active;
  };

  beforeAll(async () => {
    database = await openPostgres(url!, { max: 4 });
    a = await tenant(database.db, 'faults');
    app = createApp({ db: database.db, vault, log: createLog('error') });
    base = await app.start(0);
    provider = await startOAuthServer(`${base}/oauth/callback`, { accessTokenTtl: 3600, faults: true });
    proxy = provider.faults!;
    await registerOAuthIntegration(base, a.admin.token, provider);
    settings = { callbackUrl: `${base}/oauth/callback`, returnOrigins: [] };
    for (let i = 0; i < GATEWAYS; i++) gateways.push(await startGateway());
  }, 180_000);

  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await provider?.close();
    await app?.stop();
    await database?.close();
  });

  it('an answer that arrives after the service timeout is kept: the caller hears ProviderUnavailableError, the lease is renewed meanwhile, the next caller gets the rotated tokens, 0 disconnects', async () => {
    const { gid, id, before } = await connect('Slow provider');
    const grants = refreshGrants();
    const sent = proxy.requests;
    // Longer than the lease too (only the heartbeat keeps other gateways from a second request),
    // within the request's hard limit (6 service timeouts).
    proxy.fault = { kind: 'delay', ms: REFRESH_LEASE_MS + 2_000 };
    expect(REFRESH_LEASE_MS + 2_000).toBeLessThan(REFRESH_HARD_LIMIT_FACTOR * SERVICE_TIMEOUT_MS);
    const first = await accessToken(gateways[0], gid);
    expect(first).toMatchObject({ __typename: 'ProviderUnavailableError' });
    expect(first.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // The lease is renewed while the provider call runs.
    const taken = (await row(id)).refreshLeaseUntil!;
    await until(async () => ((await row(id)).refreshLeaseUntil ?? '') > taken, 'a lease renewal', 10_000);
    // Other gateways asking meanwhile wait; none sends a second request.
    const meanwhile = await Promise.all(gateways.slice(1).map((gateway) => accessToken(gateway, gid)));
    expect(meanwhile.map((answer) => answer.__typename)).toEqual(meanwhile.map(() => 'ProviderUnavailableError'));
    await until(async () => (await attempts(id)).some((attempt) => attempt.outcome === 'SUCCEEDED'), 'the late answer to be stored', 20_000);
    proxy.fault = { kind: 'pass' };
    const next = await accessToken(gateways[1], gid);
    expect(next.__typename).toBe('ConnectionAccessTokenSuccess');
    expect(next.result.accessToken).not.toBe(before.accessToken);
    expect(await introspect(next.result.accessToken)).toBe(true);
    expect(proxy.requests - sent).toBe(1);
    expect(refreshGrants() - grants).toBe(1);
    expect(await row(id)).toMatchObject({ status: 'ACTIVE', refreshLeaseOwner: null, refreshFailures: 0 });
    expect((await attempts(id)).map((attempt) => attempt.outcome)).toEqual(['SUCCEEDED']);
    const stored = (await readCredentials<OAuthTokens>(database.db, vault, id))!;
    expect(stored.refreshToken).not.toBe(before.refreshToken);
  }, 60_000);

  it('a 429 with Retry-After is one cooldown for every gateway and the jobs: 1 provider request per window, callers told when to come back, backoff grows per failure', async () => {
    const { gid, id, before } = await connect('Rate-limited provider');
    const sent = proxy.requests;
    proxy.fault = { kind: 'status', status: 429, retryAfter: '30' };
    const burst = async () => Promise.all(gateways.flatMap((gateway) => Array.from({ length: 10 }, () => accessToken(gateway, gid))));
    for (let round = 0; round < 2; round++) {
      const answers = await burst();
      expect(new Set(answers.map((answer) => answer.__typename))).toEqual(new Set(['ProviderUnavailableError']));
      for (const answer of answers) {
        expect(answer.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(answer.retryAfterSeconds).toBeLessThanOrEqual(31);
      }
    }
    expect(proxy.requests - sent).toBe(1);
    const shown = await postGraphql(gateways[0].url, a.owner.token, `query($id: ID!) { node(id: $id) { ... on Connection { status refreshBlockedUntil } } }`, { id: gid });
    expect(shown.data.node.status).toBe('ACTIVE');
    expect(Date.parse(shown.data.node.refreshBlockedUntil) - Date.now()).toBeGreaterThan(20_000);
    let current = await row(id);
    expect(current).toMatchObject({ status: 'ACTIVE', refreshFailures: 1, refreshLeaseOwner: null });
    expect(Date.parse(current.refreshBlockedUntil!) - Date.now()).toBeGreaterThan(20_000);
    expect((await attempts(id)).map((attempt) => attempt.outcome)).toEqual(['TRANSIENT']);

    // The jobs skip it during the cooldown, however many rounds run (the account's other
    // connections are made fresh: each round below concerns this one only).
    await database.db
      .update(connections)
      .set({ accessTokenExpiresAt: new Date(Date.now() + 365 * 86_400_000).toISOString() })
      .where(and(eq(connections.accountId, a.account.id), ne(connections.id, id)));
    const jobs = { ...DEFAULT_HEALTH_OPTIONS, accountId: a.account.id };
    for (let round = 0; round < 3; round++) await runHealthRound(database.db, vault, settings, jobs);
    expect(proxy.requests - sent).toBe(1);

    // The window passes (moved, not waited for); a 503 without Retry-After: the next backoff step.
    proxy.fault = { kind: 'status', status: 503 };
    await database.db.update(connections).set({ refreshBlockedUntil: new Date(Date.now() - 1).toISOString() }).where(eq(connections.id, id));
    for (let round = 0; round < 3; round++) await runHealthRound(database.db, vault, settings, jobs);
    expect(proxy.requests - sent).toBe(2);
    current = await row(id);
    expect(current).toMatchObject({ status: 'ACTIVE', refreshFailures: 2 });
    const step = Date.parse(current.refreshBlockedUntil!) - Date.now();
    expect(step).toBeGreaterThan(REFRESH_BACKOFF_BASE_MS * 2 * 0.8 - 1_000);
    expect(step).toBeLessThanOrEqual(REFRESH_BACKOFF_BASE_MS * 2 * 1.2);

    // Once the provider recovers and the cooldown is over, one refresh clears it.
    proxy.fault = { kind: 'pass' };
    await database.db.update(connections).set({ refreshBlockedUntil: new Date(Date.now() - 1).toISOString() }).where(eq(connections.id, id));
    const answer = await accessToken(gateways[2], gid);
    expect(answer.__typename).toBe('ConnectionAccessTokenSuccess');
    expect(answer.result.accessToken).not.toBe(before.accessToken);
    expect(proxy.requests - sent).toBe(3);
    expect(await row(id)).toMatchObject({ status: 'ACTIVE', refreshFailures: 0, refreshBlockedUntil: null });
    expect((await attempts(id)).map((attempt) => attempt.outcome)).toEqual(['TRANSIENT', 'TRANSIENT', 'SUCCEEDED']);
  }, 90_000);

  it('a gateway killed while its provider call hangs holds the connection for one short lease; the next gateway takes over and records the dead attempt as ABANDONED', async () => {
    expect(REFRESH_LEASE_MS).toBeLessThanOrEqual(10_000);
    expect(REFRESH_HEARTBEAT_MS).toBeLessThan(REFRESH_LEASE_MS / 2);
    expect(refreshHardLimitMs()).toBeGreaterThan(SERVICE_TIMEOUT_MS);
    const { gid, id, before } = await connect('Gateway crash');
    const doomed = await startGateway();
    const sent = proxy.requests;
    proxy.fault = { kind: 'hang' };
    const first = await accessToken(doomed, gid);
    expect(first.__typename, JSON.stringify(first)).toBe('ProviderUnavailableError');
    await until(() => proxy.requests - sent === 1, 'the hung request at the provider');
    expect((await row(id)).refreshLeaseOwner).toContain(`:${doomed.pid}:`);
    await doomed.kill();
    proxy.fault = { kind: 'pass' };
    // Callers hear "try again" until the dead lease runs out; then one takes over.
    let answer: { __typename: string; result?: { accessToken: string } } = { __typename: 'none' };
    await until(
      async () => {
        answer = await accessToken(gateways[0], gid);
        return answer.__typename === 'ConnectionAccessTokenSuccess';
      },
      'a takeover',
      REFRESH_LEASE_MS + 20_000,
      200,
    );
    expect(answer.result!.accessToken).not.toBe(before.accessToken);
    expect(proxy.requests - sent).toBe(2);
    const recorded = await attempts(id);
    expect(recorded.map((attempt) => attempt.outcome)).toEqual(['ABANDONED', 'SUCCEEDED']);
    expect(recorded[0].owner).toContain(`:${doomed.pid}:`);
    expect(recorded[0].finishedAt).toBeTruthy();
    expect(await row(id)).toMatchObject({ status: 'ACTIVE', refreshLeaseOwner: null });
  }, 90_000);

  it('an answer lost after the provider acted (connection reset) is recorded as LOST and disconnects nothing; where the provider has no reuse grace (oidc-provider) the next refresh is refused and the reason says why', async () => {
    const { gid, id } = await connect('Lost answer');
    const sent = proxy.forwarded;
    proxy.fault = { kind: 'resetAfterForward' };
    const answer = await accessToken(gateways[0], gid);
    expect(answer).toMatchObject({ __typename: 'ProviderUnavailableError' });
    expect(answer.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(proxy.forwarded - sent).toBe(1);
    await until(async () => (await attempts(id)).every((attempt) => attempt.finishedAt), 'the attempt to finish');
    expect((await attempts(id)).map((attempt) => attempt.outcome)).toEqual(['LOST']);
    const current = await row(id);
    expect(current).toMatchObject({ status: 'ACTIVE', refreshFailures: 1, refreshLeaseOwner: null });
    expect(Date.parse(current.refreshBlockedUntil!)).toBeGreaterThan(Date.now());
    // oidc-provider rotated the token and has no grace for its reuse: the next refresh (after the
    // cooldown, with the stored token re-read first) is refused, and the reason names the lost answer.
    proxy.fault = { kind: 'pass' };
    await database.db.update(connections).set({ refreshBlockedUntil: new Date(Date.now() - 1).toISOString() }).where(eq(connections.id, id));
    let after: { __typename: string } = { __typename: 'none' };
    // (A caller on a loaded machine may stop waiting first: it asks again, as a worker would.)
    await until(async () => (after = await accessToken(gateways[1], gid)).__typename !== 'ProviderUnavailableError', 'an answer', 20_000, 200);
    expect(after).toMatchObject({ __typename: 'CredentialsRejectedError' });
    expect(await row(id)).toMatchObject({ status: 'DISCONNECTED', disconnectReason: 'INVALID_REFRESH_TOKEN' });
    expect((await row(id)).errorMessage).toMatch(/answer to an earlier refresh never arrived/);
    expect((await attempts(id)).map((attempt) => attempt.outcome)).toEqual(['LOST', 'FAILED']);
  }, 60_000);

  it('a refresh through freshTokens costs a handful of SQL statements and holds no lock across the provider call', async () => {
    const { id } = await connect('Counted');
    const [integration] = await loadIntegrations(database.db, a.account.id, ['test-oidc']);
    const connection = await row(id);
    const { result, statements } = await countStatements(() => freshTokens(database.db, vault, settings, integration!, connection, disconnectOnRefreshFailure));
    expect(result).toMatchObject({ ok: true, refreshed: true });
    expect(statements.length).toBeLessThanOrEqual(9);
    // Nothing is locked before the provider answers: the only FOR UPDATE is none on the success path.
    expect(statements.filter((statement) => /for update/i.test(statement))).toEqual([]);
    console.log(`statements per refresh: ${statements.length}\n${statements.map((statement) => statement.slice(0, 120)).join('\n')}`);
    expect(await database.db.select().from(tokenRefreshes).where(and(eq(tokenRefreshes.connectionId, id), eq(tokenRefreshes.outcome, 'SUCCEEDED')))).toHaveLength(1);
  }, 30_000);
});
