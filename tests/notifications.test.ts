import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../server/db/client.js';
import { countStatements, openPostgres } from '../server/db/client.js';
import { transaction } from '../server/db/transaction.js';
import { transition } from '../server/domain/lifecycle.js';
import type { ConnectionRow } from '../server/domain/types.js';
import { connections, notifications } from '../server/db/schema.js';
import { parseGlobalId } from '../server/domain/global-ids.js';
import { DEFAULT_HEALTH_OPTIONS, runHealthRound } from '../server/jobs/health.js';
import { createMailOutbox } from '../server/jobs/mail.js';
import { drainOutbox, type RetryPolicy } from '../server/jobs/outbox.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, tenant, testOAuthSettings, testVault } from './support/fixtures.js';
import { postGraphql } from './support/graphql-http.js';
import { startScript } from './support/processes.js';
import { startSmtpReceiver, type SmtpReceiver } from './support/smtp-receiver.js';
import { startStubService, type StubService } from './support/stub-service.js';

const DASHBOARD = 'https://patchbay.example.com';
/** Retries due at once, so a test can drain again without waiting. */
const IMMEDIATE: RetryPolicy = { batchSize: 20, maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0, leaseMs: 60_000 };

let stub: StubService;
let smtp: SmtpReceiver;
let mail: ReturnType<typeof createMailOutbox>;
beforeAll(async () => {
  stub = await startStubService();
  smtp = await startSmtpReceiver();
  mail = createMailOutbox({ smtpUrl: smtp.url, from: 'Patchbay <alerts@patchbay.test>', dashboardUrl: () => DASHBOARD, policy: IMMEDIATE });
});
afterAll(async () => {
  mail.close();
  await smtp.close();
  await stub.close();
});

const TEST = `mutation($id: ID!) { testConnection(input: { id: $id }) { __typename } }`;

/** A member's private API-key connection to the stub service, ACTIVE, then broken by a key change. */
async function brokenConnection(tx: Database, label: string) {
  const a = await tenant(tx, label);
  await graphql(tx, a.admin.viewer, `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename } }`, {
    input: { key: 'stub-api', name: 'Stub API', authMethod: 'API_KEY', verifyUrl: `${stub.url}/me`, apiKeyHeader: 'X-Api-Key' },
  });
  stub.mode = 'normal';
  stub.validKeys = new Set(['key-notices-123456']);
  const started = await graphql(
    tx,
    a.member.viewer,
    `mutation { startConnection(input: { integration: "stub-api", name: "Nightly orders", credentials: { apiKey: "key-notices-123456" } }) { ... on StartConnectionSuccess { result { connection { id } } } } }`,
  );
  const gid = started.data!.startConnection.result.connection.id as string;
  stub.validKeys = new Set();
  expect((await graphql(tx, a.member.viewer, TEST, { id: gid })).data!.testConnection.__typename).toBe('TestConnectionSuccess');
  return { a, gid, id: parseGlobalId(gid, 'Connection') };
}

const noticesOf = (tx: Database, connectionId: string) =>
  tx.select().from(notifications).where(eq(notifications.connectionId, connectionId)).orderBy(notifications.createdAt);

