/**
 * Work stops when its caller gives up. A GraphQL query or mutation runs its resolvers inside
 * `runForOperation(signal, fn)`; once that signal aborts (the execution timeout, or the caller
 * disconnected or completed the operation), no new statement starts for it, its PostgreSQL
 * statements still running are cancelled, its open transaction rolls back, and its provider calls
 * are aborted. Work that must finish whatever the caller does (a token refresh the provider may
 * already have answered) runs `outsideOperation`. Jobs and the CLI run outside any operation.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

interface Operation {
  signal: AbortSignal;
  /** Cancels the statements the operation has started; run once, when the signal aborts. */
  cancellers: Set<() => void>;
}

const current = new AsyncLocalStorage<Operation>();

/** Runs `fn` (an operation's execution) so that everything it starts stops when `signal` aborts. */
export async function runForOperation<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  const operation: Operation = { signal, cancellers: new Set() };
  const cancelAll = () => {
    for (const cancel of operation.cancellers) cancel();
    operation.cancellers.clear();
  };
  signal.addEventListener('abort', cancelAll, { once: true });
  try {
    return await current.run(operation, fn);
  } finally {
    signal.removeEventListener('abort', cancelAll);
  }
}

/** Runs `fn` detached from the current operation: its caller giving up does not stop it. */
export function outsideOperation<T>(fn: () => T): T {
  return current.exit(fn);
}

/** The current operation's signal; undefined outside one (jobs, the CLI, detached work). */
export function operationSignal(): AbortSignal | undefined {
  return current.getStore()?.signal;
}

/** Throws the reason the current operation stopped (a PatchbayError), if it has. */
export function throwIfOperationAborted(): void {
  current.getStore()?.signal.throwIfAborted();
}

/**
 * Registers `cancel` (stopping a statement this operation started) to run if the operation is
 * aborted. Outside an operation it is never called.
 */
export function cancelWithOperation(cancel: () => void): void {
  current.getStore()?.cancellers.add(cancel);
}
