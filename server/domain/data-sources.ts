/** Data sources: resources read through a connection, with a schedule and a filter. */
import { CronExpressionParser } from 'cron-parser';
import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { dataSources, refreshRuns } from '../db/schema.js';
import { recordChanges } from './changes.js';
import { actorOf, findConnection } from './connections.js';
import { recordConnectionEvent } from './connection-events.js';
import { ForbiddenError, NotFoundError, ValidationError } from './errors.js';
import type { ConnectionRow, DataSourceRow, DataSourceStatus, RefreshRunRow, RefreshRunStatus } from './types.js';
import { validName } from './validation.js';
import { canEditDataSources, type Viewer } from './viewer.js';
import { findVisibleRow } from './visibility.js';
import { endLease, nextScheduledAt } from './refresh-dispatch.js';

/** Largest filter we store, serialized. */
const MAX_FILTER_BYTES = 16_384;
const MAX_RESOURCE_ID_LENGTH = 512;

/** Checks a five-field cron expression ("0 6 * * *" = daily at 06:00 UTC). */
export function validSchedule(value: string): string {
  const schedule = value.trim().replace(/\s+/g, ' ');
  if (schedule.split(' ').length !== 5) {
    throw new ValidationError('schedule must be a five-field cron expression, e.g. "0 6 * * *"', 'schedule');
  }
  try {
    CronExpressionParser.parse(schedule, { tz: 'UTC' });
  } catch (error) {
    throw new ValidationError(`schedule is not a valid cron expression: ${(error as Error).message}`, 'schedule');
  }
  return schedule;
}

function validFilter(value: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (value == null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError('filter must be a JSON object', 'filter');
  }
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_FILTER_BYTES) {
    throw new ValidationError(`filter must be at most ${MAX_FILTER_BYTES} bytes of JSON`, 'filter');
  }
  return value;
}

function validResourceId(value: string): string {
  const resourceId = value.trim();
  if (!resourceId || resourceId.length > MAX_RESOURCE_ID_LENGTH) {
    throw new ValidationError(`resourceId must be 1 to ${MAX_RESOURCE_ID_LENGTH} characters`, 'resourceId');
  }
  return resourceId;
}

/** A data source can refresh only while its connection is ACTIVE. */
function statusFor(connection: ConnectionRow, current?: DataSourceStatus): DataSourceStatus {
  if (current === 'PAUSED') return 'PAUSED';
  return connection.status === 'ACTIVE' ? 'ACTIVE' : 'BROKEN';
}

/** Creates a data source on a connection the viewer may use. */
export async function createDataSource(
  db: Database,
  viewer: Viewer,
  input: {
    connectionId: string;
    resourceId: string;
    name: string;
    schedule: string;
    filter?: Record<string, unknown> | null;
  },
): Promise<DataSourceRow> {
  const values = {
    resourceId: validResourceId(input.resourceId),
    name: validName(input.name),
    schedule: validSchedule(input.schedule),
    filter: validFilter(input.filter),
  };
  return transaction(db, async (tx) => {
    // FOR UPDATE serializes with deleteConnection's check on the same row.
    const connection = await findConnection(tx, viewer, input.connectionId, 'use', { forUpdate: true });
    const [row] = await tx
      .insert(dataSources)
      .values({ ...values, accountId: viewer.accountId, connectionId: connection.id, status: statusFor(connection) })
      .returning();
    await recordConnectionEvent(tx, connection, {
      kind: 'DATA_SOURCE_ADDED',
      actor: actorOf(viewer),
      details: { dataSourceId: row.id, dataSourceName: row.name },
    });
    return row;
  });
}

/**
 * A data source the viewer may change. One they may not see (another account's, or on a
 * connection they may not use) is NotFound exactly like a missing id, whatever its connection
 * (visibility.ts); one they see but may not change is Forbidden.
 */
async function findDataSource(db: Database, viewer: Viewer, id: string) {
  const row = await findVisibleRow(db, viewer, 'DataSource', id);
  // Usable a moment ago; should it have just become private, it is as invisible as above.
  const connection = await findConnection(db, viewer, row.connectionId, 'use').catch((error) => {
    throw error instanceof NotFoundError || error instanceof ForbiddenError ? new NotFoundError('DataSource') : error;
  });
  if (!canEditDataSources(viewer, connection)) {
    throw new ForbiddenError('Only editors, admins and the connection owner can change data sources');
  }
  return { row, connection };
}

/**
 * Changes a data source; switching `connectionId` moves it to another connection of the same
 * integration that the viewer may use (e.g. after a reconnect under a new login).
 */
