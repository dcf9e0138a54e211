/**
 * graphql-ws on the gateway's HTTP server, at the GraphQL path. The token is read once from
 * `connectionParams.authorization` (a bad one closes the socket with 4403); each operation runs
 * through Yoga's envelop (validation limits, masking, shared execution).
 *
 * Lean subscribers: once Yoga has accepted a live subscription whose field says its resolver read
 * nothing but its arguments and the viewer's class (LiveTemplate in hub.ts), a later `subscribe` on
 * an authenticated socket with the same document text, operation name, variables and viewer class
 * is not run through Yoga again: it takes its point from the same rate-limit bucket, is counted in
 * the same metrics and access log, and is registered in the hub as a subscriber like the first one,
 * with no per-operation envelop, context or iterator chain (they were about 12 KB of heap per
 * subscriber). Its results are the group's bytes, written straight to the socket; the rare slow
 * path (a socket behind, a result with errors, the hub ending it) is sent here the way graphql-ws
 * would send it, errors masked by Yoga's own masking. Anything else (a first subscriber, another
 * shape, a refusal, a query) goes to graphql-ws and Yoga as before; only those operation ids are
 * handled here (their `complete`, a duplicate id closes 4409 as graphql-ws would).
 *
 * A consumer that cannot keep up cannot grow the server's memory: shared live results are written
 * straight to a socket only while it has less than DIRECT_SEND_LIMIT_BYTES unsent; past that,
 * each operation waits for its send to reach the kernel before it takes its next result, so a
 * socket holds that much plus at most one unsent result per operation (and runs at most 100);
 * the results behind it wait in the hub's queue, which ends the subscription with SLOW_CONSUMER
 * past 256. As a backstop for very large
 * results, a socket with more than 4 MiB unsent is closed (1013, "try again later"). Either way
 * the client reconnects and catches up with `connectionEvents(after:)`.
 */
import type { IncomingMessage, Server } from 'node:http';
import { type DocumentNode, type ExecutionArgs, type ExecutionResult, getOperationAST, GraphQLError } from 'graphql';
import {
  CloseCode,
  type Context as WsContext,
  handleProtocols,
  makeServer,
  MessageType,
  type SubscribeMessage,
  type SubscribePayload,
  validateMessage,
} from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Database } from '../db/client.js';
import { requestIdOf } from '../access-log.js';
import { authenticateToken } from '../domain/api-tokens.js';
import type { Viewer } from '../domain/viewer.js';
import type { Log } from '../log.js';
import type { LiveHub, LiveSink, LiveSubscription, LiveTemplate, SharedResult } from './hub.js';

/** Unsent bytes a socket may hold before it is closed as a slow consumer. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/**
 * Unsent bytes below which a shared live result is written straight to the socket. Above it the
 * result waits in the hub's queue and is sent one at a time, as described above.
 */
export const DIRECT_SEND_LIMIT_BYTES = 64 * 1024;
/** Operations one socket may run at once. */
export const MAX_OPERATIONS_PER_SOCKET = 100;
/** How often every socket is pinged; one that has not answered the previous ping by then is dropped. */
export const KEEP_ALIVE_MS = 12_000;
/** Largest message a client may send (a subscribe with its document and variables). */
const MAX_INBOUND_BYTES = 64 * 1024;
const SLOW_CONSUMER_REASON = 'Too many unsent messages; reconnect and catch up with connectionEvents(after:)';
const IS_PROD = process.env.NODE_ENV === 'production';
/** ws's send options for a text frame, one object for every send. */
const TEXT = { binary: false } as const;

/**
 * What lean subscribers need from the edge and the operations side, so that they are limited,
 * counted and logged exactly as the operations Yoga runs (the same bucket, series and log line).
 */
