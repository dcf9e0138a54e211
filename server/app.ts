/**
 * createApp(deps) -> { start, stop }: Yoga on one node:http server, serving /graphql (with
 * GraphiQL, its files under /graphiql/), /healthz, the OAuth callback, and the dashboard at `/`.
 * Tracks its sockets so stop() is prompt even with keep-alive clients.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { createYoga, maskError as defaultMaskError } from 'graphql-yoga';
import { isDashboardRequest, serveDashboard } from './dashboard.js';
import { createGraphiql, GRAPHIQL_ASSETS_PREFIX, useGraphiqlHeaders } from './graphiql.js';
import { escapeHtml } from './html.js';
import { createRateLimiter, DEFAULT_RATE_LIMITS, type RateLimitOptions } from './edge/rate-limit.js';
import type { Database, PoolInfo } from './db/client.js';
import { useCompiledReads } from './graphql/compiled-reads.js';
import { PatchbayError, timeoutFromDatabaseError } from './domain/errors.js';
import { completeAuthorization } from './domain/lifecycle.js';
import type { OAuthSettings } from './domain/oauth2.js';
import type { Vault } from './domain/vault.js';
import { encodeGlobalId } from './domain/global-ids.js';
import type { Viewer } from './domain/viewer.js';
import { DEFAULT_LIMITS, documentLimitPlugins, withoutSuggestions } from './edge/limits.js';
import { corsPolicy, type EdgeSettings, useRequireToken } from './edge/requests.js';
import { createViewerCache, useViewerRecheck } from './edge/viewer-cache.js';
import { useRequestBodyLimit } from './edge/body-limit.js';
import { useVariableErrors } from './edge/variables.js';
import type { Context } from './graphql/builder.js';
import { schema } from './graphql/schema.js';
import { createMetrics, type Metrics, operationsPath } from './metrics.js';
import { typedErrorCode } from './operations.js';
import { describeError, operationLogger, useAccessLog } from './access-log.js';
import type { Log } from './log.js';
import { type ChangeBus, createMemoryBus } from './realtime/bus.js';
import { LiveHub } from './realtime/hub.js';
import { useSharedExecution } from './realtime/shared-execution.js';
import { DEFAULT_EXECUTION_TIMEOUT_MS, useExecutionTimeout } from './edge/timeouts.js';
import { serveGraphqlWs } from './realtime/websocket.js';

export interface AppDeps {
  db: Database;
  log: Log;
  vault: Vault;
  /** The gateway's public base URL (OAuth callbacks); defaults to the address it listens on. */
  publicUrl?: string;
  /** Origins an OAuth `returnTo` may point at, besides the gateway's own. */
  returnOrigins?: string[];
  /** Operator-wide OAuth apps by integration key (accounts may configure their own). */
  defaultOAuthApps?: OAuthSettings['defaultApps'];
  /** How long a reconnect link lasts unless its creator says (default 7 days). */
  reconnectLinkTtlSeconds?: number;
  /** Carries committed changes between instances (default: in-process). The app closes it on stop. */
  bus?: ChangeBus;
  /** The built dashboard to serve at `/` (default client/dist). */
  dashboardDir?: string;
  /** Production mode, GraphiQL, CORS and document limits (default: development, DEFAULT_LIMITS, no CORS). */
  edge?: EdgeSettings;
  /** How long a query or mutation may run before it is answered with TIMEOUT (default 15 s). */
  executionTimeoutMs?: number;
  /** Bearer token /metrics requires (default: none; then production serves it to loopback only). */
  metricsToken?: string;
  /** Rate limits per API token and where their buckets live (default: the defaults, in memory). */
  rateLimit?: RateLimitOptions;
  /** PostgreSQL's pool, for the pool use metric (none on PGlite: one session). */
  pool?: PoolInfo;
}

/** The edge when none is given: development mode (tests, tools); main.ts passes the configured one. */
const DEVELOPMENT_EDGE: EdgeSettings = {
  production: false,
  graphiql: true,
  corsOrigins: [],
  document: { limits: DEFAULT_LIMITS, introspection: true },
};

export interface App {
  /** Listens and resolves with the base URL (e.g. http://127.0.0.1:4000). */
  start(port: number, host?: string): Promise<string>;
  /** Stops serving: waits up to `drainMs` (default 0) for requests in flight, then cuts what is left. */
  stop(options?: { drainMs?: number }): Promise<void>;
  /** The OAuth settings requests and jobs use (the callback URL is known once started). */
  oauth: OAuthSettings;
  /** The Yoga instance, for in-process requests (`yoga.fetch`). */
  yoga: ReturnType<typeof createYoga<ServerContext, Context>>;
  /** The instance's live hub (subscribers, stats). */
  live: LiveHub;
  /** The instance's Prometheus metrics (jobs report their rounds here). */
  metrics: Metrics;
}

/**
 * What Yoga's context function receives: an HTTP request, or a WebSocket's authenticated viewer
 * and the operation's signal (aborted when the client completes it or the socket closes).
 */
