/**
 * Benchmark: refresh dispatch under load. `BENCH_SOURCES` (default 50,000) data sources are due at
 * once; `BENCH_WORKERS` (default 4) workers, spread over two `server/main.ts` gateway processes on
 * one PostgreSQL (`BENCH_DATABASE_URL`, a scratch database: rows are left behind), claim them with
 * `claimRefreshes` over HTTP in batches of `BENCH_BATCH` (default 100) until none is left.
 * Prints claims (data sources leased) per second, claim requests per second, p50/p95 of a claim
 * request, duplicates (a data source handed out twice: must be 0, checked in the answers and in
 * the database) and the load average before and after.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { sql } from 'drizzle-orm';
import { openPostgres, rowsOf } from '../server/db/client.js';
import { connections, dataSources } from '../server/db/schema.js';
import { createAccount, createUser } from '../server/domain/accounts.js';
import { issueApiToken } from '../server/domain/api-tokens.js';
import { startScript } from '../tests/support/processes.js';

const SOURCES = Number(process.env.BENCH_SOURCES ?? 50_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const GATEWAYS = 2;

const CLAIM = `mutation($max: Int!) {
  claimRefreshes(input: { integrations: ["google-analytics-4"], max: $max }) {
    __typename
    ... on ClaimRefreshesSuccess { claims { dataSource { id resourceId filter } refreshRun { id } connection { id } } }
    ... on Error { message }
  }
}`;

const load = () => loadavg().map((value) => value.toFixed(2)).join(' ');

async function main() {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) {
    process.stdout.write('refresh-dispatch: skipped (set BENCH_DATABASE_URL to a scratch PostgreSQL database)\n');
    return;
  }
  const handle = await openPostgres(url, { max: 4 });
  await handle.migrate();
  const db = handle.db;
  const suffix = randomBytes(4).toString('hex');
  const { account, owner } = await createAccount(db, { name: 'Dispatch bench', owner: { email: `owner-${suffix}@bench.test`, name: 'Owner' } });
  const admin = await createUser(db, { accountId: account.id, email: `admin-${suffix}@bench.test`, name: 'Admin', role: 'ADMIN' });
  const { token } = await issueApiToken(db, { accountId: account.id, userId: admin.id, name: 'bench worker', kind: 'SERVICE' });
  const conns = await db
    .insert(connections)
    .values([...Array(100)].map((_, i) => ({ accountId: account.id, ownerId: owner.id, integrationKey: 'google-analytics-4', status: 'ACTIVE' as const, name: `GA4 ${i}`, shared: true })))
    .returning({ id: connections.id });
  const due = new Date(Date.now() - 60_000).toISOString();
  for (let start = 0; start < SOURCES; start += 5_000) {
    await db.insert(dataSources).values(
      Array.from({ length: Math.min(5_000, SOURCES - start) }, (_, j) => {
        const i = start + j;
        return { accountId: account.id, connectionId: conns[i % conns.length].id, resourceId: `properties/${i}`, name: `Source ${i}`, schedule: '0 * * * *', filter: { i }, nextRefreshAt: due };
      }),
    );
  }
  await db.execute(sql`analyze data_sources`);

  const secretKey = `bench:${randomBytes(32).toString('base64')}`;
  const gateways: { url: string; stop: () => Promise<number | null> }[] = [];
  for (let i = 0; i < GATEWAYS; i++) {
    const gateway = await startScript(
      'server/main.ts',
      // No background jobs: the health job would check (and, lacking credentials, disconnect) the bench's connections mid-run.
      { DATABASE_URL: url, PATCHBAY_SECRET_KEY: secretKey, PORT: '0', LOG_LEVEL: 'error', PATCHBAY_SEED_DEMO: 'false', PATCHBAY_RATE_LIMIT_SERVICE: '0', PATCHBAY_JOBS: 'false' },
      /GraphQL:\s+\S+/,
    );
    gateways.push({ url: /GraphQL:\s+(\S+)\/graphql/.exec(gateway.stdout())![1], stop: gateway.stop });
  }
  try {
    const loadBefore = load();
    const seen = new Map<string, number>();
    const latencies: number[] = [];
    let requests = 0;
    const started = performance.now();
    await Promise.all(
      [...Array(WORKERS)].map(async (_, worker) => {
        const base = gateways[worker % GATEWAYS].url;
        for (;;) {
          const sent = performance.now();
          const response = await fetch(`${base}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ query: CLAIM, variables: { max: BATCH } }),
          });
          const body = (await response.json()) as { data?: { claimRefreshes: { __typename: string; message?: string; claims?: { dataSource: { id: string } }[] } }; errors?: unknown };
          latencies.push(performance.now() - sent);
          requests += 1;
          const result = body.data?.claimRefreshes;
          if (!result || result.__typename !== 'ClaimRefreshesSuccess') throw new Error(`claim failed: ${JSON.stringify(body).slice(0, 300)}`);
          if (result.claims!.length === 0) return;
          for (const claim of result.claims!) seen.set(claim.dataSource.id, (seen.get(claim.dataSource.id) ?? 0) + 1);
        }
      }),
    );
    const ms = performance.now() - started;
    const claimed = [...seen.values()].reduce((sum, n) => sum + n, 0);
    const duplicates = claimed - seen.size;
    const [check] = rowsOf<{ runs: number; sources: number; leased: number }>(
      await db.execute(sql`
        select count(*)::int as runs, count(distinct r.data_source_id)::int as sources,
          (select count(*)::int from data_sources where account_id = ${account.id} and refresh_run_id is not null) as leased
        from refresh_runs r where r.account_id = ${account.id} and r.status = 'RUNNING'`),
    );
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(0);
    process.stdout.write(
      [
        `refresh-dispatch on PostgreSQL: ${SOURCES} due data sources, ${WORKERS} workers over ${GATEWAYS} gateway processes, batches of ${BATCH}`,
        `  claimed:          ${claimed} (${seen.size} distinct) in ${(ms / 1000).toFixed(1)} s`,
        `  claims/s:         ${Math.round((claimed / ms) * 1000)} data sources leased per second (${Math.round((requests / ms) * 1000)} claim requests/s, ${requests} requests)`,
        `  claim request:    p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms (HTTP, including the answer's runs, sources and connections)`,
        `  duplicates:       ${duplicates} in the answers; database: ${check.runs} RUNNING runs on ${check.sources} data sources, ${check.leased} leased`,
        `  load average:     before ${loadBefore}, after ${load()} (1, 5, 15 min; ${cpus().length} cores)`,
        '',
      ].join('\n'),
    );
    if (duplicates !== 0 || check.runs !== check.sources || seen.size !== SOURCES) process.exitCode = 1;
  } finally {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await handle.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
