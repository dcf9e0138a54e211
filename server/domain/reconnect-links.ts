/**
 * Reconnect links: an admin (or the owner) asks a connection's owner to repair it with their own
 * login at the service. A link is random, shown once, kept only as a SHA-256 hash, bound to one
 * connection, expires, and works once. Only the connection's owner may open it: to anyone else it
 * does not exist. Opening it reauthenticates the same connection (same id, data sources intact).
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { connections, reconnectLinks, users } from '../db/schema.js';
import { transaction } from '../db/transaction.js';
import { recordConnectionEvent } from './connection-events.js';
import { NotFoundError, ValidationError } from './errors.js';
import { actorOf, findConnection } from './connections.js';
import { reauthenticateConnection, type StartResult } from './lifecycle.js';
import type { OAuthSettings } from './oauth2.js';
import type { ConnectionRow, UserRow } from './types.js';
import type { Vault } from './vault.js';
import { canManageConnection, type Viewer } from './viewer.js';

/** How long a link lasts when its creator does not say (PATCHBAY_RECONNECT_LINK_TTL_SECONDS). */
export const DEFAULT_RECONNECT_LINK_TTL_SECONDS = 7 * 86_400;
/** The shortest and longest lifetimes a link may be given. */
export const RECONNECT_LINK_TTL_RANGE = { min: 300, max: 30 * 86_400 } as const;

/** Where a link stands. */
export type ReconnectLinkState = 'PENDING' | 'USED' | 'EXPIRED' | 'REVOKED';

export type ReconnectLinkRow = typeof reconnectLinks.$inferSelect;

/** A link with who asked for it, as the API shows it (never its token). */
export interface ReconnectLink extends ReconnectLinkRow {
  createdBy: UserRow | null;
  state: ReconnectLinkState;
}

/** A link as its owner sees it on opening: the link, and the connection it repairs. */
export interface OpenedReconnectLink extends ReconnectLink {
  connection: ConnectionRow;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** The link's state at `now`. */
export function linkState(row: Pick<ReconnectLinkRow, 'usedAt' | 'revokedAt' | 'expiresAt'>, now = Date.now()): ReconnectLinkState {
  if (row.usedAt) return 'USED';
  if (row.revokedAt) return 'REVOKED';
  return Date.parse(row.expiresAt) <= now ? 'EXPIRED' : 'PENDING';
}

/** The dashboard address a link opens (the token rides in the fragment: no access log or Referer sees it). */
function linkUrl(settings: OAuthSettings, token: string): string {
  return new URL(`/reconnect#${token}`, new URL(settings.callbackUrl).origin).toString();
}

function withCreator(row: ReconnectLinkRow, createdBy: UserRow | null): ReconnectLink {
  return { ...row, createdBy, state: linkState(row) };
}

/**
 * Creates a link for a connection (its owner or an admin). `expiresInSeconds` defaults to the
 * gateway's setting. The URL is returned once; only its hash is stored.
 */
export async function createReconnectLink(
  db: Database,
  settings: OAuthSettings,
  viewer: Viewer,
  connectionId: string,
  expiresInSeconds?: number | null,
): Promise<{ link: ReconnectLink; url: string }> {
  const connection = await findConnection(db, viewer, connectionId, 'manage');
  const ttl = expiresInSeconds ?? settings.reconnectLinkTtlSeconds ?? DEFAULT_RECONNECT_LINK_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < RECONNECT_LINK_TTL_RANGE.min || ttl > RECONNECT_LINK_TTL_RANGE.max) {
    throw new ValidationError(
      `expiresIn must be from ${RECONNECT_LINK_TTL_RANGE.min} seconds to ${RECONNECT_LINK_TTL_RANGE.max / 86_400} days`,
      'expiresIn',
    );
  }
  if (connection.status === 'PENDING') {
    throw new ValidationError('This connection was never completed; its owner can connect it again instead', 'connectionId');
  }
  const token = `rl_${randomBytes(32).toString('base64url')}`;
  // With its audit event: who asked the owner to sign in again is part of the connection's history.
  const row = await transaction(db, async (tx) => {
    const [inserted] = await tx
      .insert(reconnectLinks)
      .values({
        accountId: connection.accountId,
        connectionId: connection.id,
        tokenHash: hashToken(token),
        createdById: viewer.userId,
        expiresAt: new Date(Date.now() + ttl * 1000).toISOString(),
      })
      .returning();
    await recordConnectionEvent(tx, connection, { kind: 'RECONNECT_LINK_CREATED', actor: actorOf(viewer) });
    return inserted;
  });
  const [creator] = await db.select().from(users).where(eq(users.id, viewer.userId));
  return { link: withCreator(row, creator ?? null), url: linkUrl(settings, token) };
}

