/**
 * OAuth 2.0 for connections, with oauth4webapi: authorization code + PKCE S256, a one-time state
 * bound to the attempt (10 minutes), nonce for OpenID providers, `iss` checked where the server
 * sends it, the exact redirect URI, refresh with rotated refresh tokens, RFC 7009 revocation.
 * Every request goes through the outbound address guard (edge/outbound.ts).
 */
import { createHash } from 'node:crypto';
import { and, eq, gt, inArray, isNull } from 'drizzle-orm';
import * as oauth from 'oauth4webapi';
import type { Database } from '../db/client.js';
import { oauthApps, oauthAttempts } from '../db/schema.js';
import { oauthRequestOptions, outboundFetch, urlTarget } from '../edge/outbound.js';
import type { IntegrationDefinition } from './catalog-types.js';
import { fillPlaceholders } from './endpoints.js';
import { serviceTimeoutSignal } from './service-calls.js';
import { ForbiddenError, NotFoundError, ValidationError } from './errors.js';
import { classifyHttpFailure, classifyNetworkFailure, retryAfterMs, serviceMessage, type Failure, withoutSecrets } from './failures.js';
import { type Integration, loadIntegrations } from './integrations.js';
import type { ConnectionRow } from './types.js';
import type { Vault } from './vault.js';
import { isAdmin, type Viewer } from './viewer.js';

/** How long a user has to finish signing in at the service. */
export const ATTEMPT_TTL_MS = 10 * 60_000;

/** Where OAuth servers send users back, and where Patchbay may send them afterwards. */
export interface OAuthSettings {
  /** The exact redirect URI registered with every service: `<public URL>/oauth/callback`. */
  callbackUrl: string;
  /** Origins a `returnTo` URL may have (the gateway's own origin is always allowed). */
  returnOrigins: string[];
  /** Operator-wide apps by integration key, used when an account has configured none. */
  defaultApps?: Map<string, { clientId: string; clientSecret: string }>;
  /** How long a reconnect link lasts unless its creator says otherwise (seconds). */
  reconnectLinkTtlSeconds?: number;
}

/** Tokens as stored (sealed) in a connection's credentials. */
export interface OAuthTokens {
  accessToken: string;
  refreshToken?: string;
  /** ISO instant the access token expires, when the server said. */
  expiresAt?: string;
  scope?: string;
}

/** An account's OAuth client for an integration. */
export interface OAuthApp {
  clientId: string;
  clientSecret: string;
  /** The scopes a sign-in requests; null or absent: the integration's defaults. */
  scopes?: string[] | null;
}

/** oauth4webapi options: through the outbound guard, within the service timeout. */
const requestOptions = () => oauthRequestOptions(serviceTimeoutSignal());

/** The authorization server as oauth4webapi sees it. */
export function authorizationServer(integration: IntegrationDefinition): oauth.AuthorizationServer {
  const { authorize, token, revoke } = integration.endpoints;
  if (!authorize || !token) throw new ValidationError(`${integration.name} has no OAuth endpoints`, 'integration');
  return {
    issuer: integration.issuer ?? new URL(authorize).origin,
    authorization_endpoint: authorize,
    token_endpoint: token,
    revocation_endpoint: revoke,
    authorization_response_iss_parameter_supported: integration.issuer ? true : undefined,
  };
}

function hashState(state: string): string {
  return createHash('sha256').update(state).digest('hex');
}

/** What an OAuth app's sealed secret is bound to (its row's identity). */
export const appBinding = (accountId: string, integrationKey: string) => `oauth-app:${accountId}:${integrationKey}`;
/** What an authorization attempt's sealed PKCE verifier and nonce are bound to. */
export const attemptBinding = (attemptId: string) => `oauth-attempt:${attemptId}`;

/** At most this many scopes per app, each at most this long (scopes are tokens, never free text). */
const MAX_SCOPES = 50;
const MAX_SCOPE_LENGTH = 200;

/**
 * The scopes an admin asked for, checked: 1 to 50, each 1 to 200 characters without whitespace or
 * control characters (RFC 6749 §3.3 scope-token), duplicates dropped in order; null: the defaults.
 */
