/**
 * Benchmark: the dashboard's connection graph (viewer's account -> first N connections, newest first ->
 * integration, owner, 10 data sources -> last 3 refresh runs) side by side on one PostgreSQL
 * database (BENCH_DATABASE_URL, a scratch database) against three servers, each in its own process
 * on the pinned Node 22 of bench/peers:
 *   - Patchbay (`server/main.ts` through tsx),
 *   - PostGraphile 5 over the same tables, tenancy by row-level security (bench/peers/postgraphile.mjs),
 *   - the one-statement limit: one hand-written SQL statement building the JSON, behind node:http
 *     (bench/peers/one-statement.mjs).
 * Load: autocannon in another process (bench/peers/load.mjs), BENCH_CONNECTIONS (20) concurrent
 * clients, the bearer token rotated per request over one USER token per account (the account's
 * owner), BENCH_SECONDS (10) per round, BENCH_ROUNDS (3) rounds per shape with the targets'
 * order rotated each round; medians over rounds. Shapes: first 50, 10 and 100 (BENCH_FIRST).
 * CPU per request: the server's utime+stime from /proc/<pid>/stat, and PostgreSQL's summed over
 * the backends of the benchmark database (pg_stat_activity), over each measured round.
 * Data: `seedBulk` with the shape of `npm run seed -- --accounts 50 --connections 200 --sources 5 --runs 10`,
 * seeded once per database (a later run reuses it).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { createApp } from '../server/app.js';
import { Vault } from '../server/domain/vault.js';
import { executedStatements, openPostgres, rowsOf } from '../server/db/client.js';
import { issueApiToken } from '../server/domain/api-tokens.js';
import { BUILT_IN_INTEGRATIONS } from '../server/domain/catalog.js';
import { createLog } from '../server/log.js';
import { seedBulk } from '../server/seed/bulk.js';
import { ensurePeers, node22, peers } from './peers.js';
import { commitHash, cpuMsOf, machineLine, markdownTable, writeResultsSection } from './results.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const databaseUrl = process.env.BENCH_DATABASE_URL;
const SHAPE = { accounts: 50, connections: 200, sources: 5, runs: 10 };
const FIRSTS = (process.env.BENCH_FIRST ?? '50,10,100').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const TARGETS = (process.env.BENCH_TARGETS ?? 'patchbay,postgraphile,one-statement').split(',');

const patchbayQuery = (first: number) => `query Graph { viewer { account { connections(first: ${first}) { nodes {
  id name status integration { key name } owner { name }
  dataSources(first: 10) { nodes { name refreshRuns(first: 3) { nodes { status startedAt rows } } } } } } } } }`;
const postgraphileQuery = (first: number) => `query Graph { benchCurrentAccount { connectionsByAccountId(first: ${first}, orderBy: [CREATED_AT_DESC, PRIMARY_KEY_DESC]) { nodes {
  rowId name status integrationKey benchIntegrationName userByOwnerId { name }
  dataSourcesByConnectionId(first: 10, orderBy: [CREATED_AT_ASC, PRIMARY_KEY_ASC]) { nodes { name
    refreshRunsByDataSourceId(first: 3, orderBy: [STARTED_AT_DESC, PRIMARY_KEY_DESC]) { nodes { status startedAt rows } } } } } } } }`;

/**
 * PostGraphile's tenancy, as its users set it up: a role for API requests and row-level security
 * policies that read the viewer from `bench.token_hash` (set per request from the bearer token)
 * inside every statement. The same rules as Patchbay's domain/viewer.ts: an admin (or service
 * worker) sees every connection of the account, others the shared ones and their own; data
 * sources only through connections the viewer may use; users and runs of the account. (Patchbay
 * also nulls the name of a connection private to another user; PostGraphile returns it.)
 */
