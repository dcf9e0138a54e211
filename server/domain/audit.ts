/**
 * The account's audit trail besides connection events: access tokens handed to SERVICE tokens,
 * summarised per connection, token and hour or day (one row per call would drown the feed).
 * Read from access_token_grants with one GROUP BY.
 */
import { and, count, eq, gte, inArray, lt, max, min, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { accessTokenGrants, apiTokens, connections } from '../db/schema.js';
import { ValidationError } from './errors.js';
import { isAdmin, type Viewer, visibleConnectionsCondition } from './viewer.js';

/** How hand-outs are bucketed. */
export type HandoutPeriod = 'HOUR' | 'DAY';

/** Hand-outs of one connection's access tokens to one SERVICE token within one hour or day. */
export interface HandoutSummary {
  connectionId: string;
  apiTokenId: string;
  /** The token's name, for admins and the token's own user; null for others. */
  apiTokenName: string | null;
  periodStart: string;
  count: number;
  firstAt: string;
  lastAt: string;
}

/** What a hand-out summary can be narrowed by. */
export interface HandoutFilter {
  connectionId?: string | null;
  apiTokenId?: string | null;
  since?: Date | null;
  until?: Date | null;
}

/** The largest number of summary rows one request returns. */
export const MAX_HANDOUT_ROWS = 500;

/**
 * The viewer's hand-out summaries, newest period first: those of connections the viewer may see
 * (admins: every one; members: their own and shared ones), at most `limit` rows.
 */
export async function summariseHandouts(
  db: Database,
  viewer: Viewer,
  period: HandoutPeriod,
  filter: HandoutFilter,
  limit: number,
): Promise<HandoutSummary[]> {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HANDOUT_ROWS) {
    throw new ValidationError(`first must be between 1 and ${MAX_HANDOUT_ROWS}`, 'first');
  }
  // Inlined, not a parameter: GROUP BY must repeat the very expression the SELECT list has.
  const unit = sql.raw(period === 'HOUR' ? `'hour'` : `'day'`);
  const bucket = sql`date_trunc(${unit}, ${accessTokenGrants.createdAt} at time zone 'UTC')`;
  const conditions: SQL[] = [
    eq(accessTokenGrants.accountId, viewer.accountId),
    inArray(accessTokenGrants.connectionId, db.select({ id: connections.id }).from(connections).where(visibleConnectionsCondition(connections, viewer))),
  ];
  if (filter.connectionId) conditions.push(eq(accessTokenGrants.connectionId, filter.connectionId));
  if (filter.apiTokenId) conditions.push(eq(accessTokenGrants.apiTokenId, filter.apiTokenId));
  if (filter.since) conditions.push(gte(accessTokenGrants.createdAt, filter.since.toISOString()));
  if (filter.until) conditions.push(lt(accessTokenGrants.createdAt, filter.until.toISOString()));
  const rows = await db
    .select({
      connectionId: accessTokenGrants.connectionId,
      apiTokenId: accessTokenGrants.apiTokenId,
      apiTokenName: apiTokens.name,
      apiTokenUserId: apiTokens.userId,
      periodStart: sql<string>`to_char(${bucket}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`,
      count: count(),
      firstAt: min(accessTokenGrants.createdAt),
      lastAt: max(accessTokenGrants.createdAt),
    })
    .from(accessTokenGrants)
    .innerJoin(apiTokens, eq(apiTokens.id, accessTokenGrants.apiTokenId))
    .where(and(...conditions))
    .groupBy(accessTokenGrants.connectionId, accessTokenGrants.apiTokenId, apiTokens.name, apiTokens.userId, bucket)
    .orderBy(sql`${bucket} desc`, accessTokenGrants.connectionId, accessTokenGrants.apiTokenId)
    .limit(limit);
  return rows.map(({ apiTokenUserId, ...row }) => ({
    ...row,
    apiTokenName: isAdmin(viewer) || apiTokenUserId === viewer.userId ? row.apiTokenName : null,
    firstAt: row.firstAt!,
    lastAt: row.lastAt!,
  }));
}
