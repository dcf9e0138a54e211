/**
 * Changes the domain announces: a connection's status event, a data source's status, a refresh
 * run's progress. They carry ids and the few facts routing needs, never rows or secrets; the
 * realtime layer loads the rows in batches. Recorded inside a transaction, heard only after it
 * commits (db/transaction.ts), by the listeners registered for that database.
 */
import type { Database } from '../db/client.js';
import { afterCommit } from '../db/transaction.js';
import type { DataSourceStatus } from './types.js';

/** One committed change, small enough to cross a process boundary as JSON. */
export type Change =
  | { type: 'connection'; accountId: string; eventId: string }
  | {
      type: 'dataSource';
      accountId: string;
      dataSourceId: string;
      from: DataSourceStatus;
      to: DataSourceStatus;
      at: string;
    }
  | { type: 'refreshRun'; accountId: string; refreshRunId: string; at: string };

/** Hears the changes committed on one database. */
export type ChangeListener = (changes: Change[]) => void;

const listeners = new WeakMap<Database, Set<ChangeListener>>();

/** Announces `changes` once the current transaction commits. */
export function recordChanges(changes: Change[]): void {
  if (changes.length === 0) return;
  afterCommit((root) => {
    for (const listener of listeners.get(root) ?? []) {
      try {
        listener(changes);
      } catch {
        // A listener's failure must not fail the request whose transaction already committed.
      }
    }
  });
}

/** Registers `listener` for the changes committed through `db`; returns the unregister call. */
export function onCommittedChanges(db: Database, listener: ChangeListener): () => void {
  let set = listeners.get(db);
  if (!set) listeners.set(db, (set = new Set()));
  set.add(listener);
  return () => set.delete(listener);
}
