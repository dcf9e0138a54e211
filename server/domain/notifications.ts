/**
 * Notices to people: a connection broke (its owner and the account owner are told once per
 * incident), or a known reauthorization deadline is near. Rows are written where the cause is
 * decided, in its transaction; the mail outbox (jobs/mail.ts) delivers them, and
 * `viewer.notifications` lists them whether or not mail is configured.
 */
import { and, count, eq, inArray, isNull, sql } from 'drizzle-orm';
import { type Database, rowsOf } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { connections, notifications, users } from '../db/schema.js';
import { recordOutboxRows } from './changes.js';
import { NotFoundError, ValidationError } from './errors.js';
import { escapeHtml } from '../html.js';
import { DISCONNECT_REASONS } from './disconnect-reasons.js';
import type { ConnectionRow, DisconnectReason } from './types.js';
import type { Viewer } from './viewer.js';
import { findVisibleRows } from './visibility.js';

/** How far ahead of a reauthorization deadline people are warned, by default. */
export const DEFAULT_WARNING_DAYS = 14;

/**
 * Writes the notices of a new disconnection: one each for the connection's owner and the
 * account owner (one row when they are the same person). The unique (event, recipient) index
 * makes a replay a no-op; a repeated failure of the same incident writes no event and so no row.
 */
export async function noticeDisconnection(
  tx: Database,
  connection: Pick<ConnectionRow, 'id' | 'accountId' | 'ownerId'>,
  eventId: string,
): Promise<void> {
  await tx.execute(sql`
    insert into ${notifications} (account_id, recipient_id, connection_id, event_id, kind)
    select ${connection.accountId}, recipient, ${connection.id}, ${eventId}, 'CONNECTION_DISCONNECTED'
    from (
      select ${connection.ownerId}::uuid as recipient
      union
      select ${users.id} from ${users} where ${users.accountId} = ${connection.accountId} and ${users.isOwner}
    ) as recipients
    on conflict do nothing`);
  recordOutboxRows('mail');
}

/**
 * Writes REAUTHORIZATION_DUE notices for ACTIVE connections whose reauthorization deadline falls
 * within `warningDays`: once per deadline (a reauthorization sets a new one), to the owner and
 * the account owner. One statement; safe in any number of processes. Returns the rows written
 * (mailed at once by this process's worker).
 */
export async function queueReauthorizationWarnings(
  db: Database,
  options: { warningDays: number; accountId?: string },
): Promise<number> {
  return transaction(db, async (tx) => {
    const result = await tx.execute(sql`
      insert into ${notifications} (account_id, recipient_id, connection_id, deadline, kind)
      select c.account_id, recipient.id, c.id, c.reauthorize_by, 'REAUTHORIZATION_DUE'
      from ${connections} c
      join ${users} recipient on recipient.account_id = c.account_id and (recipient.id = c.owner_id or recipient.is_owner)
      where c.status = 'ACTIVE'
        and c.reauthorize_by is not null
        and c.reauthorize_by > now()
        and c.reauthorize_by <= now() + make_interval(days => ${options.warningDays})
        ${options.accountId ? sql`and c.account_id = ${options.accountId}` : sql``}
      on conflict do nothing
      returning id`);
    const written = rowsOf(result).length;
    if (written > 0) recordOutboxRows('mail');
    return written;
  });
}

/** The viewer's unread notices. */
export async function countUnread(db: Database, viewer: Viewer): Promise<number> {
  const [row] = await db
    .select({ unread: count() })
    .from(notifications)
    .where(and(eq(notifications.recipientId, viewer.userId), isNull(notifications.readAt)));
  return row.unread;
}

/**
 * Marks the viewer's notices read: the given ones, or all. An id that is not one of the viewer's
 * notices fails the whole call, which then changes nothing. Returns how many became read.
 */
