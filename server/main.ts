/** Entry: config -> (data dir lock) -> database -> migrate -> (demo seed) -> app.start(). */
import path from 'node:path';
import { assertPortFree, createApp } from './app.js';
import { ConfigError, readConfig } from './config.js';
import { ensureDashboardBuilt } from './dashboard.js';
import { openDatabase } from './db/client.js';
import { lockDataDir } from './db/data-dir-lock.js';
import { createLog } from './log.js';
import { issueDemoToken, seedDemo } from './seed/demo.js';
import { setServiceTimeout } from './domain/service-calls.js';
import { configureOutbound } from './edge/outbound.js';
import { onCommittedOutboxRows } from './domain/changes.js';
import { DEFAULT_HEALTH_OPTIONS, startHealthJobs } from './jobs/health.js';
import { startTokenRefreshJobs } from './jobs/token-refresh.js';
import { grantRevocationOutbox } from './jobs/grant-revocations.js';
import { type Outbox, startOutboxWorker } from './jobs/outbox.js';
import { webhookOutbox } from './jobs/webhooks.js';
import { startRefreshDispatch } from './jobs/refresh-dispatch.js';
import { setRefreshLateAfter } from './domain/refresh-dispatch.js';
import { openVault } from './vault-config.js';
import { createMemoryBus, createPostgresBus, createRedisBus } from './realtime/bus.js';
import { createMailOutbox } from './jobs/mail.js';

/** How long requests in flight may take to finish once a stop signal arrives. */
const DRAIN_MS = 5_000;
/** The most a stop may take before the process exits anyway. */
const SHUTDOWN_LIMIT_MS = 10_000;

/** How often a gateway looks for due refreshes and checks. */
const JOB_INTERVAL_MS = 60_000;
/** How long the token refresh job sleeps when nothing is due (it runs back to back while work is). */
const TOKEN_REFRESH_IDLE_MS = 5_000;
/** A health round with nothing in it, for counting the token refresh job's refreshes. */
const NO_ROUND = { checked: 0, healthy: 0, disconnected: 0, transient: 0, refreshed: 0, warned: 0, expired: 0 };

