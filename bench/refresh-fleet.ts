/**
 * Benchmark: keeping a fleet of OAuth connections fresh with the background refresh job.
 * Connections whose access tokens all fall due at once are refreshed by N gateway processes
 * (server/main.ts, jobs on) against oidc-provider (real rotation with reuse detection, one process
 * per shard) on PostgreSQL (`BENCH_DATABASE_URL`, required). Two kinds of phase:
 *
 * - unpinned: for each N in `BENCH_FLEET_GATEWAYS` (default "1,2,3"; "off" skips them),
 *   `BENCH_FLEET_CONNECTIONS` (default 10,000) connections, N gateways, `BENCH_FLEET_SHARDS`
 *   provider shards (default 1), every process where the scheduler puts it;
 * - scaling: for each `N@cpus` in `BENCH_FLEET_SCALING` (default "1@0,2@0-1"; "off" skips them),
 *   `BENCH_FLEET_SCALING_CONNECTIONS` (default 5,000) connections, N gateways and N provider
 *   shards, all pinned with taskset to `cpus` together with PostgreSQL (every process of the
 *   server, postmaster first) and this process. PostgreSQL's original affinity is restored after
 *   each phase, on exit and on SIGINT/SIGTERM.
 *
 * Each phase prints refreshes/s, the time until all are fresh, duplicates and reuse detections,
 * SQL statements and CPU per refresh of each kind of process (CPU from /proc), what the gateways'
 * PostgreSQL sessions were waiting on, and the load average; the scaling phases end with the
 * ratio of each to the last phase before it with fewer gateways. `BENCH_FLEET_CONCURRENCY` sets PATCHBAY_REFRESH_CONCURRENCY
 * (default 48, where 3 gateways reached 200/s here). `BENCH_FLEET_CPU_PROFILE=<dir>` writes a CPU
 * profile of each gateway over the measured run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { and, eq, sql } from 'drizzle-orm';
import { createApp } from '../server/app.js';
import { type Database, openPostgres, rowsOf } from '../server/db/client.js';
import { accounts, connections, credentials, integrations } from '../server/db/schema.js';
import { createAccount } from '../server/domain/accounts.js';
import { issueApiToken } from '../server/domain/api-tokens.js';
import { Vault } from '../server/domain/vault.js';
import { createLog } from '../server/log.js';
import { type OAuthServer, registerOAuthIntegration } from '../tests/support/oauth-server.js';
import { TEST_ALLOW_PRIVATE_HOSTS } from '../tests/support/outbound.js';
import { startScript } from '../tests/support/processes.js';
import { cpuMsOf, loadAverage } from './results.js';

const CONNECTIONS = Number(process.env.BENCH_FLEET_CONNECTIONS ?? 10_000);
const SHARDS = Number(process.env.BENCH_FLEET_SHARDS ?? 1);
const GATEWAYS = listSetting(process.env.BENCH_FLEET_GATEWAYS ?? '1,2,3').map(Number);
const SCALING_CONNECTIONS = Number(process.env.BENCH_FLEET_SCALING_CONNECTIONS ?? 5_000);
const SCALING = listSetting(process.env.BENCH_FLEET_SCALING ?? '1@0,2@0-1').map((item) => {
  const [count, cpus] = item.split('@');
  if (!/^\d+$/.test(count) || !/^[\d,-]+$/.test(cpus ?? '')) throw new Error(`BENCH_FLEET_SCALING: "${item}" is not N@cpus (e.g. 2@0-1)`);
  return { count: Number(count), cpus };
});
/**
 * "1" pins gateway i and provider shard i of a pinned phase to the i-th CPU of its set (PostgreSQL
 * and this process keep the whole set), instead of every process on the whole set.
 */
