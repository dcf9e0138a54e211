/**
 * The one transaction helper. Work that must happen only once a transaction has committed (the
 * live messages of the changes it made) is queued with `afterCommit` and runs after the outermost
 * `transaction()` commits; a rollback drops it, so no one hears of a change that never happened.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Database } from './client.js';

/** Runs after commit with the database the outermost transaction was opened on. */
export type CommitHook = (root: Database) => void;

interface Scope {
  root: Database;
  hooks: CommitHook[];
}

const scope = new AsyncLocalStorage<Scope>();

/**
 * Runs `fn` in a transaction on `db`. Nested calls become savepoints whose hooks join the outer
 * transaction's (and are dropped if the savepoint rolls back).
 */
export async function transaction<T>(db: Database, fn: (tx: Database) => Promise<T>): Promise<T> {
  const outer = scope.getStore();
  if (outer) {
    const mark = outer.hooks.length;
    try {
      return await db.transaction((tx) => fn(tx as Database));
    } catch (error) {
      outer.hooks.length = mark;
      throw error;
    }
  }
  const current: Scope = { root: db, hooks: [] };
  const result = await scope.run(current, () => db.transaction((tx) => fn(tx as Database)));
  for (const hook of current.hooks) hook(db);
  return result;
}

/** Queues `hook` for after the current transaction commits; a programming error outside one. */
export function afterCommit(hook: CommitHook): void {
  const current = scope.getStore();
  if (!current) throw new Error('afterCommit() must be called inside transaction()');
  current.hooks.push(hook);
}
