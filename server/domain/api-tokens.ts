/**
 * API tokens: 32 random bytes shown once as `pb_<base64url>`, stored only as their SHA-256.
 * A hash (not a password hash) is right here: the token has 256 bits of entropy, and the
 * lookup must be one indexed equality per request.
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { apiTokens, users } from '../db/schema.js';
import { ForbiddenError } from './errors.js';
import type { ApiTokenKind, ApiTokenRow } from './types.js';
import { validName } from './validation.js';
import { isAdmin, type Viewer } from './viewer.js';
import { findVisibleRow } from './visibility.js';

const TOKEN_PREFIX = 'pb_';
/** How stale `last_used_at` may get before a request refreshes it (one write per minute at most). */
const LAST_USED_RESOLUTION_MS = 60_000;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Issues a token for a user; the plaintext is returned once and never stored. */
export async function issueApiToken(
  db: Database,
  input: { accountId: string; userId: string; name: string; kind: ApiTokenKind },
): Promise<{ token: string; row: ApiTokenRow }> {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const [row] = await db
    .insert(apiTokens)
    .values({
      accountId: input.accountId,
      userId: input.userId,
      name: validName(input.name),
      kind: input.kind,
      tokenHash: hashToken(token),
      prefix: token.slice(0, TOKEN_PREFIX.length + 6),
    })
    .returning();
  return { token, row };
}

/**
 * The unrevoked token row a plaintext token stands for, or undefined; unlike authenticateToken it
 * records no use (for checking a token kept on disk).
 */
export async function findActiveApiToken(db: Database, token: string): Promise<ApiTokenRow | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) return undefined;
  const [row] = await db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.tokenHash, hashToken(token)), isNull(apiTokens.revokedAt)));
  return row;
}

/** What an operator's token listing shows: never the token or its hash. */
export interface ApiTokenListing {
  id: string;
  name: string;
  kind: ApiTokenKind;
  prefix: string;
  email: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** The tokens of one user, or of every user, oldest first (for operators). */
export function listApiTokens(db: Database, filter: { userId?: string } = {}): Promise<ApiTokenListing[]> {
  return db
    .select({
      id: apiTokens.id,
      name: apiTokens.name,
      kind: apiTokens.kind,
      prefix: apiTokens.prefix,
      email: users.email,
      createdAt: apiTokens.createdAt,
      lastUsedAt: apiTokens.lastUsedAt,
      revokedAt: apiTokens.revokedAt,
    })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(filter.userId !== undefined ? eq(apiTokens.userId, filter.userId) : undefined)
    .orderBy(asc(apiTokens.createdAt), asc(apiTokens.id));
}

/** Creates a token for the viewer; SERVICE tokens are for admins only. */
export async function createApiToken(
  db: Database,
  viewer: Viewer,
  input: { name: string; kind: ApiTokenKind },
): Promise<{ token: string; row: ApiTokenRow }> {
  if (input.kind === 'SERVICE' && !isAdmin(viewer)) {
    throw new ForbiddenError('Only admins can create SERVICE tokens');
  }
  return issueApiToken(db, { accountId: viewer.accountId, userId: viewer.userId, ...input });
}

/**
 * Revokes a token of the viewer's own, or any token of the account for an admin: exactly the
 * tokens they may see, so another member's token is NotFound like a missing one.
 */
export async function revokeApiToken(db: Database, viewer: Viewer, tokenId: string): Promise<ApiTokenRow> {
  const existing = await findVisibleRow(db, viewer, 'ApiToken', tokenId);
  if (existing.revokedAt) return existing;
  const [row] = await db
    .update(apiTokens)
    .set({ revokedAt: new Date().toISOString() })
    .where(eq(apiTokens.id, tokenId))
    .returning();
  return row;
}

/** The columns a Viewer is made of, from api_tokens joined to users. */
const viewerColumns = {
  tokenId: apiTokens.id,
  tokenKind: apiTokens.kind,
  userId: users.id,
  accountId: users.accountId,
  role: users.role,
  isOwner: users.isOwner,
};

/** The token lookup every request runs, built once per database instead of once per request. */
function prepareTokenLookup(db: Database) {
  return db
    .select({ ...viewerColumns, lastUsedAt: apiTokens.lastUsedAt })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(and(eq(apiTokens.tokenHash, sql.placeholder('tokenHash')), isNull(apiTokens.revokedAt)))
    .prepare('patchbay_token_lookup');
}

const tokenLookups = new WeakMap<Database, ReturnType<typeof prepareTokenLookup>>();

/**
 * Resolves a bearer token to its viewer, or null when it is unknown, malformed or revoked.
 * One indexed statement; `last_used_at` is refreshed at most once a minute per token.
 */
export async function authenticateToken(db: Database, token: string): Promise<Viewer | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) return null;
  let lookup = tokenLookups.get(db);
  if (!lookup) tokenLookups.set(db, (lookup = prepareTokenLookup(db)));
  const [found] = await lookup.execute({ tokenHash: hashToken(token) });
  if (!found) return null;
  const { lastUsedAt, ...viewer } = found;
  if (!lastUsedAt || Date.now() - Date.parse(lastUsedAt) > LAST_USED_RESOLUTION_MS) {
    const now = new Date();
    const threshold = new Date(now.getTime() - LAST_USED_RESOLUTION_MS).toISOString();
    await db
      .update(apiTokens)
      .set({ lastUsedAt: now.toISOString() })
      .where(
        and(
          eq(apiTokens.id, viewer.tokenId),
          or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, threshold)),
        ),
      );
  }
  return viewer;
}

/**
 * Re-reads the viewers behind live subscriptions by token id, in one statement: a revoked token
 * or a deleted user is simply absent, and a changed role takes effect at the next event.
 */
export async function viewersByTokenId(db: Database, tokenIds: string[]): Promise<Map<string, Viewer>> {
  if (tokenIds.length === 0) return new Map();
  const rows = await db
    .select(viewerColumns)
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(and(inArray(apiTokens.id, tokenIds), isNull(apiTokens.revokedAt)));
  return new Map(rows.map((viewer) => [viewer.tokenId, viewer]));
}
