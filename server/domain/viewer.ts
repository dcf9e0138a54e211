/**
 * Who is asking, and what they may do. Every permission rule of the product lives here so the
 * GraphQL layer, jobs and tests ask the same questions.
 */
import { and, eq, or, type SQL, sql } from 'drizzle-orm';
import { connectionEvents, connections } from '../db/schema.js';
import type { ApiTokenKind, UserRole } from './types.js';

/** The authenticated principal of a request: a user, acting through one API token. */
export interface Viewer {
  userId: string;
  accountId: string;
  role: UserRole;
  isOwner: boolean;
  /** The token that authenticated the request. */
  tokenId: string;
  /** SERVICE tokens are partner workers: they see every connection of the account. */
  tokenKind: ApiTokenKind;
}

/** The connection columns permission rules read. */
export interface ConnectionAccessFacts {
  accountId: string;
  ownerId: string;
  shared: boolean;
}

/** Admins and the account owner manage everything in their account. */
export function isAdmin(viewer: Viewer): boolean {
  return viewer.role === 'ADMIN' || viewer.isOwner;
}

/** Whether the viewer may know the connection exists (lists, node lookups). */
export function canSeeConnection(viewer: Viewer, connection: ConnectionAccessFacts): boolean {
  if (connection.accountId !== viewer.accountId) return false;
  return canUseConnection(viewer, connection) || isAdmin(viewer);
}

/**
 * Whether the viewer may see the connection's details and use it for data sources: its owner,
 * anyone in the account when it is shared, and the account's service workers.
 */
export function canUseConnection(viewer: Viewer, connection: ConnectionAccessFacts): boolean {
  if (connection.accountId !== viewer.accountId) return false;
  return connection.shared || connection.ownerId === viewer.userId || viewer.tokenKind === 'SERVICE';
}

/** Revoke and delete: the owner or an admin (an admin may end a private connection, not look into it). */
export function canManageConnection(viewer: Viewer, connection: ConnectionAccessFacts): boolean {
  if (connection.accountId !== viewer.accountId) return false;
  return connection.ownerId === viewer.userId || isAdmin(viewer);
}

/**
 * Rename and reauthenticate: the owner, or an admin when the connection is shared. A private
 * connection of another user is not the admin's to rename blind or to sign in again with their
 * own login at the service.
 */
export function canEditConnection(viewer: Viewer, connection: ConnectionAccessFacts): boolean {
  if (connection.accountId !== viewer.accountId) return false;
  return connection.ownerId === viewer.userId || (isAdmin(viewer) && connection.shared);
}

/** Share or unshare: who may see a connection's contents is its owner's decision alone. */
export function canShareConnection(viewer: Viewer, connection: ConnectionAccessFacts): boolean {
  return connection.accountId === viewer.accountId && connection.ownerId === viewer.userId;
}

/** Changing data sources and recording their runs: editors, admins, the connection's owner, service workers. */
export function canEditDataSources(viewer: Viewer, connection: ConnectionAccessFacts): boolean {
  if (!canUseConnection(viewer, connection)) return false;
  return viewer.role !== 'MEMBER' || isAdmin(viewer) || connection.ownerId === viewer.userId || viewer.tokenKind === 'SERVICE';
}

/**
 * Reading the account's webhook endpoints and delivery log: admins, and the account's service
 * workers (the partners the webhooks are for). Changing them takes an admin.
 */
export function canReadWebhooks(viewer: Viewer): boolean {
  return isAdmin(viewer) || viewer.tokenKind === 'SERVICE';
}

/**
 * SQL for canSeeConnection over `table` (drizzle's alias of connections inside a relational
 * query, or the table itself), so lists, counts and id lookups apply one rule.
 */
export function visibleConnectionsCondition(table: typeof connections, viewer: Viewer): SQL {
  if (isAdmin(viewer)) return eq(table.accountId, viewer.accountId);
  return usableConnectionsCondition(table, viewer);
}

/** SQL for canUseConnection over `table`. */
export function usableConnectionsCondition(table: typeof connections, viewer: Viewer): SQL {
  if (viewer.tokenKind === 'SERVICE') return eq(table.accountId, viewer.accountId);
  return and(
    eq(table.accountId, viewer.accountId),
    or(eq(table.shared, true), eq(table.ownerId, viewer.userId)),
  )!;
}

/**
 * The access facts an event is judged by: its connection as it is now, or, once the connection is
 * deleted, the snapshot the event kept. `deleted` marks the snapshot.
 */
export function eventConnectionFacts(
  event: { accountId: string; connectionOwnerId: string | null; connectionShared: boolean | null },
  connection: ConnectionAccessFacts | null | undefined,
): ConnectionAccessFacts & { deleted: boolean } {
  if (connection) return { accountId: connection.accountId, ownerId: connection.ownerId, shared: connection.shared, deleted: false };
  return { accountId: event.accountId, ownerId: event.connectionOwnerId ?? '', shared: event.connectionShared ?? false, deleted: true };
}

/**
 * SQL for "the viewer may see this event" over `table` (connection_events or its alias): the rule
 * of canSeeConnection applied to the connection as it is now, or to the event's snapshot once the
 * connection is deleted (so a tombstone is visible to whoever could see the connection last).
 * With `unshared`, UNSHARED events also reach everyone who could see the connection while it was
 * shared (the whole account), so their screens drop it; without its contents (canUseConnection).
 */
export function visibleEventsCondition(table: typeof connectionEvents, viewer: Viewer, options: { unshared?: boolean } = {}): SQL {
  if (isAdmin(viewer) || viewer.tokenKind === 'SERVICE') return eq(table.accountId, viewer.accountId);
  return and(
    eq(table.accountId, viewer.accountId),
    sql`(coalesce(
      (select ${connections.shared} or ${connections.ownerId} = ${viewer.userId} from ${connections} where ${connections.id} = ${table.connectionId}),
      ${table.connectionShared} or ${table.connectionOwnerId} = ${viewer.userId})${options.unshared ? sql` or ${table.kind} = 'UNSHARED'` : sql``})`,
  )!;
}

/** canSeeConnection for an event: the connection now (or its snapshot once deleted), and UNSHARED ones as visibleEventsCondition's `unshared`. */
export function canSeeEvent(
  viewer: Viewer,
  event: { kind: string; accountId: string; connectionOwnerId: string | null; connectionShared: boolean | null },
  connection: ConnectionAccessFacts | null | undefined,
): boolean {
  const facts = eventConnectionFacts(event, connection);
  return canSeeConnection(viewer, facts) || (event.kind === 'UNSHARED' && canSeeConnection(viewer, { ...facts, shared: true }));
}
