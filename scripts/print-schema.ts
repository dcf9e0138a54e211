/** Writes schema.graphql, the partners' contract, from the code (`npm run schema:print`). */
import { writeFileSync } from 'node:fs';
import { printSchemaFile, SCHEMA_FILE } from '../server/graphql/print.js';

writeFileSync(SCHEMA_FILE, printSchemaFile());
process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
