/**
 * Key rotation: re-seals every sealed secret not yet under the vault's current key (connection
 * credentials, OAuth app secrets, pending authorization attempts, webhook signing secrets), in small transactions that lock
 * only the rows they change (SKIP LOCKED), so gateways keep serving meanwhile. A blob the vault
 * cannot open (its key is not configured) is left as it is and reported, not fatal.
 */
import { and, eq, ne, notInArray } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { credentials, oauthApps, oauthAttempts, webhookEndpoints } from '../db/schema.js';
import { appBinding, attemptBinding } from './oauth2.js';
import { type SealedSecret, type Vault, VaultError } from './vault.js';
import { secretBinding } from './webhooks.js';

/** One table of sealed secrets: its pending rows (not under `keyId`), what each is bound to, and how to save it. */
interface SealedTable {
  name: string;
  pending(tx: Database, keyId: string, skip: string[], limit: number): Promise<(SealedSecret & { id: string; boundTo: string })[]>;
  save(tx: Database, id: string, sealed: SealedSecret): Promise<unknown>;
}

const SEALED_TABLES: SealedTable[] = [
  {
    name: 'credentials',
    pending: async (tx, keyId, skip, limit) =>
      (
        await tx
          .select()
          .from(credentials)
          .where(and(ne(credentials.keyId, keyId), skip.length ? notInArray(credentials.connectionId, skip) : undefined))
          .limit(limit)
          .for('update', { skipLocked: true })
      ).map((row) => ({ ...row, id: row.connectionId, boundTo: row.connectionId })),
    save: (tx, id, sealed) => tx.update(credentials).set(sealed).where(eq(credentials.connectionId, id)),
  },
  {
    name: 'oauthApps',
    pending: async (tx, keyId, skip, limit) =>
      (
        await tx
          .select()
          .from(oauthApps)
          .where(and(ne(oauthApps.keyId, keyId), skip.length ? notInArray(oauthApps.id, skip) : undefined))
          .limit(limit)
          .for('update', { skipLocked: true })
      ).map((row) => ({ ...row, boundTo: appBinding(row.accountId, row.integrationKey) })),
    save: (tx, id, sealed) => tx.update(oauthApps).set(sealed).where(eq(oauthApps.id, id)),
  },
  {
    name: 'oauthAttempts',
    pending: async (tx, keyId, skip, limit) =>
      (
        await tx
          .select()
          .from(oauthAttempts)
          .where(and(ne(oauthAttempts.keyId, keyId), skip.length ? notInArray(oauthAttempts.id, skip) : undefined))
          .limit(limit)
          .for('update', { skipLocked: true })
      ).map((row) => ({ ...row, boundTo: attemptBinding(row.id) })),
    save: (tx, id, sealed) => tx.update(oauthAttempts).set(sealed).where(eq(oauthAttempts.id, id)),
  },
  {
    name: 'webhookEndpoints',
    pending: async (tx, keyId, skip, limit) =>
      (
        await tx
          .select()
          .from(webhookEndpoints)
          .where(and(ne(webhookEndpoints.keyId, keyId), skip.length ? notInArray(webhookEndpoints.id, skip) : undefined))
          .limit(limit)
          .for('update', { skipLocked: true })
      ).map((row) => ({ ...row, boundTo: secretBinding(row.id) })),
    save: (tx, id, sealed) => tx.update(webhookEndpoints).set(sealed).where(eq(webhookEndpoints.id, id)),
  },
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