describeEachDatabase('notices of broken connections', (db) => {
  it('a disconnection mails its owner and the account owner once each, with reason, interpretation, resolution and a link', async () => {
    await inRollback(db(), async (tx) => {
      const { a, gid, id } = await brokenConnection(tx, 'mailed');
      // The same incident failing again is not a new one: no new notice.
      await graphql(tx, a.member.viewer, TEST, { id: gid });
      expect(await noticesOf(tx, id)).toHaveLength(2);
      const before = smtp.mails.length;
      expect(await drainOutbox(tx, mail, { accountId: a.account.id })).toEqual({ delivered: 2, retried: 0, failed: 0 });
      const mails = smtp.mails.slice(before);
      expect(mails).toHaveLength(2);
      const to = (address: string) => mails.find((m) => m.to && !Array.isArray(m.to) && m.to.value[0].address === address)!;
      const ownersMail = to(a.member.user.email);
      expect(ownersMail.subject).toBe('"Nightly orders" (Stub API) is disconnected');
      expect(ownersMail.text).toContain('Reason: INVALID_CREDENTIALS');
      expect(ownersMail.text).toContain('The service rejected the stored credentials');
      expect(ownersMail.text).toContain('Reauthenticate the connection with the current credentials');
      expect(ownersMail.text).toContain(`${DASHBOARD}/connections/${gid}`);
      expect(ownersMail.html).toContain(`href="${DASHBOARD}/connections/${gid}"`);
      expect(ownersMail.from?.value[0]).toMatchObject({ name: 'Patchbay', address: 'alerts@patchbay.test' });
      // The account owner learns that a private connection broke, not what it is called.
      const accountOwnersMail = to(a.owner.user.email);
      expect(accountOwnersMail.subject).toBe('A private Stub API connection of member is disconnected');
      expect(`${accountOwnersMail.text}${accountOwnersMail.html}`).not.toContain('Nightly orders');
      expect(accountOwnersMail.text).toContain('The service rejected the stored credentials');
      // Delivered is delivered: another round sends nothing.
      expect(await drainOutbox(tx, mail, { accountId: a.account.id })).toEqual({ delivered: 0, retried: 0, failed: 0 });
      expect((await noticesOf(tx, id)).map((n) => n.status)).toEqual(['SENT', 'SENT']);
    });
  });

  it('a temporary mail failure is retried, a permanent one is final, and no credential reaches the row', async () => {
    await inRollback(db(), async (tx) => {
      const { a, gid, id } = await brokenConnection(tx, 'retried');
      smtp.refuse(451, 2);
      expect(await drainOutbox(tx, mail, { accountId: a.account.id })).toMatchObject({ retried: 2, delivered: 0 });
      let rows = await noticesOf(tx, id);
      expect(rows.map((row) => [row.status, row.attempts])).toEqual([['PENDING', 1], ['PENDING', 1]]);
      expect(rows[0].lastError).toContain('Try again later');
      const before = smtp.mails.length;
      expect(await drainOutbox(tx, mail, { accountId: a.account.id })).toMatchObject({ delivered: 2 });
      expect(smtp.mails.length).toBe(before + 2);
      // A new incident (it worked again, then broke again); a recipient refused for good fails at once.
      await tx.update(connections).set({ status: 'ACTIVE', disconnectReason: null }).where(eq(connections.id, id));
      await graphql(tx, a.member.viewer, TEST, { id: gid });
      smtp.refuse(550, 1);
      expect(await drainOutbox(tx, mail, { accountId: a.account.id })).toEqual({ delivered: 1, retried: 0, failed: 1 });
      const failed = (await noticesOf(tx, id)).filter((row) => row.status === 'FAILED');
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ attempts: 1, lastError: expect.stringContaining('No such mailbox') });
      rows = await noticesOf(tx, id);
      for (const row of rows) expect(row.lastError ?? '').not.toContain(smtp.password);
    });
  });

  it('viewer.notifications lists the viewer’s notices (mail or not), and marking them read touches only the viewer’s', async () => {
    await inRollback(db(), async (tx) => {
      const { a, id } = await brokenConnection(tx, 'listed');
      const list = `{ viewer { unreadNotificationCount notifications(first: 10) { edges { node { id kind title readAt mailStatus connection { id name } problem { reason interpretation resolution } } } } } }`;
      const mine = await graphql(tx, a.member.viewer, list);
      expect(mine.errors).toBeUndefined();
      expect(mine.data!.viewer.unreadNotificationCount).toBe(1);
      const [notice] = mine.data!.viewer.notifications.edges.map((edge: any) => edge.node);
      expect(notice).toMatchObject({
        kind: 'CONNECTION_DISCONNECTED',
        title: '"Nightly orders" (Stub API) is disconnected',
        readAt: null,
        mailStatus: 'PENDING',
        connection: { name: 'Nightly orders' },
        problem: { reason: 'INVALID_CREDENTIALS' },
      });
      const owners = await graphql(tx, a.owner.viewer, list);
      const ownersNotice = owners.data!.viewer.notifications.edges[0].node;
      expect(ownersNotice.title).toBe('A private Stub API connection of member is disconnected');
      expect(ownersNotice.connection.name).toBeNull();
      // Another member has none, and cannot reach the member's by id.
      const other = await graphql(tx, a.member2.viewer, `query($id: ID!) { viewer { unreadNotificationCount } node(id: $id) { id } }`, { id: notice.id });
      expect(other.data).toEqual({ viewer: { unreadNotificationCount: 0 }, node: null });
      const MARK = `mutation($input: MarkNotificationsReadInput!) { markNotificationsRead(input: $input) { __typename ... on MarkNotificationsReadSuccess { payload { markedCount unreadCount } } ... on Error { code } } }`;
      // Someone else's notice: refused, and nothing changes.
      const refused = await graphql(tx, a.member2.viewer, MARK, { input: { ids: [notice.id] } });
      expect(refused.data!.markNotificationsRead).toMatchObject({ code: 'NOT_FOUND' });
      const invalid = await graphql(tx, a.member.viewer, MARK, { input: { ids: [ownersNotice.id.slice(0, -2)] } });
      expect(invalid.data!.markNotificationsRead).toMatchObject({ code: 'VALIDATION' });
      const marked = await graphql(tx, a.member.viewer, MARK, { input: { ids: [notice.id] } });
      expect(marked.data!.markNotificationsRead.payload).toEqual({ markedCount: 1, unreadCount: 0 });
      const rows = await noticesOf(tx, id);
      expect(rows.filter((row) => row.readAt).map((row) => row.recipientId)).toEqual([a.member.user.id]);
      const all = await graphql(tx, a.owner.viewer, MARK, { input: { all: true } });
      expect(all.data!.markNotificationsRead.payload).toEqual({ markedCount: 1, unreadCount: 0 });
    });
  });

  it('listing notices costs the same statements for one notice or many about a custom integration', async () => {
    await inRollback(db(), async (tx) => {
      const { a, gid, id } = await brokenConnection(tx, 'counted-list');
      const list = `{ viewer { unreadNotificationCount notifications(first: 20) { edges { node { title problem { reason } connection { id name } } } } } }`;
      const one = await countStatements(() => graphql(tx, a.member.viewer, list));
      expect(one.result.data!.viewer.notifications.edges).toHaveLength(1);
      for (let i = 0; i < 4; i++) {
        await tx.update(connections).set({ status: 'ACTIVE', disconnectReason: null }).where(eq(connections.id, id));
        await graphql(tx, a.member.viewer, TEST, { id: gid });
      }
      const five = await countStatements(() => graphql(tx, a.member.viewer, list));
      expect(five.result.data!.viewer.notifications.edges).toHaveLength(5);
      expect(five.statements.length).toBe(one.statements.length);
    });
  });

  it('a reauthorization deadline within the warning window warns owner and account owner once per deadline', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'deadline');
      const conn = a.connections.shared;
      const deadline = new Date(Date.now() + 10 * 86_400_000).toISOString();
      await tx.update(connections).set({ reauthorizeBy: deadline, ownerId: a.member.user.id }).where(eq(connections.id, conn.id));
      const options = { ...DEFAULT_HEALTH_OPTIONS, accountId: a.account.id, warningDays: 14 };
      await tx.update(connections).set({ nextCheckAt: new Date(Date.now() + 86_400_000).toISOString() }).where(eq(connections.accountId, a.account.id));
      expect(await runHealthRound(tx, testVault, testOAuthSettings, options)).toMatchObject({ warned: 2 });
      expect(await runHealthRound(tx, testVault, testOAuthSettings, options)).toMatchObject({ warned: 0 });
      // Outside the window: nothing. A new deadline (after reauthorizing) warns again when it nears.
      const later = new Date(Date.now() + 13 * 86_400_000).toISOString();
      await tx.update(connections).set({ reauthorizeBy: later }).where(eq(connections.id, conn.id));
      expect(await runHealthRound(tx, testVault, testOAuthSettings, { ...options, warningDays: 12 })).toMatchObject({ warned: 0 });
      expect(await runHealthRound(tx, testVault, testOAuthSettings, options)).toMatchObject({ warned: 2 });
      const before = smtp.mails.length;
      expect(await drainOutbox(tx, mail, { accountId: a.account.id })).toMatchObject({ delivered: 4 });
      const subjects = smtp.mails.slice(before).map((m) => m.subject);
      expect(subjects).toContain(`"deadline shared GA4" (Google Analytics 4) must be reauthorized by ${new Date(later).toUTCString().slice(0, 16)}`);
      expect(smtp.mails.slice(before)[0].text).toContain('reauthenticate the connection before then');
    });
  });

  it('a disconnection writes its notices in one statement, whether they go to one person or two', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'counted');
      const disconnect = (row: ConnectionRow) =>
        transaction(tx, (inner) => transition(inner, row, 'DISCONNECTED', { kind: 'SYSTEM' }, { reason: 'UNKNOWN', message: null }));
      // The owner's own connection: one recipient. A member's: the member and the owner.
      const own = await countStatements(() => disconnect(a.connections.shared));
      const members = await countStatements(() => disconnect(a.connections.memberPrivate));
      for (const counted of [own, members]) {
        expect(counted.statements.filter((statement) => /"notifications"/.test(statement))).toHaveLength(1);
      }
      expect(members.statements.length).toBe(own.statements.length);
      expect(await noticesOf(tx, a.connections.shared.id)).toHaveLength(1);
      expect(await noticesOf(tx, a.connections.memberPrivate.id)).toHaveLength(2);
    });
  });

  it('a rolled-back disconnection leaves no notice', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'rollback');
      await expect(
        transaction(tx, async (inner) => {
          await transition(inner, a.connections.shared, 'DISCONNECTED', { kind: 'SYSTEM' }, { reason: 'UNKNOWN', message: null });
          throw new Error('crash mid-write');
        }),
      ).rejects.toThrow('crash mid-write');
      expect(await noticesOf(tx, a.connections.shared.id)).toEqual([]);
    });
  });
});

