/**
 * Notices to the viewer: the header's bell with the unread count, the panel it opens, and the list
 * both the panel and the notifications page show. A notice links to its connection's page, where
 * the connection is reauthenticated; opening it marks it read. No subscription carries notices:
 * the cache reads the count and the lists again when a connection breaks live (see cache.ts), and
 * both are read again after each reconnect, which covers disconnections missed meanwhile and the
 * deadline warnings a job writes.
 */
import { useEffect, useId, useRef, useState, type FocusEvent, type KeyboardEvent } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { Link, useLocation } from 'wouter';
import {
  MarkNotificationsReadMutation,
  NOTIFICATIONS_PAGE_SIZE,
  NotificationsQuery,
  UnreadNotificationCountQuery,
  type Notification,
} from '../documents';
import { dateTime } from '../format';
import { useReconnected } from '../live';
import { EmptyState, LoadError, LoadMore, OutcomeNotice, outcomeOf, Spinner, StatusBadge, TimeAgo, type Outcome } from './ui';

/** A list the reader asked for again comes from the gateway, not the cache. */
const fresh = { requestPolicy: 'network-only' } as const;

/** The viewer's unread count as the cache holds it (the bell reads it from the gateway). */
export function useUnreadCount(): number | null {
  const [result] = useQuery({ query: UnreadNotificationCountQuery, requestPolicy: 'cache-first' });
  return result.data?.viewer.unreadNotificationCount ?? null;
}

/** Marks notices read (the cache updates them and the count), keeping what went wrong to show. */
function useMarkRead() {
  const [state, mark] = useMutation(MarkNotificationsReadMutation);
  const [failure, setFailure] = useState<Outcome | null>(null);
  const markRead = async (input: { ids: string[] } | { all: true }) => {
    setFailure(null);
    setFailure(outcomeOf(await mark({ input }), 'markNotificationsRead').failure ?? null);
  };
  return { markRead, busy: state.fetching, failure, dismiss: () => setFailure(null) };
}

/** "Mark all read", inert while nothing is unread, with what went wrong below it. */
export function MarkAllRead({ unread }: { unread: number | null }) {
  const { markRead, busy, failure, dismiss } = useMarkRead();
  return (
    <>
      {/* aria-disabled, not disabled: a disabled button drops the focus of whoever just pressed it. */}
      <button type="button" className="button button-small button-ghost" aria-disabled={busy || !unread} onClick={() => !busy && unread && markRead({ all: true })}>
        {busy ? 'Marking…' : 'Mark all read'}
      </button>
      {failure && (
        <div className="notifications-failure">
          <OutcomeNotice outcome={failure} onDismiss={dismiss} />
        </div>
      )}
    </>
  );
}

function BellIcon() {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
      <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
    </svg>
  );
}

/**
 * The header's bell: the unread count on it, and a panel with the newest notices. Escape or a
 * click elsewhere closes the panel (Escape returns focus to the bell), and so does leaving the page.
 */
export function NotificationBell() {
  // Kept current by the cache, and read again after each reconnect.
  const [count, reexecute] = useQuery({ query: UnreadNotificationCountQuery });
  useReconnected(() => reexecute(fresh));
  const unread = count.data?.viewer.unreadNotificationCount ?? null;
  const [open, setOpen] = useState(false);
  const [location] = useLocation();
  const root = useRef<HTMLDivElement>(null);
  const bell = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const id = useId();

  useEffect(() => setOpen(false), [location]);
  useEffect(() => {
    if (!open) return;
    panel.current?.focus();
    // A click anywhere else closes it.
    const onPointerDown = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', onPointerDown);
    return () => document.removeEventListener('pointerdown', onPointerDown);
  }, [open]);

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'Escape' || !open) return;
    event.stopPropagation();
    setOpen(false);
    bell.current?.focus();
  };
  // Tabbing out of the bell and its panel closes it too.
  const onBlur = (event: FocusEvent) => {
    if (event.relatedTarget && !event.currentTarget.contains(event.relatedTarget)) setOpen(false);
  };

  return (
    <div ref={root} className="bell" onKeyDown={onKeyDown} onBlur={onBlur}>
      <button
        ref={bell}
        type="button"
        className="bell-button"
        aria-label={unread ? `Notifications, ${unread} unread` : 'Notifications'}
        aria-expanded={open}
        aria-controls={open ? `${id}-panel` : undefined}
        aria-haspopup="dialog"
        onClick={() => setOpen(!open)}
      >
        <BellIcon />
        {unread ? (
          <span className="bell-count" aria-hidden="true">
            {unread > 99 ? '99+' : unread}
          </span>
        ) : null}
      </button>
      {open && (
        <div ref={panel} id={`${id}-panel`} className="notification-panel" role="dialog" aria-labelledby={`${id}-title`} tabIndex={-1}>
          <header className="notification-panel-header">
            <h2 id={`${id}-title`}>Notifications</h2>
            <span className="muted small">{unread ? `${unread} unread` : 'All read'}</span>
            <MarkAllRead unread={unread} />
          </header>
          <div className="notification-panel-body">
            <Notices paged={false} />
          </div>
          <footer className="notification-panel-footer">
            <Link href="/notifications">See all notifications</Link>
          </footer>
        </div>
      )}
    </div>
  );
}

