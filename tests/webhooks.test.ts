import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readConfig } from '../server/config.js';
import { countStatements, type Database, openDatabase } from '../server/db/client.js';
import { connectionEvents, connections, webhookDeliveries, webhookEndpoints, webhookPreviousSecrets } from '../server/db/schema.js';
import { transaction } from '../server/db/transaction.js';
import { createAccount } from '../server/domain/accounts.js';
import { authenticateToken, issueApiToken } from '../server/domain/api-tokens.js';
import { DISCONNECT_REASONS } from '../server/domain/disconnect-reasons.js';
import { transition } from '../server/domain/lifecycle.js';
import { isPublicAddress } from '../server/edge/outbound.js';
import { setServiceTimeout } from '../server/domain/service-calls.js';
import type { ConnectionRow } from '../server/domain/types.js';
import type { Viewer } from '../server/domain/viewer.js';
import { sendTestWebhook } from '../server/domain/webhooks.js';
import { encodeGlobalId, parseGlobalId } from '../server/domain/global-ids.js';
import { drainOutbox, type Outbox, type RetryPolicy, startOutboxWorker } from '../server/jobs/outbox.js';
import { webhookOutbox } from '../server/jobs/webhooks.js';
import { createLog } from '../server/log.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, tenant, type Tenant, testVault } from './support/fixtures.js';
import { postGraphql } from './support/graphql-http.js';
import { withOutbound } from './support/outbound.js';
import { startScript } from './support/processes.js';
import { type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const CREATE = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    __typename
    ... on CreateWebhookEndpointSuccess { payload { secret webhookEndpoint { id url description enabled integrationKeys } } }
    ... on Error { message code }
    ... on ValidationError { field }
  }
}`;
const REPORT = `mutation($id: ID!) {
  reportConnectionError(input: { id: $id, reason: INVALID_REFRESH_TOKEN, message: "invalid_grant" }) { __typename }
}`;
const ROTATE = `mutation($id: ID!, $hours: Int) {
  rotateWebhookEndpointSecret(input: { id: $id, keepPreviousForHours: $hours }) {
    __typename
    ... on RotateWebhookEndpointSecretSuccess { payload { secret webhookEndpoint { id previousSecretExpiresAt } } }
    ... on Error { message }
    ... on ValidationError { field }
  }
}`;
const ENDPOINT = `query($id: ID!) {
  node(id: $id) {
    ... on WebhookEndpoint {
      id url description enabled disabledReason integrationKeys previousSecretExpiresAt createdAt updatedAt createdBy { id }
      deliveries(first: 20) {
        totalCount
        nodes { id eventType status attempts lastError responseStatus createdAt nextAttemptAt deliveredAt payload }
      }
    }
  }
}`;

/** Retries due almost at once, so a test sees a whole retry schedule in milliseconds. */
const FAST: RetryPolicy = { batchSize: 10, maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 3_600_000, leaseMs: 60_000 };

let receiver: WebhookReceiver;
const logLines: string[] = [];
const log = createLog('debug', (line) => logLines.push(line));

/** A webhook outbox for one account's deliveries (PostgreSQL suites share the database). */
function outboxFor(accountId: string, options: { policy?: RetryPolicy } = {}) {
  const outbox = webhookOutbox({ vault: testVault, log, policy: options.policy ?? FAST });
  accounts.set(outbox, accountId);
  return outbox;
}

const accounts = new WeakMap<object, string>();
/** One delivery round over the account's deliveries only. */
const drain = (db: Database, outbox: Outbox) => drainOutbox(db, outbox, { accountId: accounts.get(outbox) });

beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver.close();
});

/** Registers the receiver as an endpoint of `t` (as its admin) and tells the receiver the secret. */
async function register(db: Database, t: Tenant, input: Record<string, unknown> = {}) {
  const result = await graphql(db, t.admin.viewer, CREATE, { input: { url: receiver.url, description: 'Partner sync', ...input } });
  expect(result.errors).toBeUndefined();
  expect(result.data!.createWebhookEndpoint.__typename).toBe('CreateWebhookEndpointSuccess');
  const { secret, webhookEndpoint } = result.data!.createWebhookEndpoint.payload;
  receiver.secret = secret;
  return { secret: secret as string, gid: webhookEndpoint.id as string, id: parseGlobalId(webhookEndpoint.id, 'WebhookEndpoint') };
}

/** Rotates the endpoint's secret (as `t`'s admin), keeping the old one for `hours` (omitted: the default); returns the new one. */
async function rotate(db: Database, t: Tenant, gid: string, hours?: number) {
  const result = await graphql(db, t.admin.viewer, ROTATE, { id: gid, hours });
  expect(result.errors).toBeUndefined();
  expect(result.data!.rotateWebhookEndpointSecret.__typename).toBe('RotateWebhookEndpointSecretSuccess');
  return result.data!.rotateWebhookEndpointSecret.payload.secret as string;
}

async function deliveriesOf(db: Database, accountId: string) {
  return db.select().from(webhookDeliveries).where(eq(webhookDeliveries.accountId, accountId)).orderBy(webhookDeliveries.createdAt);
}

/** Time passes: every pending delivery of the account is due (inside a transaction now() stands still). */
async function makeDue(db: Database, accountId: string) {
  await db.update(webhookDeliveries).set({ nextAttemptAt: sql`now()` }).where(eq(webhookDeliveries.accountId, accountId));
}

async function endpointLog(db: Database, viewer: Viewer, gid: string) {
  const result = await graphql(db, viewer, ENDPOINT, { id: gid });
  expect(result.errors).toBeUndefined();
  return result.data!.node;
}

const disconnect = (tx: Database, connection: ConnectionRow) =>
  transaction(tx, (inner) => transition(inner, connection, 'DISCONNECTED', { kind: 'SYSTEM' }, { reason: 'UNKNOWN', message: null }));

describe('public addresses', () => {
  it('are required unless PATCHBAY_ALLOW_PRIVATE_HOSTS (or the deprecated PATCHBAY_WEBHOOK_ALLOW_PRIVATE) allows others', () => {
    expect(readConfig({})).toMatchObject({ allowPrivateHosts: [], webhookAllowPrivate: false, outboxIntervalMs: 10_000 });
    expect(readConfig({ PATCHBAY_WEBHOOK_ALLOW_PRIVATE: 'true' }).webhookAllowPrivate).toBe(true);
    expect(() => readConfig({ PATCHBAY_WEBHOOK_ALLOW_PRIVATE: 'sometimes' })).toThrow(/PATCHBAY_WEBHOOK_ALLOW_PRIVATE/);
  });

  it('only ordinary public unicast addresses pass', () => {
    for (const address of ['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111']) expect(isPublicAddress(address), address).toBe(true);
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.100.100.200',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '64:ff9b::a9fe:a9fe',
      '224.0.0.1',
      'not-an-address',
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
  });
});

describeEachDatabase('webhooks', (db) => {
  it('an admin registers an endpoint; a disconnection is POSTed once, signed, with the status change; tampering and late replays fail verification', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const endpoint = await register(tx, a);
      const received = receiver.received.length;
      const reported = await graphql(tx, a.service.viewer, REPORT, { id: a.connections.shared.gid });
      expect(reported.data!.reportConnectionError.__typename).toBe('ReportConnectionErrorSuccess');
      const [delivery] = await deliveriesOf(tx, a.account.id);
      expect(delivery).toMatchObject({ endpointId: endpoint.id, eventType: 'connection.status_changed', status: 'PENDING', attempts: 0 });

      expect(await drain(tx, outboxFor(a.account.id))).toEqual({ delivered: 1, retried: 0, failed: 0 });
      expect(receiver.received.length).toBe(received + 1);
      const request = receiver.received.at(-1)!;
      expect(request.verified.ok).toBe(true);
      expect(request.status).toBe(200);
      expect(request.headers).toMatchObject({ 'content-type': 'application/json', 'webhook-id': delivery.id });
      expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      const [event] = await tx.select().from(connectionEvents).where(eq(connectionEvents.id, delivery.eventId!));
      const body = JSON.parse(request.body);
      expect(body).toEqual({
        type: 'connection.status_changed',
        timestamp: new Date(event.createdAt).toISOString(),
        data: {
          eventId: encodeGlobalId('ConnectionEvent', event.id),
          connection: {
            id: a.connections.shared.gid,
            name: 'a shared GA4',
            integration: 'google-analytics-4',
            status: 'DISCONNECTED',
            previousStatus: 'ACTIVE',
            reason: 'INVALID_REFRESH_TOKEN',
            interpretation: DISCONNECT_REASONS.INVALID_REFRESH_TOKEN.interpretation,
            resolution: DISCONNECT_REASONS.INVALID_REFRESH_TOKEN.resolution,
            occurredAt: new Date(event.createdAt).toISOString(),
          },
        },
      });
      expect(request.body).toBe(JSON.stringify(delivery.payload));

      // A tampered body, or a signature made with another secret, does not verify.
      expect(receiver.verify({ headers: request.headers, body: request.body.replace('DISCONNECTED', 'ACTIVE') })).toEqual({
        ok: false,
        error: 'No matching signature found',
      });
      const forged = { ...request.headers, 'webhook-signature': 'v1,' + Buffer.alloc(32).toString('base64') };
      expect(receiver.verify({ headers: forged, body: request.body }).ok).toBe(false);
      // Replayed within the tolerance, the receiver refuses the webhook-id it already accepted...
      const signed = ['content-type', 'webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, String(request.headers[name])]);
      const replay = await fetch(receiver.url, { method: 'POST', headers: Object.fromEntries(signed), body: request.body });
      expect(replay.status).toBe(409);
      // ...and replayed later than the 5-minute tolerance, the signed timestamp is refused.
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        vi.setSystemTime(Date.now() + 6 * 60_000);
        expect(receiver.verify(request)).toEqual({ ok: false, error: 'Message timestamp too old' });
      } finally {
        vi.useRealTimers();
      }

      const logged = await endpointLog(tx, a.admin.viewer, endpoint.gid);
      expect(logged.deliveries.totalCount).toBe(1);
      expect(logged.deliveries.nodes[0]).toMatchObject({
        id: encodeGlobalId('WebhookDelivery', delivery.id),
        eventType: 'connection.status_changed',
        status: 'SENT',
        attempts: 1,
        lastError: null,
        responseStatus: 200,
        nextAttemptAt: null,
        payload: body,
      });
      expect(logged.deliveries.nodes[0].deliveredAt).not.toBeNull();
    });
  });

  it('every status change enqueues one delivery per enabled matching endpoint, creation included, in exactly one statement', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      // No endpoint yet: the enqueue statement still runs, and inserts nothing.
      const bare = await countStatements(() => disconnect(tx, a.connections.shared));
      expect(bare.statements.filter((statement) => /webhook_/.test(statement))).toHaveLength(1);
      expect(await deliveriesOf(tx, a.account.id)).toHaveLength(0);

      const all = await register(tx, a);
      const second = await register(tx, a);
      const salesforceOnly = await register(tx, a, { integrationKeys: ['salesforce'] });
      const off = await register(tx, a);
      await graphql(tx, a.admin.viewer, `mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, enabled: false }) { __typename } }`, { id: off.gid });

      const counted = await countStatements(() => disconnect(tx, a.connections.memberPrivate));
      const webhookStatements = counted.statements.filter((statement) => /webhook_/.test(statement));
      expect(webhookStatements).toHaveLength(1);
      expect(webhookStatements[0]).toMatch(/^\s*insert into "webhook_deliveries"/);
      expect(counted.statements.length).toBe(bare.statements.length);
      const deliveries = await deliveriesOf(tx, a.account.id);
      expect(deliveries.map((delivery) => delivery.endpointId).sort()).toEqual([all.id, second.id].sort());
      // A private connection is named: partners see what the account's SERVICE tokens see.
      expect(deliveries[0].payload).toMatchObject({ data: { connection: { id: a.connections.memberPrivate.gid, name: 'a member private' } } });

      // The filtered endpoint hears Salesforce connections only.
      await tx.update(webhookDeliveries).set({ status: 'SENT' }).where(eq(webhookDeliveries.accountId, a.account.id));
      await transaction(tx, async (inner) => {
        await transition(inner, a.connections.sharedSalesforce, 'ACTIVE', { kind: 'SYSTEM' });
      });
      const salesforce = (await deliveriesOf(tx, a.account.id)).filter((delivery) => delivery.status === 'PENDING');
      expect(salesforce.map((delivery) => delivery.endpointId).sort()).toEqual([all.id, second.id, salesforceOnly.id].sort());
      expect(salesforce[0].payload).toMatchObject({
        data: { connection: { status: 'ACTIVE', previousStatus: 'DISCONNECTED', reason: null, interpretation: null, resolution: null } },
      });

      // Creation: an OAuth connection starts PENDING, and that is a status change too.
      await tx.update(webhookDeliveries).set({ status: 'SENT' }).where(eq(webhookDeliveries.accountId, a.account.id));
      const started = await graphql(
        tx,
        a.member.viewer,
        `mutation { startConnection(input: { integration: "hubspot", name: "New HubSpot" }) { ... on StartConnectionSuccess { result { connection { id } } } } }`,
      );
      const created = (await deliveriesOf(tx, a.account.id)).filter((delivery) => delivery.status === 'PENDING');
      expect(created).toHaveLength(2);
      expect(created[0].payload).toMatchObject({
        data: {
          connection: { id: started.data!.startConnection.result.connection.id, name: 'New HubSpot', status: 'PENDING', previousStatus: null },
        },
      });
    });
  });

  it('a rolled-back transaction enqueues nothing and nothing is sent', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      await register(tx, a);
      const received = receiver.received.length;
      let inside = -1;
      await expect(
        transaction(tx, async (inner) => {
          await transition(inner, a.connections.shared, 'DISCONNECTED', { kind: 'SYSTEM' }, { reason: 'UNKNOWN', message: null });
          inside = (await deliveriesOf(inner, a.account.id)).length;
          throw new Error('the caller failed after the transition');
        }),
      ).rejects.toThrow('the caller failed');
      expect(inside).toBe(1);
      expect(await deliveriesOf(tx, a.account.id)).toHaveLength(0);
      expect(await drain(tx, outboxFor(a.account.id))).toEqual({ delivered: 0, retried: 0, failed: 0 });
      expect(receiver.received.length).toBe(received);
    });
  });

  it('5xx and timeouts are retried with the same id and body until the receiver takes it; Retry-After is honoured; the budget ends in FAILED', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const endpoint = await register(tx, a);
      const outbox = outboxFor(a.account.id);
      const received = receiver.received.length;
      receiver.answers = [{ status: 500, body: 'upstream\n exploded <html>' }, { status: 200 }];
      await graphql(tx, a.service.viewer, REPORT, { id: a.connections.shared.gid });

      expect(await drain(tx, outbox)).toEqual({ delivered: 0, retried: 1, failed: 0 });
      let [logged] = (await endpointLog(tx, a.admin.viewer, endpoint.gid)).deliveries.nodes;
      expect(logged).toMatchObject({ status: 'PENDING', attempts: 1, lastError: 'HTTP 500: upstream exploded <html>', responseStatus: 500, deliveredAt: null });
      expect(logged.nextAttemptAt).not.toBeNull();
      // Not due yet: another round sends nothing.
      expect(await drain(tx, outbox)).toEqual({ delivered: 0, retried: 0, failed: 0 });
      await makeDue(tx, a.account.id);
      expect(await drain(tx, outbox)).toEqual({ delivered: 1, retried: 0, failed: 0 });
      [logged] = (await endpointLog(tx, a.admin.viewer, endpoint.gid)).deliveries.nodes;
      expect(logged).toMatchObject({ status: 'SENT', attempts: 2, responseStatus: 200, lastError: null });
      const attempts = receiver.received.slice(received);
      expect(attempts.map((request) => request.status)).toEqual([500, 200]);
      expect(attempts.every((request) => request.verified.ok)).toBe(true);
      expect(new Set(attempts.map((request) => request.headers['webhook-id'])).size).toBe(1);
      expect(attempts[0].body).toBe(attempts[1].body);

      // 503 with Retry-After: the retry waits at least that long.
      receiver.answers = [{ status: 503, headers: { 'retry-after': '120' } }];
      const test = await sendTestWebhook(tx, a.admin.viewer, endpoint.id);
      expect(await drain(tx, outbox)).toEqual({ delivered: 0, retried: 1, failed: 0 });
      const [{ wait }] = (await tx
        .select({ wait: sql<number>`extract(epoch from ${webhookDeliveries.nextAttemptAt} - now())` })
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.id, test.id))) as { wait: number }[];
      expect(Number(wait)).toBeCloseTo(120, 0);

      // No answer within the service timeout is a retry too; the third failure spends the budget.
      setServiceTimeout(300);
      try {
        receiver.answers = [{ status: 500, delayMs: 2_000 }, { status: 502 }];
        await makeDue(tx, a.account.id);
        expect(await drain(tx, outbox)).toEqual({ delivered: 0, retried: 1, failed: 0 });
        const [timedOut] = await tx.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, test.id));
        // The same words as a closed port: the delivery log does not tell them apart.
        expect(timedOut).toMatchObject({ status: 'PENDING', attempts: 2, lastError: `Could not reach 127.0.0.1:${new URL(receiver.url).port}` });
      } finally {
        setServiceTimeout(10_000);
      }
      await makeDue(tx, a.account.id);
      expect(await drain(tx, outbox)).toEqual({ delivered: 0, retried: 0, failed: 1 });
      const [spent] = await tx.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, test.id));
      expect(spent).toMatchObject({ status: 'FAILED', attempts: 3, lastError: 'HTTP 502', responseStatus: 502 });
    });
  });

  it('a failure that may pass holds back the endpoint’s other deliveries for the round; a 410 fails them all', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const endpoint = await register(tx, a);
      const outbox = outboxFor(a.account.id);
      const received = receiver.received.length;
      await disconnect(tx, a.connections.shared);
      await disconnect(tx, a.connections.memberPrivate);
      receiver.answers = [{ status: 502 }];
      expect(await drain(tx, outbox)).toEqual({ delivered: 0, retried: 2, failed: 0 });
      expect(receiver.received.length).toBe(received + 1);
      expect((await deliveriesOf(tx, a.account.id)).map((row) => row.lastError).sort()).toEqual([
        'HTTP 502',
        'Not attempted: an earlier delivery to this endpoint failed in the same round',
      ]);
      receiver.answers = [{ status: 410 }];
      await makeDue(tx, a.account.id);
      expect(await drain(tx, outbox)).toEqual({ delivered: 0, retried: 0, failed: 2 });
      expect(receiver.received.length).toBe(received + 2);
      expect((await deliveriesOf(tx, a.account.id)).map((row) => row.lastError).sort()).toEqual([
        'HTTP 410 (the endpoint was disabled)',
        'The endpoint answered 410 Gone and was disabled',
      ]);
      expect((await endpointLog(tx, a.admin.viewer, endpoint.gid)).enabled).toBe(false);
    });
  });

  it('a 4xx fails at once; 410 Gone also disables the endpoint, which then gets nothing', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const endpoint = await register(tx, a);
      const outbox = outboxFor(a.account.id);
      receiver.answers = [{ status: 404, body: 'no such hook' }];
      await sendTestWebhook(tx, a.admin.viewer, endpoint.id);
      expect(await drain(tx, outbox)).toEqual({ delivered: 0, retried: 0, failed: 1 });
      let logged = await endpointLog(tx, a.admin.viewer, endpoint.gid);
      const ofType = (type: string) => logged.deliveries.nodes.find((node: { eventType: string }) => node.eventType === type);
      expect(logged).toMatchObject({ enabled: true, disabledReason: null });
      expect(ofType('webhook.test')).toMatchObject({ status: 'FAILED', attempts: 1, lastError: 'HTTP 404: no such hook', responseStatus: 404 });

      // A redirect is not followed (it could lead anywhere), and counts as a permanent failure.
      const beforeRedirect = receiver.received.length;
      receiver.answers = [{ status: 307, headers: { location: `${receiver.url}?followed=1` } }];
      const redirected = await sendTestWebhook(tx, a.admin.viewer, endpoint.id);
      expect(await drain(tx, outbox)).toEqual({ delivered: 0, retried: 0, failed: 1 });
      expect(receiver.received.length).toBe(beforeRedirect + 1);
      const [redirectRow] = await tx.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, redirected.id));
      expect(redirectRow).toMatchObject({ status: 'FAILED', responseStatus: 307, lastError: 'HTTP 307 (redirects are not followed; register the final URL)' });
      await tx.delete(webhookDeliveries).where(eq(webhookDeliveries.id, redirected.id));

      receiver.answers = [{ status: 410 }];
      await graphql(tx, a.service.viewer, REPORT, { id: a.connections.shared.gid });
      expect(await drain(tx, outbox)).toEqual({ delivered: 0, retried: 0, failed: 1 });
      logged = await endpointLog(tx, a.admin.viewer, endpoint.gid);
      expect(logged.enabled).toBe(false);
      expect(logged.disabledReason).toMatch(/410 Gone/);
      expect(ofType('connection.status_changed')).toMatchObject({
        status: 'FAILED',
        attempts: 1,
        responseStatus: 410,
        lastError: 'HTTP 410 (the endpoint was disabled)',
      });

      const received = receiver.received.length;
      await disconnect(tx, a.connections.memberPrivate);
      expect(await deliveriesOf(tx, a.account.id)).toHaveLength(2);
      const test = await graphql(tx, a.admin.viewer, `mutation($id: ID!) { sendTestWebhook(input: { id: $id }) { __typename ... on Error { message } } }`, { id: endpoint.gid });
      expect(test.data!.sendTestWebhook).toMatchObject({ __typename: 'ValidationError', message: 'The endpoint is disabled; enable it first' });
      expect(await drain(tx, outbox)).toEqual({ delivered: 0, retried: 0, failed: 0 });
      expect(receiver.received.length).toBe(received);
    });
  });

  it('two drains at once deliver each delivery exactly once', async () => {
    // Committed rows: each drain claims on its own pooled connection.
    const a = await tenant(db(), 'concurrent');
    const endpoint = await register(db(), a);
    const count = 24;
    for (let i = 0; i < count; i++) await sendTestWebhook(db(), a.admin.viewer, endpoint.id);
    receiver.answers = Array.from({ length: count }, () => ({ status: 200, delayMs: 10 }));
    const received = receiver.received.length;
    const outbox = outboxFor(a.account.id, { policy: { ...FAST, batchSize: 4 } });
    const [first, second] = await Promise.all([drain(db(), outbox), drain(db(), outbox)]);
    expect(first.delivered + second.delivered).toBe(count);
    // Both drains did part of the work, interleaved.
    expect(first.delivered).toBeGreaterThan(0);
    expect(second.delivered).toBeGreaterThan(0);
    expect(first.retried + second.retried + first.failed + second.failed).toBe(0);
    const requests = receiver.received.slice(received);
    expect(requests).toHaveLength(count);
    expect(new Set(requests.map((request) => request.headers['webhook-id'])).size).toBe(count);
    const rows = await deliveriesOf(db(), a.account.id);
    expect(rows.every((row) => row.status === 'SENT' && row.attempts === 1)).toBe(true);
    receiver.answers = [];
  });

  it('endpoints are reachable only from their own account, and only admins change them (SERVICE tokens read)', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const b = await tenant(tx, 'b');
      const endpoint = await register(tx, a);
      const test = await sendTestWebhook(tx, a.admin.viewer, endpoint.id);
      const deliveryGid = encodeGlobalId('WebhookDelivery', test.id);
      const LIST = `{ viewer { account { webhookEndpoints(first: 10) { totalCount nodes { id } } } } }`;

      // Another account: node lookups are null, lists are empty, mutations answer NotFound.
      const foreign = await graphql(tx, b.admin.viewer, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: [endpoint.gid, deliveryGid] });
      expect(foreign.data).toEqual({ nodes: [null, null] });
      expect((await graphql(tx, b.admin.viewer, LIST)).data!.viewer.account.webhookEndpoints.totalCount).toBe(0);
      const attempts = {
        update: `mutation($id: ID!) { r: updateWebhookEndpoint(input: { id: $id, enabled: false }) { __typename } }`,
        rotate: `mutation($id: ID!) { r: rotateWebhookEndpointSecret(input: { id: $id }) { __typename } }`,
        delete: `mutation($id: ID!) { r: deleteWebhookEndpoint(input: { id: $id }) { __typename } }`,
        test: `mutation($id: ID!) { r: sendTestWebhook(input: { id: $id }) { __typename } }`,
      };
      for (const document of Object.values(attempts)) {
        const result = await graphql(tx, b.admin.viewer, document, { id: endpoint.gid });
        expect(result.data!.r.__typename).toBe('NotFoundError');
      }
      const [unchanged] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
      expect(unchanged).toMatchObject({ enabled: true, url: receiver.url });
      expect(await deliveriesOf(tx, a.account.id)).toHaveLength(1);

      // In the account: members see no endpoints and may change none.
      expect((await graphql(tx, a.member.viewer, LIST)).data!.viewer.account.webhookEndpoints).toBeNull();
      expect((await graphql(tx, a.editor.viewer, ENDPOINT, { id: endpoint.gid })).data!.node).toBeNull();
      for (const document of Object.values(attempts)) {
        const result = await graphql(tx, a.member.viewer, document, { id: endpoint.gid });
        expect(result.data!.r.__typename).toBe('ForbiddenError');
      }
      const created = await graphql(tx, a.member.viewer, CREATE, { input: { url: receiver.url } });
      expect(created.data!.createWebhookEndpoint.__typename).toBe('ForbiddenError');

      // A SERVICE token of a member reads endpoints and their log, and changes nothing.
      const { token } = await issueApiToken(tx, { accountId: a.account.id, userId: a.member.user.id, name: 'worker', kind: 'SERVICE' });
      const worker = (await authenticateToken(tx, token))!;
      expect((await graphql(tx, worker, LIST)).data!.viewer.account.webhookEndpoints.nodes).toEqual([{ id: endpoint.gid }]);
      expect((await endpointLog(tx, worker, endpoint.gid)).deliveries.totalCount).toBe(1);
      expect((await graphql(tx, worker, attempts.update, { id: endpoint.gid })).data!.r.__typename).toBe('ForbiddenError');

      // The admin deletes it, and its log goes with it.
      const deleted = await graphql(tx, a.admin.viewer, attempts.delete.replace('__typename', '__typename ... on DeleteWebhookEndpointSuccess { deletedId }'), { id: endpoint.gid });
      expect(deleted.data!.r).toEqual({ __typename: 'DeleteWebhookEndpointSuccess', deletedId: endpoint.gid });
      expect(await deliveriesOf(tx, a.account.id)).toHaveLength(0);
    });
  });

  it('the secret is shown only by create and rotate, is stored sealed, never logged; rotation re-signs', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const { secret, gid, id } = await register(tx, a);
      const lines = logLines.length;
      const outbox = outboxFor(a.account.id);
      receiver.answers = [{ status: 500, body: `echo ${secret}` }, { status: 200 }];
      await graphql(tx, a.admin.viewer, `mutation($id: ID!) { sendTestWebhook(input: { id: $id }) { __typename } }`, { id: gid });
      // The worker's round, as main.ts runs it: one failure, logged.
      const worker = startOutboxWorker({ db: tx, log }, [outbox], 60_000);
      worker.wake();
      await worker.stop();
      // The receiver echoed the secret in its error page: the stored excerpt has it scrubbed.
      const [afterRound] = await deliveriesOf(tx, a.account.id);
      expect(afterRound).toMatchObject({ status: 'PENDING', attempts: 1, lastError: 'HTTP 500: echo [redacted]' });
      await makeDue(tx, a.account.id);
      expect(await drain(tx, outbox)).toEqual({ delivered: 1, retried: 0, failed: 0 });
      const first = receiver.received.at(-1)!;
      expect(first.verified.ok).toBe(true);
      expect((first.verified as { payload: unknown }).payload).toMatchObject({ type: 'webhook.test', data: { endpoint: { id: gid } } });

      // Rotated with the default grace period, the old secret is kept (sealed) and signs too.
      const newSecret = await rotate(tx, a, gid);
      expect(newSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(newSecret).not.toBe(secret);
      receiver.secret = newSecret;
      // The receiver echoes both secrets in an error page: both are scrubbed from the stored excerpt.
      receiver.answers = [{ status: 500, body: `echo ${secret} and ${newSecret.slice('whsec_'.length)}` }, { status: 200 }];
      const echoed = await sendTestWebhook(tx, a.admin.viewer, id);
      expect(await drain(tx, outbox)).toEqual({ delivered: 0, retried: 1, failed: 0 });
      const [scrubbed] = await tx.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, echoed.id));
      expect(scrubbed.lastError).toBe('HTTP 500: echo [redacted] and [redacted]');
      await makeDue(tx, a.account.id);
      expect(await drain(tx, outbox)).toEqual({ delivered: 1, retried: 0, failed: 0 });
      const second = receiver.received.at(-1)!;
      expect(second.verified.ok).toBe(true);
      expect(receiver.verify(second, secret).ok).toBe(true);

      // Everything else a reader can ask for carries neither secret.
      const everything = await graphql(
        tx,
        a.admin.viewer,
        `query($id: ID!) {
          viewer { account { webhookEndpoints(first: 10) { nodes { id url description enabled disabledReason integrationKeys previousSecretExpiresAt createdAt updatedAt } } } }
          node(id: $id) { ... on WebhookEndpoint { deliveries(first: 10) { nodes { id eventType status attempts lastError responseStatus payload createdAt deliveredAt } } } }
        }`,
        { id: gid },
      );
      expect(everything.errors).toBeUndefined();
      const logged = logLines.slice(lines).join('\n');
      expect(logged).toMatch(/webhook delivery failed/);
      const [row] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
      const [previous] = await tx.select().from(webhookPreviousSecrets).where(eq(webhookPreviousSecrets.endpointId, id));
      const stored = [row.ciphertext, previous.ciphertext].flatMap((blob) => [blob.toString('latin1'), blob.toString('base64')]);
      for (const value of [secret, newSecret]) {
        const bare = value.slice('whsec_'.length);
        for (const text of [JSON.stringify(everything), logged, ...stored]) {
          expect(text).not.toContain(bare);
        }
      }
      expect(row.keyId).toBe(testVault.currentKeyId);
      expect(previous.keyId).toBe(testVault.currentKeyId);
    });
  });

  it('a rotation keeps the old secret signing for its grace period: deliveries verify with either, then only with the new one', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const { secret: first, gid, id } = await register(tx, a);
      const outbox = outboxFor(a.account.id);
      /** Sends a test webhook and returns the request the receiver got. */
      const delivered = async () => {
        const received = receiver.received.length;
        await sendTestWebhook(tx, a.admin.viewer, id);
        expect(await drain(tx, outbox)).toEqual({ delivered: 1, retried: 0, failed: 0 });
        expect(receiver.received.length).toBe(received + 1);
        return receiver.received.at(-1)!;
      };
      const verifiesWith = (request: ReceivedWebhook, secrets: string[]) => secrets.map((secret) => receiver.verify(request, secret).ok);
      const expiresIn = async () => {
        const expiresAt: string | null = (await endpointLog(tx, a.admin.viewer, gid)).previousSecretExpiresAt;
        return expiresAt === null ? null : Math.round((Date.parse(expiresAt) - Date.now()) / 3_600_000);
      };
      expect(await expiresIn()).toBeNull();

      // Rotated (default: 24 hours), the partner still runs with the first secret: it verifies.
      const second = await rotate(tx, a, gid);
      expect(await expiresIn()).toBe(24);
      let request = await delivered();
      expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*$/);
      expect(request.verified.ok).toBe(true);
      expect(verifiesWith(request, [first, second, 'whsec_' + Buffer.alloc(32).toString('base64')])).toEqual([true, true, false]);

      // Rotated again within the grace period: only one previous secret is kept, the second.
      const third = await rotate(tx, a, gid, 2);
      expect(await expiresIn()).toBe(2);
      receiver.secret = second;
      request = await delivered();
      expect(verifiesWith(request, [first, second, third])).toEqual([false, true, true]);

      // The grace period is over: only the newest secret signs, and the field is null.
      await tx.update(webhookPreviousSecrets).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(webhookPreviousSecrets.endpointId, id));
      expect(await expiresIn()).toBeNull();
      receiver.secret = third;
      request = await delivered();
      expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(verifiesWith(request, [first, second, third])).toEqual([false, false, true]);

      // keepPreviousForHours: 0 drops the old secret at once.
      await rotate(tx, a, gid, 12);
      const fifth = await rotate(tx, a, gid, 0);
      expect(await expiresIn()).toBeNull();
      expect(await tx.select().from(webhookPreviousSecrets).where(eq(webhookPreviousSecrets.endpointId, id))).toHaveLength(0);
      receiver.secret = fifth;
      request = await delivered();
      expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(verifiesWith(request, [third, fifth])).toEqual([false, true]);
    });
  });

  it('keepPreviousForHours outside 0..168 is a ValidationError and changes nothing', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const { gid, id } = await register(tx, a);
      await rotate(tx, a, gid, 5);
      const snapshot = async () => ({
        endpoint: (await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)))[0],
        previous: await tx.select().from(webhookPreviousSecrets).where(eq(webhookPreviousSecrets.endpointId, id)),
      });
      const before = await snapshot();
      for (const hours of [-1, 169, 100_000]) {
        const result = await graphql(tx, a.admin.viewer, ROTATE, { id: gid, hours });
        expect(result.data!.rotateWebhookEndpointSecret, String(hours)).toEqual({
          __typename: 'ValidationError',
          field: 'keepPreviousForHours',
          message: 'keepPreviousForHours must be a whole number from 0 to 168',
        });
      }
      // Not an Int at all: GraphQL refuses it before the mutation runs.
      expect((await graphql(tx, a.admin.viewer, ROTATE, { id: gid, hours: 1.5 })).errors?.[0].message).toMatch(/Int/);
      expect(await snapshot()).toEqual(before);
    });
  });

  it('refuses private, loopback, link-local and metadata addresses, plain http and bad input when private addresses are not allowed', async () => {
    await withOutbound({}, () => inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const refused = [
        ['http://127.0.0.1:8080/hook', 'url refused: 127.0.0.1 is a private address; private addresses are not allowed'],
        ['http://8.8.8.8/hook', 'url refused: 8.8.8.8: plain http is not allowed to public addresses; use https'],
        ['https://127.0.0.1/hook', 'url refused: 127.0.0.1 is a private address; private addresses are not allowed'],
        // A name says only that it resolves to a private address, not which.
        ['https://localhost/hook', 'url refused: localhost resolves to a private address; private addresses are not allowed'],
        ['https://10.0.0.5/hook', /10\.0\.0\.5 is a private address/],
        ['https://192.168.1.20/hook', /is a private address/],
        ['https://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a private address/],
        ['https://100.100.100.200/', /is a private address/],
        ['https://[::1]/hook', /\[::1\] is a private address/],
        ['https://[::ffff:127.0.0.1]/hook', /is a private address/],
        ['https://[fd00:ec2::254]/', /is a private address/],
        ['https://0.0.0.0/', /is a private address/],
        ['not a url', 'url must be an absolute URL'],
        ['ftp://files.example.com/hook', 'url must use https:'],
        ['https://user:pass@8.8.8.8/hook', 'url must not carry a user name or password'],
        [`https://8.8.8.8/${'x'.repeat(2000)}`, 'url must be 1 to 2000 characters'],
      ] as const;
      for (const [url, message] of refused) {
        const result = await graphql(tx, a.admin.viewer, CREATE, { input: { url } });
        expect(result.data!.createWebhookEndpoint, url).toMatchObject({ __typename: 'ValidationError', field: 'url' });
        expect(result.data!.createWebhookEndpoint.message, url).toMatch(message);
      }
      const long = await graphql(tx, a.admin.viewer, CREATE, { input: { url: 'https://8.8.8.8/hook', description: 'x'.repeat(501) } });
      expect(long.data!.createWebhookEndpoint).toMatchObject({ __typename: 'ValidationError', field: 'description' });
      const unknown = await graphql(tx, a.admin.viewer, CREATE, { input: { url: 'https://8.8.8.8/hook', integrationKeys: ['nope'] } });
      expect(unknown.data!.createWebhookEndpoint).toMatchObject({ __typename: 'ValidationError', field: 'integrationKeys' });
      expect(await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.accountId, a.account.id))).toHaveLength(0);
      // A public address is accepted (nothing is sent to it: this test never drains).
      const accepted = await graphql(tx, a.admin.viewer, CREATE, { input: { url: 'https://8.8.8.8/hook' } });
      expect(accepted.data!.createWebhookEndpoint.__typename).toBe('CreateWebhookEndpointSuccess');
      // An update to a private address is refused and changes nothing.
      const acceptedGid = accepted.data!.createWebhookEndpoint.payload.webhookEndpoint.id;
      const moved = await graphql(
        tx,
        a.admin.viewer,
        `mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, url: "https://127.0.0.1/x", description: "moved" }) { __typename ... on ValidationError { field } } }`,
        { id: acceptedGid },
      );
      expect(moved.data!.updateWebhookEndpoint).toEqual({ __typename: 'ValidationError', field: 'url' });
      expect(await endpointLog(tx, a.admin.viewer, acceptedGid)).toMatchObject({ url: 'https://8.8.8.8/hook', description: null });
    }));
  });

  it('reach the private ranges PATCHBAY_ALLOW_PRIVATE_HOSTS lists, over http too, and every private address under the deprecated switch', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const create = async (url: string) => (await graphql(tx, a.admin.viewer, CREATE, { input: { url } })).data!.createWebhookEndpoint;
      await withOutbound({ PATCHBAY_ALLOW_PRIVATE_HOSTS: '10.0.0.0/8' }, async () => {
        expect(await create('http://10.1.2.3/hook')).toMatchObject({ __typename: 'CreateWebhookEndpointSuccess' });
        expect(await create('https://192.168.1.20/hook')).toMatchObject({ __typename: 'ValidationError', message: /192\.168\.1\.20 is a private address/ });
      });
      await withOutbound({ PATCHBAY_WEBHOOK_ALLOW_PRIVATE: 'true' }, async () => {
        expect(await create('http://192.168.1.20/hook')).toMatchObject({ __typename: 'CreateWebhookEndpointSuccess' });
        // Public hosts stay https only.
        expect(await create('http://8.8.8.8/hook')).toMatchObject({ __typename: 'ValidationError', message: /plain http is not allowed/ });
        // The deprecated switch is for webhooks only: a database login to loopback is still refused.
        const login = await graphql(tx, a.member.viewer, `mutation($input: StartConnectionInput!) { startConnection(input: $input) { __typename ... on Error { message } } }`, {
          input: { integration: 'postgresql', name: 'Loopback', credentials: { host: '127.0.0.1', port: '5432', database: 'x', user: 'x', password: 'x' } },
        });
        expect(login.data!.startConnection).toMatchObject({ __typename: 'ValidationError', message: /127\.0\.0\.1 is a private address; private addresses are not allowed/ });
      });
    });
  });

  it('checks the address again at delivery, in the connection’s own DNS lookup', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const literal = await register(tx, a);
      const port = new URL(receiver.url).port;
      const named = await register(tx, a, { url: `http://localhost:${port}/hooks/patchbay` });
      const received = receiver.received.length;
      await sendTestWebhook(tx, a.admin.viewer, literal.id);
      await sendTestWebhook(tx, a.admin.viewer, named.id);
      // The operator turned private addresses off after these were registered.
      expect(await withOutbound({}, () => drain(tx, outboxFor(a.account.id)))).toEqual({ delivered: 0, retried: 0, failed: 2 });
      expect(receiver.received.length).toBe(received);
      const rows = await deliveriesOf(tx, a.account.id);
      const errorOf = (endpointId: string) => rows.find((row) => row.endpointId === endpointId)!.lastError;
      expect(errorOf(literal.id)).toBe('Refused: 127.0.0.1 is a private address; private addresses are not allowed');
      expect(errorOf(named.id)).toBe('Refused: localhost resolves to a private address; private addresses are not allowed');
      // Over https the lookup hook is what refuses a name that resolves to this machine.
      await tx.update(webhookEndpoints).set({ url: `https://localhost:${port}/hooks/patchbay` }).where(eq(webhookEndpoints.id, named.id));
      await tx.update(webhookEndpoints).set({ url: `https://127.0.0.1:${port}/hooks/patchbay` }).where(eq(webhookEndpoints.id, literal.id));
      await tx.update(webhookDeliveries).set({ status: 'PENDING', attempts: 0 }).where(eq(webhookDeliveries.accountId, a.account.id));
      await makeDue(tx, a.account.id);
      expect(await withOutbound({}, () => drain(tx, outboxFor(a.account.id)))).toEqual({ delivered: 0, retried: 0, failed: 2 });
      const again = await deliveriesOf(tx, a.account.id);
      const refusedOf = (endpointId: string) => again.find((row) => row.endpointId === endpointId)!.lastError;
      expect(refusedOf(literal.id)).toBe('Refused: 127.0.0.1 is a private address; private addresses are not allowed');
      expect(refusedOf(named.id)).toBe('Refused: localhost resolves to a private address; private addresses are not allowed');
      expect(receiver.received.length).toBe(received);
      const [stillThere] = await tx
        .select()
        .from(webhookEndpoints)
        .where(and(eq(webhookEndpoints.id, named.id), eq(webhookEndpoints.enabled, true)));
      expect(stillThere).toBeDefined();
    });
  });
});

