/**
 * Benchmark: handing out fresh access tokens (`connectionAccessToken`, SERVICE token) to many
 * concurrent callers. One gateway in this process (PostgreSQL when BENCH_DATABASE_URL is set,
 * else PGlite) with `BENCH_HANDOUT_CONNECTIONS` (default 50) OAuth connections whose tokens are
 * fresh, so no provider is asked; `BENCH_CONCURRENCY` (default 200) callers in another process
 * for `BENCH_DURATION_MS` (default 10 s) after a 2 s warm-up. Prints requests per second, p50/p99,
 * the gateway's CPU per hand-out and SQL statements per hand-out, with the load average.
 * `BENCH_CPU_PROFILE=<dir>` writes a CPU profile of the gateway over the measured load only.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createApp } from '../server/app.js';
import { executedStatements, openPglite, openPostgres } from '../server/db/client.js';
import { connections } from '../server/db/schema.js';
import { createAccount } from '../server/domain/accounts.js';
import { issueApiToken } from '../server/domain/api-tokens.js';
import { storeCredentials } from '../server/domain/credentials.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { Vault } from '../server/domain/vault.js';
import { RATE_LIMITS_OFF } from '../server/edge/rate-limit.js';
import { createLog } from '../server/log.js';

const CONNECTIONS = Number(process.env.BENCH_HANDOUT_CONNECTIONS ?? 50);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 200);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);

function load(env: Record<string, string>): Promise<{ latencies: number[]; failed: number; failures: string[] }> {
  const script = fileURLToPath(new URL('./token-handout-load.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${code}`)))));
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const loadAverage = () => loadavg().map((value) => value.toFixed(2)).join(' ');

async function main() {
  const url = process.env.BENCH_DATABASE_URL;
  const handle = url ? await openPostgres(url) : await openPglite();
  await handle.migrate();
  const db = handle.db;
  const vault = Vault.fromKeyList(randomBytes(32).toString('base64'));
  const suffix = randomBytes(4).toString('hex');
  const { account, owner } = await createAccount(db, { name: 'Hand-out bench', owner: { email: `owner-${suffix}@bench.test`, name: 'Owner' } });
  const { token } = await issueApiToken(db, { accountId: account.id, userId: owner.id, name: 'worker', kind: 'SERVICE' });
  const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
  const rows = await db
    .insert(connections)
    .values(Array.from({ length: CONNECTIONS }, (_, i) => ({ accountId: account.id, ownerId: owner.id, integrationKey: 'google-analytics-4', status: 'ACTIVE' as const, name: `GA4 ${i}`, shared: true, accessTokenExpiresAt: expiresAt })))
    .returning();
  for (const row of rows) {
    await storeCredentials(db, vault, row, { accessToken: randomBytes(24).toString('hex'), refreshToken: randomBytes(24).toString('hex'), expiresAt, tokenType: 'Bearer' });
  }
  const app = createApp({ db, vault, log: createLog('error'), rateLimit: RATE_LIMITS_OFF });
  const base = await app.start(0);
  const env = { URL: base, TOKEN: token, CONNECTIONS: JSON.stringify(rows.map((row) => encodeGlobalId('Connection', row.id))), CONCURRENCY: String(CONCURRENCY) };
  try {
    await load({ ...env, DURATION_MS: '2000' });
    const loadBefore = loadAverage();
    const profileDir = process.env.BENCH_CPU_PROFILE;
    const session = profileDir ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const cpu = process.cpuUsage();
    const statements = executedStatements();
    const { latencies, failed, failures } = await load({ ...env, DURATION_MS: String(DURATION_MS) });
    const used = process.cpuUsage(cpu);
    if (session && profileDir) {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(profileDir, { recursive: true });
      writeFileSync(`${profileDir}/token-handout-${Date.now()}.cpuprofile`, JSON.stringify(profile));
      session.disconnect();
    }
    const count = latencies.length;
    const sorted = latencies.sort((x, y) => x - y);
    console.log(`token hand-out [${handle.kind}]: ${CONNECTIONS} connections with fresh tokens, ${CONCURRENCY} concurrent callers, ${DURATION_MS / 1000} s`);
    console.log(`  ${count} hand-outs, ${(count / (DURATION_MS / 1000)).toFixed(0)}/s, failed ${failed}${failed ? ` (${failures.join('; ')})` : ''}`);
    console.log(`  latency p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted[count - 1].toFixed(1)} ms`);
    console.log(`  gateway CPU ${((used.user + used.system) / 1000 / count).toFixed(2)} ms per hand-out; ${((executedStatements() - statements) / count).toFixed(1)} SQL statements per hand-out`);
    console.log(`  load average ${loadBefore} at start, ${loadAverage()} at end`);
  } finally {
    await app.stop();
    await handle.close();
  }
}

await main();
