/**
 * The edge refuses what would stall or expose the gateway before anything runs: documents that
 * cost too much (nested pages multiply), too many ids, documents nested past the parser's stack,
 * anonymous requests and introspection in production, and cross-origin browsers not allowed.
 * None of it depends on the database, so it runs once, on PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { ConfigError, readConfig } from '../server/config.js';
import { countStatements, openPglite, type DatabaseHandle } from '../server/db/client.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { DEFAULT_LIMITS } from '../server/edge/limits.js';
import type { EdgeSettings } from '../server/edge/requests.js';
import { createLog } from '../server/log.js';
import { tenant, testVault, type Tenant } from './support/fixtures.js';

const development: EdgeSettings = {
  production: false,
  graphiql: true,
  corsOrigins: ['https://partner.example'],
  document: { limits: DEFAULT_LIMITS, introspection: true },
};
const production: EdgeSettings = { ...development, production: true, graphiql: false, document: { ...development.document, introspection: false } };

/** Four pages deep, 100 each: the document that answered 55,610 objects. */
const FOUR_DEEP = `{ connections(first: 100) { nodes { dataSources(first: 100) { nodes { refreshRuns(first: 100) { nodes { id status } } connection { dataSources(first: 100) { nodes { id } } } } } } } }`;
/** The benchmark's graph at 100 connections: must pass. */
const GRAPH_100 = `{ connections(first: 100) { nodes { id name status integration { key name } owner { name } dataSources(first: 10) { nodes { id name refreshRuns(first: 3) { nodes { id status rows startedAt } } } } } } }`;

