import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openPostgres } from '../server/db/client.js';
import { dataSources, refreshRuns } from '../server/db/schema.js';
import { tenant, type Tenant } from './support/fixtures.js';
import { postGraphql } from './support/graphql-http.js';
import { wsClient } from './support/live-clients.js';
import { startScript } from './support/processes.js';

const url = process.env.TEST_DATABASE_URL;
const SOURCES = 400;
const WORKERS = 4;

const CLAIM = `mutation($max: Int!) {
  claimRefreshes(input: { integrations: ["google-analytics-4"], max: $max }) {
    __typename
    ... on ClaimRefreshesSuccess { claims { dataSource { id } refreshRun { id } } }
    ... on Error { message }
  }
}`;

describe.runIf(url)('refresh dispatch across gateway processes on one PostgreSQL', () => {
  const secretKey = `ci:${randomBytes(32).toString('base64')}`;
  let database: DatabaseHandle;
  let t: Tenant;
  const gateways: { url: string; stop: () => Promise<number | null> }[] = [];

  beforeAll(async () => {
    database = await openPostgres(url!, { max: 4 });
    t = await tenant(database.db, 'dispatch-cluster');
    await database.db.insert(dataSources).values(
      Array.from({ length: SOURCES }, (_, i) => ({
        accountId: t.account.id,
        connectionId: t.connections.shared.id,
        resourceId: `properties/${i}`,
        name: `Source ${i}`,
        schedule: '0 * * * *',
      })),
    );
    for (let i = 0; i < 2; i++) {
      const gateway = await startScript(
        'server/main.ts',
        // No background jobs: the health job would check (and, lacking credentials, disconnect) the fixture's connections mid-test.
        { DATABASE_URL: url, PATCHBAY_SECRET_KEY: secretKey, PORT: '0', LOG_LEVEL: 'error', PATCHBAY_SEED_DEMO: 'false', PATCHBAY_REFRESH_DISPATCH_INTERVAL_MS: '500', PATCHBAY_JOBS: 'false' },
        /GraphQL:\s+\S+/,
      );
      gateways.push({ url: /GraphQL:\s+(\S+)\/graphql/.exec(gateway.stdout())![1], stop: gateway.stop });
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await database?.close();
  });

  it(`${WORKERS} workers on 2 gateways claiming at once never get the same data source, and together get every due one`, async () => {
    const due = await database.db.select({ id: dataSources.id }).from(dataSources).where(eq(dataSources.accountId, t.account.id));
    const claimedBy: string[][] = Array.from({ length: WORKERS }, () => []);
    await Promise.all(
      claimedBy.map(async (mine, worker) => {
        const gateway = gateways[worker % 2].url;
        for (;;) {
          const { data } = await postGraphql(gateway, t.service.token, CLAIM, { max: 25 });
          expect(data.claimRefreshes.__typename).toBe('ClaimRefreshesSuccess');
          const claims = data.claimRefreshes.claims as { dataSource: { id: string } }[];
          if (claims.length === 0) return;
          mine.push(...claims.map((claim) => claim.dataSource.id));
        }
      }),
    );
    const all = claimedBy.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(due.length);
    // Every worker got a share: the claims really ran side by side.
    expect(claimedBy.filter((mine) => mine.length > 0).length).toBeGreaterThan(1);
    const runs = await database.db.select().from(refreshRuns).where(eq(refreshRuns.accountId, t.account.id));
    expect(runs.filter((run) => run.status === 'RUNNING')).toHaveLength(due.length);
  }, 120_000);

  it('refreshDue reaches a worker on another gateway: after Refresh now there, and when a schedule comes', async () => {
    const worker = wsClient(gateways[1].url, t.service.token);
    try {
      const { received } = worker.subscribe(`subscription { refreshDue(integrations: ["google-analytics-4", "salesforce"]) { integrations occurredAt } }`);
      // A source whose schedule comes in a moment: the clock of the subscriber's gateway notices it.
      const [soon] = await database.db
        .insert(dataSources)
        .values({ accountId: t.account.id, connectionId: t.connections.shared.id, resourceId: 'soon', name: 'Soon', schedule: '0 * * * *', nextRefreshAt: new Date(Date.now() + 1_500).toISOString() })
        .returning();
      const [first] = await received.until(1, 10_000);
      expect(first.data.refreshDue.integrations).toEqual(['google-analytics-4']);
      // Finish the source's run so Refresh now is allowed, then press it on the other gateway.
      await database.db.update(refreshRuns).set({ status: 'SUCCEEDED', finishedAt: new Date().toISOString() }).where(eq(refreshRuns.dataSourceId, t.dataSource.id));
      const now = await postGraphql(gateways[0].url, t.editor.token, `mutation($id: ID!) { refreshDataSourceNow(input: { id: $id }) { __typename ... on Error { message } } }`, { id: t.dataSource.gid });
      expect(now.data.refreshDataSourceNow.__typename).toBe('RefreshDataSourceNowSuccess');
      const messages = await received.until(2, 10_000);
      expect(messages[1].data.refreshDue.integrations).toEqual(['google-analytics-4']);
      expect(soon).toBeTruthy();
    } finally {
      await worker.dispose();
    }
  }, 60_000);

  it('refreshDue is for SERVICE tokens and known integrations only', async () => {
    const user = wsClient(gateways[0].url, t.owner.token);
    const service = wsClient(gateways[0].url, t.service.token);
    try {
      const refused = user.subscribe(`subscription { refreshDue(integrations: ["google-analytics-4"]) { occurredAt } }`).received;
      const unknown = service.subscribe(`subscription { refreshDue(integrations: ["no-such-service"]) { occurredAt } }`).received;
      const [forbidden] = await refused.until(1);
      expect(forbidden.errors[0].extensions.code).toBe('FORBIDDEN');
      const [invalid] = await unknown.until(1);
      expect(invalid.errors[0].extensions.code).toBe('VALIDATION');
    } finally {
      await user.dispose();
      await service.dispose();
    }
  }, 30_000);
});
