/**
 * RFC 7009 revocations owed to providers for grants a new connection superseded. The superseded
 * tokens are sealed into a `grant_revocations` row in the transaction that supersedes them, so a
 * revocation that fails (the provider down, a crash right after commit) is never lost: it is
 * tried once right after commit and then retried by the outbox worker with backoff, until the
 * provider confirms (SENT) or refuses for good or the attempts run out (FAILED).
 */
import { eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client.js';
import { grantRevocations } from '../db/schema.js';
import { loadIntegrations, type Integration } from './integrations.js';
import { revokeAtProvider, type OAuthSettings, type OAuthTokens } from './oauth2.js';
import type { ConnectionRow } from './types.js';
import type { Vault } from './vault.js';

/** What a revocation's sealed tokens are bound to. */
export const revocationBinding = (id: string) => `grant-revocation:${id}`;

/** Attempts before a revocation is FAILED; the first delay, doubling per attempt. */
export const REVOCATION_MAX_ATTEMPTS = 8;
export const REVOCATION_BASE_DELAY_MS = 60_000;
/** How long the attempt right after commit owns a new row before the worker may take it. */
const FIRST_ATTEMPT_LEASE_MS = 120_000;

/** What happened at the service to a superseded connection's grant. */
export interface SupersededRevocation {
  connectionId: string;
  /** Whether the service confirmed the RFC 7009 revocation. */
  revoked: boolean;
  /** What happened, for the operator's log (never a token). */
  message: string;
  /** Not confirmed, and to be retried by the outbox worker. */
  retrying?: boolean;
}

/**
 * Queues the revocation of superseded grants (inside the superseding transaction): one sealed row
 * per connection, held for the attempt right after commit. Returns the rows' ids.
 */
export async function queueRevocations(
  tx: Database,
  vault: Vault,
  integrationKey: string,
  superseded: { connection: ConnectionRow; tokens: OAuthTokens }[],
): Promise<string[]> {
  if (superseded.length === 0) return [];
  const nextAttemptAt = new Date(Date.now() + FIRST_ATTEMPT_LEASE_MS).toISOString();
  const rows = superseded.map(({ connection, tokens }) => {
    const id = randomUUID();
    return { id, accountId: connection.accountId, connectionId: connection.id, integrationKey, nextAttemptAt, ...vault.seal(revocationBinding(id), tokens) };
  });
  await tx.insert(grantRevocations).values(rows);
  return rows.map((row) => row.id);
}

/** One attempt at one queued revocation; `permanent` when retrying cannot help. */
export async function attemptRevocation(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  row: typeof grantRevocations.$inferSelect,
  integration?: Integration,
): Promise<{ revoked: boolean; message: string; permanent: boolean }> {
  const known = integration ?? (await loadIntegrations(db, row.accountId, [row.integrationKey]))[0];
  if (!known) return { revoked: false, message: `The integration "${row.integrationKey}" no longer exists`, permanent: true };
  let tokens: OAuthTokens;
  try {
    tokens = vault.open<OAuthTokens>(revocationBinding(row.id), row);
  } catch (error) {
    return { revoked: false, message: error instanceof Error ? error.message : 'The tokens could not be opened', permanent: true };
  }
  // Only accountId is read of the connection: the superseded row may be gone.
  const connection = { id: row.connectionId, accountId: row.accountId } as ConnectionRow;
  const outcome = await revokeAtProvider(db, vault, settings, known, connection, tokens);
  return { revoked: outcome.revoked, message: outcome.message, permanent: !outcome.revoked && !outcome.transient };
}

/**
 * The attempt right after commit for the rows `queueRevocations` wrote: each row is settled
 * (SENT, FAILED for good, or left PENDING for the worker with its next attempt after the first
 * backoff step). Never rejects.
 */
export async function revokeQueued(db: Database, vault: Vault, settings: OAuthSettings, integration: Integration, ids: string[]): Promise<SupersededRevocation[]> {
  const outcomes: SupersededRevocation[] = [];
  for (const id of ids) {
    try {
      const [row] = await db.select().from(grantRevocations).where(eq(grantRevocations.id, id));
      if (!row) continue;
      const outcome = await attemptRevocation(db, vault, settings, row, integration);
      const retrying = !outcome.revoked && !outcome.permanent;
      await db
        .update(grantRevocations)
        .set({
          attempts: sql`${grantRevocations.attempts} + 1`,
          status: outcome.revoked ? 'SENT' : outcome.permanent ? 'FAILED' : 'PENDING',
          revokedAt: outcome.revoked ? sql`now()` : null,
          lastError: outcome.revoked ? null : outcome.message.slice(0, 1000),
          nextAttemptAt: new Date(Date.now() + REVOCATION_BASE_DELAY_MS).toISOString(),
        })
        .where(eq(grantRevocations.id, id));
      outcomes.push({ connectionId: row.connectionId ?? '', revoked: outcome.revoked, message: outcome.message, ...(retrying ? { retrying } : {}) });
    } catch (error) {
      outcomes.push({ connectionId: '', revoked: false, message: `revocation failed (${error instanceof Error ? error.name : 'unknown'}); the worker retries it`, retrying: true });
    }
  }
  return outcomes;
}