export function validScopes(scopes: readonly string[] | null | undefined): string[] | null {
  if (scopes == null) return null;
  if (scopes.length < 1 || scopes.length > MAX_SCOPES) throw new ValidationError(`scopes must list 1 to ${MAX_SCOPES} scopes`, 'scopes');
  for (const scope of scopes) {
    if (scope.length < 1 || scope.length > MAX_SCOPE_LENGTH || /[\s\p{Cc}]/u.test(scope)) {
      throw new ValidationError(`Each scope must be 1 to ${MAX_SCOPE_LENGTH} characters without spaces or control characters`, 'scopes');
    }
  }
  return [...new Set(scopes)];
}

/** What configureIntegration takes: the secret may be left out only to keep the app's stored one. */
export interface ConfigureIntegrationInput {
  integration: string;
  clientId: string;
  clientSecret?: string | null;
  /** null or absent: the integration's default scopes. */
  scopes?: readonly string[] | null;
}

/**
 * Stores the account's OAuth client id, (sealed) secret and scopes for an OAuth integration
 * (admins). Without a secret the app's stored one is kept; a new app needs one.
 */
export async function configureIntegration(db: Database, vault: Vault, viewer: Viewer, input: ConfigureIntegrationInput): Promise<Integration> {
  if (!isAdmin(viewer)) throw new ForbiddenError('Only admins can configure integrations');
  const [integration] = await loadIntegrations(db, viewer.accountId, [input.integration]);
  if (!integration) throw new ValidationError(`Unknown integration "${input.integration}"`, 'integration');
  if (integration.authMethod !== 'OAUTH2' && integration.authMethod !== 'OAUTH1') {
    throw new ValidationError(`${integration.name} does not use an OAuth app`, 'integration');
  }
  const clientId = input.clientId.trim();
  if (!clientId || clientId.length > 512) throw new ValidationError('clientId must be 1 to 512 characters', 'clientId');
  if (input.clientSecret != null && (!input.clientSecret || input.clientSecret.length > 2048)) {
    throw new ValidationError('clientSecret must be 1 to 2048 characters', 'clientSecret');
  }
  const scopes = validScopes(input.scopes);
  if (scopes && integration.authMethod === 'OAUTH1') throw new ValidationError('OAuth 1.0a has no scopes', 'scopes');
  const updatedAt = new Date().toISOString();
  if (input.clientSecret == null) {
    // Keeping the secret: only an app that exists has one to keep (one statement, no read-then-write race).
    const kept = await db
      .update(oauthApps)
      .set({ clientId, scopes, configuredById: viewer.userId, updatedAt })
      .where(and(eq(oauthApps.accountId, viewer.accountId), eq(oauthApps.integrationKey, integration.key)))
      .returning({ id: oauthApps.id });
    if (!kept.length) throw new ValidationError(`clientSecret is required to set up ${integration.name}'s app`, 'clientSecret');
    return integration;
  }
  const sealed = vault.seal(appBinding(viewer.accountId, integration.key), { clientSecret: input.clientSecret });
  await db
    .insert(oauthApps)
    .values({ accountId: viewer.accountId, integrationKey: integration.key, clientId, scopes, ...sealed, configuredById: viewer.userId })
    .onConflictDoUpdate({
      target: [oauthApps.accountId, oauthApps.integrationKey],
      set: { clientId, scopes, ...sealed, configuredById: viewer.userId, updatedAt },
    });
  return integration;
}

/** What the API may show of an account's own OAuth app (never the secret). */
export interface OAuthAppSummary {
  clientId: string;
  /** null: the integration's default scopes. */
  scopes: string[] | null;
}

