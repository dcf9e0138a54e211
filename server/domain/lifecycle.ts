/**
 * The connection lifecycle: connect, test, reauthenticate, revoke, for OAuth 2.0 (oauth2.ts) and
 * credential methods (API key, Basic, database login; auth-methods.ts). Credentials are verified
 * with the service before anything is written; every status change is one transaction
 * (connection, event row, data source statuses), so a crash leaves the old state or the new one.
 */
import { and, eq, inArray, isNotNull, isNull, ne, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { connections, dataSources, reconnectLinks } from '../db/schema.js';
import {
  type AvailableResource,
  type CredentialValues,
  supportsCredentials,
  validDatabasePort,
  type Verification,
  verifyCredentials,
} from './auth-methods.js';
import { type Change, recordChanges } from './changes.js';
import { type Actor, type ConnectionEventKind, recordConnectionEvent } from './connection-events.js';
import { actorOf, checkConnectionAccess, findConnection } from './connections.js';
import { readConnectionWithSealed, recordAccessTokenGrant } from './access-token-grants.js';
import { noticeDisconnection } from './notifications.js';
import { readCredentials, storeCredentials, wipeCredentials } from './credentials.js';
import { queueRevocations, revokeQueued, type SupersededRevocation } from './grant-revocations.js';
import { type Disconnect, freshTokens, isFresh } from './token-refresh.js';
import { beginOAuth1Authorization, exchangeVerifier, type OAuth1Tokens, obtainRequestToken, verifyOAuth1 } from './oauth1.js';
import type { ReasonContext } from './disconnect-reasons.js';
import type { TransientFailure } from './failures.js';
import { CredentialsRejectedError, ForbiddenError, ProviderUnavailableError, ValidationError } from './errors.js';
import {
  beginAuthorization,
  clientCredentialsToken,
  consumeAttempt,
  exchangeCode,
  type OAuthSettings,
  type OAuthTokens,
  revokeAtProvider,
  validReturnTo,
  verifyAccessToken,
} from './oauth2.js';
import { type Integration, loadIntegrations } from './integrations.js';
import { valueBeforeSuffix } from './endpoints.js';
import type { ConnectionRow, ConnectionStatus, DisconnectReason } from './types.js';
import { validName } from './validation.js';
import type { Vault } from './vault.js';
import { canUseConnection, type Viewer } from './viewer.js';

const MAX_CREDENTIAL_LENGTH = 4096;

export type { Actor } from './connection-events.js';

export { actorOf } from './connections.js';

/**
 * Moves a connection to `to` inside the caller's transaction: the row, its event, its data
 * sources (BROKEN while the connection is not ACTIVE, ACTIVE again when it is), and on a new
 * disconnection the notification rows for its owner and the account owner.
 */
export async function transition(
  tx: Database,
  connection: ConnectionRow,
  to: ConnectionStatus,
  actor: Actor,
  problem?: { reason: DisconnectReason; message: string | null },
  kind: ConnectionEventKind = 'STATUS_CHANGED',
): Promise<ConnectionRow> {
  const now = new Date().toISOString();
  const [row] = await tx
    .update(connections)
    .set({
      status: to,
      disconnectReason: to === 'DISCONNECTED' ? (problem?.reason ?? 'UNKNOWN') : null,
      errorMessage: to === 'DISCONNECTED' ? (problem?.message ?? null) : null,
      updatedAt: now,
    })
    .where(eq(connections.id, connection.id))
    .returning();
  const from = to === 'ACTIVE' ? 'BROKEN' : 'ACTIVE';
  const sources = await tx
    .update(dataSources)
    .set({ status: from === 'ACTIVE' ? 'BROKEN' : 'ACTIVE', updatedAt: now })
    .where(and(eq(dataSources.connectionId, connection.id), eq(dataSources.status, from)))
    .returning({ id: dataSources.id, status: dataSources.status });
  recordChanges(
    sources.map((source): Change => ({
      type: 'dataSource',
      accountId: connection.accountId,
      dataSourceId: source.id,
      from,
      to: source.status,
      at: now,
    })),
  );
  const event = await recordConnectionEvent(tx, row, {
    kind,
    actor,
    fromStatus: connection.status,
    toStatus: to,
    reason: to === 'DISCONNECTED' ? (problem?.reason ?? 'UNKNOWN') : null,
    message: problem?.message ?? null,
  });
  if (to === 'DISCONNECTED' && connection.status !== 'DISCONNECTED') {
    await noticeDisconnection(tx, connection, event.id);
  }
  return row;
}

/** The integration of a connection or a request, by key, in the viewer's account. */
async function integrationOf(db: Database, accountId: string, key: string): Promise<Integration> {
  const [integration] = await loadIntegrations(db, accountId, [key]);
  if (!integration) throw new ValidationError(`Unknown integration "${key}"`, 'integration');
  return integration;
}

/** Refuses methods this gateway cannot connect yet (OAuth 1.0a, client credentials, MySQL). */
function ensureCredentialMethod(integration: Integration): void {
  if (!supportsCredentials(integration)) {
    throw new ValidationError(
      `${integration.name} connects with ${integration.authMethod}, which this gateway does not accept credentials for yet`,
      'integration',
    );
  }
}

/** Checks credential values against the integration's fields: all required present, none unknown. */
function validCredentials(integration: Integration, values: Record<string, unknown> | null | undefined): CredentialValues {
  if (!values) throw new ValidationError(`${integration.name} needs credentials`, 'credentials');
  const fields = new Map(integration.credentialFields.map((field) => [field.key, field]));
  const result: CredentialValues = {};
  for (const [key, value] of Object.entries(values)) {
    if (!fields.has(key)) throw new ValidationError(`Unknown credential field "${key}"`, `credentials.${key}`);
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new ValidationError(`Credential field "${key}" must be a string`, `credentials.${key}`);
    }
    const text = String(value);
    if (text.length > MAX_CREDENTIAL_LENGTH) {
      throw new ValidationError(`Credential field "${key}" is too long`, `credentials.${key}`);
    }
    const suffix = fields.get(key)!.suffix;
    result[key] = suffix ? valueBeforeSuffix(text, suffix) : text;
  }
  for (const field of fields.values()) {
    if (field.required && !result[field.key]?.trim()) {
      throw new ValidationError(`${field.label} is required`, `credentials.${field.key}`);
    }
  }
  if (integration.authMethod === 'PROXY' && !validDatabasePort(result.port)) {
    throw new ValidationError(`Port must be a number from 1 to 65535 (got "${result.port}")`, 'credentials.port');
  }
  return result;
}

