/**
 * Refresh dispatch: a data source's schedule makes it due; workers with SERVICE tokens claim due
 * sources under a lease, report progress and the end through updateRefreshRun, and an expired
 * lease ends the run ABANDONED and makes the source due again.
 *
 * The due time lives on the data source row (`next_refresh_at`), the lease too
 * (`refresh_run_id`, `refresh_lease_until`), so one `FOR UPDATE SKIP LOCKED` claim over
 * data_sources decides everything: two claims never lock the same row, and a claim that meets a
 * row another one just leased re-checks the lease on the row's newest version and passes it by.
 * A claim moves `next_refresh_at` to the end of the lease (a lease not renewed makes the source
 * due again by itself, and claims scan only due rows, never the leased ones); the end of the run
 * moves it to the schedule's next time after now, so a source that missed ten schedules while no
 * worker ran is due once.
 */
import { CronExpressionParser } from 'cron-parser';
import { and, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import { type Database, rowsOf } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { connections, dataSources, refreshRuns } from '../db/schema.js';
import { recordChanges } from './changes.js';
import { loadIntegrations } from './integrations.js';
import { findConnection } from './connections.js';
import { ForbiddenError, NotFoundError, RefreshRunningError, ValidationError } from './errors.js';
import type { DataSourceRow } from './types.js';
import { canEditDataSources, type Viewer } from './viewer.js';
import { findVisibleRow } from './visibility.js';

/** Most data sources one claim may lease. */
export const MAX_CLAIM = 100;
/** Integration keys one claim may name. */
export const MAX_CLAIM_INTEGRATIONS = 50;
/** Lease bounds, in seconds; the default suits a refresh reporting progress every minute or so. */
export const MIN_LEASE_SECONDS = 10;
export const MAX_LEASE_SECONDS = 3_600;
export const DEFAULT_LEASE_SECONDS = 300;
/** A due source not started within this long is late (PATCHBAY_REFRESH_LATE_AFTER_MS). */
export const DEFAULT_LATE_AFTER_MS = 600_000;

let lateAfterMs = DEFAULT_LATE_AFTER_MS;

/** Sets the grace after which a due, unstarted source counts as late (main.ts, from config). */
export function setRefreshLateAfter(ms: number): void {
  lateAfterMs = ms;
}

/** The schedule's first time strictly after `after` (UTC). */
export function nextScheduledAt(schedule: string, after: Date): Date {
  return CronExpressionParser.parse(schedule, { tz: 'UTC', currentDate: after }).next().toDate();
}

/**
 * When the source refreshes next, or null while it does not refresh (PAUSED, or BROKEN because
 * its connection is not ACTIVE). A time in the past means it is due now; while a worker holds it,
 * the schedule's next time (when the run ends, that is what it becomes).
 */
export function nextRefreshAtOf(
  row: Pick<DataSourceRow, 'status' | 'nextRefreshAt' | 'refreshLeaseUntil' | 'schedule'>,
  now = Date.now(),
): string | null {
  if (row.status !== 'ACTIVE') return null;
  return leased(row, now) ? nextScheduledAt(row.schedule, new Date(now)).toISOString() : row.nextRefreshAt;
}

/** Whether a worker holds a live lease on the source. */
function leased(row: Pick<DataSourceRow, 'refreshLeaseUntil'>, now: number): boolean {
  return row.refreshLeaseUntil != null && new Date(row.refreshLeaseUntil).getTime() > now;
}

/** Due for longer than the grace and not started (no live lease). */
export function isLate(row: Pick<DataSourceRow, 'status' | 'nextRefreshAt' | 'refreshLeaseUntil'>, now = Date.now()): boolean {
  return row.status === 'ACTIVE' && !leased(row, now) && new Date(row.nextRefreshAt).getTime() + lateAfterMs <= now;
}

/**
 * Checks a worker's integration keys: 1 to 50, each a built-in or one of the account's custom
 * integrations (another account's custom key is as unknown as a made-up one).
 */
export async function validIntegrationKeys(db: Database, accountId: string, given: readonly string[]): Promise<string[]> {
  const keys = [...new Set(given.map((key) => key.trim()))];
  if (keys.length === 0 || keys.length > MAX_CLAIM_INTEGRATIONS) {
    throw new ValidationError(`integrations must name 1 to ${MAX_CLAIM_INTEGRATIONS} integration keys`, 'integrations');
  }
  const known = await loadIntegrations(db, accountId, keys);
  const unknown = keys.filter((_key, index) => !known[index]);
  if (unknown.length > 0) {
    throw new ValidationError(
      `Unknown integration key${unknown.length === 1 ? '' : 's'}: ${unknown.slice(0, 5).map((key) => JSON.stringify(key.slice(0, 64))).join(', ')}`,
      'integrations',
    );
  }
  return keys;
}

/** One claimed refresh: the new RUNNING run, its data source and connection. */
export interface RefreshClaim {
  refreshRun: typeof refreshRuns.$inferSelect;
  dataSource: DataSourceRow;
  connection: typeof connections.$inferSelect;
  leaseExpiresAt: string;
}

/**
 * Leases up to `max` due data sources of the viewer's account whose connection (ACTIVE) is of
 * one of `integrations`, and starts a RUNNING run for each. SERVICE tokens only. A source whose
 * previous lease expired has that run ended ABANDONED in the same statement. Two statements
 * whatever the batch size: the claim, and one read of the runs with their sources and connections.
 */
export async function claimRefreshes(
  db: Database,
  viewer: Viewer,
  input: { integrations: readonly string[]; max?: number | null; leaseSeconds?: number | null },
): Promise<RefreshClaim[]> {
  if (viewer.tokenKind !== 'SERVICE') throw new ForbiddenError('Only SERVICE tokens may claim refreshes');
  const max = input.max ?? 10;
  if (!Number.isInteger(max) || max < 1 || max > MAX_CLAIM) throw new ValidationError(`max must be from 1 to ${MAX_CLAIM}`, 'max');
  const leaseSeconds = input.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < MIN_LEASE_SECONDS || leaseSeconds > MAX_LEASE_SECONDS) {
    throw new ValidationError(`leaseSeconds must be from ${MIN_LEASE_SECONDS} to ${MAX_LEASE_SECONDS}`, 'leaseSeconds');
  }
  const keys = await validIntegrationKeys(db, viewer.accountId, input.integrations);
  const claimed = await transaction(db, async (tx) => {
    const result = await tx.execute<{ run_id: string }>(sql`
      with due as (
        select ds.id, ds.account_id, ds.refresh_run_id as expired_run_id, ds.refresh_lease_until as expired_at
        from data_sources ds join connections c on c.id = ds.connection_id
        where ds.account_id = ${viewer.accountId} and ds.status = 'ACTIVE' and c.status = 'ACTIVE'
          and c.integration_key in (${sql.join(keys.map((key) => sql`${key}`), sql`, `)})
          and ds.next_refresh_at <= now()
          and (ds.refresh_lease_until is null or ds.refresh_lease_until <= now())
        order by ds.next_refresh_at
        limit ${max}
        for update of ds skip locked
      ), abandoned as (
        update refresh_runs r set status = 'ABANDONED', finished_at = due.expired_at,
          error = 'The worker’s lease expired before it reported the end'
        from due where r.id = due.expired_run_id and r.status = 'RUNNING'
        returning r.id
      ), runs as (
        insert into refresh_runs (account_id, data_source_id, status, lease_seconds)
        select account_id, id, 'RUNNING', ${leaseSeconds} from due
        returning id, data_source_id
      ), leases as (
        update data_sources ds set refresh_run_id = runs.id,
          refresh_lease_until = now() + make_interval(secs => ${leaseSeconds}),
          next_refresh_at = now() + make_interval(secs => ${leaseSeconds})
        from runs where ds.id = runs.data_source_id
        returning ds.id
      )
      -- Data-modifying CTEs run to completion whether read or not; reading leases keeps it explicit.
      select runs.id as run_id, null::uuid as abandoned_id from runs join leases on leases.id = runs.data_source_id
      union all select null, abandoned.id from abandoned`);
    const rows = rowsOf<{ run_id: string | null; abandoned_id: string | null }>(result);
    const at = new Date().toISOString();
    recordChanges(
      rows.map((row) => ({ type: 'refreshRun' as const, accountId: viewer.accountId, refreshRunId: (row.run_id ?? row.abandoned_id)!, at })),
    );
    return rows.filter((row) => row.run_id).map((row) => row.run_id!);
  });
  if (claimed.length === 0) return [];
  const runs = await db.query.refreshRuns.findMany({
    where: { id: { in: claimed } },
    with: { dataSource: { with: { connection: true } } },
  });
  return runs.map(({ dataSource: { connection, ...dataSource }, ...refreshRun }) => ({
    refreshRun,
    dataSource,
    connection,
    leaseExpiresAt: dataSource.refreshLeaseUntil!,
  }));
}

