/**
 * Connection events: every change of a connection, with its actor, written in the transaction of
 * the change and announced after commit. One writer (recordConnectionEvent) serves status changes
 * (lifecycle.ts), edits and deletion (connections.ts) and data sources (data-sources.ts).
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { type connectionEventKind, connectionEvents } from '../db/schema.js';
import { recordChanges } from './changes.js';
import type { ActorKind, ConnectionEventRow, ConnectionRow, ConnectionStatus, DisconnectReason } from './types.js';
import { enqueueWebhookDeliveries } from './webhooks.js';

export type ConnectionEventKind = (typeof connectionEventKind.enumValues)[number];

/** Who caused a change, for the event row. */
export interface Actor {
  kind: ActorKind;
  userId?: string | null;
}

/**
 * What changed besides the status, per kind. Names are the connection's or data source's at the
 * time; data source ids stay raw uuids here (GraphQL encodes them).
 */
export interface ConnectionEventDetails {
  /** RENAMED */
  previousName?: string;
  name?: string;
  /** DATA_SOURCE_ADDED / MOVED / REMOVED */
  dataSourceId?: string;
  dataSourceName?: string;
  /** DATA_SOURCE_MOVED: the connections it moved from and to. */
  fromConnectionId?: string;
  fromConnectionName?: string;
  toConnectionId?: string;
  toConnectionName?: string;
}

/** The event row's facts besides the connection it belongs to. */
export interface EventFacts {
  kind: ConnectionEventKind;
  actor: Actor;
  /** Status changes: the status before (null on creation) and after; other kinds keep the current status in both. */
  fromStatus?: ConnectionStatus | null;
  toStatus?: ConnectionStatus;
  reason?: DisconnectReason | null;
  message?: string | null;
  details?: ConnectionEventDetails | null;
}

/** The connection columns an event snapshots. */
export type EventConnection = Pick<ConnectionRow, 'id' | 'accountId' | 'name' | 'integrationKey' | 'ownerId' | 'shared' | 'status'>;

/** Whether the event changed the connection's status (what connectionStatusChanged and webhooks carry). */
export function isStatusChange(event: Pick<ConnectionEventRow, 'fromStatus' | 'toStatus'>): boolean {
  return event.fromStatus !== event.toStatus;
}

/**
 * Writes a connection's event row (with a snapshot of the connection as it is after the change,
 * so the event outlives it), enqueues webhook deliveries for status changes, and announces it
 * after commit. The per-account advisory lock, held to the end of the transaction, makes `seq`
 * order the account's events by commit, so `connectionEvents(after:)` never skips an event that
 * committed late. It is the last lock a change takes (rows are locked before it), so it cannot
 * close a lock cycle. Every change of a connection passes through here.
 */
export async function recordConnectionEvent(tx: Database, connection: EventConnection, facts: EventFacts): Promise<ConnectionEventRow> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${connection.accountId}::text, 0))`);
  const toStatus = facts.toStatus ?? connection.status;
  const [event] = await tx
    .insert(connectionEvents)
    .values({
      accountId: connection.accountId,
      connectionId: connection.id,
      kind: facts.kind,
      fromStatus: facts.fromStatus === undefined ? toStatus : facts.fromStatus,
      toStatus,
      reason: facts.reason ?? null,
      message: facts.message ?? null,
      details: (facts.details ?? null) as Record<string, unknown> | null,
      connectionName: connection.name,
      integrationKey: connection.integrationKey,
      connectionOwnerId: connection.ownerId,
      connectionShared: connection.shared,
      actorKind: facts.actor.kind,
      actorUserId: facts.actor.userId ?? null,
    })
    .returning();
  if (isStatusChange(event)) await enqueueWebhookDeliveries(tx, event, connection);
  recordChanges([{ type: 'connection', accountId: event.accountId, eventId: event.id }]);
  return event;
}

/**
 * A deleted connection as its last event remembers it: the row shape permission rules and live
 * payloads read, with nothing the snapshot did not keep (no credentials, no resource).
 */
export function tombstoneConnection(event: ConnectionEventRow): ConnectionRow {
  return {
    id: event.connectionId,
    accountId: event.accountId,
    ownerId: event.connectionOwnerId ?? '',
    integrationKey: event.integrationKey ?? '',
    customIntegrationId: null,
    name: event.connectionName ?? '',
    status: event.toStatus,
    disconnectReason: null,
    errorMessage: null,
    shared: event.connectionShared ?? false,
    resourceId: null,
    resourceName: null,
    createdAt: event.createdAt,
    updatedAt: event.createdAt,
    lastCheckedAt: null,
    accessTokenExpiresAt: null,
    reauthorizeBy: null,
    nextCheckAt: null,
    transientFailures: 0,
    refreshLeaseOwner: null,
    refreshLeaseUntil: null,
    refreshBlockedUntil: null,
    refreshFailures: 0,
  };
}
