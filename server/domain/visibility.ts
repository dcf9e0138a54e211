/**
 * Which rows of each type a viewer may reach by id. Direct lookups (`node`, `nodes`) bypass the
 * filtered lists, so they load through here: one statement per type, with the access rule in its
 * WHERE clause, so ids of other accounts are simply absent, exactly like missing ones.
 */
import type { Database } from '../db/client.js';
import type * as schema from '../db/schema.js';
import type { connections } from '../db/schema.js';
import { NotFoundError } from './errors.js';
import { canReadWebhooks, isAdmin, usableConnectionsCondition, visibleConnectionsCondition, type Viewer } from './viewer.js';

/** The row types reachable by id. */
export type NodeType =
  | 'Account'
  | 'User'
  | 'ApiToken'
  | 'Connection'
  | 'DataSource'
  | 'RefreshRun'
  | 'ConnectionEvent'
  | 'WebhookEndpoint'
  | 'WebhookDelivery'
  | 'Notification';

/** The row each type loads as. */
export interface NodeRows {
  Account: typeof schema.accounts.$inferSelect;
  User: typeof schema.users.$inferSelect;
  ApiToken: typeof schema.apiTokens.$inferSelect;
  Connection: typeof schema.connections.$inferSelect;
  DataSource: typeof schema.dataSources.$inferSelect;
  RefreshRun: typeof schema.refreshRuns.$inferSelect;
  ConnectionEvent: typeof schema.connectionEvents.$inferSelect;
  WebhookEndpoint: typeof schema.webhookEndpoints.$inferSelect;
  WebhookDelivery: typeof schema.webhookDeliveries.$inferSelect;
  Notification: typeof schema.notifications.$inferSelect;
}

/**
 * Loads one row of `type` that the viewer may see. A missing id, another account's, and one of
 * this account the viewer may not see (another member's token, a data source on their private
 * connection) all throw the same NotFoundError, so no answer tells them apart.
 */
export async function findVisibleRow<T extends NodeType>(db: Database, viewer: Viewer, type: T, id: string): Promise<NodeRows[T]> {
  const [row] = await findVisibleRows(db, viewer, type, [id]);
  if (!row) throw new NotFoundError(type);
  return row as NodeRows[T];
}

/** Loads the rows of `type` among `ids` that the viewer may see (others are simply absent). */
export async function findVisibleRows(
  db: Database,
  viewer: Viewer,
  type: NodeType,
  ids: string[],
): Promise<{ id: string }[]> {
  const idIn = { in: ids };
  const accountId = viewer.accountId;
  const usable = { RAW: (table: typeof connections) => usableConnectionsCondition(table, viewer) };
  let rows: { id: string }[];
  switch (type) {
    case 'Account':
      rows = ids.includes(accountId) ? await db.query.accounts.findMany({ where: { id: accountId } }) : [];
      break;
    case 'User':
      rows = await db.query.users.findMany({ where: { id: idIn, accountId } });
      break;
    case 'ApiToken':
      rows = await db.query.apiTokens.findMany({
        where: { id: idIn, accountId, ...(isAdmin(viewer) ? {} : { userId: viewer.userId }) },
      });
      break;
    case 'Connection':
      rows = await db.query.connections.findMany({
        where: { id: idIn, RAW: (table) => visibleConnectionsCondition(table, viewer) },
      });
      break;
    case 'DataSource':
      rows = await db.query.dataSources.findMany({
        where: { id: idIn, accountId, connection: usable },
      });
      break;
    case 'RefreshRun':
      rows = await db.query.refreshRuns.findMany({
        where: { id: idIn, accountId, dataSource: { connection: usable } },
      });
      break;
    case 'ConnectionEvent':
      // As in the event feed and live status: whoever may see the connection sees its changes.
      rows = await db.query.connectionEvents.findMany({
        where: { id: idIn, accountId, connection: { RAW: (table) => visibleConnectionsCondition(table, viewer) } },
      });
      break;
    case 'Notification':
      rows = await db.query.notifications.findMany({ where: { id: idIn, accountId, recipientId: viewer.userId } });
      break;
    case 'WebhookEndpoint':
      rows = canReadWebhooks(viewer) ? await db.query.webhookEndpoints.findMany({ where: { id: idIn, accountId } }) : [];
      break;
    case 'WebhookDelivery':
      rows = canReadWebhooks(viewer) ? await db.query.webhookDeliveries.findMany({ where: { id: idIn, accountId } }) : [];
      break;
  }
  return rows;
}
