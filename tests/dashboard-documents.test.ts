/**
 * The dashboard's GraphQL documents against the server's schema: every query, mutation and
 * subscription the client sends must validate, so renaming a field breaks this test, not a page.
 */
import { isInterfaceType, parse, print, validate, type DocumentNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import * as documents from '../client/src/documents.js';
import { schema } from '../server/graphql/schema.js';

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
