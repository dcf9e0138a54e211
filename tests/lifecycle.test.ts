import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../server/db/client.js';
import { connectionEvents, connections, credentials, dataSources, notifications, tokenRefreshes } from '../server/db/schema.js';
import { readCredentials, storeCredentials } from '../server/domain/credentials.js';
import { setServiceTimeout } from '../server/domain/service-calls.js';
import { encodeGlobalId, parseGlobalId } from '../server/domain/global-ids.js';
import { until } from './support/wait.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, tenant, type Tenant, testVault } from './support/fixtures.js';
import { startStubService, type StubService } from './support/stub-service.js';

const START = `mutation($input: StartConnectionInput!) {
  startConnection(input: $input) {
    __typename
    ... on StartConnectionSuccess { result { authorizationUrl connection { id name status shared integration { key } } } }
    ... on Error { message code }
    ... on CredentialsRejectedError { reason interpretation resolution }
    ... on ProviderUnavailableError { retryAfterSeconds }
    ... on ValidationError { field }
  }
}`;
const TEST = `mutation($id: ID!) {
  testConnection(input: { id: $id }) {
    __typename
    ... on TestConnectionSuccess { result { ok transientMessage connection { status lastCheckedAt problem { reason message } } } }
    ... on Error { message }
  }
}`;
const REAUTH = `mutation($id: ID!, $credentials: JSONObject) {
  reauthenticateConnection(input: { id: $id, credentials: $credentials }) {
    __typename
    ... on ReauthenticateConnectionSuccess { result { connection { id status } } }
    ... on Error { message }
    ... on CredentialsRejectedError { reason }
  }
}`;

let stub: StubService;
beforeAll(async () => {
  stub = await startStubService();
});
afterAll(async () => {
  await stub.close();
});

/** Registers the stub as the account's API-key integration: the same HTTP path Stripe or Ahrefs take. */
async function registerStub(db: Database, t: Tenant, policy: 'MULTIPLE' | 'ONE_PER_RESOURCE' = 'MULTIPLE') {
  const result = await graphql(
    db,
    t.admin.viewer,
    `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename } }`,
    {
      input: {
        key: 'stub-api',
        name: 'Stub API',
        authMethod: 'API_KEY',
        verifyUrl: `${stub.url}/v1/me`,
        apiKeyHeader: 'X-Api-Key',
        connectionPolicy: policy,
      },
    },
  );
  expect(result.data!.registerIntegration.__typename).toBe('RegisterIntegrationSuccess');
}

/** Rows of one account (PostgreSQL suites run side by side, so never count whole tables). */
async function rowCounts(db: Database, accountId: string) {
  const [c] = await db.select({ value: count() }).from(connections).where(eq(connections.accountId, accountId));
  const [k] = await db.select({ value: count() }).from(credentials).where(eq(credentials.accountId, accountId));
  const [e] = await db.select({ value: count() }).from(connectionEvents).where(eq(connectionEvents.accountId, accountId));
  return { connections: c.value, credentials: k.value, events: e.value };
}

