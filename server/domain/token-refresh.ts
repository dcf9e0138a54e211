/**
 * Fresh access tokens, single-flight per connection across every process.
 *
 * - In-process callers share one promise; across processes a short lease on the connection row
 *   (taken with one conditional UPDATE, never a lock held across the provider call) lets one
 *   refresh while the others wait and re-read. The lease is renewed while the provider call runs
 *   (a heartbeat), so a process that dies mid-refresh blocks the connection for one lease at most;
 *   the next process to take it records the dead attempt as ABANDONED.
 * - The caller's wait and the provider request are separate: a caller waits at most the service
 *   timeout and then hears ProviderUnavailableError, while the request runs on (up to a hard
 *   limit) and whatever it answers is stored. A provider that rotated the refresh token never
 *   sees Patchbay throw the new one away.
 * - One cooldown per connection, in the database and so shared by every gateway: a transient
 *   failure (429/503 with Retry-After, 5xx, network) sets `refresh_blocked_until` to the later of
 *   Retry-After and an exponential backoff with jitter; until then no request leaves, and callers
 *   hear when to come back.
 * Each attempt is recorded before the provider is called (token_refreshes), so a lost answer is
 * visible. A rotated refresh token replaces the old one in the transaction that stores the new
 * access token.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { and, desc, eq, isNull, lt, lte, ne, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { outsideOperation } from '../db/cancellation.js';
import { transaction } from '../db/transaction.js';
import { connections, credentials, tokenRefreshes } from '../db/schema.js';
import { storeCredentials } from './credentials.js';
import { type DefinitiveFailure, type Failure, serviceMessage, type TransientFailure } from './failures.js';
import type { Integration } from './integrations.js';
import { refreshTokens, type OAuthSettings, type OAuthTokens, type RefreshResult } from './oauth2.js';
import { serviceTimeout } from './service-calls.js';
import type { ConnectionRow } from './types.js';
import type { Vault } from './vault.js';

/** Refresh when the access token has less than this left. */
export const REFRESH_MARGIN_MS = 60_000;
/**
 * How long a refresh lease lasts unrenewed: the longest a dead process can hold up a connection
 * (at most 10 s, so the next caller is never held up longer).
 */
export const REFRESH_LEASE_MS = 5_000;
/** How often a running refresh renews its lease. */
export const REFRESH_HEARTBEAT_MS = 1_500;
/**
 * The hard upper bound of one provider request (and so of the lease renewals it keeps up): this
 * many service timeouts (60 s with the default 10 s). Callers stop waiting after one.
 */
export const REFRESH_HARD_LIMIT_FACTOR = 6;
export const refreshHardLimitMs = (): number => REFRESH_HARD_LIMIT_FACTOR * serviceTimeout();
/** The cooldown after the first transient failure; doubles per failure in a row, ±20% jitter. */
export const REFRESH_BACKOFF_BASE_MS = 2_000;
export const REFRESH_BACKOFF_MAX_MS = 10 * 60_000;
/** How soon a caller that stopped waiting for a refresh still running may ask again. */
const STILL_RUNNING_RETRY_MS = 1_000;
const POLL_MS = 100;

/** This process, as a lease owner. */
const PROCESS_ID = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

export type FreshTokens = { ok: true; tokens: OAuthTokens; refreshed: boolean } | { ok: false; failure: Failure };

/** A definitive refresh failure is applied by the caller-supplied disconnect (inside our transaction). */
export type Disconnect = (tx: Database, connection: ConnectionRow, failure: Failure & { kind: 'definitive' }) => Promise<unknown>;

const inFlight = new Map<string, Promise<FreshTokens>>();

function isFresh(tokens: OAuthTokens): boolean {
  return !tokens.expiresAt || Date.parse(tokens.expiresAt) - Date.now() > REFRESH_MARGIN_MS;
}

function isUsable(tokens: OAuthTokens): boolean {
  return !tokens.expiresAt || Date.parse(tokens.expiresAt) > Date.now();
}

