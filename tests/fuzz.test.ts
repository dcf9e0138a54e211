/**
 * Property-based fuzzing of every query, mutation and subscription (over SSE) in the schema, over real HTTP: arguments
 * drawn from each argument's type (odd strings, NUL and control characters, extreme numbers,
 * impossible dates, deep JSON, unknown enum values, ids of every kind and of another account) as
 * variables, sent as the account owner, a member or a SERVICE token. Whatever is sent: no 5xx, no
 * masked resolver crash, and a request that is refused changes no row.
 *
 * The default run takes well under a minute; FUZZ_RUNS=<runs per field> runs longer.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  getNamedType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { openPglite, rowsOf, type DatabaseHandle } from '../server/db/client.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { RATE_LIMITS_OFF } from '../server/edge/rate-limit.js';
import { setServiceTimeout } from '../server/domain/service-calls.js';
import { schema } from '../server/graphql/schema.js';
import { createLog } from '../server/log.js';
import { sql } from 'drizzle-orm';
import { tenant, testVault, type Tenant } from './support/fixtures.js';

const RUNS_PER_FIELD = Number(process.env.FUZZ_RUNS ?? 12);

/** Rows a refused request must leave alone: everything but bookkeeping of the request itself. */
const WATCHED_TABLES = [
  'accounts',
  'users',
  'integrations',
  'connections',
  'credentials',
  'data_sources',
  'refresh_runs',
  'connection_events',
  'oauth_apps',
  'oauth_attempts',
  'access_token_grants',
  'notifications',
  'webhook_endpoints',
  'webhook_previous_secrets',
  'webhook_deliveries',
];

const NODE_TYPES = ['Account', 'User', 'ApiToken', 'Connection', 'DataSource', 'RefreshRun', 'ConnectionEvent', 'Notification', 'WebhookEndpoint', 'WebhookDelivery'];

const oddStrings = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0007\u001b[31m',
  'line\nbreak\ttab',
  '\uD800',
  'x'.repeat(10_000),
  "'; drop table users; --",
  '%s%n%x',
  '../../../../etc/passwd',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ☃',
  'hubspot',
  'salesforce',
  'postgresql',
  'stub-http',
  'https://example.com/',
  'http://127.0.0.1:5432/',
  'http://169.254.169.254/latest/meta-data/',
  'https://[::1]/',
  '0 6 * * *',
  '* * * * * * *',
];

const oddDates = [
  '0000-01-01T00:00:00.000Z',
  '+275760-09-13T00:00:00.000Z',
  '-271821-04-20T00:00:00.000Z',
  '2026-02-30T00:00:00Z',
  '2026-11-25T12:00:00.000Z',
  'yesterday',
  '',
  '1e400',
];

