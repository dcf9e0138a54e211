/** ConnectionEvent: one status change of a connection (history and audit), and the account's event feed. */
import { decodeBase64, decodeCursorChunk, encodeBase64, encodeCursorTuple } from '@pothos/core';
import { ValidationError } from '../domain/errors.js';
import type { connections } from '../db/schema.js';
import { visibleConnectionsCondition } from '../domain/viewer.js';
import { builder, viewerOf } from './builder.js';
import { ConnectionStatusEnum, DisconnectReasonEnum } from './connection-status.js';
import { parseGlobalId } from '../domain/global-ids.js';
import { MAX_PAGE_SIZE, pageQuery } from './pagination.js';

const ActorKindEnum = builder.enumType('ActorKind', {
  description: 'Who caused a change.',
  values: {
    USER: { description: 'A person, through the API or dashboard.' },
    SERVICE: { description: 'A partner worker with a SERVICE token.' },
    SYSTEM: { description: 'Patchbay itself: a refresh, a health check, a superseding connection.' },
  },
});

export const ConnectionEventType = builder.drizzleNode('connectionEvents', {
  name: 'ConnectionEvent',
  description: 'A status change of a connection.',
  id: { column: (event) => event.id },
  fields: (t) => ({
    fromStatus: t.expose('fromStatus', {
      type: ConnectionStatusEnum,
      nullable: true,
      description: 'The status before; null for the creation event.',
    }),
    toStatus: t.expose('toStatus', { type: ConnectionStatusEnum, description: 'The status after.' }),
    reason: t.expose('reason', { type: DisconnectReasonEnum, nullable: true, description: 'Why, for DISCONNECTED.' }),
    message: t.exposeString('message', { nullable: true, description: 'Details, e.g. the service’s error message.' }),
    actorKind: t.expose('actorKind', { type: ActorKindEnum, description: 'Who caused it.' }),
    actor: t.relation('actor', { nullable: true, description: 'The user who caused it, if a user did.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it happened.' }),
    connection: t.relation('connection', { description: 'The connection that changed.' }),
  }),
});

/**
 * The cursor of an event in `Query.connectionEvents`: the drizzle plugin's own cursor format for
 * an `orderBy: { seq }` page (it appends the primary key), so a live event's cursor resumes that
 * list exactly.
 */
export function eventCursor(event: { seq: number; id: string }): string {
  return encodeBase64(`DC:${encodeCursorTuple([event.seq, event.id])}`);
}

/** The event sequence number in a cursor made by eventCursor (or by the event feed's pages). */
export function eventCursorSeq(cursor: string, field = 'after'): number {
  try {
    const decoded = decodeBase64(cursor);
    const [seq] = decoded.startsWith('DC:') ? (decodeCursorChunk(decoded.slice(3)) as unknown[]) : [];
    if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) return seq;
  } catch {
    // Reported below, like any other cursor that is not ours.
  }
  throw new ValidationError('Not a connection event cursor', field);
}

const ConnectionEventFilter = builder.inputType('ConnectionEventFilter', {
  description: 'Narrows the event feed.',
  fields: (t) => ({
    connectionIds: t.idList({ description: 'Only events of these connections.' }),
  }),
});

builder.queryField('connectionEvents', (t) =>
  t.drizzleConnection({
    type: 'connectionEvents',
    description:
      'The status changes of every connection the viewer may see, oldest first in commit order. A live client that reconnects passes the `cursor` of the last ConnectionStatusChange it received as `after` and gets exactly what it missed.',
    authScopes: { authenticated: true },
    maxSize: MAX_PAGE_SIZE,
    args: { filter: t.arg({ type: ConnectionEventFilter, description: 'Narrows the feed.' }) },
    resolve: (query, _root, args, context) => {
      const viewer = viewerOf(context);
      const ids = args.filter?.connectionIds?.map((id, index) => parseGlobalId(id, 'Connection', `filter.connectionIds.${index}`));
      return context.db.query.connectionEvents.findMany(
        query(
          pageQuery(args, {
            where: {
              accountId: viewer.accountId,
              ...(ids ? { connectionId: { in: ids } } : {}),
              connection: { RAW: (table: typeof connections) => visibleConnectionsCondition(table, viewer) },
            },
            orderBy: { seq: 'asc' as const },
          }),
        ),
      );
    },
  }),
);