export async function markNotificationsRead(db: Database, viewer: Viewer, target: { ids: string[] } | 'all'): Promise<number> {
  const mine = eq(notifications.recipientId, viewer.userId);
  if (target !== 'all') {
    if (target.ids.length === 0) throw new ValidationError('Give at least one notification id, or all: true', 'ids');
    if (target.ids.length > 100) throw new ValidationError('Mark at most 100 notifications at once, or use all: true', 'ids');
    // Only the viewer's own notices are visible: another member's is NotFound like a missing id.
    const found = await findVisibleRows(db, viewer, 'Notification', target.ids);
    if (found.length !== new Set(target.ids).size) throw new NotFoundError('Notification');
  }
  const updated = await db
    .update(notifications)
    .set({ readAt: new Date().toISOString() })
    .where(and(mine, isNull(notifications.readAt), target === 'all' ? undefined : inArray(notifications.id, target.ids)))
    .returning({ id: notifications.id });
  return updated.length;
}

/** What a notice says, gathered from its rows; `connectionName` is null when the recipient may not know it. */
export interface NoticeFacts {
  kind: 'CONNECTION_DISCONNECTED' | 'REAUTHORIZATION_DUE';
  recipientName: string;
  connectionName: string | null;
  ownerName: string;
  integrationName: string;
  reason: DisconnectReason | null;
  /** The service's own message, if any. */
  message: string | null;
  deadline: string | null;
  /** The dashboard page of the connection, where it is reauthenticated. */
  url: string;
}

/** The connection as a recipient may see it named: its name, or whose private connection it is. */
function connectionLabel(facts: NoticeFacts): string {
  return facts.connectionName === null
    ? `A private ${facts.integrationName} connection of ${facts.ownerName}`
    : `"${facts.connectionName}" (${facts.integrationName})`;
}

/** A notice's one-line summary: the mail subject and the dashboard's title. */
export function noticeTitle(facts: Pick<NoticeFacts, 'kind' | 'connectionName' | 'integrationName' | 'ownerName' | 'deadline'>): string {
  const label = connectionLabel(facts as NoticeFacts);
  return facts.kind === 'CONNECTION_DISCONNECTED'
    ? `${label} is disconnected`
    : `${label} must be reauthorized by ${formatDay(facts.deadline)}`;
}

function formatDay(iso: string | null): string {
  return iso ? new Date(iso).toUTCString().slice(0, 16) : 'its deadline';
}


/** The mail of a notice: subject, plain text and the same as simple HTML. */
export function composeNotice(facts: NoticeFacts): { subject: string; text: string; html: string } {
  const subject = noticeTitle(facts);
  const paragraphs: string[] =
    facts.kind === 'CONNECTION_DISCONNECTED'
      ? [
          `${connectionLabel(facts)} stopped working, so its data sources are not refreshing.`,
          `Reason: ${facts.reason ?? 'UNKNOWN'}${facts.message ? ` (the service said: ${facts.message})` : ''}`,
          `What happened: ${DISCONNECT_REASONS[facts.reason ?? 'UNKNOWN'].interpretation}`,
          `What to do: ${DISCONNECT_REASONS[facts.reason ?? 'UNKNOWN'].resolution}`,
        ]
      : [
          `${connectionLabel(facts)} must be authorized again by ${formatDay(facts.deadline)}: the service does not allow the authorization to be refreshed past that date.`,
          'What to do: reauthenticate the connection before then. It keeps its id and data sources; after the deadline it is disconnected until someone does.',
        ];
  const action = `Reauthenticate: ${facts.url}`;
  const text = [`Hello ${facts.recipientName},`, ...paragraphs, action, '— Patchbay'].join('\n\n');
  const html = [
    `<p>Hello ${escapeHtml(facts.recipientName)},</p>`,
    ...paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`),
    `<p><a href="${escapeHtml(facts.url)}">Open the connection and reauthenticate</a></p>`,
    '<p>— Patchbay</p>',
  ].join('\n');
  return { subject, text, html };
}