const PEER_SETUP = sql.raw(`
create table if not exists patchbay_bench_integrations (key text primary key, name text not null);
do $$ begin
  if not exists (select from pg_roles where rolname = 'patchbay_bench_viewer') then create role patchbay_bench_viewer nologin; end if;
end $$;
create or replace function patchbay_bench_viewer_user() returns uuid language sql stable security definer set search_path = public
  as $$ select user_id from api_tokens where token_hash = current_setting('bench.token_hash', true) and revoked_at is null $$;
create or replace function patchbay_bench_viewer_account() returns uuid language sql stable security definer set search_path = public
  as $$ select account_id from api_tokens where token_hash = current_setting('bench.token_hash', true) and revoked_at is null $$;
create or replace function patchbay_bench_viewer_service() returns boolean language sql stable security definer set search_path = public
  as $$ select kind = 'SERVICE' from api_tokens where token_hash = current_setting('bench.token_hash', true) and revoked_at is null $$;
create or replace function patchbay_bench_viewer_sees_all() returns boolean language sql stable security definer set search_path = public
  as $$ select u.role = 'ADMIN' or u.is_owner or t.kind = 'SERVICE' from api_tokens t join users u on u.id = t.user_id
        where t.token_hash = current_setting('bench.token_hash', true) and t.revoked_at is null $$;
create or replace function bench_current_account() returns accounts language sql stable
  as $$ select * from accounts where id = patchbay_bench_viewer_account() $$;
create or replace function connections_bench_integration_name(c connections) returns text language sql stable
  as $$ select name from patchbay_bench_integrations where key = c.integration_key $$;
grant usage on schema public to patchbay_bench_viewer;
grant select on accounts, users, connections, data_sources, refresh_runs, patchbay_bench_integrations to patchbay_bench_viewer;
alter table accounts enable row level security;
alter table users enable row level security;
alter table connections enable row level security;
alter table data_sources enable row level security;
alter table refresh_runs enable row level security;
drop policy if exists bench_viewer on accounts;
drop policy if exists bench_viewer on users;
drop policy if exists bench_viewer on connections;
drop policy if exists bench_viewer on data_sources;
drop policy if exists bench_viewer on refresh_runs;
create policy bench_viewer on accounts to patchbay_bench_viewer using (id = (select patchbay_bench_viewer_account()));
create policy bench_viewer on users to patchbay_bench_viewer using (account_id = (select patchbay_bench_viewer_account()));
create policy bench_viewer on connections to patchbay_bench_viewer using (
  account_id = (select patchbay_bench_viewer_account())
  and ((select patchbay_bench_viewer_sees_all()) or shared or owner_id = (select patchbay_bench_viewer_user())));
create policy bench_viewer on data_sources to patchbay_bench_viewer using (
  account_id = (select patchbay_bench_viewer_account())
  and exists (select 1 from connections c where c.id = data_sources.connection_id
              and (c.shared or c.owner_id = (select patchbay_bench_viewer_user()) or (select patchbay_bench_viewer_service()))));
create policy bench_viewer on refresh_runs to patchbay_bench_viewer using (account_id = (select patchbay_bench_viewer_account()));
`);

interface Target {
  name: string;
  process: ChildProcess;
  url: (first: number) => string;
  body: (first: number) => string;
}

interface Round {
  rps: number;
  p50: number;
  p99: number;
  serverMsPerRequest: number;
  postgresMsPerRequest: number;
  non2xx: number;
  errors: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const load = () => loadavg().map((value) => value.toFixed(2)).join(' ');

async function waitFor(url: string, init: RequestInit, child: ChildProcess) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited (${child.exitCode})`);
    try {
      const response = await fetch(url, init);
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within 60 s`);
}

function start(name: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(node22, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.resume();
  // Requests in flight when a round's clients hang up are logged as cancelled: expected, not shown.
  child.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line && !line.includes('cancelled') && !line.includes('"outcome":"error"')) process.stderr.write(`[${name}] ${line}\n`);
    }
  });
  return child;
}