/** The account's own OAuth apps for these integrations, in order (null: none), in one statement. */
export async function oauthAppSummaries(db: Database, accountId: string, integrationKeys: readonly string[]): Promise<(OAuthAppSummary | null)[]> {
  const rows = await db
    .select({ key: oauthApps.integrationKey, clientId: oauthApps.clientId, scopes: oauthApps.scopes })
    .from(oauthApps)
    .where(and(eq(oauthApps.accountId, accountId), inArray(oauthApps.integrationKey, [...integrationKeys])));
  const byKey = new Map(rows.map((row) => [row.key, { clientId: row.clientId, scopes: row.scopes }]));
  return integrationKeys.map((key) => byKey.get(key) ?? null);
}

/** The account's app for an integration, as oauth4webapi's server, client and client authentication. */
async function oauthClient(db: Database, vault: Vault, accountId: string, integration: Integration, settings: OAuthSettings, known?: OAuthApp) {
  const app = known ?? (await loadApp(db, vault, accountId, integration, settings));
  const as = authorizationServer(integration);
  const client: oauth.Client = { client_id: app.clientId };
  return { as, client, auth: oauth.ClientSecretPost(app.clientSecret) };
}

/** The account's app for an integration (its secret opened), else the operator's default. */
export async function loadApp(db: Database, vault: Vault, accountId: string, integration: Integration, settings: OAuthSettings): Promise<OAuthApp> {
  const [row] = await db
    .select()
    .from(oauthApps)
    .where(and(eq(oauthApps.accountId, accountId), eq(oauthApps.integrationKey, integration.key)));
  if (!row) {
    const fallback = settings.defaultApps?.get(integration.key);
    if (fallback) return fallback;
    throw new ValidationError(
      `An admin must first configure ${integration.name}'s OAuth app (client id and secret), registering ${settings.callbackUrl} as its redirect URI`,
      'integration',
    );
  }
  const { clientSecret } = vault.open<{ clientSecret: string }>(appBinding(accountId, integration.key), row);
  return { clientId: row.clientId, clientSecret, scopes: row.scopes };
}

/** Checks a return URL against the allowlist (no open redirect). */
export function validReturnTo(returnTo: string | null | undefined, settings: OAuthSettings): string | null {
  if (!returnTo) return null;
  let url: URL;
  try {
    url = new URL(returnTo);
  } catch {
    throw new ValidationError('returnTo must be an absolute URL', 'returnTo');
  }
  const allowed = [new URL(settings.callbackUrl).origin, ...settings.returnOrigins];
  if (!allowed.includes(url.origin)) throw new ValidationError(`returnTo must be on ${allowed.join(' or ')}`, 'returnTo');
  return url.toString();
}

/** What an attempt keeps sealed until its callback: PKCE verifier and nonce, or OAuth 1.0a's request token secret. */
export interface AttemptSecret {
  codeVerifier?: string;
  nonce?: string;
  requestTokenSecret?: string;
}

/**
 * Records a one-time authorization attempt: the state (OAuth 1.0a: the request token) stored only
 * as a hash, the secret sealed, a 10-minute expiry.
 */
export async function recordAttempt(
  tx: Database,
  vault: Vault,
  input: { connection: ConnectionRow; viewer: Viewer; returnTo: string | null; state: string; secret: AttemptSecret },
): Promise<void> {
  const [attempt] = await tx
    .insert(oauthAttempts)
    .values({
      accountId: input.connection.accountId,
      connectionId: input.connection.id,
      stateHash: hashState(input.state),
      keyId: vault.currentKeyId,
      ciphertext: Buffer.alloc(0),
      returnTo: input.returnTo,
      createdById: input.viewer.userId,
      expiresAt: new Date(Date.now() + ATTEMPT_TTL_MS).toISOString(),
    })
    .returning();
  await tx
    .update(oauthAttempts)
    .set(vault.seal(attemptBinding(attempt.id), input.secret))
    .where(eq(oauthAttempts.id, attempt.id));
}

/**
 * Records a one-time attempt for `connection` inside the caller's transaction and returns the
 * authorization URL to send the user to.
 */
