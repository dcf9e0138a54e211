/**
 * Failure classification, shared by connection tests, token refreshes and reports from workers:
 * what a service's answer means for the connection. Definitive failures disconnect it with a
 * reason; transient ones (network, timeouts, 5xx, 429) are retried and disconnect nothing.
 */
import { describeTarget, networkCode, outboundFailure, type OutboundTarget } from '../edge/outbound.js';
import type { DisconnectReason } from './types.js';

/** A failure that means the connection is broken until someone repairs it. */
export interface DefinitiveFailure {
  kind: 'definitive';
  reason: DisconnectReason;
  /** The service's own words, trimmed; never a credential. */
  message: string;
  /** The outbound guard refused the destination (a private address): nothing was sent. */
  destinationRefused?: true;
}

/** A failure worth retrying later. */
export interface TransientFailure {
  kind: 'transient';
  message: string;
  /**
   * What the evidence points to (an unreachable host, a name that does not resolve...): the
   * reason to give people now, and the one to record if the failure lasts past the retry budget.
   */
  reason?: DisconnectReason;
  /** How long the service asked us to wait (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  /**
   * No request was sent: the connection is in the refresh cooldown every gateway shares. Not an
   * attempt, so it counts toward no retry budget.
   */
  cooldown?: true;
}

export type Failure = DefinitiveFailure | TransientFailure;

const MAX_MESSAGE = 300;

/** Trims a service message to something safe to store and show. */
export function serviceMessage(text: string | undefined | null, fallback: string): string {
  const clean = (text ?? '').replace(/\s+/g, ' ').trim();
  return (clean || fallback).slice(0, MAX_MESSAGE);
}

/**
 * Removes secret values (a password, an API key, a client secret, tokens) from a failure's
 * message, since a service may echo what it was sent; everything else (the host, port, database
 * or user typed) stays. Values shorter than 4 characters are left, or any message would be shredded.
 */
export function withoutSecrets<F extends Failure>(failure: F, secrets: readonly (string | null | undefined)[]): F {
  let message = failure.message;
  for (const secret of secrets) if (secret && secret.length >= 4) message = message.split(secret).join('[redacted]');
  return message === failure.message ? failure : { ...failure, message };
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds from `now`. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Documented service-specific answers that mean "fix it in the service" (PROVIDER_ERROR). */
const PROVIDER_PATTERNS = [
  /subscription/i,
  /plan does not include|not available on your (current )?plan|upgrade your plan/i,
  /api (access|units?) (is |are )?(not|no longer) (enabled|available)/i,
  /api key (was |has been )?(deleted|revoked|disabled)/i,
  /account (is )?(suspended|deactivated|disabled)/i,
];

/**
 * Classifies an HTTP answer from a service's verification call or API.
 * 401 -> INVALID_CREDENTIALS; 403 / insufficient_scope -> INSUFFICIENT_PRIVILEGES, unless the
 * message names a lapsed subscription or deleted key (PROVIDER_ERROR); 402 -> PROVIDER_ERROR;
 * 408, 429, 5xx -> transient; other 4xx -> UNKNOWN.
 */
export function classifyHttpFailure(status: number, body: string, headers: Headers): Failure {
  const message = serviceMessage(extractMessage(body), `HTTP ${status}`);
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: 'transient', message, retryAfterMs: retryAfterMs(headers.get('retry-after')) };
  }
  const challenge = headers.get('www-authenticate') ?? '';
  if (PROVIDER_PATTERNS.some((pattern) => pattern.test(message))) {
    return { kind: 'definitive', reason: 'PROVIDER_ERROR', message };
  }
  if (status === 402) return { kind: 'definitive', reason: 'PROVIDER_ERROR', message };
  if (status === 403 || /insufficient_scope/.test(challenge) || /insufficient_scope/.test(body)) {
    return { kind: 'definitive', reason: 'INSUFFICIENT_PRIVILEGES', message };
  }
  if (status === 401) return { kind: 'definitive', reason: 'INVALID_CREDENTIALS', message };
  return { kind: 'definitive', reason: 'UNKNOWN', message };
}

