/** The printed schema: what `npm run schema:print` writes and a test compares. */
import path from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './schema.js';

/** Absolute path of the committed schema.graphql. */
export const SCHEMA_FILE = path.join(PROJECT_ROOT, 'schema.graphql');

/** The schema in SDL, sorted, with a trailing newline. */
export function printSchemaFile(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
