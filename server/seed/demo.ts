/**
 * The demo account `npm start` creates on first start: an owner, an admin and a member,
 * connections in every status (each with the event history that led there), data sources and
 * refresh history, told as one story (see DEMO_CONNECTIONS; tests/demo.test.ts checks that its
 * times agree). Everything is written in one transaction. Demo connections have no real
 * credentials, so the health job never schedules them (a manual Test reports them broken).
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { apiTokens, connectionEvents, connections, dataSources, notifications, refreshRuns } from '../db/schema.js';
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
  /** When its owner started it (it became ACTIVE a minute later, PENDING ones excepted). */
  started: number;
  /**
   * DISCONNECTED or REVOKED: when it ended. A SUPERSEDED one ends when the newer connection to the
   * same resource became ACTIVE (computed, not given).
   */
  ended?: number;
  /** A yearly sign-in (LinkedIn): the deadline is a year after it became ACTIVE. */
  reauthorizeYearly?: boolean;
  sources: [resourceId: string, name: string][];
}

const MINUTE = 60_000;
const YEAR = 365 * DAY;

/**
 * One story, told relative to the moment of seeding: Pam's old QuickBooks login was replaced a
 * month ago by her new one (SUPERSEDED at that minute); Dwight's Ahrefs stopped four weeks ago when
 * the plan lost API access; Jim's Salesforce and Dwight's Stripe key broke in the last days; Jim
 * revoked Box six weeks ago; LinkedIn's yearly sign-in is due in 12 days; HubSpot was started ten
 * minutes ago and not finished yet. Refreshes ran at their schedules' times until their connection
 * broke; the first one after a breakage failed with the service's message, and none ran since.
 */
const DEMO_CONNECTIONS: DemoConnection[] = [
  {
    owner: 'pam', integrationKey: 'quickbooks-online', name: 'Pam’s QBO Company A', status: 'ACTIVE', shared: true,
    resource: ['9130354784712', 'Company A'], started: 30 * DAY,
    sources: [['ProfitAndLoss', 'Profit and loss'], ['Invoice', 'Invoices']],
  },
  {
    owner: 'pam', integrationKey: 'quickbooks-online', name: 'QBO Company A (old login)', status: 'DISCONNECTED',
    reason: 'SUPERSEDED', shared: true, resource: ['9130354784712', 'Company A'], started: 200 * DAY, sources: [],
  },
  {
    owner: 'pam', integrationKey: 'google-analytics-4', name: 'Marketing GA4', status: 'ACTIVE', shared: true,
    resource: ['properties/284019374', 'acme.example – GA4'], started: 120 * DAY,
    sources: [['sessions-by-channel', 'Sessions by channel'], ['conversions', 'Conversions']],
  },
  {
    owner: 'jim', integrationKey: 'salesforce', name: 'Jim’s Salesforce', status: 'DISCONNECTED',
    reason: 'INVALID_REFRESH_TOKEN', message: 'invalid_grant: expired access/refresh token', shared: false,
    started: 90 * DAY, ended: 3 * DAY + 5 * HOUR,
    sources: [['Opportunity', 'Open opportunities']],
  },
  {
    owner: 'jim', integrationKey: 'linkedin', name: 'Jim’s LinkedIn pages', status: 'ACTIVE', shared: false,
    started: 353 * DAY, reauthorizeYearly: true, sources: [['urn:li:organization:2414183', 'Acme company page']],
  },
  {
    owner: 'dwight', integrationKey: 'ahrefs', name: 'SEO (Ahrefs)', status: 'DISCONNECTED', reason: 'PROVIDER_ERROR',
    message: 'API units are not available on your current plan', shared: true, started: 60 * DAY, ended: 28 * DAY + 2 * HOUR,
    sources: [['acme.example', 'Backlinks for acme.example']],
  },
  {
    owner: 'dwight', integrationKey: 'hubspot', name: 'HubSpot CRM', status: 'PENDING', shared: true, started: 10 * MINUTE, sources: [],
  },
  { owner: 'jim', integrationKey: 'box', name: 'Box archive', status: 'REVOKED', shared: false, started: 150 * DAY, ended: 45 * DAY, sources: [] },
  {
    owner: 'dwight', integrationKey: 'postgresql', name: 'Warehouse (PostgreSQL)', status: 'ACTIVE', shared: true, started: 75 * DAY,
    sources: [['public.orders', 'Orders'], ['public.customers', 'Customers']],
  },
  {
    owner: 'dwight', integrationKey: 'stripe', name: 'Stripe (live)', status: 'DISCONNECTED',
    reason: 'INVALID_CREDENTIALS', message: 'Invalid API Key provided', shared: true, started: 100 * DAY, ended: 2 * DAY - 7 * HOUR,
    sources: [['balance_transactions', 'Balance transactions']],
  },
];

/** The schedules' times in (from, to], oldest first. */
export function scheduledTimes(schedule: string, from: number, to: number): number[] {
  const times: number[] = [];
  for (let at = nextScheduledAt(schedule, new Date(from)).getTime(); at <= to; at = nextScheduledAt(schedule, new Date(at)).getTime()) times.push(at);
  return times;
}

