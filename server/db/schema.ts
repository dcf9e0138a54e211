/**
 * Patchbay's tables. snake_case in SQL through `snakeCase.table` (drizzle 1.0 ignores the
 * drizzle-kit `casing` option). Every tenant table carries `account_id` so tenancy is one
 * indexed equality, never a join. Timestamps are `mode: 'string'` so connection cursors keep
 * PostgreSQL's microseconds (a `Date` would drop them and skip rows between pages).
 */
import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgEnum,
  snakeCase,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { AUTH_METHODS } from '../domain/catalog-types.js';

const table = snakeCase.table;

export const userRole = pgEnum('user_role', ['MEMBER', 'EDITOR', 'ADMIN']);
export const apiTokenKind = pgEnum('api_token_kind', ['USER', 'SERVICE']);
export const authMethod = pgEnum('auth_method', AUTH_METHODS);
export const connectionStatus = pgEnum('connection_status', [
  'PENDING',
  'ACTIVE',
  'DISCONNECTED',
  'REVOKED',
]);
export const disconnectReason = pgEnum('disconnect_reason', [
  'INVALID_CREDENTIALS',
  'INVALID_REFRESH_TOKEN',
  'INSUFFICIENT_PRIVILEGES',
  'EXPIRED_TOKEN',
  'PROVIDER_ERROR',
  'SUPERSEDED',
  'UNKNOWN',
  // Database logins and reaching a service (added later: enum values only ever append).
  'DATABASE_NOT_FOUND',
  'USER_NOT_FOUND',
  'TLS_REQUIRED',
  'HOST_UNREACHABLE',
  'HOST_NOT_FOUND',
  'TLS_CERTIFICATE',
]);
export const dataSourceStatus = pgEnum('data_source_status', ['ACTIVE', 'PAUSED', 'BROKEN']);
export const refreshRunStatus = pgEnum('refresh_run_status', ['RUNNING', 'SUCCEEDED', 'FAILED', 'ABANDONED']);
export const actorKind = pgEnum('actor_kind', ['USER', 'SERVICE', 'SYSTEM']);

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => Buffer.from(value),
});

const createdAt = () =>
  timestamp({ withTimezone: true, mode: 'string' }).notNull().defaultNow();
const at = () => timestamp({ withTimezone: true, mode: 'string' });
/** The tenant column every account-owned table carries; rows go with their account. */
const accountId = () =>
  uuid()
    .notNull()
    .references((): AnyPgColumn => accounts.id, { onDelete: 'cascade' });

/** A tenant. */
export const accounts = table('accounts', {
  id: uuid().primaryKey().defaultRandom(),
  name: text().notNull(),
  createdAt: createdAt(),
});

/** A person in one account; exactly one user per account is its owner. */
export const users = table(
  'users',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    email: text().notNull(),
    name: text().notNull(),
    role: userRole().notNull().default('MEMBER'),
    isOwner: boolean().notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('users_email_key').on(sql`lower(${t.email})`),
    index('users_account_id_idx').on(t.accountId, t.createdAt),
    uniqueIndex('users_one_owner_per_account').on(t.accountId).where(sql`${t.isOwner}`),
  ],
);

/** Bearer tokens: random, shown once, stored only as a SHA-256 hash. */
export const apiTokens = table(
  'api_tokens',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    kind: apiTokenKind().notNull().default('USER'),
    tokenHash: text().notNull(),
    /** The first characters of the token, so people can tell their tokens apart. */
    prefix: text().notNull(),
    createdAt: createdAt(),
    lastUsedAt: at(),
    revokedAt: at(),
  },
  (t) => [
    uniqueIndex('api_tokens_token_hash_key').on(t.tokenHash),
    index('api_tokens_account_id_idx').on(t.accountId, t.createdAt),
    index('api_tokens_user_id_idx').on(t.userId),
  ],
);

/** Custom integrations an admin registers for one account; built-ins live in code. */
export const integrations = table(
  'integrations',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    key: text().notNull(),
    name: text().notNull(),
    authMethod: authMethod().notNull(),
    /** Endpoints, scopes and API-key header: the IntegrationDefinition minus identity. */
    definition: jsonb().notNull().$type<Record<string, unknown>>(),
    createdById: uuid().references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('integrations_account_key').on(t.accountId, t.key),
    index('integrations_created_by_id_idx').on(t.createdById),
  ],
);

