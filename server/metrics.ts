/**
 * What an operator watches, with prom-client: `/metrics` in Prometheus' text format and
 * `/readyz` (database, migrations, live bus) apart from `/healthz` (alive). Operations are
 * counted and timed per operation name and outcome by an envelop plugin; gauges that describe
 * state (connections by status, outbox backlog, live subscribers) are read when scraped; the
 * background jobs report their rounds here. Nothing in domain/ knows about metrics.
 */
import { readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sql } from 'drizzle-orm';
import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { type Database, type PoolInfo, rowsOf } from './db/client.js';
import { operationOf, outcomeOf, SAFE_NAME } from './operations.js';
import { MIGRATIONS_DIR } from './paths.js';
import type { HealthRound } from './jobs/health.js';
import { onRefreshOutcome } from './domain/token-refresh.js';
import type { ChangeBus } from './realtime/bus.js';
import type { LiveHub } from './realtime/hub.js';

/** Distinct operation names kept as labels; later ones (clients choose names) count as "other". */
const MAX_OPERATION_LABELS = 200;
/** pg_stat_activity's states are a short fixed list; anything else is not passed on as a label. */
const SAFE_STATE = /^[a-z ()]{1,40}$/;


export interface Metrics {
  registry: Registry;
  /** Counts and times every query, mutation and subscribe. */
  plugin: Plugin;
  /**
   * Starts counting one operation the plugin does not see (graphql-ws's lean subscribers); call
   * the returned function with its result. The same labels and series as the plugin's.
   */
  startOperation(args: Pick<ExecutionArgs, 'document' | 'operationName'>): (result: unknown) => void;
  /** A health job round's outcomes (checks and token refreshes). */
  recordHealthRound(round: HealthRound): void;
  /** Stops counting this process's refreshes into this registry (the app's stop). */
  close(): void;
  /** Serves GET /metrics. */
  serveMetrics(res: ServerResponse): Promise<void>;
  /** Serves GET /readyz: 200 when the database answers, every migration is applied and the bus listens. */
  serveReadiness(res: ServerResponse): Promise<void>;
}

