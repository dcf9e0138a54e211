/** Sealed credentials of connections: store, read, wipe (key rotation: key-rotation.ts). */
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { credentials } from '../db/schema.js';
import type { Vault } from './vault.js';

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