export async function beginAuthorization(
  tx: Database,
  vault: Vault,
  settings: OAuthSettings,
  input: { connection: ConnectionRow; integration: Integration; viewer: Viewer; returnTo: string | null },
): Promise<string> {
  const { connection, integration } = input;
  const app = await loadApp(tx, vault, connection.accountId, integration, settings);
  const as = authorizationServer(integration);
  const state = oauth.generateRandomState();
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const nonce = integration.openId ? oauth.generateRandomNonce() : undefined;
  await recordAttempt(tx, vault, { ...input, state, secret: { codeVerifier, nonce } });
  const url = new URL(as.authorization_endpoint!);
  const params = new URLSearchParams({
    ...integration.authorizationParams,
    client_id: app.clientId,
    redirect_uri: settings.callbackUrl,
    response_type: 'code',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  const scopes = app.scopes ?? integration.defaultScopes;
  if (scopes.length) params.set('scope', scopes.join(' '));
  if (nonce) params.set('nonce', nonce);
  url.search = params.toString();
  return url.toString();
}

/** A callback whose attempt was found and consumed; the rest of the flow uses these facts. */
export interface ConsumedAttempt {
  connectionId: string;
  accountId: string;
  createdById: string | null;
  returnTo: string | null;
  secret: AttemptSecret;
}

/**
 * Consumes the attempt a callback's `state` names: at most once, and only before it expires.
 * Missing, unknown, reused and expired states are all refused the same way.
 */
export async function consumeAttempt(db: Database, vault: Vault, state: string | null): Promise<ConsumedAttempt> {
  if (!state || state.length > 512) throw new NotFoundError('AuthorizationAttempt', 'This sign-in link is missing its state');
  const [attempt] = await db
    .update(oauthAttempts)
    .set({ usedAt: new Date().toISOString() })
    .where(
      and(
        eq(oauthAttempts.stateHash, hashState(state)),
        isNull(oauthAttempts.usedAt),
        gt(oauthAttempts.expiresAt, new Date().toISOString()),
      ),
    )
    .returning();
  if (!attempt) {
    throw new NotFoundError('AuthorizationAttempt', 'This sign-in link was already used, has expired, or was not issued here');
  }
  return {
    connectionId: attempt.connectionId,
    accountId: attempt.accountId,
    createdById: attempt.createdById,
    returnTo: attempt.returnTo,
    secret: vault.open<AttemptSecret>(attemptBinding(attempt.id), attempt),
  };
}

function tokensFrom(response: oauth.TokenEndpointResponse, previous?: OAuthTokens): OAuthTokens {
  return {
    accessToken: response.access_token,
    // A server that does not rotate keeps the refresh token it issued before.
    refreshToken: response.refresh_token ?? previous?.refreshToken,
    expiresAt: typeof response.expires_in === 'number' ? new Date(Date.now() + response.expires_in * 1000).toISOString() : undefined,
    scope: response.scope ?? previous?.scope,
  };
}

/**
 * The HTTP answer behind an oauth4webapi error, when the service answered at all. Checked by
 * shape: the outbound fetch's Response (undici's) need not be this realm's global class.
 */
function answerOf(error: unknown): Pick<Response, 'ok' | 'status' | 'headers'> | undefined {
  if (error instanceof oauth.ResponseBodyError) return error.response;
  const cause = error instanceof oauth.OperationProcessingError ? (error.cause as Partial<Response> | undefined) : undefined;
  return typeof cause?.status === 'number' && typeof cause.headers?.get === 'function' ? (cause as Response) : undefined;
}

/** Maps an oauth4webapi or network error (from a request to `url`) to a failure classification. */
function oauthFailure(error: unknown, url: string, refreshing: boolean, lifetimeOver: boolean): Failure {
  const failure = classifyOAuthError(error, url, refreshing, lifetimeOver);
  const answer = answerOf(error);
  // A 429 or 503 says when to come back: every gateway waits that long (token-refresh.ts).
  if (failure.kind !== 'transient') return failure;
  const wait = retryAfterMs(answer?.headers.get('retry-after') ?? null);
  return wait === undefined ? failure : { ...failure, retryAfterMs: wait };
}

function classifyOAuthError(error: unknown, url: string, refreshing: boolean, lifetimeOver: boolean): Failure {
  if (error instanceof oauth.ResponseBodyError) {
    const message = serviceMessage(error.error_description ?? error.error, error.error);
    if (error.error === 'invalid_grant') {
      return { kind: 'definitive', reason: refreshing ? (lifetimeOver ? 'EXPIRED_TOKEN' : 'INVALID_REFRESH_TOKEN') : 'INVALID_CREDENTIALS', message };
    }
    if (error.error === 'invalid_client' || error.error === 'unauthorized_client') {
      return { kind: 'definitive', reason: 'INVALID_CREDENTIALS', message };
    }
    if (error.error === 'insufficient_scope' || error.error === 'access_denied') {
      return { kind: 'definitive', reason: 'INSUFFICIENT_PRIVILEGES', message };
    }
    if (error.status >= 500 || error.status === 429) return { kind: 'transient', message };
    return { kind: 'definitive', reason: 'UNKNOWN', message };
  }
  if (error instanceof oauth.AuthorizationResponseError) {
    return {
      kind: 'definitive',
      reason: error.error === 'access_denied' ? 'INSUFFICIENT_PRIVILEGES' : 'UNKNOWN',
      message: serviceMessage(error.error_description ?? error.error, error.error),
    };
  }
  if (error instanceof oauth.OperationProcessingError || error instanceof TypeError && error.message.includes('JSON')) {
    return { kind: 'transient', message: serviceMessage((error as Error).message, 'Malformed answer from the service') };
  }
  return classifyNetworkFailure(error, urlTarget(url));
}

/** Exchanges the callback's code for tokens (validating state, iss and nonce on the way). */
export async function exchangeCode(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  integration: Integration,
  attempt: ConsumedAttempt,
  callback: URL,
  state: string,
): Promise<{ ok: true; tokens: OAuthTokens } | { ok: false; failure: Failure }> {
  const { as, client, auth } = await oauthClient(db, vault, attempt.accountId, integration, settings);
  try {
    const params = oauth.validateAuthResponse(as, client, callback.searchParams, state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      auth,
      params,
      settings.callbackUrl,
      attempt.secret.codeVerifier ?? '',
      requestOptions(),
    );
    const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: attempt.secret.nonce ?? oauth.expectNoNonce,
      requireIdToken: false,
    });
    return { ok: true, tokens: tokensFrom(result) };
  } catch (error) {
    return { ok: false, failure: oauthFailure(error, as.token_endpoint!, false, false) };
  }
}

