/**
 * Every notice to the viewer, newest first, a page at a time: the bell's "See all". Each links to
 * its connection's page, where the connection is reauthenticated.
 */
import { MarkAllRead, Notices, useUnreadCount } from '../components/notifications';
import { plural } from '../format';
import { PageHeading } from '../page';

export function NotificationsPage() {
  const unread = useUnreadCount();
  return (
    <div className="page page-narrow">
      <header className="page-header">
        <div>
          <PageHeading title="Notifications" />
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
