/**
 * One urql client per signed-in token: queries and mutations over HTTP, subscriptions over one
 * graphql-ws socket on the same /graphql path, both carrying the token. The socket's state is
 * published for the "Live" indicator. After a reconnect the gateway catches the cache up on what
 * was missed (see catch-up.ts) and then tells the screens, which refetch only when that could not
 * be done or when it named a connection they do not hold.
 */
import { Client, fetchExchange, mapExchange, subscriptionExchange } from '@urql/core';
import { createClient as createSocketClient, type Client as SocketClient } from 'graphql-ws/client';
import { trackEventFeed, type CatchUpOutcome } from './catch-up';
import { createCache } from './cache';

/** Where the live channel is: connecting at first, live, or down and retrying. */
export type LiveState = 'connecting' | 'live' | 'reconnecting';

export interface Gateway {
  client: Client;
  /** Current live-channel state, and a way to hear about changes (returns an unsubscribe). */
  live(): LiveState;
  onLive(listener: (state: LiveState) => void): () => void;
  /** Hears each return of the live channel, once the catch-up it ran has finished. */
  onReconnected(listener: (outcome: CatchUpOutcome) => void): () => void;
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
  const listeners = new Set<(state: LiveState) => void>();
  const reconnectListeners = new Set<(outcome: CatchUpOutcome) => void>();
  const publish = (next: LiveState) => {
    state = next;
    for (const listener of listeners) listener(next);
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
    publish('live');
    if (!connectedBefore) {
      connectedBefore = true;
      void feed.start();
      return;
    }
    void feed.catchUp().then((outcome) => {
      for (const listener of reconnectListeners) listener(outcome);
    });
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
        onResult(result) {
          // Each live status change moves the position a catch-up starts from.
          const cursor = (result.data as { connectionStatusChanged?: { cursor?: string } } | undefined)?.connectionStatusChanged?.cursor;
          if (cursor) feed.seen(cursor);
        },
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

  const feed = trackEventFeed(client);

  return {
    client,
    live: () => state,
    onLive(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onReconnected(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
    dispose() {
      listeners.clear();
      reconnectListeners.clear();
      // Disposing while a connection attempt is failing rejects with that attempt's error: moot now.
      void Promise.resolve(socket.dispose()).catch(() => {});
    },
  };
}