type ServerContext = { req?: IncomingMessage; res?: ServerResponse; viewer?: Viewer; clientSignal?: AbortSignal };

/**
 * Yoga's error masking: maskError below, and without introspection graphql-js's "Did you mean"
 * hints (in variable and enum errors) are dropped too.
 */
function maskErrors(hideSuggestions: boolean) {
  return (error: unknown, message: string, isDev?: boolean): Error => {
    const masked = maskError(error, message, isDev);
    if (hideSuggestions && masked instanceof GraphQLError && masked.message.includes('Did you mean')) {
      return new GraphQLError(withoutSuggestions(masked.message), { nodes: masked.nodes, path: masked.path, extensions: masked.extensions });
    }
    return masked;
  };
}

/**
 * Turns a thrown error into the error a client sees: ours keep their message and code, and a
 * database timeout (statement or lock) becomes a TIMEOUT.
 */
function maskError(error: unknown, message: string, isDev?: boolean): Error {
  const thrown = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  const original = thrown instanceof PatchbayError ? thrown : (timeoutFromDatabaseError(thrown) ?? thrown);
  if (original instanceof PatchbayError) {
    return new GraphQLError(original.message, {
      ...(error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {}),
      extensions: {
        code: original.code,
        ...('field' in original && original.field ? { field: original.field } : {}),
        ...(original.code === 'UNAUTHENTICATED' ? { http: { status: 401 } } : {}),
      },
    });
  }
  if (original instanceof PothosValidationError) {
    return new GraphQLError(original.message, {
      ...(error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {}),
      extensions: { code: 'VALIDATION' },
    });
  }
  return defaultMaskError(error, message, isDev);
}