const SPREAD = process.env.BENCH_FLEET_SPREAD === '1';
const CONCURRENCY = Number(process.env.BENCH_FLEET_CONCURRENCY ?? 48);
const PROFILE_DIR = process.env.BENCH_FLEET_CPU_PROFILE;
const TIMEOUT_MS = Number(process.env.BENCH_FLEET_TIMEOUT_MS ?? 300_000);
/** How often the orchestrator counts fresh connections: rarely, so that it costs the pinned cores little. */
const POLL_MS = Number(process.env.BENCH_FLEET_POLL_MS ?? 1_000);
/**
 * A nice value for the pinned phases, e.g. -10 on a machine others use, so that their work cannot
 * take the pinned cores' time and a phase gets the cores it is given. With autogroup scheduling
 * (on here: /proc/sys/kernel/sched_autogroup_enabled) CPU is shared between sessions first, so a
 * thread's nice counts only within its session: the value goes to this benchmark's session (it
 * re-runs itself under setsid first, so that the session holds only it and its children) and to PostgreSQL's (which
 * other users' backends share; restored with the affinity), and to each thread of the gateways,
 * providers and the gateways' backends. 0 (default) changes nothing.
 */
const NICE = Number(process.env.BENCH_FLEET_NICE ?? 0);
const TASKSET = '/usr/bin/taskset';

function listSetting(value: string): string[] {
  return value === 'off' ? [] : value.split(',').map((item) => item.trim()).filter(Boolean);
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Pins every thread of `pid` to `cpus` (a taskset list such as "0" or "0-1"); threads it starts later inherit it. */
function pin(pid: number, cpus: string) {
  execFileSync(TASKSET, ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** Sets the nice value of every thread of `pid` (setpriority applies to one thread on Linux). */
function renice(pid: number, nice: number) {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return; // gone
  }
  try {
    execFileSync('/usr/bin/renice', ['-n', String(nice), '-p', ...tasks], { stdio: 'ignore' });
  } catch {
    // a thread that ended meanwhile
  }
}

/** Sets the nice value of `pid`'s autogroup (its session's share against other sessions); returns the previous one. */
function autogroupNice(pid: number, nice: number): number {
  const file = `/proc/${pid}/autogroup`;
  const previous = Number(/nice\s+(-?\d+)/.exec(readFileSync(file, 'utf8'))![1]);
  writeFileSync(file, String(nice));
  return previous;
}

/** The session id of `pid` (/proc/<pid>/stat, field 6). */
function sessionOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

/** Busy and total jiffies of each CPU so far (/proc/stat; idle and iowait are not busy). */
function cpuTimes(): Map<string, { busy: number; steal: number; total: number }> {
  const times = new Map<string, { busy: number; steal: number; total: number }>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const values = match[2].split(/\s+/).map(Number);
    const total = values.slice(0, 8).reduce((sum, value) => sum + value, 0);
    times.set(match[1], { busy: total - values[3] - values[4], steal: values[7], total });
  }
  return times;
}

/** Expands a taskset list ("0-1,3") to CPU numbers. */
function cpuList(cpus: string): string[] {
  return cpus.split(',').flatMap((range) => {
    const [from, to = from] = range.split('-').map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
  });
}

/** The affinity mask of `pid` in taskset's hex form ("3" for CPUs 0-1). */
function maskOf(pid: number): string {
  return /:\s*([0-9a-f]+)\s*$/i.exec(execFileSync(TASKSET, ['-p', String(pid)], { encoding: 'utf8' }))![1];
}

/**
 * The PostgreSQL server the benchmark uses, as processes: the postmaster (the parent of this
 * session's backend) and its children at the moment of asking.
 */
class PostgresProcesses {
  private originalMask: string | undefined;
  private originalNice: number | undefined;

  private constructor(readonly postmaster: number) {}

  static async of(db: Database): Promise<PostgresProcesses> {
    const [row] = rowsOf<{ pid: number }>(await db.execute(sql`select pg_backend_pid() as pid`));
    // The pid is the server's: on another machine it would name some unrelated local process.
    const command = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        return '';
      }
    };
    const backend = Number(row.pid);
    if (command(backend) !== 'postgres' || command(parentOf(backend)) !== 'postgres') {
      throw new Error('BENCH_FLEET_SCALING pins PostgreSQL with the rest: BENCH_DATABASE_URL must be a server on this machine (or set BENCH_FLEET_SCALING=off)');
    }
    return new PostgresProcesses(parentOf(backend));
  }

  /** Postmaster first, so that backends forked from now on inherit the mask, then every child. */
  all(): number[] {
    const children = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((pid) => {
        try {
          return parentOf(pid) === this.postmaster;
        } catch {
          return false; // gone while listing
        }
      });
    return [this.postmaster, ...children];
  }

  /** Its session's nice value (every backend's, other users' too), until restore(). */
  nice(nice: number) {
    const previous = autogroupNice(this.postmaster, nice);
    this.originalNice ??= previous;
  }

  pin(cpus: string) {
    this.originalMask ??= maskOf(this.postmaster);
    for (const pid of this.all()) {
      try {
        pin(pid, cpus);
      } catch {
        // a backend that exited between listing and pinning
      }
    }
  }

  /** Gives every process of the server its original mask back (synchronous: it runs in exit handlers). */
  restore() {
    if (this.originalNice !== undefined) autogroupNice(this.postmaster, this.originalNice);
    this.originalNice = undefined;
    if (!this.originalMask) return;
    for (const pid of this.all()) {
      try {
        execFileSync(TASKSET, ['-a', '-p', this.originalMask, String(pid)], { stdio: 'ignore' });
      } catch {
        // gone
      }
    }
    this.originalMask = undefined;
  }
}

