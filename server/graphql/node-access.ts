/**
 * `Query.node` and `Query.nodes` load by id without the filters lists apply, so they load through
 * domain/visibility, whose queries carry the access rules; fields below a node load through the
 * drizzle plugin's batched fallback queries.
 */
import { brandWithType } from '@pothos/core';
import { AuthenticationError, ValidationError } from '../domain/errors.js';
import { findVisibleRows, type NodeType } from '../domain/visibility.js';
import type { Context } from './builder.js';

type GlobalId = { typename: string; id: string };

const NODE_TYPES = new Set<string>([
  'Account',
  'User',
  'ApiToken',
  'Connection',
  'DataSource',
  'RefreshRun',
  'ConnectionEvent',
  'Notification',
  'WebhookEndpoint',
  'WebhookDelivery',
] satisfies NodeType[]);

/** Most ids one `nodes` call takes (a page's size). */
export const MAX_NODE_IDS = 100;

/** Loads the nodes the viewer may see, in order; null in place of unknown, foreign or hidden ids. */
export async function loadVisibleNodes(context: Context, ids: GlobalId[]): Promise<unknown[]> {
  const viewer = context.viewer;
  if (!viewer) throw new AuthenticationError('Send a valid API token as "Authorization: Bearer <token>"');
  if (ids.length > MAX_NODE_IDS) throw new ValidationError(`ids takes at most ${MAX_NODE_IDS} ids; ask in pages`, 'ids');
  const byType = new Map<string, string[]>();
  for (const { typename, id } of ids) {
    if (!NODE_TYPES.has(typename)) continue;
    const typeIds = byType.get(typename);
    if (typeIds) typeIds.push(id);
    else byType.set(typename, [id]);
  }
  const found = new Map<string, object>();
  await Promise.all(
    [...byType].map(async ([typename, typeIds]) => {
      for (const row of await findVisibleRows(context.db, viewer, typename as NodeType, typeIds)) {
        brandWithType(row, typename as never);
        found.set(`${typename}:${row.id}`, row);
      }
    }),
  );
  return ids.map(({ typename, id }) => found.get(`${typename}:${id}`) ?? null);
}
