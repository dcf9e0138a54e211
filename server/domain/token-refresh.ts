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
import { type Database, rowsOf } from '../db/client.js';
import { outsideOperation } from '../db/cancellation.js';
import { transaction } from '../db/transaction.js';
import { connections, credentials, oauthApps, tokenRefreshes } from '../db/schema.js';
import { storeCredentials } from './credentials.js';
import { type DefinitiveFailure, type Failure, serviceMessage, type TransientFailure } from './failures.js';
import type { Integration } from './integrations.js';
import { appBinding, refreshTokens, type OAuthApp, type OAuthSettings, type OAuthTokens, type RefreshResult } from './oauth2.js';
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

/** Whether a stored token is handed out as is: not within the refresh margin of its expiry. */
export function isFresh(tokens: OAuthTokens): boolean {
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
    cooldown: true,
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
  claimed?: { attemptId: string; app?: OAuthApp },
): Promise<FreshTokens> {
  const attemptId = claimed?.attemptId ?? (await recordAttempt(db, connection));
  const stopHeartbeat = heartbeat(db, connection.id);
  let result: RefreshResult;
  try {
    // Bounded by the hard limit only: the caller's timeout and operation do not abort it.
    result = await refreshTokens(db, vault, settings, integration, connection, tokens, { signal: AbortSignal.timeout(refreshHardLimitMs()), app: claimed?.app });
  } catch (error) {
    result = { ok: false, failure: { kind: 'transient', message: error instanceof Error ? error.message : 'The refresh failed' } };
  } finally {
    stopHeartbeat();
  }
  const final = result;
  // The common case in one statement: lease still ours, tokens stored, attempt finished.
  if (final.ok && (await storeWhileLeased(db, vault, connection, attemptId, final.tokens))) {
    for (const listener of outcomeListeners) listener('SUCCEEDED');
    return { ok: true, tokens: final.tokens, refreshed: true };
  }
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

/**
 * Stores a refresh's new tokens in one statement, if this process still holds the lease: the
 * lease released, the cooldown cleared, the credentials replaced and the attempt SUCCEEDED,
 * atomically. False (nothing written) when the lease is no longer ours or the statement failed
 * (a lock held too long): the caller then takes the careful path, in a transaction without limits.
 */
async function storeWhileLeased(db: Database, vault: Vault, connection: ConnectionRow, attemptId: string, tokens: OAuthTokens): Promise<boolean> {
  const sealed = vault.seal(connection.id, tokens);
  try {
    const result = await outsideOperation(() =>
      db.execute<{ kept: number }>(sql`
        with kept as (
          update ${connections} set refresh_lease_owner = null, refresh_lease_until = null, refresh_blocked_until = null,
            refresh_failures = 0, access_token_expires_at = ${tokens.expiresAt ?? null}::timestamptz
          where id = ${connection.id} and refresh_lease_owner = ${PROCESS_ID}
          returning id, account_id
        ), stored as (
          insert into ${credentials} (connection_id, account_id, key_id, ciphertext)
          select id, account_id, ${sealed.keyId}, ${sealed.ciphertext}::bytea from kept
          on conflict (connection_id) do update set key_id = excluded.key_id, ciphertext = excluded.ciphertext, updated_at = now()
        ), finished as (
          update ${tokenRefreshes} set finished_at = now(), outcome = 'SUCCEEDED', error = null
          where id = ${attemptId} and exists (select 1 from kept)
        )
        select count(*)::int as kept from kept`),
    );
    return Number(rowsOf<{ kept: number }>(result)[0]?.kept ?? 0) > 0;
  } catch {
    return false;
  }
}

/** A due connection the background refresh claimed: leased, its attempt recorded, with what the request needs. */
export interface ClaimedRefresh {
  connectionId: string;
  accountId: string;
  integrationKey: string;
  attemptId: string;
  /** The backoff step a transient failure moves on from. */
  refreshFailures: number;
  reauthorizeBy: string | null;
}

type ClaimedRow = {
  id: string;
  account_id: string;
  integration_key: string;
  attempt_id: string;
  key_id: string | null;
  ciphertext: Uint8Array | null;
  app_client_id: string | null;
  app_key_id: string | null;
  app_ciphertext: Uint8Array | null;
  refresh_failures: number;
  reauthorize_by: string | null;
};

/** How the background refresh picks due connections. */
export interface RefreshClaimOptions {
  /** At most this many connections. */
  limit: number;
  /**
   * Refresh ahead of expiry by up to this much: each connection by its own share of it (between
   * half and all of it, fixed per connection) and never before half its token's lifetime, so
   * tokens issued together are refreshed apart and drift further apart each generation.
   */
  horizonMs: number;
  /** Restrict to one account (operators, tests). */
  accountId?: string;
}

/**
 * Claims up to `limit` due OAuth connections in expiry order, in one statement: rows another
 * process has locked are skipped (FOR UPDATE SKIP LOCKED), leased to this process, their attempt
 * recorded (an unfinished one left by a dead process becomes ABANDONED), and the credentials and
 * the account's OAuth app read along. Connections in their cooldown or under a live lease are
 * not due.
 */
export async function claimDueRefreshes(db: Database, vault: Vault, options: RefreshClaimOptions): Promise<{ claimed: ClaimedRefresh; tokens: OAuthTokens | undefined; app: OAuthApp | undefined; credentialsMissing: boolean }[]> {
  const horizon = options.horizonMs / 1000;
  const account = options.accountId ? sql`and c.account_id = ${options.accountId}` : sql``;
  const result = await db.execute<ClaimedRow>(sql`
    with due as (
      select c.id from ${connections} c
      left join ${credentials} cr on cr.connection_id = c.id
      where c.status = 'ACTIVE' and c.access_token_expires_at is not null
        and c.access_token_expires_at <= now() + make_interval(secs => ${horizon})
        and c.access_token_expires_at - now() <= least(
          make_interval(secs => ${horizon}) * (0.5 + 0.5 * (hashtext(c.id::text) & 1023) / 1023.0),
          (c.access_token_expires_at - coalesce(cr.updated_at, c.access_token_expires_at)) / 2)
        and (c.refresh_lease_until is null or c.refresh_lease_until < now())
        and (c.refresh_blocked_until is null or c.refresh_blocked_until <= now())
        ${account}
      order by c.access_token_expires_at
      limit ${options.limit}
      for update of c skip locked
    ), leased as (
      update ${connections} c set refresh_lease_owner = ${PROCESS_ID}, refresh_lease_until = now() + make_interval(secs => ${REFRESH_LEASE_MS / 1000})
      from due where c.id = due.id
      returning c.id, c.account_id, c.integration_key, c.access_token_expires_at, c.refresh_failures, c.reauthorize_by
    ), abandoned as (
      update ${tokenRefreshes} set outcome = 'ABANDONED', finished_at = now(),
        error = 'The process refreshing this connection stopped before the answer arrived; another process took over'
      where connection_id in (select id from leased) and finished_at is null
    ), attempts as (
      insert into ${tokenRefreshes} (account_id, connection_id, owner)
      select account_id, id, ${PROCESS_ID} from leased
      returning id, connection_id
    )
    select l.id, l.account_id, l.integration_key, l.refresh_failures, l.reauthorize_by, a.id as attempt_id, cr.key_id, cr.ciphertext,
      app.client_id as app_client_id, app.key_id as app_key_id, app.ciphertext as app_ciphertext
    from leased l
    join attempts a on a.connection_id = l.id
    left join ${credentials} cr on cr.connection_id = l.id
    left join ${oauthApps} app on app.account_id = l.account_id and app.integration_key = l.integration_key
    order by l.access_token_expires_at`);
  return rowsOf<ClaimedRow>(result).map((row) => {
    const claimed: ClaimedRefresh = {
      connectionId: row.id,
      accountId: row.account_id,
      integrationKey: row.integration_key,
      attemptId: row.attempt_id,
      refreshFailures: Number(row.refresh_failures),
      reauthorizeBy: row.reauthorize_by,
    };
    let tokens: OAuthTokens | undefined;
    let app: OAuthApp | undefined;
    try {
      if (row.key_id && row.ciphertext) tokens = vault.open<OAuthTokens>(row.id, { keyId: row.key_id, ciphertext: Buffer.from(row.ciphertext) });
      if (row.app_client_id && row.app_key_id && row.app_ciphertext) {
        const { clientSecret } = vault.open<{ clientSecret: string }>(appBinding(row.account_id, row.integration_key), {
          keyId: row.app_key_id,
          ciphertext: Buffer.from(row.app_ciphertext),
        });
        app = { clientId: row.app_client_id, clientSecret };
      }
    } catch {
      // A blob the vault cannot open: refreshed on the careful path, which reports it.
    }
    return { claimed, tokens, app, credentialsMissing: !row.key_id };
  });
}

/**
 * Refreshes a connection `claimDueRefreshes` claimed (this process holds its lease): the provider
 * asked once, the answer stored however it ends, exactly as on the request path. Callers in this
 * process asking for the same connection meanwhile share this refresh.
 */
export function refreshClaimed(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  integration: Integration,
  claim: { claimed: ClaimedRefresh; tokens: OAuthTokens | undefined; app: OAuthApp | undefined },
  disconnect: Disconnect,
): Promise<FreshTokens> {
  const { claimed } = claim;
  const run = async (): Promise<FreshTokens> => {
    if (!claim.tokens) {
      await releaseClaim(db, claimed, 'No readable tokens are stored');
      return missing;
    }
    // What the request and the store read of the row; the definitive path re-reads it locked.
    const row = {
      id: claimed.connectionId,
      accountId: claimed.accountId,
      integrationKey: claimed.integrationKey,
      refreshFailures: claimed.refreshFailures,
      reauthorizeBy: claimed.reauthorizeBy,
    } as ConnectionRow;
    return refreshUnderLease(db, vault, settings, integration, row, claim.tokens, disconnect, { attemptId: claimed.attemptId, app: claim.app });
  };
  const shared = outsideOperation(run).finally(() => inFlight.delete(claimed.connectionId));
  inFlight.set(claimed.connectionId, shared);
  return shared;
}

/**
 * Gives a claim back without asking the provider (no tokens to refresh, or not an OAuth 2.0
 * connection): the attempt FAILED with `why`, the lease released and the connection left alone
 * for the longest backoff step, so the claim does not pick it again at once.
 */
export async function releaseClaim(db: Database, claimed: ClaimedRefresh, why: string): Promise<void> {
  await db.execute(sql`
    with released as (
      update ${connections} set refresh_lease_owner = null, refresh_lease_until = null,
        refresh_blocked_until = now() + make_interval(secs => ${REFRESH_BACKOFF_MAX_MS / 1000})
      where id = ${claimed.connectionId} and refresh_lease_owner = ${PROCESS_ID}
    )
    update ${tokenRefreshes} set finished_at = now(), outcome = 'FAILED', error = ${why} where id = ${claimed.attemptId}`);
}