it.runIf(process.env.TEST_DATABASE_URL)('two gateways draining at once mail each notice exactly once', async () => {
  const url = process.env.TEST_DATABASE_URL!;
  const [one, two] = [await openPostgres(url, { max: 2 }), await openPostgres(url, { max: 2 })];
  try {
    const { a, gid, id } = await brokenConnection(one.db, 'concurrent');
    // Ten more incidents, committed: twenty-two notices for the two workers to share.
    for (let i = 0; i < 10; i += 1) {
      await one.db.update(connections).set({ status: 'ACTIVE' }).where(eq(connections.id, id));
      await graphql(one.db, a.member.viewer, TEST, { id: gid });
    }
    const pending = async () => (await one.db.select({ id: notifications.id }).from(notifications).where(sql`${notifications.accountId} = ${a.account.id} and ${notifications.status} = 'PENDING'`)).length;
    const queued = await pending();
    const before = smtp.mails.length;
    const outboxes = [one, two].map((handle) => createMailOutbox({ smtpUrl: smtp.url, from: 'p@patchbay.test', dashboardUrl: () => DASHBOARD, policy: { ...IMMEDIATE, batchSize: 2 } }));
    const [first, second] = await Promise.all([drainOutbox(one.db, outboxes[0], { accountId: a.account.id }), drainOutbox(two.db, outboxes[1], { accountId: a.account.id })]);
    outboxes.forEach((outbox) => outbox.close());
    expect(first.delivered + second.delivered).toBe(queued);
    expect(first.delivered).toBeGreaterThan(0);
    expect(second.delivered).toBeGreaterThan(0);
    const ids = smtp.mails.slice(before).map((m) => m.messageId);
    expect(new Set(ids).size).toBe(queued);
    expect(await pending()).toBe(0);
  } finally {
    await one.close();
    await two.close();
  }
});