/**
 * Turns a failed verification into the error the caller sees; nothing has been written. A
 * destination the outbound guard refused is a validation error on what names it: a database
 * login's host, else the integration's endpoints. `context` picks the reason's text: 'new' for
 * credentials just entered (creating or reauthenticating: "check what you entered"), 'existing'
 * for stored ones ("reauthenticate").
 */
function rejection(
  verification: Verification & { ok: false },
  context: ReasonContext,
  integration?: Pick<Integration, 'authMethod'>,
): never {
  const { failure } = verification;
  if (failure.kind === 'definitive' && failure.destinationRefused) {
    throw new ValidationError(failure.message, integration?.authMethod === 'PROXY' ? 'credentials.host' : 'integration');
  }
  if (failure.kind === 'transient') {
    throw new ProviderUnavailableError(
      `The service could not be reached: ${failure.message}`,
      failure.retryAfterMs === undefined ? undefined : Math.ceil(failure.retryAfterMs / 1000),
      failure.reason,
      context,
    );
  }
  throw new CredentialsRejectedError(failure.reason, failure.message, context);
}

/**
 * ONE_PER_RESOURCE: a connection that becomes ACTIVE on a resource supersedes the account's other
 * live connections of that integration on the same resource. Returns the step that disconnects
 * them (and answers the rows it disconnected): the rows are locked now, before the caller's own
 * transition takes the event lock.
 */
async function lockSuperseded(
  tx: Database,
  integration: Integration,
  connection: Pick<ConnectionRow, 'id' | 'accountId' | 'integrationKey' | 'resourceId'>,
): Promise<(by: ConnectionRow) => Promise<ConnectionRow[]>> {
  if (integration.connectionPolicy !== 'ONE_PER_RESOURCE' || !connection.resourceId) return async () => [];
  const others = await tx
    .select()
    .from(connections)
    .where(
      and(
        eq(connections.accountId, connection.accountId),
        eq(connections.integrationKey, connection.integrationKey),
        eq(connections.resourceId, connection.resourceId),
        ne(connections.id, connection.id),
        inArray(connections.status, ['ACTIVE', 'PENDING']),
      ),
    )
    .orderBy(connections.id)
    .for('update');
  return async (by) => {
    const superseded: ConnectionRow[] = [];
    for (const other of others) {
      superseded.push(
        await transition(tx, other, 'DISCONNECTED', { kind: 'SYSTEM' }, {
          reason: 'SUPERSEDED',
          message: `Replaced by "${by.name}"`,
        }),
      );
    }
    return superseded;
  };
}

