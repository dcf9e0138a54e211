/**
 * Benchmark: one token sends BENCH_REQUESTS (default 2000) small queries to one gateway, 10 at a
 * time, with the default USER limit (600/60s) in each store: memory (PGlite), the database
 * (PostgreSQL, when BENCH_DATABASE_URL is set) and Redis (BENCH_REDIS_URL, with PostgreSQL), and
 * once with limits off as the baseline. Prints how many were served and refused, requests per
 * second, and SQL statements per served and per refused request (drizzle logger, token lookup
 * included).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createApp } from '../server/app.js';
import { type DatabaseHandle, executedStatements, openPglite, openPostgres } from '../server/db/client.js';
import { createAccount } from '../server/domain/accounts.js';
import { issueApiToken } from '../server/domain/api-tokens.js';
import { Vault } from '../server/domain/vault.js';
import { DEFAULT_RATE_LIMITS, RATE_LIMITS_OFF, type RateLimitStore } from '../server/edge/rate-limit.js';
import { createLog } from '../server/log.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = 10;
const QUERY = JSON.stringify({ query: '{ viewer { user { email } } }' });

async function run(database: string, handle: DatabaseHandle, store: RateLimitStore | 'off') {
  const suffix = randomUUID().slice(0, 8);
  const { account, owner } = await createAccount(handle.db, { name: `Bench ${suffix}`, owner: { email: `o.${suffix}@bench.test`, name: 'Owner' } });
  const { token } = await issueApiToken(handle.db, { accountId: account.id, userId: owner.id, name: 'bench', kind: 'USER' });
  const app = createApp({
    db: handle.db,
    log: createLog('error'),
    vault: Vault.fromKeyList(randomBytes(32).toString('base64')),
    rateLimit: store === 'off' ? RATE_LIMITS_OFF : { limits: DEFAULT_RATE_LIMITS, store, keyPrefix: `bench:${suffix}` },
  });
  const url = await app.start(0);
  const request = async () => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: QUERY,
    });
    await response.arrayBuffer();
    return response.status;
  };
  // Statements of one served request, then (when limited) of one refused request, measured alone.
  const tally = { served: 0, refused: 0, other: 0 };
  const count = (status: number) => (status === 200 ? tally.served++ : status === 429 ? tally.refused++ : tally.other++);
  await request().then(count); // warm-up, also refreshes last_used_at
  let before = executedStatements();
  count(await request());
  const servedStatements = executedStatements() - before;
  const started = performance.now();
  let next = 2;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) count(await request());
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  before = executedStatements();
  const last = await request();
  const refusedStatements = last === 429 ? executedStatements() - before : null;
  await app.stop();
  return {
    database,
    store: typeof store === 'object' ? 'redis' : store,
    requests: REQUESTS,
    served: tally.served,
    refused: tally.refused,
    other: tally.other,
    requestsPerSecond: Math.round((REQUESTS - 2) / seconds),
    statementsPerServed: servedStatements,
    statementsPerRefused: refusedStatements,
  };
}

const results = [];
const pglite = await openPglite();
await pglite.migrate();
results.push(await run('pglite', pglite, 'off'), await run('pglite', pglite, 'memory'));
await pglite.close();
if (process.env.BENCH_DATABASE_URL) {
  const postgres = await openPostgres(process.env.BENCH_DATABASE_URL);
  await postgres.migrate();
  results.push(await run('postgres', postgres, 'off'), await run('postgres', postgres, 'database'));
  if (process.env.BENCH_REDIS_URL) results.push(await run('postgres', postgres, { redisUrl: process.env.BENCH_REDIS_URL }));
  await postgres.close();
}
console.table(results);
