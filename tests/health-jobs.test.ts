import { and, eq, ne } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../server/db/client.js';
import { connectionEvents, connections } from '../server/db/schema.js';
import { DEFAULT_HEALTH_OPTIONS, type HealthOptions, runHealthRound } from '../server/jobs/health.js';
import { parseGlobalId } from '../server/domain/global-ids.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, tenant, testOAuthSettings, testVault } from './support/fixtures.js';
import { startStubService, type StubService } from './support/stub-service.js';

let stub: StubService;
beforeAll(async () => {
  stub = await startStubService();
});
afterAll(async () => {
  await stub.close();
});

async function connectToStub(tx: Database) {
  const a = await tenant(tx, 'jobs');
  await graphql(tx, a.admin.viewer, `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename } }`, {
    input: { key: 'stub-api', name: 'Stub API', authMethod: 'API_KEY', verifyUrl: `${stub.url}/me`, apiKeyHeader: 'X-Api-Key' },
  });
  stub.validKeys = new Set(['key-jobs-123456']);
  stub.mode = 'normal';
  const started = await graphql(
    tx,
    a.member.viewer,
    `mutation { startConnection(input: { integration: "stub-api", name: "Nightly", credentials: { apiKey: "key-jobs-123456" } }) { ... on StartConnectionSuccess { result { connection { id } } } } }`,
  );
  const id = parseGlobalId(started.data!.startConnection.result.connection.id, 'Connection');
  // The fixture's other connections are not due: each round below concerns this one only.
  await tx
    .update(connections)
    .set({ nextCheckAt: new Date(Date.now() + 365 * 86_400_000).toISOString() })
    .where(and(eq(connections.accountId, a.account.id), ne(connections.id, id)));
  const options: HealthOptions = { ...DEFAULT_HEALTH_OPTIONS, accountId: a.account.id, retryBudget: 3 };
  const row = async () => (await tx.select().from(connections).where(eq(connections.id, id)))[0];
  const makeDue = () => tx.update(connections).set({ nextCheckAt: new Date(Date.now() - 1000).toISOString() }).where(eq(connections.id, id));
  return { a, id, options, row, makeDue };
}

describeEachDatabase('the health-check job', (db) => {
  it('checks each due ACTIVE connection once and schedules the next check about a period later', async () => {
    await inRollback(db(), async (tx) => {
      const { id, options, row } = await connectToStub(tx);
      const calls = stub.requests.length;
      expect(await runHealthRound(tx, testVault, testOAuthSettings, options)).toMatchObject({ checked: 1, healthy: 1 });
      expect(stub.requests.length).toBe(calls + 1);
      const checked = await row();
      const next = Date.parse(checked.nextCheckAt!) - Date.now();
      expect(next).toBeGreaterThan(options.periodMs * 0.85);
      expect(next).toBeLessThan(options.periodMs * 1.15);
      // Not due again: a second round checks nothing.
      expect(await runHealthRound(tx, testVault, testOAuthSettings, options)).toMatchObject({ checked: 0 });
      expect(checked.id).toBe(id);
    });
  });

  it('transient failures back off (honouring Retry-After) and disconnect only when the retry budget is spent', async () => {
    await inRollback(db(), async (tx) => {
      const { id, options, row, makeDue } = await connectToStub(tx);
      stub.mode = 'rateLimited429';
      await makeDue();
      expect(await runHealthRound(tx, testVault, testOAuthSettings, options)).toMatchObject({ checked: 1, transient: 1 });
      let current = await row();
      expect(current).toMatchObject({ status: 'ACTIVE', transientFailures: 1 });
      expect(Date.parse(current.nextCheckAt!) - Date.now()).toBeGreaterThanOrEqual(6_000);
      stub.mode = 'unavailable503';
      await makeDue();
      await runHealthRound(tx, testVault, testOAuthSettings, options);
      current = await row();
      expect(current).toMatchObject({ status: 'ACTIVE', transientFailures: 2 });
      expect(Date.parse(current.nextCheckAt!) - Date.now()).toBeGreaterThan(options.baseBackoffMs * 2 * 0.75);
      await makeDue();
      await runHealthRound(tx, testVault, testOAuthSettings, options);
      stub.mode = 'normal';
      current = await row();
      expect(current).toMatchObject({ status: 'DISCONNECTED', disconnectReason: 'UNKNOWN', transientFailures: 0 });
      expect(current.errorMessage).toMatch(/Unreachable after 3 attempts/);
      const [event] = await tx.select().from(connectionEvents).where(eq(connectionEvents.connectionId, id)).orderBy(connectionEvents.seq).offset(1);
      expect(event).toMatchObject({ toStatus: 'DISCONNECTED', actorKind: 'SYSTEM' });
    });
  });

  it('a success resets the transient count; a definitive failure disconnects at once', async () => {
    await inRollback(db(), async (tx) => {
      const { options, row, makeDue } = await connectToStub(tx);
      stub.mode = 'error500';
      await makeDue();
      await runHealthRound(tx, testVault, testOAuthSettings, options);
      stub.mode = 'normal';
      await makeDue();
      await runHealthRound(tx, testVault, testOAuthSettings, options);
      expect(await row()).toMatchObject({ status: 'ACTIVE', transientFailures: 0 });
      stub.validKeys = new Set();
      await makeDue();
      expect(await runHealthRound(tx, testVault, testOAuthSettings, options)).toMatchObject({ disconnected: 1 });
      expect(await row()).toMatchObject({ status: 'DISCONNECTED', disconnectReason: 'INVALID_CREDENTIALS' });
    });
  });
});