/** OAuth 1.0a needs a request token before anything is written; OAuth 2.0 needs none. */
async function requestTokenFor(db: Database, vault: Vault, settings: OAuthSettings, integration: Integration, accountId: string) {
  if (integration.authMethod !== 'OAUTH1') return undefined;
  const requestToken = await obtainRequestToken(db, vault, settings, integration, accountId);
  if (!requestToken.ok) rejection(requestToken, 'new');
  return requestToken.value;
}

/** Records the attempt and builds the URL the user authorizes at (OAuth 2.0 or 1.0a). */
function authorizationUrlFor(
  tx: Database,
  vault: Vault,
  settings: OAuthSettings,
  input: {
    connection: ConnectionRow;
    integration: Integration;
    viewer: Viewer;
    returnTo: string | null;
    requestToken?: { key: string; secret: string };
  },
): Promise<string> {
  const { requestToken, ...rest } = input;
  return requestToken
    ? beginOAuth1Authorization(tx, vault, { ...rest, requestToken })
    : beginAuthorization(tx, vault, settings, rest);
}

/** What a started (or reauthenticated) connection needs next. */
export interface StartResult {
  connection: ConnectionRow;
  /** OAuth: where to send the user to authorize; null when the connection is already ACTIVE. */
  authorizationUrl: string | null;
}

/** What starting a connection takes. */
export interface StartInput {
  integration: string;
  name: string;
  shared?: boolean | null;
  resourceId?: string | null;
  resourceName?: string | null;
  credentials?: Record<string, unknown> | null;
  returnTo?: string | null;
}

/**
 * Starts a connection. OAuth 2.0: a PENDING connection and the authorization URL (the callback
 * completes it). Credential methods: verified at the service first, then stored sealed and ACTIVE
 * at once; on rejection nothing is written.
 */
export async function startConnection(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  viewer: Viewer,
  input: StartInput,
): Promise<StartResult> {
  const name = validName(input.name);
  const integration = await integrationOf(db, viewer.accountId, input.integration);
  const values = {
    accountId: viewer.accountId,
    ownerId: viewer.userId,
    integrationKey: integration.key,
    customIntegrationId: integration.customId ?? null,
    name,
    shared: input.shared ?? false,
    status: 'PENDING' as const,
    resourceId: input.resourceId?.trim() || null,
    resourceName: input.resourceName?.trim() || null,
  };
  if (integration.authMethod === 'OAUTH2' || integration.authMethod === 'OAUTH1') {
    const returnTo = validReturnTo(input.returnTo, settings);
    const requestToken = await requestTokenFor(db, vault, settings, integration, viewer.accountId);
    return transaction(db, async (tx) => {
      const [created] = await tx.insert(connections).values(values).returning();
      await recordConnectionEvent(tx, created, { kind: 'CREATED', actor: actorOf(viewer), fromStatus: null });
      const authorizationUrl = await authorizationUrlFor(tx, vault, settings, {
        connection: created,
        integration,
        viewer,
        returnTo,
        requestToken,
      });
      return { connection: created, authorizationUrl };
    });
  }
  ensureCredentialMethod(integration);
  const credentialValues = validCredentials(integration, input.credentials);
  const verification = await verifyCredentials(integration, credentialValues);
  if (!verification.ok) rejection(verification, 'new', integration);
  const connection = await transaction(db, async (tx) => {
    const [created] = await tx.insert(connections).values({ ...values, lastCheckedAt: new Date().toISOString() }).returning();
    await storeCredentials(tx, vault, created, credentialValues);
    const supersede = await lockSuperseded(tx, integration, created);
    const active = await transition(tx, created, 'ACTIVE', actorOf(viewer), undefined, 'CREATED');
    await supersede(active);
    return active;
  });
  return { connection, authorizationUrl: null };
}

