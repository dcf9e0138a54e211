/**
 * The demo account `npm start` creates on first start: an owner, an admin and a member,
 * connections in every status (each with the event history that led there), data sources and
 * refresh history. Everything is written in one transaction. Demo connections have no real
 * credentials, so the health job never schedules them (a manual Test reports them broken).
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { apiTokens, connectionEvents, connections, dataSources, refreshRuns } from '../db/schema.js';
import { nextScheduledAt } from '../domain/refresh-dispatch.js';
import { createAccount, createUser } from '../domain/accounts.js';
import { findActiveApiToken, issueApiToken } from '../domain/api-tokens.js';
import { DEFAULT_WARNING_DAYS, noticeDisconnection, queueReauthorizationWarnings } from '../domain/notifications.js';
import type { ConnectionStatus, DisconnectReason } from '../domain/types.js';

const DEMO_OWNER_EMAIL = 'pam@acme.example';
const DEMO_TOKEN_NAME = 'Demo token (printed at start)';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface DemoConnection {
  owner: 'pam' | 'dwight' | 'jim';
  integrationKey: string;
  name: string;
  status: ConnectionStatus;
  reason?: DisconnectReason;
  message?: string;
  shared: boolean;
  resource?: [id: string, name: string];
  reauthorizeInDays?: number;
  sources: [resourceId: string, name: string][];
}

const DEMO_CONNECTIONS: DemoConnection[] = [
  {
    owner: 'pam', integrationKey: 'quickbooks-online', name: 'Pam’s QBO Company A', status: 'ACTIVE', shared: true,
    resource: ['9130354784712', 'Company A'],
    sources: [['ProfitAndLoss', 'Profit and loss'], ['Invoice', 'Invoices']],
  },
  {
    owner: 'pam', integrationKey: 'quickbooks-online', name: 'QBO Company A (old login)', status: 'DISCONNECTED',
    reason: 'SUPERSEDED', shared: true, resource: ['9130354784712', 'Company A'], sources: [],
  },
  {
    owner: 'pam', integrationKey: 'google-analytics-4', name: 'Marketing GA4', status: 'ACTIVE', shared: true,
    resource: ['properties/284019374', 'acme.example – GA4'],
    sources: [['sessions-by-channel', 'Sessions by channel'], ['conversions', 'Conversions']],
  },
  {
    owner: 'jim', integrationKey: 'salesforce', name: 'Jim’s Salesforce', status: 'DISCONNECTED',
    reason: 'INVALID_REFRESH_TOKEN', message: 'invalid_grant: expired access/refresh token', shared: false,
    sources: [['Opportunity', 'Open opportunities']],
  },
  {
    owner: 'jim', integrationKey: 'linkedin', name: 'Jim’s LinkedIn pages', status: 'ACTIVE', shared: false,
    reauthorizeInDays: 12, sources: [['urn:li:organization:2414183', 'Acme company page']],
  },
  {
    owner: 'dwight', integrationKey: 'ahrefs', name: 'SEO (Ahrefs)', status: 'DISCONNECTED', reason: 'PROVIDER_ERROR',
    message: 'API units are not available on your current plan', shared: true,
    sources: [['acme.example', 'Backlinks for acme.example']],
  },
  {
    owner: 'dwight', integrationKey: 'hubspot', name: 'HubSpot CRM', status: 'PENDING', shared: true, sources: [],
  },
  { owner: 'jim', integrationKey: 'box', name: 'Box archive', status: 'REVOKED', shared: false, sources: [] },
  {
    owner: 'dwight', integrationKey: 'postgresql', name: 'Warehouse (PostgreSQL)', status: 'ACTIVE', shared: true,
    resource: ['analytics', 'analytics database'],
    sources: [['public.orders', 'Orders'], ['public.customers', 'Customers']],
  },
  {
    owner: 'dwight', integrationKey: 'stripe', name: 'Stripe (live)', status: 'DISCONNECTED',
    reason: 'INVALID_CREDENTIALS', message: 'Invalid API Key provided', shared: true,
    sources: [['balance_transactions', 'Balance transactions']],
  },
];

/** The path of statuses that leads to `status`, for a plausible event history. */
function historyTo(status: ConnectionStatus): ConnectionStatus[] {
  switch (status) {
    case 'PENDING':
      return ['PENDING'];
    case 'ACTIVE':
      return ['PENDING', 'ACTIVE'];
    case 'DISCONNECTED':
      return ['PENDING', 'ACTIVE', 'DISCONNECTED'];
    case 'REVOKED':
      return ['PENDING', 'ACTIVE', 'REVOKED'];
  }
}

/** Whether the demo account exists already. */
export async function demoAccountId(db: Database): Promise<string | undefined> {
  const owner = await db.query.users.findFirst({ where: { email: DEMO_OWNER_EMAIL } });
  return owner?.accountId;
}

