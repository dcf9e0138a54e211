/**
 * Outbox delivery, shared by mail and webhooks. Rows are written in the transaction that causes
 * them (so a rollback sends nothing and a commit cannot lose one); a worker in any gateway
 * process claims due rows with FOR UPDATE SKIP LOCKED, delivering each at least once and almost
 * always exactly once. A claim is a lease: it bumps `attempts` and pushes `next_attempt_at` out by
 * the lease, so a process that dies mid-delivery leaves the row to be claimed again when the lease
 * ends. A failed attempt is retried with exponential backoff until the attempt budget is spent,
 * then marked FAILED.
 *
 * The contract on an outbox table: columns `id`, `account_id`, `status` ('PENDING' | 'SENT' | 'FAILED'),
 * `attempts`, `next_attempt_at`, `last_error` and a delivered-at column the queue names.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { type Database, rowsOf } from '../db/client.js';
import type { Log } from '../log.js';

export interface RetryPolicy {
  /** Rows claimed per round. */
  batchSize: number;
  /** Attempts before a row is FAILED. */
  maxAttempts: number;
  /** First retry delay; doubles per attempt up to `maxDelayMs` (±20% jitter). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** How long a claim holds a row; longer than one delivery can take. */
  leaseMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  batchSize: 20,
  maxAttempts: 8,
  baseDelayMs: 30_000,
  maxDelayMs: 6 * 3_600_000,
  leaseMs: 120_000,
};

/** A failure retrying cannot fix (a refused address, a deleted endpoint): FAILED at once. */
export class PermanentDeliveryError extends Error {
  override name = 'PermanentDeliveryError';
}

/** What one attempt reported; `error` is recorded on the row and must hold no secret. */
export type DeliveryOutcome = { ok: true } | { ok: false; error: string; permanent?: boolean; retryAfterMs?: number };

/** One kind of outbox: its table, and how to deliver a batch of claimed ids. */
export interface Outbox {
  /** For log lines. */
  name: string;
  table: PgTable;
  /** The column set when a row is delivered (e.g. `sent_at`). */
  deliveredAtColumn: string;
  policy: RetryPolicy;
  /** Extra condition on claimable rows, in SQL over the table's columns. */
  claimable?: SQL;
  /** Delivers the claimed rows; returns each id's outcome (a missing id counts as a retry). */
  deliver(db: Database, ids: string[]): Promise<Map<string, DeliveryOutcome>>;
}

/** The delay before attempt `attempts + 1`, never sooner than the service asked. */
export function retryDelayMs(attempts: number, policy: RetryPolicy, retryAfterMs = 0): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  return Math.max(Math.round(exponential * (0.8 + Math.random() * 0.4)), retryAfterMs);
}

/** Claims up to a batch of due PENDING rows and leases them; committed before delivery starts. */
async function claim(db: Database, outbox: Outbox, attempted: Set<string>, accountId?: string): Promise<{ id: string; attempts: number }[]> {
  const { table, policy } = outbox;
  const account = accountId ? sql`and account_id = ${accountId}` : sql``;
  // A round tries each row once; a retry due at once waits for the next round.
  const fresh = attempted.size ? sql`and id not in (${sql.join([...attempted].map((id) => sql`${id}`), sql`, `)})` : sql``;
  const result = await db.execute<{ id: string; attempts: number }>(sql`
    update ${table} set attempts = attempts + 1,
      next_attempt_at = now() + make_interval(secs => ${policy.leaseMs / 1000})
    where id in (
      select id from ${table}
      where status = 'PENDING' and next_attempt_at <= now() ${outbox.claimable ? sql`and ${outbox.claimable}` : sql``} ${fresh} ${account}
      order by next_attempt_at
      limit ${policy.batchSize}
      for update skip locked
    )
    returning id, attempts`);
  return rowsOf<{ id: string; attempts: number }>(result).map((row) => ({ id: row.id, attempts: Number(row.attempts) }));
}