export async function updateDataSource(
  db: Database,
  viewer: Viewer,
  id: string,
  input: {
    name?: string | null;
    schedule?: string | null;
    filter?: Record<string, unknown> | null;
    connectionId?: string | null;
  },
): Promise<DataSourceRow> {
  if (input.name == null && input.schedule == null && input.filter === undefined && input.connectionId == null) {
    throw new ValidationError('Give at least one field to change', 'input');
  }
  const changes: Partial<typeof dataSources.$inferInsert> = {};
  if (input.name != null) changes.name = validName(input.name);
  if (input.schedule != null) {
    changes.schedule = validSchedule(input.schedule);
    // A new schedule's next time; a run in progress sets it again when it ends.
    changes.nextRefreshAt = nextScheduledAt(changes.schedule, new Date()).toISOString();
  }
  if (input.filter !== undefined) changes.filter = validFilter(input.filter);
  return transaction(db, async (tx) => {
    const { row, connection } = await findDataSource(tx, viewer, id);
    // While a worker holds it, next_refresh_at is its lease's end (due again if the lease runs out); the run's end applies the new schedule.
    if (row.refreshRunId != null) delete changes.nextRefreshAt;
    let movedTo: ConnectionRow | undefined;
    if (input.connectionId != null && input.connectionId !== connection.id) {
      const target = (movedTo = await findConnection(tx, viewer, input.connectionId, 'use', { forUpdate: true }));
      if (target.integrationKey !== connection.integrationKey) {
        throw new ValidationError(
          'A data source can only move to a connection of the same integration',
          'connectionId',
        );
      }
      changes.connectionId = target.id;
      changes.status = statusFor(target, row.status);
    }
    const now = new Date().toISOString();
    const [updated] = await tx
      .update(dataSources)
      .set({ ...changes, updatedAt: now })
      .where(eq(dataSources.id, id))
      .returning();
    if (updated.status !== row.status) {
      recordChanges([
        { type: 'dataSource', accountId: row.accountId, dataSourceId: row.id, from: row.status, to: updated.status, at: now },
      ]);
    }
    if (movedTo) {
      // One event on each connection, so each one's history tells where it went or came from.
      const details = {
        dataSourceId: row.id,
        dataSourceName: updated.name,
        fromConnectionId: connection.id,
        fromConnectionName: connection.name,
        toConnectionId: movedTo.id,
        toConnectionName: movedTo.name,
      };
      for (const side of [connection, movedTo]) {
        await recordConnectionEvent(tx, side, { kind: 'DATA_SOURCE_MOVED', actor: actorOf(viewer), details });
      }
    }
    return updated;
  });
}

/** Deletes a data source and its refresh history. */
export async function deleteDataSource(db: Database, viewer: Viewer, id: string): Promise<DataSourceRow> {
  return transaction(db, async (tx) => {
    const { row, connection } = await findDataSource(tx, viewer, id);
    await tx.delete(dataSources).where(eq(dataSources.id, id));
    await recordConnectionEvent(tx, connection, {
      kind: 'DATA_SOURCE_REMOVED',
      actor: actorOf(viewer),
      details: { dataSourceId: row.id, dataSourceName: row.name },
    });
    return row;
  });
}

function validRows(rows: number | null | undefined): void {
  if (rows != null && (rows < 0 || !Number.isInteger(rows))) {
    throw new ValidationError('rows must be a non-negative integer', 'rows');
  }
}

/**
 * A worker records a refresh of a data source (SERVICE tokens, or anyone who may edit it). A
 * success also stamps the data source's `lastRefreshedAt`.
 */
export async function recordRefreshRun(
  db: Database,
  viewer: Viewer,
  input: {
    dataSourceId: string;
    status: RefreshRunStatus;
    startedAt: Date;
    finishedAt?: Date | null;
    rows?: number | null;
    error?: string | null;
  },
): Promise<RefreshRunRow> {
  if (input.finishedAt && input.finishedAt < input.startedAt) {
    throw new ValidationError('finishedAt must not be before startedAt', 'finishedAt');
  }
  if (input.status !== 'RUNNING' && !input.finishedAt) {
    throw new ValidationError('A finished run needs finishedAt', 'finishedAt');
  }
  if (input.status === 'ABANDONED') throw new ValidationError('Only the gateway ends a run ABANDONED (its lease expired)', 'status');
  validRows(input.rows);
  return transaction(db, async (tx) => {
    const { row } = await findDataSource(tx, viewer, input.dataSourceId);
    const [run] = await tx
      .insert(refreshRuns)
      .values({
        accountId: row.accountId,
        dataSourceId: row.id,
        status: input.status,
        startedAt: input.startedAt.toISOString(),
        finishedAt: input.finishedAt?.toISOString() ?? null,
        rows: input.rows ?? null,
        error: input.error?.trim().slice(0, 1000) || null,
      })
      .returning();
    if (input.status === 'SUCCEEDED') {
      await tx
        .update(dataSources)
        .set({ lastRefreshedAt: run.finishedAt, nextRefreshAt: nextScheduledAt(row.schedule, new Date()).toISOString() })
        .where(eq(dataSources.id, row.id));
    }
    recordChanges([{ type: 'refreshRun', accountId: run.accountId, refreshRunId: run.id, at: new Date().toISOString() }]);
    return run;
  });
}

