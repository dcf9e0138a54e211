/**
 * Rate limits, enforced at the edge and only here. Every GraphQL operation an API token sends
 * (a query or mutation over HTTP, a subscribe over SSE or graphql-ws) takes one point from that
 * token's bucket, keyed by the token's id (never the secret) and sized by its kind (USER, SERVICE).
 * Over the limit the operation does not run: it answers one error with code RATE_LIMITED and
 * `retryAfterSeconds`, as HTTP 429 with `Retry-After`, or as the operation's error on a socket that
 * stays open. Optionally, failed authentications take a point from a per-address bucket; past it,
 * that address gets 429 before any token it sends is looked up (off by default: behind a reverse
 * proxy every client shares the proxy's address, and one looping bad client would lock out all).
 *
 * Buckets are rate-limiter-flexible's fixed windows, kept where every gateway sees them:
 * - `{ redisUrl }`: RateLimiterRedis over ioredis (one atomic script call per operation, no SQL);
 * - `'database'`: the library's RateLimiterDrizzle on our own drizzle client and `rate_limits`
 *   table: one `insert ... on conflict do update ... returning` per operation;
 * - `'memory'`: RateLimiterMemory, for embedded PGlite (one process per data dir) and tests.
 * A token over its limit is then refused from memory until its window ends, so a flood costs the
 * store nothing. If the store fails, a per-gateway memory bucket of the same size decides (logged).
 * The per-address bucket is always in memory, per gateway: it only has to blunt a flood of bad tokens.
 */
import type { IncomingMessage } from 'node:http';
import { lt } from 'drizzle-orm';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterDrizzle,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import type { Database } from '../db/client.js';
import { rateLimits } from '../db/schema.js';
import type { ApiTokenKind } from '../domain/types.js';
import type { Viewer } from '../domain/viewer.js';
import type { Log } from '../log.js';

/** A bucket's size: `points` operations per `durationSeconds` window. */
export interface RateLimit {
  points: number;
  durationSeconds: number;
}

/** The limits a gateway enforces; null means unlimited. */
export interface RateLimitSettings {
  /** Operations per window per API token, by the token's kind. */
  perToken: Record<ApiTokenKind, RateLimit | null>;
  /** Failed authentications per window per client address (per gateway, in memory); null: not counted. */
  failedAuthPerAddress: RateLimit | null;
}

/**
 * Defaults: a person's dashboard loads in a few dozen operations and catches up in a few pages, so
 * 600 a minute (10/s sustained) never bites it; partner workers with SERVICE tokens fetch an
 * access token per job, so they get five times that. The per-address bucket is off (see above).
 */
export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  perToken: {
    USER: { points: 600, durationSeconds: 60 },
    SERVICE: { points: 3000, durationSeconds: 60 },
  },
  failedAuthPerAddress: null,
};

/** No limits at all: for benchmarks and load tests that hammer one token on purpose. */
export const RATE_LIMITS_OFF: RateLimitOptions = {
  limits: { perToken: { USER: null, SERVICE: null }, failedAuthPerAddress: null },
  store: 'memory',
};

/** Where token buckets live: shared by gateways on Redis or the database, or in this process. */
export type RateLimitStore = 'memory' | 'database' | { redisUrl: string };

export interface RateLimitOptions {
  limits: RateLimitSettings;
  store: RateLimitStore;
  /** Prefix of every bucket key (Redis keys, `rate_limits.key`); tests make theirs unique. */
  keyPrefix?: string;
}

/** The edge's rate limiter: a Yoga plugin plus its store's lifecycle. */
export interface RateLimiter {
  /** Counts operations (execute, subscribe) and failed authentications; add it to Yoga's plugins. */
  plugin: Plugin;
  /**
   * Takes one point from a viewer's bucket, as the plugin does for each operation (graphql-ws's
   * lean subscribers, which skip Yoga, are counted here): the RATE_LIMITED error when over.
   */
  take(viewer: Viewer | null | undefined): Promise<GraphQLError | undefined> | undefined;
  /** Waits until the store answers (Redis connected). */
  start(): Promise<void>;
  /** Stops the cleanup timer and closes the store's connection. */
  close(): Promise<void>;
}