it('a gateway started with SMTP_URL mails the notice of a disconnection made through its API', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-mail-'));
  const gateway = await startScript(
    'server/main.ts',
    { PORT: '0', PATCHBAY_DATA_DIR: dataDir, SMTP_URL: smtp.url, SMTP_FROM: 'Alerts <alerts@patchbay.test>', LOG_LEVEL: 'warn', DATABASE_URL: '', REDIS_URL: '' },
    /Demo API token[^:]*: (\S+)/,
  );
  try {
    const url = /GraphQL:\s+(\S+)\/graphql/.exec(gateway.stdout())![1];
    const token = /Demo API token[^:]*: (\S+)/.exec(gateway.stdout())![1];
    expect(gateway.stdout()).toContain(`Mail:     notices via SMTP 127.0.0.1:`);
    expect(gateway.stdout()).not.toContain(smtp.password);
    const list = await postGraphql(url, token, `{ viewer { user { id } } connections(first: 50, filter: { status: [ACTIVE] }) { edges { node { id name owner { id } } } } }`);
    const mine = list.data.connections.edges.map((edge: any) => edge.node).find((node: any) => node.owner.id === list.data.viewer.user.id);
    const before = smtp.mails.length;
    const reported = await postGraphql(url, token, 'mutation($id: ID!) { reportConnectionError(input: { id: $id, reason: INSUFFICIENT_PRIVILEGES }) { __typename } }', { id: mine.id });
    expect(reported.data.reportConnectionError.__typename).toBe('ReportConnectionErrorSuccess');
    // The owner is also the account owner: one notice, one mail (besides the demo's own notices,
    // which this gateway mails too).
    const ours = () => smtp.mails.slice(before).filter((mail) => mail.text?.includes('Reason: INSUFFICIENT_PRIVILEGES'));
    for (let i = 0; i < 300 && ours().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const [received, ...more] = ours();
    expect(more).toEqual([]);
    expect(received.subject).toContain(`"${mine.name}"`);
    expect(received.text).toContain('Reason: INSUFFICIENT_PRIVILEGES');
    expect(received.text).toContain(`${url}/connections/${mine.id}`);
    // Its row is settled once the rest of its batch is through.
    const latest = async () => (await postGraphql(url, token, `{ viewer { notifications(first: 1) { nodes { title mailStatus } } } }`)).data.viewer.notifications.nodes[0];
    for (let i = 0; i < 100 && (await latest()).mailStatus === 'PENDING'; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await latest()).toEqual({ title: received.subject, mailStatus: 'SENT' });
  } finally {
    await gateway.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 90_000);