describeEachDatabase('connecting with credentials', (db) => {
  it('tests the key at the service, then stores it sealed and the connection ACTIVE', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      await registerStub(tx, a);
      stub.validKeys = new Set(['key-live-123456']);
      const result = await graphql(tx, a.member.viewer, START, {
        input: { integration: 'stub-api', name: 'Stub prod', credentials: { apiKey: 'key-live-123456' } },
      });
      const connection = result.data!.startConnection.result.connection;
      expect(connection).toMatchObject({ name: 'Stub prod', status: 'ACTIVE', shared: false, integration: { key: 'stub-api' } });
      expect(stub.requests.at(-1)!['x-api-key']).toBe('key-live-123456');
      const id = parseGlobalId(connection.id, 'Connection');
      const [stored] = await tx.select().from(credentials).where(eq(credentials.connectionId, id));
      expect(stored.keyId).toBe(testVault.currentKeyId);
      expect(stored.ciphertext.toString('latin1')).not.toContain('key-live-123456');
      expect(testVault.open(id, stored)).toEqual({ apiKey: 'key-live-123456' });
      const events = await tx.select().from(connectionEvents).where(eq(connectionEvents.connectionId, id));
      expect(events).toMatchObject([{ fromStatus: 'PENDING', toStatus: 'ACTIVE', actorKind: 'USER', actorUserId: a.member.user.id }]);
    });
  });

  it('a rejected key is a typed error and writes nothing; the service’s echo of the key is redacted', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      await registerStub(tx, a);
      stub.validKeys = new Set(['key-live-123456']);
      const before = await rowCounts(tx, a.account.id);
      const result = await graphql(tx, a.member.viewer, START, {
        input: { integration: 'stub-api', name: 'Stub prod', credentials: { apiKey: 'key-wrong-987654' } },
      });
      expect(result.data!.startConnection).toMatchObject({
        __typename: 'CredentialsRejectedError',
        code: 'CREDENTIALS_REJECTED',
        reason: 'INVALID_CREDENTIALS',
        message: 'Invalid API key provided: [redacted]',
      });
      expect(JSON.stringify(result)).not.toContain('key-wrong-987654');
      expect(await rowCounts(tx, a.account.id)).toEqual(before);
    });
  });

  it('transient service failures answer ProviderUnavailableError and write nothing', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      await registerStub(tx, a);
      stub.validKeys = new Set(['key-live-123456']);
      const before = await rowCounts(tx, a.account.id);
      setServiceTimeout(300);
      for (const mode of ['error500', 'unavailable503', 'rateLimited429', 'reset', 'malformed', 'hang'] as const) {
        stub.mode = mode;
        const result = await graphql(tx, a.member.viewer, START, {
          input: { integration: 'stub-api', name: 'Stub prod', credentials: { apiKey: 'key-live-123456' } },
        });
        expect(result.data!.startConnection, mode).toMatchObject({
          __typename: 'ProviderUnavailableError',
          retryAfterSeconds: mode === 'rateLimited429' ? 7 : null,
        });
      }
      stub.mode = 'normal';
      setServiceTimeout(10_000);
      expect(await rowCounts(tx, a.account.id)).toEqual(before);
    });
  });

  it('BASIC logins are sent as HTTP Basic and a wrong password is INVALID_CREDENTIALS', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      await graphql(tx, a.admin.viewer, `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename } }`, {
        input: { key: 'stub-basic', name: 'Stub Basic', authMethod: 'BASIC', verifyUrl: `${stub.url}/me` },
      });
      stub.validKeys = new Set(['pam:correct-horse-battery']);
      const ok = await graphql(tx, a.member.viewer, START, {
        input: { integration: 'stub-basic', name: 'Basic', credentials: { username: 'pam', password: 'correct-horse-battery' } },
      });
      expect(ok.data!.startConnection).toMatchObject({ result: { connection: { status: 'ACTIVE' } } });
      expect(stub.requests.at(-1)!.authorization).toBe(`Basic ${Buffer.from('pam:correct-horse-battery').toString('base64')}`);
      const wrong = await graphql(tx, a.member.viewer, START, {
        input: { integration: 'stub-basic', name: 'Basic', credentials: { username: 'pam', password: 'wrong-horse' } },
      });
      expect(wrong.data!.startConnection).toMatchObject({ __typename: 'CredentialsRejectedError', reason: 'INVALID_CREDENTIALS', message: 'Bad user name or password' });
    });
  });

  it('checks credential fields before calling the service', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      await registerStub(tx, a);
      const calls = stub.requests.length;
      const cases: [Record<string, unknown>, string][] = [
        [{ integration: 'stub-api', name: 'x' }, 'credentials'],
        [{ integration: 'stub-api', name: 'x', credentials: { apiKey: '' } }, 'credentials.apiKey'],
        [{ integration: 'stub-api', name: 'x', credentials: { apiKey: 'k', token: 'extra' } }, 'credentials.token'],
        [{ integration: 'no-such-thing', name: 'x', credentials: {} }, 'integration'],
        [{ integration: 'stub-api', name: '', credentials: { apiKey: 'k' } }, 'name'],
      ];
      for (const [input, field] of cases) {
        const result = await graphql(tx, a.member.viewer, START, { input });
        expect(result.data!.startConnection).toMatchObject({ __typename: 'ValidationError', field });
      }
      expect(stub.requests.length).toBe(calls);
    });
  });
});

