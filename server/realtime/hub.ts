/**
 * The live hub of one gateway instance. It publishes the changes committed here to the bus,
 * hears every instance's changes from it, loads their rows in one statement per kind per batch,
 * re-reads the subscribers' viewers (a revoked token stops at the next event), checks each
 * event against each subscriber's permissions, and executes each subscription document once per
 * group of subscribers that would see the same result, sharing the result and its JSON.
 */
import { type ExecutionResult, GraphQLError } from 'graphql';
import type { Database } from '../db/client.js';
import { viewersByTokenId } from '../domain/api-tokens.js';
import { type Change, onCommittedChanges } from '../domain/changes.js';
import { tombstoneConnection } from '../domain/connection-events.js';
import type { ConnectionEventRow, ConnectionRow, DataSourceRow, DataSourceStatus, RefreshRunRow } from '../domain/types.js';
import {
  canEditConnection,
  canEditDataSources,
  canManageConnection,
  canSeeConnection,
  canShareConnection,
  canUseConnection,
  type Viewer,
} from '../domain/viewer.js';
import { ValidationError } from '../domain/errors.js';
import type { Log } from '../log.js';
import type { ChangeBus } from './bus.js';

/**
 * A connection's event (a status change, or any other change: connectionChanged), with the
 * connection as it is now; once it is deleted, as its event remembers it (`deleted`).
 */
export interface ConnectionStatusChangePayload {
  event: ConnectionEventRow;
  connection: ConnectionRow;
  deleted?: boolean;
}

/** The payload of an event row loaded with its connection (null once deleted). */
function connectionEventPayload({
  connection,
  ...event
}: ConnectionEventRow & { connection: ConnectionRow | null }): ConnectionStatusChangePayload {
  return connection ? { event, connection } : { event, connection: tombstoneConnection(event), deleted: true };
}

/** A data source's status change, with its connection (for permissions and the payload). */
export interface DataSourceStatusChangePayload {
  dataSource: DataSourceRow;
  connection: ConnectionRow;
  previousStatus: DataSourceStatus;
  status: DataSourceStatus;
  occurredAt: string;
}

/** A refresh run recorded or updated, with its data source and connection. */
export interface RefreshRunUpdatePayload {
  refreshRun: RefreshRunRow;
  dataSource: DataSourceRow;
  connection: ConnectionRow;
  occurredAt: string;
}

/** Data sources of these integrations became due in an account; no rows, nothing per viewer. */
export interface RefreshDuePayload {
  integrationKeys: string[];
  occurredAt: string;
}

/** What each subscription field streams. */
export interface LivePayloads {
  connectionStatus: ConnectionStatusChangePayload;
  dataSourceStatus: DataSourceStatusChangePayload;
  refreshRun: RefreshRunUpdatePayload;
  refreshDue: RefreshDuePayload;
}

export type LiveKind = keyof LivePayloads;

/** Executes a subscriber's document for one event as a given viewer. */
export type ExecuteShared = (payload: unknown, viewer: Viewer) => Promise<ExecutionResult>;

/** An execution result shared by a group of subscribers, serialized at most once. */
export type SharedResult = ExecutionResult & {
  stringify(): string;
  /**
   * graphql-ws's Next message for operation `id` carrying this result, as UTF-8 bytes made once per
   * id for the whole group (clients mostly number their operations alike, so one or a few per group).
   */
  nextMessage(id: string): Buffer;
};

/**
 * Writes a shared result straight to one subscriber's socket (graphql-ws hands the hub one per
 * subscription); false when it cannot right now, and the result takes the iterator path instead.
 */
export type DirectSend = (result: SharedResult) => boolean;

/**
 * A consumer the hub pushes results to, instead of one pulling the subscription as an iterator
 * (graphql-ws's lean subscribers: no promise or iterator state per subscriber). One result at a
 * time: after receive(), the next waits in the subscription's queue until the sink calls taken().
 */
