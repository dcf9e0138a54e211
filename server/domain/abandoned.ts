/**
 * Sign-ins nobody finished. Starting an OAuth connection creates it PENDING with a one-time
 * attempt that expires (ATTEMPT_TTL_MS); a person who cancels at the service, closes the tab or
 * never comes back leaves that PENDING connection behind. Once no attempt of it is open or was
 * used within the last attempt lifetime (a callback still completing), and nothing reads through
 * it, it is deleted: it holds no credentials and never worked. A PENDING row that no sign-in
 * started (seeded, imported) is not an abandoned attempt and is left alone.
 */
import { inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { connections } from '../db/schema.js';
import { transaction } from '../db/transaction.js';
import { recordConnectionEvent } from './connection-events.js';
import { ATTEMPT_TTL_MS } from './oauth2.js';

/** At most this many go per call (one transaction); the next round takes the rest. */
const EXPIRED_PER_ROUND = 500;

/**
 * Deletes abandoned PENDING connections (of one account when given); returns their ids. Each gets
 * a DELETED event by the system first, as a deletion by a person does: the audit trail shows where
 * the connection went, and live subscribers and webhooks hear of it. Rows another gateway is
 * expiring at the same moment are skipped (SKIP LOCKED), not waited for.
 */
export async function expireAbandonedConnections(db: Database, options: { accountId?: string; graceMs?: number } = {}): Promise<string[]> {
  const graceSeconds = (options.graceMs ?? ATTEMPT_TTL_MS) / 1000;
  const account = options.accountId ? sql`and c.account_id = ${options.accountId}` : sql``;
  return transaction(db, async (tx) => {
    const rows = await tx
      .select()
      .from(connections)
      .where(
        sql`${connections.id} in (
          select c.id from connections c
          where c.status = 'PENDING'
            and c.created_at < now() - make_interval(secs => ${graceSeconds})
            ${account}
            -- Started through a sign-in (rows made another way, like the demo's, are left alone)...
            and exists (select 1 from oauth_attempts a where a.connection_id = c.id)
            -- ...none of whose attempts is open or was used within the grace.
            and not exists (
              select 1 from oauth_attempts a
              where a.connection_id = c.id
                and ((a.used_at is null and a.expires_at > now()) or a.used_at > now() - make_interval(secs => ${graceSeconds}))
            )
            and not exists (select 1 from data_sources d where d.connection_id = c.id)
          limit ${EXPIRED_PER_ROUND}
          for update skip locked)`,
      );
    if (rows.length === 0) return [];
    for (const row of rows) {
      await recordConnectionEvent(tx, row, { kind: 'DELETED', actor: { kind: 'SYSTEM' }, message: 'The sign-in was never finished' });
    }
    await tx.delete(connections).where(inArray(connections.id, rows.map((row) => row.id)));
    return rows.map((row) => row.id);
  });
}
