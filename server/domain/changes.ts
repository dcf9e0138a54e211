/**
 * What the domain announces once a transaction commits (db/transaction.ts), to the listeners
 * registered for that database:
 * - changes: a connection's status event, a data source's status, a refresh run's progress. They
 *   carry ids and the few facts routing needs, never rows or secrets; the realtime layer loads
 *   the rows in batches and fans them out to every instance.
 * - outbox rows: a transaction wrote mail notices or webhook deliveries, so the outbox worker of
 *   this process sends them at once instead of at its next interval (other processes find them
 *   on theirs).
 */
import type { Database } from '../db/client.js';
import { commitSignal } from '../db/transaction.js';
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
  | { type: 'refreshRun'; accountId: string; refreshRunId: string; at: string }
  /** Data sources of these integrations became due (Refresh now, an abandoned lease, the clock). */
  | { type: 'refreshDue'; accountId: string; integrationKeys: string[]; at: string };

/** Hears the changes committed on one database. */
export type ChangeListener = (changes: Change[]) => void;

const changes = commitSignal<Change>();

/** Announces `list` once the current transaction commits. */
export function recordChanges(list: Change[]): void {
  if (list.length > 0) changes.raise(list);
}

/** Registers `listener` for the changes committed through `db`; returns the unregister call. */
export function onCommittedChanges(db: Database, listener: ChangeListener): () => void {
  return changes.listen(db, listener);
}

/** The outboxes domain code writes to: mail (notifications) and webhooks (webhook_deliveries). */
export type OutboxName = 'mail' | 'webhooks';

const outboxRows = commitSignal<OutboxName>();

/**
 * Announces that the current transaction wrote (or may have written) rows to `outbox`, once it
 * commits. Call it wherever outbox rows are inserted; a wake with nothing due costs one claim.
 */
export function recordOutboxRows(outbox: OutboxName): void {
  outboxRows.raise([outbox]);
}

/** Registers `listener` for the outboxes written by transactions committed through `db`. */
export function onCommittedOutboxRows(db: Database, listener: (outboxes: OutboxName[]) => void): () => void {
  return outboxRows.listen(db, listener);
}