/** The cooldown after the n-th transient refresh failure in a row: never sooner than Retry-After. */
export function refreshCooldownMs(failures: number, retryAfterMs = 0): number {
  const exponential = Math.min(REFRESH_BACKOFF_MAX_MS, REFRESH_BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
  return Math.max(Math.round(exponential * (0.8 + Math.random() * 0.4)), retryAfterMs);
}

/**
 * Returns a usable access token for an OAuth connection, refreshing it first when it is due
 * (or when `force` says the service just refused it). The caller waits at most the service
 * timeout; a refresh still running then goes on and stores its answer when it arrives.
 */
export function freshTokens(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  integration: Integration,
  connection: ConnectionRow,
  disconnect: Disconnect,
  options: { force?: boolean } = {},
): Promise<FreshTokens> {
  let shared = inFlight.get(connection.id);
  if (!shared) {
    // Shared by every waiting caller and never abandoned by one that gives up.
    shared = outsideOperation(() =>
      refreshSingleFlight(db, vault, settings, integration, connection.id, disconnect, options.force ?? false),
    ).finally(() => inFlight.delete(connection.id));
    inFlight.set(connection.id, shared);
  }
  return waitAtMost(shared, serviceTimeout(), integration);
}

/** The caller's side: the shared refresh's answer, or "still running" once `ms` have passed. */
function waitAtMost(shared: Promise<FreshTokens>, ms: number, integration: Integration): Promise<FreshTokens> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<FreshTokens>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ok: false,
          failure: {
            kind: 'transient',
            message: `${integration.name} has not answered the token refresh within ${ms} ms; its answer will be kept when it arrives`,
            retryAfterMs: STILL_RUNNING_RETRY_MS,
          },
        }),
      ms,
    );
  });
  return Promise.race([shared, gaveUp]).finally(() => clearTimeout(timer));
}

/** A connection row with its (opened) tokens, read in one statement. */
interface RefreshState {
  row: ConnectionRow;
  tokens: OAuthTokens | undefined;
  /** When the credentials were last written: the lease is taken only if they are unchanged. */
  credentialsUpdatedAt: string | null;
}

async function readState(db: Database, vault: Vault, connectionId: string): Promise<RefreshState | undefined> {
  const [found] = await db
    .select({ row: connections, sealed: credentials })
    .from(connections)
    .leftJoin(credentials, eq(credentials.connectionId, connections.id))
    .where(eq(connections.id, connectionId));
  if (!found) return undefined;
  return {
    row: found.row,
    tokens: found.sealed ? vault.open<OAuthTokens>(connectionId, found.sealed) : undefined,
    credentialsUpdatedAt: found.sealed?.updatedAt ?? null,
  };
}

const missing: FreshTokens = { ok: false, failure: { kind: 'definitive', reason: 'INVALID_REFRESH_TOKEN', message: 'No tokens are stored' } };