/** The links of a connection still waiting to be used, newest first (null unless the viewer may manage it). */
export async function pendingReconnectLinks(db: Database, viewer: Viewer, connection: ConnectionRow): Promise<ReconnectLink[] | null> {
  if (!canManageConnection(viewer, connection)) return null;
  const rows = await db
    .select({ link: reconnectLinks, createdBy: users })
    .from(reconnectLinks)
    .leftJoin(users, eq(users.id, reconnectLinks.createdById))
    .where(
      and(
        eq(reconnectLinks.connectionId, connection.id),
        isNull(reconnectLinks.usedAt),
        isNull(reconnectLinks.revokedAt),
        gt(reconnectLinks.expiresAt, sql`now()`),
      ),
    )
    .orderBy(desc(reconnectLinks.createdAt))
    .limit(20);
  return rows.map(({ link, createdBy }) => withCreator(link, createdBy));
}

/**
 * The link behind a token, for the connection's owner only: anyone else, a malformed token and
 * an unknown one all get NotFound. A used, expired or revoked link is still found (its state
 * says so), so the owner learns why it no longer works.
 */
export async function openReconnectLink(db: Database, viewer: Viewer, token: string): Promise<OpenedReconnectLink> {
  if (typeof token !== 'string' || !/^rl_[A-Za-z0-9_-]{43}$/.test(token)) throw new NotFoundError('ReconnectLink');
  const [found] = await db
    .select({ link: reconnectLinks, connection: connections, createdBy: users })
    .from(reconnectLinks)
    .innerJoin(connections, eq(connections.id, reconnectLinks.connectionId))
    .leftJoin(users, eq(users.id, reconnectLinks.createdById))
    .where(eq(reconnectLinks.tokenHash, hashToken(token)));
  if (!found || found.connection.accountId !== viewer.accountId || found.connection.ownerId !== viewer.userId) {
    throw new NotFoundError('ReconnectLink');
  }
  return { ...withCreator(found.link, found.createdBy), connection: found.connection };
}

const REFUSED: Record<Exclude<ReconnectLinkState, 'PENDING'>, string> = {
  USED: 'This reconnect link was already used; ask for a new one if the connection needs repairing again',
  EXPIRED: 'This reconnect link has expired; ask for a new one',
  REVOKED: 'This reconnect link was withdrawn; ask for a new one',
};

/**
 * The owner repairs the connection through a link. OAuth: the authorization URL, and the link is
 * marked started (the callback marks it used when the connection comes back). Credential methods:
 * the link is claimed first (so it works once even when opened twice at the same moment), the
 * new credentials tested and stored, and the claim released if they were refused.
 */
export async function redeemReconnectLink(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  viewer: Viewer,
  input: { token: string; credentials?: Record<string, unknown> | null; returnTo?: string | null },
): Promise<StartResult> {
  const link = await openReconnectLink(db, viewer, input.token);
  if (link.state !== 'PENDING') throw new ValidationError(REFUSED[link.state], 'token');
  const oauth = input.credentials == null;
  const claim = oauth ? { startedAt: sql`now()` } : { usedAt: sql`now()` };
  const [claimed] = await db
    .update(reconnectLinks)
    .set(claim)
    .where(and(eq(reconnectLinks.id, link.id), isNull(reconnectLinks.usedAt), isNull(reconnectLinks.revokedAt), gt(reconnectLinks.expiresAt, sql`now()`)))
    .returning({ id: reconnectLinks.id });
  if (!claimed) throw new ValidationError(REFUSED.USED, 'token');
  try {
    const result = await reauthenticateConnection(db, vault, settings, viewer, link.connectionId, input);
    if (oauth && !result.authorizationUrl) {
      // Credentials were needed after all (the integration is not OAuth): nothing changed.
      throw new ValidationError(`${link.connection.name} signs in with credentials; enter them`, 'credentials');
    }
    return result;
  } catch (error) {
    if (!oauth) await db.update(reconnectLinks).set({ usedAt: null }).where(eq(reconnectLinks.id, link.id));
    throw error;
  }
}

/** Withdraws a pending link (the connection's owner or an admin). Not yours or unknown: NotFound. */
export async function revokeReconnectLink(db: Database, viewer: Viewer, id: string): Promise<ReconnectLink> {
  const [found] = await db
    .select({ link: reconnectLinks, connection: connections })
    .from(reconnectLinks)
    .innerJoin(connections, eq(connections.id, reconnectLinks.connectionId))
    .where(eq(reconnectLinks.id, id));
  if (!found || !canManageConnection(viewer, found.connection)) throw new NotFoundError('ReconnectLink');
  const row = found.link.revokedAt || found.link.usedAt
    ? found.link
    : await transaction(db, async (tx) => {
        const [revoked] = await tx
          .update(reconnectLinks)
          .set({ revokedAt: sql`now()`, revokedById: viewer.userId })
          .where(and(eq(reconnectLinks.id, id), isNull(reconnectLinks.revokedAt), isNull(reconnectLinks.usedAt)))
          .returning();
        // Withdrawn by someone else at the same moment, or used: nothing to record twice.
        if (revoked) await recordConnectionEvent(tx, found.connection, { kind: 'RECONNECT_LINK_REVOKED', actor: actorOf(viewer) });
        return revoked ?? (await tx.select().from(reconnectLinks).where(eq(reconnectLinks.id, id)))[0];
      });
  const [creator] = row.createdById ? await db.select().from(users).where(eq(users.id, row.createdById)) : [];
  return withCreator(row, creator ?? null);
}
