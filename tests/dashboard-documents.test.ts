/**
 * The dashboard's GraphQL documents against the server's schema: every query, mutation and
 * subscription the client sends must validate, so renaming a field breaks this test, not a page.
 */
import { isInterfaceType, parse, print, validate, type DocumentNode, type OperationDefinitionNode, type TypeNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as documents from '../client/src/documents.js';
import { createApp, type App } from '../server/app.js';
import { openPglite, type DatabaseHandle } from '../server/db/client.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { queryCost } from '../server/edge/cost.js';
import { DEFAULT_LIMITS } from '../server/edge/limits.js';
import { schema } from '../server/graphql/schema.js';
import { createLog } from '../server/log.js';
import { testVault } from './support/fixtures.js';

const operations = Object.entries(documents).filter(
  (entry): entry is [string, DocumentNode] =>
    typeof entry[1] === 'object' && entry[1] !== null && 'definitions' in entry[1] && entry[1].definitions.some((definition) => definition.kind === 'OperationDefinition'),
);

describe('the dashboard’s GraphQL documents', () => {
  it('include every kind of operation the dashboard sends', () => {
    expect(operations.length).toBeGreaterThanOrEqual(22);
  });

  it.each(operations)('%s validates against the schema', (_name, document) => {
    // Printed and parsed again: the client builds its AST with a lighter parser.
    const parsed = parse(print(document));
    // validate() skips the fields of an operation whose root type the schema lacks: check it first.
    for (const definition of parsed.definitions) {
      if (definition.kind === 'OperationDefinition') expect(schema.getRootType(definition.operation), definition.operation).toBeDefined();
    }
    expect(validate(schema, parsed).map((error) => error.message)).toEqual([]);
  });

  it('lists exactly the types implementing Error (the cache matches `... on Error` by this list)', () => {
    const error = schema.getType('Error');
    if (!isInterfaceType(error)) throw new Error('Error is not an interface');
    const implementations = schema.getPossibleTypes(error).map((type) => type.name).sort();
    expect([...documents.ERROR_TYPES].sort()).toEqual(implementations);
  });
});

/**
 * The largest variables the dashboard sends: its page sizes where it names them, else the
 * gateway's maximum of 100, 100 ids per
 * `nodes` call (catch-up splits longer lists), and inputs that pass validation.
 */
function largestVariables(operation: OperationDefinitionNode): Record<string, unknown> {
  const id = encodeGlobalId('Connection', '00000000-0000-4000-8000-000000000000');
  const inputs: Record<string, unknown> = {
    MarkNotificationsReadInput: { all: true },
    StartConnectionInput: { integration: 'hubspot', name: 'x', returnTo: 'http://app.example.test/' },
    ReauthenticateConnectionInput: { id, returnTo: 'http://app.example.test/' },
    UpdateConnectionInput: { id, name: 'x' },
    ConfigureIntegrationInput: { integration: 'hubspot', clientId: 'x', clientSecret: 'x', scopes: Array.from({ length: 50 }, (_, i) => `${i}`.padEnd(200, 'x')) },
    CreateReconnectLinkInput: { connectionId: id, expiresIn: 86_400 },
    RedeemReconnectLinkInput: { token: 'x', returnTo: 'http://app.example.test/' },
    UpdateDataSourceInput: { id: encodeGlobalId('DataSource', '00000000-0000-4000-8000-000000000000'), name: 'x', schedule: '0 6 * * *' },
    RegisterIntegrationInput: { key: 'x', name: 'x', authMethod: 'OAUTH2', issuerUrl: 'https://issuer.example.test' },
    CreateApiTokenInput: { name: 'x', kind: 'USER' },
    CreateWebhookEndpointInput: { url: 'https://hooks.example.test/', description: 'x', integrationKeys: ['hubspot'] },
    UpdateWebhookEndpointInput: { id: encodeGlobalId('WebhookEndpoint', '00000000-0000-4000-8000-000000000000'), enabled: true },
  };
  const value = (type: TypeNode): unknown => {
    if (type.kind === 'NonNullType') return value(type.type);
    if (type.kind === 'ListType') return Array.from({ length: 100 }, () => value(type.type));
    const name = type.name.value;
    if (name in inputs) return inputs[name];
    return { ID: id, String: 'x', Int: 100, Boolean: true }[name];
  };
  const named: Record<string, unknown> = { runs: documents.RUNS_PAGE_SIZE, events: documents.EVENTS_PAGE_SIZE };
  return Object.fromEntries(
    (operation.variableDefinitions ?? []).map(({ variable, type }) => [variable.name.value, named[variable.name.value] ?? value(type)]),
  );
}

describe('the dashboard’s GraphQL documents at the edge', () => {
  let handle: DatabaseHandle;
  let app: App;
  beforeAll(async () => {
    handle = await openPglite();
    app = createApp({ db: handle.db, vault: testVault, log: createLog('silent') });
  });
  afterAll(async () => {
    await app?.stop();
    await handle?.close();
  });

  it.each(operations)('%s passes the default document limits with its largest variables', (_name, document) => {
    // The gateway's own parse and validate: graphql-armor's token, depth, alias and directive limits.
    const enveloped = app.yoga.getEnveloped({ request: new Request('http://dashboard.test/graphql', { method: 'POST' }) } as never);
    const parsed = enveloped.parse(print(document));
    expect(enveloped.validate(enveloped.schema, parsed).map((error: Error) => error.message)).toEqual([]);
    const operation = (parsed as DocumentNode).definitions.find((definition): definition is OperationDefinitionNode => definition.kind === 'OperationDefinition')!;
    const measured = queryCost(enveloped.schema, parsed, largestVariables(operation), undefined, {});
    expect(measured, 'variables fit the operation').not.toBeNull();
    expect(measured!.cost).toBeLessThanOrEqual(DEFAULT_LIMITS.maxCost);
  });

  it('the depth limit is as low as the deepest of them allows: one level less refuses at least one', async () => {
    const tighter = createApp({
      db: handle.db,
      vault: testVault,
      log: createLog('silent'),
      edge: { production: false, graphiql: false, corsOrigins: [], document: { limits: { ...DEFAULT_LIMITS, maxDepth: DEFAULT_LIMITS.maxDepth - 1 }, introspection: true } },
    });
    try {
      const enveloped = tighter.yoga.getEnveloped({ request: new Request('http://dashboard.test/graphql', { method: 'POST' }) } as never);
      const refused = operations.filter(([, document]) => enveloped.validate(enveloped.schema, enveloped.parse(print(document))).length > 0).map(([name]) => name);
      expect(refused.length).toBeGreaterThan(0);
    } finally {
      await tighter.stop();
    }
  });
});