export interface OperationHooks {
  /** Takes the operation's rate-limit point: the refusal when the token is over its limit. */
  rateLimit(viewer: Viewer): Promise<GraphQLError | undefined> | undefined;
  /** Starts the operation's metrics; called with its result. */
  metrics(args: Pick<ExecutionArgs, 'document' | 'operationName'>): (result: unknown) => void;
  /** Starts the operation's access-log line; called with its result. */
  accessLog(args: Pick<ExecutionArgs, 'document' | 'operationName' | 'contextValue'>): (result: unknown) => void;
}

/**
 * A subscription Yoga accepted that later alike subscribers copy: the hub's template, and the
 * document Yoga parsed (for metrics and the log). Kept while any subscriber uses it.
 */
interface Shape {
  key: string;
  template: LiveTemplate;
  document: DocumentNode;
  operationName?: string | null;
  /** Subscribers using it: the ones Yoga serves and the lean ones (and lean ones being admitted). */
  users: number;
}

/**
 * One socket: graphql-ws's transport for it (send, close, onMessage) and its `extra` at once, one
 * object with its methods on the prototype (not a set of closures per socket).
 */
class Session {
  /** The upgrade request, until the socket is authenticated (then dropped: see `upgrade`). */
  request?: IncomingMessage;
  /**
   * What operations need of the upgrade request (the access log's request id), shared by every
   * operation of the socket: the request itself, with its headers and streams, is not kept for the
   * socket's lifetime.
   */
  upgrade?: { headers: Record<string, string> } = undefined;
  viewer?: Viewer = undefined;
  /** graphql-ws's state of this socket (acknowledged, its operations), once it connected. */
  state?: WsContext<Record<string, unknown>, Session> = undefined;
  /** graphql-ws's message handler. */
  handle?: (data: string) => Promise<void> = undefined;
  /** Running queries and mutations by id: graphql-ws cannot stop them, the client's Complete aborts them here. */
  running?: Map<string, AbortController> = undefined;
  /** Lean subscriptions by operation id; null while its rate limit is being taken. */
  lean?: Map<string, LeanOperation | null> = undefined;
  /** The shapes this socket's Yoga-served subscriptions are templates of, by operation id. */
  templates?: Map<string, Shape> = undefined;

  constructor(
    readonly socket: WebSocket,
    request: IncomingMessage,
  ) {
    this.request = request;
  }

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.socket.readyState !== this.socket.OPEN) return resolve();
      this.socket.send(splice(data), (error) => (error ? reject(error) : resolve()));
    });
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  onMessage(handle: (data: string) => Promise<void>): void {
    this.handle = handle;
  }
}

/** A lean subscription's sink: the group's bytes straight to the socket, the rest as graphql-ws sends it. */
interface LeanOperation extends LiveSink {
  subscription?: LiveSubscription;
}

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

/** Reads `Bearer <token>` from the connection params; null when absent or not a bearer token. */
function bearer(params: Record<string, unknown> | undefined): string | null {
  const value = params?.authorization ?? params?.Authorization;
  if (typeof value !== 'string') return null;
  return /^Bearer\s+(\S+)$/i.exec(value.trim())?.[1] ?? null;
}

/** What makes two subscribes alike: the viewer's class, then the operation exactly as sent. */
function shapeKey(payload: SubscribePayload, viewer: Viewer): string {
  return [
    viewer.accountId,
    viewer.userId,
    viewer.role,
    viewer.isOwner,
    viewer.tokenKind,
    payload.operationName ?? '',
    JSON.stringify(payload.variables ?? {}),
    JSON.stringify(payload.extensions ?? {}),
    payload.query,
  ].join('\u0000');
}