/**
 * A worker reports a RUNNING refresh's progress (rows so far) or its end. Finished runs are
 * final; the run's row is locked so concurrent reports apply one after the other. A run handed
 * out by claimRefreshes holds a lease on its data source: a progress report renews it, the end
 * releases it and sets the source's next refresh from its schedule. Should the connection have
 * stopped being ACTIVE meanwhile, a progress report ends the run FAILED with that reason (the
 * worker sees the status in the answer and stops) and the source is due again once repaired.
 */
export async function updateRefreshRun(
  db: Database,
  viewer: Viewer,
  input: { id: string; status?: RefreshRunStatus | null; rows?: number | null; finishedAt?: Date | null; error?: string | null },
): Promise<RefreshRunRow> {
  validRows(input.rows);
  if (input.status === 'ABANDONED') throw new ValidationError('Only the gateway ends a run ABANDONED (its lease expired)', 'status');
  return transaction(db, async (tx) => {
    const [current] = await tx
      .select()
      .from(refreshRuns)
      .where(and(eq(refreshRuns.id, input.id), eq(refreshRuns.accountId, viewer.accountId)))
      .for('update');
    if (!current) throw new NotFoundError('RefreshRun');
    const { row: source, connection } = await findDataSource(tx, viewer, current.dataSourceId).catch((error) => {
      throw error instanceof NotFoundError ? new NotFoundError('RefreshRun') : error;
    });
    if (current.status !== 'RUNNING') {
      throw new ValidationError(`The run already finished (${current.status}); record a new run instead`, 'id');
    }
    const leasedRun = current.leaseSeconds != null && source.refreshRunId === current.id;
    let status = input.status ?? 'RUNNING';
    let error = input.error;
    const stopped = leasedRun && status === 'RUNNING' && source.status !== 'ACTIVE';
    if (stopped) {
      status = 'FAILED';
      error =
        source.status === 'PAUSED'
          ? 'The data source was paused; the refresh was stopped'
          : `Its connection is ${connection.status}${connection.disconnectReason ? ` (${connection.disconnectReason})` : ''}; the refresh was stopped`;
    }
    const finishedAt = status === 'RUNNING' ? null : (input.finishedAt ?? new Date());
    if (status === 'RUNNING' && input.finishedAt) throw new ValidationError('A RUNNING run has no finishedAt', 'finishedAt');
    if (finishedAt && finishedAt.toISOString() < new Date(current.startedAt).toISOString()) {
      throw new ValidationError('finishedAt must not be before the run started', 'finishedAt');
    }
    const [run] = await tx
      .update(refreshRuns)
      .set({
        status,
        finishedAt: finishedAt?.toISOString() ?? null,
        rows: input.rows ?? current.rows,
        error: error === undefined ? current.error : error?.trim().slice(0, 1000) || null,
      })
      .where(eq(refreshRuns.id, current.id))
      .returning();
    const sourceChanges: { [K in keyof typeof dataSources.$inferInsert]?: (typeof dataSources.$inferInsert)[K] | SQL } = {};
    if (status === 'SUCCEEDED') sourceChanges.lastRefreshedAt = run.finishedAt;
    if (leasedRun && status === 'RUNNING') {
      sourceChanges.refreshLeaseUntil = sql`now() + make_interval(secs => ${current.leaseSeconds})`;
      sourceChanges.nextRefreshAt = sql`now() + make_interval(secs => ${current.leaseSeconds})`;
    } else if (stopped) {
      // Stopped because the connection broke: due again at once when it is repaired.
      Object.assign(sourceChanges, { refreshRunId: null, refreshLeaseUntil: null, nextRefreshAt: sql`now()` });
    } else if (leasedRun || status === 'SUCCEEDED') {
      Object.assign(sourceChanges, leasedRun ? endLease(source.schedule) : { nextRefreshAt: endLease(source.schedule).nextRefreshAt });
    }
    if (Object.keys(sourceChanges).length > 0) {
      await tx.update(dataSources).set(sourceChanges).where(eq(dataSources.id, run.dataSourceId));
    }
    recordChanges([{ type: 'refreshRun', accountId: run.accountId, refreshRunId: run.id, at: new Date().toISOString() }]);
    return run;
  });
}
