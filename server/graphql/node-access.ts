/**
 * `Query.node` and `Query.nodes` load by id without the filters lists apply, so they check the
 * viewer's access first (domain/visibility) and only then let the drizzle plugin load the rows.
 */
import { AuthenticationError } from '../domain/errors.js';
import { visibleIds, type NodeType } from '../domain/visibility.js';
import type { Context } from './builder.js';

type GlobalId = { typename: string; id: string };
type ResolveNodes = (ids: GlobalId[]) => Promise<unknown[]>;

const NODE_TYPES = new Set<string>([
  'Account',
  'User',
  'ApiToken',
  'Connection',
  'DataSource',
  'RefreshRun',
  'ConnectionEvent',
] satisfies NodeType[]);

/** Loads the nodes the viewer may see; null in place of unknown, foreign or hidden ids. */
export async function loadVisibleNodes(context: Context, ids: GlobalId[], resolveNodes: ResolveNodes) {
  const viewer = context.viewer;
  if (!viewer) throw new AuthenticationError('Send a valid API token as "Authorization: Bearer <token>"');
  const byType = new Map<string, string[]>();
  for (const { typename, id } of ids) {
    if (NODE_TYPES.has(typename)) byType.set(typename, [...(byType.get(typename) ?? []), id]);
  }
  const visible = new Set<string>();
  await Promise.all(
    [...byType].map(async ([typename, typeIds]) => {
      for (const id of await visibleIds(context.db, viewer, typename as NodeType, typeIds)) {
        visible.add(`${typename}:${id}`);
      }
    }),
  );
  const allowed = ids.filter(({ typename, id }) => visible.has(`${typename}:${id}`));
  const loaded = allowed.length > 0 ? await resolveNodes(allowed) : [];
  const byKey = new Map(allowed.map((id, index) => [`${id.typename}:${id.id}`, loaded[index]]));
  return ids.map(({ typename, id }) => byKey.get(`${typename}:${id}`) ?? null);
}
