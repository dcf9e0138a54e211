/**
 * The database: embedded PGlite (default, one file-backed instance per data dir) or PostgreSQL
 * through postgres.js when a URL is given. Both run the same drizzle migrations and fit one
 * `Database` type, so nothing above this module knows which it got.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'drizzle-orm';
import type { PgAsyncDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
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
}

const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

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

const logger: Logger = {
  logQuery(query) {
    statementsExecuted += 1;
    statementCounter.getStore()?.statements.push(query);
  },
};

/** Opens an embedded PGlite database; `dataDir` undefined keeps it in memory. */
export async function openPglite(dataDir?: string): Promise<DatabaseHandle> {
  const client = await PGlite.create(dataDir ? { dataDir } : {});
  const db = drizzlePglite({ client, relations, logger });
  return {
    db: db as unknown as Database,
    kind: 'pglite',
    migrate: async () => {
      await migratePglite(db, { migrationsFolder });
    },
    close: () => client.close(),
  };
}

/** Opens PostgreSQL through postgres.js. */
export async function openPostgres(url: string, options: { max?: number } = {}): Promise<DatabaseHandle> {
  const client = postgres(url, { max: options.max ?? 10, onnotice: () => {} });
  const db = drizzlePostgres({ client, relations, logger });
  return {
    db: db as unknown as Database,
    kind: 'postgres',
    migrate: async () => {
      // Several gateways may start at once: one migrates while the others wait on the lock,
      // held on a connection of its own so the pool stays free for the migrator.
      const lock = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await lock`select pg_advisory_lock(hashtext('patchbay:migrate'))`;
        await migratePostgres(db, { migrationsFolder });
      } finally {
        await lock.end({ timeout: 5 });
      }
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * Opens PostgreSQL when a URL is given, otherwise PGlite in `<dataDir>/pglite` (the data dir also
 * holds the embedded secret key file, kept out of the database's own directory).
 */
export function openDatabase(config: { databaseUrl?: string; dataDir?: string }): Promise<DatabaseHandle> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl);
  return openPglite(config.dataDir ? path.join(config.dataDir, 'pglite') : undefined);
}
