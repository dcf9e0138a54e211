/**
 * The one transaction helper. Work that must happen only once a transaction has committed (the
 * live messages of the changes it made, waking the outbox worker for rows it wrote) is queued
 * with `afterCommit` and runs after the outermost `transaction()` commits; a rollback drops it,
 * so no one hears of a change that never happened.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { sql } from 'drizzle-orm';
import { outsideOperation, throwIfOperationAborted } from './cancellation.js';
import type { Database } from './client.js';

/** Runs after commit with the database the outermost transaction was opened on. */
export type CommitHook = (root: Database) => void;

interface Scope {
  root: Database;
  hooks: CommitHook[];
}

const scope = new AsyncLocalStorage<Scope>();

/** How a transaction relates to its caller. */
export interface TransactionOptions {
  /**
   * The work must finish whatever its caller does and however long it waits for a lock (storing
   * tokens a provider has just issued: a rotated refresh token thrown away breaks the connection).
   * It runs outside the caller's operation, without statement and lock timeouts.
   */
  mustComplete?: boolean;
}

/**
 * Runs `fn` in a transaction on `db`. Nested calls become savepoints whose hooks join the outer
 * transaction's (and are dropped if the savepoint rolls back). An operation whose caller has
 * given up (db/cancellation.ts) starts no transaction and commits none: `fn`'s work rolls back.
 */
export async function transaction<T>(db: Database, fn: (tx: Database) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  if (options.mustComplete) {
    return outsideOperation(() =>
      transaction(db, async (tx) => {
        await tx.execute(sql`select set_config('statement_timeout', '0', true), set_config('lock_timeout', '0', true)`);
        return fn(tx);
      }),
    );
  }
  throwIfOperationAborted();
  const run = (tx: Database) =>
    fn(tx).then((result) => {
      throwIfOperationAborted();
      return result;
    });
  const outer = scope.getStore();
  if (outer) {
    const mark = outer.hooks.length;
    try {
      return await db.transaction((tx) => run(tx as Database));
    } catch (error) {
      outer.hooks.length = mark;
      throw error;
    }
  }
  const current: Scope = { root: db, hooks: [] };
  const result = await scope.run(current, () => db.transaction((tx) => run(tx as Database)));
  for (const hook of current.hooks) hook(db);
  return result;
}

/** Queues `hook` for after the current transaction commits; a programming error outside one. */
export function afterCommit(hook: CommitHook): void {
  const current = scope.getStore();
  if (!current) throw new Error('afterCommit() must be called inside transaction()');
  current.hooks.push(hook);
}

/** One kind of announcement made inside transactions and heard once they commit. */
export interface CommitSignal<T> {
  /** Announces `values` once the current transaction commits; a programming error outside one. */
  raise(values: T[]): void;
  /** Registers `listener` for the values committed through `db`; returns the unregister call. */
  listen(db: Database, listener: (values: T[]) => void): () => void;
}

/**
 * A new kind of announcement: `raise` queues its values with `afterCommit`, and the listeners
 * registered for the database the outermost transaction was opened on hear them after commit. A
 * listener's failure is swallowed: the transaction has committed, its caller must not fail.
 */
export function commitSignal<T>(): CommitSignal<T> {
  const listeners = new WeakMap<Database, Set<(values: T[]) => void>>();
  return {
    raise(values) {
      afterCommit((root) => {
        for (const listener of listeners.get(root) ?? []) {
          try {
            listener(values);
          } catch {
            // See above: heard after commit, never fatal to the request that committed.
          }
        }
      });
    },
    listen(db, listener) {
      let set = listeners.get(db);
      if (!set) listeners.set(db, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
  };
}