async function main() {
  const config = readConfig();
  const log = createLog(config.logLevel);
  // Embedded: this process alone opens the data dir (a second one would lose writes); taken before
  // PGlite opens it, so a refused start never touches the database.
  const lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir, 'gateway');
  // A port in use is found before the database is opened or migrated.
  if (config.port !== 0) await assertPortFree(config.port, config.host);
  const database = await openDatabase(config);
  await database.migrate();
  let demoToken: string | undefined;
  if (config.seedDemo) {
    await seedDemo(database.db);
    // Embedded: the demo token is kept in the data dir, so a restart does not sign browsers out.
    demoToken = await issueDemoToken(database.db, config.databaseUrl ? {} : { file: path.join(config.dataDir, 'demo-token') });
  }
  setServiceTimeout(config.serviceTimeoutMs);
  configureOutbound(config);
  if (config.webhookAllowPrivate) {
    log.warn('PATCHBAY_WEBHOOK_ALLOW_PRIVATE is deprecated: list the private ranges webhooks may reach in PATCHBAY_ALLOW_PRIVATE_HOSTS');
  }
  const vault = openVault(config);
  await ensureDashboardBuilt(log);
  const app = createApp({
    db: database.db,
    log,
    vault,
    publicUrl: config.publicUrl,
    returnOrigins: config.returnOrigins,
    defaultOAuthApps: config.defaultOAuthApps,
    reconnectLinkTtlSeconds: config.reconnectLinkTtlSeconds,
    edge: config.edge,
    metricsToken: config.metricsToken,
    pool: database.pool,
    executionTimeoutMs: config.timeouts.executionMs,
    // Live changes reach every instance: Redis when configured, else the shared PostgreSQL.
    bus: config.redisUrl
      ? createRedisBus(config.redisUrl)
      : config.databaseUrl
        ? createPostgresBus(config.databaseUrl)
        : createMemoryBus(),
    // Token buckets are shared the same way: Redis, else PostgreSQL; embedded PGlite is one process.
    rateLimit: {
      limits: config.rateLimits,
      store: config.redisUrl ? { redisUrl: config.redisUrl } : config.databaseUrl ? 'database' : 'memory',
    },
  });
  let jobs: ReturnType<typeof startHealthJobs> | undefined;
  let outboxWorker: ReturnType<typeof startOutboxWorker> | undefined;
  let refreshDispatch: ReturnType<typeof startRefreshDispatch> | undefined;
  let tokenRefresh: ReturnType<typeof startTokenRefreshJobs> | undefined;
  setRefreshLateAfter(config.refreshDispatch.lateAfterMs);
  let base = config.publicUrl ?? '';
  const mail = config.smtpUrl
    ? createMailOutbox({ smtpUrl: config.smtpUrl, from: config.smtpFrom, dashboardUrl: () => base })
    : undefined;
  const shutdown = async (signal: string) => {
    log.info('shutting down', { signal });
    // Bounded: whatever still hangs after SHUTDOWN_LIMIT_MS is abandoned, the lock released.
    setTimeout(() => {
      log.error('shutdown took too long; exiting', { limitMs: SHUTDOWN_LIMIT_MS });
      lock?.release();
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
    await jobs?.stop();
    await tokenRefresh?.stop();
    await outboxWorker?.stop();
    await refreshDispatch?.stop();
    mail?.close();
    await app.stop({ drainMs: DRAIN_MS });
    await database.close();
    lock?.release();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  const url = await app.start(config.port, config.host);
  base ||= url;
  // Every gateway signals its own refreshDue subscribers; only job-running ones end expired leases.
  refreshDispatch = startRefreshDispatch({ db: database.db, live: app.live, log }, config.refreshDispatch.intervalMs, { sweep: config.jobs });
  if (config.jobs) {
    jobs = startHealthJobs({ db: database.db, vault, settings: app.oauth, log, onRound: (round) => app.metrics.recordHealthRound(round) }, JOB_INTERVAL_MS, {
      ...DEFAULT_HEALTH_OPTIONS,
      periodMs: config.checkPeriodMs,
      refreshMarginMs: config.refreshMarginMs,
      warningDays: config.reauthorizeWarningDays,
      // Tokens are kept fresh by their own continuous job, not once a round.
      refreshTokens: false,
    });
    tokenRefresh = startTokenRefreshJobs(
      { db: database.db, vault, settings: app.oauth, log, onDrain: (drain) => app.metrics.recordHealthRound({ ...NO_ROUND, refreshed: drain.refreshed }) },
      { concurrency: config.refreshConcurrency, horizonMs: config.refreshMarginMs, idleMs: TOKEN_REFRESH_IDLE_MS },
    );
    const outboxes: Outbox[] = [webhookOutbox({ vault, log }), grantRevocationOutbox({ vault, settings: app.oauth }), ...(mail ? [mail] : [])];
    outboxWorker = startOutboxWorker({ db: database.db, log }, outboxes, config.outboxIntervalMs);
    // Notices and webhook deliveries are written in the transaction that causes them: send them once committed.
    onCommittedOutboxRows(database.db, () => outboxWorker?.wake());
  }
  const where = config.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`;
  const liveVia = config.redisUrl ? 'Redis pub/sub' : config.databaseUrl ? 'PostgreSQL LISTEN/NOTIFY' : 'in-process';
  process.stdout.write(
    [
      `Patchbay is running on ${where}`,
      `  Dashboard: ${base}/`,
      `  GraphQL:  ${base}/graphql`,
      config.edge.graphiql
        ? `  GraphiQL: ${base}/graphql (open in a browser; send the token as an Authorization header)`
        : '  GraphiQL: off (production; PATCHBAY_GRAPHIQL=true serves it)',
      `  Live:     ${base.replace(/^http/, 'ws')}/graphql (graphql-ws; changes fan out ${liveVia})`,
      `  Mail:     ${config.smtpUrl ? `notices via SMTP ${new URL(config.smtpUrl).host}` : 'off (set SMTP_URL; notices are listed in viewer.notifications)'}`,
      ...(demoToken ? [`  Demo API token (Pam, account owner): ${demoToken}`] : []),
      '',
    ].join('\n'),
  );
}

/** One line for a start that failed: what went wrong and, where known, what to do. */
function startFailure(error: unknown): string {
  if (error instanceof ConfigError) return `Configuration error: ${error.message}`;
  const { code, port, address } = error as { code?: string; port?: number; address?: string };
  if (code === 'EADDRINUSE') return `Patchbay failed to start: port ${port} on ${address} is in use; stop what listens there or choose another with PORT (e.g. PORT=4001)`;
  if (code === 'EACCES') return `Patchbay failed to start: may not listen on port ${port} of ${address}; use a port above 1023 or set HOST/PORT`;
  return `Patchbay failed to start: ${(error as Error).message}`;
}

main().catch((error: unknown) => {
  process.stderr.write(`${startFailure(error)}\n`);
  process.exit(1);
});
