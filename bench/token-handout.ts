/**
 * Benchmark: handing out fresh access tokens (`connectionAccessToken`, SERVICE token) to many
 * concurrent callers. One gateway in this process (PostgreSQL when BENCH_DATABASE_URL is set,
 * else PGlite) with `BENCH_HANDOUT_CONNECTIONS` (default 50) OAuth connections whose tokens are
 * fresh, so no provider is asked. The callers are autocannon in another process on the pinned
 * Node 22 of bench/peers (bench/peers/handout-load.mjs), `BENCH_CONCURRENCY` (default 200)
 * connections, after a 2 s warm-up:
 *   - closed loop: every caller sends its next request as soon as it has its answer, for
 *     `BENCH_DURATION_MS` (default 10 s): the most hand-outs per second the machine gives, and the
 *     latency of a queue that is always full (by Little's law, callers / rate);
 *   - rate-limited: the same callers send `BENCH_HANDOUT_RATES` (default 100,200,300) hand-outs
 *     per second in all, each rate for the same duration. autocannon's rate limit lets each caller
 *     send its share at the start of each of its seconds, and the callers start together, so each
 *     phase is a burst of that many simultaneous hand-outs every second: p99 is about how long the
 *     last of a burst waits (late requests count from when they were due);
 *   - steady: `BENCH_HANDOUT_STEADY_RATES` (default 200,400,600) hand-outs per second, evenly
 *     spaced (bench/peers/handout-steady.mjs, node:http with up to 200 keep-alive sockets), each
 *     latency counted from when its request was due: what a caller sees at that load.
 * Prints, per phase, hand-outs per second, p50/p99/max, failures, and CPU per hand-out of the
 * gateway, PostgreSQL (its backends for the bench database, from /proc) and the callers, with SQL
 * statements per hand-out and the load average. `BENCH_CPU_PROFILE=<dir>` writes a CPU profile of
 * the gateway over the closed-loop phase.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { createApp } from '../server/app.js';
import { type Database, executedStatements, openPglite, openPostgres, rowsOf } from '../server/db/client.js';
import { connections } from '../server/db/schema.js';
import { createAccount } from '../server/domain/accounts.js';
import { issueApiToken } from '../server/domain/api-tokens.js';
import { storeCredentials } from '../server/domain/credentials.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { Vault } from '../server/domain/vault.js';
import { RATE_LIMITS_OFF } from '../server/edge/rate-limit.js';
import { createLog } from '../server/log.js';
import { ensurePeers, node22, peers } from './peers.js';
import { commitHash, cpuMsOf, loadAverage, machineLine, markdownTable, writeResultsSection } from './results.js';

const CONNECTIONS = Number(process.env.BENCH_HANDOUT_CONNECTIONS ?? 50);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 200);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const RATES = (process.env.BENCH_HANDOUT_RATES ?? '100,200,300').split(',').filter(Boolean).map(Number);
const STEADY_RATES = (process.env.BENCH_HANDOUT_STEADY_RATES ?? '200,400,600').split(',').filter(Boolean).map(Number);

interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  failed: number;
  samples: string[];
  cpuMs: number;
}

function load(input: { url: string; token: string; ids: string[]; connections: number; seconds: number; rate?: number }, steady = false): Promise<LoadResult> {
  const script = path.join(peers, steady ? 'handout-steady.mjs' : 'handout-load.mjs');
  const child = spawn(node22, [script, JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${code}: ${out}`)))));
}

/** PostgreSQL's CPU so far over the backends serving the bench database (none on PGlite). */
async function postgresCpuMs(db: Database, postgres: boolean): Promise<Map<number, number>> {
  if (!postgres) return new Map();
  const pids = rowsOf<{ pid: number }>(
    await db.execute(sql`select pid from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid()`),
  ).map(({ pid }) => pid);
  return new Map(pids.map((pid) => [pid, cpuMsOf(pid)]));
}

async function main() {
  ensurePeers();
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
  const input = { url: `${base}/graphql`, token, ids: rows.map((row) => encodeGlobalId('Connection', row.id)), connections: CONCURRENCY, seconds: DURATION_MS / 1000 };
  const postgres = handle.kind === 'postgres';
  const table: Record<string, string | number>[] = [];
  /** Runs one phase and measures everyone's CPU over it. */
  async function phase(name: string, rate?: number, profileDir?: string, steady = false) {
    const loadBefore = loadAverage();
    const session = profileDir ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const pgBefore = await postgresCpuMs(db, postgres);
    const cpu = process.cpuUsage();
    const statements = executedStatements();
    const result = await load({ ...input, rate }, steady);
    const used = process.cpuUsage(cpu);
    const sqlCount = executedStatements() - statements;
    let pgMs = 0;
    for (const [pid, before] of pgBefore) pgMs += Math.max(0, cpuMsOf(pid) - before);
    if (session && profileDir) {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(profileDir, { recursive: true });
      writeFileSync(`${profileDir}/token-handout-${Date.now()}.cpuprofile`, JSON.stringify(profile));
      session.disconnect();
    }
    const count = Math.max(1, result.requests);
    table.push({
      phase: name,
      'hand-outs/s': Math.round(result.rps),
      'p50 ms': result.p50,
      'p99 ms': result.p99,
      'max ms': result.max,
      failed: result.failed,
      'gateway CPU ms': Number(((used.user + used.system) / 1000 / count).toFixed(2)),
      'PostgreSQL CPU ms': postgres ? Number((pgMs / count).toFixed(2)) : '-',
      'callers CPU ms': Number((result.cpuMs / count).toFixed(2)),
      'SQL statements': Number((sqlCount / count).toFixed(2)),
      'load avg start -> end': `${loadBefore} -> ${loadAverage()}`,
    });
    if (result.failed) console.log(`${name}: ${result.failed} failed, e.g. ${result.samples.join(' | ')}`);
  }
  const startedAt = new Date().toISOString();
  try {
    await load({ ...input, seconds: 2 }); // warm-up: JIT, pool, caches
    await phase(`closed loop, ${CONCURRENCY} callers`, undefined, process.env.BENCH_CPU_PROFILE);
    for (const rate of RATES) await phase(`bursts of ${rate} every second over ${CONCURRENCY} callers`, rate);
    for (const rate of STEADY_RATES) await phase(`steady ${rate}/s, up to ${CONCURRENCY} at once`, rate, undefined, true);
    const title = `token hand-out [${handle.kind}]: ${CONNECTIONS} connections with fresh tokens, ${CONCURRENCY} concurrent callers, ${DURATION_MS / 1000} s per phase (CPU per hand-out)`;
    console.log(title);
    console.table(table);
    writeResultsSection(
      'Token hand-out: latest run',
      `Written by \`bench/token-handout.ts\` (\`npm run bench\`) at ${startedAt}, commit ${commitHash()}. Machine: ${machineLine()}; callers on
Node 22 (autocannon). ${title}. The sections after this one are earlier runs, kept by hand.

${markdownTable(table)}`,
    );
  } finally {
    await app.stop();
    await handle.close();
  }
}

await main();
