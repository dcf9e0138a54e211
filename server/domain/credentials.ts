/** Sealed credentials of connections: store, read, wipe, and re-seal under a new key. */
import { and, eq, ne, notInArray } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { credentials } from '../db/schema.js';
import { type Vault, VaultError } from './vault.js';

/** Stores (or replaces) a connection's credentials, sealed by the vault's current key. */
export async function storeCredentials(
  db: Database,
  vault: Vault,
  connection: { id: string; accountId: string },
  payload: unknown,
): Promise<void> {
  const sealed = vault.seal(connection.id, payload);
  await db
    .insert(credentials)
    .values({ connectionId: connection.id, accountId: connection.accountId, ...sealed })
    .onConflictDoUpdate({
      target: credentials.connectionId,
      set: { ...sealed, updatedAt: new Date().toISOString() },
    });
}

/** Reads and opens a connection's credentials; undefined when it has none. */
export async function readCredentials<T>(db: Database, vault: Vault, connectionId: string): Promise<T | undefined> {
  const [row] = await db.select().from(credentials).where(eq(credentials.connectionId, connectionId));
  return row ? vault.open<T>(connectionId, row) : undefined;
}

/** Deletes a connection's credentials. */
export async function wipeCredentials(db: Database, connectionId: string): Promise<void> {
  await db.delete(credentials).where(eq(credentials.connectionId, connectionId));
}

/**
 * Re-seals every credential not yet under the vault's current key, in small transactions that
 * lock only the rows they change (SKIP LOCKED), so gateways keep serving meanwhile. A blob the
 * vault cannot open (its key is not configured) is left as it is and reported, not fatal.
 */
export async function resealCredentials(
  db: Database,
  vault: Vault,
  batchSize = 100,
): Promise<{ resealed: number; unopenable: string[] }> {
  let resealed = 0;
  const unopenable: string[] = [];
  for (;;) {
    const seen = await transaction(db, async (tx) => {
      const rows = await tx
        .select()
        .from(credentials)
        .where(
          and(
            ne(credentials.keyId, vault.currentKeyId),
            unopenable.length ? notInArray(credentials.connectionId, unopenable) : undefined,
          ),
        )
        .limit(batchSize)
        .for('update', { skipLocked: true });
      for (const row of rows) {
        let payload: unknown;
        try {
          payload = vault.open(row.connectionId, row);
        } catch (error) {
          if (!(error instanceof VaultError)) throw error;
          unopenable.push(row.connectionId);
          continue;
        }
        await tx.update(credentials).set(vault.seal(row.connectionId, payload)).where(eq(credentials.connectionId, row.connectionId));
        resealed += 1;
      }
      return rows.length;
    });
    if (seen < batchSize) return { resealed, unopenable };
  }
}
