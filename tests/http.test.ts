import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import type { Database } from '../server/db/client.js';
import { createLog } from '../server/log.js';
import { describeEachDatabase } from './support/db.js';
import { tenant, testVault, type Tenant } from './support/fixtures.js';
import { startStubService } from './support/stub-service.js';

describeEachDatabase('the HTTP gateway', (db) => {
  let app: App;
  let url: string;
  let a: Tenant;
  let b: Tenant;
  const logLines: string[] = [];

  beforeAll(async () => {
    a = await tenant(db(), 'http-a');
    b = await tenant(db(), 'http-b');
    app = createApp({ db: db() as Database, vault: testVault, log: createLog('debug', (line) => logLines.push(line)) });
    url = await app.start(0);
  });
  afterAll(async () => {
    await app?.stop();
  });

  async function post(body: object, token?: string) {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  }

  it('serves the viewer graph to a valid token', async () => {
    const { status, body } = await post({ query: '{ viewer { user { email } account { name } } }' }, a.owner.token);
    expect(status).toBe(200);
    expect(body.data.viewer).toEqual({ user: { email: a.owner.user.email }, account: { name: 'Tenant http-a' } });
  });

  it('answers no token with UNAUTHENTICATED, and a bad or revoked token with HTTP 401', async () => {
    const anonymous = await post({ query: '{ connections(first: 1) { totalCount } }' });
    expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const bad = await post({ query: '{ viewer { user { id } } }' }, 'pb_not-a-real-token');
    expect(bad.status).toBe(401);
    expect(bad.body.errors[0]).toMatchObject({ message: 'The API token is invalid or revoked', extensions: { code: 'UNAUTHENTICATED' } });
    const created = await post({ query: 'mutation { createApiToken(input: { name: "short-lived" }) { ... on CreateApiTokenSuccess { payload { token apiToken { id } } } } }' }, a.member.token);
    const { token, apiToken } = created.body.data.createApiToken.payload;
    expect((await post({ query: '{ viewer { user { email } } }' }, token)).status).toBe(200);
    await post({ query: 'mutation($id: ID!) { revokeApiToken(input: { id: $id }) { __typename } }', variables: { id: apiToken.id } }, a.member.token);
    expect((await post({ query: '{ viewer { user { email } } }' }, token)).status).toBe(401);
  });

  it('a token of another account sees nothing of this one', async () => {
    const { body } = await post(
      { query: 'query($id: ID!) { node(id: $id) { id } connections(first: 100) { nodes { id } } }', variables: { id: a.connections.shared.gid } },
      b.owner.token,
    );
    expect(body.data.node).toBeNull();
    const ids = body.data.connections.nodes.map((node: { id: string }) => node.id);
    expect(ids).not.toContain(a.connections.shared.gid);
    expect(ids).toContain(b.connections.shared.gid);
  });

  it('masks unexpected errors but keeps typed ones, and refuses over-deep queries', async () => {
    const typed = await post({ query: '{ connections(first: 500) { totalCount } }' }, a.owner.token);
    expect(typed.body.errors[0]).toMatchObject({ message: 'first must be between 0 and 100', extensions: { code: 'VALIDATION', field: 'first' } });
    const deep = `{ viewer { account { connections(first: 1) { edges { node { dataSources(first: 1) { edges { node { connection { dataSources(first: 1) { edges { node { connection { owner { name } } } } } } } } } } } } } } }`;
    const refused = await post({ query: deep }, a.owner.token);
    expect(refused.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'QUERY_TOO_LARGE' } })]);
    expect(JSON.stringify(refused.body)).not.toMatch(/depth|\d/i);
  });

  it('never returns or logs a credential, in successes or failures', async () => {
    const stub = await startStubService();
    try {
      stub.validKeys = new Set(['sk_live_http_secret_1']);
      await post(
        {
          query: 'mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename } }',
          variables: { input: { key: 'stub-http', name: 'Stub', authMethod: 'API_KEY', verifyUrl: `${stub.url}/me`, apiKeyHeader: 'X-Api-Key' } },
        },
        a.admin.token,
      );
      const start = 'mutation($input: StartConnectionInput!) { startConnection(input: $input) { __typename ... on Error { message } ... on StartConnectionSuccess { result { connection { id name } } } } }';
      const good = await post({ query: start, variables: { input: { integration: 'stub-http', name: 'S', credentials: { apiKey: 'sk_live_http_secret_1' } } } }, a.member.token);
      expect(good.body.data.startConnection.__typename).toBe('StartConnectionSuccess');
      const bad = await post({ query: start, variables: { input: { integration: 'stub-http', name: 'S', credentials: { apiKey: 'sk_live_http_secret_2' } } } }, a.member.token);
      expect(bad.body.data.startConnection.__typename).toBe('CredentialsRejectedError');
      const test = await post({ query: 'mutation($id: ID!) { testConnection(input: { id: $id }) { __typename } }', variables: { id: good.body.data.startConnection.result.connection.id } }, a.member.token);
      expect(test.body.data.testConnection.__typename).toBe('TestConnectionSuccess');
      const everything = JSON.stringify([good.body, bad.body, test.body]) + logLines.join('\n');
      for (const secret of ['sk_live_http_secret_1', 'sk_live_http_secret_2']) expect(everything).not.toContain(secret);
    } finally {
      await stub.close();
    }
  });

  it('reports health, serves GraphiQL, and never logs a token', async () => {
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const graphiql = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await graphiql.text()).toContain('GraphiQL');
    for (const token of [a.owner.token, a.member.token, b.owner.token]) {
      expect(logLines.join('\n')).not.toContain(token);
    }
  });
});
