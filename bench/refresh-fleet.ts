/**
 * Benchmark: keeping a fleet of OAuth connections fresh with the background refresh job.
 * `BENCH_FLEET_CONNECTIONS` (default 10,000) connections whose access tokens all fall due at
 * once, refreshed by N gateway processes (server/main.ts, jobs on) against oidc-provider (real
 * rotation with reuse detection, in its own process) on PostgreSQL (`BENCH_DATABASE_URL`,
 * required). For each N in `BENCH_FLEET_GATEWAYS` (default "1,2,3"), prints refreshes/s, the
 * time until all are fresh, duplicates and reuse detections, SQL statements and gateway CPU per
 * refresh (CPU from /proc), the provider's and PostgreSQL's CPU, and the load average.
 * `BENCH_FLEET_CONCURRENCY` sets PATCHBAY_REFRESH_CONCURRENCY (default 48, where 3 gateways reached 200/s here).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { and, eq, sql } from 'drizzle-orm';
import { createApp } from '../server/app.js';
import { type Database, openPostgres, rowsOf } from '../server/db/client.js';
import { connections, credentials, integrations } from '../server/db/schema.js';
import { createAccount } from '../server/domain/accounts.js';
import { issueApiToken } from '../server/domain/api-tokens.js';
import { Vault } from '../server/domain/vault.js';
import { createLog } from '../server/log.js';
import { type OAuthServer, registerOAuthIntegration } from '../tests/support/oauth-server.js';
import { TEST_ALLOW_PRIVATE_HOSTS } from '../tests/support/outbound.js';
import { startScript } from '../tests/support/processes.js';

const CONNECTIONS = Number(process.env.BENCH_FLEET_CONNECTIONS ?? 10_000);
const GATEWAYS = (process.env.BENCH_FLEET_GATEWAYS ?? '1,2,3').split(',').map(Number);
const CONCURRENCY = Number(process.env.BENCH_FLEET_CONCURRENCY ?? 48);
const TIMEOUT_MS = Number(process.env.BENCH_FLEET_TIMEOUT_MS ?? 300_000);
const TICKS_PER_SECOND = 100;

const loadAverage = () => loadavg().map((value) => value.toFixed(2)).join(' ');

/** CPU time of a process so far, in ms (utime + stime from /proc/<pid>/stat). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

interface ProviderInfo {
  issuer: string;
  clientId: string;
  clientSecret: string;
  statsPort: number;
  tokens: string[];
  pid: number;
  stop(): void;
}

function startProvider(mint: number): Promise<ProviderInfo> {
  const script = fileURLToPath(new URL('./refresh-fleet-provider.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, MINT: String(mint) }, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      // oidc-provider prints notices on stdout too: the answer is the line that starts with {"issuer".
      const line = out.split('\n').find((candidate, i, lines) => candidate.startsWith('{"issuer"') && i < lines.length - 1);
      if (line) resolve({ ...JSON.parse(line), pid: child.pid!, stop: () => child.kill('SIGTERM') });
    });
    child.on('exit', (code) => reject(new Error(`the provider exited ${code}`)));
  });
}

async function providerStats(provider: ProviderInfo): Promise<{ refreshGrants: number; reuse: number; errors: number; samples: string[] }> {
  return (await fetch(`http://127.0.0.1:${provider.statsPort}/bench-stats`)).json() as Promise<{ refreshGrants: number; reuse: number; errors: number; samples: string[] }>;
}

/** A gateway process's SQL statements so far (it writes them to its stats file on SIGUSR2). */
async function statementsOf(pid: number, file: string): Promise<number> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 100; i++) {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { statements: number }).statements;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error('the gateway did not report its statements');
}

/** The PostgreSQL backends serving the gateways' pools (named after their pid). */
async function backendsOf(db: Database, pids: number[]): Promise<number[]> {
  const rows = rowsOf<{ pid: number; application_name: string }>(await db.execute(sql`select pid, application_name from pg_stat_activity where application_name like 'patchbay %'`));
  return rows.filter((row) => pids.some((pid) => row.application_name.includes(` ${pid}#`))).map((row) => Number(row.pid));
}