/**
 * Refresh now: makes the source due at once (the next claim takes it first). Refused while a run
 * is RUNNING; editors, admins, the connection owner and SERVICE tokens, like other changes to it.
 */
export async function refreshDataSourceNow(db: Database, viewer: Viewer, id: string): Promise<DataSourceRow> {
  return transaction(db, async (tx) => {
    const row = await findVisibleRow(tx, viewer, 'DataSource', id);
    const connection = await findConnection(tx, viewer, row.connectionId, 'use').catch((error) => {
      throw error instanceof NotFoundError || error instanceof ForbiddenError ? new NotFoundError('DataSource') : error;
    });
    if (!canEditDataSources(viewer, connection)) {
      throw new ForbiddenError('Only editors, admins and the connection owner can refresh data sources');
    }
    // Locks the row so a concurrent claim either took it before (RUNNING, refused) or finds it due after.
    const [locked] = await tx.select().from(dataSources).where(eq(dataSources.id, row.id)).for('update');
    if (!locked) throw new NotFoundError('DataSource');
    const [running] = await tx
      .select({ id: refreshRuns.id })
      .from(refreshRuns)
      .where(and(eq(refreshRuns.dataSourceId, row.id), eq(refreshRuns.status, 'RUNNING')))
      .limit(1);
    // A leased run whose lease ran out does not count: the next claim ends it ABANDONED.
    if (running && !(locked.refreshRunId === running.id && !leased(locked, Date.now()))) {
      throw new RefreshRunningError();
    }
    if (locked.status !== 'ACTIVE') {
      throw new ValidationError(
        locked.status === 'PAUSED' ? 'The data source is paused' : 'Its connection is not ACTIVE; reconnect it first',
        'id',
      );
    }
    const now = new Date().toISOString();
    const [updated] = await tx
      .update(dataSources)
      .set({ nextRefreshAt: sql`least(${dataSources.nextRefreshAt}, now())`, updatedAt: now })
      .where(eq(dataSources.id, row.id))
      .returning();
    // Workers hear of it at once; the person who pressed it sees the answer (its status did not change).
    recordChanges([{ type: 'refreshDue', accountId: updated.accountId, integrationKeys: [connection.integrationKey], at: now }]);
    return updated;
  });
}

