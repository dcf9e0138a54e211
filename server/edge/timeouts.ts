/**
 * The execution timeout, and stopping work whose caller gave up. Each GraphQL query or mutation
 * (HTTP, SSE or WebSocket) gets one AbortSignal, aborted after the execution timeout, when the
 * HTTP client disconnects, or when a WebSocket client completes the operation or goes away. The
 * executor then resolves no further fields, and the operation's statements and provider calls
 * stop with it (db/cancellation.ts); its open transaction rolls back. A subscription's lifetime is
 * not limited: only the execution of queries and mutations is.
 *
 * A timeout is answered like the other typed errors: HTTP 200 with `data: null` and
 * `errors[0].extensions.code` TIMEOUT. A caller can make an operation slow, and nothing a caller
 * sends is answered with a 5xx; TIMEOUT says the operation did not happen and may be retried.
 * (The statement and lock timeouts are PostgreSQL session settings, see db/client.ts; their
 * errors become the same TIMEOUT in the app's error masking.)
 */
import { type ExecutionArgs, type ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { runForOperation } from '../db/cancellation.js';
import { OperationCancelledError, OperationTimeoutError } from '../domain/errors.js';

/**
 * Above the service timeout (10 s), so a slow provider call ends with its own, more precise
 * error (PROVIDER_UNAVAILABLE) before the operation does, and above the statement timeout (5 s).
 */
export const DEFAULT_EXECUTION_TIMEOUT_MS = 15_000;

/** What the plugin reads from the context: the HTTP request, or a WebSocket operation's signal. */
interface CallerContext {
  /** Yoga's HTTP request; its signal aborts when the client disconnects. */
  request?: Request;
  /** A WebSocket operation's signal: aborts when the client completes it or the socket closes. */
  clientSignal?: AbortSignal;
}

/** Limits each query and mutation to `timeoutMs`, and stops it when its caller goes away. */
export function useExecutionTimeout(timeoutMs: number): Plugin<CallerContext> {
  return {
    onExecute({ executeFn, setExecuteFn, context }) {
      setExecuteFn(async (args: ExecutionArgs) => {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(new OperationTimeoutError()), timeoutMs);
        const caller = context.request?.signal ?? context.clientSignal;
        const callerGone = () => controller.abort(new OperationCancelledError());
        if (caller?.aborted) callerGone();
        caller?.addEventListener('abort', callerGone, { once: true });
        try {
          // graphql-tools' executor (Yoga's) takes `signal`: it stops resolving once it aborts.
          return (await runForOperation(controller.signal, async () =>
            executeFn({ ...args, signal: controller.signal } as ExecutionArgs),
          )) as ExecutionResult;
        } catch (error) {
          if (!controller.signal.aborted) throw error;
          // A result, not a throw: over graphql-ws a thrown execution closes the whole socket.
          const reason = controller.signal.reason as Error;
          return { data: null, errors: [new GraphQLError(reason.message, { originalError: reason })] };
        } finally {
          clearTimeout(timer);
          caller?.removeEventListener('abort', callerGone);
        }
      });
    },
  };
}
