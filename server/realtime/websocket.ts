/**
 * graphql-ws on the gateway's HTTP server, at the GraphQL path. The token is read once from
 * `connectionParams.authorization` (a bad one closes the socket with 4403); each operation runs
 * through Yoga's envelop (validation limits, masking, shared execution).
 *
 * A consumer that cannot keep up cannot grow the server's memory: shared live results are written
 * straight to a socket only while it has less than DIRECT_SEND_LIMIT_BYTES unsent; past that,
 * graphql-ws waits for each send to reach the kernel before it takes an operation's next result,
 * so a socket holds that much plus at most one unsent result per operation (and runs at most 100);
 * the results behind it wait in the hub's queue, which ends the subscription with SLOW_CONSUMER
 * past 256. As a backstop for very large
 * results, a socket with more than 4 MiB unsent is closed (1013, "try again later"). Either way
 * the client reconnects and catches up with `connectionEvents(after:)`.
 */
import type { Server } from 'node:http';
import { getOperationAST, GraphQLError, type ExecutionArgs } from 'graphql';
import { type Context as WsContext, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Database } from '../db/client.js';
import { requestIdOf } from '../access-log.js';
import { authenticateToken } from '../domain/api-tokens.js';
import type { Viewer } from '../domain/viewer.js';
import type { Log } from '../log.js';
import type { LiveHub, SharedResult } from './hub.js';

/** Unsent bytes a socket may hold before it is closed as a slow consumer. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/**
 * Unsent bytes below which a shared live result is written straight to the socket. Above it the
 * result waits in the hub's queue and goes through graphql-ws one at a time, as described above.
 */
export const DIRECT_SEND_LIMIT_BYTES = 64 * 1024;
/** Operations one socket may run at once. */
export const MAX_OPERATIONS_PER_SOCKET = 100;
/** How often every socket is pinged; one that has not answered the previous ping by then is dropped. */
export const KEEP_ALIVE_MS = 12_000;
/** Largest message a client may send (a subscribe with its document and variables). */
const MAX_INBOUND_BYTES = 64 * 1024;

type Extra = {
  socket: WebSocket;
  /** The upgrade request, until the socket is authenticated (then dropped: see `upgrade`). */
  request?: import('node:http').IncomingMessage;
  /**
   * What operations need of the upgrade request (the access log's request id), shared by every
   * operation of the socket: the request itself, with its headers and streams, is not kept for the
   * socket's lifetime.
   */
  upgrade?: { headers: Record<string, string> };
  viewer?: Viewer;
};

function isShared(result: unknown): result is SharedResult {
  return typeof (result as SharedResult | undefined)?.stringify === 'function';
}

/**
 * A shared result's JSON is spliced into each socket's message instead of being serialized per
 * subscriber: the replacer puts this marker where the payload goes (graphql-ws writes `payload`
 * last), and the socket's send swaps it for the JSON made once for the whole group.
 */
const MARKER = '\u0000patchbay:shared-result';
const MARKER_TAIL = `${JSON.stringify(MARKER)}}`;
let spliced: string | undefined;

function replacer(key: string, value: unknown): unknown {
  if (key === 'payload' && isShared(value)) {
    spliced = value.stringify();
    return MARKER;
  }
  return value;
}

function splice(data: string): string {
  if (spliced === undefined || !data.endsWith(MARKER_TAIL)) return data;
  const json = spliced;
  spliced = undefined;
  return `${data.slice(0, -MARKER_TAIL.length)}${json}}`;
}

/** The id of a client's Complete message (small: id and type only), else undefined. */
function completedId(data: unknown): string | undefined {
  if (!Buffer.isBuffer(data) || data.length > 256) return undefined;
  try {
    const message = JSON.parse(data.toString('utf8')) as { type?: unknown; id?: unknown };
    return message.type === 'complete' && typeof message.id === 'string' ? message.id : undefined;
  } catch {
    return undefined;
  }
}

/** Reads `Bearer <token>` from the connection params; null when absent or not a bearer token. */
function bearer(params: Record<string, unknown> | undefined): string | null {
  const value = params?.authorization ?? params?.Authorization;
  if (typeof value !== 'string') return null;
  return /^Bearer\s+(\S+)$/i.exec(value.trim())?.[1] ?? null;
}