async function refreshSingleFlight(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  integration: Integration,
  connectionId: string,
  disconnect: Disconnect,
  force: boolean,
): Promise<FreshTokens> {
  // Waiting here for another process's refresh stops one lease after the callers have stopped waiting.
  const deadline = Date.now() + serviceTimeout() + REFRESH_LEASE_MS;
  let initial: OAuthTokens | undefined;
  let missedLeases = 0;
  for (;;) {
    const state = await readState(db, vault, connectionId);
    if (!state?.tokens) return missing;
    const { row, tokens } = state;
    initial ??= tokens;
    const refreshedMeanwhile = tokens.accessToken !== initial.accessToken;
    if (refreshedMeanwhile || (!force && isFresh(tokens))) return { ok: true, tokens, refreshed: false };
    if (row.status !== 'ACTIVE') {
      return {
        ok: false,
        failure: { kind: 'definitive', reason: row.disconnectReason ?? 'UNKNOWN', message: row.errorMessage ?? 'The connection is not active' },
      };
    }
    const now = Date.now();
    const blockedFor = row.refreshBlockedUntil ? Date.parse(row.refreshBlockedUntil) - now : 0;
    if (blockedFor > 0) {
      // The shared cooldown: no request leaves; a token that still works is handed out meanwhile.
      if (!force && isUsable(tokens)) return { ok: true, tokens, refreshed: false };
      return { ok: false, failure: cooldownFailure(integration, blockedFor) };
    }
    const leaseHeld = row.refreshLeaseUntil !== null && Date.parse(row.refreshLeaseUntil) > now;
    if (!leaseHeld) {
      if (await takeLease(db, state)) return refreshUnderLease(db, vault, settings, integration, row, tokens, disconnect);
      // Lost the race: read again at once the first time (someone just refreshed or started).
      missedLeases += 1;
    }
    if (leaseHeld || missedLeases > 1) {
      if (Date.now() > deadline) {
        return { ok: false, failure: { kind: 'transient', message: 'Another process is still refreshing this connection', retryAfterMs: STILL_RUNNING_RETRY_MS } };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}

function cooldownFailure(integration: Integration, blockedForMs: number): TransientFailure {
  return {
    kind: 'transient',
    message: `Refreshing this connection's token failed moments ago; ${integration.name} is not asked again for ${Math.ceil(blockedForMs / 1000)} s`,
    retryAfterMs: blockedForMs,
  };
}

/**
 * Takes the lease in one statement, only if it is free, the cooldown is over, the connection is
 * still ACTIVE and its credentials are those just read (else someone refreshed meanwhile).
 */
async function takeLease(db: Database, state: RefreshState): Promise<boolean> {
  const now = new Date().toISOString();
  const seen = state.credentialsUpdatedAt;
  const leased = await db
    .update(connections)
    .set({ refreshLeaseOwner: PROCESS_ID, refreshLeaseUntil: new Date(Date.now() + REFRESH_LEASE_MS).toISOString() })
    .where(
      and(
        eq(connections.id, state.row.id),
        eq(connections.status, 'ACTIVE'),
        or(isNull(connections.refreshLeaseUntil), lt(connections.refreshLeaseUntil, now)),
        or(isNull(connections.refreshBlockedUntil), lte(connections.refreshBlockedUntil, now)),
        sql`(select ${credentials.updatedAt} from ${credentials} where ${credentials.connectionId} = ${state.row.id}) is not distinct from ${seen}::timestamptz`,
      ),
    )
    .returning({ id: connections.id });
  return leased.length > 0;
}

/** Keeps this process's lease alive while the provider call runs. */
function heartbeat(db: Database, connectionId: string): () => void {
  const timer = setInterval(() => {
    db.update(connections)
      .set({ refreshLeaseUntil: new Date(Date.now() + REFRESH_LEASE_MS).toISOString() })
      .where(and(eq(connections.id, connectionId), eq(connections.refreshLeaseOwner, PROCESS_ID)))
      .catch(() => undefined);
  }, REFRESH_HEARTBEAT_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Records the attempt; an unfinished one left by a process whose lease ran out is ABANDONED. */
async function recordAttempt(db: Database, connection: ConnectionRow): Promise<string> {
  const abandoned = db.$with('abandoned').as(
    db
      .update(tokenRefreshes)
      .set({
        outcome: 'ABANDONED',
        finishedAt: new Date().toISOString(),
        error: 'The process refreshing this connection stopped before the answer arrived; another process took over',
      })
      .where(and(eq(tokenRefreshes.connectionId, connection.id), isNull(tokenRefreshes.finishedAt)))
      .returning({ id: tokenRefreshes.id }),
  );
  const [attempt] = await db
    .with(abandoned)
    .insert(tokenRefreshes)
    .values({ accountId: connection.accountId, connectionId: connection.id, owner: PROCESS_ID })
    .returning({ id: tokenRefreshes.id });
  return attempt.id;
}

/** How a refresh this process sent to a provider ended (the token_refreshes outcome). */
export type RefreshOutcome = 'SUCCEEDED' | 'FAILED' | 'TRANSIENT' | 'LOST';

const outcomeListeners = new Set<(outcome: RefreshOutcome) => void>();

/**
 * Tells `listener` how each provider refresh this process makes ends, on the request path and in
 * the jobs alike (the metrics count them). Returns the unsubscribe.
 */
export function onRefreshOutcome(listener: (outcome: RefreshOutcome) => void): () => void {
  outcomeListeners.add(listener);
  return () => outcomeListeners.delete(listener);
}

async function refreshUnderLease(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  integration: Integration,
  connection: ConnectionRow,
  tokens: OAuthTokens,
  disconnect: Disconnect,
): Promise<FreshTokens> {
  const attemptId = await recordAttempt(db, connection);
  const stopHeartbeat = heartbeat(db, connection.id);
  let result: RefreshResult;
  try {
    // Bounded by the hard limit only: the caller's timeout and operation do not abort it.
    result = await refreshTokens(db, vault, settings, integration, connection, tokens, { signal: AbortSignal.timeout(refreshHardLimitMs()) });
  } catch (error) {
    result = { ok: false, failure: { kind: 'transient', message: error instanceof Error ? error.message : 'The refresh failed' } };
  } finally {
    stopHeartbeat();
  }
  const final = result;
  let recorded: RefreshOutcome | undefined;
  // What the provider answered is stored, however long the row lock takes (mustComplete lifts
  // the lock and statement timeouts for this transaction).
  const fresh = await transaction(
    db,
    async (tx): Promise<FreshTokens> => {
      const finishedAt = new Date().toISOString();
      const finish = (outcome: RefreshOutcome, error: string | null = null) => {
        recorded = outcome;
        return tx.update(tokenRefreshes).set({ finishedAt, outcome, error }).where(eq(tokenRefreshes.id, attemptId));
      };
      const ours = and(eq(connections.id, connection.id), eq(connections.refreshLeaseOwner, PROCESS_ID));
      const released = { refreshLeaseOwner: null, refreshLeaseUntil: null };
      if (final.ok) {
        const [kept] = await tx
          .update(connections)
          .set({ ...released, accessTokenExpiresAt: final.tokens.expiresAt ?? null, refreshBlockedUntil: null, refreshFailures: 0 })
          .where(ours)
          .returning({ id: connections.id });
        if (!kept) {
          // This process stalled past its lease: store the answer unless another stored newer tokens.
          if (!(await stillOurs(tx, vault, connection.id, tokens))) {
            await finish('SUCCEEDED', 'Another process stored newer tokens first; this answer was not stored');
            return { ok: true, tokens: final.tokens, refreshed: true };
          }
          await tx
            .update(connections)
            .set({ accessTokenExpiresAt: final.tokens.expiresAt ?? null, refreshBlockedUntil: null, refreshFailures: 0 })
            .where(eq(connections.id, connection.id));
        }
        await storeCredentials(tx, vault, connection, final.tokens);
        await finish('SUCCEEDED');
        return { ok: true, tokens: final.tokens, refreshed: true };
      }
      const { failure } = final;
      if (failure.kind === 'definitive') {
        await finish('FAILED', failure.message);
        const [current] = await tx.select().from(connections).where(eq(connections.id, connection.id)).for('update');
        await tx.update(connections).set({ ...released, refreshFailures: 0 }).where(ours);
        const told = await afterLostAnswer(tx, connection.id, attemptId, failure);
        await disconnect(tx, current, told);
        return { ok: false, failure: told };
      }
      // Transient: one cooldown for every gateway, the later of Retry-After and the backoff step.
      const failures = connection.refreshFailures + 1;
      const cooldownMs = refreshCooldownMs(failures, failure.retryAfterMs);
      await tx
        .update(connections)
        .set({ ...released, refreshFailures: failures, refreshBlockedUntil: new Date(Date.now() + cooldownMs).toISOString() })
        .where(ours);
      await finish(final.answerLost ? 'LOST' : 'TRANSIENT', failure.message);
      return { ok: false, failure: { ...failure, retryAfterMs: cooldownMs } };
    },
    { mustComplete: true },
  );
  if (recorded) for (const listener of outcomeListeners) listener(recorded);
  return fresh;
}

/**
 * A refused refresh token right after a refresh whose answer was lost: the provider most likely
 * rotated it then (and, without a reuse grace, revoked the grant when it came back). Said so.
 */
async function afterLostAnswer(tx: Database, connectionId: string, attemptId: string, failure: DefinitiveFailure): Promise<DefinitiveFailure> {
  if (failure.reason !== 'INVALID_REFRESH_TOKEN') return failure;
  const [previous] = await tx
    .select({ outcome: tokenRefreshes.outcome })
    .from(tokenRefreshes)
    .where(and(eq(tokenRefreshes.connectionId, connectionId), ne(tokenRefreshes.id, attemptId)))
    .orderBy(desc(tokenRefreshes.startedAt))
    .limit(1);
  if (previous?.outcome !== 'LOST') return failure;
  return {
    ...failure,
    message: serviceMessage(
      `The answer to an earlier refresh never arrived; the service had probably issued a new refresh token then, and now refuses the one Patchbay kept (${failure.message})`,
      failure.message,
    ),
  };
}

/** Whether the stored tokens are still the ones this refresh started from (row locked first). */
async function stillOurs(tx: Database, vault: Vault, connectionId: string, started: OAuthTokens): Promise<boolean> {
  await tx.select({ id: connections.id }).from(connections).where(eq(connections.id, connectionId)).for('update');
  const state = await readState(tx, vault, connectionId);
  return state?.tokens?.refreshToken === started.refreshToken;
}
