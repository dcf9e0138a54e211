/**
 * The refresh dispatch clock of one gateway. Each round it ends the runs whose lease expired as
 * ABANDONED (their sources are due again; SKIP LOCKED, so every gateway may sweep) and tells this
 * gateway's `refreshDue` subscribers which integrations got sources due since the last round.
 * Signals that come from a commit (Refresh now, an abandoned lease) cross gateways on the bus;
 * the clock's own signals are per gateway (each asks only about its own subscribers' accounts),
 * so a worker hears each schedule once, not once per gateway.
 */
import type { Database } from '../db/client.js';
import { abandonExpiredLeases, integrationsDueBetween } from '../domain/refresh-dispatch.js';
import type { Log } from '../log.js';
import type { LiveHub } from '../realtime/hub.js';
import { everyInterval, type Rounds } from './rounds.js';

/** One round: the leases ended, and the accounts signalled. */
export async function runRefreshDispatchRound(
  deps: { db: Database; live?: LiveHub },
  window: { since: Date; until: Date },
  options: { sweep: boolean },
): Promise<{ abandoned: number; signalled: number }> {
  const abandoned = options.sweep ? await abandonExpiredLeases(deps.db) : 0;
  const accounts = deps.live?.accountsSubscribedTo('refreshDue') ?? [];
  if (accounts.length === 0) return { abandoned, signalled: 0 };
  const due = await integrationsDueBetween(deps.db, accounts, window.since, window.until);
  const at = window.until.toISOString();
  deps.live?.hearLocal([...due].map(([accountId, integrationKeys]) => ({ type: 'refreshDue' as const, accountId, integrationKeys, at })));
  return { abandoned, signalled: due.size };
}

/**
 * Runs a round every `intervalMs`, one at a time. `sweep` (PATCHBAY_JOBS) ends expired leases;
 * the signals to this gateway's subscribers run regardless. A failing round is logged, never fatal.
 */
export function startRefreshDispatch(
  deps: { db: Database; live?: LiveHub; log: Log },
  intervalMs: number,
  options: { sweep: boolean },
): Rounds {
  let since = new Date();
  return everyInterval(intervalMs, 'refresh dispatch round', deps.log, async () => {
    const until = new Date();
    const round = await runRefreshDispatchRound(deps, { since, until }, options);
    since = until;
    if (round.abandoned) deps.log.info('refresh leases expired', { ...round });
  });
}