/** Network error codes (errno, getaddrinfo, TLS) and what they are evidence of. */
const NETWORK_REASONS: Record<string, DisconnectReason> = {
  // The name does not resolve.
  ENOTFOUND: 'HOST_NOT_FOUND',
  EAI_AGAIN: 'HOST_NOT_FOUND',
  EAI_NONAME: 'HOST_NOT_FOUND',
  EAI_NODATA: 'HOST_NOT_FOUND',
  EAI_FAIL: 'HOST_NOT_FOUND',
  // Nothing answered, or it hung up: one reason, so the answer does not tell open ports from closed ones.
  ECONNREFUSED: 'HOST_UNREACHABLE',
  ETIMEDOUT: 'HOST_UNREACHABLE',
  EHOSTUNREACH: 'HOST_UNREACHABLE',
  ENETUNREACH: 'HOST_UNREACHABLE',
  EHOSTDOWN: 'HOST_UNREACHABLE',
  ECONNRESET: 'HOST_UNREACHABLE',
  EPIPE: 'HOST_UNREACHABLE',
  CONNECT_TIMEOUT: 'HOST_UNREACHABLE',
  CONNECTION_CLOSED: 'HOST_UNREACHABLE',
  CONNECTION_ENDED: 'HOST_UNREACHABLE',
  CONNECTION_DESTROYED: 'HOST_UNREACHABLE',
  PROTOCOL_CONNECTION_LOST: 'HOST_UNREACHABLE',
  UND_ERR_CONNECT_TIMEOUT: 'HOST_UNREACHABLE',
  UND_ERR_SOCKET: 'HOST_UNREACHABLE',
  TimeoutError: 'HOST_UNREACHABLE',
  // The server's certificate is not trusted.
  CERT_HAS_EXPIRED: 'TLS_CERTIFICATE',
  CERT_NOT_YET_VALID: 'TLS_CERTIFICATE',
  CERT_REVOKED: 'TLS_CERTIFICATE',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS_CERTIFICATE',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS_CERTIFICATE',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS_CERTIFICATE',
  UNABLE_TO_GET_ISSUER_CERT: 'TLS_CERTIFICATE',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS_CERTIFICATE',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS_CERTIFICATE',
};

/** What a failure to get any answer is evidence of; an unrecognised one counts as unreachable. */
export function networkReason(error: unknown): DisconnectReason {
  const code = networkCode(error);
  return (code && NETWORK_REASONS[code]) || 'HOST_UNREACHABLE';
}

/**
 * Classifies an error thrown before any answer arrived. A destination the outbound guard refused
 * is definitive (it stays refused until the operator allows it); anything else is transient, with
 * the reason its error code is evidence of: a name that does not resolve (HOST_NOT_FOUND), an
 * untrusted certificate (TLS_CERTIFICATE), or no answer (HOST_UNREACHABLE: a closed port, one
 * that drops or never answers, a reset or a timeout all read the same "Could not reach
 * <host>:<port>", so the answer does not tell open ports from closed ones).
 */
export function classifyNetworkFailure(error: unknown, target: OutboundTarget): Failure {
  const { refused, message } = outboundFailure(error, target);
  if (refused) return { kind: 'definitive', reason: 'UNKNOWN', message, destinationRefused: true };
  const reason = networkReason(error);
  if (reason === 'HOST_NOT_FOUND') return { kind: 'transient', reason, message: `Could not find the host ${target.host} (DNS)` };
  if (reason === 'TLS_CERTIFICATE') {
    return { kind: 'transient', reason, message: `The TLS certificate of ${describeTarget(target)} is not trusted (${networkCode(error)})` };
  }
  return { kind: 'transient', reason, message };
}

/** A database error's code (PostgreSQL SQLSTATE or MySQL errno), when the database itself answered. */
interface DatabaseAnswer {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  sqlMessage?: unknown;
}

/** How a PostgreSQL refusal reads: the reason, and when only its message tells cases apart, a pattern. */
type PostgresRule = { reason: DisconnectReason; when?: RegExp };

/**
 * PostgreSQL SQLSTATEs that mean the login itself is wrong or lacks rights. 28000 covers several
 * refusals that only the message tells apart, so its rules are tried in order.
 */
