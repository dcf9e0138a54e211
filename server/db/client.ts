/**
 * The database: embedded PGlite (default, one file-backed instance per data dir) or PostgreSQL
 * through postgres.js when a URL is given. Both run the same drizzle migrations and fit one
 * `Database` type, so nothing above this module knows which it got.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { hostname } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'drizzle-orm';
import type { PgAsyncDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres, { type Sql } from 'postgres';
import { cancelWithOperation, throwIfOperationAborted } from './cancellation.js';
import { MIGRATIONS_DIR } from '../paths.js';
import { relations } from './relations.js';

/** A drizzle client or transaction over Patchbay's relations, whichever driver is underneath. */
export type Database = PgAsyncDatabase<PgQueryResultHKT, typeof relations>;

/** An open database with its driver's lifecycle. */
export interface DatabaseHandle {
  db: Database;
  kind: 'pglite' | 'postgres';
  /** Applies the drizzle/ migrations (idempotent). */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** PostgreSQL only: the pool's size and the application_name its sessions carry. */
  pool?: PoolInfo;
}

/** How a process's sessions can be found in pg_stat_activity (the pool use metric reads them there). */
export interface PoolInfo {
  max: number;
  applicationName: string;
}

const migrationsFolder = MIGRATIONS_DIR;

/**
 * Limits every gateway session runs under, in milliseconds (0: none). A statement past them is
 * cancelled by PostgreSQL (SQLSTATE 57014 / 55P03), its transaction rolls back, and the caller
 * sees a TIMEOUT.
 */
export interface SessionTimeouts {
  /** statement_timeout: the longest one statement may run, lock waits included. */
  statementMs: number;
  /** lock_timeout: the longest a statement may wait for a lock another transaction holds. */
  lockMs: number;
}

/**
 * Patchbay's statements are point reads and small writes (milliseconds; a 100-item page with its
 * counts is tens), and its transactions hold row locks for milliseconds: 5 s is far beyond any
 * healthy statement and 2 s beyond any healthy lock wait, while both end well inside the
 * execution timeout, so the caller hears why.
 */
export const DEFAULT_SESSION_TIMEOUTS: SessionTimeouts = { statementMs: 5_000, lockMs: 2_000 };

/**
 * idle_in_transaction_session_timeout: a transaction never waits on its caller, and a provider
 * call inside one is bounded by the service timeout, so a session idle in a transaction for a
 * minute belongs to a stuck process: PostgreSQL ends it and its locks are released.
 */
const IDLE_IN_TRANSACTION_MS = 60_000;

/** The session settings for `timeouts`, as PostgreSQL parameter names. */
function sessionSettings(timeouts: SessionTimeouts) {
  return {
    statement_timeout: timeouts.statementMs,
    lock_timeout: timeouts.lockMs,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
  };
}

/** Migrations: long DDL and the wait for another gateway's migration lock must not be cut short. */
const NO_LIMITS = { statement_timeout: 0, lock_timeout: 0, idle_in_transaction_session_timeout: 0 };

/** `settings` as SET statements (PGlite, one session). Values are integers, so inlining is safe. */
function setStatements(settings: Record<string, number>): string {
  return Object.entries(settings)
    .map(([name, value]) => `set ${name} = ${Math.trunc(value)};`)
    .join(' ');
}

/** Per async context statement counter; tests and /metrics read it, never the parameters. */
const statementCounter = new AsyncLocalStorage<{ statements: string[] }>();

/**
 * Counts the SQL statements `fn` issues (in its async context) and returns them with the result.
 * Only the SQL text is kept: parameters may hold credentials and are never recorded.
 */
export async function countStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const store = { statements: [] as string[] };
  const result = await statementCounter.run(store, fn);
  return { result, statements: store.statements };
}

let statementsExecuted = 0;

/** How many statements this process has sent since it started (for benchmarks and /metrics). */
export function executedStatements(): number {
  return statementsExecuted;
}

/**
 * The rows of a raw `db.execute(sql...)`: postgres.js returns the rows themselves, PGlite a result
 * holding them. Everything above this module reads raw results through here.
 */
export function rowsOf<Row>(result: unknown): Row[] {
  return (Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? [])) as Row[];
}

/**
 * Drizzle calls its logger right before it sends each statement, so this is also where a
 * statement of an operation whose caller has given up is refused (with the operation's reason)
 * instead of sent: one check for both drivers.
 */
const logger: Logger = {
  logQuery(query) {
    throwIfOperationAborted();
    statementsExecuted += 1;
    statementCounter.getStore()?.statements.push(query);
  },
};

/**
 * How long a statement whose caller gave up may still run before it is cancelled. A CancelRequest
 * names a backend, not a statement: one that arrives after its statement ended cancels whatever
 * that session runs next, another caller's statement (postgres.js also pipelines statements
 * onto busy sessions). Seen under load: 200 callers hanging up at once failed the statements of
 * callers that stayed. Almost every statement ends within this grace, and is then left alone; one
 * still running after it is long enough that the cancel lands on it.
 */
