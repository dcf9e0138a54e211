import { randomBytes } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { type DatabaseHandle, openPostgres } from '../server/db/client.js';
import { accessTokenGrants, tokenRefreshes } from '../server/db/schema.js';
import { readCredentials, storeCredentials } from '../server/domain/credentials.js';
import type { OAuthTokens } from '../server/domain/oauth2.js';
import { Vault } from '../server/domain/vault.js';
import { parseGlobalId } from '../server/domain/global-ids.js';
import { createLog } from '../server/log.js';
import { tenant, type Tenant } from './support/fixtures.js';
import { type OAuthServer, registerOAuthIntegration, startOAuthServer } from './support/oauth-server.js';
import { postGraphql } from './support/graphql-http.js';
import { TEST_ALLOW_PRIVATE_HOSTS } from './support/outbound.js';
import { startScript } from './support/processes.js';

const url = process.env.TEST_DATABASE_URL;
const GATEWAYS = 4;
const CALLS_PER_GATEWAY = 50;

describe.runIf(url)('token refresh across gateway processes on one PostgreSQL', () => {
  const secretKey = `ci:${randomBytes(32).toString('base64')}`;
  const vault = Vault.fromKeyList(secretKey);
  let database: DatabaseHandle;
  let app: App;
  let provider: OAuthServer;
  let a: Tenant;
  let connectionGid: string;
  const gateways: { url: string; stop: () => Promise<number | null> }[] = [];

  const gql = async (base: string, token: string, query: string, variables: Record<string, unknown> = {}) =>
    (await postGraphql(base, token, query, variables)).data;

  beforeAll(async () => {
    database = await openPostgres(url!, { max: 4 });
    a = await tenant(database.db, 'refresh');
    app = createApp({ db: database.db, vault, log: createLog('error') });
    const base = await app.start(0);
    provider = await startOAuthServer(`${base}/oauth/callback`, { accessTokenTtl: 3600 });
    await registerOAuthIntegration(base, a.admin.token, provider);
    const started = await gql(
      base,
      a.owner.token,
      `mutation { startConnection(input: { integration: "test-oidc", name: "Shared OIDC", shared: true }) { ... on StartConnectionSuccess { result { authorizationUrl connection { id } } } } }`,
    );
    connectionGid = started.startConnection.result.connection.id;
    const callback = await fetch(await provider.authorize(started.startConnection.result.authorizationUrl));
    expect(callback.status).toBe(200);
    for (let i = 0; i < GATEWAYS; i++) {
      const gateway = await startScript(
        'server/main.ts',
        // The provider is on loopback: the gateways' outbound guard must allow it, as an operator would.
        { DATABASE_URL: url, PATCHBAY_SECRET_KEY: secretKey, PORT: '0', LOG_LEVEL: 'error', PATCHBAY_SEED_DEMO: 'false', PATCHBAY_ALLOW_PRIVATE_HOSTS: TEST_ALLOW_PRIVATE_HOSTS },
        /GraphQL:\s+\S+/,
      );
      gateways.push({ url: /GraphQL:\s+(\S+)\/graphql/.exec(gateway.stdout())![1], stop: gateway.stop });
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await provider?.close();
    await app?.stop();
    await database?.close();
  });

  it(`${GATEWAYS} gateways x ${CALLS_PER_GATEWAY} simultaneous requests for a due token: one refresh reaches the provider, every caller gets the new valid token`, async () => {
    const id = parseGlobalId(connectionGid, 'Connection');
    const before = (await readCredentials<OAuthTokens>(database.db, vault, id))!;
    // The access token is due: every request below needs a refresh first.
    await storeCredentials(database.db, vault, { id, accountId: a.account.id }, { ...before, expiresAt: new Date(Date.now() - 1000).toISOString() });
    const refreshesBefore = provider.tokenRequests.filter((grant) => grant === 'refresh_token').length;
    const query = `mutation($id: ID!) { connectionAccessToken(input: { connectionId: $id }) { __typename ... on Error { message } ... on ConnectionAccessTokenSuccess { result { accessToken expiresAt } } } }`;
    const results = await Promise.all(
      gateways.flatMap((gateway) =>
        Array.from({ length: CALLS_PER_GATEWAY }, () => gql(gateway.url, a.service.token, query, { id: connectionGid })),
      ),
    );
    const outcomes = results.map((data) => data.connectionAccessToken);
    expect(outcomes.filter((outcome) => outcome.__typename !== 'ConnectionAccessTokenSuccess')).toEqual([]);
    const tokens = new Set(outcomes.map((outcome) => outcome.result.accessToken));
    expect(tokens.size).toBe(1);
    const [token] = tokens;
    expect(token).not.toBe(before.accessToken);
    expect(provider.tokenRequests.filter((grant) => grant === 'refresh_token').length).toBe(refreshesBefore + 1);
    const introspection = await fetch(`${provider.issuer}/token/introspection`, {
      method: 'POST',
      body: new URLSearchParams({ token, client_id: provider.clientId, client_secret: provider.clientSecret }),
    });
    expect(((await introspection.json()) as { active: boolean }).active).toBe(true);
    const attempts = await database.db.select().from(tokenRefreshes).where(eq(tokenRefreshes.connectionId, id));
    expect(attempts).toMatchObject([{ outcome: 'SUCCEEDED' }]);
    expect(attempts[0].finishedAt).toBeTruthy();
    const [{ value: grants }] = await database.db.select({ value: count() }).from(accessTokenGrants).where(eq(accessTokenGrants.connectionId, id));
    expect(grants).toBe(GATEWAYS * CALLS_PER_GATEWAY);
    const after = (await readCredentials<OAuthTokens>(database.db, vault, id))!;
    expect(after.refreshToken).not.toBe(before.refreshToken);
  }, 120_000);

  it('only SERVICE tokens may fetch access tokens', async () => {
    const data = await gql(gateways[0].url, a.owner.token, `mutation($id: ID!) { connectionAccessToken(input: { connectionId: $id }) { __typename } }`, {
      id: connectionGid,
    });
    expect(data.connectionAccessToken.__typename).toBe('ForbiddenError');
  });
});
