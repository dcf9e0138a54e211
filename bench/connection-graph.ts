/**
 * Benchmark: the dashboard's connection graph (viewer's account -> 50 connections -> integration,
 * owner, 10 data sources -> last 3 refresh runs) over HTTP against a real server, on PGlite and,
 * when BENCH_DATABASE_URL is set, on PostgreSQL. Data: `seedBulk` with the issue's shape
 * (50 accounts x 200 connections x 5 sources x 10 runs by default; BENCH_SHAPE=small for 5 x 200 x 5 x 10).
 * Prints p50/p95/mean latency, requests per second and SQL statements per request.
 */
import { randomBytes } from 'node:crypto';
import { createApp } from '../server/app.js';
import { Vault } from '../server/domain/vault.js';
import { type DatabaseHandle, executedStatements, openPglite, openPostgres } from '../server/db/client.js';
import { issueApiToken } from '../server/domain/api-tokens.js';
import { createLog } from '../server/log.js';
import { seedBulk } from '../server/seed/bulk.js';

const GRAPH = `query Graph { viewer { account { connections(first: 50) { nodes {
  id name status integration { key name } owner { name }
  dataSources(first: 10) { nodes { name refreshRuns(first: 3) { nodes { status startedAt rows } } } } } } } } }`;

const shape =
  process.env.BENCH_SHAPE === 'small'
    ? { accounts: 5, connections: 200, sources: 5, runs: 10 }
    : { accounts: 50, connections: 200, sources: 5, runs: 10 };
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200);

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function bench(name: string, handle: DatabaseHandle) {
  await handle.migrate();
  const seedStart = performance.now();
  const [first] = await seedBulk(handle.db, shape);
  const seedSeconds = (performance.now() - seedStart) / 1000;
  const { token } = await issueApiToken(handle.db, { accountId: first.accountId, userId: first.ownerId, name: 'bench', kind: 'USER' });
  const app = createApp({ db: handle.db, log: createLog('error'), vault: Vault.fromKeyList(randomBytes(32).toString('base64')) });
  const url = await app.start(0);
  const request = async () => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: GRAPH }),
    });
    const body = (await response.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
  };
  for (let i = 0; i < 20; i++) await request(); // warm-up
  // The server handles requests in its own async context, so count process-wide around one request.
  const before = executedStatements();
  await request();
  const statements = executedStatements() - before;
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    await request();
    times.push(performance.now() - t0);
  }
  const elapsed = (performance.now() - started) / 1000;
  await app.stop();
  await handle.close();
  times.sort((a, b) => a - b);
  const mean = times.reduce((sum, t) => sum + t, 0) / times.length;
  return {
    database: name,
    shape: `${shape.accounts}x${shape.connections}x${shape.sources}x${shape.runs}`,
    seedSeconds: Number(seedSeconds.toFixed(1)),
    statementsPerRequest: statements,
    p50ms: Number(percentile(times, 50).toFixed(1)),
    p95ms: Number(percentile(times, 95).toFixed(1)),
    meanMs: Number(mean.toFixed(1)),
    requestsPerSecond: Number((ITERATIONS / elapsed).toFixed(1)),
  };
}

const results = [await bench('pglite', await openPglite())];
if (process.env.BENCH_DATABASE_URL) results.push(await bench('postgres', await openPostgres(process.env.BENCH_DATABASE_URL)));
console.table(results);