/** Where the OAuth callback sends the user, and what happened. */
export interface CallbackOutcome {
  connectionId: string;
  returnTo: string | null;
  status: ConnectionStatus;
  /** Why the authorization did not complete, for people; undefined on success. */
  error?: string;
  /**
   * The RFC 7009 revocations of the grants this connection superseded (ONE_PER_RESOURCE, at a
   * service that offers revocation): the first attempt, running after commit (one that fails is
   * retried by the outbox worker, domain/grant-revocations.ts); it never rejects. Undefined when none.
   */
  revocations?: Promise<SupersededRevocation[]>;
}

/**
 * Completes an OAuth authorization from the callback URL: the one-time attempt is consumed, the
 * code exchanged (state, iss, PKCE, nonce checked), the connection tested with the new access
 * token, and only then the tokens stored and the connection made ACTIVE, in one transaction.
 */
export async function completeAuthorization(db: Database, vault: Vault, settings: OAuthSettings, callback: URL): Promise<CallbackOutcome> {
  // OAuth 1.0a has no `state`: its request token plays that part.
  const state = callback.searchParams.get('state') ?? callback.searchParams.get('oauth_token');
  const attempt = await consumeAttempt(db, vault, state);
  const [connection] = await db.select().from(connections).where(eq(connections.id, attempt.connectionId));
  const integration = await integrationOf(db, attempt.accountId, connection.integrationKey);
  const actor: Actor = { kind: 'USER', userId: attempt.createdById };
  const failed = (message: string): CallbackOutcome => ({
    connectionId: connection.id,
    returnTo: attempt.returnTo,
    status: connection.status,
    error: message,
  });
  const resourceId = integration.callbackResourceParam
    ? callback.searchParams.get(integration.callbackResourceParam) ?? connection.resourceId
    : connection.resourceId;
  let tokens: OAuthTokens | OAuth1Tokens;
  if (integration.authMethod === 'OAUTH1') {
    const exchanged = await exchangeVerifier(db, vault, settings, integration, attempt, callback);
    if (!exchanged.ok) return failed(exchanged.failure.message);
    tokens = exchanged.value;
    const verified = await verifyOAuth1(db, vault, settings, integration, attempt.accountId, exchanged.value);
    if (!verified.ok) return failed(`The new authorization does not work: ${verified.failure.message}`);
  } else {
    const exchanged = await exchangeCode(db, vault, settings, integration, attempt, callback, state!);
    if (!exchanged.ok) return failed(exchanged.failure.message);
    tokens = exchanged.tokens;
    const verified = await verifyAccessToken(integration, exchanged.tokens, resourceId);
    if (!verified.ok) return failed(`The new authorization does not work: ${verified.failure.message}`);
  }
  const expiresAt = 'expiresAt' in tokens ? (tokens.expiresAt ?? null) : null;
  const lifetime = integration.tokenLifetime.refreshTokenSeconds;
  const revocable = integration.authMethod === 'OAUTH2' && Boolean(integration.endpoints.revoke);
  const { row, superseded } = await transaction(db, async (tx) => {
    const [current] = await tx.select().from(connections).where(eq(connections.id, connection.id)).for('update');
    const supersede = await lockSuperseded(tx, integration, { ...current, resourceId });
    await storeCredentials(tx, vault, current, tokens);
    const [updated] = await tx
      .update(connections)
      .set({
        resourceId,
        lastCheckedAt: new Date().toISOString(),
        accessTokenExpiresAt: expiresAt,
        reauthorizeBy: lifetime ? new Date(Date.now() + lifetime * 1000).toISOString() : null,
      })
      .where(eq(connections.id, current.id))
      .returning();
    // A sign-in on a connection that had worked before is a reauthentication; the first one is its status change from PENDING.
    const kind = current.status === 'PENDING' ? 'STATUS_CHANGED' : 'REAUTHENTICATED';
    const active =
      updated.status === 'ACTIVE'
        ? (await recordConnectionEvent(tx, updated, { kind, actor }), updated)
        : await transition(tx, updated, 'ACTIVE', actor, undefined, kind);
    // A reconnect link its owner started this sign-in from has done its work: it works once.
    if (attempt.createdById === current.ownerId) {
      await tx
        .update(reconnectLinks)
        .set({ usedAt: sql`now()` })
        .where(and(eq(reconnectLinks.connectionId, current.id), isNotNull(reconnectLinks.startedAt), isNull(reconnectLinks.usedAt), isNull(reconnectLinks.revokedAt)));
    }
    const replaced = await supersede(active);
    // Their tokens are read now (the rows are locked) and queued for revocation in this
    // transaction: revoked after commit (no HTTP call holds the transaction), retried until done.
    const withTokens: { connection: ConnectionRow; tokens: OAuthTokens }[] = [];
    for (const other of revocable ? replaced : []) {
      const tokens = await readCredentials<OAuthTokens>(tx, vault, other.id).catch(() => undefined);
      if (tokens) withTokens.push({ connection: other, tokens });
    }
    return { row: active, superseded: await queueRevocations(tx, vault, integration.key, withTokens) };
  });
  return {
    connectionId: row.id,
    returnTo: attempt.returnTo,
    status: row.status,
    revocations: superseded.length ? revokeQueued(db, vault, settings, integration, superseded) : undefined,
  };
}

