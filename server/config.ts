/** Environment -> typed Config. The one place that reads process.env for settings. */
import path from 'node:path';
import { DEFAULT_SESSION_TIMEOUTS, type SessionTimeouts } from './db/client.js';
import { DEFAULT_WARNING_DAYS } from './domain/notifications.js';
import { Vault } from './domain/vault.js';
import { DEFAULT_LATE_AFTER_MS } from './domain/refresh-dispatch.js';
import { DEFAULT_RECONNECT_LINK_TTL_SECONDS, RECONNECT_LINK_TTL_RANGE } from './domain/reconnect-links.js';
import { DEFAULT_LIMITS } from './edge/limits.js';
import type { EdgeSettings } from './edge/requests.js';
import { invalidCidr } from './edge/outbound.js';
import { DEFAULT_EXECUTION_TIMEOUT_MS } from './edge/timeouts.js';
import { DEFAULT_RATE_LIMITS, type RateLimit, type RateLimitSettings } from './edge/rate-limit.js';

export interface Config {
  /** TCP port of the HTTP server (0 picks a free one). */
  port: number;
  /** Interface to bind. */
  host: string;
  /** PostgreSQL URL; when absent Patchbay runs on embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** Redis URL: when set, live changes cross instances over Redis pub/sub instead of LISTEN/NOTIFY. */
  redisUrl?: string;
  /** Where embedded mode keeps its database (and, later, its generated secret key). */
  dataDir: string;
  /** Public base URL, used for links printed at start and OAuth callbacks. */
  publicUrl?: string;
  /** Seed the demo account on first start (default: on for PGlite, off for PostgreSQL). */
  seedDemo: boolean;
  /** Origins an OAuth `returnTo` may point at (PATCHBAY_RETURN_ORIGINS, comma-separated). */
  returnOrigins: string[];
  /** How long a reconnect link lasts unless its creator says (PATCHBAY_RECONNECT_LINK_TTL_SECONDS, default 7 days). */
  reconnectLinkTtlSeconds: number;
  /** Credential keys ("id:base64,..."); required with DATABASE_URL, else kept in the data dir. */
  secretKey?: string;
  /**
   * Operator-wide OAuth apps: PATCHBAY_OAUTH_<KEY>_CLIENT_ID / _CLIENT_SECRET, where <KEY> is the
   * integration key in upper case with "_" for "-" (e.g. PATCHBAY_OAUTH_QUICKBOOKS_ONLINE_CLIENT_ID).
   */
  defaultOAuthApps: Map<string, { clientId: string; clientSecret: string }>;
  /** Health checks: how often each ACTIVE connection is checked (PATCHBAY_CHECK_PERIOD_MS, default a day). */
  checkPeriodMs: number;
  /** Refresh access tokens this long before they expire (PATCHBAY_REFRESH_MARGIN_MS, default 5 minutes). */
  refreshMarginMs: number;
  /** Token refreshes the background job runs at once in this process (PATCHBAY_REFRESH_CONCURRENCY, default 48). */
  refreshConcurrency: number;
  /** How long to wait for a third-party service before a call counts as a timeout. */
  serviceTimeoutMs: number;
  /** Run the background refresh and health-check jobs in this process (PATCHBAY_JOBS, default on). */
  jobs: boolean;
  /** SMTP server for notices (SMTP_URL, smtp:// or smtps://, credentials in the URL); without it notices are only listed in the API. */
  smtpUrl?: string;
  /** The From address of notice mail (SMTP_FROM). */
  smtpFrom: string;
  /** Warn this many days ahead of a known reauthorization deadline (PATCHBAY_REAUTHORIZE_WARNING_DAYS, default 14). */
  reauthorizeWarningDays: number;
  /**
   * Non-public ranges (private, loopback, link-local...) that calls made on a user's behalf may
   * reach, and over plain http (PATCHBAY_ALLOW_PRIVATE_HOSTS, comma-separated CIDR; default none).
   */
  allowPrivateHosts: string[];
  /**
   * Deprecated (use PATCHBAY_ALLOW_PRIVATE_HOSTS): webhooks may reach every non-public address, and
   * over plain http (PATCHBAY_WEBHOOK_ALLOW_PRIVATE, default off).
   */
  webhookAllowPrivate: boolean;
  /**
   * Refresh dispatch: how often expired leases are ended and refreshDue subscribers told of new due
   * work (PATCHBAY_REFRESH_DISPATCH_INTERVAL_MS, default 5000), and how long a due data source may
   * wait for a worker before it shows as late (PATCHBAY_REFRESH_LATE_AFTER_MS, default 600000).
   */
  refreshDispatch: { intervalMs: number; lateAfterMs: number };
  /** How often the outbox worker looks for due deliveries besides being woken by commits (PATCHBAY_OUTBOX_INTERVAL_MS). */
  outboxIntervalMs: number;
  /**
   * Rate limits (`<operations>/<window>`, 0 = none): per API token by kind (PATCHBAY_RATE_LIMIT_USER,
   * PATCHBAY_RATE_LIMIT_SERVICE), and failed authentications per client address
   * (PATCHBAY_RATE_LIMIT_FAILED_AUTH, off by default).
   */
  rateLimits: RateLimitSettings;
  /** Log level for the gateway's own log lines. */
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /**
   * The edge: production mode (NODE_ENV=production or PATCHBAY_PRODUCTION), GraphiQL and
   * introspection (PATCHBAY_GRAPHIQL, PATCHBAY_INTROSPECTION; off in production unless set), CORS
   * origins (PATCHBAY_CORS_ORIGINS) and document limits (PATCHBAY_MAX_QUERY_COST, _DEPTH).
   */
  edge: EdgeSettings;
  /** Bearer token /metrics requires (PATCHBAY_METRICS_TOKEN); without it production serves /metrics to loopback only. */
  metricsToken?: string;
  /**
   * How long work may take: each database statement (PATCHBAY_STATEMENT_TIMEOUT_MS, default 5000),
   * a wait for a lock (PATCHBAY_LOCK_TIMEOUT_MS, default 2000), and a GraphQL query or mutation
   * (PATCHBAY_EXECUTION_TIMEOUT_MS, default 15000).
   */
  timeouts: SessionTimeouts & { executionMs: number };
}

