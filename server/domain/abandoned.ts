/**
 * Sign-ins nobody finished. Starting an OAuth connection creates it PENDING with a one-time
 * attempt that expires (ATTEMPT_TTL_MS); a person who cancels at the service, closes the tab or
 * never comes back leaves that PENDING connection behind. Once no attempt of it is open or was
 * used within the last attempt lifetime (a callback still completing), and nothing reads through
 * it, it is deleted: it holds no credentials and never worked. A PENDING row that no sign-in
 * started (seeded, imported) is not an abandoned attempt and is left alone.
 */
import { sql } from 'drizzle-orm';
import { type Database, rowsOf } from '../db/client.js';
import { ATTEMPT_TTL_MS } from './oauth2.js';

/** Deletes abandoned PENDING connections (of one account when given); returns their ids. */
export async function expireAbandonedConnections(db: Database, options: { accountId?: string; graceMs?: number } = {}): Promise<string[]> {
  const graceSeconds = (options.graceMs ?? ATTEMPT_TTL_MS) / 1000;
  const account = options.accountId ? sql`and c.account_id = ${options.accountId}` : sql``;
  const rows = rowsOf<{ id: string }>(
    await db.execute(sql`
      delete from connections c
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
      returning c.id`),
  );
  return rows.map((row) => row.id);
}