/** The outcome of a connection test. */
export interface TestResult {
  connection: ConnectionRow;
  ok: boolean;
  /** Set when the failure was transient: the status did not change. */
  transientMessage?: string;
}

/**
 * Tests a connection against its service. A definitive failure disconnects it with the
 * classified reason; success repairs a DISCONNECTED one; a transient failure changes nothing
 * but `lastCheckedAt`.
 */
export async function testConnection(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  viewer: Viewer,
  id: string,
): Promise<TestResult> {
  const connection = await findConnection(db, viewer, id, 'use');
  if (connection.status === 'REVOKED' || connection.status === 'PENDING') {
    throw new ValidationError(`A ${connection.status} connection cannot be tested; reauthenticate it`, 'id');
  }
  return checkConnection(db, vault, settings, connection, actorOf(viewer));
}

/**
 * Runs a connection's verification and records the outcome in one transaction: `lastCheckedAt`,
 * and a status change for a definitive failure (or a repair). Transient failures change no
 * status; the health job counts them against its retry budget. Shared by testConnection and jobs.
 */
export async function checkConnection(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  connection: ConnectionRow,
  actor: Actor,
  onTransient?: (tx: Database, connection: ConnectionRow, failure: TransientFailure) => Promise<ConnectionRow>,
): Promise<TestResult> {
  const integration = await integrationOf(db, connection.accountId, connection.integrationKey);
  let verification: Verification;
  if (integration.authMethod === 'OAUTH2') {
    verification = await verifyOAuthConnection(db, vault, settings, integration, connection);
  } else if (integration.authMethod === 'OAUTH1') {
    const tokens = await readCredentials<OAuth1Tokens>(db, vault, connection.id);
    verification = tokens
      ? await verifyOAuth1(db, vault, settings, integration, connection.accountId, tokens)
      : { ok: false, failure: { kind: 'definitive', reason: 'INVALID_CREDENTIALS', message: 'No tokens are stored' } };
  } else {
    ensureCredentialMethod(integration);
    const values = await readCredentials<CredentialValues>(db, vault, connection.id);
    verification = values
      ? await verifyCredentials(integration, values)
      : { ok: false, failure: { kind: 'definitive', reason: 'INVALID_CREDENTIALS', message: 'No credentials are stored' } };
  }
  return transaction(db, async (tx) => {
    await tx.select({ id: connections.id }).from(connections).where(eq(connections.id, connection.id)).for('update');
    const [checked] = await tx
      .update(connections)
      .set({ lastCheckedAt: new Date().toISOString(), ...(verification.ok ? { transientFailures: 0 } : {}) })
      .where(eq(connections.id, connection.id))
      .returning();
    if (verification.ok) {
      const row = checked.status === 'DISCONNECTED' ? await transition(tx, checked, 'ACTIVE', actor) : checked;
      return { connection: row, ok: true };
    }
    const { failure } = verification;
    if (failure.kind === 'transient') {
      const row = onTransient ? await onTransient(tx, checked, failure) : checked;
      return { connection: row, ok: false, transientMessage: failure.message };
    }
    const changed = checked.status === 'ACTIVE' || checked.disconnectReason !== failure.reason;
    const row = changed
      ? await transition(tx, checked, 'DISCONNECTED', actor, { reason: failure.reason, message: failure.message })
      : checked;
    return { connection: row, ok: false };
  });
}

/** Disconnects a connection whose refresh failed definitively (inside the refresh's transaction). */
export const disconnectOnRefreshFailure: Disconnect = async (tx, connection, failure) => {
  if (connection.status === 'ACTIVE') {
    await transition(tx, connection, 'DISCONNECTED', { kind: 'SYSTEM' }, { reason: failure.reason, message: failure.message });
  }
};

