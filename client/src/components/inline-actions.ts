/**
 * The state an action block shares, whatever it acts on (a connection, a data source): which form
 * or confirmation is open, which action is running, and what the last one came to. It also moves
 * the focus as people expect: back to the button that opened a form or confirmation when it
 * closes (Cancel or Escape), onto the outcome when there is one.
 */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { Outcome } from './ui';

export function useInlineActions<Mode extends string>(options: {
  /** Opening a form or confirmation clears the last outcome (it no longer applies). */
  clearOutcomeOnOpen?: boolean;
  /** Where the focus goes when the button that opened a form is gone (e.g. it sat in a menu). */
  fallbackFocus?: () => void;
} = {}) {
  const [mode, setModeState] = useState<Mode | 'idle'>('idle');
  // Where the focus goes back to when a form or confirmation closes: the action that opened it.
  const openedBy = useRef<string | null>(null);
  const refocus = useRef(false);
  const [closed, setClosed] = useState(0);
  const root = useRef<HTMLDivElement>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [outcome, setOutcomeState] = useState<Outcome | null>(null);
  // Each outcome is a new notice, so the focus moves to it even when the text is the same.
  const [outcomeKey, setOutcomeKey] = useState(0);
  const setOutcome = (next: Outcome | null) => {
    setOutcomeState(next);
    if (next) setOutcomeKey((key) => key + 1);
  };

  /** Opens a form or a confirmation (from `action`), or closes it (`idle`), moving the focus back. */
  function setMode(next: Mode | 'idle', from: string | null = null) {
    if (next === 'idle') {
      refocus.current = true;
      setClosed((count) => count + 1);
    } else {
      openedBy.current = from;
      if (options.clearOutcomeOnOpen) setOutcome(null);
    }
    setModeState(next);
  }

  useEffect(() => {
    if (!refocus.current) return;
    refocus.current = false;
    const opener = openedBy.current && root.current?.querySelector<HTMLElement>(`.actions [data-action="${openedBy.current}"]`);
    if (opener) opener.focus();
    else options.fallbackFocus?.();
  }, [closed]);

  /** Escape cancels an open form or confirmation. */
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'Escape' || mode === 'idle' || busy) return;
    event.preventDefault();
    event.stopPropagation();
    setMode('idle');
  };

  /** Runs `action`; its outcome (if any) is shown and takes the focus. */
  async function perform(action: string, work: () => Promise<Outcome | null>) {
    if (mode === 'idle') openedBy.current = action;
    setBusy(action);
    setOutcome(null);
    try {
      const next = await work();
      // The outcome takes the focus, not the button a closing form would give it back to.
      if (next) refocus.current = false;
      setOutcome(next);
    } finally {
      setBusy(null);
    }
  }

  /** What was acted on is leaving the page (moved, deleted): nothing to give the focus back to. */
  const dropFocusReturn = () => {
    refocus.current = false;
  };

  return { mode, setMode, root, busy, outcome, outcomeKey, setOutcome, onKeyDown, perform, dropFocusReturn };
}