describe('the gateway process (npm start)', () => {
  it('starts the outbox worker and wakes it at commit: a reported error and a test webhook reach the receiver long before the next interval', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchbay-hooks-'));
    try {
      // Set up before the gateway starts: PGlite allows one process per data dir.
      const database = await openDatabase({ dataDir: dir });
      let token: string;
      let connectionGid: string;
      try {
        await database.migrate();
        const { owner } = await createAccount(database.db, { name: 'Gateway', owner: { email: 'owner@gateway.test', name: 'Owner' } });
        ({ token } = await issueApiToken(database.db, { accountId: owner.accountId, userId: owner.id, name: 'e2e', kind: 'USER' }));
        const [connection] = await database.db
          .insert(connections)
          .values({
            accountId: owner.accountId,
            ownerId: owner.id,
            integrationKey: 'stripe',
            name: 'Stripe live',
            status: 'ACTIVE',
            // Not due for a health check: the gateway makes no outbound call of its own.
            nextCheckAt: new Date(Date.now() + 365 * 86_400_000).toISOString(),
          })
          .returning();
        connectionGid = encodeGlobalId('Connection', connection.id);
      } finally {
        await database.close();
      }
      const gateway = await startScript(
        'server/main.ts',
        {
          PATCHBAY_DATA_DIR: dir,
          DATABASE_URL: '',
          PORT: '0',
          LOG_LEVEL: 'error',
          PATCHBAY_SEED_DEMO: 'false',
          PATCHBAY_WEBHOOK_ALLOW_PRIVATE: 'true',
          // Ten minutes: whatever arrives during this test was sent because the commit woke the worker.
          PATCHBAY_OUTBOX_INTERVAL_MS: '600000',
        },
        /GraphQL:\s+\S+\/graphql/,
      );
      try {
        const base = /GraphQL:\s+(\S+)\/graphql/.exec(gateway.stdout())![1];
        const created = await postGraphql(base, token, CREATE, { input: { url: receiver.url } });
        const endpoint = created.data!.createWebhookEndpoint.payload;
        receiver.secret = endpoint.secret;
        /** Runs `send` and waits (15 s at most) for the one request it causes. */
        const arrival = async (send: () => Promise<void>) => {
          const received = receiver.received.length;
          const sentAt = Date.now();
          await send();
          while (receiver.received.length === received && Date.now() - sentAt < 15_000) await new Promise((resolve) => setTimeout(resolve, 25));
          expect(receiver.received.length).toBe(received + 1);
          return receiver.received.at(-1)!;
        };
        // First (nothing has woken the worker yet), a test webhook: it changes no connection, its own commit wakes the worker.
        const tested = await arrival(async () => {
          const result = await postGraphql(base, token, `mutation($id: ID!) { sendTestWebhook(input: { id: $id }) { __typename } }`, {
            id: endpoint.webhookEndpoint.id,
          });
          expect(result.data!.sendTestWebhook.__typename).toBe('SendTestWebhookSuccess');
        });
        expect(tested.verified).toMatchObject({ ok: true, payload: { type: 'webhook.test', data: { endpoint: { id: endpoint.webhookEndpoint.id } } } });
        // Then a status change.
        const reported = await arrival(async () => {
          const result = await postGraphql(base, token, REPORT, { id: connectionGid });
          expect(result.data!.reportConnectionError.__typename).toBe('ReportConnectionErrorSuccess');
        });
        expect(reported.verified).toMatchObject({
          ok: true,
          payload: { type: 'connection.status_changed', data: { connection: { id: connectionGid, status: 'DISCONNECTED', reason: 'INVALID_REFRESH_TOKEN' } } },
        });
      } finally {
        expect(await gateway.stop()).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