/**
 * Verifies an OAuth connection with a fresh access token, refreshing once more when the service
 * answers 401 (the token may have been revoked early).
 */
async function verifyOAuthConnection(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  integration: Integration,
  connection: ConnectionRow,
): Promise<Verification> {
  const fresh = await freshTokens(db, vault, settings, integration, connection, disconnectOnRefreshFailure);
  if (!fresh.ok) return fresh;
  const verification = await verifyAccessToken(integration, fresh.tokens, connection.resourceId);
  if (verification.ok || fresh.refreshed || verification.failure.kind !== 'definitive' || verification.failure.reason !== 'INVALID_CREDENTIALS') {
    return verification;
  }
  const again = await freshTokens(db, vault, settings, integration, connection, disconnectOnRefreshFailure, { force: true });
  return again.ok ? verifyAccessToken(integration, again.tokens, connection.resourceId) : again;
}

/**
 * SERVICE tokens (partner workers) fetch a usable access token for a connection of their
 * account, refreshed first when due. Every hand-out is recorded (access_token_grants, written
 * together with the other hand-outs of the moment). A token that is fresh is handed out after one
 * read (the connection with its sealed credentials) and the shared grant insert; one that is due
 * goes through the single-flight refresh, which reads it again.
 */
export async function connectionAccessToken(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  viewer: Viewer,
  id: string,
): Promise<{ accessToken: string; expiresAt: string | null; connection: ConnectionRow }> {
  if (viewer.tokenKind !== 'SERVICE') throw new ForbiddenError('Only SERVICE tokens may fetch access tokens');
  const found = await readConnectionWithSealed(db, id);
  const connection = checkConnectionAccess(viewer, found?.row, 'use');
  const integration = await integrationOf(db, viewer.accountId, connection.integrationKey);
  if (integration.authMethod !== 'OAUTH2' && integration.authMethod !== 'OAUTH2_CLIENT_CREDENTIALS') {
    throw new ValidationError(`${integration.name} connections have no OAuth access token`, 'id');
  }
  if (connection.status !== 'ACTIVE') {
    throw new ValidationError(`The connection is ${connection.status}; reauthenticate it first`, 'id');
  }
  let tokens: OAuthTokens;
  const stored = integration.authMethod === 'OAUTH2' && found?.sealed ? vault.open<OAuthTokens>(connection.id, found.sealed) : undefined;
  if (stored && isFresh(stored)) {
    tokens = stored;
  } else {
    // Client credentials: a new app-only token per request (nothing to refresh).
    const fresh =
      integration.authMethod === 'OAUTH2_CLIENT_CREDENTIALS'
        ? await clientCredentialsToken(integration, (await readCredentials<CredentialValues>(db, vault, connection.id)) ?? {})
        : await freshTokens(db, vault, settings, integration, connection, disconnectOnRefreshFailure);
    if (!fresh.ok) rejection(fresh, 'existing');
    tokens = fresh.tokens;
  }
  await recordAccessTokenGrant(db, { accountId: connection.accountId, connectionId: connection.id, apiTokenId: viewer.tokenId });
  return { accessToken: tokens.accessToken, expiresAt: tokens.expiresAt ?? null, connection };
}

/**
 * A worker reports what its sync hit: a definitive problem disconnects the connection with that
 * reason (its data sources become BROKEN); reporting on an already-broken one changes nothing.
 */
export async function reportConnectionError(
  db: Database,
  viewer: Viewer,
  id: string,
  input: { reason: DisconnectReason; message?: string | null },
): Promise<ConnectionRow> {
  const message = input.message?.trim().slice(0, 300) || null;
  return transaction(db, async (tx) => {
    const connection = await findConnection(tx, viewer, id, 'use', { forUpdate: true });
    if (connection.status !== 'ACTIVE') return connection;
    return transition(tx, connection, 'DISCONNECTED', actorOf(viewer), { reason: input.reason, message });
  });
}

/**
 * Reauthenticates a connection (owner or admin), keeping its id so its data sources carry on.
 * OAuth: a new authorization URL (the callback swaps the tokens). Credential methods: the new
 * credentials are verified, then swapped in one transaction with the return to ACTIVE.
 */