/**
 * Network errors raised before a request can have reached the service (nothing was sent, so
 * nothing was consumed there). Any other error without an answer may have lost one.
 */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function neverSent(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return true;
  }
  return false;
}

/** A refresh's outcome; `answerLost` when the request went out but no answer came back. */
export type RefreshResult = { ok: true; tokens: OAuthTokens } | { ok: false; failure: Failure; answerLost?: boolean };

/**
 * Uses the refresh token; a rotated refresh token replaces the old one in the returned tokens.
 * `signal` bounds the request (default: the service timeout and the caller's operation); a
 * refresh that must not be thrown away passes its own, longer bound.
 */
export async function refreshTokens(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  integration: Integration,
  connection: ConnectionRow,
  tokens: OAuthTokens,
  options: { signal?: AbortSignal; /** The account's app, when the caller already read it (the background refresh's claim). */ app?: OAuthApp } = {},
): Promise<RefreshResult> {
  if (!tokens.refreshToken) {
    return { ok: false, failure: { kind: 'definitive', reason: 'EXPIRED_TOKEN', message: 'The access token expired and the service issued no refresh token' } };
  }
  const { as, client, auth } = await oauthClient(db, vault, connection.accountId, integration, settings, options.app);
  try {
    const response = await oauth.refreshTokenGrantRequest(
      as,
      client,
      auth,
      tokens.refreshToken,
      options.signal ? oauthRequestOptions(options.signal) : requestOptions(),
    );
    return { ok: true, tokens: tokensFrom(await oauth.processRefreshTokenResponse(as, client, response), tokens) };
  } catch (error) {
    const lifetimeOver = Boolean(connection.reauthorizeBy && Date.parse(connection.reauthorizeBy) <= Date.now());
    const failure = oauthFailure(error, as.token_endpoint!, true, lifetimeOver);
    // Lost: sent and never answered, or answered 200 with tokens that could not be read.
    const answer = answerOf(error);
    const answerLost = failure.kind === 'transient' && (answer ? answer.ok : !neverSent(error));
    return { ok: false, failure, answerLost };
  }
}

