/**
 * Key rotation: re-seals every sealed secret not yet under the vault's current key (connection
 * credentials, OAuth app secrets, pending authorization attempts, webhook signing secrets, current
 * and previous), in small transactions that lock only the rows they change (SKIP LOCKED), so
 * gateways keep serving meanwhile. A blob the vault cannot open (its key is not configured) is
 * left as it is and reported, not fatal.
 */
import { and, eq, ne, notInArray } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Database } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { credentials, grantRevocations, oauthApps, oauthAttempts, webhookEndpoints, webhookPreviousSecrets } from '../db/schema.js';
import { appBinding, attemptBinding } from './oauth2.js';
import { revocationBinding } from './grant-revocations.js';
import { type SealedSecret, type Vault, VaultError } from './vault.js';
import { previousSecretBinding, secretBinding } from './webhooks.js';

/** One table of sealed secrets: its pending rows (not under `keyId`), what each is bound to, and how to save it. */
interface SealedTable {
  name: string;
  pending(tx: Database, keyId: string, skip: string[], limit: number): Promise<(SealedSecret & { id: string; boundTo: string })[]>;
  save(tx: Database, id: string, sealed: SealedSecret): Promise<unknown>;
}

type SealedRowTable =
  | typeof credentials
  | typeof oauthApps
  | typeof oauthAttempts
  | typeof webhookEndpoints
  | typeof webhookPreviousSecrets
  | typeof grantRevocations;

/** Describes a table whose rows carry `keyId` and `ciphertext`, identified by `idColumn`. */
function sealedTable<T extends SealedRowTable>(
  name: string,
  table: T,
  idColumn: AnyPgColumn,
  identify: (row: T['$inferSelect']) => { id: string; boundTo: string },
): SealedTable {
  // The tables share the columns used here; drizzle's builders cannot see that through a union.
  const sealed = table as typeof credentials;
  return {
    name,
    pending: async (tx, keyId, skip, limit) =>
      (
        await tx
          .select()
          .from(sealed)
          .where(and(ne(sealed.keyId, keyId), skip.length ? notInArray(idColumn, skip) : undefined))
          .limit(limit)
          .for('update', { skipLocked: true })
      ).map((row) => ({ keyId: row.keyId, ciphertext: row.ciphertext, ...identify(row as T['$inferSelect']) })),
    save: (tx, id, secret) => tx.update(sealed).set(secret).where(eq(idColumn, id)),
  };
}

const SEALED_TABLES: SealedTable[] = [
  sealedTable('credentials', credentials, credentials.connectionId, (row) => ({ id: row.connectionId, boundTo: row.connectionId })),
  sealedTable('oauthApps', oauthApps, oauthApps.id, (row) => ({ id: row.id, boundTo: appBinding(row.accountId, row.integrationKey) })),
  sealedTable('oauthAttempts', oauthAttempts, oauthAttempts.id, (row) => ({ id: row.id, boundTo: attemptBinding(row.id) })),
  sealedTable('grantRevocations', grantRevocations, grantRevocations.id, (row) => ({ id: row.id, boundTo: revocationBinding(row.id) })),
  sealedTable('webhookEndpoints', webhookEndpoints, webhookEndpoints.id, (row) => ({ id: row.id, boundTo: secretBinding(row.id) })),
  // Expired ones too: never opened again, but a key must be retirable without leaving blobs behind.
  sealedTable('webhookPreviousSecrets', webhookPreviousSecrets, webhookPreviousSecrets.endpointId, (row) => ({
    id: row.endpointId,
    boundTo: previousSecretBinding(row.endpointId),
  })),
];

export interface ResealResult {
  /** Rows re-sealed, by table. */
  resealed: Record<string, number>;
  /** Rows whose key is not configured, by table: left as they were. */
  unopenable: Record<string, string[]>;
}

/** Re-seals every sealed secret under the vault's current key. */
export async function resealSecrets(db: Database, vault: Vault, batchSize = 100): Promise<ResealResult> {
  const result: ResealResult = { resealed: {}, unopenable: {} };
  for (const table of SEALED_TABLES) {
    const unopenable: string[] = [];
    let resealed = 0;
    for (;;) {
      const seen = await transaction(db, async (tx) => {
        const rows = await table.pending(tx, vault.currentKeyId, unopenable, batchSize);
        for (const row of rows) {
          let payload: unknown;
          try {
            payload = vault.open(row.boundTo, row);
          } catch (error) {
            if (!(error instanceof VaultError)) throw error;
            unopenable.push(row.id);
            continue;
          }
          await table.save(tx, row.id, vault.seal(row.boundTo, payload));
          resealed += 1;
        }
        return rows.length;
      });
      if (seen < batchSize) break;
    }
    result.resealed[table.name] = resealed;
    if (unopenable.length) result.unopenable[table.name] = unopenable;
  }
  return result;
}