/** How long a demo refresh takes, by its place in the history. */
const runDuration = (run: number) => 42_000 + run * 1_000;

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
    const iso = (ms: number) => new Date(ms).toISOString();
    const activated = (demo: DemoConnection) => now - demo.started + MINUTE;
    /** When a connection ended: given, or (SUPERSEDED) when its replacement became ACTIVE. */
    const endedAt = (demo: DemoConnection): number | null => {
      if (demo.status === 'ACTIVE' || demo.status === 'PENDING') return null;
      if (demo.reason !== 'SUPERSEDED') return now - demo.ended!;
      const newer = DEMO_CONNECTIONS.find(
        (other) => other !== demo && other.status === 'ACTIVE' && other.integrationKey === demo.integrationKey && other.resource?.[0] === demo.resource?.[0],
      )!;
      return activated(newer);
    };
    for (const demo of DEMO_CONNECTIONS) {
      const createdAt = now - demo.started;
      const ended = endedAt(demo);
      const path = historyTo(demo.status);
      const eventTimes = path.map((_, step) => (step === 0 ? createdAt : step === 1 ? createdAt + MINUTE : ended!));
      const lastChange = eventTimes[eventTimes.length - 1];
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
          updatedAt: iso(lastChange),
          // Checked an hour ago when working; a broken one was last checked when it broke.
          lastCheckedAt: demo.status === 'PENDING' ? null : iso(ended ?? now - HOUR),
          // Demo connections hold no real credentials: keep the background jobs away from them.
          nextCheckAt: iso(now + 3650 * DAY),
          reauthorizeBy: demo.reauthorizeYearly ? iso(activated(demo) + YEAR) : null,
        })
        .returning();
      const owner = people[demo.owner].id;
      const events = await tx.insert(connectionEvents).values(
        path.map((toStatus, step) => ({
          accountId: account.id,
          connectionId: connection.id,
          fromStatus: step === 0 ? null : path[step - 1],
          toStatus,
          reason: toStatus === 'DISCONNECTED' ? (demo.reason ?? 'UNKNOWN') : null,
          message: toStatus === 'DISCONNECTED' ? (demo.message ?? null) : null,
          actorKind: toStatus === 'DISCONNECTED' ? ('SYSTEM' as const) : ('USER' as const),
          actorUserId: toStatus === 'DISCONNECTED' ? null : owner,
          createdAt: iso(eventTimes[step]),
        })),
      ).returning();
      // The notices its owner and Pam got when it broke, as a real disconnection writes them (then).
      if (demo.status === 'DISCONNECTED') {
        const broke = events[events.length - 1];
        await noticeDisconnection(tx, connection, broke.id);
        await tx.update(notifications).set({ createdAt: broke.createdAt }).where(eq(notifications.eventId, broke.id));
      }
      for (const [sourceIndex, [resourceId, name]] of demo.sources.entries()) {
        const schedule = sourceIndex % 2 === 0 ? '0 6 * * *' : '0 * * * *';
        const sourceCreatedAt = activated(demo) + HOUR + sourceIndex * MINUTE;
        // The last six scheduled refreshes that finished while the connection worked...
        const worked = scheduledTimes(schedule, sourceCreatedAt, (ended ?? now) - 2 * MINUTE).slice(-6);
        // ...and, for a broken one, the first scheduled refresh after it broke, which failed.
        const failedAt = ended === null ? undefined : scheduledTimes(schedule, ended, now - 2 * MINUTE)[0];
        const runs = [
          ...worked.map((startedAt, run) => ({ startedAt, failed: false, run })),
          ...(failedAt === undefined ? [] : [{ startedAt: failedAt, failed: true, run: worked.length }]),
        ];
        const lastSucceeded = worked.length ? worked[worked.length - 1] + runDuration(worked.length - 1) : null;
        const [source] = await tx
          .insert(dataSources)
          .values({
            accountId: account.id,
            connectionId: connection.id,
            resourceId,
            name,
            schedule,
            // Due next at the schedule's next time (a demo has no worker claiming).
            nextRefreshAt: nextScheduledAt(schedule, new Date(now)).toISOString(),
            filter: sourceIndex % 2 === 0 ? { dateRange: 'last_30_days' } : null,
            status: demo.status === 'ACTIVE' ? 'ACTIVE' : 'BROKEN',
            lastRefreshedAt: lastSucceeded === null ? null : iso(lastSucceeded),
            createdAt: iso(sourceCreatedAt),
          })
          .returning();
        if (runs.length === 0) continue;
        await tx.insert(refreshRuns).values(
          runs.map(({ startedAt, failed, run }) => ({
            accountId: account.id,
            dataSourceId: source.id,
            status: failed ? ('FAILED' as const) : ('SUCCEEDED' as const),
            startedAt: iso(startedAt),
            finishedAt: iso(startedAt + (failed ? 3_000 : runDuration(run))),
            rows: failed ? null : 1_200 + run * 37,
            error: failed ? (demo.message ?? 'The connection is not active') : null,
          })),
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