export interface LiveSink {
  /** Writes a shared result at once if it can (the socket keeps up); false to take it by receive(). */
  write(result: SharedResult): boolean;
  /** Takes one result (a shared one it could not write, or one with errors); calls `taken()` once sent. */
  receive(result: ExecutionResult): void;
  /** The subscription ended (by the hub, the client or the socket) and everything before it was taken. */
  ended(): void;
}

/** What the hub has done, for tests, /metrics and benchmarks. */
export interface HubStats {
  /** Change batches heard from the bus. */
  batches: number;
  /** Documents executed (once per event per group of alike subscribers). */
  executions: number;
  /** Shared results turned into JSON. */
  serializations: number;
  /** Results handed to subscribers. */
  deliveries: number;
  /** Of those, results written straight to the subscriber's socket (no iterator, no per-subscriber promise). */
  directSends: number;
  /** Subscriptions ended because their consumer fell too far behind. */
  slowConsumers: number;
  /** Subscribers registered like an earlier one, without Yoga (graphql-ws's lean path). */
  alike: number;
}

/** A payload handed to one subscriber, not an execution result shared with others. */
class Unshared {
  constructor(readonly payload: unknown) {}
}

function isShared(value: unknown): value is SharedResult {
  return typeof (value as SharedResult | undefined)?.stringify === 'function';
}

function isStatusPayload(value: unknown): value is Unshared & { payload: ConnectionStatusChangePayload } {
  return value instanceof Unshared && (value.payload as Partial<ConnectionStatusChangePayload>).event?.seq !== undefined;
}

/** Results a subscriber may have waiting before it counts as a slow consumer and is ended. */
export const MAX_QUEUED_RESULTS = 256;

/** Missed events a resuming subscription may replay (below the queue cap, so replay never ends it). */
export const REPLAY_LIMIT = 200;

/**
 * One subscriber of one field: an async iterator the transport pulls from. Without a shared
 * operation it yields payloads (graphql's own `subscribe` then executes them); with one, it
 * yields results the hub executed for its whole group.
 */
export class LiveSubscription implements AsyncIterableIterator<unknown> {
  operation?: { key: string; execute: ExecuteShared };
  /** Its transport's direct write, if it has one (graphql-ws does, SSE does not). */
  direct?: DirectSend;
  /** connectionStatus resumed from a cursor: events up to this seq were replayed, not sent again. */
  replayedThrough = 0;
  /**
   * Whether its field's resolver did nothing for this subscriber but read the arguments and the
   * viewer's class (see LiveTemplate): then a later subscriber of the same document, variables and
   * viewer class may be registered like it without running the resolver again.
   */
  reusable = false;
  private readonly queue: unknown[] = [];
  private waiting?: (result: IteratorResult<unknown>) => void;
  private ended = false;
  /** Its pushing consumer, if it has one instead of an iterator's (see LiveSink). */
  private sink?: LiveSink;
  /** Whether the sink holds a result it has not finished sending. */
  private sinkBusy = false;

  constructor(
    private readonly hub: LiveHub,
    readonly kind: LiveKind,
    readonly viewer: Viewer,
    /** Whether this subscriber wants the event (of its kind) and `viewer` (re-read) may see it. */
    readonly accepts: (payload: LivePayloads[LiveKind], viewer: Viewer) => boolean,
  ) {}