/**
 * The viewer's notices, newest first, with loading, error and empty states. `paged`: all the pages
 * read so far and a button for the next (the page); otherwise the first page only (the panel).
 */
export function Notices({ paged }: { paged: boolean }) {
  const client = useClient();
  const [result, reexecute] = useQuery({ query: NotificationsQuery, variables: { first: NOTIFICATIONS_PAGE_SIZE } });
  useReconnected(() => reexecute(fresh));
  const { markRead, failure, dismiss } = useMarkRead();
  const page = result.data?.viewer.notifications;

  if (!page && result.error) return <LoadError error={result.error} retry={() => reexecute(fresh)} />;
  if (!page) return <Spinner label="Loading notifications" />;
  if (page.nodes.length === 0) {
    return (
      <EmptyState title="No notifications">
        You will be told here when one of your connections breaks or must be authorized again.
      </EmptyState>
    );
  }
  // The cache merges every page read (relayPagination): the panel shows only the newest.
  const notices = paged ? page.nodes : page.nodes.slice(0, NOTIFICATIONS_PAGE_SIZE);
  const next = paged && page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  const markOne = (notice: Notification) => {
    if (!notice.readAt) void markRead({ ids: [notice.id] });
  };
  return (
    <>
      {failure && (
        <div className="notifications-failure">
          <OutcomeNotice outcome={failure} onDismiss={dismiss} />
        </div>
      )}
      <ul className="notifications">
        {notices.map((notice) => (
          <NoticeItem key={notice.id} notice={notice} onMarkRead={() => markOne(notice)} />
        ))}
      </ul>
      {next && (
        <div className="notifications-more">
          <LoadMore label="Show older notifications" load={() => client.query(NotificationsQuery, { first: NOTIFICATIONS_PAGE_SIZE, after: next }, fresh).toPromise()} />
        </div>
      )}
    </>
  );
}

function NoticeItem({ notice, onMarkRead }: { notice: Notification; onMarkRead: () => void }) {
  const unread = notice.readAt === null;
  const title = useRef<HTMLAnchorElement>(null);
  return (
    <li className={`notification${unread ? ' notification-unread' : ''}`} data-notification={notice.id} data-kind={notice.kind} data-unread={unread}>
      <span className="notification-dot" aria-hidden="true" />
      <div className="notification-body">
        {/* Opening a notice marks it read; its connection's page is where it is dealt with. */}
        <Link ref={title} href={`/connections/${encodeURIComponent(notice.connection.id)}`} className="notification-title" onClick={onMarkRead}>
          {unread && <span className="sr-only">Unread: </span>}
          {notice.title}
        </Link>
        <div className="notification-meta">
          <TimeAgo iso={notice.createdAt} />
          <StatusBadge status={notice.connection.status} />
          {unread && (
            <button
              type="button"
              className="button button-small button-ghost notification-mark"
              aria-label={`Mark read: ${notice.title}`}
              onClick={() => {
                // The button goes once the notice is read: the reader stays on this notice.
                title.current?.focus();
                onMarkRead();
              }}
            >
              Mark read
            </button>
          )}
        </div>
        {notice.problem && (
          <>
            {notice.problem.message && <p className="quote">{notice.problem.message}</p>}
            <p>{notice.problem.interpretation}</p>
            <p>
              <span className="label">How to fix:</span> {notice.problem.resolution}
            </p>
          </>
        )}
        {notice.deadline && (
          <p>
            <span className="label">Sign in again by</span> {dateTime(notice.deadline)} (<TimeAgo iso={notice.deadline} />)
          </p>
        )}
      </div>
    </li>
  );
}