export async function reauthenticateConnection(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  viewer: Viewer,
  id: string,
  input: { credentials?: Record<string, unknown> | null; returnTo?: string | null },
): Promise<StartResult> {
  const connection = await findConnection(db, viewer, id, 'edit');
  const integration = await integrationOf(db, viewer.accountId, connection.integrationKey);
  if (integration.authMethod === 'OAUTH2' || integration.authMethod === 'OAUTH1') {
    const returnTo = validReturnTo(input.returnTo, settings);
    const requestToken = await requestTokenFor(db, vault, settings, integration, viewer.accountId);
    const authorizationUrl = await transaction(db, (tx) =>
      authorizationUrlFor(tx, vault, settings, { connection, integration, viewer, returnTo, requestToken }),
    );
    return { connection, authorizationUrl };
  }
  ensureCredentialMethod(integration);
  const values = validCredentials(integration, input.credentials);
  const verification = await verifyCredentials(integration, values);
  if (!verification.ok) rejection(verification, 'new', integration);
  const row = await transaction(db, async (tx) => {
    const current = await findConnection(tx, viewer, id, 'edit', { forUpdate: true });
    const supersede = await lockSuperseded(tx, integration, current);
    await storeCredentials(tx, vault, current, values);
    await tx.update(connections).set({ lastCheckedAt: new Date().toISOString() }).where(eq(connections.id, id));
    const active =
      current.status === 'ACTIVE'
        ? (await recordConnectionEvent(tx, current, { kind: 'REAUTHENTICATED', actor: actorOf(viewer) }), current)
        : await transition(tx, current, 'ACTIVE', actorOf(viewer), undefined, 'REAUTHENTICATED');
    await supersede(active);
    return active;
  });
  return { connection: row, authorizationUrl: null };
}

/** The outcome of a revoke. */
export interface RevokeResult {
  connection: ConnectionRow;
  /** Whether the service confirmed the revocation. */
  providerRevoked: boolean;
  /** What happened at the service, for people. */
  providerMessage: string;
}

/**
 * Revokes a connection (owner or admin). OAuth: RFC 7009 revocation at the service first
 * (refresh token, then access token); a service that does not answer does not block the local
 * revoke. Then credentials are wiped and the status set REVOKED in one transaction.
 */
export async function revokeConnection(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  viewer: Viewer,
  id: string,
): Promise<RevokeResult> {
  const connection = await findConnection(db, viewer, id, 'manage');
  const integration = await integrationOf(db, viewer.accountId, connection.integrationKey);
  if (connection.status === 'REVOKED') {
    return { connection, providerRevoked: false, providerMessage: 'The connection was already revoked' };
  }
  let provider = {
    revoked: false,
    message: `${integration.name} has no revocation endpoint for ${integration.authMethod} credentials; delete the key or change the password there if it should stop working everywhere.`,
  };
  if (integration.authMethod === 'OAUTH2') {
    const tokens = await readCredentials<OAuthTokens>(db, vault, connection.id).catch(() => undefined);
    provider = tokens
      ? await revokeAtProvider(db, vault, settings, integration, connection, tokens)
      : { revoked: false, message: 'No tokens were stored to revoke' };
  }
  const row = await transaction(db, async (tx) => {
    const current = await findConnection(tx, viewer, id, 'manage', { forUpdate: true });
    await wipeCredentials(tx, current.id);
    return current.status === 'REVOKED' ? current : transition(tx, current, 'REVOKED', actorOf(viewer), undefined, 'REVOKED');
  });
  return { connection: row, providerRevoked: provider.revoked, providerMessage: provider.message };
}

/**
 * The resources a connection can read, listed live from the service (PROXY: the tables its login
 * may SELECT). Null for methods that cannot list them yet.
 */
export async function listAvailableResources(
  db: Database,
  vault: Vault,
  viewer: Viewer,
  connection: ConnectionRow,
): Promise<AvailableResource[] | null> {
  if (!canUseConnection(viewer, connection)) return null;
  const integration = await integrationOf(db, connection.accountId, connection.integrationKey);
  if (integration.authMethod !== 'PROXY' || connection.status !== 'ACTIVE') return null;
  const values = await readCredentials<CredentialValues>(db, vault, connection.id);
  if (!values) return null;
  const verification = await verifyCredentials(integration, values);
  if (!verification.ok) rejection(verification, 'existing', integration);
  return verification.resources ?? [];
}
