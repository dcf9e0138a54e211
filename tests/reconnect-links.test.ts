import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { connectionEvents, connections, dataSources, reconnectLinks } from '../server/db/schema.js';
import { parseGlobalId } from '../server/domain/global-ids.js';
import { createLog } from '../server/log.js';
import { describeEachDatabase } from './support/db.js';
import { tenant, type Tenant, testVault } from './support/fixtures.js';
import { graphqlData } from './support/graphql-http.js';
import { type OAuthServer, registerOAuthIntegration, startOAuthServer } from './support/oauth-server.js';
import { startStubService, type StubService } from './support/stub-service.js';

describeEachDatabase('reconnect links: one-time, expiring, for the connection’s owner only', (db) => {
  let app: App;
  let url: string;
  let provider: OAuthServer;
  let a: Tenant;
  let stub: StubService;
  const logLines: string[] = [];

  beforeAll(async () => {
    a = await tenant(db(), 'relink');
    app = createApp({ db: db(), vault: testVault, log: createLog('debug', (line) => logLines.push(line)) });
    url = await app.start(0);
    provider = await startOAuthServer(`${url}/oauth/callback`);
    await registerOAuthIntegration(url, a.admin.token, provider);
    stub = await startStubService();
    stub.validKeys = new Set(['sk_relink_good_key']);
    await gql(
      `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename } }`,
      { input: { key: 'stub-metrics', name: 'Stub Metrics', authMethod: 'API_KEY', verifyUrl: `${stub.url}/me`, apiKeyHeader: 'X-Api-Key' } },
      a.admin.token,
    );
  });
  afterAll(async () => {
    await stub?.close();
    await provider?.close();
    await app?.stop();
  });

  const gql = (query: string, variables: Record<string, unknown>, token: string) => graphqlData(url, token, query, variables);

  const START = `mutation($input: StartConnectionInput!) { startConnection(input: $input) { __typename ... on StartConnectionSuccess { result { authorizationUrl connection { id } } } } }`;
  const REPORT = `mutation($id: ID!) { reportConnectionError(input: { id: $id, reason: INVALID_REFRESH_TOKEN, message: "grant revoked" }) { __typename } }`;
  const CREATE = `mutation($input: CreateReconnectLinkInput!) { createReconnectLink(input: $input) { __typename ... on Error { message } ... on ValidationError { field }
    ... on CreateReconnectLinkSuccess { result { url link { id state expiresAt createdBy { name } } } } } }`;
  const OPEN = `query($token: String!) { reconnectLink(token: $token) { id state createdBy { name } usedAt connection { id name status } } }`;
  const REDEEM = `mutation($input: RedeemReconnectLinkInput!) { redeemReconnectLink(input: $input) { __typename ... on Error { message }
    ... on RedeemReconnectLinkSuccess { result { authorizationUrl connection { id } } } } }`;
  const PENDING = `query($id: ID!) { node(id: $id) { ... on Connection { status reconnectLinks { id state createdBy { name } } } } }`;
  const REVOKE = `mutation($id: ID!) { revokeReconnectLink(input: { id: $id }) { __typename ... on RevokeReconnectLinkSuccess { link { state revokedAt } } } }`;

  /** The member's OAuth connection, signed in, with a data source, then broken by a worker's report. */
  async function brokenConnection(name: string) {
    const started = (await gql(START, { input: { integration: 'test-oidc', name } }, a.member.token)).startConnection.result;
    await fetch(await provider.authorize(started.authorizationUrl), { redirect: 'manual' });
    const id = started.connection.id as string;
    const [source] = await db()
      .insert(dataSources)
      .values({ accountId: a.account.id, connectionId: parseGlobalId(id, 'Connection'), resourceId: 'me', name: `${name} profile`, schedule: '0 * * * *' })
      .returning();
    await gql(REPORT, { id }, a.member.token);
    return { id, sourceId: source.id };
  }

  async function linkFor(connectionId: string, token = a.admin.token, expiresIn?: number) {
    const created = (await gql(CREATE, { input: { connectionId, expiresIn } }, token)).createReconnectLink;
    expect(created.__typename).toBe('CreateReconnectLinkSuccess');
    const link = new URL(created.result.url);
    return { ...created.result.link, token: link.hash.slice(1), url: link };
  }

  it('an admin asks, the owner opens the link, signs in at the service, and the same connection is ACTIVE with its data sources; the link then refuses a second use', async () => {
    const broken = await brokenConnection('Relinked OIDC');
    const link = await linkFor(broken.id);
    expect(link.url.origin + link.url.pathname).toBe(`${url}/reconnect`);
    expect(link).toMatchObject({ state: 'PENDING', createdBy: { name: a.admin.user.name } });
    expect(Date.parse(link.expiresAt) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    // Stored only as its hash.
    const rows = await db().select().from(reconnectLinks).where(eq(reconnectLinks.connectionId, parseGlobalId(broken.id, 'Connection')));
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(link.token);
    // The admin sees it pending on the connection (who asked); the owner too.
    for (const token of [a.admin.token, a.member.token]) {
      const pending = (await gql(PENDING, { id: broken.id }, token)).node;
      expect(pending.reconnectLinks).toEqual([{ id: link.id, state: 'PENDING', createdBy: { name: a.admin.user.name } }]);
    }
    // Another member may not see the (private) connection's links.
    expect((await gql(PENDING, { id: broken.id }, a.member2.token)).node).toBeNull();

    const opened = (await gql(OPEN, { token: link.token }, a.member.token)).reconnectLink;
    expect(opened).toMatchObject({ state: 'PENDING', createdBy: { name: a.admin.user.name }, connection: { id: broken.id, name: 'Relinked OIDC', status: 'DISCONNECTED' } });

    const redeemed = (await gql(REDEEM, { input: { token: link.token } }, a.member.token)).redeemReconnectLink;
    expect(redeemed.__typename).toBe('RedeemReconnectLinkSuccess');
    expect(redeemed.result.connection.id).toBe(broken.id);
    const back = await fetch(await provider.authorize(redeemed.result.authorizationUrl), { redirect: 'manual' });
    expect(back.status).toBe(200);
    const [row] = await db().select().from(connections).where(eq(connections.id, parseGlobalId(broken.id, 'Connection')));
    expect(row.status).toBe('ACTIVE');
    const [source] = await db().select().from(dataSources).where(eq(dataSources.id, broken.sourceId));
    expect(source).toMatchObject({ connectionId: row.id, status: 'ACTIVE' });

    expect((await gql(OPEN, { token: link.token }, a.member.token)).reconnectLink).toMatchObject({ state: 'USED', usedAt: expect.any(String) });
    const again = (await gql(REDEEM, { input: { token: link.token } }, a.member.token)).redeemReconnectLink;
    expect(again).toMatchObject({ __typename: 'ValidationError', message: expect.stringContaining('already used') });
    expect((await gql(PENDING, { id: broken.id }, a.admin.token)).node.reconnectLinks).toEqual([]);
    expect(logLines.join('\n')).not.toContain(link.token);
  });

  it('is not found for anyone but the owner: the admin who asked, another member, another account, a forged token', async () => {
    const broken = await brokenConnection('Not yours OIDC');
    const link = await linkFor(broken.id);
    const other = await tenant(db(), 'relink-other');
    for (const token of [a.admin.token, a.member2.token, a.owner.token, other.owner.token]) {
      expect((await gql(OPEN, { token: link.token }, token)).reconnectLink).toBeNull();
      const refused = (await gql(REDEEM, { input: { token: link.token } }, token)).redeemReconnectLink;
      expect(refused).toMatchObject({ __typename: 'NotFoundError' });
    }
    const forged = `rl_${'A'.repeat(43)}`;
    expect((await gql(OPEN, { token: forged }, a.member.token)).reconnectLink).toBeNull();
    expect((await gql(REDEEM, { input: { token: forged } }, a.member.token)).redeemReconnectLink).toMatchObject({ __typename: 'NotFoundError' });
    expect((await gql(OPEN, { token: 'garbage' }, a.member.token)).reconnectLink).toBeNull();
    // Nothing was started: the link is still pending for its owner.
    expect((await gql(OPEN, { token: link.token }, a.member.token)).reconnectLink.state).toBe('PENDING');
  });

  it('repairs only its own connection, expires, and refuses once revoked', async () => {
    const first = await brokenConnection('First OIDC');
    const second = await brokenConnection('Second OIDC');
    const link = await linkFor(first.id);
    const redeemed = (await gql(REDEEM, { input: { token: link.token } }, a.member.token)).redeemReconnectLink;
    expect(redeemed.result.connection.id).toBe(first.id);
    expect(new URL(redeemed.result.authorizationUrl).origin).toBe(provider.issuer);

    const expiring = await linkFor(second.id, a.admin.token, 300);
    await db().update(reconnectLinks).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(reconnectLinks.id, parseGlobalId(expiring.id, 'ReconnectLink')));
    expect((await gql(OPEN, { token: expiring.token }, a.member.token)).reconnectLink.state).toBe('EXPIRED');
    expect((await gql(REDEEM, { input: { token: expiring.token } }, a.member.token)).redeemReconnectLink).toMatchObject({
      __typename: 'ValidationError',
      message: expect.stringContaining('expired'),
    });

    const revoked = await linkFor(second.id);
    // Only its owner or an admin may withdraw it; to others it does not exist.
    expect((await gql(REVOKE, { id: revoked.id }, a.member2.token)).revokeReconnectLink.__typename).toBe('NotFoundError');
    expect((await gql(REVOKE, { id: revoked.id }, a.admin.token)).revokeReconnectLink).toMatchObject({ link: { state: 'REVOKED', revokedAt: expect.any(String) } });
    expect((await gql(REDEEM, { input: { token: revoked.token } }, a.member.token)).redeemReconnectLink).toMatchObject({
      __typename: 'ValidationError',
      message: expect.stringContaining('withdrawn'),
    });
    const [row] = await db().select().from(connections).where(eq(connections.id, parseGlobalId(second.id, 'Connection')));
    expect(row.status).toBe('DISCONNECTED');
    // The connection's history says who asked for each link and who withdrew one; a second
    // withdrawal changes nothing and records nothing.
    expect((await gql(REVOKE, { id: revoked.id }, a.admin.token)).revokeReconnectLink).toMatchObject({ link: { state: 'REVOKED' } });
    const events = await db()
      .select({ kind: connectionEvents.kind, actorUserId: connectionEvents.actorUserId })
      .from(connectionEvents)
      .where(and(eq(connectionEvents.connectionId, parseGlobalId(second.id, 'Connection')), inArray(connectionEvents.kind, ['RECONNECT_LINK_CREATED', 'RECONNECT_LINK_REVOKED'])))
      .orderBy(connectionEvents.seq);
    expect(events).toEqual([
      { kind: 'RECONNECT_LINK_CREATED', actorUserId: a.admin.user.id },
      { kind: 'RECONNECT_LINK_CREATED', actorUserId: a.admin.user.id },
      { kind: 'RECONNECT_LINK_REVOKED', actorUserId: a.admin.user.id },
    ]);
  });

  it('is created only by the owner or an admin, for a lifetime within bounds', async () => {
    const broken = await brokenConnection('Bounds OIDC');
    const byOwner = await linkFor(broken.id, a.member.token);
    expect(byOwner.state).toBe('PENDING');
    // Another member may not know the private connection exists.
    expect((await gql(CREATE, { input: { connectionId: broken.id } }, a.member2.token)).createReconnectLink.__typename).toBe('NotFoundError');
    // An editor may see a shared connection but may not ask for its repair.
    expect((await gql(CREATE, { input: { connectionId: a.connections.shared.gid } }, a.editor.token)).createReconnectLink.__typename).toBe('ForbiddenError');
    for (const expiresIn of [10, 31 * 86_400]) {
      expect((await gql(CREATE, { input: { connectionId: broken.id, expiresIn } }, a.admin.token)).createReconnectLink).toMatchObject({
        __typename: 'ValidationError',
        field: 'expiresIn',
      });
    }
  });

  it('repairs an API key connection with new credentials: a rejected key leaves the link pending, a good one uses it', async () => {
    const started = (
      await gql(
        `mutation($input: StartConnectionInput!) { startConnection(input: $input) { __typename ... on StartConnectionSuccess { result { connection { id status } } } } }`,
        { input: { integration: 'stub-metrics', name: 'Relinked metrics', credentials: { apiKey: 'sk_relink_good_key' } } },
        a.member.token,
      )
    ).startConnection.result.connection;
    expect(started.status).toBe('ACTIVE');
    await gql(REPORT, { id: started.id }, a.member.token);
    const link = await linkFor(started.id);

    const refused = (await gql(REDEEM, { input: { token: link.token, credentials: { apiKey: 'sk_wrong' } } }, a.member.token)).redeemReconnectLink;
    expect(refused.__typename).toBe('CredentialsRejectedError');
    expect((await gql(OPEN, { token: link.token }, a.member.token)).reconnectLink.state).toBe('PENDING');

    const redeemed = (await gql(REDEEM, { input: { token: link.token, credentials: { apiKey: 'sk_relink_good_key' } } }, a.member.token)).redeemReconnectLink;
    expect(redeemed).toMatchObject({ __typename: 'RedeemReconnectLinkSuccess', result: { authorizationUrl: null, connection: { id: started.id } } });
    const [row] = await db().select().from(connections).where(eq(connections.id, parseGlobalId(started.id, 'Connection')));
    expect(row.status).toBe('ACTIVE');
    expect((await gql(OPEN, { token: link.token }, a.member.token)).reconnectLink.state).toBe('USED');
    expect((await gql(REDEEM, { input: { token: link.token, credentials: { apiKey: 'sk_relink_good_key' } } }, a.member.token)).redeemReconnectLink).toMatchObject({
      __typename: 'ValidationError',
      message: expect.stringContaining('already used'),
    });
    expect(logLines.join('\n')).not.toContain('sk_relink_good_key');
  });
});
