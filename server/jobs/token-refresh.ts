/**
 * The background token refresh: keeps a fleet of OAuth connections fresh ahead of expiry, in any
 * number of gateway processes at once. Due connections are claimed in batches in expiry order
 * with FOR UPDATE SKIP LOCKED (one statement claims, leases and records a batch, so gateways take
 * disjoint sets), and refreshed with at most `concurrency` provider requests at a time per
 * process. A freed slot is refilled at once while work is due; the job sleeps only when nothing
 * is. Every guarantee of a refresh holds as on the request path (domain/token-refresh.ts): the
 * lease and its heartbeat, the shared cooldown, the answer stored however late it comes.
 */
import type { Database } from '../db/client.js';
import { loadIntegrations, type Integration } from '../domain/integrations.js';
import { disconnectOnRefreshFailure } from '../domain/lifecycle.js';
import type { OAuthSettings } from '../domain/oauth2.js';
import { claimDueRefreshes, refreshClaimed, releaseClaim } from '../domain/token-refresh.js';
import type { Vault } from '../domain/vault.js';
import type { Log } from '../log.js';
import type { Rounds } from './rounds.js';

export interface TokenRefreshOptions {
  /** Provider requests in flight at once in this process (PATCHBAY_REFRESH_CONCURRENCY). */
  concurrency: number;
  /** Refresh ahead of expiry by up to this much (PATCHBAY_REFRESH_MARGIN_MS), spread per connection. */
  horizonMs: number;
  /** Restrict to one account (operators, tests). */
  accountId?: string;
}

export interface RefreshDrain {
  /** Connections claimed (each asked of its provider once, or given back). */
  claimed: number;
  /** Refreshed and stored. */
  refreshed: number;
  /** Not refreshed: a transient failure (cooldown set), a definitive one (disconnected), or nothing to refresh. */
  failed: number;
  /** Claim statements sent. */
  batches: number;
  /** The most provider requests this drain had in flight at once. */
  peakInFlight: number;
}

/**
 * Refreshes everything due now: claims and refreshes until a claim finds nothing, with at most
 * `concurrency` refreshes in flight. A new batch is claimed as soon as half the slots are free,
 * so the provider is kept busy without a claim per connection. Safe in any number of processes.
 */
export async function refreshDueTokens(
  db: Database,
  vault: Vault,
  settings: OAuthSettings,
  options: TokenRefreshOptions,
  /** Claim no more once this says so (the job stopping); the refreshes in flight finish. */
  stopping: () => boolean = () => false,
): Promise<RefreshDrain> {
  const concurrency = Math.max(1, options.concurrency);
  const drain: RefreshDrain = { claimed: 0, refreshed: 0, failed: 0, batches: 0, peakInFlight: 0 };
  const running = new Set<Promise<void>>();
  let exhausted = false;
  for (;;) {
    const free = concurrency - running.size;
    if (stopping()) exhausted = true;
    if (!exhausted && (running.size === 0 || free >= Math.ceil(concurrency / 2))) {
      const batch = await claimDueRefreshes(db, vault, { limit: free, horizonMs: options.horizonMs, accountId: options.accountId });
      drain.batches += 1;
      drain.claimed += batch.length;
      if (batch.length === 0) exhausted = true;
      const integrations = await integrationsOf(db, batch.map((claim) => claim.claimed));
      for (const claim of batch) {
        const integration = integrations.get(`${claim.claimed.accountId}:${claim.claimed.integrationKey}`);
        const task = (async () => {
          if (integration?.authMethod !== 'OAUTH2') {
            await releaseClaim(db, claim.claimed, 'Not an OAuth 2.0 connection: nothing to refresh');
            drain.failed += 1;
            return;
          }
          const result = await refreshClaimed(db, vault, settings, integration, claim, disconnectOnRefreshFailure);
          if (result.ok && result.refreshed) drain.refreshed += 1;
          else drain.failed += 1;
        })()
          .catch(() => {
            drain.failed += 1;
          })
          .finally(() => running.delete(task));
        running.add(task);
      }
      drain.peakInFlight = Math.max(drain.peakInFlight, running.size);
    }
    if (running.size === 0) {
      if (exhausted) return drain;
      continue;
    }
    await Promise.race(running);
  }
}

/** The integrations of a batch's connections, one lookup per account (custom integrations live in the database). */
async function integrationsOf(db: Database, claimed: { accountId: string; integrationKey: string }[]): Promise<Map<string, Integration>> {
  const byAccount = new Map<string, Set<string>>();
  for (const { accountId, integrationKey } of claimed) {
    let keys = byAccount.get(accountId);
    if (!keys) byAccount.set(accountId, (keys = new Set()));
    keys.add(integrationKey);
  }
  const found = new Map<string, Integration>();
  for (const [accountId, keys] of byAccount) {
    const list = [...keys];
    const integrations = await loadIntegrations(db, accountId, list);
    list.forEach((key, index) => {
      const integration = integrations[index];
      if (integration) found.set(`${accountId}:${key}`, integration);
    });
  }
  return found;
}

/**
 * Runs drains back to back from the start: the next one at once after a drain that refreshed
 * anything, else after `idleMs`. A failing drain is logged, never fatal; stop waits for the
 * refreshes in flight.
 */
export function startTokenRefreshJobs(
  deps: { db: Database; vault: Vault; settings: OAuthSettings; log: Log; onDrain?: (drain: RefreshDrain) => void },
  options: TokenRefreshOptions & { idleMs: number },
): Rounds {
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      let busy = false;
      try {
        const drain = await refreshDueTokens(deps.db, deps.vault, deps.settings, options, () => stopped);
        busy = drain.refreshed > 0;
        deps.onDrain?.(drain);
        if (drain.claimed) deps.log.info('tokens refreshed', { ...drain });
      } catch (error) {
        deps.log.error('token refresh failed', { error: error instanceof Error ? error.name : 'unknown' });
      }
      if (busy || stopped) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.idleMs);
        timer.unref();
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
