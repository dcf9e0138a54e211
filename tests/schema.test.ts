import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { printSchemaFile, SCHEMA_FILE } from '../server/graphql/print.js';

it('schema.graphql is the schema the code builds (run `npm run schema:print` after changing it)', () => {
  expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(printSchemaFile());
});