/** A setting that is present but unusable; the message names the variable and the fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function integerSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function booleanSetting(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function urlSetting(env: NodeJS.ProcessEnv, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got "${url.protocol}"`);
  }
  return raw;
}

function cidrListSetting(env: NodeJS.ProcessEnv, name: string): string[] {
  const entries = (env[name] ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) {
    const problem = invalidCidr(entry);
    if (problem) throw new ConfigError(`${name} must be a comma-separated list of CIDR ranges: ${problem} (example: 127.0.0.0/8,::1/128,10.0.0.0/8)`);
  }
  return entries;
}

const WINDOW_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** `<operations>/<window>` (`600/60s`, `600/1m`, `50/s`; window in s, m or h, up to 24h), or `0` for no limit. */
function rateLimitSetting(env: NodeJS.ProcessEnv, name: string, fallback: RateLimit | null): RateLimit | null {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (raw === '0') return null;
  const match = /^(\d+)\s*\/\s*(\d*)\s*([smh])$/.exec(raw);
  const points = Number(match?.[1]);
  const durationSeconds = (match?.[2] ? Number(match[2]) : 1) * (WINDOW_UNITS[match?.[3] ?? ''] ?? 0);
  if (!match || points < 1 || points > 1_000_000 || durationSeconds < 1 || durationSeconds > 86_400) {
    throw new ConfigError(
      `${name} must be <operations>/<window> with the window in s, m or h (at most 24h), like 600/60s, or 0 for no limit; got "${raw}"`,
    );
  }
  return { points, durationSeconds };
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

function oauthAppSettings(env: NodeJS.ProcessEnv): Map<string, { clientId: string; clientSecret: string }> {
  const apps = new Map<string, { clientId: string; clientSecret: string }>();
  for (const [name, clientId] of Object.entries(env)) {
    const match = /^PATCHBAY_OAUTH_([A-Z0-9_]+)_CLIENT_ID$/.exec(name);
    if (!match || !clientId) continue;
    const clientSecret = env[`PATCHBAY_OAUTH_${match[1]}_CLIENT_SECRET`];
    if (!clientSecret) throw new ConfigError(`${name} is set but PATCHBAY_OAUTH_${match[1]}_CLIENT_SECRET is not`);
    apps.set(match[1].toLowerCase().replace(/_/g, '-'), { clientId, clientSecret });
  }
  return apps;
}

function originList(env: NodeJS.ProcessEnv, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean)
    .map((origin) => {
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        throw new ConfigError(`${name} has an invalid origin "${origin}" (expected e.g. https://app.example.com)`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new ConfigError(`${name} has an invalid origin "${origin}" (expected e.g. https://app.example.com)`);
      }
      return url.origin;
    });
}

