/**
 * One access-log line per GraphQL operation (HTTP, SSE and graphql-ws alike): its request id,
 * name, type, outcome, duration and the kind of token behind it; never variables, documents or
 * secrets. A request id comes from `x-request-id` when the caller sends a sane one, else is made
 * here, and is echoed in the response; a WebSocket operation's id is its socket's id plus a count.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Viewer } from './domain/viewer.js';
import type { Log } from './log.js';
import { operationOf, outcomeOf } from './operations.js';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const requestIds = new WeakMap<object, string>();

/** A fetch Request (Yoga's own implementation is not always the global class). */
function isFetchRequest(value: unknown): value is Request {
  return typeof (value as Request | undefined)?.headers?.get === 'function';
}
const socketOperations = new WeakMap<IncomingMessage, number>();

/** The id of an HTTP request (or a WebSocket's upgrade request): the caller's if sane, else a new one. */
export function requestIdOf(request: Request | IncomingMessage): string {
  let id = requestIds.get(request);
  if (id === undefined) {
    const header = isFetchRequest(request) ? request.headers.get('x-request-id') : request.headers['x-request-id'];
    id = typeof header === 'string' && SANE_ID.test(header) ? header : randomUUID();
    requestIds.set(request, id);
  }
  return id;
}

/** The id of one operation: its HTTP request's, or its socket's with the operation's number. */
function operationId(context: { request?: unknown; req?: unknown }): string | undefined {
  if (isFetchRequest(context.request)) return requestIdOf(context.request);
  const upgrade = context.req as IncomingMessage | undefined;
  if (!upgrade?.headers) return undefined;
  const count = (socketOperations.get(upgrade) ?? 0) + 1;
  socketOperations.set(upgrade, count);
  return `${requestIdOf(upgrade)}:${count}`;
}

/**
 * Starts one operation's access-log line; call the returned function with its result. The plugin
 * below uses it for every operation Yoga runs, graphql-ws's lean subscribers (which skip Yoga) too.
 */
export function operationLogger(log: Log) {
  return (args: Pick<ExecutionArgs, 'document' | 'operationName' | 'contextValue'>) => {
    const context = (args.contextValue ?? {}) as { request?: unknown; req?: unknown; viewer?: Viewer | null };
    const operation = operationOf(args);
    const began = performance.now();
    const fields = {
      requestId: operationId(context),
      operation: operation?.name?.value ?? null,
      type: operation?.operation ?? 'query',
      tokenKind: context.viewer?.tokenKind ?? null,
    };
    return (result: unknown) => {
      const outcome = outcomeOf(result);
      // A caller's mistake is routine; only what the gateway itself failed at is a warning.
      const at = outcome === 'INTERNAL_SERVER_ERROR' || outcome === 'error' ? 'warn' : 'info';
      log[at]('graphql operation', { ...fields, outcome, durationMs: Math.round((performance.now() - began) * 10) / 10 });
    };
  };
}

/** Logs every operation once it is done; echoes the request id on every HTTP response. */
export function useAccessLog(log: Log): Plugin {
  const start = operationLogger(log);
  return {
    onExecute: ({ args }) => {
      const done = start(args);
      return { onExecuteDone: ({ result }) => done(result) };
    },
    onSubscribe: ({ args }) => {
      const done = start(args);
      return { onSubscribeResult: ({ result }) => done(result) };
    },
    onResponse: ({ request, response }) => {
      response.headers.set('x-request-id', requestIdOf(request));
    },
  };
}

/**
 * What of a thrown error may be logged: its name and codes (a SQLSTATE), and its message unless it
 * carries a statement and its parameters (drizzle's "Failed query: ... params: ...").
 */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: 'unknown' };
  const cause = (error as { cause?: { code?: unknown } }).cause;
  const code = (error as { code?: unknown }).code ?? cause?.code;
  const revealing = /Failed query|params:|\bselect\b|\binsert\b|\bupdate\b/i.test(error.message);
  return { error: error.name, ...(typeof code === 'string' ? { code } : {}), ...(revealing ? {} : { detail: error.message.slice(0, 200) }) };
}