export function createApp({
  db,
  log,
  vault,
  publicUrl,
  returnOrigins = [],
  defaultOAuthApps,
  reconnectLinkTtlSeconds,
  bus = createMemoryBus(),
  dashboardDir,
  edge = DEVELOPMENT_EDGE,
  metricsToken,
  executionTimeoutMs = DEFAULT_EXECUTION_TIMEOUT_MS,
  rateLimit = { limits: DEFAULT_RATE_LIMITS, store: 'memory' },
  pool,
}: AppDeps): App {
  const live = new LiveHub(db, bus, log);
  const sockets = new Set<Socket>();
  const metrics = createMetrics({ db, live, bus, sockets: () => sockets.size, pool });
  const rateLimiter = createRateLimiter(rateLimit, { db, log });
  // Tokens seen lately: their viewer is checked again before use (edge/viewer-cache.ts).
  const viewers = createViewerCache();
  // Filled in at start() when no public URL is configured: the callback must be exact.
  const oauth: OAuthSettings = {
    callbackUrl: publicUrl ? new URL('/oauth/callback', publicUrl).toString() : '',
    returnOrigins,
    defaultApps: defaultOAuthApps,
    reconnectLinkTtlSeconds,
  };
  // Served by the gateway itself (no CDN), and not at all when off.
  const graphiql = edge.graphiql ? createGraphiql() : undefined;
  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // The same limit, checked without streaming every body through a counter (edge/body-limit.ts).
    maxRequestBodySize: false,
    graphiql: edge.graphiql ? { title: 'Patchbay', headers: JSON.stringify({ Authorization: 'Bearer <token>' }) } : false,
    renderGraphiQL: graphiql?.render,
    cors: corsPolicy(edge.corsOrigins),
    maskedErrors: { maskError: maskErrors(!edge.document.introspection) },
    logging: {
      debug: (...args) => log.debug(String(args[0])),
      info: (...args) => log.info(String(args[0])),
      warn: (...args) => log.warn(String(args[0])),
      // Never the failed statement or its parameters: the error's name and code only. Yoga
      // reports every error it masks; a typed one (a caller's mistake, a timeout, a caller who
      // left) is the operation's outcome in the access log, not a fault of the gateway.
      error: (...args) => {
        const error = args.find((arg) => arg instanceof Error);
        if (typedErrorCode(error) !== undefined) return;
        log.error(String(args[0]).slice(0, 200), describeError(error));
      },
    },
    plugins: [
      useRequestBodyLimit(),
      metrics.plugin,
      useAccessLog(log),
      useRequireToken(edge),
      ...(graphiql ? [useGraphiqlHeaders()] : []),
      rateLimiter.plugin,
      // Variables first: the cost check reads them, and must not decode 40,000 ids to refuse them.
      useVariableErrors(),
      ...documentLimitPlugins(edge.document),
      useSharedExecution(live),
      // A remembered viewer is looked up again before anything else runs for it...
      useViewerRecheck(),
      // ...but for the connection graph in one statement, which checks the token itself; before the timeout, which wraps it.
      useCompiledReads(),
      useExecutionTimeout(executionTimeoutMs),
    ],
    context: async (initial) => ({
      db,
      vault,
      oauth,
      live,
      // WebSocket operations were authenticated once, when the socket connected.
      ...(initial.viewer ? { viewer: initial.viewer } : await viewers.viewerFromRequest(db, initial.request)),
    }),
  });

  const dashboard = serveDashboard(dashboardDir);
  const server = createServer(async (req, res) => {
    const url = req.url ?? '/';
    // Alive: answers while the process serves at all; /readyz says whether it can do its work.
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end('{"status":"ok"}');
      return;
    }
    const operations = operationsPath(req);
    if (operations === '/readyz') return metrics.serveReadiness(res);
    if (operations === '/metrics') {
      if (!metricsAllowed(req)) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('Send the metrics token as "Authorization: Bearer <token>"\n');
        return;
      }
      return metrics.serveMetrics(res);
    }
    if (url.startsWith('/oauth/callback')) {
      await handleCallback(req, res);
      return;
    }
    if (url.startsWith(GRAPHIQL_ASSETS_PREFIX)) {
      if (graphiql) return graphiql.serveAsset(req, res);
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('Not found\n');
      return;
    }
    if (isDashboardRequest(req)) return dashboard(req, res);
    return yoga.handle(req, res);
  });

  /** Completes an OAuth sign-in and sends the user back; refused states never redirect anywhere. */
  async function handleCallback(req: IncomingMessage, res: ServerResponse) {
    const callback = new URL(req.url ?? '/', oauth.callbackUrl);
    try {
      const outcome = await completeAuthorization(db, vault, oauth, callback);
      // Superseded grants are revoked after the answer: the user does not wait on the service.
      void outcome.revocations?.then((revocations) => {
        for (const { connectionId, revoked, message } of revocations) {
          const fields = { connection: encodeGlobalId('Connection', connectionId), supersededBy: encodeGlobalId('Connection', outcome.connectionId), message };
          if (revoked) log.info('superseded grant revoked at the provider', fields);
          else log.warn('superseded grant not revoked at the provider', fields);
        }
      });
      const connection = encodeGlobalId('Connection', outcome.connectionId);
      if (outcome.returnTo) {
        const back = new URL(outcome.returnTo);
        back.searchParams.set('connection', connection);
        back.searchParams.set('status', outcome.status);
        if (outcome.error) back.searchParams.set('error', outcome.error);
        res.writeHead(303, { location: back.toString() }).end();
        return;
      }
      const ok = !outcome.error;
      res
        .writeHead(ok ? 200 : 400, { 'content-type': 'text/html; charset=utf-8' })
        .end(page(ok ? 'Connected' : 'The connection was not completed', ok ? 'You can close this window.' : outcome.error!));
    } catch (error) {
      if (error instanceof PatchbayError) {
        res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' }).end(page('Sign-in link not valid', error.message));
        return;
      }
      log.error('oauth callback failed', { error: error instanceof Error ? error.name : 'unknown' });
      res.writeHead(500, { 'content-type': 'text/html; charset=utf-8' }).end(page('Something went wrong', 'Try connecting again.'));
    }
  }

  const websocket = serveGraphqlWs({
    server,
    yoga,
    db,
    live,
    log,
    // Lean subscribers skip Yoga's plugins: the same bucket, series and log line, called directly.
    operations: { rateLimit: rateLimiter.take, metrics: metrics.startOperation, accessLog: operationLogger(log) },
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  /** /metrics: with a metrics token, only its bearer; without one, anyone outside production, loopback in it. */
  function metricsAllowed(req: IncomingMessage): boolean {
    if (metricsToken) return req.headers.authorization === `Bearer ${metricsToken}`;
    if (!edge.production) return true;
    const remote = req.socket.remoteAddress ?? '';
    return remote === '127.0.0.1' || remote === '::1' || remote === '::ffff:127.0.0.1';
  }

  return {
    yoga,
    oauth,
    live,
    metrics,
    start: async (port, host = '127.0.0.1') => {
      // Probed first: a listen error on the server would also reach graphql-ws, which prints it as an internal error.
      if (port !== 0) await assertPortFree(port, host);
      await live.start();
      await rateLimiter.start();
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address() as AddressInfo;
          const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
          oauth.callbackUrl ||= `${url}/oauth/callback`;
          resolve(url);
        });
      });
    },
    stop: async ({ drainMs = 0 } = {}) => {
      // New connections are refused and idle keep-alive ones closed at once; requests in flight
      // get up to drainMs to finish, then every socket left is cut. WebSocket clients are told
      // the server is going away (1001) and reconnect elsewhere.
      const closed = new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
      server.closeIdleConnections();
      await websocket.dispose();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
      clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await closed;
      await live.stop();
      await bus.close();
      await rateLimiter.close();
      metrics.close();
    },
  };
}

/** The port and interface are free to listen on; rejects with the listen error (EADDRINUSE, EACCES) otherwise. */
export function assertPortFree(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * A minimal page for people landing on the callback without a return URL (or with a refused one):
 * what happened, and a way back to the dashboard, which the gateway serves at its root.
 */
function page(title: string, message: string): string {
  return (
    `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)} – Patchbay</title>` +
    `<main style="font:16px/1.5 system-ui;max-width:32rem;margin:4rem auto;padding:0 1rem"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>` +
    `<p><a href="/">Back to the Patchbay dashboard</a></p></main></html>`
  );
}