/** Child processes still running, killed if the benchmark is interrupted (their `finally` never runs then). */
const children = new Set<number>();
let postgresServer: PostgresProcesses | undefined;
const ownMask = maskOf(process.pid);

/** This session's nice value before a pinned phase changed it. */
let ownAutogroupNice: number | undefined;

function cleanUpOnExit(signal: NodeJS.Signals = 'SIGKILL') {
  postgresServer?.restore();
  if (ownAutogroupNice !== undefined) autogroupNice(process.pid, ownAutogroupNice);
  for (const pid of children) {
    try {
      // Gateways and providers are killed; a delegate (the benchmark re-run in its own session)
      // gets the signal, so that it restores PostgreSQL's affinity before it exits.
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
/** Whether this process only waits for itself re-run in a session of its own (see main). */
let delegated = false;
process.on('exit', () => cleanUpOnExit());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (delegated) {
      cleanUpOnExit('SIGTERM');
      return; // exits with the delegate
    }
    cleanUpOnExit();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
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
  children.add(child.pid!);
  child.on('exit', () => children.delete(child.pid!));
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

interface ProviderStats {
  refreshGrants: number;
  reuse: number;
  errors: number;
  samples: string[];
}

async function providerStats(provider: ProviderInfo): Promise<ProviderStats> {
  return (await fetch(`http://127.0.0.1:${provider.statsPort}/bench-stats`)).json() as Promise<ProviderStats>;
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

interface Phase {
  /** "unpinned" or the CPUs every process of the phase is pinned to. */
  cpus?: string;
  gateways: number;
  shards: number;
  connections: number;
}

interface PhaseResult extends Phase {
  fresh: number;
  /** From making every connection due to the last refresh stored (database clock). */
  elapsedMs: number;
  /** From the first claim to the last refresh stored: the rate once the gateways have noticed the work. */
  activeMs: number;
  /** Refreshes/s once every gateway has made its first claim (stored after that instant, until the last). */
  steadyRate: number;
  duplicates: number;
  reuse: number;
  statements: number;
  cpu: { gateways: number; providers: number; postgres: number };
  load: { start: string; end: string };
}

/** One provider shard with its own account, integration (OAuth app) and share of the connections. */
async function provision(db: Database, vault: Vault, shard: number, count: number) {
  const provider = await startProvider(count);
  const suffix = randomBytes(4).toString('hex');
  const { account, owner } = await createAccount(db, { name: `Fleet bench ${suffix} shard ${shard}`, owner: { email: `owner-${suffix}@bench.test`, name: 'Owner' } });
  const { token } = await issueApiToken(db, { accountId: account.id, userId: owner.id, name: 'admin', kind: 'USER' });
  // The integration is registered and configured as an admin would, through the API.
  const app = createApp({ db, vault, log: createLog('error') });
  const base = await app.start(0);
  await registerOAuthIntegration(base, token, provider as unknown as OAuthServer);
  await app.stop();
  const [custom] = await db.select({ id: integrations.id }).from(integrations).where(and(eq(integrations.accountId, account.id), eq(integrations.key, 'test-oidc')));
  // Fresh for now (out of the job's way while the gateways start); made due all at once later.
  const later = new Date(Date.now() + 2 * 3_600_000).toISOString();
  const storedAt = new Date(Date.now() - 3_600_000).toISOString();
  for (let start = 0; start < count; start += 1_000) {
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
  return { provider, accountId: account.id };
}

async function run(db: Database, secretKey: string, vault: Vault, phase: Phase): Promise<PhaseResult> {
  const shares = Array.from({ length: phase.shards }, (_, i) => Math.floor(phase.connections / phase.shards) + (i < phase.connections % phase.shards ? 1 : 0));
  const shards = await Promise.all(shares.map((count, shard) => provision(db, vault, shard, count)));
  const accountIds = shards.map((shard) => shard.accountId);
  const phaseAccounts = sql.join(
    accountIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  const started = await Promise.all(
    Array.from({ length: phase.gateways }, async (_, index) => {
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
          ...(PROFILE_DIR ? { PROFILE_FILE: path.join(PROFILE_DIR, `gateway-${phase.cpus ? `cpu${phase.cpus}` : 'unpinned'}-${phase.gateways}-${index}.cpuprofile`) } : {}),
        },
        /GraphQL:\s+\S+/,
        120_000,
      );
      children.add(gateway.pid);
      return { ...gateway, statsFile };
    }),
  );
  let stopped = false;
  try {
    const pids = started.map((gateway) => gateway.pid);
    const providerPids = shards.map((shard) => shard.provider.pid);
    if (phase.cpus) {
      postgresServer!.pin(phase.cpus);
      const set = cpuList(phase.cpus);
      pin(process.pid, phase.cpus);
      for (const [i, pid] of [...pids, ...providerPids].entries()) pin(pid, SPREAD ? set[(i % pids.length) % set.length] : phase.cpus);
    }
    const backendsAtStart = await backendsOf(db, pids);
    const niced = new Set<number>();
    const niceAll = (pidsToNice: number[]) => {
      if (!phase.cpus || !NICE) return;
      for (const pid of pidsToNice) if (!niced.has(pid)) renice(pid, NICE), niced.add(pid);
    };
    if (phase.cpus && NICE) {
      ownAutogroupNice ??= autogroupNice(process.pid, NICE);
      postgresServer!.nice(NICE);
    }
    niceAll([...pids, ...providerPids, process.pid, ...backendsAtStart]);
    const cpusBefore = cpuTimes();
    const statementsBefore = await Promise.all(started.map((gateway) => statementsOf(gateway.pid, gateway.statsFile)));
    const cpuBefore = pids.map(cpuMsOf);
    const providerCpuBefore = providerPids.map(cpuMsOf);
    const postgresCpuBefore = new Map(backendsAtStart.map((pid) => [pid, cpuMsOf(pid)]));
    const loadBefore = loadAverage();
    const waits = new Map<string, number>();
    const lockedQueries = new Set<string>();
    let samples = 0;
    const [due] = rowsOf<{ at: string }>(
      await db.execute(sql`
        with due as (update ${connections} set access_token_expires_at = now() - interval '1 second' where account_id in (${phaseAccounts}) returning 1)
        select now()::text as at`),
    );
    const t0 = Date.now();
    let fresh = 0;
    let broken = 0;
    const freshAfter = new Date(t0 + 30 * 60_000).toISOString();
    while (Date.now() - t0 < TIMEOUT_MS) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const [counts] = rowsOf<{ fresh: number; broken: number }>(
        await db.execute(sql`
          select count(*) filter (where access_token_expires_at > ${freshAfter}::timestamptz)::int as fresh,
                 count(*) filter (where status <> 'ACTIVE')::int as broken
          from ${connections} where account_id in (${phaseAccounts})`),
      );
      fresh = counts.fresh;
      broken = counts.broken;
      if (fresh + broken >= phase.connections) break;
      // What the gateways' sessions are doing right now: lock waits would show as Lock/transactionid or tuple.
      const activity = rowsOf<{ application_name: string; state: string | null; wait: string | null; query: string; blocker: string | null }>(
        await db.execute(sql`
          select a.application_name, a.state, a.wait_event_type || ':' || a.wait_event as wait,
            left(regexp_replace(a.query, '[[:space:]]+', ' ', 'g'), 60) as query,
            (select left(regexp_replace(b.query, '[[:space:]]+', ' ', 'g'), 60) from pg_stat_activity b where b.pid = any(pg_blocking_pids(a.pid)) limit 1) as blocker
          from pg_stat_activity a where a.application_name like 'patchbay %'`),
      );
      samples += 1;
      if (phase.cpus && NICE) niceAll(await backendsOf(db, pids));
      for (const row of activity) {
        if (!pids.some((pid) => row.application_name.includes(` ${pid}#`))) continue;
        const key = row.state === 'active' ? `active ${row.wait ?? 'on CPU'}` : `${row.state}${row.wait && row.state !== 'idle' ? ` ${row.wait}` : ''}`;
        waits.set(key, (waits.get(key) ?? 0) + 1);
        // Which statements wait on row locks (the claim skips locked rows; nothing should wait long).
        if (row.wait?.startsWith('Lock:') && lockedQueries.size < 5) lockedQueries.add(`${row.query}... behind ${row.blocker ?? '(gone)'}...`);
      }
    }
    const gatewayCpu = pids.map(cpuMsOf).reduce((sum, value, i) => sum + value - cpuBefore[i], 0);
    const providerCpu = providerPids.map(cpuMsOf).reduce((sum, value, i) => sum + value - providerCpuBefore[i], 0);
    // Backends opened during the run count from zero (their whole life is in the run).
    const backends = new Set([...backendsAtStart, ...(await backendsOf(db, pids))]);
    const postgresCpu = [...backends].reduce((sum, pid) => sum + cpuMsOf(pid) - (postgresCpuBefore.get(pid) ?? 0), 0);
    const loadAfter = loadAverage();
    const cpusAfter = cpuTimes();
    // How busy each CPU of the phase was, whoever used it: with the pinned processes' share, this
    // tells a phase held back by its cores (busy near 100 %) from one that waited on something else.
    const machine = cpuList(phase.cpus ?? [...cpusAfter.keys()].join(',')).map((cpu) => {
      const before = cpusBefore.get(cpu)!;
      const after = cpusAfter.get(cpu)!;
      const share = (value: number) => ((value / Math.max(1, after.total - before.total)) * 100).toFixed(0);
      return `CPU ${cpu} ${share(after.busy - before.busy)} % (steal ${share(after.steal - before.steal)} %)`;
    });
    const statementsAfter = await Promise.all(started.map((gateway) => statementsOf(gateway.pid, gateway.statsFile)));
    const statements = statementsAfter.reduce((sum, value, i) => sum + value - statementsBefore[i], 0);
    // Duplicates are counted once the refreshes in flight have finished (the gateways stopped).
    await Promise.all(started.map((gateway) => gateway.stop()));
    stopped = true;
    const stats = await Promise.all(shards.map((shard) => providerStats(shard.provider)));
    const sum = (pick: (value: ProviderStats) => number) => stats.reduce((total, value) => total + pick(value), 0);
    // A gateway whose drain found nothing sleeps 5 s (server/main.ts), so the gateways notice the
    // work up to 5 s apart: the steady rate counts from the moment the last of them made its first claim.
    const [attempts] = rowsOf<{ succeeded: number; duplicates: number; elapsed_ms: number; active_ms: number; steady_ms: number; steady: number }>(
      await db.execute(sql`
        with done as (
          select * from token_refreshes where account_id in (${phaseAccounts}) and outcome = 'SUCCEEDED'
        ), everyone as (
          select max(first) as at from (select min(started_at) as first from done group by owner) firsts
        )
        select count(*)::int as succeeded, (count(*) - count(distinct connection_id))::int as duplicates,
          (extract(epoch from max(finished_at) - ${due.at}::timestamptz) * 1000)::float8 as elapsed_ms,
          (extract(epoch from max(finished_at) - min(started_at)) * 1000)::float8 as active_ms,
          (extract(epoch from max(finished_at) - (select at from everyone)) * 1000)::float8 as steady_ms,
          (count(*) filter (where finished_at > (select at from everyone)))::int as steady
        from done`),
    );
    const result: PhaseResult = {
      ...phase,
      fresh,
      elapsedMs: fresh + broken >= phase.connections ? Number(attempts.elapsed_ms) : Date.now() - t0,
      activeMs: Number(attempts.active_ms),
      steadyRate: (attempts.steady / Number(attempts.steady_ms)) * 1000,
      duplicates: attempts.duplicates,
      reuse: sum((value) => value.reuse),
      statements,
      cpu: { gateways: gatewayCpu, providers: providerCpu, postgres: postgresCpu },
      load: { start: loadBefore, end: loadAfter },
    };
    const perRefresh = (value: number) => (value / Math.max(1, fresh)).toFixed(2);
    const errors = sum((value) => value.errors);
    console.log(
      `refresh fleet [postgres${phase.cpus ? `, pinned to CPU ${phase.cpus}${SPREAD ? ' (gateway and shard i on the i-th CPU)' : ''}` : ', unpinned'}]: ${phase.connections} connections due at once, ${phase.gateways} gateway process(es) with jobs on, ${phase.shards} provider shard(s), PATCHBAY_REFRESH_CONCURRENCY=${CONCURRENCY}`,
    );
    console.log(
      `  ${fresh === phase.connections ? 'all fresh' : `${fresh} of ${phase.connections} fresh (${broken} not ACTIVE)`} after ${(result.elapsedMs / 1000).toFixed(1)} s: ${((fresh / result.elapsedMs) * 1000).toFixed(0)} refreshes/s (${((fresh / result.activeMs) * 1000).toFixed(0)}/s from the first claim, ${(result.activeMs / 1000).toFixed(1)} s; ${result.steadyRate.toFixed(0)}/s once every gateway was claiming)`,
    );
    console.log(
      `  provider refresh grants ${sum((value) => value.refreshGrants)} (stored ${attempts.succeeded}), duplicates ${attempts.duplicates}, reuse detections ${result.reuse}, refused grants ${errors}${errors ? ` (${stats.flatMap((value) => value.samples).join('; ')})` : ''}, not ACTIVE ${broken}`,
    );
    console.log(
      `  per refresh: ${perRefresh(statements)} SQL statements, CPU ${perRefresh(gatewayCpu)} ms gateways, ${perRefresh(providerCpu)} ms providers, ${perRefresh(postgresCpu)} ms PostgreSQL (the gateways' ${backends.size} backends), ${perRefresh(gatewayCpu + providerCpu + postgresCpu)} ms in all`,
    );
    const busy = (gatewayCpu + providerCpu + postgresCpu) / result.elapsedMs;
    console.log(
      `  CPU over the run: gateways ${(gatewayCpu / 1000).toFixed(1)} s, providers ${(providerCpu / 1000).toFixed(1)} s, PostgreSQL ${(postgresCpu / 1000).toFixed(1)} s in ${(result.elapsedMs / 1000).toFixed(1)} s wall: ${busy.toFixed(2)} cores busy, ${((fresh / result.elapsedMs) * 1000 / busy).toFixed(0)} refreshes/s per busy core`,
    );
    const waitSummary = [...waits].sort((a, b) => b[1] - a[1]).map(([key, count]) => `${key} ${(count / Math.max(1, samples)).toFixed(1)}`);
    console.log(`  machine CPUs busy over the run (every user's work): ${machine.join(', ')}${phase.cpus && NICE ? `; the phase's processes at nice ${NICE}` : ''}`);
    console.log(`  gateways' sessions, average over ${samples} samples: ${waitSummary.join(', ') || 'none seen'}`);
    if (lockedQueries.size) console.log(`  waiting on locks: ${[...lockedQueries].join(' | ')}`);
    console.log(`  load average ${loadBefore} at start, ${loadAfter} at end`);
    return result;
  } finally {
    if (phase.cpus) {
      postgresServer!.restore();
      pin(process.pid, hexToList(ownMask));
      if (NICE) renice(process.pid, 0);
      if (ownAutogroupNice !== undefined) autogroupNice(process.pid, ownAutogroupNice);
      ownAutogroupNice = undefined;
    }
    if (!stopped) await Promise.all(started.map((gateway) => gateway.stop()));
    for (const gateway of started) children.delete(gateway.pid);
    for (const shard of shards) shard.provider.stop();
    // Out of later runs' way: a gateway of another run must not find these due in an hour.
    await db.execute(sql`update ${connections} set status = 'REVOKED' where account_id in (${phaseAccounts})`);
  }
}

/** Refreshes per second of CPU used by the phase's gateways, providers and PostgreSQL backends together. */
function busyRate(result: PhaseResult): number {
  return (result.fresh / (result.cpu.gateways + result.cpu.providers + result.cpu.postgres)) * 1000;
}

/** taskset's hex mask ("3") as a CPU list ("0,1"), to pin back with -c. */
function hexToList(mask: string): string {
  const bits = BigInt(`0x${mask}`);
  const cpus: number[] = [];
  for (let cpu = 0; cpu < 256; cpu++) if ((bits >> BigInt(cpu)) & 1n) cpus.push(cpu);
  return cpus.join(',');
}

async function main() {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) {
    console.log('refresh fleet: skipped; set BENCH_DATABASE_URL to a PostgreSQL database (the gateways are separate processes)');
    return;
  }
  if (NICE && SCALING.length && sessionOf(process.pid) !== process.pid) {
    // The nice value goes to this process's session: run again in a session of its own (setsid), so
    // that it is given to this benchmark and its children only, not to the shell that started it.
    delegated = true;
    const delegate = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { detached: true, stdio: 'inherit' });
    children.add(delegate.pid!);
    const code = await new Promise<number | null>((resolve) => delegate.on('exit', resolve));
    children.delete(delegate.pid!);
    process.exitCode = code ?? 1;
    return;
  }
  const handle = await openPostgres(url, { max: 2 });
  await handle.migrate();
  // A run that was interrupted left its connections ACTIVE (its finally never ran): their providers
  // are gone, so this run's gateways would spend their time failing to refresh them.
  await handle.db.execute(sql`
    update ${connections} set status = 'REVOKED'
    where status = 'ACTIVE' and account_id in (select id from ${accounts} where name like 'Fleet bench %')`);
  const secretKey = `bench:${randomBytes(32).toString('base64')}`;
  const vault = Vault.fromKeyList(secretKey);
  try {
    const unpinned: PhaseResult[] = [];
    for (const gateways of GATEWAYS) unpinned.push(await run(handle.db, secretKey, vault, { gateways, shards: SHARDS, connections: CONNECTIONS }));
    const one = unpinned.find((result) => result.gateways === 1);
    if (one && unpinned.length > 1) {
      const rate = (result: PhaseResult) => result.fresh / result.elapsedMs;
      console.log(`  scaling (unpinned): ${unpinned.map((result) => `${result.gateways} gateway(s) ${(rate(result) / rate(one)).toFixed(2)}x`).join(', ')} of 1 gateway's refreshes/s`);
    }
    if (SCALING.length) {
      postgresServer = await PostgresProcesses.of(handle.db);
      const scaled: PhaseResult[] = [];
      for (const { count, cpus } of SCALING) scaled.push(await run(handle.db, secretKey, vault, { gateways: count, shards: count, connections: SCALING_CONNECTIONS, cpus }));
      // Each phase against the last one before it with fewer gateways, so that phases run as pairs
      // (e.g. "1@0,2@0-1,1@0,2@0-1") are compared with their own neighbour on a machine whose load moves.
      const rate = (result: PhaseResult, ms: number) => result.fresh / ms;
      for (const [i, result] of scaled.entries()) {
        const base = scaled.slice(0, i).reverse().find((earlier) => earlier.gateways < result.gateways);
        if (!base) continue;
        console.log(
          `  scaling (pinned): ${result.gateways} gateways + ${result.shards} shards on CPU ${result.cpus} against ${base.gateways} + ${base.shards} on CPU ${base.cpus}: ` +
            `${(rate(result, result.elapsedMs) / rate(base, base.elapsedMs)).toFixed(2)}x refreshes/s until all fresh, ` +
            `${(rate(result, result.activeMs) / rate(base, base.activeMs)).toFixed(2)}x from the first claim, ` +
            `${(result.steadyRate / base.steadyRate).toFixed(2)}x once every gateway was claiming; ` +
            `per busy core ${(busyRate(result) / busyRate(base)).toFixed(2)}x`,
        );
      }
    }
  } finally {
    postgresServer?.restore();
    await handle.close();
  }
}

await main();