async function run(db: Database, secretKey: string, vault: Vault, gateways: number) {
  const provider = await startProvider(CONNECTIONS);
  const suffix = randomBytes(4).toString('hex');
  const { account, owner } = await createAccount(db, { name: `Fleet bench ${suffix}`, owner: { email: `owner-${suffix}@bench.test`, name: 'Owner' } });
  const { token } = await issueApiToken(db, { accountId: account.id, userId: owner.id, name: 'admin', kind: 'USER' });
  // The integration is registered and configured as an admin would, through the API.
  const app = createApp({ db, vault, log: createLog('error') });
  const base = await app.start(0);
  await registerOAuthIntegration(base, token, provider as unknown as OAuthServer);
  await app.stop();
  const [custom] = await db.select({ id: integrations.id }).from(integrations).where(and(eq(integrations.accountId, account.id), eq(integrations.key, 'test-oidc')));
  // Fresh for now (out of the job's way while the gateways start); made due all at once below.
  const later = new Date(Date.now() + 2 * 3_600_000).toISOString();
  const storedAt = new Date(Date.now() - 3_600_000).toISOString();
  for (let start = 0; start < CONNECTIONS; start += 1_000) {
    const rows = await db
      .insert(connections)
      .values(
        provider.tokens.slice(start, start + 1_000).map((_, i) => ({
          accountId: account.id,
          ownerId: owner.id,
          integrationKey: 'test-oidc',
          customIntegrationId: custom.id,
          status: 'ACTIVE' as const,
          name: `Fleet ${start + i}`,
          accessTokenExpiresAt: later,
          nextCheckAt: new Date(Date.now() + 86_400_000).toISOString(),
        })),
      )
      .returning({ id: connections.id });
    await db.insert(credentials).values(
      rows.map((row, i) => ({
        connectionId: row.id,
        accountId: account.id,
        updatedAt: storedAt,
        ...vault.seal(row.id, { accessToken: `seeded-${start + i}`, refreshToken: provider.tokens[start + i], expiresAt: later, tokenType: 'Bearer' }),
      })),
    );
  }
  const started = await Promise.all(
    Array.from({ length: gateways }, async (_, index) => {
      const statsFile = path.join(tmpdir(), `patchbay-fleet-${process.pid}-${index}.json`);
      const gateway = await startScript(
        'bench/refresh-fleet-gateway.ts',
        {
          DATABASE_URL: process.env.BENCH_DATABASE_URL,
          PATCHBAY_SECRET_KEY: secretKey,
          PORT: '0',
          LOG_LEVEL: 'error',
          PATCHBAY_SEED_DEMO: 'false',
          PATCHBAY_ALLOW_PRIVATE_HOSTS: TEST_ALLOW_PRIVATE_HOSTS,
          PATCHBAY_JOBS: 'true',
          PATCHBAY_REFRESH_CONCURRENCY: String(CONCURRENCY),
          STATS_FILE: statsFile,
        },
        /GraphQL:\s+\S+/,
        120_000,
      );
      return { ...gateway, statsFile };
    }),
  );
  let stopped = false;
  try {
    const pids = started.map((gateway) => gateway.pid);
    const backends = await backendsOf(db, pids);
    const statementsBefore = await Promise.all(started.map((gateway) => statementsOf(gateway.pid, gateway.statsFile)));
    const cpuBefore = pids.map(cpuMs);
    const providerCpuBefore = cpuMs(provider.pid);
    const postgresCpuBefore = backends.map(cpuMs);
    const loadBefore = loadAverage();
    const t0 = Date.now();
    await db.execute(sql`update ${connections} set access_token_expires_at = now() - interval '1 second' where account_id = ${account.id}`);
    let fresh = 0;
    let broken = 0;
    const freshAfter = new Date(t0 + 30 * 60_000).toISOString();
    while (Date.now() - t0 < TIMEOUT_MS) {
      const [counts] = rowsOf<{ fresh: number; broken: number }>(
        await db.execute(sql`
          select count(*) filter (where access_token_expires_at > ${freshAfter}::timestamptz)::int as fresh,
                 count(*) filter (where status <> 'ACTIVE')::int as broken
          from ${connections} where account_id = ${account.id}`),
      );
      fresh = counts.fresh;
      broken = counts.broken;
      if (fresh + broken >= CONNECTIONS) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const elapsedMs = Date.now() - t0;
    const gatewayCpu = pids.map(cpuMs).reduce((sum, value, i) => sum + value - cpuBefore[i], 0);
    const providerCpu = cpuMs(provider.pid) - providerCpuBefore;
    const postgresCpu = backends.map(cpuMs).reduce((sum, value, i) => sum + value - postgresCpuBefore[i], 0);
    const statementsAfter = await Promise.all(started.map((gateway) => statementsOf(gateway.pid, gateway.statsFile)));
    const statements = statementsAfter.reduce((sum, value, i) => sum + value - statementsBefore[i], 0);
    // Duplicates are counted once the refreshes in flight have finished (the gateways stopped).
    await Promise.all(started.map((gateway) => gateway.stop()));
    stopped = true;
    const stats = await providerStats(provider);
    const [attempts] = rowsOf<{ succeeded: number; duplicates: number }>(
      await db.execute(sql`
        select count(*)::int as succeeded, (count(*) - count(distinct connection_id))::int as duplicates
        from token_refreshes where account_id = ${account.id} and outcome = 'SUCCEEDED'`),
    );
    const refreshes = stats.refreshGrants;
    console.log(`refresh fleet [postgres]: ${CONNECTIONS} connections due at once, ${gateways} gateway process(es) with jobs on, PATCHBAY_REFRESH_CONCURRENCY=${CONCURRENCY}`);
    console.log(
      `  ${fresh === CONNECTIONS ? 'all fresh' : `${fresh} of ${CONNECTIONS} fresh (${broken} not ACTIVE)`} after ${(elapsedMs / 1000).toFixed(1)} s: ${((fresh / elapsedMs) * 1000).toFixed(0)} refreshes/s`,
    );
    console.log(
      `  provider refresh grants ${refreshes} (stored ${attempts.succeeded}), duplicates ${attempts.duplicates}, reuse detections ${stats.reuse}, refused grants ${stats.errors}${stats.errors ? ` (${stats.samples.join('; ')})` : ''}, not ACTIVE ${broken}`,
    );
    console.log(
      `  per refresh: ${(statements / Math.max(1, fresh)).toFixed(2)} SQL statements, ${(gatewayCpu / Math.max(1, fresh)).toFixed(2)} ms gateway CPU (all gateways), ${(providerCpu / Math.max(1, fresh)).toFixed(2)} ms provider CPU, ${(postgresCpu / Math.max(1, fresh)).toFixed(2)} ms PostgreSQL CPU (the gateways' backends)`,
    );
    console.log(`  CPU over the run: gateways ${(gatewayCpu / 1000).toFixed(1)} s, provider ${(providerCpu / 1000).toFixed(1)} s, PostgreSQL ${(postgresCpu / 1000).toFixed(1)} s in ${(elapsedMs / 1000).toFixed(1)} s wall`);
    console.log(`  load average ${loadBefore} at start, ${loadAverage()} at end`);
    return { gateways, elapsedMs, fresh };
  } finally {
    if (!stopped) await Promise.all(started.map((gateway) => gateway.stop()));
    provider.stop();
    // Out of later runs' way: a gateway of another run must not find these due in an hour.
    await db.execute(sql`update ${connections} set status = 'REVOKED' where account_id = ${account.id}`);
  }
}

async function main() {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) {
    console.log('refresh fleet: skipped; set BENCH_DATABASE_URL to a PostgreSQL database (the gateways are separate processes)');
    return;
  }
  const handle = await openPostgres(url);
  await handle.migrate();
  const secretKey = `bench:${randomBytes(32).toString('base64')}`;
  const vault = Vault.fromKeyList(secretKey);
  const results = [];
  try {
    for (const gateways of GATEWAYS) results.push(await run(handle.db, secretKey, vault, gateways));
    const one = results.find((result) => result.gateways === 1);
    if (one && results.length > 1) {
      const rate = (result: { elapsedMs: number; fresh: number }) => result.fresh / result.elapsedMs;
      console.log(`  scaling: ${results.map((result) => `${result.gateways} gateway(s) ${(rate(result) / rate(one)).toFixed(2)}x`).join(', ')} of 1 gateway's refreshes/s`);
    }
  } finally {
    await handle.close();
  }
}

await main();