function edgeSettings(env: NodeJS.ProcessEnv): EdgeSettings {
  const production = booleanSetting(env, 'PATCHBAY_PRODUCTION', env.NODE_ENV === 'production');
  return {
    production,
    graphiql: booleanSetting(env, 'PATCHBAY_GRAPHIQL', !production),
    corsOrigins: originList(env, 'PATCHBAY_CORS_ORIGINS'),
    document: {
      introspection: booleanSetting(env, 'PATCHBAY_INTROSPECTION', !production),
      limits: {
        ...DEFAULT_LIMITS,
        maxCost: integerSetting(env, 'PATCHBAY_MAX_QUERY_COST', DEFAULT_LIMITS.maxCost, 100, 10_000_000),
        maxDepth: integerSetting(env, 'PATCHBAY_MAX_QUERY_DEPTH', DEFAULT_LIMITS.maxDepth, 3, 50),
      },
    },
  };
}

/** The timeout settings; a lock timeout at or above the statement timeout could never fire. */
function timeoutSettings(env: NodeJS.ProcessEnv): Config['timeouts'] {
  const statementMs = integerSetting(env, 'PATCHBAY_STATEMENT_TIMEOUT_MS', DEFAULT_SESSION_TIMEOUTS.statementMs, 100, 600_000);
  const lockMs = integerSetting(env, 'PATCHBAY_LOCK_TIMEOUT_MS', DEFAULT_SESSION_TIMEOUTS.lockMs, 100, 600_000);
  if (lockMs >= statementMs) {
    throw new ConfigError(
      `PATCHBAY_LOCK_TIMEOUT_MS (${lockMs}) must be less than PATCHBAY_STATEMENT_TIMEOUT_MS (${statementMs}): a statement is cancelled at the statement timeout, lock waits included`,
    );
  }
  const executionMs = integerSetting(env, 'PATCHBAY_EXECUTION_TIMEOUT_MS', DEFAULT_EXECUTION_TIMEOUT_MS, 100, 600_000);
  return { statementMs, lockMs, executionMs };
}

/**
 * PATCHBAY_SECRET_KEY, checked before anything is opened: a list of `id:base64` entries of 32
 * random bytes each, the first sealing; an unusable one names the variable and the format.
 */
function secretKeySetting(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.PATCHBAY_SECRET_KEY;
  if (!raw) return undefined;
  try {
    Vault.fromKeyList(raw);
  } catch (error) {
    throw new ConfigError(
      `PATCHBAY_SECRET_KEY is not a usable key list (${(error as Error).message}): expected comma-separated id:base64 entries of 32 random bytes, the first one sealing, e.g. k2:$(openssl rand -base64 32)`,
    );
  }
  return raw;
}

