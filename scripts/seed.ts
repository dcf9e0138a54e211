/**
 * `npm run seed -- --accounts 50 --connections 200 --sources 5 --runs 10`: fills the configured
 * database (DATABASE_URL, or the PGlite data dir) with benchmark data and prints a token for the
 * first account's owner.
 */
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readConfig } from '../server/config.js';
import { openDatabase } from '../server/db/client.js';
import { issueApiToken } from '../server/domain/api-tokens.js';
import { seedBulk } from '../server/seed/bulk.js';

function count(value: string | undefined, flag: string, fallback: number): number {
  const parsed = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 100_000) {
    process.stderr.write(`--${flag} must be an integer from 0 to 100000\n`);
    process.exit(2);
  }
  return parsed;
}

const { values } = parseArgs({
  options: {
    accounts: { type: 'string' },
    connections: { type: 'string' },
    sources: { type: 'string' },
    runs: { type: 'string' },
  },
});
const shape = {
  accounts: count(values.accounts, 'accounts', 50),
  connections: count(values.connections, 'connections', 200),
  sources: count(values.sources, 'sources', 5),
  runs: count(values.runs, 'runs', 10),
};
const config = readConfig();
if (!config.databaseUrl) mkdirSync(config.dataDir, { recursive: true });
// Bulk inserts of hundreds of thousands of rows: no statement or lock limits for this tool.
const database = await openDatabase({ ...config, timeouts: { statementMs: 0, lockMs: 0 } });
try {
  await database.migrate();
  const started = performance.now();
  const created = await seedBulk(database.db, shape);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const first = created[0];
  const token = first
    ? (await issueApiToken(database.db, { accountId: first.accountId, userId: first.ownerId, name: 'bench', kind: 'USER' })).token
    : undefined;
  process.stdout.write(
    `${JSON.stringify({ ...shape, seconds: Number(seconds), firstAccountId: first?.accountId, token }, null, 2)}\n`,
  );
} finally {
  await database.close();
}
