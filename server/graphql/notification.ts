/** Notification: a notice to the viewer (a broken connection, a reauthorization deadline), and marking them read. */
import { countUnread, markNotificationsRead, noticeTitle } from '../domain/notifications.js';
import { type Integration, loadIntegrations } from '../domain/integrations.js';
import { ValidationError } from '../domain/errors.js';
import { createContextCache } from '@pothos/core';
import { builder, type Context, viewerOf } from './builder.js';
import { ConnectionProblem } from './connection.js';
import { COMMON_ERRORS } from './errors.js';
import { parseGlobalId } from '../domain/global-ids.js';
import { MAX_PAGE_SIZE, pageQuery } from './pagination.js';
import { ViewerType } from './viewer.js';

const NotificationKindEnum = builder.enumType('NotificationKind', {
  description: 'What a notice is about.',
  values: {
    CONNECTION_DISCONNECTED: { description: 'A connection broke (DISCONNECTED, including SUPERSEDED); sent once per incident.' },
    REAUTHORIZATION_DUE: { description: 'A connection must be reauthorized by `deadline` (e.g. LinkedIn yearly).' },
  },
});

const NotificationMailStatusEnum = builder.enumType('NotificationMailStatus', {
  description: 'Where the notice’s email is.',
  values: {
    PENDING: { description: 'Not mailed yet: queued, being retried, or mail is not configured (SMTP_URL).' },
    SENT: { description: 'Accepted by the mail server.' },
    FAILED: { description: 'Given up after the retries, or refused for good by the mail server.' },
  },
});

/**
 * The viewer's integrations by key, each looked up once per request: a page of notices about the
 * same custom integration costs one statement, not one per notice (built-ins cost none).
 */
const integrationNamed = createContextCache((context: Context) => {
  const byKey = new Map<string, Promise<Integration | undefined>>();
  return {
    get: (key: string) => {
      let found = byKey.get(key);
      if (!found) byKey.set(key, (found = loadIntegrations(context.db, viewerOf(context).accountId, [key]).then(([integration]) => integration)));
      return found;
    },
  };
});

const NotificationType = builder.drizzleNode('notifications', {
  name: 'Notification',
  description: 'A notice to the viewer about one of the account’s connections.',
  id: { column: (notification) => notification.id },
  fields: (t) => ({
    kind: t.expose('kind', { type: NotificationKindEnum, description: 'What it is about.' }),
    title: t.string({
      description: 'One line for people, the same as the mail’s subject (another user’s private connection is not named).',
      select: { columns: { kind: true, deadline: true, recipientId: true, accountId: true }, with: { connection: { with: { owner: true } } } },
      resolve: async (notification, _args, context) => {
        const { connection } = notification;
        const integration = await integrationNamed(context).get(connection.integrationKey);
        return noticeTitle({
          kind: notification.kind,
          connectionName: connection.shared || connection.ownerId === notification.recipientId ? connection.name : null,
          ownerName: connection.owner.name,
          integrationName: integration?.name ?? connection.integrationKey,
          deadline: notification.deadline,
        });
      },
    }),
    connection: t.relation('connection', { description: 'The connection it is about.' }),
    event: t.relation('event', { nullable: true, description: 'The status change it reports (CONNECTION_DISCONNECTED).' }),
    problem: t.field({
      type: ConnectionProblem,
      nullable: true,
      description: 'Why the connection broke and what to do, as of the incident (CONNECTION_DISCONNECTED).',
      select: { with: { event: { columns: { reason: true, message: true } } } },
      resolve: ({ event }) => (event?.reason ? { reason: event.reason, message: event.message } : null),
    }),
    deadline: t.expose('deadline', {
      type: 'DateTime',
      nullable: true,
      description: 'When the connection must be reauthorized by (REAUTHORIZATION_DUE).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was raised.' }),
    readAt: t.expose('readAt', { type: 'DateTime', nullable: true, description: 'When the viewer marked it read.' }),
    mailStatus: t.expose('status', { type: NotificationMailStatusEnum, description: 'Where its email is.' }),
    mailedAt: t.expose('sentAt', { type: 'DateTime', nullable: true, description: 'When the mail server accepted its email.' }),
  }),
});

builder.objectFields(ViewerType, (t) => ({
  notifications: t.drizzleConnection({
    type: 'notifications',
    description: 'Notices to the viewer, newest first.',
    maxSize: MAX_PAGE_SIZE,
    args: { unreadOnly: t.arg.boolean({ description: 'Only those not marked read.' }) },
    resolve: (query, _viewer, args, context) => {
      const viewer = viewerOf(context);
      return context.db.query.notifications.findMany(
        query(
          pageQuery(args, {
            where: { recipientId: viewer.userId, ...(args.unreadOnly ? { readAt: { isNull: true as const } } : {}) },
            orderBy: { createdAt: 'desc' as const },
          }),
        ),
      );
    },
  }),
  unreadNotificationCount: t.int({
    description: 'How many of the viewer’s notices are not marked read.',
    resolve: (_viewer, _args, context) => countUnread(context.db, viewerOf(context)),
  }),
}));

const MarkNotificationsReadPayload = builder
  .objectRef<{ marked: number; unread: number }>('MarkNotificationsReadPayload')
  .implement({
    description: 'How many notices became read, and how many remain unread.',
    fields: (t) => ({
      markedCount: t.exposeInt('marked', { description: 'Notices that were unread and are now read.' }),
      unreadCount: t.exposeInt('unread', { description: 'The viewer’s notices still unread.' }),
    }),
  });

builder.mutationField('markNotificationsRead', (t) =>
  t.fieldWithInput({
    type: MarkNotificationsReadPayload,
    description: 'Marks the viewer’s notices read: the given ones, or all of them.',
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'payload' } },
    input: {
      ids: t.input.idList({ description: 'Notification ids (at most 100).' }),
      all: t.input.boolean({ description: 'Mark every notice of the viewer read instead.' }),
    },
    resolve: async (_root, { input }, context) => {
      const viewer = viewerOf(context);
      if (input.all && input.ids) throw new ValidationError('Give ids or all: true, not both', 'ids');
      const target = input.all
        ? ('all' as const)
        : { ids: (input.ids ?? []).map((id, index) => parseGlobalId(String(id), 'Notification', `ids.${index}`)) };
      const marked = await markNotificationsRead(context.db, viewer, target);
      return { marked, unread: await countUnread(context.db, viewer) };
    },
  }),
);