/**
 * Ends the runs whose lease expired as ABANDONED and makes their sources due again (their
 * `next_refresh_at` is the lease's end, now past), across accounts, a batch at a time. Safe in every process at
 * once (SKIP LOCKED). Returns how many it ended.
 */
export async function abandonExpiredLeases(db: Database, batchSize = 500): Promise<number> {
  let total = 0;
  for (;;) {
    const ended = await transaction(db, async (tx) => {
      const result = await tx.execute<{ run_id: string; account_id: string; integration_key: string }>(sql`
        with expired as (
          select ds.id, ds.refresh_run_id, ds.refresh_lease_until from data_sources ds
          where ds.refresh_lease_until <= now()
          order by ds.refresh_lease_until
          limit ${batchSize}
          for update skip locked
        ), cleared as (
          update data_sources ds set refresh_run_id = null, refresh_lease_until = null
          from expired where ds.id = expired.id
          returning ds.id
        )
        update refresh_runs r set status = 'ABANDONED', finished_at = expired.refresh_lease_until,
          error = 'The worker’s lease expired before it reported the end'
        from expired join data_sources ds on ds.id = expired.id join connections c on c.id = ds.connection_id
        where r.id = expired.refresh_run_id and r.status = 'RUNNING'
        returning r.id as run_id, r.account_id, c.integration_key`);
      const rows = rowsOf<{ run_id: string; account_id: string; integration_key: string }>(result);
      const at = new Date().toISOString();
      const byAccount = new Map<string, Set<string>>();
      for (const row of rows) {
        if (!byAccount.has(row.account_id)) byAccount.set(row.account_id, new Set());
        byAccount.get(row.account_id)!.add(row.integration_key);
      }
      recordChanges([
        ...rows.map((row) => ({ type: 'refreshRun' as const, accountId: row.account_id, refreshRunId: row.run_id, at })),
        ...[...byAccount].map(([accountId, keys]) => ({ type: 'refreshDue' as const, accountId, integrationKeys: [...keys], at })),
      ]);
      return rows.length;
    });
    total += ended;
    if (ended < batchSize) return total;
  }
}

/**
 * The integrations of `accountIds` with sources that became due in (since, until]: what a
 * `refreshDue` subscriber hears as time passes. One statement.
 */
export async function integrationsDueBetween(
  db: Database,
  accountIds: readonly string[],
  since: Date,
  until: Date,
): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>();
  if (accountIds.length === 0) return result;
  const rows = await db
    .selectDistinct({ accountId: dataSources.accountId, integrationKey: connections.integrationKey })
    .from(dataSources)
    .innerJoin(connections, eq(connections.id, dataSources.connectionId))
    .where(
      and(
        inArray(dataSources.accountId, [...accountIds]),
        eq(dataSources.status, 'ACTIVE'),
        gt(dataSources.nextRefreshAt, since.toISOString()),
        lte(dataSources.nextRefreshAt, until.toISOString()),
      ),
    );
  for (const row of rows) result.set(row.accountId, [...(result.get(row.accountId) ?? []), row.integrationKey]);
  return result;
}

/** Columns a finished leased run clears on its source; `next_refresh_at` moves to the schedule's next time after now. */
export function endLease(schedule: string, now = new Date()) {
  return { refreshRunId: null, refreshLeaseUntil: null, nextRefreshAt: nextScheduledAt(schedule, now).toISOString() };
}

/** Whether `row` holds an unexpired lease for run `runId`. */
export function holdsLease(row: Pick<DataSourceRow, 'refreshRunId' | 'refreshLeaseUntil'>, runId: string, now = Date.now()): boolean {
  return row.refreshRunId === runId && leased(row, now);
}