/** Counts what one response holds, so the targets are seen to return the same amount of data. */
function census(body: unknown): { connections: number; dataSources: number; runs: number } {
  const counts = { connections: 0, dataSources: 0, runs: 0 };
  const walk = (value: unknown) => {
    if (Array.isArray(value)) for (const item of value) walk(item);
    if (!value || typeof value !== 'object' || Array.isArray(value)) return;
    for (const [key, child] of Object.entries(value)) {
      const nodes = (child as { nodes?: unknown } | null)?.nodes;
      if (Array.isArray(nodes)) {
        if (key.startsWith('connections')) counts.connections += nodes.length;
        if (key.startsWith('dataSources')) counts.dataSources += nodes.length;
        if (key.startsWith('refreshRuns')) counts.runs += nodes.length;
      }
      walk(child);
    }
  };
  walk(body);
  return counts;
}

async function main() {
  if (!databaseUrl) {
    console.log('bench/connection-graph.ts: set BENCH_DATABASE_URL to a scratch PostgreSQL database (PostGraphile needs PostgreSQL); skipped.');
    return;
  }
  ensurePeers();

  const handle = await openPostgres(databaseUrl, { max: 2, timeouts: { statementMs: 600_000, lockMs: 2_000 } });
  await handle.migrate();
  const [{ count }] = rowsOf<{ count: number }>(await handle.db.execute(sql`select count(*)::int as count from refresh_runs`));
  if (count < SHAPE.accounts * SHAPE.connections * SHAPE.sources * SHAPE.runs) {
    const seedStart = performance.now();
    await seedBulk(handle.db, SHAPE);
    await handle.db.execute(sql`analyze`);
    console.log(`Seeded ${SHAPE.accounts}x${SHAPE.connections}x${SHAPE.sources}x${SHAPE.runs} in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
  }
  await handle.db.execute(PEER_SETUP);
  for (const integration of BUILT_IN_INTEGRATIONS) {
    await handle.db.execute(sql`insert into patchbay_bench_integrations (key, name) values (${integration.key}, ${integration.name})
      on conflict (key) do update set name = excluded.name`);
  }
  const owners = rowsOf<{ accountId: string; ownerId: string }>(
    await handle.db.execute(sql`select u.account_id as "accountId", u.id as "ownerId" from users u join accounts a on a.id = u.account_id
      where u.is_owner and a.name like 'Bench account %' order by a.created_at limit ${SHAPE.accounts}`),
  );
  const tokens: string[] = [];
  for (const owner of owners) {
    tokens.push((await issueApiToken(handle.db, { accountId: owner.accountId, userId: owner.ownerId, name: 'bench', kind: 'USER' })).token);
  }

  // Statements per request, counted in-process through the drizzle logger (token lookup included).
  const app = createApp({ db: handle.db, log: createLog('error'), vault: Vault.fromKeyList(randomBytes(32).toString('base64')) });
  const inProcess = await app.start(0);
  const graphRequest = () =>
    fetch(`${inProcess}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` },
      body: JSON.stringify({ query: patchbayQuery(50) }),
    }).then((response) => response.json());
  await graphRequest();
  const statementsBefore = executedStatements();
  await graphRequest();
  const statementsPerRequest = executedStatements() - statementsBefore;
  await app.stop();

  const versions = {
    orchestrator: process.version,
    targets: execFileSync(node22, ['--version']).toString().trim(),
    nproc: cpus().length,
    postgres: rowsOf<{ server_version: string }>(await handle.db.execute(sql`show server_version`))[0].server_version,
  };
  console.log(`Machine: ${versions.nproc} cores, orchestrator Node ${versions.orchestrator}, targets and load on Node ${versions.targets}, PostgreSQL ${versions.postgres}`);
  console.log(`Patchbay: ${statementsPerRequest} SQL statements per request (first: 50, token lookup included)`);

  const databaseName = new URL(databaseUrl).pathname.slice(1);
  const targets: Target[] = [];
  const ports = { patchbay: await freePort(), postgraphile: await freePort(), 'one-statement': await freePort() };
  if (TARGETS.includes('patchbay')) {
    const child = start('patchbay', ['--import', 'tsx', 'server/main.ts'], {
      DATABASE_URL: databaseUrl,
      PORT: String(ports.patchbay),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      PATCHBAY_JOBS: 'false',
      PATCHBAY_RATE_LIMIT_USER: '0',
      PATCHBAY_SECRET_KEY: randomBytes(32).toString('base64'),
      ...(process.env.BENCH_PATCHBAY_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_PATCHBAY_NODE_OPTIONS } : {}),
    });
    targets.push({
      name: 'patchbay',
      process: child,
      url: () => `http://127.0.0.1:${ports.patchbay}/graphql`,
      body: (first) => JSON.stringify({ query: patchbayQuery(first) }),
    });
  }
  if (TARGETS.includes('postgraphile')) {
    const child = start('postgraphile', [path.join(peers, 'postgraphile.mjs')], { DATABASE_URL: databaseUrl, PORT: String(ports.postgraphile), NODE_ENV: 'production' });
    targets.push({
      name: 'postgraphile',
      process: child,
      url: () => `http://127.0.0.1:${ports.postgraphile}/graphql`,
      body: (first) => JSON.stringify({ query: postgraphileQuery(first) }),
    });
  }
  if (TARGETS.includes('one-statement')) {
    const child = start('one-statement', [path.join(peers, 'one-statement.mjs')], { DATABASE_URL: databaseUrl, PORT: String(ports['one-statement']) });
    targets.push({
      name: 'one-statement',
      process: child,
      url: (first) => `http://127.0.0.1:${ports['one-statement']}/graph?first=${first}`,
      body: () => '{}',
    });
  }

  const post = (target: Target, first: number, token: string) =>
    fetch(target.url(first), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: target.body(first),
    });
  try {
    for (const target of targets) await waitFor(target.url(10), { method: 'POST', headers: { 'content-type': 'application/json' }, body: target.body(1) }, target.process);

    // What each answers for the first account: the same amount of data, or the comparison is void.
    for (const first of FIRSTS) {
      for (const target of targets) {
        const response = await post(target, first, tokens[0]);
        const text = await response.text();
        const body = JSON.parse(text) as { errors?: unknown };
        if (response.status !== 200 || body.errors) throw new Error(`${target.name}: ${response.status} ${text.slice(0, 500)}`);
        const counts = census(body);
        console.log(`first: ${first} ${target.name}: ${counts.connections} connections, ${counts.dataSources} data sources, ${counts.runs} runs, ${text.length} bytes`);
      }
    }

    const backendPids = async () =>
      rowsOf<{ pid: number }>(
        await handle.db.execute(sql`select pid from pg_stat_activity where datname = ${databaseName} and backend_type = 'client backend' and pid <> pg_backend_pid()`),
      ).map(({ pid }) => pid);

    const runLoad = (target: Target, first: number, seconds: number) =>
      new Promise<{ rps: number; p50: number; p99: number; requests: number; non2xx: number; errors: number }>((resolve, reject) => {
        const input = JSON.stringify({ url: target.url(first), body: target.body(first), tokens, connections: CONNECTIONS, seconds });
        const child = spawn(node22, [path.join(peers, 'load.mjs'), input], { stdio: ['ignore', 'pipe', 'inherit'] });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk));
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`load exited ${code}: ${output}`))));
      });

    const rows: Record<string, unknown>[] = [];
    const loads: Record<string, unknown>[] = [];
    const startedAt = new Date().toISOString();
    const medians = new Map<string, Round>();
    for (const first of FIRSTS) {
      const loadStart = load();
      for (const target of targets) await runLoad(target, first, 3); // warm-up: JIT, pools, caches
      const rounds = new Map<string, Round[]>(targets.map((t) => [t.name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        const order = targets.map((_, i) => targets[(i + round) % targets.length]);
        for (const target of order) {
          const pidsBefore = await backendPids();
          const postgresBefore = new Map(pidsBefore.map((pid) => [pid, cpuMsOf(pid)]));
          const serverBefore = cpuMsOf(target.process.pid!);
          const result = await runLoad(target, first, SECONDS);
          const serverAfter = cpuMsOf(target.process.pid!);
          let postgresMs = 0;
          for (const pid of new Set([...pidsBefore, ...(await backendPids())])) {
            postgresMs += Math.max(0, cpuMsOf(pid) - (postgresBefore.get(pid) ?? 0));
          }
          rounds.get(target.name)!.push({
            rps: result.rps,
            p50: result.p50,
            p99: result.p99,
            serverMsPerRequest: (serverAfter - serverBefore) / result.requests,
            postgresMsPerRequest: postgresMs / result.requests,
            non2xx: result.non2xx,
            errors: result.errors,
          });
        }
      }
      const loadEnd = load();
      for (const target of targets) {
        const list = rounds.get(target.name)!;
        const m: Round = {
          rps: median(list.map((r) => r.rps)),
          p50: median(list.map((r) => r.p50)),
          p99: median(list.map((r) => r.p99)),
          serverMsPerRequest: median(list.map((r) => r.serverMsPerRequest)),
          postgresMsPerRequest: median(list.map((r) => r.postgresMsPerRequest)),
          non2xx: list.reduce((sum, r) => sum + r.non2xx, 0),
          errors: list.reduce((sum, r) => sum + r.errors, 0),
        };
        medians.set(`${first}:${target.name}`, m);
        rows.push({
          first,
          server: target.name,
          'req/s': Number(m.rps.toFixed(1)),
          'p50 ms': m.p50,
          'p99 ms': m.p99,
          'server CPU ms/req': Number(m.serverMsPerRequest.toFixed(2)),
          'PostgreSQL CPU ms/req': Number(m.postgresMsPerRequest.toFixed(2)),
          'sum ms/req': Number((m.serverMsPerRequest + m.postgresMsPerRequest).toFixed(2)),
          'non-2xx': m.non2xx,
          errors: m.errors,
          'rounds req/s': list.map((r) => r.rps.toFixed(0)).join(' '),
        });
      }
      loads.push({ first, 'load average at start': loadStart, 'at end': loadEnd });
      console.log(`first: ${first}: load average ${loadStart} at start, ${loadEnd} at end`);
    }
    console.table(rows);
    const ratios: Record<string, unknown>[] = [];
    for (const first of FIRSTS) {
      const patchbay = medians.get(`${first}:patchbay`);
      if (!patchbay) continue;
      for (const peer of ['postgraphile', 'one-statement']) {
        const other = medians.get(`${first}:${peer}`);
        if (!other) continue;
        ratios.push({
          first,
          'Patchbay / peer': peer,
          'req/s': Number((patchbay.rps / other.rps).toFixed(2)),
          'server CPU': Number((patchbay.serverMsPerRequest / other.serverMsPerRequest).toFixed(2)),
          'server + PostgreSQL CPU': Number(
            ((patchbay.serverMsPerRequest + patchbay.postgresMsPerRequest) / (other.serverMsPerRequest + other.postgresMsPerRequest)).toFixed(2),
          ),
        });
      }
    }
    console.table(ratios);
    writeResultsSection(
      'Connection graph: latest run',
      `Written by \`bench/connection-graph.ts\` (\`npm run bench\`) at ${startedAt}, commit ${commitHash()}. Machine: ${machineLine()};
targets and load on Node ${versions.targets}; PostgreSQL ${versions.postgres}. ${CONNECTIONS} concurrent clients, ${ROUNDS} round(s) of
${SECONDS} s per target and shape, the order rotated per round; medians. Patchbay ran ${statementsPerRequest} SQL statement(s) per
request (token check included). The sections after this one are earlier runs, kept by hand with what changed between them.

${markdownTable(rows)}

Ratios (Patchbay / peer). The issue's targets: req/s at least 2 against PostGraphile and 0.5 against one statement; server CPU at
most 0.5 against PostGraphile; server + PostgreSQL CPU at most 0.5 against PostGraphile.

${markdownTable(ratios)}

${markdownTable(loads)}`,
    );
  } finally {
    for (const target of targets) target.process.kill('SIGTERM');
    await handle.close();
  }
}

await main();
