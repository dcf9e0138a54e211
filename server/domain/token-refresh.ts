/**
 * Fresh access tokens, single-flight per connection across every process: in-process callers
 * share one promise; across processes a short lease on the connection row (taken with one
 * conditional UPDATE, never a lock held across the provider call) lets one refresh while the
 * others wait and re-read. Each attempt is recorded before the provider is called, so a response
 * lost to a crash is visible. A rotated refresh token replaces the old one in the same
 * transaction that stores the new access token.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { outsideOperation } from '../db/cancellation.js';
import { transaction } from '../db/transaction.js';
import { connections, tokenRefreshes } from '../db/schema.js';
import { readCredentials, storeCredentials } from './credentials.js';
import type { Failure } from './failures.js';
import type { Integration } from './integrations.js';
import { refreshTokens, type OAuthSettings, type OAuthTokens } from './oauth2.js';
import type { ConnectionRow } from './types.js';
import type { Vault } from './vault.js';

/** Refresh when the access token has less than this left. */
export const REFRESH_MARGIN_MS = 60_000;
/** How long a refresh lease lasts; longer than any provider call (the service timeout, 10 s by default). */
const LEASE_MS = 30_000;
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

/**
 * Returns a usable access token for an OAuth connection, refreshing it first when it is due
 * (or when `force` says the service just refused it).
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
  const running = inFlight.get(connection.id);
  if (running) return running;
  // Shared by every waiting caller and never abandoned by one that gives up: once the provider is
  // asked, its answer is stored (see refreshUnderLease).
  const promise = outsideOperation(() =>
    refreshSingleFlight(db, vault, settings, integration, connection, disconnect, options.force ?? false),
  ).finally(() => inFlight.delete(connection.id));
  inFlight.set(connection.id, promise);
  return promise;
}

async function refreshSingleFlight(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  integration: Integration,
  connection: ConnectionRow,
  disconnect: Disconnect,
  force: boolean,
): Promise<FreshTokens> {
  const initial = await readCredentials<OAuthTokens>(db, vault, connection.id);
  if (!initial) return { ok: false, failure: { kind: 'definitive', reason: 'INVALID_REFRESH_TOKEN', message: 'No tokens are stored' } };
  if (!force && isFresh(initial)) return { ok: true, tokens: initial, refreshed: false };
  const deadline = Date.now() + LEASE_MS * 2;
  for (;;) {
    const leased = await db
      .update(connections)
      .set({ refreshLeaseOwner: PROCESS_ID, refreshLeaseUntil: new Date(Date.now() + LEASE_MS).toISOString() })
      .where(
        and(
          eq(connections.id, connection.id),
          or(isNull(connections.refreshLeaseUntil), lt(connections.refreshLeaseUntil, new Date().toISOString())),
        ),
      )
      .returning({ id: connections.id });
    // Re-read after taking the lease (or while another process holds it): it may be done already.
    const current = await readCredentials<OAuthTokens>(db, vault, connection.id);
    const [row] = await db.select().from(connections).where(eq(connections.id, connection.id));
    const refreshedMeanwhile = current && current.accessToken !== initial.accessToken;
    if (current && (refreshedMeanwhile || (!force && isFresh(current)))) {
      if (leased.length) await releaseLease(db, connection.id);
      return { ok: true, tokens: current, refreshed: false };
    }
    if (row.status !== 'ACTIVE') {
      if (leased.length) await releaseLease(db, connection.id);
      return {
        ok: false,
        failure: { kind: 'definitive', reason: row.disconnectReason ?? 'UNKNOWN', message: row.errorMessage ?? 'The connection is not active' },
      };
    }
    if (leased.length && current) return refreshUnderLease(db, vault, settings, integration, row, current, disconnect);
    if (Date.now() > deadline) {
      return { ok: false, failure: { kind: 'transient', message: 'Another process is still refreshing this connection' } };
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Clears this process's lease on a connection (a lease another process took over is left alone). */
async function releaseLease(db: Database, connectionId: string) {
  await db
    .update(connections)
    .set({ refreshLeaseOwner: null, refreshLeaseUntil: null })
    .where(and(eq(connections.id, connectionId), eq(connections.refreshLeaseOwner, PROCESS_ID)));
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
  const [attempt] = await db
    .insert(tokenRefreshes)
    .values({ accountId: connection.accountId, connectionId: connection.id, owner: PROCESS_ID })
    .returning();
  const result = await refreshTokens(db, vault, settings, integration, connection, tokens);
  // The provider may have rotated the refresh token: what it answered is stored, however long the
  // row lock takes (mustComplete lifts the lock and statement timeouts for this transaction).
  await transaction(db, async (tx) => {
    const finished = { finishedAt: new Date().toISOString() };
    if (result.ok) {
      await storeCredentials(tx, vault, connection, result.tokens);
      await tx.update(connections).set({ accessTokenExpiresAt: result.tokens.expiresAt ?? null }).where(eq(connections.id, connection.id));
      await tx.update(tokenRefreshes).set({ ...finished, outcome: 'SUCCEEDED' }).where(eq(tokenRefreshes.id, attempt.id));
    } else {
      const { failure } = result;
      await tx
        .update(tokenRefreshes)
        .set({ ...finished, outcome: failure.kind === 'transient' ? 'TRANSIENT' : 'FAILED', error: failure.message })
        .where(eq(tokenRefreshes.id, attempt.id));
      if (failure.kind === 'definitive') {
        const [current] = await tx.select().from(connections).where(eq(connections.id, connection.id)).for('update');
        await disconnect(tx, current, failure);
      }
    }
    await releaseLease(tx, connection.id);
  }, { mustComplete: true });
  return result.ok ? { ok: true, tokens: result.tokens, refreshed: true } : result;
}