const CANCEL_GRACE_MS = 100;

/** What postgres.js keeps on a query about where it runs (not in its types). */
interface QueryState {
  /** Set once the query is sent to a session. */
  state?: unknown;
  /** True while the session is running it (false before its turn and once it has ended). */
  active?: boolean;
}

/**
 * The postgres.js client drizzle sees: each statement it sends is registered with the operation
 * it runs for, which cancels it if the caller gives up; the clients of transactions and savepoints
 * are wrapped alike. Drizzle sends every statement through `unsafe`. A statement not yet sent is
 * taken off the queue at once (no CancelRequest); one sent gets its CancelRequest only if it is
 * still running after CANCEL_GRACE_MS. A statement still queued behind another on a
 * transaction's connection is left alone (postgres.js cannot unqueue it there): it is refused or
 * rolled back with its transaction.
 */
function cancellable(client: Sql, inTransaction = false): Sql {
  return new Proxy(client, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== 'function') return value;
      if (key === 'unsafe') {
        return (...args: Parameters<Sql['unsafe']>) => {
          const query = target.unsafe(...args);
          const where = query as unknown as QueryState;
          const cancel = () => Promise.resolve(query.cancel()).catch(() => {});
          cancelWithOperation(() => {
            if (!where.state) {
              if (!inTransaction) void cancel();
              return;
            }
            setTimeout(() => {
              if (where.active) void cancel();
            }, CANCEL_GRACE_MS).unref();
          });
          return query;
        };
      }
      if (key === 'begin' || key === 'savepoint') {
        return (...args: unknown[]) => {
          const fn = args.pop() as (inner: Sql) => unknown;
          return (value as (...rest: unknown[]) => unknown).call(target, ...args, (inner: Sql) => fn(cancellable(inner, true)));
        };
      }
      return value;
    },
  });
}

/**
 * Opens an embedded PGlite database; `dataDir` undefined keeps it in memory. PGlite is one
 * session, so the timeouts are SET once. PGlite 0.5 accepts them but (measured) does not enforce
 * them: it has no timer signals and never waits on another session's lock. There the execution
 * timeout bounds an operation, and its statements are refused once it ends.
 */
export async function openPglite(dataDir?: string, timeouts: SessionTimeouts = DEFAULT_SESSION_TIMEOUTS): Promise<DatabaseHandle> {
  const client = await PGlite.create(dataDir ? { dataDir } : {});
  const settings = setStatements(sessionSettings(timeouts));
  await client.exec(settings);
  const db = drizzlePglite({ client, relations, logger });
  return {
    db: db as unknown as Database,
    kind: 'pglite',
    migrate: async () => {
      await client.exec(setStatements(NO_LIMITS));
      try {
        await migratePglite(db, { migrationsFolder });
      } finally {
        await client.exec(settings);
      }
    },
    close: () => client.close(),
  };
}

let poolsOpened = 0;

/** Opens PostgreSQL through postgres.js; every pooled session runs under `timeouts`. */
export async function openPostgres(
  url: string,
  options: { max?: number; timeouts?: SessionTimeouts } = {},
): Promise<DatabaseHandle> {
  // Named per process, so an operator (and /metrics) can tell this gateway's sessions apart.
  poolsOpened += 1;
  const pool: PoolInfo = { max: options.max ?? 10, applicationName: `patchbay ${hostname()} ${process.pid}#${poolsOpened}`.slice(0, 63) };
  const client = postgres(url, {
    max: pool.max,
    onnotice: () => {},
    connection: { ...sessionSettings(options.timeouts ?? DEFAULT_SESSION_TIMEOUTS), application_name: pool.applicationName },
  });
  const db = drizzlePostgres({ client: cancellable(client), relations, logger });
  return {
    db: db as unknown as Database,
    kind: 'postgres',
    migrate: async () => {
      // Several gateways may start at once: one migrates while the others wait on the lock. The
      // lock and the migrations share one session without limits: a gateway waiting for another's
      // migration (or running long DDL) must not give up and fail to start.
      const migrator = postgres(url, { max: 1, onnotice: () => {}, connection: NO_LIMITS });
      try {
        await migrator`select pg_advisory_lock(hashtext('patchbay:migrate'))`;
        await migratePostgres(drizzlePostgres({ client: migrator }), { migrationsFolder });
      } finally {
        await migrator.end({ timeout: 5 });
      }
    },
    close: () => client.end({ timeout: 5 }),
    pool,
  };
}

/**
 * Opens PostgreSQL when a URL is given, otherwise PGlite in `<dataDir>/pglite` (the data dir also
 * holds the embedded secret key file, kept out of the database's own directory).
 */
export function openDatabase(config: { databaseUrl?: string; dataDir?: string; timeouts?: SessionTimeouts }): Promise<DatabaseHandle> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl, { timeouts: config.timeouts });
  return openPglite(config.dataDir ? path.join(config.dataDir, 'pglite') : undefined, config.timeouts);
}
