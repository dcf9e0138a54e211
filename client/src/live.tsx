/**
 * Live updates for the signed-in session: one subscription to every connection status change the
 * viewer may see (the cache merges each into its Connection), the socket's state for the header's
 * indicator, and a hook for screens that read what the event feed does not carry again after a
 * reconnect.
 */
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { useSubscription } from 'urql';
import type { CatchUpOutcome } from './catch-up';
import { ConnectionChangedSubscription, ConnectionStatusChangedSubscription } from './documents';
import type { Gateway, LiveState } from './gateway';

const GatewayContext = createContext<Gateway | null>(null);

export function LiveUpdates({ gateway, children }: { gateway: Gateway; children: ReactNode }) {
  // Held for the whole session; results go to the cache, nothing reads them here.
  useSubscription({ query: ConnectionStatusChangedSubscription });
  // Renames, sharing and deletions: a renamed card renamed, a deleted or unshared one gone.
  useSubscription({ query: ConnectionChangedSubscription });
  return <GatewayContext.Provider value={gateway}>{children}</GatewayContext.Provider>;
}

export function useLiveState(): LiveState {
  const gateway = useContext(GatewayContext);
  const [state, setState] = useState<LiveState>(() => gateway?.live() ?? 'connecting');
  useEffect(() => {
    if (!gateway) return;
    setState(gateway.live());
    return gateway.onLive((next) => setState(next));
  }, [gateway]);
  return state;
}

/**
 * Calls `onReconnected` each time the live channel comes back after being down, once the gateway
 * has caught the cache up on missed status changes (or found it could not: `refetch`).
 */
export function useReconnected(onReconnected: (outcome: CatchUpOutcome) => void) {
  const gateway = useContext(GatewayContext);
  const latest = useRef(onReconnected);
  latest.current = onReconnected;
  useEffect(() => {
    if (!gateway) return;
    return gateway.onReconnected((outcome) => latest.current(outcome));
  }, [gateway]);
}

export function LiveIndicator() {
  const state = useLiveState();
  const label = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting' : 'Reconnecting';
  return (
    <span className={`live live-${state}`} data-live={state} title={state === 'live' ? 'Status changes appear as they happen' : 'Live updates are paused; retrying'}>
      <span className="live-dot" aria-hidden="true" />
      {label}
    </span>
  );
}