/** Creates the demo account (idempotent: does nothing when it exists). */
export async function seedDemo(db: Database): Promise<void> {
  if (await demoAccountId(db)) return;
  await transaction(db, async (tx) => {
    const { account, owner: pam } = await createAccount(tx, {
      name: 'Acme Analytics',
      owner: { email: DEMO_OWNER_EMAIL, name: 'Pam Beesly' },
    });
    const dwight = await createUser(tx, { accountId: account.id, email: 'dwight@acme.example', name: 'Dwight Schrute', role: 'ADMIN' });
    const jim = await createUser(tx, { accountId: account.id, email: 'jim@acme.example', name: 'Jim Halpert', role: 'MEMBER' });
    const people = { pam, dwight, jim };
    const now = Date.now();
    for (const [index, demo] of DEMO_CONNECTIONS.entries()) {
      const createdAt = now - (40 - index) * DAY;
      const iso = (ms: number) => new Date(ms).toISOString();
      const [connection] = await tx
        .insert(connections)
        .values({
          accountId: account.id,
          ownerId: people[demo.owner].id,
          integrationKey: demo.integrationKey,
          name: demo.name,
          status: demo.status,
          disconnectReason: demo.reason ?? null,
          errorMessage: demo.message ?? null,
          shared: demo.shared,
          resourceId: demo.resource?.[0] ?? null,
          resourceName: demo.resource?.[1] ?? null,
          createdAt: iso(createdAt),
          updatedAt: iso(now - index * HOUR),
          lastCheckedAt: demo.status === 'PENDING' ? null : iso(now - index * HOUR),
          // Demo connections hold no real credentials: keep the background jobs away from them.
          nextCheckAt: iso(now + 3650 * DAY),
          reauthorizeBy: demo.reauthorizeInDays ? iso(now + demo.reauthorizeInDays * DAY) : null,
        })
        .returning();
      const path = historyTo(demo.status);
      const events = await tx.insert(connectionEvents).values(
        path.map((toStatus, step) => ({
          accountId: account.id,
          connectionId: connection.id,
          fromStatus: step === 0 ? null : path[step - 1],
          toStatus,
          reason: toStatus === 'DISCONNECTED' ? (demo.reason ?? 'UNKNOWN') : null,
          message: toStatus === 'DISCONNECTED' ? (demo.message ?? null) : null,
          actorKind: toStatus === 'DISCONNECTED' ? ('SYSTEM' as const) : ('USER' as const),
          actorUserId: toStatus === 'DISCONNECTED' ? null : people[demo.owner].id,
          createdAt: iso(createdAt + step * (step === path.length - 1 ? 2 * DAY : 60_000)),
        })),
      ).returning();
      // The notices its owner and Pam got when it broke, as a real disconnection writes them.
      if (demo.status === 'DISCONNECTED') await noticeDisconnection(tx, connection, events[events.length - 1].id);
      for (const [sourceIndex, [resourceId, name]] of demo.sources.entries()) {
        const schedule = sourceIndex % 2 === 0 ? '0 6 * * *' : '0 * * * *';
        const [source] = await tx
          .insert(dataSources)
          .values({
            accountId: account.id,
            connectionId: connection.id,
            resourceId,
            name,
            schedule,
            // Refreshed 6 hours ago: due next at the schedule's next time (a demo has no worker claiming).
            nextRefreshAt: nextScheduledAt(schedule, new Date(now)).toISOString(),
            filter: sourceIndex % 2 === 0 ? { dateRange: 'last_30_days' } : null,
            status: demo.status === 'ACTIVE' ? 'ACTIVE' : 'BROKEN',
            lastRefreshedAt: iso(now - 6 * HOUR),
            createdAt: iso(createdAt + HOUR + sourceIndex),
          })
          .returning();
        const broken = demo.status !== 'ACTIVE';
        await tx.insert(refreshRuns).values(
          Array.from({ length: 6 }, (_, run) => {
            const failed = broken && run < 2;
            const startedAt = now - (run + 1) * 6 * HOUR;
            return {
              accountId: account.id,
              dataSourceId: source.id,
              status: failed ? ('FAILED' as const) : ('SUCCEEDED' as const),
              startedAt: iso(startedAt),
              finishedAt: iso(startedAt + 42_000 + run * 1_000),
              rows: failed ? null : 1_200 + run * 37,
              error: failed ? (demo.message ?? 'The connection is not active') : null,
            };
          }),
        );
      }
    }
    // And the warnings of deadlines coming up (LinkedIn's yearly sign-in), as the health job writes them.
    await queueReauthorizationWarnings(tx, { warningDays: DEFAULT_WARNING_DAYS, accountId: account.id });
  });
}

/** Reads the kept demo token; undefined when there is none. */
function readKeptToken(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The demo owner's token printed at start. With `file` (embedded: `<dataDir>/demo-token`, 0600)
 * the token is kept there and the same one is printed on every start while it still authenticates,
 * so a restart does not sign out the browsers using it; a revoked or missing one is replaced.
 * Without a file (PostgreSQL, where gateways share no directory) a fresh token is issued on each
 * start. Either way a new token revokes the previous demo tokens, so they do not pile up.
 */
export async function issueDemoToken(db: Database, options: { file?: string } = {}): Promise<string | undefined> {
  const owner = await db.query.users.findFirst({ where: { email: DEMO_OWNER_EMAIL } });
  if (!owner) return undefined;
  const kept = options.file ? readKeptToken(options.file) : undefined;
  if (kept && (await findActiveApiToken(db, kept))?.userId === owner.id) return kept;
  const token = await transaction(db, async (tx) => {
    const previous = await tx.query.apiTokens.findMany({
      where: { userId: owner.id, name: DEMO_TOKEN_NAME, revokedAt: { isNull: true } },
    });
    for (const row of previous) {
      await tx.update(apiTokens).set({ revokedAt: new Date().toISOString() }).where(eq(apiTokens.id, row.id));
    }
    const issued = await issueApiToken(tx, {
      accountId: owner.accountId,
      userId: owner.id,
      name: DEMO_TOKEN_NAME,
      kind: 'USER',
    });
    return issued.token;
  });
  if (options.file) {
    writeFileSync(options.file, `${token}\n`, { mode: 0o600 });
    // writeFileSync's mode applies only to a new file: an existing one is narrowed too.
    chmodSync(options.file, 0o600);
  }
  return token;
}
