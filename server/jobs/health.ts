/**
 * Background work that keeps connections healthy without anyone watching: every ACTIVE
 * connection is checked once per period (spread by jitter), and (where the continuous token
 * refresh job of jobs/token-refresh.ts does not run, e.g. the CLI) due access tokens are refreshed
 * in the round. Work is claimed with FOR UPDATE SKIP LOCKED, so any number of gateway processes
 * share it. Transient failures are retried with exponential backoff (honouring Retry-After) and
 * disconnect nothing until the retry budget is spent; a check that found the connection in its
 * refresh cooldown sent nothing, so it spends none of the budget and comes back when the cooldown
 * ends (one backoff per connection: the cooldown's). Each round also writes the warnings of
 * reauthorization deadlines coming within the warning window.
 */
import { and, eq, inArray, isNull, lte, or } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { connections } from '../db/schema.js';
import type { TransientFailure } from '../domain/failures.js';
import { expireAbandonedConnections } from '../domain/abandoned.js';
import { checkConnection, transition } from '../domain/lifecycle.js';
import { DEFAULT_WARNING_DAYS, queueReauthorizationWarnings } from '../domain/notifications.js';
import type { OAuthSettings } from '../domain/oauth2.js';
import type { ConnectionRow } from '../domain/types.js';
import type { Vault } from '../domain/vault.js';
import type { Log } from '../log.js';
import { everyInterval, type Rounds } from './rounds.js';
import { refreshDueTokens } from './token-refresh.js';

export interface HealthOptions {
  /** How often each ACTIVE connection is checked (default daily). */
  periodMs: number;
  /** Connections claimed per round. */
  batchSize: number;
  /** Transient failures in a row before a connection is disconnected. */
  retryBudget: number;
  /** First retry delay; doubles per failure up to `maxBackoffMs`. */
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** Refresh access tokens that expire within this margin (spread per connection: jobs/token-refresh.ts). */
  refreshMarginMs: number;
  /**
   * Refresh due tokens in the round (tests, the CLI). Gateways run the continuous refresh job
   * (startTokenRefreshJobs) instead and turn this off.
   */
  refreshTokens: boolean;
  /** Refreshes in flight at once. */
  refreshConcurrency: number;
  /** Warn of reauthorization deadlines this many days ahead. */
  warningDays: number;
  /** Restrict to one account (operators, tests). */
  accountId?: string;
}

export const DEFAULT_HEALTH_OPTIONS: HealthOptions = {
  periodMs: 24 * 3_600_000,
  batchSize: 50,
  retryBudget: 5,
  baseBackoffMs: 60_000,
  maxBackoffMs: 6 * 3_600_000,
  refreshMarginMs: 5 * 60_000,
  refreshTokens: true,
  refreshConcurrency: 48,
  warningDays: DEFAULT_WARNING_DAYS,
};

/** The next regular check: one period ahead, ±10% so checks spread instead of bunching. */
function nextRegularCheck(options: HealthOptions): string {
  return new Date(Date.now() + options.periodMs * (0.9 + Math.random() * 0.2)).toISOString();
}

/** Exponential backoff for the n-th transient failure in a row, never sooner than Retry-After. */
export function backoffMs(failures: number, failure: TransientFailure, options: HealthOptions): number {
  const exponential = Math.min(options.maxBackoffMs, options.baseBackoffMs * 2 ** (failures - 1));
  const jittered = exponential * (0.8 + Math.random() * 0.4);
  return Math.max(jittered, failure.retryAfterMs ?? 0);
}

/**
 * Claims due ACTIVE connections: locked with SKIP LOCKED and their next check pushed out by the
 * period, all in one short transaction, so another process skips them while they are checked.
 */
