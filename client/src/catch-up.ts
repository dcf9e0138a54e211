/**
 * Catching up after the live channel was down. The dashboard keeps its position in the event feed
 * (`Query.connectionEvents`, in commit order): the cursor of the last live ConnectionStatusChange,
 * or, until one arrives, where the feed ended when the socket first connected. On reconnect it
 * reads the events after that position and refetches just the connections they name; the cache
 * merges them, so badges and problems update wherever they are shown, and the outcome names them,
 * so a list that does not hold one of them (created while the socket was down) can read itself
 * again. When that cannot be done (no known position, too many missed events, a failed request)
 * the screens refetch instead.
 */
import type { Client } from '@urql/core';
import { ConnectionsByIdQuery, LatestConnectionEventQuery, MissedConnectionEventsQuery } from './documents';

/** Events read per request (the gateway's largest page). */
const PAGE_SIZE = 100;
/** More missed events than this and a full refetch is cheaper than reading them all. */
export const MAX_MISSED_EVENTS = 200;
/** Ids per `nodes(ids:)` request (the gateway takes at most 100). */
const IDS_PER_REQUEST = 100;

/**
 * `caught-up`: what was missed is in the cache; `changed` names the connections read again (global
 * ids). `refetch`: the screens must read everything again.
 */
export type CatchUpOutcome = { kind: 'caught-up'; changed: string[] } | { kind: 'refetch' };

export interface EventFeedPosition {
  /** Reads where the feed ends now, unless a live change has already said (the first connect). */
  start(): Promise<void>;
  /** A live change arrived: everything up to its cursor is in the cache. */
  seen(cursor: string): void;
  /** Applies what was missed since the position (one catch-up at a time, in order). */
  catchUp(): Promise<CatchUpOutcome>;
}

export function trackEventFeed(client: Client): EventFeedPosition {
  // undefined: not known (screens must refetch); null: the feed was empty, so all of it is new.
  let position: string | null | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const fresh = { requestPolicy: 'network-only' } as const;

  async function start() {
    const result = await client.query(LatestConnectionEventQuery, {}, fresh).toPromise();
    if (position === undefined && result.data) position = result.data.connectionEvents.pageInfo.endCursor;
  }

  /** The connections changed after `from`, and the cursor where that reading ended; null when it cannot be used. */
  async function readMissed(from: string | null): Promise<{ ids: Set<string>; end: string | null } | null> {
    const ids = new Set<string>();
    let end = from;
    let missed = 0;
    for (;;) {
      const page = (await client.query(MissedConnectionEventsQuery, { after: end, first: PAGE_SIZE }, fresh).toPromise()).data?.connectionEvents;
      if (!page) return null;
      missed += page.nodes.length;
      for (const event of page.nodes) ids.add(event.connectionId);
      end = page.pageInfo.endCursor ?? end;
      if (!page.pageInfo.hasNextPage) return { ids, end };
      if (missed >= MAX_MISSED_EVENTS) return null;
    }
  }

  /** Reads the named connections again, a request per 100; false when one fails. */
  async function refetch(ids: string[]): Promise<boolean> {
    for (let start = 0; start < ids.length; start += IDS_PER_REQUEST) {
      const result = await client.query(ConnectionsByIdQuery, { ids: ids.slice(start, start + IDS_PER_REQUEST) }, fresh).toPromise();
      if (result.error) return false;
    }
    return true;
  }

  async function catchUp(): Promise<CatchUpOutcome> {
    const from = position;
    const missed = from === undefined ? null : await readMissed(from);
    const refetched = missed && (await refetch([...missed.ids]));
    if (missed && refetched) {
      // A live change that arrived meanwhile already moved the position; the feed's end only
      // replaces the position this catch-up started from.
      if (position === from) position = missed.end;
      return { kind: 'caught-up', changed: [...missed.ids] };
    }
    // The screens read everything again: first take the feed's end, so nothing after it is lost.
    if (position === from) position = undefined;
    await start();
    return { kind: 'refetch' };
  }

  return {
    start,
    seen(cursor) {
      position = cursor;
    },
    catchUp() {
      const next = running.then(catchUp);
      running = next.catch(() => {});
      return next;
    },
  };
}