/** One user's authorization to one integration. */
export const connections = table(
  'connections',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    ownerId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    /** A built-in catalog key or the key of one of the account's custom integrations. */
    integrationKey: text().notNull(),
    customIntegrationId: uuid().references(() => integrations.id, { onDelete: 'restrict' }),
    name: text().notNull(),
    status: connectionStatus().notNull().default('PENDING'),
    disconnectReason: disconnectReason(),
    errorMessage: text(),
    shared: boolean().notNull().default(false),
    resourceId: text(),
    resourceName: text(),
    createdAt: createdAt(),
    updatedAt: createdAt(),
    lastCheckedAt: at(),
    accessTokenExpiresAt: at(),
    reauthorizeBy: at(),
    /** When the health job checks it next (spread over the period; pushed back by backoff). */
    nextCheckAt: at(),
    /** Transient failures in a row; at the retry budget the connection is disconnected. */
    transientFailures: integer().notNull().default(0),
    /** Single-flight refresh across processes: who holds the short lease, and until when. */
    refreshLeaseOwner: text(),
    refreshLeaseUntil: at(),
    /**
     * The refresh cooldown every gateway shares: no refresh request is sent to the provider before
     * this instant (its Retry-After, or the backoff after a transient failure).
     */
    refreshBlockedUntil: at(),
    /** Transient refresh failures in a row: the backoff step of the next cooldown. */
    refreshFailures: integer().notNull().default(0),
  },
  (t) => [
    index('connections_account_created_idx').on(t.accountId, t.createdAt, t.id),
    index('connections_account_status_idx').on(t.accountId, t.status),
    index('connections_account_integration_idx').on(t.accountId, t.integrationKey),
    index('connections_owner_id_idx').on(t.ownerId),
    index('connections_custom_integration_id_idx').on(t.customIntegrationId),
    index('connections_next_check_idx').on(t.status, t.nextCheckAt),
    index('connections_access_token_expiry_idx').on(t.status, t.accessTokenExpiresAt),
  ],
);

/** Encrypted credentials, kept apart from connections so no query of a connection reads them. */
export const credentials = table(
  'credentials',
  {
    connectionId: uuid()
      .primaryKey()
      .references(() => connections.id, { onDelete: 'cascade' }),
    accountId: accountId(),
    /** Which key encrypted the blob, so keys can rotate. */
    keyId: text().notNull(),
    ciphertext: bytea().notNull(),
    updatedAt: createdAt(),
  },
  (t) => [index('credentials_account_id_idx').on(t.accountId)],
);