describeEachDatabase('keeping a credential connection healthy', (db) => {
  it('a test after the key is deleted disconnects with INVALID_CREDENTIALS; a transient failure changes nothing; reauthentication restores the same connection and its data sources', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      await registerStub(tx, a);
      stub.validKeys = new Set(['key-one-111111']);
      const started = await graphql(tx, a.member.viewer, START, {
        input: { integration: 'stub-api', name: 'Stub', credentials: { apiKey: 'key-one-111111' } },
      });
      const gid = started.data!.startConnection.result.connection.id;
      const id = parseGlobalId(gid, 'Connection');
      await tx.insert(dataSources).values({ accountId: a.account.id, connectionId: id, resourceId: 'r', name: 'Orders', schedule: '0 * * * *' });

      const ok = await graphql(tx, a.member.viewer, TEST, { id: gid });
      expect(ok.data!.testConnection.result).toMatchObject({ ok: true, connection: { status: 'ACTIVE' } });

      stub.validKeys = new Set(); // the key was deleted at the service
      const broken = await graphql(tx, a.member.viewer, TEST, { id: gid });
      expect(broken.data!.testConnection.result).toMatchObject({
        ok: false,
        connection: { status: 'DISCONNECTED', problem: { reason: 'INVALID_CREDENTIALS' } },
      });
      expect((await tx.select().from(dataSources).where(eq(dataSources.connectionId, id)))[0].status).toBe('BROKEN');
      // One notice each for the connection's owner and the account owner, written with the change.
      const notices = async () =>
        (await tx.select().from(notifications).where(eq(notifications.connectionId, id))).map((row) => row.recipientId).sort();
      expect(await notices()).toEqual([a.member.user.id, a.owner.user.id].sort());
      // Testing the broken connection again is not a new incident.
      await graphql(tx, a.member.viewer, TEST, { id: gid });
      expect(await notices()).toHaveLength(2);

      stub.mode = 'unavailable503';
      const transient = await graphql(tx, a.member.viewer, TEST, { id: gid });
      expect(transient.data!.testConnection.result).toMatchObject({
        ok: false,
        transientMessage: 'Service Unavailable',
        connection: { status: 'DISCONNECTED', problem: { reason: 'INVALID_CREDENTIALS' } },
      });
      stub.mode = 'normal';

      const byOther = await graphql(tx, a.member2.viewer, REAUTH, { id: gid, credentials: { apiKey: 'key-two-222222' } });
      expect(byOther.data!.reauthenticateConnection.__typename).toBe('NotFoundError');
      stub.validKeys = new Set(['key-two-222222']);
      const rejected = await graphql(tx, a.member.viewer, REAUTH, { id: gid, credentials: { apiKey: 'key-one-111111' } });
      expect(rejected.data!.reauthenticateConnection).toMatchObject({ __typename: 'CredentialsRejectedError', reason: 'INVALID_CREDENTIALS' });
      const repaired = await graphql(tx, a.member.viewer, REAUTH, { id: gid, credentials: { apiKey: 'key-two-222222' } });
      expect(repaired.data!.reauthenticateConnection).toEqual({
        __typename: 'ReauthenticateConnectionSuccess',
        result: { connection: { id: gid, status: 'ACTIVE' } },
      });
      expect((await tx.select().from(dataSources).where(eq(dataSources.connectionId, id)))[0].status).toBe('ACTIVE');
      const history = await tx.select().from(connectionEvents).where(eq(connectionEvents.connectionId, id)).orderBy(connectionEvents.seq);
      expect(history.map((event) => `${event.fromStatus}->${event.toStatus}`)).toEqual([
        'PENDING->ACTIVE',
        'ACTIVE->DISCONNECTED',
        'DISCONNECTED->ACTIVE',
      ]);
    });
  });

  it('a lapsed subscription is a PROVIDER_ERROR with the service’s message', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      await registerStub(tx, a);
      stub.validKeys = new Set(['key-one-111111']);
      const started = await graphql(tx, a.owner.viewer, START, {
        input: { integration: 'stub-api', name: 'SEO', shared: true, credentials: { apiKey: 'key-one-111111' } },
      });
      stub.mode = 'lapsed';
      const result = await graphql(tx, a.member.viewer, TEST, { id: started.data!.startConnection.result.connection.id });
      stub.mode = 'normal';
      expect(result.data!.testConnection.result.connection.problem).toEqual({
        reason: 'PROVIDER_ERROR',
        message: 'API units are not available on your current plan',
      });
    });
  });

  it('ONE_PER_RESOURCE: connecting the same resource again supersedes the older connection', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      await registerStub(tx, a, 'ONE_PER_RESOURCE');
      stub.validKeys = new Set(['key-one-111111']);
      const input = { integration: 'stub-api', resourceId: 'company-1', credentials: { apiKey: 'key-one-111111' } };
      const first = await graphql(tx, a.owner.viewer, START, { input: { ...input, name: 'Company 1 (Pam)' } });
      const other = await graphql(tx, a.owner.viewer, START, { input: { ...input, resourceId: 'company-2', name: 'Company 2' } });
      await graphql(tx, a.admin.viewer, START, { input: { ...input, name: 'Company 1 (Dwight)' } });
      const status = async (gid: string) => {
        const [row] = await tx.select().from(connections).where(eq(connections.id, parseGlobalId(gid, 'Connection')));
        return [row.status, row.disconnectReason];
      };
      expect(await status(first.data!.startConnection.result.connection.id)).toEqual(['DISCONNECTED', 'SUPERSEDED']);
      expect(await status(other.data!.startConnection.result.connection.id)).toEqual(['ACTIVE', null]);
    });
  });

  it('revoking wipes the credentials and says the service kept the key', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      await registerStub(tx, a);
      stub.validKeys = new Set(['key-one-111111']);
      const started = await graphql(tx, a.member.viewer, START, {
        input: { integration: 'stub-api', name: 'Stub', credentials: { apiKey: 'key-one-111111' } },
      });
      const gid = started.data!.startConnection.result.connection.id;
      const revoke = `mutation($id: ID!) { revokeConnection(input: { id: $id }) { __typename ... on RevokeConnectionSuccess { result { providerRevoked providerMessage connection { status viewerCan { revoke } } } } } }`;
      const byMember2 = await graphql(tx, a.member2.viewer, revoke, { id: gid });
      expect(byMember2.data!.revokeConnection.__typename).toBe('NotFoundError');
      const result = await graphql(tx, a.member.viewer, revoke, { id: gid });
      expect(result.data!.revokeConnection.result).toMatchObject({
        providerRevoked: false,
        connection: { status: 'REVOKED', viewerCan: { revoke: false } },
      });
      expect(result.data!.revokeConnection.result.providerMessage).toMatch(/no revocation endpoint/);
      const left = await tx.select().from(credentials).where(eq(credentials.connectionId, parseGlobalId(gid, 'Connection')));
      expect(left).toEqual([]);
    });
  });
});

