/**
 * A background job's rhythm: a round every interval, never two at once (a slow round delays the
 * next instead of overlapping it), a failing round logged and never fatal, and a stop that waits
 * for the round in progress.
 */
import type { Log } from '../log.js';

export interface Rounds {
  stop(): Promise<void>;
}

/** Runs `round` every `intervalMs` until stopped; a thrown error is logged as `<what> failed`. */
export function everyInterval(intervalMs: number, what: string, log: Log, round: () => Promise<void>): Rounds {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(round).catch((error: unknown) => log.error(`${what} failed`, { error: error instanceof Error ? error.name : 'unknown' }));
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
