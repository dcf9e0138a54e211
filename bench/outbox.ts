/**
 * Benchmark: the outboxes draining a backlog. `BENCH_INCIDENTS` (default 500) connections of a
 * member break in one go, which writes two notices each (the member and the account owner) and
 * one webhook delivery each (one endpoint). Then one round of each outbox delivers them: mail to a
 * local SMTP server (smtp-server, as in the tests), webhooks to a local HTTP receiver that
 * verifies every signature. Prints rows per second and SQL statements per row (the statements of
 * the round itself: claims, loads and settles).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { executedStatements, openPglite, openPostgres } from '../server/db/client.js';
import { connections } from '../server/db/schema.js';
import { transaction } from '../server/db/transaction.js';
import { createAccount, createUser } from '../server/domain/accounts.js';
import { transition } from '../server/domain/lifecycle.js';
import { Vault } from '../server/domain/vault.js';
import { createWebhookEndpoint } from '../server/domain/webhooks.js';
import { configureOutbound } from '../server/edge/outbound.js';
import { createMailOutbox } from '../server/jobs/mail.js';
import { DEFAULT_RETRY_POLICY, drainOutbox, type Outbox } from '../server/jobs/outbox.js';
import { webhookOutbox } from '../server/jobs/webhooks.js';
import { createLog } from '../server/log.js';
import { startSmtpReceiver } from '../tests/support/smtp-receiver.js';

const INCIDENTS = Number(process.env.BENCH_INCIDENTS ?? 500);

async function main() {
  const url = process.env.BENCH_DATABASE_URL;
  const handle = url ? await openPostgres(url, { max: 4 }) : await openPglite();
  await handle.migrate();
  const db = handle.db;
  const vault = Vault.fromKeyList(randomBytes(32).toString('base64'));
  const log = createLog('error');
  const suffix = randomBytes(4).toString('hex');
  const { account, owner } = await createAccount(db, { name: 'Bench', owner: { email: `owner-${suffix}@bench.test`, name: 'Owner' } });
  const member = await createUser(db, { accountId: account.id, email: `member-${suffix}@bench.test`, name: 'Member', role: 'MEMBER' });

  let verified = 0;
  let secret = '';
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      new Webhook(secret).verify(body, req.headers as Record<string, string>);
      verified += 1;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  // The receiver is on this machine: let the outbound guard reach loopback, as an operator would.
  configureOutbound({ allowPrivateHosts: ['127.0.0.0/8'], webhookAllowPrivate: false });
  secret = (await createWebhookEndpoint(db, vault, { userId: owner.id, accountId: account.id, role: 'ADMIN', isOwner: true, tokenId: '', tokenKind: 'USER' }, { url: hookUrl })).secret;
  const smtp = await startSmtpReceiver();

  const rows = await db
    .insert(connections)
    .values([...Array(INCIDENTS)].map((_, i) => ({ accountId: account.id, ownerId: member.id, integrationKey: 'google-analytics-4', status: 'ACTIVE' as const, name: `GA4 ${i}` })))
    .returning();
  const breakStarted = performance.now();
  for (const row of rows) {
    await transaction(db, (tx) => transition(tx, row, 'DISCONNECTED', { kind: 'SYSTEM' }, { reason: 'INVALID_REFRESH_TOKEN', message: 'invalid_grant' }));
  }
  const breakMs = performance.now() - breakStarted;

  const policy = { ...DEFAULT_RETRY_POLICY, batchSize: 50 };
  const mail = createMailOutbox({ smtpUrl: smtp.url, from: 'Bench <bench@patchbay.test>', dashboardUrl: () => 'https://patchbay.example', policy });
  const hooks = webhookOutbox({ vault, log, policy });
  const measure = async (outbox: Outbox) => {
    const statements = executedStatements();
    const started = performance.now();
    const drained = await drainOutbox(db, outbox, { accountId: account.id });
    const ms = performance.now() - started;
    const perRow = (executedStatements() - statements) / Math.max(1, drained.delivered);
    return { ...drained, ms: Math.round(ms), perSecond: Math.round((drained.delivered / ms) * 1000), statementsPerRow: perRow.toFixed(2) };
  };
  const mailResult = await measure(mail);
  const hookResult = await measure(hooks);
  process.stdout.write(
    `${JSON.stringify(
      {
        database: url ? 'postgres' : 'pglite',
        incidents: INCIDENTS,
        transitionsPerSecond: Math.round((INCIDENTS / breakMs) * 1000),
        mail: { ...mailResult, received: smtp.mails.length },
        webhooks: { ...hookResult, verified },
      },
      null,
      2,
    )}\n`,
  );
  mail.close();
  await smtp.close();
  await new Promise((resolve) => receiver.close(resolve));
  await handle.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