/** A resource read through a connection. */
export const dataSources = table(
  'data_sources',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    connectionId: uuid()
      .notNull()
      .references(() => connections.id, { onDelete: 'restrict' }),
    resourceId: text().notNull(),
    name: text().notNull(),
    /** A five-field cron expression. */
    schedule: text().notNull(),
    filter: jsonb().$type<Record<string, unknown>>(),
    status: dataSourceStatus().notNull().default('ACTIVE'),
    lastRefreshedAt: at(),
    /**
     * When it is due next (refresh-dispatch.ts): the schedule's next time after the last claimed run
     * ended, so missed schedules make it due once; a new data source, "Refresh now" and an
     * abandoned run make it due at once.
     */
    nextRefreshAt: timestamp({ withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    /** The run a worker holds a lease on (claimRefreshes), and until when; null when none. */
    refreshRunId: uuid(),
    refreshLeaseUntil: at(),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [
    index('data_sources_connection_created_idx').on(t.connectionId, t.createdAt, t.id),
    index('data_sources_account_id_idx').on(t.accountId),
    index('data_sources_account_next_refresh_idx').on(t.accountId, t.nextRefreshAt),
    index('data_sources_refresh_lease_idx').on(t.refreshLeaseUntil),
  ],
);

/** One refresh of a data source. */
export const refreshRuns = table(
  'refresh_runs',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    dataSourceId: uuid()
      .notNull()
      .references(() => dataSources.id, { onDelete: 'cascade' }),
    status: refreshRunStatus().notNull().default('RUNNING'),
    startedAt: createdAt(),
    finishedAt: at(),
    rows: integer(),
    error: text(),
    /** Set on runs handed out by claimRefreshes: each progress report renews the lease by this much. */
    leaseSeconds: integer(),
  },
  (t) => [
    index('refresh_runs_data_source_started_idx').on(t.dataSourceId, t.startedAt, t.id),
    index('refresh_runs_account_id_idx').on(t.accountId),
  ],
);

/** What kind of change an event records (enum values only ever append). */
export const connectionEventKind = pgEnum('connection_event_kind', [
  /** The status changed (a refresh, a health check, a report, a superseding connection). */
  'STATUS_CHANGED',
  'CREATED',
  'RENAMED',
  'SHARED',
  'UNSHARED',
  /** New credentials or a new sign-in; a status change too when it was not ACTIVE. */
  'REAUTHENTICATED',
  /** Revoked by a person; the status change to REVOKED. */
  'REVOKED',
  'DELETED',
  'DATA_SOURCE_ADDED',
  'DATA_SOURCE_MOVED',
  'DATA_SOURCE_REMOVED',
  /** An admin or the owner asked the owner to repair it with a reconnect link; or withdrew one. */
  'RECONNECT_LINK_CREATED',
  'RECONNECT_LINK_REVOKED',
]);

/**
 * Every change of a connection, with its actor: history, audit, and the source of live messages.
 * `seq` orders an account's events by commit (insertEvent serializes them per account), so a
 * client that reconnects asks for the events after the last one it saw and misses none. Events
 * outlive their connection (no foreign key on `connection_id`): the snapshot columns keep what the
 * connection was (name, integration, owner, shared) when the event was written, so a deleted
 * connection's history stays readable and its visibility decidable. A change that is not a status
 * change has `from_status = to_status` (the status it had).
 */
export const connectionEvents = table(
  'connection_events',
  {
    id: uuid().primaryKey().defaultRandom(),
    seq: bigint({ mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    accountId: accountId(),
    connectionId: uuid().notNull(),
    kind: connectionEventKind().notNull().default('STATUS_CHANGED'),
    fromStatus: connectionStatus(),
    toStatus: connectionStatus().notNull(),
    reason: disconnectReason(),
    message: text(),
    /** What changed besides the status: old/new name, the data source and where it moved (ConnectionEventDetails). */
    details: jsonb().$type<Record<string, unknown>>(),
    /** The connection's name, integration, owner and sharing when the event was written. */
    connectionName: text(),
    integrationKey: text(),
    connectionOwnerId: uuid(),
    connectionShared: boolean(),
    actorKind: actorKind().notNull(),
    actorUserId: uuid().references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    index('connection_events_connection_created_idx').on(t.connectionId, t.createdAt, t.id),
    index('connection_events_account_created_idx').on(t.accountId, t.createdAt),
    uniqueIndex('connection_events_account_seq_key').on(t.accountId, t.seq),
    index('connection_events_actor_user_id_idx').on(t.actorUserId),
  ],
);

/** An account's OAuth app (client) for an integration; the secret is sealed by the vault. */
export const oauthApps = table(
  'oauth_apps',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    integrationKey: text().notNull(),
    clientId: text().notNull(),
    keyId: text().notNull(),
    ciphertext: bytea().notNull(),
    /** The scopes a sign-in requests through this app; null: the integration's default scopes. */
    scopes: text().array(),
    configuredById: uuid().references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [
    uniqueIndex('oauth_apps_account_integration_key').on(t.accountId, t.integrationKey),
    index('oauth_apps_configured_by_id_idx').on(t.configuredById),
  ],
);

/**
 * One authorization attempt: the one-time `state` (stored hashed), the PKCE verifier and nonce
 * (sealed), where to send the user back, and a 10-minute expiry. Used at most once.
 */
export const oauthAttempts = table(
  'oauth_attempts',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    connectionId: uuid()
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    stateHash: text().notNull(),
    keyId: text().notNull(),
    ciphertext: bytea().notNull(),
    returnTo: text(),
    createdById: uuid().references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    expiresAt: timestamp({ withTimezone: true, mode: 'string' }).notNull(),
    usedAt: at(),
  },
  (t) => [
    uniqueIndex('oauth_attempts_state_hash_key').on(t.stateHash),
    index('oauth_attempts_connection_id_idx').on(t.connectionId),
    index('oauth_attempts_created_by_id_idx').on(t.createdById),
    index('oauth_attempts_account_id_idx').on(t.accountId),
  ],
);

/**
 * A one-time, expiring link an admin (or the owner) sends a connection's owner to repair it with
 * their own login at the service. Only the token's SHA-256 is kept; the URL is shown once.
 * `startedAt`: the owner began an OAuth sign-in from it; `usedAt`: the connection came back.
 */
export const reconnectLinks = table(
  'reconnect_links',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    connectionId: uuid()
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    tokenHash: text().notNull(),
    createdById: uuid().references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    expiresAt: timestamp({ withTimezone: true, mode: 'string' }).notNull(),
    startedAt: at(),
    usedAt: at(),
    revokedAt: at(),
    revokedById: uuid().references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    uniqueIndex('reconnect_links_token_hash_key').on(t.tokenHash),
    index('reconnect_links_connection_id_idx').on(t.connectionId),
    index('reconnect_links_account_id_idx').on(t.accountId),
    index('reconnect_links_created_by_id_idx').on(t.createdById),
    index('reconnect_links_revoked_by_id_idx').on(t.revokedById),
  ],
);

export const tokenRefreshOutcome = pgEnum('token_refresh_outcome', [
  'SUCCEEDED',
  'FAILED',
  'TRANSIENT',
  /** The request was sent but its answer never arrived (reset, hard limit): the provider may have rotated the refresh token. */
  'LOST',
  /** The process refreshing died (its lease ran out unrenewed); another process took over. */
  'ABANDONED',
]);

/**
 * Every refresh attempt: started before the provider is called, finished after. A row with no
 * `finished_at` is a refresh whose response was lost (a crash mid-call): visible, not silent.
 */
export const tokenRefreshes = table(
  'token_refreshes',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    connectionId: uuid()
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    /** The process that held the lease. */
    owner: text().notNull(),
    startedAt: createdAt(),
    finishedAt: at(),
    outcome: tokenRefreshOutcome(),
    error: text(),
  },
  (t) => [
    index('token_refreshes_connection_started_idx').on(t.connectionId, t.startedAt),
    index('token_refreshes_account_id_idx').on(t.accountId),
  ],
);