const pgUrl = process.env.TEST_DATABASE_URL ? new URL(process.env.TEST_DATABASE_URL) : undefined;

describe.runIf(pgUrl)('PROXY connections to this machine’s PostgreSQL', () => {
  describeEachDatabase('postgresql login', (db) => {
    const login = (overrides: Record<string, string> = {}) => ({
      host: pgUrl!.hostname,
      port: pgUrl!.port || '5432',
      database: pgUrl!.pathname.slice(1),
      user: decodeURIComponent(pgUrl!.username),
      password: 'irrelevant-under-trust-auth',
      ...overrides,
    });

    it('connects with a database login, and classifies a missing role and database', async () => {
      await inRollback(db(), async (tx) => {
        const a = await tenant(tx, 'a');
        const ok = await graphql(tx, a.member.viewer, START, { input: { integration: 'postgresql', name: 'Warehouse', credentials: login() } });
        expect(ok.data!.startConnection).toMatchObject({ result: { connection: { status: 'ACTIVE' } } });
        const listed = await graphql(tx, a.member.viewer, `query($id: ID!) { connection(id: $id) { availableResources { id name } } }`, {
          id: ok.data!.startConnection.result.connection.id,
        });
        // The test database holds Patchbay's own tables, so the login can read e.g. public.accounts.
        expect(listed.data!.connection.availableResources).toContainEqual({ id: 'public.accounts', name: 'public.accounts' });
        const other = await graphql(tx, a.member2.viewer, `query($id: ID!) { node(id: $id) { id } }`, { id: ok.data!.startConnection.result.connection.id });
        expect(other.data!.node).toBeNull();
        const badUser = await graphql(tx, a.member.viewer, START, {
          input: { integration: 'postgresql', name: 'Warehouse', credentials: login({ user: 'no_such_role_patchbay' }) },
        });
        expect(badUser.data!.startConnection).toMatchObject({ __typename: 'CredentialsRejectedError', reason: 'USER_NOT_FOUND' });
        const badDb = await graphql(tx, a.member.viewer, START, {
          input: { integration: 'postgresql', name: 'Warehouse', credentials: login({ database: 'no_such_db_patchbay' }) },
        });
        expect(badDb.data!.startConnection).toMatchObject({ __typename: 'CredentialsRejectedError', reason: 'DATABASE_NOT_FOUND' });
        expect(JSON.stringify([ok, badUser, badDb])).not.toContain('irrelevant-under-trust-auth');
      });
    });
  });
});

