/**
 * Where a keyboard or screen-reader user lands: every page names itself (the tab's title) and
 * its h1 takes the focus once after each route change and after sign-in, so the reader starts at
 * the new page instead of the top of the body. A page whose heading waits for data takes it when
 * the heading appears.
 */
import { useEffect, useRef, type ReactNode } from 'react';
import { useLocation } from 'wouter';

/**
 * The location whose heading already took the focus; null after sign-in (the next one takes it).
 * Undefined until the first heading shows: a page opened by its address leaves the focus at the
 * top of the document, where the skip link is.
 */
let focusedLocation: string | null | undefined;

/** The next page heading to appear takes the focus (a new session, or a new route). */
export function resetPageFocus() {
  focusedLocation = null;
}

/** The tab's title while this page shows: "<title> · Patchbay". */
export function usePageTitle(title: string) {
  useEffect(() => {
    document.title = `${title} · Patchbay`;
  }, [title]);
}

/** The page's h1: names the tab, and takes the focus when the page was just opened. */
export function PageHeading({ title, className, children }: { title: string; className?: string; children?: ReactNode }) {
  const [location] = useLocation();
  const heading = useRef<HTMLHeadingElement>(null);
  usePageTitle(title);
  useEffect(() => {
    if (focusedLocation === location) return;
    const opened = focusedLocation === undefined;
    focusedLocation = location;
    if (!opened) heading.current?.focus();
  }, [location]);
  return (
    <h1 ref={heading} tabIndex={-1} className={className}>
      {children ?? title}
    </h1>
  );
}

/** Moves the focus to the page's h1 (after what held it went away, e.g. a deleted card). */
export function focusPageHeading() {
  (document.querySelector<HTMLElement>('main h1') ?? document.querySelector<HTMLElement>('main'))?.focus();
}
