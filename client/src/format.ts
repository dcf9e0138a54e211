/** Words and dates as the dashboard shows them. */
import cronstrue from 'cronstrue';
import type { ActorKind, AuthMethod, ConnectionStatus, DataSourceStatus, DisconnectReason, RefreshRunStatus } from './documents';

export const STATUS_LABELS: Record<ConnectionStatus, string> = {
  ACTIVE: 'Active',
  DISCONNECTED: 'Broken',
  PENDING: 'Pending',
  REVOKED: 'Revoked',
};

export const DATA_SOURCE_STATUS_LABELS: Record<DataSourceStatus, string> = {
  ACTIVE: 'Refreshing',
  BROKEN: 'Stopped',
  PAUSED: 'Paused',
};

export const RUN_STATUS_LABELS: Record<RefreshRunStatus, string> = {
  RUNNING: 'Running',
  SUCCEEDED: 'Succeeded',
  FAILED: 'Failed',
  ABANDONED: 'Abandoned',
};

export const REASON_LABELS: Record<DisconnectReason, string> = {
  INVALID_CREDENTIALS: 'Credentials rejected',
  INVALID_REFRESH_TOKEN: 'Authorization withdrawn',
  INSUFFICIENT_PRIVILEGES: 'Missing permissions',
  EXPIRED_TOKEN: 'Authorization expired',
  PROVIDER_ERROR: 'Refused by the service',
  SUPERSEDED: 'Replaced by a newer connection',
  UNKNOWN: 'Unclassified failure',
  DATABASE_NOT_FOUND: 'Database not found',
  USER_NOT_FOUND: 'Database user not found',
  TLS_REQUIRED: 'Unencrypted login refused',
  HOST_UNREACHABLE: 'Host unreachable',
  HOST_NOT_FOUND: 'Host name not found',
  TLS_CERTIFICATE: 'Certificate not trusted',
};

export const AUTH_METHOD_LABELS: Record<AuthMethod, string> = {
  OAUTH2: 'OAuth 2.0',
  OAUTH2_CLIENT_CREDENTIALS: 'OAuth 2.0 app credentials',
  OAUTH1: 'OAuth 1.0a',
  BASIC: 'Username and password',
  API_KEY: 'API key',
  PROXY: 'Database login',
};

export const ACTOR_LABELS: Record<ActorKind, string> = {
  USER: 'a user',
  SERVICE: 'a partner worker',
  SYSTEM: 'Patchbay',
};

/** Methods where the user signs in at the service (a redirect) rather than typing credentials. */
export function signsInAtService(method: AuthMethod): boolean {
  return method === 'OAUTH2' || method === 'OAUTH1';
}

/** Broken first (they need someone), then pending, working, and revoked last. */
export const STATUS_ORDER: Record<ConnectionStatus, number> = { DISCONNECTED: 0, PENDING: 1, ACTIVE: 2, REVOKED: 3 };

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

/** "3 minutes ago", "in 2 days"; "just now" under a minute. */
export function timeAgo(iso: string, now = Date.now()): string {
  const seconds = (Date.parse(iso) - now) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return 'just now';
}

export function dateTime(iso: string): string {
  return absolute.format(new Date(iso));
}

/** "1 m 12 s" between two instants; "–" while running. */
export function duration(startIso: string, endIso: string | null): string {
  if (!endIso) return '–';
  const seconds = Math.max(0, Math.round((Date.parse(endIso) - Date.parse(startIso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} m ${seconds % 60} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} m`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString()} ${count === 1 ? one : many}`;
}

/**
 * A five-field cron schedule (UTC) in words, e.g. "0 6 * * *" → "At 06:00"; null when cronstrue
 * cannot read it (the gateway's own check decides what is valid).
 */
export function scheduleInWords(cron: string): string | null {
  if (!cron.trim()) return null;
  try {
    return cronstrue.toString(cron.trim(), { use24HourTimeFormat: true, verbose: false, throwExceptionOnParseError: true });
  } catch {
    return null;
  }
}

/** Splits a list typed with commas or spaces ("read, write offline_access"). */
export function words(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}