describeEachDatabase('OAuth refresh faults', (db) => {
  it('a token endpoint failing transiently disconnects nothing and loses no token; invalid_grant after the lifetime is EXPIRED_TOKEN', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const register = await graphql(tx, a.admin.viewer, `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename } }`, {
        input: {
          key: 'stub-oauth',
          name: 'Stub OAuth',
          authMethod: 'OAUTH2',
          authorizeUrl: `${stub.url}/authorize`,
          tokenUrl: `${stub.url}/token`,
          revokeUrl: `${stub.url}/revoke`,
          verifyUrl: `${stub.url}/me`,
        },
      });
      expect(register.data!.registerIntegration.__typename).toBe('RegisterIntegrationSuccess');
      await graphql(tx, a.admin.viewer, `mutation { configureIntegration(input: { integration: "stub-oauth", clientId: "c", clientSecret: "s" }) { __typename } }`);
      const [row] = await tx
        .insert(connections)
        .values({ accountId: a.account.id, ownerId: a.member.user.id, integrationKey: 'stub-oauth', name: 'Stub OAuth', status: 'ACTIVE' })
        .returning();
      const expired = { accessToken: 'stub-access-old', refreshToken: 'stub-refresh-old', expiresAt: new Date(Date.now() - 1000).toISOString() };
      await storeCredentials(tx, testVault, row, expired);
      stub.validRefreshTokens = new Set(['stub-refresh-old']);
      const gid = encodeGlobalId('Connection', row.id);
      setServiceTimeout(300);
      const attemptsOf = () => tx.select().from(tokenRefreshes).where(eq(tokenRefreshes.connectionId, row.id)).orderBy(tokenRefreshes.startedAt);
      for (const mode of ['error500', 'unavailable503', 'rateLimited429', 'reset', 'malformed', 'hang'] as const) {
        stub.mode = mode;
        // Each failure sets the connection's refresh cooldown: let it pass (moved, not waited for).
        await tx.update(connections).set({ refreshBlockedUntil: null }).where(eq(connections.id, row.id));
        const result = await graphql(tx, a.member.viewer, TEST, { id: gid });
        expect(result.data!.testConnection.result, mode).toMatchObject({ ok: false, connection: { status: 'ACTIVE', problem: null } });
        expect(result.data!.testConnection.result.transientMessage, mode).toBeTruthy();
        expect(await readCredentials(tx, testVault, row.id), mode).toEqual(expired);
        // A hung request outlives its caller (up to the hard limit) and is recorded when it ends.
        await until(async () => (await attemptsOf()).every((attempt) => attempt.finishedAt), `${mode} attempt to finish`);
      }
      stub.mode = 'normal';
      setServiceTimeout(10_000);
      await tx.update(connections).set({ refreshBlockedUntil: null }).where(eq(connections.id, row.id));
      const refreshed = await graphql(tx, a.member.viewer, TEST, { id: gid });
      expect(refreshed.data!.testConnection.result).toMatchObject({ ok: true, connection: { status: 'ACTIVE' } });
      const rotated = await readCredentials<{ accessToken: string; refreshToken: string }>(tx, testVault, row.id);
      expect(rotated).toMatchObject({ accessToken: expect.stringMatching(/^stub-access-/), refreshToken: expect.stringMatching(/^stub-refresh-\d/) });
      const attempts = await tx.select().from(tokenRefreshes).where(eq(tokenRefreshes.connectionId, row.id)).orderBy(tokenRefreshes.startedAt);
      // Sent with no answer back (reset, malformed 200, hang) is LOST: the provider may have rotated.
      expect(attempts.map((attempt) => attempt.outcome)).toEqual(['TRANSIENT', 'TRANSIENT', 'TRANSIENT', 'LOST', 'LOST', 'LOST', 'SUCCEEDED']);
      // The known authorization lifetime has passed and the service refuses the refresh token:
      // EXPIRED_TOKEN (the same refusal before that date is INVALID_REFRESH_TOKEN, see oauth.test.ts).
      stub.validRefreshTokens = new Set();
      await tx.update(connections).set({ reauthorizeBy: new Date(Date.now() - 1000).toISOString() }).where(eq(connections.id, row.id));
      await storeCredentials(tx, testVault, row, { ...rotated, expiresAt: new Date(Date.now() - 1000).toISOString() });
      const broken = await graphql(tx, a.member.viewer, TEST, { id: gid });
      expect(broken.data!.testConnection.result).toMatchObject({ ok: false, connection: { status: 'DISCONNECTED', problem: { reason: 'EXPIRED_TOKEN' } } });
      // A revocation endpoint that fails does not block the local revoke; the result says so.
      stub.mode = 'unavailable503';
      const revoked = await graphql(
        tx,
        a.member.viewer,
        `mutation($id: ID!) { revokeConnection(input: { id: $id }) { ... on RevokeConnectionSuccess { result { providerRevoked providerMessage connection { status } } } } }`,
        { id: gid },
      );
      stub.mode = 'normal';
      expect(revoked.data!.revokeConnection.result).toMatchObject({ providerRevoked: false, connection: { status: 'REVOKED' } });
      expect(revoked.data!.revokeConnection.result.providerMessage).toMatch(/did not confirm the revocation/);
      expect(await readCredentials(tx, testVault, row.id)).toBeUndefined();
    });
  });
});