/** Rows whose window ended this long ago are deleted (the library's own margin for clock skew). */
const EXPIRED_ROW_MARGIN_MS = 60 * 60_000;
/** How often a gateway deletes expired `rate_limits` rows. */
const CLEANUP_INTERVAL_MS = 5 * 60_000;
/** At most one "store failed" warning per this interval. */
const FALLBACK_WARNING_INTERVAL_MS = 60_000;

/** The error an operation over the limit answers with; its HTTP form is 429 with Retry-After. */
export function rateLimitedError(msBeforeNext: number, limit: RateLimit): GraphQLError {
  const retryAfterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new GraphQLError(
    `Rate limit exceeded: at most ${limit.points} operation${limit.points === 1 ? '' : 's'} per ${limit.durationSeconds} s; retry in ${retryAfterSeconds} s`,
    {
      extensions: {
        code: 'RATE_LIMITED',
        retryAfterSeconds,
        http: { status: 429, headers: { 'retry-after': String(retryAfterSeconds) } },
      },
    },
  );
}

/**
 * Deletes `rate_limits` rows whose window ended over an hour before `now` (an expired row is only
 * ever reset, never read, so it is garbage); returns how many went.
 */
export async function deleteExpiredRateLimits(db: Database, now = Date.now()): Promise<number> {
  const deleted = await db
    .delete(rateLimits)
    .where(lt(rateLimits.expire, new Date(now - EXPIRED_ROW_MARGIN_MS)))
    .returning({ key: rateLimits.key });
  return deleted.length;
}

/** A memory bucket that reports each use: it stands in when the shared store fails. */
class FallbackLimiter extends RateLimiterMemory {
  constructor(
    limit: RateLimit,
    private readonly onUse: () => void,
  ) {
    super({ points: limit.points, duration: limit.durationSeconds });
  }

  override consume(key: string | number, points?: number, options?: { [key: string]: unknown }): Promise<RateLimiterRes> {
    this.onUse();
    return super.consume(key, points, options);
  }
}

/**
 * Builds the limiter. `db` is the gateway's database, used when the store is `'database'` (the
 * `rate_limits` table comes with the migrations).
 */
