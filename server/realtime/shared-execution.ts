/**
 * An envelop plugin for Yoga (and so for graphql-ws and SSE alike): a subscription runs its
 * field's `subscribe` resolver as usual (arguments, auth scopes, validation errors), but its
 * events are then executed by the hub once per group of alike subscribers instead of once per
 * subscriber by graphql's own `subscribe`.
 */
import type { Plugin } from 'graphql-yoga';
import { createSourceEventStream, execute, GraphQLError, print, type DocumentNode, type ExecutionArgs } from 'graphql';
import type { LiveHub } from './hub.js';

/** Documents print once each (Yoga's parser cache hands out the same DocumentNode per text). */
const printed = new WeakMap<DocumentNode, string>();

/**
 * Group keys in use, so that alike subscribers hold one flat string instead of a concatenation
 * each (a rope of a dozen pieces per subscriber otherwise). Emptied when it grows past KEYS_KEPT:
 * an evicted key is only built again, never wrong.
 */
const keys = new Map<string, string>();
const KEYS_KEPT = 10_000;

function documentKey(args: ExecutionArgs): string {
  let text = printed.get(args.document);
  if (text === undefined) printed.set(args.document, (text = print(args.document)));
  const key = `${text}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
  const kept = keys.get(key);
  if (kept !== undefined) return kept;
  if (keys.size >= KEYS_KEPT) keys.clear();
  // Flattened once here (a Map key lookup flattens it), stored as the one copy.
  keys.set(key, key);
  return key;
}

export function useSharedExecution(hub: LiveHub): Plugin {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        const source = await createSourceEventStream(args);
        if (!(Symbol.asyncIterator in source)) return source;
        const subscription = hub.claim(args.contextValue as object);
        if (!subscription) {
          await (source as AsyncIterableIterator<unknown>).return?.();
          return { errors: [new GraphQLError('This subscription field is not served live')] };
        }
        const context = args.contextValue as Record<string, unknown>;
        subscription.operation = {
          key: documentKey(args),
          // A fresh context per execution: loaders cache per context, and the viewer is re-read.
          execute: async (payload, viewer) =>
            (await execute({ ...args, rootValue: payload, contextValue: { ...context, viewer } })) as Awaited<ReturnType<typeof execute>>,
        };
        return subscription;
      });
    },
  };
}