const mysqlUrl = process.env.TEST_MYSQL_URL ? new URL(process.env.TEST_MYSQL_URL) : undefined;

describe.runIf(mysqlUrl)('PROXY connections to this machine’s MySQL / MariaDB', () => {
  describeEachDatabase('mysql login', (db) => {
    const login = (overrides: Record<string, string> = {}) => ({
      host: mysqlUrl!.hostname,
      port: mysqlUrl!.port || '3306',
      database: mysqlUrl!.pathname.slice(1),
      user: decodeURIComponent(mysqlUrl!.username),
      password: decodeURIComponent(mysqlUrl!.password),
      ...overrides,
    });

    it('connects with a database login and classifies a wrong password and a missing database', async () => {
      await inRollback(db(), async (tx) => {
        const a = await tenant(tx, 'a');
        const ok = await graphql(tx, a.member.viewer, START, { input: { integration: 'mysql', name: 'Shop DB', credentials: login() } });
        expect(ok.data!.startConnection).toMatchObject({ result: { connection: { status: 'ACTIVE' } } });
        const listed = await graphql(tx, a.member.viewer, `query($id: ID!) { connection(id: $id) { availableResources { id } } }`, {
          id: ok.data!.startConnection.result.connection.id,
        });
        expect(Array.isArray(listed.data!.connection.availableResources)).toBe(true);
        const wrong = await graphql(tx, a.member.viewer, START, {
          input: { integration: 'mysql', name: 'Shop DB', credentials: login({ password: 'definitely-wrong-pw' }) },
        });
        expect(wrong.data!.startConnection).toMatchObject({ __typename: 'CredentialsRejectedError', reason: 'INVALID_CREDENTIALS' });
        expect(JSON.stringify(wrong)).not.toContain('definitely-wrong-pw');
        const missing = await graphql(tx, a.member.viewer, START, {
          input: { integration: 'mysql', name: 'Shop DB', credentials: login({ database: 'no_such_db_patchbay' }) },
        });
        expect(missing.data!.startConnection).toMatchObject({ __typename: 'CredentialsRejectedError', reason: 'DATABASE_NOT_FOUND' });
      });
    });
  });
});
