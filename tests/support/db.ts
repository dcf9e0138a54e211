/**
 * Test databases: every database suite runs on embedded PGlite, and again on PostgreSQL when
 * TEST_DATABASE_URL is set. Tests work inside a transaction that is always rolled back.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { type Database, type DatabaseHandle, openPglite, openPostgres } from '../../server/db/client.js';

interface Backend {
  name: 'pglite' | 'postgres';
  open(): Promise<DatabaseHandle>;
}

const pglite: Backend = {
  name: 'pglite',
  open: async () => {
    const handle = await openPglite();
    await handle.migrate();
    return handle;
  },
};

const postgresBackend = (url: string): Backend => ({
  name: 'postgres',
  // Migrated once by global-setup.ts.
  open: () => openPostgres(url, { max: 4 }),
});

/** The databases suites run against in this process. */
export const backends: Backend[] = [
  pglite,
  ...(process.env.TEST_DATABASE_URL ? [postgresBackend(process.env.TEST_DATABASE_URL)] : []),
];

/** Declares `suite` once per backend; `db()` is that backend's open database. */
export function describeEachDatabase(title: string, suite: (db: () => Database) => void) {
  describe.each(backends)(`${title} [$name]`, (backend) => {
    let handle: DatabaseHandle | undefined;
    beforeAll(async () => {
      handle = await backend.open();
    });
    afterAll(async () => {
      await handle?.close();
    });
    suite(() => {
      if (!handle) throw new Error('database not open yet');
      return handle.db;
    });
  });
}

class Rollback extends Error {}

/** Runs `fn` in a transaction that is rolled back afterwards, whatever `fn` wrote. */
export async function inRollback(db: Database, fn: (tx: Database) => Promise<void>): Promise<void> {
  try {
    await db.transaction(async (tx) => {
      await fn(tx as unknown as Database);
      throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
}