export function serveGraphqlWs(options: {
  server: Server;
  // any: the glue only needs the endpoint and envelop, whatever the app's context types are.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  yoga: YogaServerInstance<any, any>;
  db: Database;
  live: LiveHub;
  log: Log;
  operations: OperationHooks;
}): { dispose(): Promise<void> } {
  const { server, yoga, db, live, log, operations } = options;
  // No permessage-deflate, said here so that no default can turn it on: browsers and `ws` clients
  // offer it on every socket, and accepting would keep a zlib inflate and deflate context per socket
  // (tens of KB each, outside the JS heap) and compress every message once per subscriber. Live
  // messages are about 1 KB; the socket stays plain and a client's offer is declined.
  const wss = new WebSocketServer({
    server,
    path: yoga.graphqlEndpoint,
    maxPayload: MAX_INBOUND_BYTES,
    perMessageDeflate: false,
    handleProtocols,
  });
  // Yoga's own masking (the app's maskError, and Yoga's logging of what it hides), for the results
  // with errors a lean subscriber is sent: Yoga keeps it on the instance without a public accessor.
  const masking = (yoga as unknown as { maskedErrorsOpts?: { maskError(error: unknown, message: string): Error; errorMessage: string } | null })
    .maskedErrorsOpts;
  const shapes = new Map<string, Shape>();
  const release = (shape: Shape) => {
    shape.users -= 1;
    if (shape.users === 0 && shapes.get(shape.key) === shape) shapes.delete(shape.key);
  };
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

  const graphqlWs = makeServer<Record<string, unknown>, Session>({
    jsonMessageReplacer: replacer,
    onConnect: async (ctx: WsContext<Record<string, unknown>, Session>) => {
      const token = bearer(ctx.connectionParams);
      const viewer = token ? await authenticateToken(db, token) : null;
      if (!viewer) return false; // graphql-ws closes with 4403 Forbidden
      const session = ctx.extra;
      session.viewer = viewer;
      session.state = ctx;
      if (session.request) session.upgrade = { headers: { 'x-request-id': requestIdOf(session.request) } };
      session.request = undefined;
      return true;
    },
    onSubscribe: async (ctx, id, payload: SubscribePayload) => {
      const session = ctx.extra;
      if (Object.keys(ctx.subscriptions).length + (session.lean?.size ?? 0) > MAX_OPERATIONS_PER_SOCKET) {
        return [new GraphQLError(`At most ${MAX_OPERATIONS_PER_SOCKET} operations may run on one socket`, { extensions: { code: 'VALIDATION' } })];
      }
      // A query or mutation gets a signal the client's Complete aborts; a subscription is stopped by
      // its iterator's return() instead, so it carries no controller for its lifetime.
      const enveloped = yoga.getEnveloped({
        req: session.upgrade,
        socket: session.socket,
        params: payload,
        viewer: session.viewer,
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
      if (controller) (session.running ??= new Map()).set(id, controller);
      // A shared live result skips graphql-ws's per-subscriber pipeline (a promise chain, a
      // JSON.stringify and a send callback per message) when the socket is keeping up: the
      // hub writes graphql-ws's own Next message, with the JSON made once per group.
      const socket = session.socket;
      live.offerDirectSend(args.contextValue as object, (result) => {
        if (socket.readyState !== socket.OPEN || socket.bufferedAmount > DIRECT_SEND_LIMIT_BYTES) return false;
        // Subscribers whose operation has the same id get the very same bytes: built once per group and id.
        socket.send(result.nextMessage(id), TEXT);
        return true;
      });
      return args;
    },
    onOperation: (ctx, id, payload, args) => {
      // Yoga accepted it: alike subscribes that follow may copy it (if its field allows).
      const viewer = ctx.extra.viewer;
      const template = viewer && live.templateOf(args.contextValue as object);
      if (!viewer || !template) return;
      const key = shapeKey(payload, viewer);
      let shape = shapes.get(key);
      if (!shape) shapes.set(key, (shape = { key, template, document: args.document, operationName: args.operationName, users: 0 }));
      shape.users += 1;
      (ctx.extra.templates ??= new Map()).set(id, shape);
    },
    onComplete: (ctx, id) => {
      ctx.extra.running?.delete(id);
      const shape = ctx.extra.templates?.get(id);
      if (shape) {
        ctx.extra.templates!.delete(id);
        release(shape);
      }
    },
    execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args) as never,
    subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args) as never,
    onNext: (ctx, _id, _payload, _args, result) => {
      const socket = ctx.extra.socket;
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        log.warn('closing a slow live consumer', { bufferedBytes: socket.bufferedAmount });
        socket.close(1013, SLOW_CONSUMER_REASON);
        return;
      }
      // Keep the shared result itself (not graphql-ws's copy) so its JSON is reused.
      return isShared(result) ? (result as never) : undefined;
    },
  });

  /** graphql-ws's Next message for a result a lean subscriber could not be written directly. */
  function nextMessage(id: string, result: ExecutionResult): Buffer | string {
    if (isShared(result) && !result.errors) return result.nextMessage(id);
    const { errors, ...rest } = result;
    const payload = errors
      ? {
          ...rest,
          errors: errors.map((error) => {
            const masked = masking ? masking.maskError(error, masking.errorMessage) : error;
            return (masked as { toJSON?: () => unknown }).toJSON?.() ?? masked;
          }),
        }
      : rest;
    return JSON.stringify({ id, type: MessageType.Next, payload });
  }

  /**
   * A lean subscription of operation `id` on a socket: the hub pushes to it (LiveSink), so it
   * holds no promise, iterator or closure of its own. What the direct write does not take is sent
   * one result at a time (each once the previous reached the kernel), then Complete when the hub
   * ends it: as graphql-ws sends a Yoga subscription's results.
   */
  class Lean implements LeanOperation {
    subscription?: LiveSubscription;
    private done = false;

    constructor(
      private readonly session: Session,
      private readonly id: string,
      private readonly shape: Shape,
    ) {}

    write(result: SharedResult): boolean {
      const { socket } = this.session;
      if (socket.readyState !== socket.OPEN || socket.bufferedAmount > DIRECT_SEND_LIMIT_BYTES) return false;
      // Subscribers whose operation has the same id get the very same bytes: built once per group and id.
      socket.send(result.nextMessage(this.id), TEXT);
      return true;
    }

    receive(result: ExecutionResult): void {
      const { socket } = this.session;
      const subscription = this.subscription!;
      // A closing socket's close handler ends the subscription; until then its results are dropped.
      if (socket.readyState !== socket.OPEN) return queueMicrotask(() => subscription.taken());
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        log.warn('closing a slow live consumer', { bufferedBytes: socket.bufferedAmount });
        socket.close(1013, SLOW_CONSUMER_REASON);
        return queueMicrotask(() => subscription.taken());
      }
      socket.send(nextMessage(this.id, result), TEXT, () => subscription.taken());
    }

    ended(): void {
      if (this.done) return;
      this.done = true;
      const { session, id } = this;
      // Ended by the hub (revoked token, slow consumer, shutdown): Complete, unless the client
      // completed it or the socket closed first.
      if (session.lean?.get(id) === this) {
        session.lean.delete(id);
        if (session.socket.readyState === session.socket.OPEN) session.socket.send(JSON.stringify({ id, type: MessageType.Complete }));
      }
      release(this.shape);
    }
  }

  /** Registers a lean subscriber of `shape` as operation `id` (its rate-limit point is taken). */
  function startLean(session: Session, id: string, shape: Shape, viewer: Viewer): void {
    const args = { document: shape.document, operationName: shape.operationName };
    const counted = operations.metrics(args);
    const logged = operations.accessLog({ ...args, contextValue: { req: session.upgrade, viewer } });
    const lean = new Lean(session, id, shape);
    shape.users += 1;
    (session.lean ??= new Map()).set(id, lean);
    lean.subscription = live.subscribeLike(shape.template, viewer, lean);
    counted(lean.subscription);
    logged(lean.subscription);
  }

  /**
   * Takes a Subscribe graphql-ws would hand to Yoga when an alike one was accepted before: true
   * when handled here (or refused as graphql-ws would), false to pass it to graphql-ws.
   */
  function subscribeLean(session: Session, message: unknown, data: string): boolean {
    const { state, viewer, socket } = session;
    if (!state?.acknowledged || !viewer) return false;
    try {
      validateMessage(message);
    } catch {
      return false; // graphql-ws closes it as a bad request
    }
    const { id, payload } = message as SubscribeMessage;
    if (session.lean?.has(id)) {
      socket.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
      return true;
    }
    if (shapes.size === 0 || id in state.subscriptions) return false;
    // Over the socket's limit: graphql-ws answers with the same error as ever.
    if (Object.keys(state.subscriptions).length + (session.lean?.size ?? 0) >= MAX_OPERATIONS_PER_SOCKET) return false;
    const shape = shapes.get(shapeKey(payload, viewer));
    if (!shape) return false;
    const refusal = operations.rateLimit(viewer);
    if (!refusal) {
      startLean(session, id, shape, viewer);
      return true;
    }
    // Taken like graphql-ws takes an id: a duplicate or a Complete while the bucket answers is seen.
    (session.lean ??= new Map()).set(id, null);
    shape.users += 1;
    void refusal.then((error) => {
      const admitted = session.lean?.get(id) === null && socket.readyState === socket.OPEN;
      if (admitted) session.lean!.delete(id);
      if (admitted && !error) startLean(session, id, shape, viewer);
      // Refused: Yoga refuses it again from the same (spent) bucket and answers as it always has.
      else if (admitted) forward(session, data);
      release(shape);
    });
    return true;
  }

  /** Ends a lean subscription the client completed (no Complete is sent back, as in graphql-ws). */
  function completeLean(session: Session, id: string): boolean {
    if (!session.lean?.has(id)) return false;
    const lean = session.lean.get(id);
    session.lean.delete(id);
    void lean?.subscription?.return();
    return true;
  }

  /** Hands a message to graphql-ws; what it throws closes the socket, as graphql-ws's own glue does. */
  function forward(session: Session, data: string): void {
    session.handle?.(data).catch((error: unknown) => {
      log.error('graphql-ws message handling failed', { error: error instanceof Error ? error.name : 'unknown' });
      const reason = error instanceof Error ? error.message : String(error);
      session.socket.close(CloseCode.InternalServerError, IS_PROD || reason.length >= 124 ? 'Internal server error' : reason);
    });
  }

  // graphql-ws's own `useServer` glue for `ws`, with the keep-alive above and the lean path in front
  // of its message handler.
  wss.once('error', (error) => {
    log.error('WebSocket server error', { error: error.message });
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, 'Internal server error');
  });
  wss.on('connection', (socket, request) => {
    socket.once('error', (error) => {
      log.warn('WebSocket error', { error: error.message });
      socket.close(CloseCode.InternalServerError, IS_PROD || error.message.length >= 124 ? 'Internal server error' : error.message);
    });
    heard.set(socket, Date.now());
    socket.on('pong', () => heard.set(socket, Date.now()));
    const session = new Session(socket, request);
    const closed = graphqlWs.opened(session, session);
    socket.on('message', (raw) => {
      const data = String(raw);
      let message: { type?: unknown; id?: unknown } | undefined;
      try {
        message = JSON.parse(data) as typeof message;
      } catch {
        // graphql-ws closes the socket for it
      }
      if (message?.type === MessageType.Complete && typeof message.id === 'string') {
        session.running?.get(message.id)?.abort();
        if (completeLean(session, message.id)) return;
      }
      if (message?.type === MessageType.Subscribe && subscribeLean(session, message, data)) return;
      forward(session, data);
    });
    socket.once('close', (code, reason) => {
      for (const controller of session.running?.values() ?? []) controller.abort();
      for (const id of [...(session.lean?.keys() ?? [])]) completeLean(session, id);
      void closed(code, String(reason));
    });
  });
  return {
    dispose: async () => {
      clearInterval(keepAlive);
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