export function serveGraphqlWs(options: {
  server: Server;
  // any: the glue only needs the endpoint and envelop, whatever the app's context types are.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  yoga: YogaServerInstance<any, any>;
  db: Database;
  live: LiveHub;
  log: Log;
}): { dispose(): Promise<void> } {
  const { server, yoga, db, live, log } = options;
  // No permessage-deflate, said here so that no default can turn it on: browsers and `ws` clients
  // offer it on every socket, and accepting would keep a zlib inflate and deflate context per socket
  // (tens of KB each, outside the JS heap) and compress every message once per subscriber. Live
  // messages are about 1 KB; the socket stays plain and a client's offer is declined.
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: MAX_INBOUND_BYTES, perMessageDeflate: false });
  // Each running operation's signal by socket and id: graphql-ws cannot stop a query or mutation
  // it has started, so the client's Complete (or the socket closing) aborts it here.
  const running = new WeakMap<WebSocket, Map<string, AbortController>>();
  // Keep-alive for every socket from one timer (graphql-ws's own keeps an interval per socket, and
  // a timeout and a listener per ping), on graphql-ws's terms: a socket is pinged once it has been
  // quiet for KEEP_ALIVE_MS (since it connected or last answered), and dropped when that ping has
  // been unanswered for KEEP_ALIVE_MS. Per socket: when it was last heard of, negative once pinged.
  const heard = new WeakMap<WebSocket, number>();
  const keepAlive = setInterval(() => {
    const now = Date.now();
    for (const socket of wss.clients) {
      const at = heard.get(socket);
      if (socket.readyState !== socket.OPEN || at === undefined) continue;
      if (at < 0) {
        if (now + at >= KEEP_ALIVE_MS) socket.terminate();
      } else if (now - at >= KEEP_ALIVE_MS) {
        heard.set(socket, -now);
        socket.ping();
      }
    }
  }, KEEP_ALIVE_MS / 4);
  keepAlive.unref();
  // Registered before graphql-ws's own listener, so every socket sends through splice().
  wss.on('connection', (socket) => {
    const send = socket.send.bind(socket) as (data: unknown, cb?: (error?: Error) => void) => void;
    socket.send = ((data: unknown, cb?: (error?: Error) => void) =>
      send(typeof data === 'string' ? splice(data) : data, cb)) as WebSocket['send'];
    running.set(socket, new Map());
    heard.set(socket, Date.now());
    socket.on('pong', () => heard.set(socket, Date.now()));
    socket.on('message', (data) => {
      const id = completedId(data);
      if (id !== undefined) running.get(socket)?.get(id)?.abort();
    });
    socket.on('close', () => {
      for (const controller of running.get(socket)?.values() ?? []) controller.abort();
      running.delete(socket);
    });
  });
  const handle = useServer<Record<string, unknown>, Extra>(
    {
      jsonMessageReplacer: replacer,
      onConnect: async (ctx: WsContext<Record<string, unknown>, Extra>) => {
        const token = bearer(ctx.connectionParams);
        const viewer = token ? await authenticateToken(db, token) : null;
        if (!viewer) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.viewer = viewer;
        if (ctx.extra.request) ctx.extra.upgrade = { headers: { 'x-request-id': requestIdOf(ctx.extra.request) } };
        delete ctx.extra.request;
        return true;
      },
      onSubscribe: async (ctx, id, payload: SubscribePayload) => {
        if (Object.keys(ctx.subscriptions).length > MAX_OPERATIONS_PER_SOCKET) {
          return [new GraphQLError(`At most ${MAX_OPERATIONS_PER_SOCKET} operations may run on one socket`, { extensions: { code: 'VALIDATION' } })];
        }
        // A query or mutation gets a signal the client's Complete aborts; a subscription is stopped by
        // its iterator's return() instead, so it carries no controller for its lifetime.
        const enveloped = yoga.getEnveloped({
          req: ctx.extra.upgrade,
          socket: ctx.extra.socket,
          params: payload,
          viewer: ctx.extra.viewer,
        });
        let document;
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError('The query could not be parsed')];
        }
        const controller = getOperationAST(document, payload.operationName)?.operation === 'subscription' ? undefined : new AbortController();
        const args: ExecutionArgs & { rootValue: unknown } = {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(controller ? { clientSignal: controller.signal } : undefined),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
        const errors = enveloped.validate(args.schema, args.document);
        if (errors.length > 0) return [...errors];
        if (controller) running.get(ctx.extra.socket)?.set(id, controller);
        // A shared live result skips graphql-ws's per-subscriber pipeline (a promise chain, a
        // JSON.stringify and a send callback per message) when the socket is keeping up: the
        // hub writes graphql-ws's own Next message, with the JSON made once per group.
        const socket = ctx.extra.socket;
        live.offerDirectSend(args.contextValue as object, (result) => {
          if (socket.readyState !== socket.OPEN || socket.bufferedAmount > DIRECT_SEND_LIMIT_BYTES) return false;
          // Subscribers whose operation has the same id get the very same bytes: built once per group and id.
          socket.send(result.nextMessage(id), { binary: false });
          return true;
        });
        return args;
      },
      onComplete: (ctx, id) => {
        running.get(ctx.extra.socket)?.delete(id);
      },
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args) as never,
      subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args) as never,
      onNext: (ctx, _id, _payload, _args, result) => {
        const socket = ctx.extra.socket;
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          log.warn('closing a slow live consumer', { bufferedBytes: socket.bufferedAmount });
          socket.close(1013, 'Too many unsent messages; reconnect and catch up with connectionEvents(after:)');
          return;
        }
        // Keep the shared result itself (not graphql-ws's copy) so its JSON is reused.
        return isShared(result) ? (result as never) : undefined;
      },
    },
    wss,
    0, // keep-alive: the one timer above
  );
  return {
    dispose: async () => {
      clearInterval(keepAlive);
      await handle.dispose();
    },
  };
}
