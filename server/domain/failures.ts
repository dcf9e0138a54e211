/**
 * Failure classification, shared by connection tests, token refreshes and reports from workers:
 * what a service's answer means for the connection. Definitive failures disconnect it with a
 * reason; transient ones (network, timeouts, 5xx, 429) are retried and disconnect nothing.
 */
import { outboundFailure, type OutboundTarget } from '../edge/outbound.js';
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
  /** How long the service asked us to wait (Retry-After), in milliseconds. */
  retryAfterMs?: number;
}

export type Failure = DefinitiveFailure | TransientFailure;

const MAX_MESSAGE = 300;

/** Trims a service message to something safe to store and show. */
export function serviceMessage(text: string | undefined | null, fallback: string): string {
  const clean = (text ?? '').replace(/\s+/g, ' ').trim();
  return (clean || fallback).slice(0, MAX_MESSAGE);
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

/**
 * Classifies an error thrown before any answer arrived. A destination the outbound guard refused
 * is definitive (it stays refused until the operator allows it); anything else (unknown name,
 * refused, reset, filtered, timeout) is transient and reads the same "Could not reach
 * <host>:<port>", so the answer does not tell open ports from closed ones.
 */
export function classifyNetworkFailure(error: unknown, target: OutboundTarget): Failure {
  const { refused, message } = outboundFailure(error, target);
  if (refused) return { kind: 'definitive', reason: 'UNKNOWN', message, destinationRefused: true };
  return { kind: 'transient', message };
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
