/** Connection rules that are not the auth lifecycle: lookup with access checks, edit, delete. */
import { and, count, eq, ilike, inArray, or, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { connections, dataSources } from '../db/schema.js';
import { type Actor, recordConnectionEvent } from './connection-events.js';
import { ConnectionInUseError, ForbiddenError, NotFoundError, ValidationError } from './errors.js';
import type { ConnectionRow, ConnectionStatus } from './types.js';
import { validName } from './validation.js';
import {
  canEditConnection,
  canManageConnection,
  canSeeConnection,
  canShareConnection,
  canUseConnection,
  type Viewer,
  usableConnectionsCondition,
  visibleConnectionsCondition,
} from './viewer.js';

/** The actor a viewer's request acts as (a SERVICE token's worker, or a person). */
export function actorOf(viewer: Viewer): Actor {
  return { kind: viewer.tokenKind === 'SERVICE' ? 'SERVICE' : 'USER', userId: viewer.userId };
}

/** What the caller needs to do with the connection it looks up. */
export type ConnectionAccess = 'see' | 'use' | 'edit' | 'share' | 'manage';

const ACCESS_CHECKS = {
  see: canSeeConnection,
  use: canUseConnection,
  edit: canEditConnection,
  share: canShareConnection,
  manage: canManageConnection,
} as const;

/** Why a viewer who may see the connection is refused, per access. */
const REFUSALS: Record<Exclude<ConnectionAccess, 'see'>, string> = {
  use: 'This connection is private to its owner',
  edit: 'Only its owner can rename or reauthenticate a private connection; an admin can revoke or delete it',
  share: 'Only the connection’s owner can change who it is shared with',
  manage: 'Only the connection owner or an admin can change this connection',
};

/**
 * Loads a connection for the viewer. A connection of another account, or a private one the
 * viewer may not know of, is NotFound (indistinguishable from a missing id); one the viewer may
 * see but not act on is Forbidden. `forUpdate` locks the row for the caller's transaction.
 */
export async function findConnection(
  db: Database,
  viewer: Viewer,
  id: string,
  access: ConnectionAccess,
  options: { forUpdate?: boolean } = {},
): Promise<ConnectionRow> {
  const query = db.select().from(connections).where(eq(connections.id, id));
  const [row] = options.forUpdate ? await query.for('update') : await query;
  return checkConnectionAccess(viewer, row, access);
}

/**
 * findConnection's rules for a row the caller read itself (e.g. together with its credentials):
 * missing or invisible is NotFound, visible but not allowed is Forbidden.
 */
export function checkConnectionAccess(viewer: Viewer, row: ConnectionRow | undefined, access: ConnectionAccess): ConnectionRow {
  if (!row || !canSeeConnection(viewer, row)) throw new NotFoundError('Connection');
  if (access !== 'see' && !ACCESS_CHECKS[access](viewer, row)) {
    throw new ForbiddenError(canManageConnection(viewer, row) || access === 'use' ? REFUSALS[access] : REFUSALS.manage);
  }
  return row;
}

/** Renames (owner, or an admin when shared) and/or shares or unshares (owner only) a connection. */
export async function updateConnection(
  db: Database,
  viewer: Viewer,
  id: string,
  input: { name?: string | null; shared?: boolean | null },
): Promise<ConnectionRow> {
  if (input.name == null && input.shared == null) {
    throw new ValidationError('Give a name or a shared flag to change', 'input');
  }
  const name = input.name == null ? undefined : validName(input.name);
  return transaction(db, async (tx) => {
    const current = await findConnection(tx, viewer, id, name === undefined ? 'see' : 'edit', { forUpdate: true });
    if (input.shared != null && input.shared !== current.shared && !canShareConnection(viewer, current)) {
      throw new ForbiddenError(canManageConnection(viewer, current) ? REFUSALS.share : REFUSALS.manage);
    }
    if (name === undefined && !canManageConnection(viewer, current)) throw new ForbiddenError(REFUSALS.manage);
    const [row] = await tx
      .update(connections)
      .set({
        ...(name === undefined ? {} : { name }),
        ...(input.shared == null ? {} : { shared: input.shared }),
        updatedAt: new Date().toISOString(),
      })
      .where(eq(connections.id, id))
      .returning();
    const actor = actorOf(viewer);
    if (row.name !== current.name) {
      await recordConnectionEvent(tx, row, { kind: 'RENAMED', actor, details: { previousName: current.name, name: row.name } });
    }
    if (row.shared !== current.shared) {
      await recordConnectionEvent(tx, row, { kind: row.shared ? 'SHARED' : 'UNSHARED', actor });
    }
    return row;
  });
}

/**
 * Deletes a connection and its credentials (owner or admin); its events stay, with a DELETED one
 * last (a tombstone naming who deleted it). Refused while data sources read through it; the row
 * lock makes the check and the delete atomic against a concurrent createDataSource, which locks
 * the same row.
 */
export async function deleteConnection(db: Database, viewer: Viewer, id: string): Promise<ConnectionRow> {
  return transaction(db, async (tx) => {
    const row = await findConnection(tx, viewer, id, 'manage', { forUpdate: true });
    const [{ value }] = await tx
      .select({ value: count() })
      .from(dataSources)
      .where(eq(dataSources.connectionId, id));
    if (value > 0) throw new ConnectionInUseError(value);
    await recordConnectionEvent(tx, row, { kind: 'DELETED', actor: actorOf(viewer) });
    await tx.delete(connections).where(eq(connections.id, id));
    return row;
  });
}

/** What a connection list can be narrowed by. */
export interface ConnectionListFilter {
  status?: ConnectionStatus[] | null;
  integrationKey?: string | null;
  ownerId?: string | null;
  shared?: boolean | null;
  /** Text in the name or the resource's name, case-insensitive (see connectionSearch). */
  search?: string | null;
}

/** The longest search text a list accepts. */
export const MAX_SEARCH_LENGTH = 120;

/**
 * The search text of a list filter, trimmed; null when empty. Too long a text is a
 * ValidationError naming `field`.
 */
export function connectionSearch(text: string | null | undefined, field = 'filter.search'): string | null {
  const trimmed = text?.trim() ?? '';
  if (trimmed.length > MAX_SEARCH_LENGTH) throw new ValidationError(`${field} must be at most ${MAX_SEARCH_LENGTH} characters`, field);
  return trimmed || null;
}

/**
 * Matches `text` in a connection's name or resource name. Only connections the viewer may use
 * can match: the name of another member's private connection is hidden from admins, so a search
 * must not reveal it either.
 */
function searchCondition(table: typeof connections, viewer: Viewer, text: string): SQL {
  const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return and(usableConnectionsCondition(table, viewer), or(ilike(table.name, pattern), ilike(table.resourceName, pattern)))!;
}

/**
 * The SQL condition of a connection list: the viewer's visibility plus the filter. One builder
 * serves both the page query (given drizzle's aliased table) and its totalCount.
 */
export function connectionListCondition(
  table: typeof connections,
  viewer: Viewer,
  filter: ConnectionListFilter = {},
): SQL {
  const conditions: SQL[] = [visibleConnectionsCondition(table, viewer)];
  if (filter.status?.length) conditions.push(inArray(table.status, filter.status));
  if (filter.integrationKey != null) conditions.push(eq(table.integrationKey, filter.integrationKey));
  if (filter.ownerId != null) conditions.push(eq(table.ownerId, filter.ownerId));
  if (filter.shared != null) conditions.push(eq(table.shared, filter.shared));
  if (filter.search) conditions.push(searchCondition(table, viewer, filter.search));
  return and(...conditions)!;
}

/** Counts the connections a list with this filter pages over. */
export async function countConnections(db: Database, viewer: Viewer, filter: ConnectionListFilter = {}) {
  return db.$count(connections, connectionListCondition(connections, viewer, filter));
}