/** Calls the integration's verification endpoint with the access token. */
export async function verifyAccessToken(integration: IntegrationDefinition, tokens: OAuthTokens, resourceId: string | null): Promise<{ ok: true } | { ok: false; failure: Failure }> {
  const verify = integration.endpoints.verify;
  if (!verify) return { ok: true };
  // The resource fills any placeholder: QuickBooks' {realmId}, a Shopify {shop}.
  const url = resourceId ? verify.url.replace(/\{\w+\}/g, encodeURIComponent(resourceId)) : verify.url;
  try {
    const response = await outboundFetch(url, {
      method: verify.method,
      headers: { authorization: `Bearer ${tokens.accessToken}`, accept: 'application/json' },
      redirect: 'manual',
      signal: serviceTimeoutSignal(),
    });
    const body = await response.text().catch(() => '');
    if (response.ok) return { ok: true };
    // A service may echo the token it was sent.
    return { ok: false, failure: withoutSecrets(classifyHttpFailure(response.status, body, response.headers), [tokens.accessToken, tokens.refreshToken]) };
  } catch (error) {
    return { ok: false, failure: classifyNetworkFailure(error, urlTarget(url)) };
  }
}

/** RFC 7009: revokes the refresh token, then the access token. Resolves whether the service confirmed. */
export async function revokeAtProvider(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  integration: Integration,
  connection: ConnectionRow,
  tokens: OAuthTokens,
): Promise<{ revoked: boolean; message: string; /** Not confirmed, but asking again may succeed. */ transient?: boolean }> {
  if (!integration.endpoints.revoke) {
    return { revoked: false, message: `${integration.name} offers no token revocation; remove the app's access in ${integration.name} if needed` };
  }
  try {
    const { as, client, auth } = await oauthClient(db, vault, connection.accountId, integration, settings);
    for (const token of [tokens.refreshToken, tokens.accessToken]) {
      if (!token) continue;
      const response = await oauth.revocationRequest(as, client, auth, token, requestOptions());
      await oauth.processRevocationResponse(response);
    }
    return { revoked: true, message: `${integration.name} confirmed the revocation` };
  } catch (error) {
    const failure = oauthFailure(error, integration.endpoints.revoke, false, false);
    return {
      revoked: false,
      message: `${integration.name} did not confirm the revocation (${failure.message}); it was revoked here anyway`,
      transient: failure.kind === 'transient',
    };
  }
}

/**
 * OAUTH2_CLIENT_CREDENTIALS: requests an app-only access token with the connection's own client
 * id and secret (placeholders such as {tenant} in the token URL are filled from its fields).
 */
export async function clientCredentialsToken(
  integration: IntegrationDefinition,
  values: Record<string, string>,
): Promise<{ ok: true; tokens: OAuthTokens } | { ok: false; failure: Failure }> {
  const tokenUrl = integration.endpoints.token && fillPlaceholders(integration.endpoints.token, values);
  if (!tokenUrl) throw new ValidationError(`${integration.name} has no token endpoint`, 'integration');
  const as: oauth.AuthorizationServer = { issuer: integration.issuer ?? new URL(tokenUrl).origin, token_endpoint: tokenUrl };
  const client: oauth.Client = { client_id: values.clientId };
  try {
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretPost(values.clientSecret),
      integration.defaultScopes.length ? { scope: integration.defaultScopes.join(' ') } : {},
      requestOptions(),
    );
    return { ok: true, tokens: tokensFrom(await oauth.processClientCredentialsResponse(as, client, response)) };
  } catch (error) {
    return { ok: false, failure: oauthFailure(error, tokenUrl, false, false) };
  }
}
