/**
 * The change bus: carries committed changes to every gateway instance, the publishing one
 * included, so each instance's hub hears every change exactly once whichever instance made it.
 * In-process for embedded mode, PostgreSQL LISTEN/NOTIFY for instances sharing one database,
 * Redis pub/sub when REDIS_URL is set. Messages carry ids only, never rows or secrets.
 */
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { Change } from '../domain/changes.js';

/** A channel every instance publishes to and hears from. */
export interface ChangeBus {
  /** Which transport this is, for logs and /healthz. */
  readonly kind: 'memory' | 'postgres' | 'redis';
  /** Sends `changes` to every instance (this one included). */
  publish(changes: Change[]): Promise<void>;
  /** Hears every published batch; returns the unsubscribe call. */
  subscribe(listener: (changes: Change[]) => void): () => void;
  /** Resolves once the bus hears messages (the LISTEN or SUBSCRIBE is in place). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

const CHANNEL = 'patchbay_changes';

/**
 * PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; batches are split to stay well under
 * (a disconnection with hundreds of data sources is many small changes, never one big one).
 */
export const MAX_MESSAGE_BYTES = 7500;

/** Splits `changes` into JSON messages of at most MAX_MESSAGE_BYTES each. */
export function chunkMessages(changes: Change[]): string[] {
  const messages: string[] = [];
  let batch: string[] = [];
  let size = 2;
  for (const change of changes) {
    const json = JSON.stringify(change);
    if (batch.length > 0 && size + json.length + 1 > MAX_MESSAGE_BYTES) {
      messages.push(`[${batch.join(',')}]`);
      batch = [];
      size = 2;
    }
    batch.push(json);
    size += Buffer.byteLength(json) + 1;
  }
  if (batch.length > 0) messages.push(`[${batch.join(',')}]`);
  return messages;
}

/** Parses a bus message; anything else on the channel is ignored rather than trusted. */
function parseMessage(text: string): Change[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? (value as Change[]) : [];
  } catch {
    return [];
  }
}

/** Delivers to listeners without letting one listener's failure stop the others. */
function fanOut(listeners: Set<(changes: Change[]) => void>, changes: Change[]): void {
  for (const listener of listeners) {
    try {
      listener(changes);
    } catch {
      // The hub logs its own failures; the bus keeps delivering.
    }
  }
}

/** One process: what is published is heard on the next tick. */
export function createMemoryBus(): ChangeBus {
  const listeners = new Set<(changes: Change[]) => void>();
  return {
    kind: 'memory',
    publish: async (changes) => {
      queueMicrotask(() => fanOut(listeners, changes));
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ready: async () => {},
    close: async () => listeners.clear(),
  };
}

/**
 * LISTEN/NOTIFY on the gateway's PostgreSQL. postgres.js keeps the LISTEN on a dedicated
 * connection and re-issues it after a reconnect.
 */
export function createPostgresBus(url: string): ChangeBus {
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const listeners = new Set<(changes: Change[]) => void>();
  const listening = sql.listen(CHANNEL, (payload) => fanOut(listeners, parseMessage(payload)));
  // Keep the rejection observed; ready() reports it to whoever waits.
  listening.catch(() => {});
  return {
    kind: 'postgres',
    publish: async (changes) => {
      for (const message of chunkMessages(changes)) await sql.notify(CHANNEL, message);
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ready: async () => {
      await listening;
    },
    close: async () => {
      listeners.clear();
      await (await listening.catch(() => null))?.unlisten().catch(() => {});
      await sql.end({ timeout: 5 });
    },
  };
}

/**
 * Redis pub/sub: graphql-yoga's Redis event target multiplexes the subscription; publishing goes
 * straight through ioredis so a failed PUBLISH is an awaited error, not an unhandled rejection.
 */
export function createRedisBus(url: string): ChangeBus {
  const publishClient = new Redis(url, { maxRetriesPerRequest: 3 });
  const subscribeClient = new Redis(url);
  // Connection errors are retried by ioredis; without a listener they would be thrown.
  publishClient.on('error', () => {});
  subscribeClient.on('error', () => {});
  // Messages stay JSON text end to end; parseMessage validates them on the way in.
  const target = createRedisEventTarget<CustomEvent<string>>({
    publishClient,
    subscribeClient,
    serializer: { stringify: (message) => String(message), parse: (text) => text },
  });
  const handlers = new Set<(event: CustomEvent<string>) => void>();
  return {
    kind: 'redis',
    publish: async (changes) => {
      for (const message of chunkMessages(changes)) await publishClient.publish(CHANNEL, message);
    },
    subscribe: (listener) => {
      const handler = (event: CustomEvent<string>) => fanOut(new Set([listener]), parseMessage(event.detail));
      handlers.add(handler);
      target.addEventListener(CHANNEL, handler);
      return () => {
        target.removeEventListener(CHANNEL, handler);
        handlers.delete(handler);
      };
    },
    // SUBSCRIBE is idempotent: this resolves once Redis has confirmed the event target's own.
    ready: async () => {
      await subscribeClient.subscribe(CHANNEL);
    },
    close: async () => {
      for (const handler of handlers) target.removeEventListener(CHANNEL, handler);
      handlers.clear();
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