  /** Hands a payload or a shared result to the consumer, or queues it. */
  push(value: unknown): void {
    if (this.ended) return;
    if (this.sink) return this.offer(this.sink, value);
    // The consumer is idle (nothing queued, nothing of ours in flight), so writing to the socket now
    // keeps the order. Results with errors take the iterator path, where Yoga masks them.
    if (this.waiting && this.direct && isShared(value) && !value.errors && this.direct(value)) {
      this.hub.stats.directSends += 1;
      return;
    }
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      void this.pulled(value).then(resolve);
      return;
    }
    this.enqueue(value);
  }

  /**
   * Ends the stream with one last result carrying the reason as a typed error (both transports
   * send it, then complete), dropping whatever was still queued.
   */
  end(message: string, code: string): void {
    if (this.ended) return;
    this.queue.length = 0;
    const last = { errors: [new GraphQLError(message, { extensions: { code } })] };
    if (this.waiting) {
      this.waiting({ value: last, done: false });
      this.waiting = undefined;
    } else if (this.sink && !this.sinkBusy) {
      this.sinkBusy = true;
      this.sink.receive(last);
    } else {
      this.queue.push(last);
    }
    this.close();
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.queue.length > 0) return this.pulled(this.queue.shift());
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<unknown>> {
    const running = !this.ended;
    this.close();
    this.queue.length = 0;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = undefined;
    // A sink hears of the end once: now if idle, else when it has taken what it holds.
    if (running && this.sink && !this.sinkBusy) this.sink.ended();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Hands results to `sink` from now on (before any was pushed: see LiveHub.subscribeLike). */
  listen(sink: LiveSink): void {
    this.sink = sink;
  }

  /** The sink sent what it was handed: the next queued result goes to it, or the end if that came. */
  taken(): void {
    if (!this.sink) return;
    if (this.queue.length > 0) {
      this.sink.receive(this.queue.shift() as ExecutionResult);
      return;
    }
    this.sinkBusy = false;
    if (this.ended) this.sink.ended();
  }

  /**
   * push() for a sink: an idle sink (nothing queued, nothing in flight) is written to at once, so
   * the order holds; otherwise the result waits in the queue, with the same cap as an iterator's.
   * Only results reach a sink (its operation is shared from the start), never bare payloads.
   */
  private offer(sink: LiveSink, value: unknown): void {
    if (!this.sinkBusy && this.queue.length === 0) {
      if (isShared(value) && !value.errors && sink.write(value)) {
        this.hub.stats.directSends += 1;
        return;
      }
      this.sinkBusy = true;
      sink.receive(value as ExecutionResult);
      return;
    }
    this.enqueue(value);
  }

  /** Queues a result the consumer is not ready for; past MAX_QUEUED_RESULTS it is a slow consumer and ended. */
  private enqueue(value: unknown): void {
    this.queue.push(value);
    if (this.queue.length > MAX_QUEUED_RESULTS) {
      this.hub.stats.slowConsumers += 1;
      this.end(
        `The subscriber fell more than ${MAX_QUEUED_RESULTS} messages behind and was ended; resubscribe and catch up with connectionEvents(after:)`,
        'SLOW_CONSUMER',
      );
    }
  }

  throw(error: Error): Promise<IteratorResult<unknown>> {
    this.close();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /**
   * Puts replayed payloads (what a resuming client missed) ahead of everything queued, and drops
   * the queued live events they already cover. Called by the field's resolver before it returns,
   * so nothing has been pulled yet and everything queued is a payload.
   */
  replay(payloads: ConnectionStatusChangePayload[]): void {
    if (payloads.length === 0) return;
    this.replayedThrough = payloads[payloads.length - 1].event.seq;
    const live = this.queue.splice(0).filter((value) => !isStatusPayload(value) || value.payload.event.seq > this.replayedThrough);
    this.queue.push(...payloads.map((payload) => new Unshared(payload)), ...live);
  }

  /** A queued value as the consumer gets it: a payload queued before sharing began is executed for it alone. */
  private async pulled(value: unknown): Promise<IteratorResult<unknown>> {
    if (!(value instanceof Unshared)) return { value, done: false };
    if (!this.operation) return { value: value.payload, done: false };
    try {
      return { value: await this.operation.execute(value.payload, this.viewer), done: false };
    } catch {
      // execute() reports field errors in its result; this is the executor itself failing.
      return { value: { errors: [new GraphQLError('This change could not be sent')] }, done: false };
    }
  }

  private close(): void {
    if (this.ended) return;
    this.ended = true;
    this.hub.remove(this);
  }
}

/**
 * The part of a viewer's permissions a subscription result can depend on. Subscribers of one
 * document whose class is equal for an event get byte-identical results, so they share one
 * execution. A schema field reachable from a payload that depends on the viewer in any other way
 * must be added here.
 */
function accessClass(viewer: Viewer, connection: ConnectionRow): string {
  const flags = [
    canSeeConnection(viewer, connection),
    canUseConnection(viewer, connection),
    canManageConnection(viewer, connection),
    canEditConnection(viewer, connection),
    canShareConnection(viewer, connection),
    canEditDataSources(viewer, connection),
  ];
  return flags.map((flag) => (flag ? '1' : '0')).join('');
}

/** Attaches JSON-once serialization to a result handed to many subscribers. */
function share(result: ExecutionResult, stats: HubStats): SharedResult {
  let json: string | undefined;
  const messages = new Map<string, Buffer>();
  const stringify = () => {
    if (json === undefined) {
      stats.serializations += 1;
      json = JSON.stringify(result);
    }
    return json;
  };
  Object.defineProperty(result, 'stringify', { enumerable: false, value: stringify });
  const nextMessage = (id: string) => {
    let message = messages.get(id);
    if (!message) messages.set(id, (message = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":${stringify()}}`)));
    return message;
  };
  Object.defineProperty(result, 'nextMessage', { enumerable: false, value: nextMessage });
  return result as SharedResult;
}

/**
 * What a subscriber registered without Yoga copies from one Yoga served (graphql-ws's lean path):
 * its kind, its filter and its shared operation. The filter takes the viewer as re-read at each
 * event, so only the subscribe resolver's own work is skipped, and only for fields that say it
 * read nothing but their arguments and the viewer's class (`reusable`).
 */
export interface LiveTemplate {
  kind: LiveKind;
  accepts: LiveSubscription['accepts'];
  operation: NonNullable<LiveSubscription['operation']>;
}

/** How many subscribers are registered, by kind (the leak test reads it). */
export type SubscriberCounts = Record<LiveKind, number>;

export class LiveHub {
  readonly stats: HubStats = { batches: 0, executions: 0, serializations: 0, deliveries: 0, directSends: 0, slowConsumers: 0, alike: 0 };
  private readonly byAccount = new Map<string, Set<LiveSubscription>>();
  /** The subscription a resolver created for a request context, until the executor claims it. */
  private readonly created = new WeakMap<object, LiveSubscription>();
  /** The subscription claimed for a request context (its transport asks for it as a template). */
  private readonly claimed = new WeakMap<object, LiveSubscription>();
  /** The direct write a transport offered for a request context, until the subscription is claimed. */
  private readonly directSends = new WeakMap<object, DirectSend>();
  private readonly outbox: Change[] = [];
  private heard: Change[] = [];
  private unsubscribeBus?: () => void;
  private unsubscribeCommits?: () => void;
  /** Serializes dispatch so every subscriber sees events in the order they were heard. */
  private dispatching: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly bus: ChangeBus,
    private readonly log: Log,
  ) {}

  /** Starts publishing this instance's commits and hearing everyone's. */
  async start(): Promise<void> {
    this.unsubscribeBus = this.bus.subscribe((changes) => this.hear(changes));
    this.unsubscribeCommits = onCommittedChanges(this.db, (changes) => this.send(changes));
    await this.bus.ready();
  }

  /** Ends every subscription and stops listening. */
  async stop(): Promise<void> {
    this.unsubscribeCommits?.();
    this.unsubscribeBus?.();
    for (const subscriptions of this.byAccount.values()) {
      for (const subscription of subscriptions) void subscription.return();
    }
    await this.dispatching;
  }

  /** Registers a subscriber; `context` is the request context its resolver ran with. */
  subscribe<K extends LiveKind>(
    context: object,
    kind: K,
    viewer: Viewer,
    accepts: (payload: LivePayloads[K], viewer: Viewer) => boolean,
    options: { reusable?: boolean } = {},
  ): AsyncIterable<LivePayloads[K]> {
    // The hub only hands a subscription payloads of its own kind (or, once shared, results).
    const subscription = this.register(new LiveSubscription(this, kind, viewer, accepts as LiveSubscription['accepts']));
    subscription.reusable = options.reusable === true;
    this.created.set(context, subscription);
    return subscription as AsyncIterable<LivePayloads[K]>;
  }

  /**
   * The template a later alike subscriber may copy from the subscription Yoga started with
   * `context`: only once it is shared, while it runs, and if its resolver marked it reusable.
   */
  templateOf(context: object): LiveTemplate | undefined {
    const subscription = this.claimed.get(context);
    if (!subscription?.reusable || !subscription.operation || !this.byAccount.get(subscription.viewer.accountId)?.has(subscription)) return undefined;
    return { kind: subscription.kind, accepts: subscription.accepts, operation: subscription.operation };
  }

  /** Registers a subscriber like `template`'s for `viewer`, pushing to `sink` (graphql-ws's lean path). */
  subscribeLike(template: LiveTemplate, viewer: Viewer, sink: LiveSink): LiveSubscription {
    const subscription = new LiveSubscription(this, template.kind, viewer, template.accepts);
    subscription.operation = template.operation;
    subscription.listen(sink);
    this.stats.alike += 1;
    return this.register(subscription);
  }

  private register(subscription: LiveSubscription): LiveSubscription {
    let subscriptions = this.byAccount.get(subscription.viewer.accountId);
    if (!subscriptions) this.byAccount.set(subscription.viewer.accountId, (subscriptions = new Set()));
    subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Resumes a connectionStatus subscription after the event `afterSeq` (from a cursor): replays
   * the missed events it accepts, in commit order, ahead of live ones, and never sends an event
   * twice. Called once the subscription is registered, so an event committed while the missed
   * ones load is queued live, and the two meet without a gap. Refuses more than REPLAY_LIMIT.
   */
  async resume(stream: AsyncIterable<ConnectionStatusChangePayload>, afterSeq: number): Promise<void> {
    const subscription = stream as unknown as LiveSubscription;
    // What it replays is its own: a later subscriber with the same cursor must load its own.
    subscription.reusable = false;
    const missed: ConnectionStatusChangePayload[] = [];
    for (let seq = afterSeq; ; ) {
      const rows = await this.db.query.connectionEvents.findMany({
        where: { accountId: subscription.viewer.accountId, seq: { gt: seq } },
        with: { connection: true },
        orderBy: { seq: 'asc' },
        limit: 500,
      });
      for (const row of rows) {
        const payload = connectionEventPayload(row);
        if (subscription.accepts(payload, subscription.viewer)) missed.push(payload);
      }
      if (missed.length > REPLAY_LIMIT) {
        void subscription.return();
        throw new ValidationError(
          `More than ${REPLAY_LIMIT} changes happened since that cursor: reload, then subscribe without after`,
          'after',
        );
      }
      if (rows.length < 500) break;
      seq = rows[rows.length - 1].seq;
    }
    subscription.replay(missed);
  }

  /** Offers a direct write for the subscription that will run with `context` (graphql-ws does, before it subscribes). */
  offerDirectSend(context: object, send: DirectSend): void {
    this.directSends.set(context, send);
  }

  /** The subscription the resolver registered for `context` (once), for the shared executor. */
  claim(context: object): LiveSubscription | undefined {
    const subscription = this.created.get(context);
    this.created.delete(context);
    if (subscription) {
      subscription.direct = this.directSends.get(context);
      this.claimed.set(context, subscription);
    }
    this.directSends.delete(context);
    return subscription;
  }

  /** Unregisters a subscriber (called when its stream ends). */
  remove(subscription: LiveSubscription): void {
    const subscriptions = this.byAccount.get(subscription.viewer.accountId);
    subscriptions?.delete(subscription);
    if (subscriptions?.size === 0) this.byAccount.delete(subscription.viewer.accountId);
  }

  /** Live subscribers by kind. */
  counts(): SubscriberCounts {
    const counts: SubscriberCounts = { connectionStatus: 0, dataSourceStatus: 0, refreshRun: 0, refreshDue: 0 };
    for (const subscriptions of this.byAccount.values()) {
      for (const subscription of subscriptions) counts[subscription.kind] += 1;
    }
    return counts;
  }

  /** Collects this instance's committed changes and publishes them together on the next tick. */
  private send(changes: Change[]): void {
    const first = this.outbox.length === 0;
    this.outbox.push(...changes);
    if (!first) return;
    queueMicrotask(() => {
      const batch = this.outbox.splice(0);
      this.bus.publish(batch).catch((error: unknown) => {
        // Subscribers reconnecting with connectionEvents(after:) still get these from the table.
        this.log.error('publishing changes failed', { error: (error as Error).message, changes: batch.length });
      });
    });
  }

  /** The accounts with subscribers of `kind` here (the refreshDue clock asks only about these). */
  accountsSubscribedTo(kind: LiveKind): string[] {
    return [...this.byAccount].filter(([, subscriptions]) => [...subscriptions].some((s) => s.kind === kind)).map(([id]) => id);
  }

  /** Hands changes to this instance's subscribers only, as if heard from the bus (per-instance signals). */
  hearLocal(changes: Change[]): void {
    this.hear(changes);
  }

  /** Collects heard changes for one dispatch per tick. */
  private hear(changes: Change[]): void {
    this.stats.batches += 1;
    const first = this.heard.length === 0;
    this.heard.push(...changes.filter((change) => this.byAccount.has(change.accountId)));
    if (!first || this.heard.length === 0) return;
    setImmediate(() => {
      const batch = this.heard;
      this.heard = [];
      this.dispatching = this.dispatching
        .then(() => this.dispatch(batch))
        .catch((error: unknown) => this.log.error('live dispatch failed', { error: (error as Error).message }));
    });
  }

  /** Loads the batch's rows and viewers, then delivers event by event, in order. */
  private async dispatch(changes: Change[]): Promise<void> {
    const wanted = changes.filter((change) => this.byAccount.has(change.accountId));
    if (wanted.length === 0) return;
    const payloads = await this.load(wanted);
    const tokenIds = new Set<string>();
    for (const change of wanted) {
      for (const subscription of this.byAccount.get(change.accountId) ?? []) tokenIds.add(subscription.viewer.tokenId);
    }
    const viewers = await viewersByTokenId(this.db, [...tokenIds]);
    for (const change of wanted) {
      const payload = payloads.get(change);
      if (payload) await this.deliver(change.accountId, payload.kind, payload.value, viewers);
    }
  }

  /** Delivers one event to the subscribers of its account that want it and may see it. */
  private async deliver<K extends LiveKind>(
    accountId: string,
    kind: K,
    payload: LivePayloads[K],
    viewers: Map<string, Viewer>,
  ): Promise<void> {
    const groups = new Map<string, Map<string, { execute: ExecuteShared; viewer: Viewer; members: LiveSubscription[] }>>();
    // Subscribers of one token share a viewer object, so its access class is worked out once per event.
    const classes = new Map<Viewer, string>();
    for (const subscription of [...(this.byAccount.get(accountId) ?? [])]) {
      if (subscription.kind !== kind) continue;
      const viewer = viewers.get(subscription.viewer.tokenId);
      if (!viewer) {
        subscription.end('The API token was revoked or its user removed', 'UNAUTHENTICATED');
        continue;
      }
      if (!subscription.accepts(payload, viewer)) continue;
      if (kind === 'connectionStatus' && (payload as ConnectionStatusChangePayload).event.seq <= subscription.replayedThrough) continue;
      if (!subscription.operation) {
        // Not shared (yet): the consumer executes it, or pulled() does once sharing has begun.
        this.stats.deliveries += 1;
        subscription.push(new Unshared(payload));
        continue;
      }
      // refreshDue carries no connection: its result is the same for every SERVICE subscriber.
      const connection = (payload as { connection?: ConnectionRow }).connection;
      let access = classes.get(viewer);
      if (access === undefined) classes.set(viewer, (access = connection ? accessClass(viewer, connection) : ''));
      // By document, then access class: no key string is built per subscriber.
      let byAccess = groups.get(subscription.operation.key);
      if (!byAccess) groups.set(subscription.operation.key, (byAccess = new Map()));
      const group = byAccess.get(access);
      if (group) group.members.push(subscription);
      else byAccess.set(access, { execute: subscription.operation.execute, viewer, members: [subscription] });
    }
    await Promise.all(
      [...groups.values()].flatMap((byAccess) => [...byAccess.values()]).map(async ({ execute, viewer, members }) => {
        this.stats.executions += 1;
        const result = share(await execute(payload, viewer), this.stats);
        for (const member of members) {
          this.stats.deliveries += 1;
          member.push(result);
        }
      }),
    );
  }

  /** Loads the rows behind a batch of changes: one statement per kind present. */
  private async load(changes: Change[]): Promise<Map<Change, { kind: LiveKind; value: LivePayloads[LiveKind] }>> {
    const result = new Map<Change, { kind: LiveKind; value: LivePayloads[LiveKind] }>();
    const of = <T extends Change['type']>(type: T) => changes.filter((c): c is Extract<Change, { type: T }> => c.type === type);
    const events = of('connection');
    const sources = of('dataSource');
    const runs = of('refreshRun');
    const [eventRows, sourceRows, runRows] = await Promise.all([
      events.length
        ? this.db.query.connectionEvents.findMany({ where: { id: { in: events.map((c) => c.eventId) } }, with: { connection: true } })
        : [],
      sources.length
        ? this.db.query.dataSources.findMany({ where: { id: { in: sources.map((c) => c.dataSourceId) } }, with: { connection: true } })
        : [],
      runs.length
        ? this.db.query.refreshRuns.findMany({
            where: { id: { in: runs.map((c) => c.refreshRunId) } },
            with: { dataSource: { with: { connection: true } } },
          })
        : [],
    ]);
    const eventsById = new Map(eventRows.map((row) => [row.id, row]));
    for (const change of events) {
      const row = eventsById.get(change.eventId);
      if (!row) continue; // its account was deleted since
      result.set(change, { kind: 'connectionStatus', value: connectionEventPayload(row) });
    }
    const sourcesById = new Map(sourceRows.map((row) => [row.id, row]));
    for (const change of sources) {
      const row = sourcesById.get(change.dataSourceId);
      if (!row) continue;
      const { connection, ...dataSource } = row;
      result.set(change, {
        kind: 'dataSourceStatus',
        value: { dataSource, connection, previousStatus: change.from, status: change.to, occurredAt: change.at },
      });
    }
    for (const change of of('refreshDue')) {
      result.set(change, { kind: 'refreshDue', value: { integrationKeys: change.integrationKeys, occurredAt: change.at } });
    }
    const runsById = new Map(runRows.map((row) => [row.id, row]));
    for (const change of runs) {
      const row = runsById.get(change.refreshRunId);
      if (!row) continue;
      const {
        dataSource: { connection, ...dataSource },
        ...refreshRun
      } = row;
      result.set(change, { kind: 'refreshRun', value: { refreshRun, dataSource, connection, occurredAt: change.at } });
    }
    return result;
  }
}
