/**
 * One urql client per signed-in token: queries and mutations over HTTP, subscriptions over one
 * graphql-ws socket on the same /graphql path, both carrying the token. The socket's state is
 * published for the "Live" indicator, and a reconnect is announced so screens can catch up on
 * what they missed while it was down.
 */
import { Client, fetchExchange, mapExchange, subscriptionExchange } from '@urql/core';
import { createClient as createSocketClient, type Client as SocketClient } from 'graphql-ws/client';
import { createCache } from './cache';

/** Where the live channel is: connecting at first, live, or down and retrying. */
export type LiveState = 'connecting' | 'live' | 'reconnecting';

export interface Gateway {
  client: Client;
  /** Current live-channel state, and a way to hear about changes (returns an unsubscribe). */
  live(): LiveState;
  onLive(listener: (state: LiveState, reconnected: boolean) => void): () => void;
  /** Closes the socket (signing out). */
  dispose(): void;
}

/** The gateway closes a socket whose token does not authenticate with 4403 Forbidden. */
function isForbidden(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'code' in event && event.code === 4403;
}

function socketUrl(): string {
  const url = new URL('/graphql', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/**
 * The gateway client for `token`. `onUnauthorized` runs when the gateway answers 401 or refuses
 * the socket (4403): the token was revoked while the dashboard was open.
 */
export function createGateway(token: string, onUnauthorized: () => void): Gateway {
  let state: LiveState = 'connecting';
  let connectedBefore = false;
  const listeners = new Set<(state: LiveState, reconnected: boolean) => void>();
  const publish = (next: LiveState, reconnected = false) => {
    state = next;
    for (const listener of listeners) listener(next, reconnected);
  };

  const socket: SocketClient = createSocketClient({
    url: socketUrl(),
    connectionParams: () => ({ authorization: `Bearer ${token}` }),
    // Keep trying while the dashboard is open (a gateway restart must not end live updates),
    // except when the token itself was refused: that ends the session.
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (event) => !isForbidden(event),
  });
  socket.on('connected', () => {
    publish('live', connectedBefore);
    connectedBefore = true;
  });
  socket.on('closed', (event) => {
    if (isForbidden(event)) onUnauthorized();
    else if (state !== 'connecting') publish('reconnecting');
  });

  const client = new Client({
    url: '/graphql',
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
    // The cache is fresh from subscriptions; screens still confirm with the network on open.
    requestPolicy: 'cache-and-network',
    exchanges: [
      mapExchange({
        onError(error) {
          if (error.response?.status === 401) onUnauthorized();
        },
      }),
      createCache(),
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = socket.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
      fetchExchange,
    ],
  });

  return {
    client,
    live: () => state,
    onLive(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose() {
      listeners.clear();
      // Disposing while a connection attempt is failing rejects with that attempt's error: moot now.
      void Promise.resolve(socket.dispose()).catch(() => {});
    },
  };
}
