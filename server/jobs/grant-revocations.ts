/**
 * The outbox of RFC 7009 revocations owed for superseded grants (domain/grant-revocations.ts):
 * the worker retries what the attempt right after commit could not finish, with backoff, until
 * the provider confirms or refuses for good.
 */
import { inArray } from 'drizzle-orm';
import { grantRevocations } from '../db/schema.js';
import { attemptRevocation, REVOCATION_BASE_DELAY_MS, REVOCATION_MAX_ATTEMPTS } from '../domain/grant-revocations.js';
import type { OAuthSettings } from '../domain/oauth2.js';
import type { Vault } from '../domain/vault.js';
import { DEFAULT_RETRY_POLICY, type DeliveryOutcome, type Outbox } from './outbox.js';

export function grantRevocationOutbox(deps: { vault: Vault; settings: OAuthSettings }): Outbox {
  return {
    name: 'grant revocations',
    table: grantRevocations,
    deliveredAtColumn: 'revoked_at',
    policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: REVOCATION_MAX_ATTEMPTS, baseDelayMs: REVOCATION_BASE_DELAY_MS },
    async deliver(db, ids) {
      const outcomes = new Map<string, DeliveryOutcome>();
      for (const row of await db.select().from(grantRevocations).where(inArray(grantRevocations.id, ids))) {
        const outcome = await attemptRevocation(db, deps.vault, deps.settings, row).catch((error: unknown) => ({
          revoked: false,
          permanent: false,
          message: error instanceof Error ? error.message : 'the revocation failed',
        }));
        outcomes.set(row.id, outcome.revoked ? { ok: true } : { ok: false, error: outcome.message, permanent: outcome.permanent });
      }
      return outcomes;
    },
  };
}