export const POSTGRES_LOGIN_REFUSALS: Record<string, PostgresRule[]> = {
  '3D000': [{ reason: 'DATABASE_NOT_FOUND' }],
  '28P01': [{ reason: 'INVALID_CREDENTIALS' }],
  '28000': [
    { reason: 'USER_NOT_FOUND', when: /role ".*" does not exist/ },
    { reason: 'INSUFFICIENT_PRIVILEGES', when: /is not permitted to log in|rejects connection/ },
    // hostssl only, or no line at all, for an unencrypted login (Patchbay's logins do not use TLS).
    { reason: 'TLS_REQUIRED', when: /no pg_hba\.conf entry.*no encryption/ },
    { reason: 'INSUFFICIENT_PRIVILEGES', when: /no pg_hba\.conf entry/ },
    { reason: 'INVALID_CREDENTIALS' },
  ],
  '42501': [{ reason: 'INSUFFICIENT_PRIVILEGES' }],
};

/** MySQL / MariaDB error numbers that mean the login itself is wrong or lacks rights. */
export const MYSQL_LOGIN_REFUSALS: Record<number, DisconnectReason> = {
  // ER_ACCESS_DENIED_ERROR: a wrong password and an unknown user read the same, on purpose.
  1045: 'INVALID_CREDENTIALS',
  1820: 'INVALID_CREDENTIALS', // ER_MUST_CHANGE_PASSWORD (the password expired)
  1862: 'INVALID_CREDENTIALS', // ER_MUST_CHANGE_PASSWORD_LOGIN
  1044: 'INSUFFICIENT_PRIVILEGES', // ER_DBACCESS_DENIED_ERROR
  1130: 'INSUFFICIENT_PRIVILEGES', // ER_HOST_NOT_PRIVILEGED: not from this address
  1142: 'INSUFFICIENT_PRIVILEGES', // ER_TABLEACCESS_DENIED_ERROR
  3118: 'INSUFFICIENT_PRIVILEGES', // ER_ACCOUNT_HAS_BEEN_LOCKED (MySQL)
  4151: 'INSUFFICIENT_PRIVILEGES', // ER_ACCOUNT_HAS_BEEN_LOCKED (MariaDB)
  1049: 'DATABASE_NOT_FOUND', // ER_BAD_DB_ERROR
  3159: 'TLS_REQUIRED', // ER_SECURE_TRANSPORT_REQUIRED (MySQL 5.7+, MariaDB 11.4+)
};

/** Whether the database itself answered (as opposed to a failure to reach it); its words may be shown. */
export function databaseAnswered(error: unknown): boolean {
  return (error as Error)?.name === 'PostgresError' || typeof (error as DatabaseAnswer)?.sqlMessage === 'string';
}

/**
 * Classifies a failed database login by evidence: the database's own refusal (SQLSTATE or MySQL
 * error number) is definitive with its reason and its own words (they name the database or user
 * typed, never the password); any other answer from the database is transient (too many
 * connections, starting up); no answer is a network failure.
 */
export function classifyDatabaseLoginFailure(engine: 'postgresql' | 'mysql', error: unknown, target: OutboundTarget): Failure {
  if (!databaseAnswered(error)) return classifyNetworkFailure(error, target);
  const answer = error as DatabaseAnswer;
  const text = String(answer.sqlMessage ?? answer.message ?? '');
  const message = serviceMessage(text, 'The database refused the login');
  const reason =
    engine === 'postgresql'
      ? POSTGRES_LOGIN_REFUSALS[String(answer.code)]?.find((rule) => !rule.when || rule.when.test(text))?.reason
      : MYSQL_LOGIN_REFUSALS[Number(answer.errno)];
  return reason ? { kind: 'definitive', reason, message } : { kind: 'transient', message };
}

/** Pulls a human message out of a JSON or text error body. */
function extractMessage(body: string): string {
  try {
    const json = JSON.parse(body) as Record<string, unknown>;
    const candidates = [
      json.error_description,
      (json.error as { message?: unknown })?.message,
      json.message,
      json.error,
      json.detail,
    ];
    const found = candidates.find((value) => typeof value === 'string' && value.trim());
    return typeof found === 'string' ? found : body;
  } catch {
    return body.startsWith('<') ? '' : body;
  }
}
