/**
 * Real live clients for tests: graphql-ws over a WebSocket and SSE over fetch, each collecting
 * what it receives, with waits that take an explicit expiry, and disposal that tests call in
 * afterAll/finally.
 */
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** What a subscription has received so far, with waits on it. */
export class Received<T = any> {
  readonly messages: T[] = [];
  error?: unknown;
  completed = false;
  private waiters: (() => void)[] = [];

  add(message: T): void {
    this.messages.push(message);
    for (const wake of this.waiters.splice(0)) wake();
  }

  finish(error?: unknown): void {
    this.error = error;
    this.completed = true;
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves once `count` messages arrived; rejects after `timeoutMs`. */
  async until(count: number, timeoutMs = 5_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} messages within ${timeoutMs} ms, got ${this.messages.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages;
  }

  /** Waits until the stream completes (or errors); rejects after `timeoutMs`. */
  async ended(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.completed) {
      if (Date.now() > deadline) throw new Error(`the subscription did not end within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** A graphql-ws client authenticated with `token`, and a subscribe that collects results. */
export function wsClient(baseUrl: string, token: string | null, onClose?: (code: number, reason: string) => void) {
  const client: Client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: false,
    // A refused socket is what some tests expect; they read it through onClose and the sinks.
    onNonLazyError: () => {},
    on: { closed: (event) => onClose?.((event as { code: number }).code, String((event as { reason: string }).reason)) },
  });
  const unsubscribes = new Set<() => void>();
  return {
    client,
    /** Subscribes; resolves once the server has acknowledged the socket. */
    subscribe<T = any>(query: string, variables: Record<string, unknown> = {}) {
      const received = new Received<T>();
      const unsubscribe = client.subscribe<T>(
        { query, variables },
        {
          next: (message) => received.add(message as T),
          error: (error) => received.finish(error),
          complete: () => received.finish(),
        },
      );
      unsubscribes.add(unsubscribe);
      return {
        received,
        unsubscribe: () => {
          unsubscribes.delete(unsubscribe);
          unsubscribe();
        },
      };
    },
    async dispose() {
      for (const unsubscribe of unsubscribes) unsubscribe();
      await client.dispose();
    },
  };
}

/** Subscribes over SSE (`Accept: text/event-stream`); `close()` aborts the request. */
export function sseSubscribe<T = any>(baseUrl: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  const received = new Received<T>();
  const abort = new AbortController();
  const ready = (async () => {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
      signal: abort.signal,
    });
    if (!response.body) throw new Error(`no SSE body (HTTP ${response.status})`);
    return response.body;
  })();
  void ready
    .then(async (body) => {
      const decoder = new TextDecoder();
      let buffer = '';
      const reader = body.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        buffer += decoder.decode(read.value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (\w+)/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === 'next' && data) received.add(JSON.parse(data) as T);
          if (event === 'complete') received.finish();
        }
      }
      received.finish();
    })
    .catch((error: unknown) => received.finish(error));
  return { received, ready, close: () => abort.abort() };
}

/** Resolves after `ms`: for asserting that nothing more arrives in a window. */
export const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
