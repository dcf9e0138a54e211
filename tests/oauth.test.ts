import { and, eq, inArray, sql } from 'drizzle-orm';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import type { Database } from '../server/db/client.js';
import { connectionEvents, connections, credentials, dataSources, grantRevocations, oauthApps, oauthAttempts } from '../server/db/schema.js';
import { readCredentials, storeCredentials } from '../server/domain/credentials.js';
import type { OAuthTokens } from '../server/domain/oauth2.js';
import { expireAbandonedConnections } from '../server/domain/abandoned.js';
import { parseGlobalId } from '../server/domain/global-ids.js';
import { grantRevocationOutbox } from '../server/jobs/grant-revocations.js';
import { drainOutbox } from '../server/jobs/outbox.js';
import { createLog } from '../server/log.js';
import { describeEachDatabase } from './support/db.js';
import { until } from './support/wait.js';
import { tenant, type Tenant, testVault } from './support/fixtures.js';
import { startOAuth1Server } from './support/oauth1-server.js';
import { graphqlData } from './support/graphql-http.js';
import { MACHINE_CLIENT, type OAuthServer, registerOAuthIntegration, startOAuthServer } from './support/oauth-server.js';

const RETURN_TO = 'http://app.example.test/connections';

describeEachDatabase('OAuth 2.0 connections against a real authorization server', (db) => {
  let app: App;
  let url: string;
  let provider: OAuthServer;
  let a: Tenant;
  const logLines: string[] = [];

  beforeAll(async () => {
    a = await tenant(db(), 'oauth');
    app = createApp({ db: db(), vault: testVault, log: createLog('debug', (line) => logLines.push(line)), returnOrigins: ['http://app.example.test'] });
    url = await app.start(0);
    provider = await startOAuthServer(`${url}/oauth/callback`);
    expect(await registerOAuthIntegration(url, a.admin.token, provider)).toEqual({
      callbackUrl: `${url}/oauth/callback`,
      endpoints: { authorizeUrl: `${provider.issuer}/auth`, revokeUrl: `${provider.issuer}/token/revocation`, verifyUrl: `${provider.issuer}/me` },
      oauthClientId: provider.clientId,
    });
  });
  afterAll(async () => {
    await provider?.close();
    await app?.stop();
  });

  const gql = (query: string, variables: Record<string, unknown>, token: string) => graphqlData(url, token, query, variables);

  const START = `mutation($input: StartConnectionInput!) { startConnection(input: $input) { __typename ... on Error { message } ... on StartConnectionSuccess { result { authorizationUrl connection { id status } } } } }`;
  const TEST = `mutation($id: ID!) { testConnection(input: { id: $id }) { __typename ... on TestConnectionSuccess { result { ok transientMessage connection { status problem { reason } } } } } }`;

  async function start(token = a.member.token) {
    const data = await gql(START, { input: { integration: 'test-oidc', name: 'My OIDC', returnTo: RETURN_TO } }, token);
    return data.startConnection.result as { authorizationUrl: string; connection: { id: string; status: string } };
  }

  const callback = (to: string) => fetch(to, { redirect: 'manual' });
  const tokensOf = async (gid: string) => (await readCredentials<OAuthTokens>(db(), testVault, parseGlobalId(gid, 'Connection')))!;
  const rowOf = async (gid: string) => (await db().select().from(connections).where(eq(connections.id, parseGlobalId(gid, 'Connection'))))[0];

  it('connects: PKCE and a one-time state, code exchanged at the exact redirect URI, tokens sealed, ACTIVE, back to the allowed return URL', async () => {
    const started = await start();
    expect(started.connection.status).toBe('PENDING');
    const authorization = new URL(started.authorizationUrl);
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('redirect_uri')).toBe(`${url}/oauth/callback`);
    expect(authorization.searchParams.get('state')).toMatch(/^[\w-]{40,}$/);
    expect(authorization.searchParams.get('nonce')).toBeTruthy();
    const back = await provider.authorize(started.authorizationUrl);
    expect(new URL(back).searchParams.get('iss')).toBe(provider.issuer);
    const response = await callback(back);
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(RETURN_TO);
    expect(Object.fromEntries(location.searchParams)).toEqual({ connection: started.connection.id, status: 'ACTIVE' });
    const row = await rowOf(started.connection.id);
    expect(row.status).toBe('ACTIVE');
    expect(row.accessTokenExpiresAt).toBeTruthy();
    const tokens = await tokensOf(started.connection.id);
    expect(tokens.refreshToken).toBeTruthy();
    const [sealed] = await db().select().from(credentials).where(eq(credentials.connectionId, row.id));
    expect(sealed.ciphertext.toString('latin1')).not.toContain(tokens.accessToken);
    // Replaying the same callback is refused and changes nothing.
    const replay = await callback(back);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('already used');
    expect(replay.headers.get('location')).toBeNull();
    expect((await rowOf(started.connection.id)).updatedAt).toBe(row.updatedAt);
    for (const text of [tokens.accessToken, tokens.refreshToken!]) expect(logLines.join('\n')).not.toContain(text);
  });

  it('refuses missing, forged and expired states without redirecting anywhere', async () => {
    const missing = await callback(`${url}/oauth/callback?code=abc`);
    expect(missing.status).toBe(400);
    const forged = await callback(`${url}/oauth/callback?code=abc&state=forged-state-value`);
    expect(forged.status).toBe(400);
    expect(forged.headers.get('location')).toBeNull();
    const started = await start();
    await db()
      .update(oauthAttempts)
      .set({ expiresAt: new Date(Date.now() - 1000).toISOString() })
      .where(eq(oauthAttempts.connectionId, parseGlobalId(started.connection.id, 'Connection')));
    const back = await provider.authorize(started.authorizationUrl);
    const expired = await callback(back);
    expect(expired.status).toBe(400);
    expect((await rowOf(started.connection.id)).status).toBe('PENDING');
  });

  it('refuses a return URL off the allowlist (no open redirect)', async () => {
    const data = await gql(START, { input: { integration: 'test-oidc', name: 'x', returnTo: 'https://evil.example/steal' } }, a.member.token);
    expect(data.startConnection).toMatchObject({ __typename: 'ValidationError' });
  });

  it('refreshes an expired access token with rotation; revocation at the provider then disconnects with INVALID_REFRESH_TOKEN; reauthentication restores the same connection and its data sources', async () => {
    const started = await start();
    await callback(await provider.authorize(started.authorizationUrl));
    const gid = started.connection.id;
    const id = parseGlobalId(gid, 'Connection');
    await db().insert(dataSources).values({ accountId: a.account.id, connectionId: id, resourceId: 'r', name: 'Profile', schedule: '0 * * * *' });

    // Make the stored access token look expired: the next test must refresh first.
    const original = await tokensOf(gid);
    await storeCredentials(db(), testVault, { id, accountId: a.account.id }, { ...original, expiresAt: new Date(Date.now() - 1000).toISOString() });
    const refreshesBefore = provider.tokenRequests.filter((grant) => grant === 'refresh_token').length;
    const counted = async (outcome: string) => {
      const line = (await (await fetch(`${url}/metrics`)).text()).split('\n').find((entry) => entry.startsWith(`patchbay_token_refreshes_total{outcome="${outcome}"}`));
      return Number(line?.split(' ').pop());
    };
    const [succeededBefore, failedBefore] = [await counted('SUCCEEDED'), await counted('FAILED')];
    const refreshed = await gql(TEST, { id: gid }, a.member.token);
    expect(refreshed.testConnection.result).toMatchObject({ ok: true, connection: { status: 'ACTIVE' } });
    expect(provider.tokenRequests.filter((grant) => grant === 'refresh_token').length).toBe(refreshesBefore + 1);
    const rotated = await tokensOf(gid);
    expect(rotated.refreshToken).toBeTruthy();
    expect(rotated.refreshToken).not.toBe(original.refreshToken);
    expect(rotated.accessToken).not.toBe(original.accessToken);

    // The user removes the app's access at the service.
    await provider.revoke(rotated.refreshToken!);
    await storeCredentials(db(), testVault, { id, accountId: a.account.id }, { ...rotated, expiresAt: new Date(Date.now() - 1000).toISOString() });
    const broken = await gql(TEST, { id: gid }, a.member.token);
    expect(broken.testConnection.result).toMatchObject({ ok: false, connection: { status: 'DISCONNECTED', problem: { reason: 'INVALID_REFRESH_TOKEN' } } });
    expect((await db().select().from(dataSources).where(eq(dataSources.connectionId, id)))[0].status).toBe('BROKEN');
    // /metrics counted both provider refreshes by how they ended.
    expect([await counted('SUCCEEDED'), await counted('FAILED')]).toEqual([succeededBefore + 1, failedBefore + 1]);

    const reauth = await gql(
      `mutation($id: ID!) { reauthenticateConnection(input: { id: $id, returnTo: "${RETURN_TO}" }) { __typename ... on ReauthenticateConnectionSuccess { result { authorizationUrl connection { id } } } } }`,
      { id: gid },
      a.member.token,
    );
    const result = reauth.reauthenticateConnection.result;
    expect(result.connection.id).toBe(gid);
    const response = await callback(await provider.authorize(result.authorizationUrl));
    expect(new URL(response.headers.get('location')!).searchParams.get('status')).toBe('ACTIVE');
    expect((await rowOf(gid)).status).toBe('ACTIVE');
    expect((await db().select().from(dataSources).where(eq(dataSources.connectionId, id)))[0].status).toBe('ACTIVE');
    const history = await db().select().from(connectionEvents).where(eq(connectionEvents.connectionId, id)).orderBy(connectionEvents.seq);
    expect(history.map((event) => `${event.fromStatus}->${event.toStatus}`)).toEqual([
      'null->PENDING',
      'PENDING->ACTIVE',
      'ACTIVE->DISCONNECTED',
      'DISCONNECTED->ACTIVE',
    ]);
  });

  it('revoking revokes the tokens at the provider (RFC 7009) and wipes them here', async () => {
    const started = await start();
    await callback(await provider.authorize(started.authorizationUrl));
    const tokens = await tokensOf(started.connection.id);
    const data = await gql(
      `mutation($id: ID!) { revokeConnection(input: { id: $id }) { ... on RevokeConnectionSuccess { result { providerRevoked providerMessage connection { status } } } } }`,
      { id: started.connection.id },
      a.member.token,
    );
    expect(data.revokeConnection.result).toMatchObject({ providerRevoked: true, connection: { status: 'REVOKED' } });
    expect(await readCredentials(db(), testVault, parseGlobalId(started.connection.id, 'Connection'))).toBeUndefined();
    const introspection = await fetch(`${provider.issuer}/token/introspection`, {
      method: 'POST',
      body: new URLSearchParams({ token: tokens.refreshToken!, client_id: provider.clientId, client_secret: provider.clientSecret }),
    });
    expect(((await introspection.json()) as { active: boolean }).active).toBe(false);
  });

  /** Registers a ONE_PER_RESOURCE integration on the provider (discovery, or explicit endpoints) and configures its client. */
  async function registerOnePerResource(key: string, endpoints: Record<string, string>) {
    const registered = await gql(
      `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename ... on Error { message } } }`,
      { input: { key, name: `One per company ${key}`, authMethod: 'OAUTH2', connectionPolicy: 'ONE_PER_RESOURCE', scopes: ['openid', 'email', 'offline_access'], ...endpoints } },
      a.admin.token,
    );
    expect(registered.registerIntegration).toEqual({ __typename: 'RegisterIntegrationSuccess' });
    const configured = await gql(
      `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename } }`,
      { input: { integration: key, clientId: provider.clientId, clientSecret: provider.clientSecret } },
      a.admin.token,
    );
    expect(configured.configureIntegration.__typename).toBe('ConfigureIntegrationSuccess');
  }

  /** Connects `integration` to resource `company-1` through the provider; the connection's global id. */
  async function connectCompany(integration: string, name: string) {
    const data = await gql(START, { input: { integration, name, resourceId: 'company-1', returnTo: RETURN_TO } }, a.member.token);
    const started = data.startConnection.result as { authorizationUrl: string; connection: { id: string } };
    const response = await callback(await provider.authorize(started.authorizationUrl));
    expect(new URL(response.headers.get('location')!).searchParams.get('status')).toBe('ACTIVE');
    return started.connection.id;
  }

  const introspect = async (token: string) => {
    const response = await fetch(`${provider.issuer}/token/introspection`, {
      method: 'POST',
      body: new URLSearchParams({ token, client_id: provider.clientId, client_secret: provider.clientSecret }),
    });
    return ((await response.json()) as { active: boolean }).active;
  };

  /** A refresh at the provider itself with `refreshToken`: its HTTP status and error code. */
  const refreshAtProvider = async (refreshToken: string) => {
    const response = await fetch(`${provider.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: provider.clientId, client_secret: provider.clientSecret }),
    });
    return { status: response.status, error: ((await response.json()) as { error?: string }).error };
  };

  it('ONE_PER_RESOURCE: the superseded connection\'s grant is revoked at the provider (RFC 7009) after commit; the new one keeps working', async () => {
    await registerOnePerResource('test-oidc-one', { issuerUrl: provider.issuer });
    const oldGid = await connectCompany('test-oidc-one', 'Company 1 (old)');
    const oldTokens = await tokensOf(oldGid);
    expect(await introspect(oldTokens.refreshToken!)).toBe(true);

    const newGid = await connectCompany('test-oidc-one', 'Company 1 (new)');
    expect(await rowOf(oldGid)).toMatchObject({ status: 'DISCONNECTED', disconnectReason: 'SUPERSEDED' });
    expect((await rowOf(newGid)).status).toBe('ACTIVE');
    // Revoked after the redirect was sent: wait for the log line that records it.
    await until(() => logLines.some((line) => line.includes('superseded grant revoked at the provider') && line.includes(oldGid)), 'the revocation');
    expect(await introspect(oldTokens.refreshToken!)).toBe(false);
    expect(await introspect(oldTokens.accessToken)).toBe(false);
    expect(await refreshAtProvider(oldTokens.refreshToken!)).toEqual({ status: 400, error: 'invalid_grant' });

    // The new grant is untouched: active at the provider, and the gateway refreshes it.
    const newTokens = await tokensOf(newGid);
    expect(await introspect(newTokens.refreshToken!)).toBe(true);
    const newId = parseGlobalId(newGid, 'Connection');
    await storeCredentials(db(), testVault, { id: newId, accountId: a.account.id }, { ...newTokens, expiresAt: new Date(Date.now() - 1000).toISOString() });
    const tested = await gql(TEST, { id: newGid }, a.member.token);
    expect(tested.testConnection.result).toMatchObject({ ok: true, connection: { status: 'ACTIVE' } });
    expect((await tokensOf(newGid)).refreshToken).not.toBe(newTokens.refreshToken);
    for (const text of [oldTokens.accessToken, oldTokens.refreshToken!, newTokens.refreshToken!]) expect(logLines.join('\n')).not.toContain(text);
  });

  it('ONE_PER_RESOURCE: a revocation endpoint that fails loses nothing: the new connection is ACTIVE, the failure is logged, and the outbox worker retries the revocation (the superseded tokens kept sealed) until the provider confirms', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await registerOnePerResource('test-oidc-dead-revoke', {
      authorizeUrl: `${provider.issuer}/auth`,
      tokenUrl: `${provider.issuer}/token`,
      revokeUrl: `http://127.0.0.1:${deadPort}/revoke`,
      verifyUrl: `${provider.issuer}/me`,
    });
    const oldGid = await connectCompany('test-oidc-dead-revoke', 'Company 1 (old, dead revoke)');
    const oldTokens = await tokensOf(oldGid);
    const newGid = await connectCompany('test-oidc-dead-revoke', 'Company 1 (new, dead revoke)');
    await until(() => logLines.some((line) => line.includes('superseded grant not revoked at the provider') && line.includes(oldGid)), 'the failed revocation');
    expect(await rowOf(oldGid)).toMatchObject({ status: 'DISCONNECTED', disconnectReason: 'SUPERSEDED' });
    expect((await rowOf(newGid)).status).toBe('ACTIVE');
    expect(await introspect((await tokensOf(newGid)).refreshToken!)).toBe(true);
    // Nothing revoked it yet: the old grant is still live at the provider, and the revocation is owed.
    expect(await introspect(oldTokens.refreshToken!)).toBe(true);
    const oldId = parseGlobalId(oldGid, 'Connection');
    const owed = () => db().select().from(grantRevocations).where(eq(grantRevocations.connectionId, oldId));
    const [pending] = await owed();
    expect(pending).toMatchObject({ status: 'PENDING', attempts: 1, integrationKey: 'test-oidc-dead-revoke' });
    expect(pending.lastError).toMatch(/did not confirm/);
    expect(pending.ciphertext.toString('latin1')).not.toContain(oldTokens.refreshToken!);
    const worker = grantRevocationOutbox({ vault: testVault, settings: { callbackUrl: `${url}/oauth/callback`, returnOrigins: [] } });
    // Still down when the worker's turn comes: retried later, nothing lost.
    await db().update(grantRevocations).set({ nextAttemptAt: new Date(Date.now() - 1000).toISOString() }).where(eq(grantRevocations.id, pending.id));
    expect(await drainOutbox(db(), worker, { accountId: a.account.id })).toMatchObject({ delivered: 0, retried: 1, failed: 0 });
    expect((await owed())[0]).toMatchObject({ status: 'PENDING', attempts: 2 });
    // The endpoint comes back (the same address, now answering as the provider's revocation endpoint).
    const revived = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const answer = await fetch(`${provider.issuer}/token/revocation`, { method: 'POST', headers: { 'content-type': String(req.headers['content-type']) }, body: Buffer.concat(chunks) });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
    await new Promise<void>((resolve) => revived.listen(deadPort, '127.0.0.1', resolve));
    try {
      await db().update(grantRevocations).set({ nextAttemptAt: new Date(Date.now() - 1000).toISOString() }).where(eq(grantRevocations.id, pending.id));
      expect(await drainOutbox(db(), worker, { accountId: a.account.id })).toMatchObject({ delivered: 1, retried: 0, failed: 0 });
    } finally {
      await new Promise((resolve) => revived.close(resolve));
    }
    expect((await owed())[0]).toMatchObject({ status: 'SENT', attempts: 3, lastError: null });
    expect(await introspect(oldTokens.refreshToken!)).toBe(false);
    expect(await introspect((await tokensOf(newGid)).refreshToken!)).toBe(true);
  });

  it('OAUTH2_CLIENT_CREDENTIALS: the app-only token grant proves the client id and secret before anything is stored', async () => {
    await gql(
      `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename } }`,
      { input: { key: 'test-machine', name: 'Test machine API', authMethod: 'OAUTH2_CLIENT_CREDENTIALS', issuerUrl: provider.issuer } },
      a.admin.token,
    );
    const startMachine = `mutation($input: StartConnectionInput!) { startConnection(input: $input) { __typename ... on CredentialsRejectedError { reason } ... on StartConnectionSuccess { result { authorizationUrl connection { id status } } } } }`;
    const wrong = await gql(startMachine, { input: { integration: 'test-machine', name: 'M', credentials: { clientId: MACHINE_CLIENT.id, clientSecret: 'wrong' } } }, a.member.token);
    expect(wrong.startConnection).toEqual({ __typename: 'CredentialsRejectedError', reason: 'INVALID_CREDENTIALS' });
    const ok = await gql(startMachine, { input: { integration: 'test-machine', name: 'M', credentials: { clientId: MACHINE_CLIENT.id, clientSecret: MACHINE_CLIENT.secret } } }, a.member.token);
    expect(ok.startConnection.result).toMatchObject({ authorizationUrl: null, connection: { status: 'ACTIVE' } });
    expect(await readCredentials(db(), testVault, parseGlobalId(ok.startConnection.result.connection.id, 'Connection'))).toEqual({
      clientId: MACHINE_CLIENT.id,
      clientSecret: MACHINE_CLIENT.secret,
    });
    expect(provider.tokenRequests).toContain('client_credentials');
    const token = await gql(
      `mutation($id: ID!) { connectionAccessToken(input: { connectionId: $id }) { __typename ... on ConnectionAccessTokenSuccess { result { accessToken expiresAt } } } }`,
      { id: ok.startConnection.result.connection.id },
      a.service.token,
    );
    expect(token.connectionAccessToken.result.accessToken).toBeTruthy();
    expect(Date.parse(token.connectionAccessToken.result.expiresAt)).toBeGreaterThan(Date.now());
  });

  it('OAuth 1.0a: request token, user authorization, signed access-token exchange, signed tests; a revoked token disconnects', async () => {
    const service = await startOAuth1Server();
    try {
      const registered = await gql(
        `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename ... on Error { message } } }`,
        {
          input: {
            key: 'test-oauth1',
            name: 'Test OAuth 1.0a',
            authMethod: 'OAUTH1',
            requestTokenUrl: `${service.url}/oauth/request_token`,
            authorizeUrl: `${service.url}/oauth/authorize`,
            tokenUrl: `${service.url}/oauth/access_token`,
            verifyUrl: `${service.url}/1/members/me`,
          },
        },
        a.admin.token,
      );
      expect(registered.registerIntegration.__typename).toBe('RegisterIntegrationSuccess');
      await gql(
        `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename } }`,
        { input: { integration: 'test-oauth1', clientId: service.consumer.key, clientSecret: service.consumer.secret } },
        a.admin.token,
      );
      const started = await gql(START, { input: { integration: 'test-oauth1', name: 'Boards', returnTo: RETURN_TO } }, a.member.token);
      const { authorizationUrl, connection } = started.startConnection.result;
      expect(new URL(authorizationUrl).searchParams.get('oauth_token')).toBeTruthy();
      const back = await service.authorize(authorizationUrl);
      const response = await callback(back);
      expect(new URL(response.headers.get('location')!).searchParams.get('status')).toBe('ACTIVE');
      const tokens = await readCredentials<{ accessToken: string; tokenSecret: string }>(db(), testVault, parseGlobalId(connection.id, 'Connection'));
      expect(service.accessTokens.get(tokens!.accessToken)).toBe(tokens!.tokenSecret);
      expect((await callback(back)).status).toBe(400);
      const ok = await gql(TEST, { id: connection.id }, a.member.token);
      expect(ok.testConnection.result).toMatchObject({ ok: true, connection: { status: 'ACTIVE' } });
      service.accessTokens.delete(tokens!.accessToken);
      const broken = await gql(TEST, { id: connection.id }, a.member.token);
      expect(broken.testConnection.result).toMatchObject({ ok: false, connection: { status: 'DISCONNECTED', problem: { reason: 'INVALID_CREDENTIALS' } } });
    } finally {
      await service.close();
    }
  });

  it('a sign-in cancelled at the service or never finished leaves no PENDING connection once its attempt is over', async () => {
    const cancelled = await start();
    const state = new URL(cancelled.authorizationUrl).searchParams.get('state')!;
    const refused = await callback(`${url}/oauth/callback?error=access_denied&state=${encodeURIComponent(state)}`);
    expect(refused.status).toBeLessThan(500);
    const abandoned = await start();
    const inProgress = await start();
    const withSource = await start();
    const ids = [cancelled, abandoned, inProgress, withSource].map((started) => parseGlobalId(started.connection.id, 'Connection'));
    await db().insert(dataSources).values({ accountId: a.account.id, connectionId: ids[3], resourceId: 'r', name: 'Kept', schedule: '0 6 * * *' });
    expect((await rowOf(cancelled.connection.id)).status).toBe('PENDING');

    // Just now: the cancelled attempt was used a moment ago, the others are open. Nothing goes.
    expect(await expireAbandonedConnections(db(), { accountId: a.account.id })).toEqual([]);

    // Eleven minutes later (the rows are moved back, not the clock): the attempt lifetime is over
    // for all but one, which was started again (a fresh attempt).
    const earlier = sql`now() - interval '11 minutes'`;
    await db().update(connections).set({ createdAt: earlier }).where(inArray(connections.id, ids));
    await db().update(oauthAttempts).set({ createdAt: earlier, expiresAt: sql`now() - interval '1 minute'` }).where(inArray(oauthAttempts.connectionId, ids));
    await db().update(oauthAttempts).set({ usedAt: earlier }).where(eq(oauthAttempts.connectionId, ids[0]));
    await db().update(oauthAttempts).set({ expiresAt: sql`now() + interval '9 minutes'` }).where(eq(oauthAttempts.connectionId, ids[2]));

    expect((await expireAbandonedConnections(db(), { accountId: a.account.id })).sort()).toEqual([ids[0], ids[1]].sort());
    const left = await db().select({ id: connections.id, status: connections.status }).from(connections).where(inArray(connections.id, ids));
    expect(left.map((row) => row.id).sort()).toEqual([ids[2], ids[3]].sort());
    // Each went with a DELETED event by the system, as a person's deletion leaves one.
    const tombstones = await db().select().from(connectionEvents).where(and(inArray(connectionEvents.connectionId, ids), eq(connectionEvents.kind, 'DELETED')));
    expect(tombstones.map((event) => [event.connectionId, event.actorKind, event.message]).sort()).toEqual(
      [ids[0], ids[1]].sort().map((id) => [id, 'SYSTEM', 'The sign-in was never finished']),
    );
    // Nothing is left of the expired ones' attempts either; the ACTIVE connections are untouched.
    expect(await db().select().from(oauthAttempts).where(inArray(oauthAttempts.connectionId, [ids[0], ids[1]]))).toEqual([]);
    expect((await rowOf(a.connections.shared.gid)).status).toBe('ACTIVE');
    // A PENDING row no sign-in started (seeded, like the demo's) is not an abandoned attempt.
    const [seeded] = await db().insert(connections).values({ accountId: a.account.id, ownerId: a.member.user.id, integrationKey: 'hubspot', status: 'PENDING', name: 'Seeded', createdAt: earlier }).returning();
    expect(await expireAbandonedConnections(db(), { accountId: a.account.id })).toEqual([]);
    await db().delete(connections).where(eq(connections.id, seeded.id));
    // The suite's other tests share this account: the kept data source goes.
    await db().delete(dataSources).where(eq(dataSources.connectionId, ids[3]));
  });

  it("the account's app sets the scopes a sign-in requests; its secret is kept when left out and required for a new app; bad scopes change nothing", async () => {
    const key = 'test-oidc-scoped';
    const CONFIGURE = `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename ... on ValidationError { field } ... on ConfigureIntegrationSuccess { integration { scopes defaultScopes oauthAppScopesCustomized oauthAppConfigured oauthClientId } } } }`;
    const configure = async (input: Record<string, unknown>) => (await gql(CONFIGURE, { input: { integration: key, clientId: provider.clientId, ...input } }, a.admin.token)).configureIntegration;
    const appRow = async () => (await db().select().from(oauthApps).where(eq(oauthApps.integrationKey, key)))[0];
    const registered = await gql(
      `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename } }`,
      { input: { key, name: 'Scoped OIDC', authMethod: 'OAUTH2', issuerUrl: provider.issuer, scopes: ['openid', 'email', 'offline_access'] } },
      a.admin.token,
    );
    expect(registered.registerIntegration.__typename).toBe('RegisterIntegrationSuccess');

    // A new app needs its secret: refused, and nothing is stored.
    expect(await configure({ scopes: ['openid'] })).toEqual({ __typename: 'ValidationError', field: 'clientSecret' });
    expect(await appRow()).toBeUndefined();

    // Without offline_access the provider grants no refresh token: the requested scopes reached it.
    expect(await configure({ clientSecret: provider.clientSecret, scopes: ['openid'] })).toEqual({
      __typename: 'ConfigureIntegrationSuccess',
      integration: { scopes: ['openid'], defaultScopes: ['openid', 'email', 'offline_access'], oauthAppScopesCustomized: true, oauthAppConfigured: true, oauthClientId: provider.clientId },
    });
    const sealed = await appRow();
    expect(sealed.scopes).toEqual(['openid']);
    const data = await gql(START, { input: { integration: key, name: 'Scoped', returnTo: RETURN_TO } }, a.member.token);
    const started = data.startConnection.result as { authorizationUrl: string; connection: { id: string } };
    expect(new URL(started.authorizationUrl).searchParams.get('scope')).toBe('openid');
    expect(new URL((await callback(await provider.authorize(started.authorizationUrl))).headers.get('location')!).searchParams.get('status')).toBe('ACTIVE');
    const narrow = await tokensOf(started.connection.id);
    expect([narrow.scope, narrow.refreshToken]).toEqual(['openid', undefined]);

    // Bad scopes are refused naming `scopes` (control characters already at the edge: `input.scopes.<index>`), and the app is left exactly as it was.
    const refused = { __typename: 'ValidationError', field: expect.stringMatching(/^(input\.)?scopes(\.\d+)?$/) };
    for (const scopes of [[], ['openid email'], ['tab\tscope'], ['nul\u0000'], ['bell\u0007'], [''], ['x'.repeat(201)], Array.from({ length: 51 }, (_, i) => `s${i}`)]) {
      expect(await configure({ scopes })).toEqual(refused);
      expect(await configure({ clientSecret: 'another-secret', scopes })).toEqual(refused);
    }
    expect(await appRow()).toEqual(sealed);

    // Left out, the secret is kept (the same ciphertext), and the code exchange still authenticates with it.
    expect(await configure({ scopes: ['openid', 'offline_access', 'openid'] })).toMatchObject({ integration: { scopes: ['openid', 'offline_access'], oauthAppScopesCustomized: true } });
    const kept = await appRow();
    expect({ keyId: kept.keyId, ciphertext: kept.ciphertext }).toEqual({ keyId: sealed.keyId, ciphertext: sealed.ciphertext });
    const again = await gql(
      `mutation($id: ID!) { reauthenticateConnection(input: { id: $id, returnTo: "${RETURN_TO}" }) { ... on ReauthenticateConnectionSuccess { result { authorizationUrl } } } }`,
      { id: started.connection.id },
      a.member.token,
    );
    const reauthorization = again.reauthenticateConnection.result.authorizationUrl as string;
    expect(new URL(reauthorization).searchParams.get('scope')).toBe('openid offline_access');
    expect(new URL((await callback(await provider.authorize(reauthorization))).headers.get('location')!).searchParams.get('status')).toBe('ACTIVE');
    expect((await tokensOf(started.connection.id)).refreshToken).toBeTruthy();

    // Without scopes the app goes back to the integration's defaults.
    expect(await configure({})).toMatchObject({ integration: { scopes: ['openid', 'email', 'offline_access'], oauthAppScopesCustomized: false, oauthAppConfigured: true } });
    expect((await appRow()).scopes).toBeNull();
    const defaults = await gql(START, { input: { integration: key, name: 'Scoped (defaults)', returnTo: RETURN_TO } }, a.member.token);
    expect(new URL(defaults.startConnection.result.authorizationUrl).searchParams.get('scope')).toBe('openid email offline_access');
    await db().delete(connections).where(inArray(connections.id, [started.connection.id, defaults.startConnection.result.connection.id].map((gid) => parseGlobalId(gid, 'Connection'))));
  });
});
