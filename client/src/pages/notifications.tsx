/**
 * Every notice to the viewer, newest first, a page at a time: the bell's "See all". Each links to
 * its connection's page, where the connection is reauthenticated.
 */
import { MarkAllRead, Notices, useUnreadCount } from '../components/notifications';
import { plural } from '../format';

export function NotificationsPage() {
  const unread = useUnreadCount();
  return (
    <div className="page page-narrow">
      <header className="page-header">
        <div>
          <h1>Notifications</h1>
          <p className="muted">
            {unread ? plural(unread, 'unread notice') : 'All read'} · broken connections and reauthorization deadlines, newest first
          </p>
        </div>
        <div className="notifications-actions">
          <MarkAllRead unread={unread} />
        </div>
      </header>
      <section className="panel panel-flush" aria-label="Notifications">
        <Notices paged />
      </section>
    </div>
  );
}