function deepObject(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('fuzzing every operation', () => {
  let handle: DatabaseHandle;
  let app: App;
  let url: string;
  let a: Tenant;
  let b: Tenant;
  let knownIds: string[] = [];

  beforeAll(async () => {
    handle = await openPglite();
    await handle.migrate();
    a = await tenant(handle.db, 'fuzz-a');
    b = await tenant(handle.db, 'fuzz-b');
    // Every call to a "service" fails fast: nothing here is reachable, and the fuzz must not wait.
    setServiceTimeout(300);
    // Rate limits would answer a long run with 429s instead of exercising the operations.
    app = createApp({ db: handle.db, vault: testVault, log: createLog('silent'), rateLimit: RATE_LIMITS_OFF });
    url = await app.start(0);
    const ids = (t: Tenant) => [
      t.accountGid,
      t.owner.id,
      t.member.id,
      ...Object.values(t.connections).map((connection) => connection.gid),
      t.dataSource.gid,
      t.privateDataSource.gid,
      t.refreshRun.gid,
    ];
    knownIds = [...ids(a), ...ids(b)];
  });
  afterAll(async () => {
    setServiceTimeout(10_000);
    await app?.stop();
    await handle?.close();
  });

  /** A digest of every watched table: equal digests, equal rows. */
  async function digest(): Promise<string> {
    const parts = await Promise.all(
      WATCHED_TABLES.map(async (table) => {
        const [row] = rowsOf<{ digest: string }>(
          await handle.db.execute(sql.raw(`select count(*) || ':' || coalesce(md5(string_agg(t::text, ',' order by t::text)), '') as digest from ${table} t`)),
        );
        return `${table}=${row.digest}`;
      }),
    );
    return parts.join(' ');
  }

  const idArbitrary: fc.Arbitrary<string> = fc.oneof(
    fc.constantFrom(...(['placeholder'] as string[])).chain(() => fc.constantFrom(...knownIds)),
    fc.tuple(fc.constantFrom(...NODE_TYPES), fc.uuid()).map(([type, id]) => encodeGlobalId(type, id)),
    fc.tuple(fc.constantFrom(...NODE_TYPES), fc.string()).map(([type, id]) => encodeGlobalId(type, id)),
    fc.string(),
    fc.base64String(),
  );

  function scalarArbitrary(name: string): fc.Arbitrary<unknown> {
    switch (name) {
      case 'ID':
        return idArbitrary;
      case 'String':
        return fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(...oddStrings) },
          { weight: 1, arbitrary: fc.string() },
          { weight: 1, arbitrary: fc.string({ unit: 'binary' }) },
          { weight: 1, arbitrary: fc.tuple(fc.string(), fc.constantFrom('\u0000', '\u0001', '\u001f', '\u007f', '\r\n')).map(([text, bad]) => `${text}${bad}${text}`) },
        );
      case 'Int':
        return fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 100, 101, 2_147_483_647, -2_147_483_648), fc.constant(2 ** 40));
      case 'Float':
        return fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(0, -1, 1e308));
      case 'Boolean':
        return fc.boolean();
      case 'DateTime':
        return fc.oneof(fc.constantFrom(...oddDates), fc.date({ noInvalidDate: true }).map((date) => date.toISOString()), fc.string());
      case 'JSONObject':
        return fc.oneof(
          fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
          fc.constantFrom<unknown>({ '\u0000': 'x' }, { a: 'b\u0000' }, deepObject(2_000), { a: [[[[[[[[[]]]]]]]]] }, 'not an object', []),
        );
      default:
        return fc.anything();
    }
  }

  /**
   * Values for an input type. `typed` values fit the declared types (odd strings, ids, dates, JSON
   * and numbers within them), so they reach the resolvers; untyped ones also break the types
   * (nulls where not allowed, unknown fields, wrong kinds, long lists).
   */
  function inputArbitrary(type: GraphQLInputType, typed: boolean, depth = 0): fc.Arbitrary<unknown> {
    const sometimes = (arbitrary: fc.Arbitrary<unknown>, odd: fc.Arbitrary<unknown>) =>
      typed ? arbitrary : fc.oneof({ weight: 4, arbitrary }, { weight: 1, arbitrary: odd });
    if (isNonNullType(type)) return sometimes(inputArbitrary(type.ofType, typed, depth), fc.constant(null));
    const nullable = (arbitrary: fc.Arbitrary<unknown>) => fc.oneof({ weight: 6, arbitrary }, { weight: 1, arbitrary: fc.constant(null) });
    if (isListType(type)) {
      const item = inputArbitrary(type.ofType, typed, depth + 1);
      return nullable(sometimes(fc.array(item, { maxLength: 4 }), fc.oneof(fc.array(item, { minLength: 101, maxLength: 150 }), item)));
    }
    if (isEnumType(type)) return nullable(sometimes(fc.constantFrom(...type.getValues().map((value) => value.name)), fc.string()));
    if (isScalarType(type)) return nullable(sometimes(scalarArbitrary(type.name), fc.anything()));
    if (isInputObjectType(type)) {
      if (depth > 3) return fc.constant(null);
      const fields = Object.values(type.getFields());
      const record = fc.record(Object.fromEntries(fields.map((field) => [field.name, inputArbitrary(field.type, typed, depth + 1)])), {
        requiredKeys: fields.filter((field) => isNonNullType(field.type)).map((field) => field.name),
      });
      return nullable(sometimes(record, record.map((value) => ({ ...(value as object), unknownField: 1 }))));
    }
    return fc.constant(null);
  }

  /** A selection that reaches every result union's error members. */
  function selection(type: GraphQLOutputType): string {
    const named = getNamedType(type);
    if (isScalarType(named) || isEnumType(named)) return '';
    if (isUnionType(named) || isAbstractType(named)) return '{ __typename ... on Error { message code } }';
    if (isObjectType(named)) {
      const scalars = Object.values(named.getFields())
        .filter((field) => field.args.length === 0 && (isScalarType(getNamedType(field.type)) || isEnumType(getNamedType(field.type))))
        .map((field) => field.name)
        .slice(0, 5);
      return `{ __typename ${scalars.join(' ')} }`;
    }
    return '';
  }

  function documentFor(kind: 'query' | 'mutation' | 'subscription', field: GraphQLField<unknown, unknown>): string {
    const args = field.args as readonly GraphQLArgument[];
    const definitions = args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
    const call = args.length ? `(${args.map((arg) => `${arg.name}: $${arg.name}`).join(', ')})` : '';
    return `${kind} Fuzz${definitions ? `(${definitions})` : ''} { result: ${field.name}${call} ${selection(field.type)} }`;
  }

  const roots = [
    ['query', schema.getQueryType()!],
    ['mutation', schema.getMutationType()!],
    ['subscription', schema.getSubscriptionType()!],
  ] as const;
  const fields = roots.flatMap(([kind, type]) => Object.values(type.getFields()).map((field) => [kind, field.name, field] as const));

  it('covers every query, mutation and subscription of the schema', () => {
    expect(fields.length).toBeGreaterThan(30);
    expect(fields.filter(([kind]) => kind === 'subscription').length).toBe(Object.keys(schema.getSubscriptionType()!.getFields()).length);
  });

  /**
   * A subscription over SSE: its first message (an error, or the first event), or nothing within a
   * moment for one that subscribed and waits for changes. The stream is then closed.
   */
  async function subscribe(token: string, document: string, variables: unknown): Promise<{ status: number; text: string }> {
    const controller = new AbortController();
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: document, variables }),
      signal: controller.signal,
    });
    let text = '';
    if (response.body) {
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const quiet = setTimeout(() => controller.abort(), 250);
      try {
        while (!/^data: /m.test(text)) {
          const { value, done } = await reader.read();
          if (done) break;
          text += value;
        }
      } catch {
        // Aborted: it subscribed and nothing happened, which is fine.
      } finally {
        clearTimeout(quiet);
        controller.abort();
      }
    }
    return { status: response.status, text };
  }

  it.each(fields)('%s %s: no 5xx, no crash, and a refusal changes nothing', async (kind, _name, field) => {
    const variablesOf = (typed: boolean) => fc.record(Object.fromEntries(field.args.map((arg) => [arg.name, inputArbitrary(arg.type, typed)])));
    const variables = fc.oneof({ weight: 4, arbitrary: variablesOf(true) }, { weight: 1, arbitrary: variablesOf(false) });
    const who = fc.constantFrom('owner', 'member', 'service', 'other-account') as fc.Arbitrary<'owner' | 'member' | 'service' | 'other-account'>;
    const document = documentFor(kind, field);
    await fc.assert(
      fc.asyncProperty(variables, who, async (values, as) => {
        const token = as === 'owner' ? a.owner.token : as === 'member' ? a.member.token : as === 'service' ? a.service.token : b.member.token;
        if (kind === 'subscription') {
          const { status, text } = await subscribe(token, document, values);
          expect(status, 'never a 5xx').toBeLessThan(500);
          for (const line of text.split('\n').filter((line) => line.startsWith('data: '))) {
            const message = JSON.parse(line.slice(6)) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
            for (const error of message.errors ?? []) {
              expect(error.message, `a crash behind ${field.name}`).not.toBe('Unexpected error.');
              expect(error.extensions?.code, `error without a code: ${error.message}`).toBeTypeOf('string');
              expect(error.extensions?.unexpected).toBeUndefined();
            }
          }
          return;
        }
        const before = kind === 'mutation' ? await digest() : '';
        const response = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': randomUUID() },
          body: JSON.stringify({ query: document, variables: values }),
        });
        expect(response.status, 'never a 5xx').toBeLessThan(500);
        const text = await response.text();
        const body = JSON.parse(text) as { data?: { result?: { __typename?: string } | null } | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
        for (const error of body.errors ?? []) {
          expect(error.message, `a crash behind ${field.name}`).not.toBe('Unexpected error.');
          expect(error.extensions?.code, `error without a code: ${error.message}`).toBeTypeOf('string');
          expect(error.extensions?.unexpected).toBeUndefined();
        }
        expect(text).not.toMatch(/\b(select|insert|update|delete)\b .* (from|into|set)\b/i);
        const refused = (body.errors?.length ?? 0) > 0 || /Error$/.test(body.data?.result?.__typename ?? '');
        if (kind === 'mutation' && refused) expect(await digest(), `a refused ${field.name} changed rows`).toBe(before);
      }),
      { numRuns: RUNS_PER_FIELD, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined, endOnFailure: true },
    );
  });
});
