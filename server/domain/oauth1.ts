/**
 * OAuth 1.0a (three-legged: request token, user authorization, access token) for services such as
 * Trello and X, with requests signed HMAC-SHA1 by the `oauth-1.0a` library. The request token is
 * the attempt's one-time state; its secret stays sealed until the callback.
 */
import { createHmac } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import type { Database } from '../db/client.js';
import { outboundFetch, urlTarget } from '../edge/outbound.js';
import { classifyHttpFailure, classifyNetworkFailure, type Failure } from './failures.js';
import type { Integration } from './integrations.js';
import { type ConsumedAttempt, loadApp, type OAuthSettings, recordAttempt } from './oauth2.js';
import type { ConnectionRow } from './types.js';
import type { Vault } from './vault.js';
import type { Viewer } from './viewer.js';
import { ValidationError } from './errors.js';
import { serviceTimeoutSignal } from './service-calls.js';


/** OAuth 1.0a tokens as stored (sealed). */
export interface OAuth1Tokens {
  accessToken: string;
  tokenSecret: string;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; failure: Failure };

function signer(consumer: { key: string; secret: string }) {
  return new OAuth({
    consumer,
    signature_method: 'HMAC-SHA1',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
  });
}

/** Sends a signed request; `form` parameters are signed and sent in the body. */
async function signedRequest(
  consumer: { key: string; secret: string },
  token: { key: string; secret: string } | undefined,
  method: 'GET' | 'POST',
  url: string,
  form?: Record<string, string>,
): Promise<Outcome<string>> {
  const oauth = signer(consumer);
  const header = oauth.toHeader(oauth.authorize({ url, method, data: form }, token));
  let response: Response;
  try {
    response = await outboundFetch(url, {
      method,
      headers: { ...header, accept: 'application/json', ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form ? new URLSearchParams(form) : undefined,
      redirect: 'manual',
      signal: serviceTimeoutSignal(),
    });
  } catch (error) {
    return { ok: false, failure: classifyNetworkFailure(error, urlTarget(url)) };
  }
  const body = await response.text().catch(() => '');
  if (!response.ok) return { ok: false, failure: classifyHttpFailure(response.status, body, response.headers) };
  return { ok: true, value: body };
}

async function consumerOf(db: Database, vault: Vault, accountId: string, integration: Integration, settings: OAuthSettings) {
  const app = await loadApp(db, vault, accountId, integration, settings);
  return { key: app.clientId, secret: app.clientSecret };
}

function endpoint(integration: Integration, name: 'requestToken' | 'authorize' | 'token'): string {
  const url = integration.endpoints[name];
  if (!url) throw new ValidationError(`${integration.name} has no OAuth 1.0a ${name} endpoint`, 'integration');
  return url;
}

/** Step 1: a request token bound to our exact callback URL (sent before any row is written). */
export async function obtainRequestToken(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  integration: Integration,
  accountId: string,
): Promise<Outcome<{ key: string; secret: string }>> {
  const consumer = await consumerOf(db, vault, accountId, integration, settings);
  const result = await signedRequest(consumer, undefined, 'POST', endpoint(integration, 'requestToken'), {
    oauth_callback: settings.callbackUrl,
  });
  if (!result.ok) return result;
  const answer = new URLSearchParams(result.value);
  const key = answer.get('oauth_token');
  const secret = answer.get('oauth_token_secret');
  if (!key || !secret || answer.get('oauth_callback_confirmed') !== 'true') {
    return { ok: false, failure: { kind: 'transient', message: 'The service returned no confirmed request token' } };
  }
  return { ok: true, value: { key, secret } };
}

/** Records the attempt (the request token is its state) and returns where to send the user. */
export async function beginOAuth1Authorization(
  tx: Database,
  vault: Vault,
  input: { connection: ConnectionRow; integration: Integration; viewer: Viewer; returnTo: string | null; requestToken: { key: string; secret: string } },
): Promise<string> {
  await recordAttempt(tx, vault, { ...input, state: input.requestToken.key, secret: { requestTokenSecret: input.requestToken.secret } });
  const url = new URL(endpoint(input.integration, 'authorize'));
  url.searchParams.set('oauth_token', input.requestToken.key);
  return url.toString();
}

/** Step 3: trades the verifier for the access token and secret. */
export async function exchangeVerifier(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  integration: Integration,
  attempt: ConsumedAttempt,
  callback: URL,
): Promise<Outcome<OAuth1Tokens>> {
  const requestToken = callback.searchParams.get('oauth_token')!;
  const verifier = callback.searchParams.get('oauth_verifier');
  if (!verifier) return { ok: false, failure: { kind: 'definitive', reason: 'INSUFFICIENT_PRIVILEGES', message: 'The user did not authorize the app' } };
  const consumer = await consumerOf(db, vault, attempt.accountId, integration, settings);
  const result = await signedRequest(
    consumer,
    { key: requestToken, secret: attempt.secret.requestTokenSecret ?? '' },
    'POST',
    endpoint(integration, 'token'),
    { oauth_verifier: verifier },
  );
  if (!result.ok) return result;
  const answer = new URLSearchParams(result.value);
  const accessToken = answer.get('oauth_token');
  const tokenSecret = answer.get('oauth_token_secret');
  if (!accessToken || !tokenSecret) return { ok: false, failure: { kind: 'transient', message: 'The service returned no access token' } };
  return { ok: true, value: { accessToken, tokenSecret } };
}

/** Calls the verification endpoint signed with the access token. */
export async function verifyOAuth1(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  integration: Integration,
  accountId: string,
  tokens: OAuth1Tokens,
): Promise<{ ok: true } | { ok: false; failure: Failure }> {
  const verify = integration.endpoints.verify;
  if (!verify) return { ok: true };
  const consumer = await consumerOf(db, vault, accountId, integration, settings);
  const result = await signedRequest(consumer, { key: tokens.accessToken, secret: tokens.tokenSecret }, verify.method, verify.url);
  return result.ok ? { ok: true } : result;
}