/** Audit of access tokens handed to SERVICE tokens (partner workers). */
export const accessTokenGrants = table(
  'access_token_grants',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    connectionId: uuid()
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    apiTokenId: uuid()
      .notNull()
      .references(() => apiTokens.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [
    index('access_token_grants_connection_created_idx').on(t.connectionId, t.createdAt),
    index('access_token_grants_api_token_id_idx').on(t.apiTokenId),
    index('access_token_grants_account_id_idx').on(t.accountId),
  ],
);

export const notificationKind = pgEnum('notification_kind', ['CONNECTION_DISCONNECTED', 'REAUTHORIZATION_DUE']);
/** Outbox row states, shared by every outbox table (jobs/outbox.ts). */
export const notificationStatus = pgEnum('notification_status', ['PENDING', 'SENT', 'FAILED']);

/**
 * Notices to people, and the mail outbox: written in the same transaction as the change that
 * causes them, one row per recipient per incident (a disconnection event, or a reauthorization
 * deadline), so a replay or a repeated failure adds none; mailed later by the outbox worker and
 * listed in the API whether or not mail is configured.
 */
export const notifications = table(
  'notifications',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    recipientId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    connectionId: uuid()
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    /** The disconnection this notice is about (CONNECTION_DISCONNECTED). */
    eventId: uuid().references(() => connectionEvents.id, { onDelete: 'cascade' }),
    /** The reauthorization deadline this notice warns of (REAUTHORIZATION_DUE). */
    deadline: at(),
    kind: notificationKind().notNull(),
    status: notificationStatus().notNull().default('PENDING'),
    attempts: integer().notNull().default(0),
    nextAttemptAt: createdAt(),
    lastError: text(),
    createdAt: createdAt(),
    sentAt: at(),
    readAt: at(),
  },
  (t) => [
    uniqueIndex('notifications_event_recipient_key').on(t.eventId, t.recipientId),
    uniqueIndex('notifications_deadline_recipient_key').on(t.connectionId, t.deadline, t.recipientId),
    index('notifications_pending_idx').on(t.status, t.nextAttemptAt),
    index('notifications_recipient_id_idx').on(t.recipientId, t.createdAt, t.id),
    index('notifications_connection_id_idx').on(t.connectionId),
    index('notifications_account_id_idx').on(t.accountId),
  ],
);

/**
 * An account's webhook endpoint: where partners receive connection status changes, signed per
 * Standard Webhooks with a `whsec_` secret sealed by the vault (bound to the endpoint id).
 */
export const webhookEndpoints = table(
  'webhook_endpoints',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    url: text().notNull(),
    description: text(),
    enabled: boolean().notNull().default(true),
    /** Only changes of connections to these integration keys; null: every connection. */
    integrationKeys: text().array(),
    /** Why the endpoint was disabled by Patchbay (e.g. it answered 410 Gone); null when enabled or disabled by a person. */
    disabledReason: text(),
    /** Which vault key sealed the signing secret, so keys can rotate. */
    keyId: text().notNull(),
    ciphertext: bytea().notNull(),
    createdById: uuid().references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [
    index('webhook_endpoints_account_created_idx').on(t.accountId, t.createdAt, t.id),
    index('webhook_endpoints_created_by_id_idx').on(t.createdById),
  ],
);

