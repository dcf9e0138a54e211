/**
 * The mail outbox: notices (domain/notifications.ts) mailed through SMTP with nodemailer. Each
 * mail carries the notice's id as its Message-ID, so the rare duplicate after a lost lease is one
 * a mail system can recognise. The SMTP URL's credentials never reach a row, an error or a log.
 */
import { eq, inArray, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { createTransport } from 'nodemailer';
import type { Database } from '../db/client.js';
import { connectionEvents, connections, notifications, users } from '../db/schema.js';
import { loadIntegrations } from '../domain/integrations.js';
import { composeNotice } from '../domain/notifications.js';
import { encodeGlobalId } from '../domain/global-ids.js';
import { redact } from '../log.js';
import { DEFAULT_RETRY_POLICY, type DeliveryOutcome, type Outbox, type RetryPolicy } from './outbox.js';

export interface MailSettings {
  /** smtp:// or smtps:// URL, credentials included. */
  smtpUrl: string;
  /** The From address, e.g. "Patchbay <alerts@example.com>". */
  from: string;
  /** The dashboard's base URL, for the reauthenticate link (known once the gateway listens). */
  dashboardUrl: () => string;
  policy?: RetryPolicy;
}

/** Notices older than this are listed in the API but no longer mailed (e.g. when mail is set up later). */
const MAIL_WITHIN = sql`created_at > now() - interval '7 days'`;

/** The SMTP URL's user and password, as they may appear in a message (raw or decoded). */
function smtpSecrets(smtpUrl: string): string[] {
  const url = new URL(smtpUrl);
  return [url.password, decodeURIComponent(url.password), url.username, decodeURIComponent(url.username)];
}

/** One SMTP failure as an outcome: 5xx replies are final, everything else is retried. */
function failure(error: unknown, secrets: readonly string[]): DeliveryOutcome {
  const smtp = error as { responseCode?: number; message?: string };
  const message = redact(smtp.message ?? 'mail delivery failed', secrets);
  return { ok: false, error: message, permanent: smtp.responseCode !== undefined && smtp.responseCode >= 500 };
}

/** Builds the mail outbox; `close()` releases the SMTP transport. */
export function createMailOutbox(settings: MailSettings): Outbox & { close(): void } {
  // Pooled: a round reuses a few connections (and their TLS sessions) instead of one per mail.
  const transport = createTransport({ url: settings.smtpUrl, pool: true, maxConnections: 2 });
  const secrets = smtpSecrets(settings.smtpUrl);
  const owner = alias(users, 'owner');
  return {
    name: 'mail',
    table: notifications,
    deliveredAtColumn: 'sent_at',
    policy: settings.policy ?? DEFAULT_RETRY_POLICY,
    claimable: MAIL_WITHIN,
    close: () => transport.close(),
    async deliver(db: Database, ids: string[]) {
      const rows = await db
        .select({
          id: notifications.id,
          kind: notifications.kind,
          deadline: notifications.deadline,
          accountId: notifications.accountId,
          recipientId: users.id,
          recipientName: users.name,
          recipientEmail: users.email,
          connectionId: connections.id,
          connectionName: connections.name,
          shared: connections.shared,
          ownerId: connections.ownerId,
          ownerName: owner.name,
          integrationKey: connections.integrationKey,
          reason: connectionEvents.reason,
          message: connectionEvents.message,
        })
        .from(notifications)
        .innerJoin(users, eq(users.id, notifications.recipientId))
        .innerJoin(connections, eq(connections.id, notifications.connectionId))
        .innerJoin(owner, eq(owner.id, connections.ownerId))
        .leftJoin(connectionEvents, eq(connectionEvents.id, notifications.eventId))
        .where(inArray(notifications.id, ids));
      const integrationNames = new Map<string, string>();
      for (const accountId of new Set(rows.map((row) => row.accountId))) {
        const keys = [...new Set(rows.filter((row) => row.accountId === accountId).map((row) => row.integrationKey))];
        const found = await loadIntegrations(db, accountId, keys);
        keys.forEach((key, index) => integrationNames.set(`${accountId}:${key}`, found[index]?.name ?? key));
      }
      const outcomes = new Map<string, DeliveryOutcome>();
      // Sent together: the pool spreads them over its connections.
      await Promise.all(
        rows.map(async (row) => {
          const mail = composeNotice({
            kind: row.kind,
            recipientName: row.recipientName,
            // Another user's private connection is named to no one but them (as in the API).
            connectionName: row.shared || row.ownerId === row.recipientId ? row.connectionName : null,
            ownerName: row.ownerName,
            integrationName: integrationNames.get(`${row.accountId}:${row.integrationKey}`) ?? row.integrationKey,
            reason: row.reason,
            message: row.message,
            deadline: row.deadline,
            url: new URL(`/connections/${encodeGlobalId('Connection', row.connectionId)}`, settings.dashboardUrl()).toString(),
          });
          try {
            await transport.sendMail({
              from: settings.from,
              to: { name: row.recipientName, address: row.recipientEmail },
              messageId: `<${row.id}@patchbay>`,
              ...mail,
            });
            outcomes.set(row.id, { ok: true });
          } catch (error) {
            outcomes.set(row.id, failure(error, secrets));
          }
        }),
      );
      return outcomes;
    },
  };
}