describe('the edge', () => {
  let handle: DatabaseHandle;
  let a: Tenant;
  const apps: App[] = [];
  const urls: Record<'dev' | 'prod' | 'tight', string> = { dev: '', prod: '', tight: '' };

  async function start(edge: EdgeSettings): Promise<string> {
    const app = createApp({ db: handle.db, vault: testVault, log: createLog('silent'), edge });
    apps.push(app);
    return app.start(0);
  }

  beforeAll(async () => {
    handle = await openPglite();
    await handle.migrate();
    a = await tenant(handle.db, 'edge-a');
    urls.dev = await start(development);
    urls.prod = await start(production);
    urls.tight = await start({ ...development, document: { ...development.document, limits: { ...DEFAULT_LIMITS, maxCost: 50 } } });
  });
  afterAll(async () => {
    for (const app of apps) await app.stop();
    await handle?.close();
  });

  async function post(where: keyof typeof urls, body: object | string, headers: Record<string, string> = {}) {
    const response = await fetch(`${urls[where]}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.owner.token}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
  }

  const tooLarge = [expect.objectContaining({ extensions: { code: 'QUERY_TOO_LARGE' } })];

  describe('costs', () => {
    it('refuses nested pages whose sizes multiply past the limit, before any data is read, without naming the limit', async () => {
      const { body, text } = await post('dev', { query: FOUR_DEEP });
      expect(body).toEqual({ errors: tooLarge });
      expect(text).not.toMatch(/\d/);
      // In process: the refused document reads nothing beyond the token.
      const refused = await countStatements(async () => {
        const response = await apps[0].yoga.fetch('http://edge.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${a.owner.token}` },
          body: JSON.stringify({ query: FOUR_DEEP }),
        });
        return response.json();
      });
      expect(refused.result).toEqual({ errors: tooLarge });
      expect(refused.statements.filter((statement) => /"(connections|data_sources|refresh_runs)"/.test(statement))).toEqual([]);
    });

    it('lets the benchmark graph at 100 connections through, and every alias adds its own cost', async () => {
      const graph = await post('dev', { query: GRAPH_100 });
      expect(graph.body.errors).toBeUndefined();
      expect(graph.body.data.connections.nodes.length).toBeGreaterThan(0);
      const aliased = `{ ${Array.from({ length: 10 }, (_, i) => `c${i}: ${GRAPH_100.slice(2, -2)}`).join(' ')} }`;
      expect((await post('dev', { query: aliased })).body).toEqual({ errors: tooLarge });
    });

    it('counts page sizes given in variables, and nodes(ids:) by its ids', async () => {
      const nested = 'query($n: Int!) { connections(first: $n) { nodes { dataSources(first: $n) { nodes { refreshRuns(first: $n) { nodes { id } } } } } } }';
      expect((await post('dev', { query: nested, variables: { n: 5 } })).body.errors).toBeUndefined();
      expect((await post('dev', { query: nested, variables: { n: 100 } })).body).toEqual({ errors: tooLarge });
      const ids = Array.from({ length: 100 }, () => a.connections.shared.gid);
      const byIds = 'query($ids: [ID!]!) { nodes(ids: $ids) { ... on Connection { dataSources(first: 100) { nodes { refreshRuns(first: 100) { nodes { id } } } } } } }';
      expect((await post('dev', { query: byIds, variables: { ids } })).body).toEqual({ errors: tooLarge });
    });

    it('takes the limit from the settings', async () => {
      const query = '{ connections(first: 20) { nodes { id name status } } }';
      expect((await post('dev', { query })).body.errors).toBeUndefined();
      expect((await post('tight', { query })).body).toEqual({ errors: tooLarge });
    });

    it('limits subscriptions too, over SSE', async () => {
      const response = await fetch(`${urls.dev}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${a.owner.token}` },
        body: JSON.stringify({
          query: 'subscription { connectionStatusChanged { connection { dataSources(first: 100) { nodes { refreshRuns(first: 100) { nodes { id status rows startedAt finishedAt } } } } } } }',
        }),
      });
      const text = await response.text();
      expect(text).toContain('QUERY_TOO_LARGE');
    });
  });

  describe('nodes(ids:)', () => {
    it('takes at most 100 ids: 101 is a VALIDATION error naming ids; 100 answer in order, one statement per type', async () => {
      const over = Array.from({ length: 101 }, () => a.connections.shared.gid);
      const refused = await post('dev', { query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: { ids: over } });
      expect(refused.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'VALIDATION', field: 'ids' } })]);
      expect(refused.body.data).toBeNull();
      const ids = Array.from({ length: 100 }, (_, i) => (i % 2 ? a.connections.shared.gid : encodeGlobalId('Connection', '00000000-0000-4000-8000-000000000000')));
      const answered = await post('dev', { query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: { ids } });
      expect(answered.body.data.nodes).toEqual(ids.map((id, i) => (i % 2 ? { id } : null)));
    });
  });

  describe('documents', () => {
    it('answers a list or object literal nested far past the stack as a bad document (400), never a 500', async () => {
      for (const depth of [2_000, 100_000]) {
        const list = `{ connections(filter: { integration: ${'['.repeat(depth)}"x"${']'.repeat(depth)} }) { totalCount } }`;
        const object = `{ connections(filter: ${'{ a: '.repeat(depth)}1${' }'.repeat(depth)}) { totalCount } }`;
        for (const query of [list, object]) {
          // GraphQL over HTTP: 400 for application/graphql-response+json, 200 for legacy application/json.
          const strict = await post('dev', { query }, { accept: 'application/graphql-response+json' });
          expect(strict.status).toBe(400);
          expect(strict.body.errors).toEqual(tooLarge);
          const legacy = await post('dev', { query });
          expect(legacy.status).toBe(200);
          expect(legacy.body.errors).toEqual(tooLarge);
        }
      }
    });

    it('refuses too many aliases, directives and a too deep selection, without naming the limits', async () => {
      const aliases = `{ ${Array.from({ length: 16 }, (_, i) => `v${i}: viewer { user { name } }`).join(' ')} }`;
      const directives = `{ viewer { user { ${'... @include(if: true) { name } '.repeat(51)} } } }`;
      const deep = '{ viewer { account { connections(first: 1) { edges { node { dataSources(first: 1) { edges { node { connection { owner { name } } } } } } } } } } }';
      for (const query of [aliases, directives, deep]) {
        const { body, text } = await post('dev', { query });
        expect(body.errors).toEqual(tooLarge);
        expect(text).not.toMatch(/\d/);
      }
      const tokens = `{ viewer { user { ${'name '.repeat(1_001)} } } }`;
      const refused = await post('dev', { query: tokens }, { accept: 'application/graphql-response+json' });
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toEqual(tooLarge);
      expect(refused.text).not.toMatch(/\d/);
    });
  });

  describe('variables', () => {
    it('refuses variables that do not fit with VALIDATION naming the path, never repeating the value', async () => {
      const secret = 'sk_live_do_not_echo_4242';
      const start = 'mutation($input: StartConnectionInput!) { startConnection(input: $input) { __typename } }';
      const wrongKind = await post('dev', { query: start, variables: { input: { integration: 'stub', name: 'x', credentials: secret } } });
      expect(wrongKind.body.errors).toEqual([
        expect.objectContaining({ message: expect.stringContaining('input.credentials'), extensions: { code: 'VALIDATION', field: 'input.credentials' } }),
      ]);
      const badEnum = await post('dev', { query: 'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { __typename } }', variables: { input: { name: 'x', kind: secret } } });
      expect(badEnum.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'VALIDATION', field: 'input.kind' } })]);
      const missing = await post('dev', { query: start, variables: { input: { name: secret } } });
      expect(missing.body.errors[0]).toMatchObject({ message: expect.stringContaining('"integration"'), extensions: { code: 'VALIDATION', field: 'input' } });
      for (const { text } of [wrongKind, badEnum, missing]) expect(text).not.toContain(secret);
    });

    it('refuses a list of more than 1,000 items before reading its items', async () => {
      const ids = Array.from({ length: 40_000 }, () => a.connections.shared.gid);
      const { body } = await post('dev', { query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: { ids } });
      expect(body.errors).toEqual([expect.objectContaining({ extensions: { code: 'VALIDATION', field: 'ids' } })]);
      const nested = await post('dev', {
        query: 'mutation($input: MarkNotificationsReadInput!) { markNotificationsRead(input: $input) { __typename } }',
        variables: { input: { ids: Array.from({ length: 1_001 }, () => 'x') } },
      });
      expect(nested.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'VALIDATION', field: 'input.ids' } })]);
    });
  });

  describe('production mode', () => {
    it('answers a request without a token with 401 before reading its document', async () => {
      for (const body of ['{ __schema { types { name } } }', '{ nonsense', '{ connections(first: 100) { nodes { id } } }']) {
        const response = await fetch(`${urls.prod}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: body }) });
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
        expect(await response.json()).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'UNAUTHENTICATED' } }] });
      }
      // Development keeps answering anonymous requests with the schema's own errors.
      const dev = await fetch(`${urls.dev}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
      expect(dev.status).toBe(200);
    });

    it('refuses introspection and drops "Did you mean" suggestions, even with a token', async () => {
      const introspection = await post('prod', { query: '{ __schema { types { name } } }' });
      expect(introspection.body.data).toBeUndefined();
      expect(introspection.body.errors[0].message).toMatch(/introspection/i);
      const typo = await post('prod', { query: '{ connectionz(first: 1) { totalCount } }' });
      expect(typo.body.errors.length).toBeGreaterThan(0);
      expect(typo.text).not.toMatch(/Did you mean|connections/);
      const enumTypo = await post('prod', { query: 'query($s: [ConnectionStatus!]) { connections(first: 1, filter: { status: $s }) { totalCount } }', variables: { s: ['ACTIVEE'] } });
      expect(enumTypo.body.errors.length).toBeGreaterThan(0);
      expect(enumTypo.text).not.toMatch(/Did you mean|"ACTIVE"/);
      // Development answers both, so developers can explore.
      expect((await post('dev', { query: '{ __schema { queryType { name } } }' })).body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      expect((await post('dev', { query: '{ connectionz(first: 1) { totalCount } }' })).text).toMatch(/Did you mean/);
    });

    it('serves GraphiQL only when enabled', async () => {
      const page = (where: keyof typeof urls) => fetch(`${urls[where]}/graphql`, { headers: { accept: 'text/html' } });
      expect(await (await page('dev')).text()).toContain('GraphiQL');
      const prod = await page('prod');
      expect(prod.status).toBe(401);
      expect(await prod.text()).not.toContain('GraphiQL');
    });
  });

  describe('CORS', () => {
    it('answers only listed origins, naming exactly that origin, never with credentials', async () => {
      const preflight = (origin: string) =>
        fetch(`${urls.dev}/graphql`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
        });
      const allowed = await preflight('https://partner.example');
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://partner.example');
      expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
      expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
      const refused = await preflight('https://evil.example');
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
      expect(refused.headers.get('access-control-allow-credentials')).toBeNull();
      const simple = await post('dev', { query: '{ viewer { user { name } } }' }, { origin: 'https://evil.example' });
      expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('settings', () => {
    it('production mode comes from NODE_ENV or PATCHBAY_PRODUCTION; GraphiQL and introspection follow unless set', () => {
      const base = { PATCHBAY_DATA_DIR: '/tmp/edge-test' };
      expect(readConfig({ ...base }).edge).toMatchObject({ production: false, graphiql: true, document: { introspection: true } });
      expect(readConfig({ ...base, NODE_ENV: 'production' }).edge).toMatchObject({ production: true, graphiql: false, document: { introspection: false } });
      expect(readConfig({ ...base, PATCHBAY_PRODUCTION: 'true', PATCHBAY_GRAPHIQL: 'true', PATCHBAY_INTROSPECTION: 'true' }).edge).toMatchObject({
        production: true,
        graphiql: true,
        document: { introspection: true },
      });
      expect(readConfig({ ...base, PATCHBAY_CORS_ORIGINS: 'https://a.example, http://localhost:5173/' }).edge.corsOrigins).toEqual(['https://a.example', 'http://localhost:5173']);
      expect(readConfig({ ...base, PATCHBAY_MAX_QUERY_COST: '5000' }).edge.document.limits.maxCost).toBe(5000);
    });

    it('names the variable and an example when a setting is wrong', () => {
      expect(() => readConfig({ PATCHBAY_CORS_ORIGINS: 'not a url' })).toThrow(ConfigError);
      expect(() => readConfig({ PATCHBAY_CORS_ORIGINS: 'not a url' })).toThrow(/PATCHBAY_CORS_ORIGINS.*https:\/\/app\.example\.com/);
      expect(() => readConfig({ PATCHBAY_MAX_QUERY_COST: 'lots' })).toThrow(/PATCHBAY_MAX_QUERY_COST/);
      expect(() => readConfig({ PATCHBAY_PRODUCTION: 'maybe' })).toThrow(/PATCHBAY_PRODUCTION/);
    });
  });
});
