/**
 * Bulk data for benchmarks: N accounts, each with an owner, a member, and the given numbers of
 * connections, data sources per connection and refresh runs per data source. Rows are created
 * with set-based SQL (generate_series), so 500,000 refresh runs take seconds, not minutes.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { accounts, connections, users } from '../db/schema.js';
import { BUILT_IN_INTEGRATIONS } from '../domain/catalog.js';
import type { ConnectionStatus } from '../domain/types.js';

export interface BulkShape {
  accounts: number;
  connections: number;
  sources: number;
  runs: number;
}

const STATUSES: ConnectionStatus[] = ['ACTIVE', 'ACTIVE', 'ACTIVE', 'DISCONNECTED', 'PENDING', 'REVOKED'];
const CHUNK = 1_000;

/** Inserts the shape and returns the ids of the accounts and their owners. */
export async function seedBulk(db: Database, shape: BulkShape): Promise<{ accountId: string; ownerId: string }[]> {
  const run = randomUUID().slice(0, 8);
  const created: { accountId: string; ownerId: string }[] = [];
  for (let a = 0; a < shape.accounts; a++) {
    const [account] = await db.insert(accounts).values({ name: `Bench account ${a + 1} (${run})` }).returning();
    const [owner, member] = await db
      .insert(users)
      .values([
        { accountId: account.id, email: `owner-${a}-${run}@bench.test`, name: `Owner ${a}`, role: 'ADMIN', isOwner: true },
        { accountId: account.id, email: `member-${a}-${run}@bench.test`, name: `Member ${a}`, role: 'MEMBER' },
      ])
      .returning();
    const rows = Array.from({ length: shape.connections }, (_, c) => {
      const integration = BUILT_IN_INTEGRATIONS[c % BUILT_IN_INTEGRATIONS.length];
      const status = STATUSES[c % STATUSES.length];
      return {
        accountId: account.id,
        ownerId: c % 3 === 0 ? member.id : owner.id,
        integrationKey: integration.key,
        name: `${integration.name} #${c + 1}`,
        status,
        disconnectReason: status === 'DISCONNECTED' ? ('INVALID_REFRESH_TOKEN' as const) : null,
        shared: c % 4 !== 0,
        createdAt: new Date(Date.UTC(2026, 0, 1) + c * 60_000).toISOString(),
      };
    });
    for (let i = 0; i < rows.length; i += CHUNK) {
      await db.insert(connections).values(rows.slice(i, i + CHUNK));
    }
    created.push({ accountId: account.id, ownerId: owner.id });
  }
  const accountIds = sql.join(created.map(({ accountId }) => sql`${accountId}::uuid`), sql`, `);
  await db.execute(sql`
    insert into data_sources (account_id, connection_id, resource_id, name, schedule, status, created_at, last_refreshed_at)
    select c.account_id, c.id, 'resource-' || g, 'Data source ' || g, '0 6 * * *',
           case when c.status = 'ACTIVE' then 'ACTIVE'::data_source_status else 'BROKEN'::data_source_status end,
           c.created_at + g * interval '1 second', now() - interval '6 hours'
    from connections c cross join generate_series(1, ${shape.sources}) g
    where c.account_id in (${accountIds})`);
  await db.execute(sql`
    insert into refresh_runs (account_id, data_source_id, status, started_at, finished_at, rows, error)
    select d.account_id, d.id,
           case when g % 7 = 0 then 'FAILED'::refresh_run_status else 'SUCCEEDED'::refresh_run_status end,
           now() - g * interval '1 hour', now() - g * interval '1 hour' + interval '40 seconds',
           case when g % 7 = 0 then null else 1000 + g end,
           case when g % 7 = 0 then 'rate limited by the service' else null end
    from data_sources d cross join generate_series(1, ${shape.runs}) g
    where d.account_id in (${accountIds})`);
  return created;
}