async function claimDue(db: Database, options: HealthOptions): Promise<ConnectionRow[]> {
  const now = new Date().toISOString();
  return transaction(db, async (tx) => {
    const due = await tx
      .select()
      .from(connections)
      .where(
        and(
          eq(connections.status, 'ACTIVE'),
          or(isNull(connections.nextCheckAt), lte(connections.nextCheckAt, now)),
          options.accountId ? eq(connections.accountId, options.accountId) : undefined,
        ),
      )
      .orderBy(connections.nextCheckAt)
      .limit(options.batchSize)
      .for('update', { skipLocked: true });
    if (due.length) {
      await tx
        .update(connections)
        .set({ nextCheckAt: nextRegularCheck(options) })
        .where(inArray(connections.id, due.map((row) => row.id)));
    }
    return due;
  });
}

export interface HealthRound {
  checked: number;
  healthy: number;
  disconnected: number;
  transient: number;
  refreshed: number;
  /** REAUTHORIZATION_DUE notices written. */
  warned: number;
  /** PENDING connections whose sign-in was abandoned, deleted. */
  expired: number;
}

/** One round: refresh due tokens, then check due connections. Safe to run in many processes. */
export async function runHealthRound(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  options: HealthOptions = DEFAULT_HEALTH_OPTIONS,
): Promise<HealthRound> {
  const round: HealthRound = { checked: 0, healthy: 0, disconnected: 0, transient: 0, refreshed: 0, warned: 0, expired: 0 };
  round.expired = (await expireAbandonedConnections(db, { accountId: options.accountId })).length;
  if (options.refreshTokens) {
    const drain = await refreshDueTokens(db, vault, settings, {
      concurrency: options.refreshConcurrency,
      horizonMs: options.refreshMarginMs,
      accountId: options.accountId,
    });
    round.refreshed = drain.refreshed;
  }
  round.warned = await queueReauthorizationWarnings(db, { warningDays: options.warningDays, accountId: options.accountId });
  const onTransient = async (tx: Database, row: ConnectionRow, failure: TransientFailure) => {
    if (failure.cooldown) {
      // No request left (the refresh cooldown every gateway shares): not an attempt, so the budget
      // is untouched; checked again once the cooldown is over.
      const [updated] = await tx
        .update(connections)
        .set({ nextCheckAt: new Date(Date.now() + (failure.retryAfterMs ?? 0) + Math.random() * 1_000).toISOString() })
        .where(eq(connections.id, row.id))
        .returning();
      return updated;
    }
    const failures = row.transientFailures + 1;
    if (failures >= options.retryBudget) {
      await tx.update(connections).set({ transientFailures: 0 }).where(eq(connections.id, row.id));
      return transition(tx, row, 'DISCONNECTED', { kind: 'SYSTEM' }, {
        reason: failure.reason ?? 'UNKNOWN',
        message: `Unreachable after ${failures} attempts: ${failure.message}`,
      });
    }
    const [updated] = await tx
      .update(connections)
      .set({
        transientFailures: failures,
        nextCheckAt: new Date(Date.now() + backoffMs(failures, failure, options)).toISOString(),
      })
      .where(eq(connections.id, row.id))
      .returning();
    return updated;
  };
  for (const connection of await claimDue(db, options)) {
    round.checked += 1;
    const result = await checkConnection(db, vault, settings, connection, { kind: 'SYSTEM' }, onTransient).catch(() => undefined);
    if (!result) continue;
    if (result.ok) round.healthy += 1;
    else if (result.connection.status === 'DISCONNECTED') round.disconnected += 1;
    else round.transient += 1;
  }
  return round;
}

/** Runs rounds every `intervalMs` until stopped; a failing round is logged, never fatal. */
export function startHealthJobs(
  deps: { db: Database; vault: Vault; settings: OAuthSettings; log: Log; onRound?: (round: HealthRound) => void },
  intervalMs: number,
  options: HealthOptions = DEFAULT_HEALTH_OPTIONS,
): Rounds {
  return everyInterval(intervalMs, 'health round', deps.log, async () => {
    const round = await runHealthRound(deps.db, deps.vault, deps.settings, options);
    deps.onRound?.(round);
    if (round.checked || round.refreshed || round.warned || round.expired) deps.log.info('health round', { ...round });
  });
}