/**
 * The secret an endpoint signed with before its last rotation, kept for a grace period so a
 * partner's receiver can deploy the new one: until `expiresAt`, deliveries carry a signature
 * with each. One per endpoint (a rotation replaces it); sealed by the vault like the current
 * secret, but bound to its own identity, so the two blobs cannot be swapped.
 */
export const webhookPreviousSecrets = table(
  'webhook_previous_secrets',
  {
    endpointId: uuid()
      .primaryKey()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    accountId: accountId(),
    /** Which vault key sealed it, so keys can rotate. */
    keyId: text().notNull(),
    ciphertext: bytea().notNull(),
    /** When deliveries stop carrying its signature; past, it is ignored (and replaced by the next rotation). */
    expiresAt: timestamp({ withTimezone: true, mode: 'string' }).notNull(),
  },
  (t) => [index('webhook_previous_secrets_account_id_idx').on(t.accountId)],
);

/**
 * The webhook outbox and delivery log: one row per endpoint per event, written in the
 * transaction of the change. `payload` is the exact body, built then, so every attempt sends the
 * same bytes under the same `webhook-id` (the row id).
 */
export const webhookDeliveries = table(
  'webhook_deliveries',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    endpointId: uuid()
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    /** The status change it announces; null for test deliveries (and once the connection is deleted). */
    eventId: uuid().references(() => connectionEvents.id, { onDelete: 'set null' }),
    /** `connection.status_changed` or `webhook.test`. */
    eventType: text().notNull(),
    payload: jsonb().notNull().$type<Record<string, unknown>>(),
    status: notificationStatus().notNull().default('PENDING'),
    attempts: integer().notNull().default(0),
    nextAttemptAt: createdAt(),
    /** What the last failed attempt hit, sanitized; never a secret. */
    lastError: text(),
    /** The HTTP status of the last attempt that got an answer. */
    responseStatus: integer(),
    deliveredAt: at(),
    createdAt: createdAt(),
  },
  (t) => [
    index('webhook_deliveries_pending_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_endpoint_created_idx').on(t.endpointId, t.createdAt, t.id),
    index('webhook_deliveries_event_id_idx').on(t.eventId),
    index('webhook_deliveries_account_id_idx').on(t.accountId),
  ],
);

/**
 * Rate-limit counters, shared by every gateway on one PostgreSQL: one row per limited key (a
 * token id, by kind) and window, in the shape rate-limiter-flexible's RateLimiterDrizzle reads and
 * writes (`key`, `points`, `expire`). Not tenant data. `expire` is a Date (the library's contract);
 * rows expired for an hour are deleted by the limiter's cleanup (server/edge/rate-limit.ts).
 */
export const rateLimits = table(
  'rate_limits',
  {
    key: text().primaryKey(),
    points: integer().notNull(),
    /** End of the key's window; null would mean never (the library allows it; Patchbay never writes it). */
    expire: timestamp({ withTimezone: true, mode: 'date' }),
  },
  (t) => [index('rate_limits_expire_idx').on(t.expire)],
);

/**
 * RFC 7009 revocations still owed to a provider for grants a new connection superseded
 * (ONE_PER_RESOURCE): an outbox (jobs/outbox.ts) written in the transaction of the supersession,
 * holding the superseded tokens sealed until the provider confirms (SENT) or refuses for good
 * (FAILED). Tried once right after commit, then retried with backoff by the outbox worker.
 */
export const grantRevocations = table(
  'grant_revocations',
  {
    id: uuid().primaryKey().defaultRandom(),
    accountId: accountId(),
    /** The superseded connection; its grant stays owed even if the connection is deleted. */
    connectionId: uuid().references(() => connections.id, { onDelete: 'set null' }),
    integrationKey: text().notNull(),
    keyId: text().notNull(),
    ciphertext: bytea().notNull(),
    status: notificationStatus().notNull().default('PENDING'),
    attempts: integer().notNull().default(0),
    nextAttemptAt: createdAt(),
    lastError: text(),
    createdAt: createdAt(),
    revokedAt: at(),
  },
  (t) => [
    index('grant_revocations_pending_idx').on(t.status, t.nextAttemptAt),
    index('grant_revocations_account_id_idx').on(t.accountId),
    index('grant_revocations_connection_id_idx').on(t.connectionId),
  ],
);
