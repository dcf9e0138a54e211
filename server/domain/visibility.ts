/**
 * Which rows of each type a viewer may reach by id. Direct lookups (`node`, `nodes`) bypass the
 * filtered lists, so they ask here first: one statement per type, and ids of other accounts are
 * simply absent, exactly like missing ones.
 */
import type { Database } from '../db/client.js';
import type { connections } from '../db/schema.js';
import { isAdmin, usableConnectionsCondition, visibleConnectionsCondition, type Viewer } from './viewer.js';

/** The row types reachable by id. */
export type NodeType = 'Account' | 'User' | 'ApiToken' | 'Connection' | 'DataSource' | 'RefreshRun' | 'ConnectionEvent';

/** Returns the subset of `ids` of `type` the viewer may see. */
export async function visibleIds(db: Database, viewer: Viewer, type: NodeType, ids: string[]): Promise<Set<string>> {
  const idIn = { in: ids };
  const accountId = viewer.accountId;
  const columns = { id: true } as const;
  const usable = { RAW: (table: typeof connections) => usableConnectionsCondition(table, viewer) };
  let rows: { id: string }[];
  switch (type) {
    case 'Account':
      return new Set(ids.filter((id) => id === accountId));
    case 'User':
      rows = await db.query.users.findMany({ columns, where: { id: idIn, accountId } });
      break;
    case 'ApiToken':
      rows = await db.query.apiTokens.findMany({
        columns,
        where: { id: idIn, accountId, ...(isAdmin(viewer) ? {} : { userId: viewer.userId }) },
      });
      break;
    case 'Connection':
      rows = await db.query.connections.findMany({
        columns,
        where: { id: idIn, RAW: (table) => visibleConnectionsCondition(table, viewer) },
      });
      break;
    case 'DataSource':
      rows = await db.query.dataSources.findMany({
        columns,
        where: { id: idIn, accountId, connection: usable },
      });
      break;
    case 'RefreshRun':
      rows = await db.query.refreshRuns.findMany({
        columns,
        where: { id: idIn, accountId, dataSource: { connection: usable } },
      });
      break;
    case 'ConnectionEvent':
      rows = await db.query.connectionEvents.findMany({
        columns,
        where: { id: idIn, accountId, connection: usable },
      });
      break;
  }
  return new Set(rows.map((row) => row.id));
}