/**
 * Records a batch's outcomes: the delivered rows in one statement, each failure on its own row
 * (failures are few, and each has its own error and delay).
 */
async function settle(db: Database, outbox: Outbox, rows: { id: string; attempts: number }[], outcomes: Map<string, DeliveryOutcome>) {
  const { table, policy } = outbox;
  const counts = { delivered: 0, retried: 0, failed: 0 };
  const delivered = rows.filter((row) => outcomes.get(row.id)?.ok);
  if (delivered.length) {
    const ids = sql.join(delivered.map((row) => sql`${row.id}`), sql`, `);
    await db.execute(sql`
      update ${table} set status = 'SENT', ${sql.identifier(outbox.deliveredAtColumn)} = now(), last_error = null
      where id in (${ids})`);
    counts.delivered = delivered.length;
  }
  for (const row of rows) {
    const outcome = outcomes.get(row.id) ?? { ok: false, error: 'not attempted' };
    if (outcome.ok) continue;
    const error = outcome.error.slice(0, 1000);
    if (outcome.permanent || row.attempts >= policy.maxAttempts) {
      await db.execute(sql`update ${table} set status = 'FAILED', last_error = ${error} where id = ${row.id}`);
      counts.failed += 1;
      continue;
    }
    const delayMs = retryDelayMs(row.attempts, policy, outcome.retryAfterMs);
    await db.execute(sql`
      update ${table} set last_error = ${error}, next_attempt_at = now() + make_interval(secs => ${delayMs / 1000})
      where id = ${row.id}`);
    counts.retried += 1;
  }
  return counts;
}

export interface DrainResult {
  delivered: number;
  retried: number;
  failed: number;
}

/**
 * One round: claims due rows batch by batch and delivers them until none is due, trying each row
 * at most once. Safe to run in any number of processes at once. `accountId` restricts it to one
 * account (operators, tests).
 */
export async function drainOutbox(db: Database, outbox: Outbox, options: { accountId?: string } = {}): Promise<DrainResult> {
  const result: DrainResult = { delivered: 0, retried: 0, failed: 0 };
  const attempted = new Set<string>();
  for (;;) {
    const rows = await claim(db, outbox, attempted, options.accountId);
    if (rows.length === 0) return result;
    for (const row of rows) attempted.add(row.id);
    let outcomes: Map<string, DeliveryOutcome>;
    try {
      outcomes = await outbox.deliver(db, rows.map((row) => row.id));
    } catch (error) {
      // The whole batch failed before any row was tried (e.g. the mail server is unreachable).
      const message = error instanceof Error ? error.message : 'delivery failed';
      outcomes = new Map(rows.map((row) => [row.id, { ok: false, error: message }]));
    }
    const settled = await settle(db, outbox, rows, outcomes);
    result.delivered += settled.delivered;
    result.retried += settled.retried;
    result.failed += settled.failed;
  }
}

/**
 * Drains the outboxes every `intervalMs`, and at once when `wake()` is called (after a commit
 * that wrote rows), one round at a time. A failing round is logged, never fatal.
 */
export function startOutboxWorker(
  deps: { db: Database; log: Log },
  outboxes: Outbox[],
  intervalMs: number,
): { wake(): void; stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let queued = false;
  let stopped = false;
  const round = () => {
    if (queued || stopped) return;
    queued = true;
    running = running.then(async () => {
      queued = false;
      for (const outbox of outboxes) {
        try {
          const drained = await drainOutbox(deps.db, outbox);
          if (drained.delivered || drained.retried || drained.failed) deps.log.info(`${outbox.name} delivered`, { ...drained });
        } catch (error) {
          deps.log.error(`${outbox.name} round failed`, { error: error instanceof Error ? error.name : 'unknown' });
        }
      }
    });
  };
  const timer = setInterval(round, intervalMs);
  timer.unref();
  return {
    wake: round,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