/** Creates this process's registry and its metrics. */
export function createMetrics(deps: { db: Database; live: LiveHub; bus: ChangeBus; sockets: () => number; pool?: PoolInfo }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'patchbay_' });

  const operations = new Counter({
    name: 'patchbay_graphql_operations_total',
    help: 'GraphQL operations by name, type and outcome (ok, or the first error code)',
    labelNames: ['operation', 'type', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'patchbay_graphql_operation_duration_seconds',
    help: 'Time to execute a query or mutation, or to start a subscription',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers: [registry],
  });
  const checks = new Counter({
    name: 'patchbay_health_checks_total',
    help: 'Connection health checks run by this process, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const refreshes = new Counter({
    name: 'patchbay_job_token_refreshes_total',
    help: 'Access tokens refreshed ahead of expiry by this process',
    registers: [registry],
  });
  const providerRefreshes = new Counter({
    name: 'patchbay_token_refreshes_total',
    help: 'Refreshes this process sent to a provider (callers and jobs alike), by outcome: SUCCEEDED, FAILED (disconnects), TRANSIENT (cooldown), LOST (no answer came back)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of ['SUCCEEDED', 'FAILED', 'TRANSIENT', 'LOST']) providerRefreshes.inc({ outcome }, 0);
  const stopCountingRefreshes = onRefreshOutcome((outcome) => providerRefreshes.inc({ outcome }));
  const expired = new Counter({
    name: 'patchbay_abandoned_connections_expired_total',
    help: 'PENDING connections whose sign-in was never finished, deleted by this process',
    registers: [registry],
  });
  new Gauge({
    name: 'patchbay_live_subscriptions',
    help: 'Live subscriptions held by this process, by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, count] of Object.entries(deps.live.counts())) this.set({ kind }, count);
    },
  });
  new Gauge({
    name: 'patchbay_open_sockets',
    help: 'Open TCP connections to this process (HTTP keep-alive and WebSocket)',
    registers: [registry],
    collect() {
      this.set(deps.sockets());
    },
  });
  new Gauge({
    name: 'patchbay_connections',
    help: 'Connections by status, across all accounts',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const rows = rowsOf<{ status: string; count: number | string }>(
        await deps.db.execute(sql`select status, count(*)::int as count from connections group by status`),
      );
      this.reset();
      for (const row of rows) this.set({ status: row.status }, Number(row.count));
    },
  });
  new Gauge({
    name: 'patchbay_outbox_backlog',
    help: 'Mail notices and webhook deliveries waiting to be sent (PENDING)',
    labelNames: ['outbox'] as const,
    registers: [registry],
    async collect() {
      const [row] = rowsOf<{ mail: number | string; webhooks: number | string }>(
        await deps.db.execute(sql`select
          (select count(*)::int from notifications where status = 'PENDING') as mail,
          (select count(*)::int from webhook_deliveries where status = 'PENDING') as webhooks`),
      );
      this.set({ outbox: 'mail' }, Number(row?.mail ?? 0));
      this.set({ outbox: 'webhooks' }, Number(row?.webhooks ?? 0));
    },
  });

  const { pool } = deps;
  // postgres.js keeps no statistics: PostgreSQL itself says what this process's sessions are
  // doing (they carry its application_name). Read before the other gauges' queries start, so
  // the scrape does not count itself; the reading session is left out too.
  const poolSessions = new Gauge({
    name: 'patchbay_db_pool_sessions',
    help: "This process's open PostgreSQL sessions by state (active, idle, idle in transaction)",
    labelNames: ['state'] as const,
    registers: pool ? [registry] : [],
  });
  const readPoolUse = async () => {
    if (!pool) return;
    const rows = rowsOf<{ state: string | null; count: number | string }>(
      await deps.db.execute(sql`select state, count(*)::int as count from pg_stat_activity
        where application_name = ${pool.applicationName} and pid <> pg_backend_pid() group by state`),
    );
    poolSessions.reset();
    for (const state of ['active', 'idle', 'idle in transaction']) poolSessions.set({ state }, 0);
    for (const row of rows) if (row.state && SAFE_STATE.test(row.state)) poolSessions.set({ state: row.state }, Number(row.count));
  };
  if (pool) {
    new Gauge({
      name: 'patchbay_db_pool_max',
      help: 'Sessions this process may open to PostgreSQL',
      registers: [registry],
      collect() {
        this.set(pool.max);
      },
    });
  }

  const labelled = new Set<string>();
  const operationLabel = (name: string | undefined): string => {
    if (!name || !SAFE_NAME.test(name)) return 'anonymous';
    if (labelled.has(name)) return name;
    if (labelled.size >= MAX_OPERATION_LABELS) return 'other';
    labelled.add(name);
    return name;
  };
  const measure = (args: Pick<ExecutionArgs, 'document' | 'operationName'>) => {
    const operation = operationOf(args);
    const labels = { operation: operationLabel(operation?.name?.value), type: operation?.operation ?? 'query' };
    const end = duration.startTimer(labels);
    return (result: unknown) => {
      end();
      operations.inc({ ...labels, outcome: outcomeOf(result) });
    };
  };

  const plugin: Plugin = {
    onExecute: ({ args }) => {
      const done = measure(args);
      return { onExecuteDone: ({ result }) => done(result as ExecutionResult) };
    },
    onSubscribe: ({ args }) => {
      const done = measure(args);
      return { onSubscribeResult: ({ result }) => done(result as ExecutionResult) };
    },
  };

  const expectedMigrations = readdirSync(MIGRATIONS_DIR).filter((entry) => /^\d{14}_/.test(entry)).length;

  return {
    registry,
    plugin,
    startOperation: measure,
    recordHealthRound(round) {
      checks.inc({ outcome: 'healthy' }, round.healthy);
      checks.inc({ outcome: 'disconnected' }, round.disconnected);
      checks.inc({ outcome: 'transient' }, round.transient);
      refreshes.inc(round.refreshed);
      expired.inc(round.expired);
    },
    close: stopCountingRefreshes,
    async serveMetrics(res) {
      try {
        await readPoolUse();
        const body = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType }).end(body);
      } catch {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics unavailable: the database did not answer\n');
      }
    },
    async serveReadiness(res) {
      const checks: Record<string, string> = {};
      try {
        const [row] = rowsOf<{ applied: number | string }>(await deps.db.execute(sql`select count(*)::int as applied from drizzle.__drizzle_migrations`));
        checks.database = 'ok';
        checks.migrations = Number(row?.applied) >= expectedMigrations ? 'ok' : `${row?.applied ?? 0} of ${expectedMigrations} applied`;
      } catch {
        checks.database = 'unavailable';
        checks.migrations = 'unknown';
      }
      checks.bus = await Promise.race([
        deps.bus.ready().then(() => 'ok'),
        new Promise<string>((resolve) => setTimeout(() => resolve('not listening'), 1_000).unref()),
      ]);
      const ready = Object.values(checks).every((check) => check === 'ok');
      res
        .writeHead(ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ status: ready ? 'ready' : 'not ready', checks, bus: deps.bus.kind }));
    },
  };
}

/** Whether a request asks for one of the operations endpoints. */
export function operationsPath(req: IncomingMessage): '/metrics' | '/readyz' | undefined {
  const path = (req.url ?? '').split('?')[0];
  return path === '/metrics' || path === '/readyz' ? path : undefined;
}
