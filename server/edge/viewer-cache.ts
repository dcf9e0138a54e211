/**
 * The bearer token -> viewer lookup of HTTP requests, with a short per-gateway memory of tokens
 * that authenticated, so a request whose answer can check the token itself costs one round trip.
 *
 * A remembered viewer is never trusted on its own: the context marks it unchecked, and before
 * anything reads or writes on its behalf it is either checked inside the statement that answers
 * the request (the compiled connection graph: graphql/compiled-reads.ts puts the token, its user,
 * account, role and kind into the statement's WHERE, so a token revoked a moment ago on another
 * gateway answers nothing) or looked up again (every other operation, before it executes or
 * subscribes). A token that no longer authenticates is forgotten and answered with HTTP 401, as
 * an unknown one is. Revocation therefore takes effect at once on every gateway, with no bus.
 *
 * Unknown and revoked tokens are never remembered. An entry lives `ttlMs` (default 30 s, less
 * than the minute at which `last_used_at` is refreshed, so a token in use still gets its
 * `last_used_at` written about once a minute by the lookup a miss runs).
 */
import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Database } from '../db/client.js';
import { authenticateToken } from '../domain/api-tokens.js';
import type { Viewer } from '../domain/viewer.js';

const DEFAULT_TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

/** What an HTTP request's context carries besides its viewer. */
export interface ViewerCheck {
  /**
   * Present when `viewer` came from the gateway's memory and has not been checked against the
   * database for this request: looks the token up again (forgetting it when it fails) and
   * returns the current viewer, or null when the token no longer authenticates.
   */
  recheckViewer?: () => Promise<Viewer | null>;
}

/** The error an unknown, malformed or revoked token gets (HTTP 401). */
export function unauthenticated() {
  return new GraphQLError('The API token is invalid or revoked', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
  });
}

export function createViewerCache({ ttlMs = DEFAULT_TTL_MS }: { ttlMs?: number } = {}) {
  // Keyed by the token's SHA-256 (never the token); Map order is insertion order, oldest first.
  const entries = new Map<string, { viewer: Viewer; until: number }>();

  function remember(key: string, viewer: Viewer) {
    entries.delete(key);
    if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
    entries.set(key, { viewer, until: Date.now() + ttlMs });
  }

  async function lookUp(db: Database, key: string, token: string): Promise<Viewer | null> {
    const viewer = await authenticateToken(db, token);
    if (viewer) remember(key, viewer);
    else entries.delete(key);
    return viewer;
  }

  return {
    /**
     * The viewer for `Authorization: Bearer <token>` (null without the header), and how to check
     * it when it came from memory; throws the 401 error for a token that does not authenticate.
     */
    async viewerFromRequest(db: Database, request: Request): Promise<{ viewer: Viewer | null } & ViewerCheck> {
      const header = request.headers.get('authorization');
      if (!header) return { viewer: null };
      const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
      if (!match) throw unauthenticated();
      const token = match[1];
      const key = createHash('sha256').update(token).digest('base64');
      const entry = entries.get(key);
      if (entry && entry.until > Date.now()) {
        return { viewer: entry.viewer, recheckViewer: () => lookUp(db, key, token) };
      }
      const viewer = await lookUp(db, key, token);
      if (!viewer) throw unauthenticated();
      return { viewer };
    },
    /** How many tokens are remembered (tests). */
    get size() {
      return entries.size;
    },
  };
}

/**
 * Looks a remembered viewer up again before an operation executes or subscribes (placed inside
 * the compiled read path, which checks the token in its own statement and calls the recheck only
 * when that check fails). A token that no longer authenticates gets the 401 error as the result.
 */
export function useViewerRecheck(): Plugin<ViewerCheck & { viewer: Viewer | null }> {
  async function recheck(context: ViewerCheck & { viewer: Viewer | null }): Promise<boolean> {
    const current = await context.recheckViewer!();
    context.recheckViewer = undefined;
    context.viewer = current;
    return current !== null;
  }
  return {
    onExecute({ context, executeFn, setExecuteFn }) {
      if (!context.recheckViewer) return;
      setExecuteFn(async (args) => {
        const ctx = args.contextValue as ViewerCheck & { viewer: Viewer | null };
        if (ctx.recheckViewer && !(await recheck(ctx))) return { errors: [unauthenticated()] };
        return executeFn(args);
      });
    },
    onSubscribe({ context, subscribeFn, setSubscribeFn }) {
      if (!context.recheckViewer) return;
      setSubscribeFn(async (args) => {
        const ctx = args.contextValue as ViewerCheck & { viewer: Viewer | null };
        if (ctx.recheckViewer && !(await recheck(ctx))) return { errors: [unauthenticated()] };
        return subscribeFn(args);
      });
    },
  };
}