/** Reads the configuration from the environment; throws ConfigError on a bad value. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = (env.LOG_LEVEL ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }
  if (env.DATABASE_URL && !env.PATCHBAY_SECRET_KEY) {
    throw new ConfigError(
      'PATCHBAY_SECRET_KEY is required with DATABASE_URL (32 random bytes, base64: openssl rand -base64 32)',
    );
  }
  return {
    port: integerSetting(env, 'PORT', 4000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    databaseUrl: urlSetting(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: urlSetting(env, 'REDIS_URL', ['redis:', 'rediss:']),
    dataDir: path.resolve(env.PATCHBAY_DATA_DIR || '.data'),
    publicUrl: urlSetting(env, 'PUBLIC_URL', ['http:', 'https:']),
    seedDemo: booleanSetting(env, 'PATCHBAY_SEED_DEMO', !env.DATABASE_URL),
    secretKey: secretKeySetting(env),
    jobs: booleanSetting(env, 'PATCHBAY_JOBS', true),
    allowPrivateHosts: cidrListSetting(env, 'PATCHBAY_ALLOW_PRIVATE_HOSTS'),
    webhookAllowPrivate: booleanSetting(env, 'PATCHBAY_WEBHOOK_ALLOW_PRIVATE', false),
    outboxIntervalMs: integerSetting(env, 'PATCHBAY_OUTBOX_INTERVAL_MS', 10_000, 1_000, 3_600_000),
    refreshDispatch: {
      intervalMs: integerSetting(env, 'PATCHBAY_REFRESH_DISPATCH_INTERVAL_MS', 5_000, 500, 600_000),
      lateAfterMs: integerSetting(env, 'PATCHBAY_REFRESH_LATE_AFTER_MS', DEFAULT_LATE_AFTER_MS, 0, 7 * 86_400_000),
    },
    defaultOAuthApps: oauthAppSettings(env),
    checkPeriodMs: integerSetting(env, 'PATCHBAY_CHECK_PERIOD_MS', 86_400_000, 60_000, 30 * 86_400_000),
    refreshMarginMs: integerSetting(env, 'PATCHBAY_REFRESH_MARGIN_MS', 300_000, 60_000, 86_400_000),
    refreshConcurrency: integerSetting(env, 'PATCHBAY_REFRESH_CONCURRENCY', 48, 1, 256),
    serviceTimeoutMs: integerSetting(env, 'PATCHBAY_SERVICE_TIMEOUT_MS', 10_000, 100, 120_000),
    returnOrigins: originList(env, 'PATCHBAY_RETURN_ORIGINS'),
    reconnectLinkTtlSeconds: integerSetting(
      env,
      'PATCHBAY_RECONNECT_LINK_TTL_SECONDS',
      DEFAULT_RECONNECT_LINK_TTL_SECONDS,
      RECONNECT_LINK_TTL_RANGE.min,
      RECONNECT_LINK_TTL_RANGE.max,
    ),
    smtpUrl: urlSetting(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    smtpFrom: env.SMTP_FROM || 'Patchbay <patchbay@localhost>',
    reauthorizeWarningDays: integerSetting(env, 'PATCHBAY_REAUTHORIZE_WARNING_DAYS', DEFAULT_WARNING_DAYS, 1, 90),
    rateLimits: {
      perToken: {
        USER: rateLimitSetting(env, 'PATCHBAY_RATE_LIMIT_USER', DEFAULT_RATE_LIMITS.perToken.USER),
        SERVICE: rateLimitSetting(env, 'PATCHBAY_RATE_LIMIT_SERVICE', DEFAULT_RATE_LIMITS.perToken.SERVICE),
      },
      failedAuthPerAddress: rateLimitSetting(env, 'PATCHBAY_RATE_LIMIT_FAILED_AUTH', DEFAULT_RATE_LIMITS.failedAuthPerAddress),
    },
    logLevel: logLevel as Config['logLevel'],
    edge: edgeSettings(env),
    metricsToken: env.PATCHBAY_METRICS_TOKEN || undefined,
    timeouts: timeoutSettings(env),
  };
}