export function createRateLimiter(options: RateLimitOptions, deps: { db: Database; log: Log }): RateLimiter {
  const { limits, store, keyPrefix = 'patchbay:rate-limit' } = options;
  const { db, log } = deps;
  const redis = typeof store === 'object' ? new Redis(store.redisUrl, { maxRetriesPerRequest: 1 }) : undefined;
  // Connection errors are retried by ioredis; while it is down the fallback decides (and says so).
  redis?.on('error', () => {});

  let lastWarning = 0;
  const warnFallback = () => {
    if (Date.now() - lastWarning < FALLBACK_WARNING_INTERVAL_MS) return;
    lastWarning = Date.now();
    log.warn('rate limit store unavailable; limiting per gateway in memory', { store: redis ? 'redis' : store });
  };

  /** One bucket family in the configured store. */
  const bucket = (name: string, limit: RateLimit): RateLimiterAbstract => {
    const common = {
      keyPrefix: `${keyPrefix}:${name}`,
      points: limit.points,
      duration: limit.durationSeconds,
      // Once a key is over its limit, refuse it from memory until its window ends.
      inMemoryBlockOnConsumed: limit.points + 1,
      insuranceLimiter: new FallbackLimiter(limit, warnFallback),
    };
    if (redis) return new RateLimiterRedis({ ...common, storeClient: redis, rejectIfRedisNotReady: true });
    if (store === 'database') {
      return new RateLimiterDrizzle({ ...common, storeClient: db, schema: rateLimits, clearExpiredByTimeout: false });
    }
    return new RateLimiterMemory({ keyPrefix: common.keyPrefix, points: limit.points, duration: limit.durationSeconds });
  };

  const perToken = new Map<ApiTokenKind, { limiter: RateLimiterAbstract; limit: RateLimit }>();
  for (const [kind, limit] of Object.entries(limits.perToken) as [ApiTokenKind, RateLimit | null][]) {
    if (limit) perToken.set(kind, { limiter: bucket(`token:${kind.toLowerCase()}`, limit), limit });
  }
  const addressLimit = limits.failedAuthPerAddress;
  const perAddress = addressLimit
    ? new RateLimiterMemory({ keyPrefix: `${keyPrefix}:failed-auth`, points: addressLimit.points, duration: addressLimit.durationSeconds })
    : undefined;

  /**
   * Takes one point from the viewer's token bucket: the refusal when it is over, else nothing;
   * undefined at once (nothing to wait for) when there is no token or its kind has no limit.
   */
  function take(viewer: Viewer | null | undefined): Promise<GraphQLError | undefined> | undefined {
    // No token: the operation fails UNAUTHENTICATED; a bad one was already a 401.
    const entry = viewer ? perToken.get(viewer.tokenKind) : undefined;
    if (!viewer || !entry) return undefined;
    return entry.limiter.consume(viewer.tokenId).then(
      () => undefined,
      (refusal: unknown) => {
        if (refusal instanceof RateLimiterRes) return rateLimitedError(refusal.msBeforeNext, entry.limit);
        // The store and its fallback both failed: let the operation through rather than fail it.
        log.error('rate limit check failed', { error: refusal instanceof Error ? refusal.message : String(refusal) });
        return undefined;
      },
    );
  }

  /** Stops an operation whose token is over its limit, with the refusal as its result. */
  function limit(contextValue: unknown, stop: (result: { errors: GraphQLError[] }) => void): Promise<void> | undefined {
    return take((contextValue as { viewer?: Viewer | null } | undefined)?.viewer)?.then((refusal) => {
      if (refusal) stop({ errors: [refusal] });
    });
  }

  const addressOf = (serverContext: unknown) =>
    (serverContext as { req?: IncomingMessage } | undefined)?.req?.socket.remoteAddress;

  /** The per-address hooks, present only when that bucket is configured. */
  const addressHooks: Pick<Plugin, 'onRequest' | 'onResponse'> =
    perAddress && addressLimit
      ? {
          async onRequest({ serverContext, endResponse, fetchAPI }) {
            const address = addressOf(serverContext);
            const used = address ? await perAddress.get(address) : null;
            if (!used || used.consumedPoints < addressLimit.points) return;
            const error = rateLimitedError(used.msBeforeNext, addressLimit);
            const { http: _http, ...extensions } = error.extensions as Record<string, unknown>;
            endResponse(
              new fetchAPI.Response(JSON.stringify({ errors: [{ message: error.message, extensions }] }), {
                status: 429,
                headers: { 'content-type': 'application/json', 'retry-after': String(extensions.retryAfterSeconds) },
              }),
            );
          },
          async onResponse({ response, serverContext }) {
            const address = addressOf(serverContext);
            if (response.status !== 401 || !address) return;
            await perAddress.consume(address).catch(() => {}); // over the limit: its next request is refused
          },
        }
      : {};

  const plugin: Plugin = {
    ...addressHooks,
    onExecute: ({ args, setResultAndStopExecution }) => limit(args.contextValue, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => limit(args.contextValue, setResultAndStopExecution),
  };

  // Windows end but rows stay: every gateway deletes long-expired ones now and then.
  const cleanup =
    store === 'database' && perToken.size > 0
      ? setInterval(() => {
          deleteExpiredRateLimits(db).catch((error: unknown) => log.warn('rate limit cleanup failed', { error: error instanceof Error ? error.message : String(error) }));
        }, CLEANUP_INTERVAL_MS).unref()
      : undefined;

  return {
    plugin,
    take,
    start: async () => {
      await redis?.ping();
    },
    close: async () => {
      if (cleanup) clearInterval(cleanup);
      redis?.disconnect();
    },
  };
}
