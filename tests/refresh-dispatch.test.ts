import { eq, inArray, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { countStatements, type Database, rowsOf } from '../server/db/client.js';
import { transaction } from '../server/db/transaction.js';
import { connections, dataSources, refreshRuns } from '../server/db/schema.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { transition } from '../server/domain/lifecycle.js';
import { abandonExpiredLeases, nextScheduledAt } from '../server/domain/refresh-dispatch.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, tenant, type Tenant } from './support/fixtures.js';

const CLAIM = `mutation($input: ClaimRefreshesInput!) {
  claimRefreshes(input: $input) {
    __typename
    ... on ClaimRefreshesSuccess {
      claims {
        leaseExpiresAt filter
        refreshRun { id status }
        dataSource { id name resourceId }
        connection { id name status }
      }
    }
    ... on Error { message code }
    ... on ValidationError { field }
  }
}`;

const UPDATE_RUN = `mutation($input: UpdateRefreshRunInput!) {
  updateRefreshRun(input: $input) {
    __typename
    ... on UpdateRefreshRunSuccess { refreshRun { id status rows error } }
    ... on Error { message code }
  }
}`;

const REFRESH_NOW = `mutation($id: ID!) {
  refreshDataSourceNow(input: { id: $id }) {
    __typename
    ... on RefreshDataSourceNowSuccess { dataSource { id nextRefreshAt late runningRun { id } } }
    ... on Error { message code }
  }
}`;

const SOURCE = `query($id: ID!) { node(id: $id) { ... on DataSource { status nextRefreshAt lastRefreshedAt late runningRun { id status rows } } } }`;

type Claim = { refreshRun: { id: string; status: string }; dataSource: { id: string; name: string }; connection: { id: string; status: string }; filter: unknown; leaseExpiresAt: string };

async function claim(db: Database, t: Tenant, input: Record<string, unknown>) {
  const result = await graphql(db, t.service.viewer, CLAIM, { input });
  expect(result.errors).toBeUndefined();
  return result.data!.claimRefreshes as { __typename: string; claims?: Claim[]; message?: string; field?: string; code?: string };
}

/** Makes every data source of the tenant wait for a schedule far away, so a test controls what is due. */
async function nothingDue(db: Database, t: Tenant) {
  await db.update(dataSources).set({ nextRefreshAt: '2999-01-01T00:00:00Z' }).where(eq(dataSources.accountId, t.account.id));
}

async function addSources(db: Database, t: Tenant, count: number, values: Partial<typeof dataSources.$inferInsert> = {}) {
  return db
    .insert(dataSources)
    .values(
      Array.from({ length: count }, (_, i) => ({
        accountId: t.account.id,
        connectionId: t.connections.shared.id,
        resourceId: `properties/${100 + i}`,
        name: `Due ${i}`,
        schedule: '0 * * * *',
        filter: { metric: `m${i}` },
        nextRefreshAt: new Date(Date.now() - 60_000 * (i + 1)).toISOString(),
        ...values,
      })),
    )
    .returning();
}

describe('schedules in UTC across day, month and year boundaries', () => {
  it.each([
    ['30 23 * * *', '2026-01-31T23:45:00Z', '2026-02-01T23:30:00.000Z'],
    ['0 0 1 * *', '2026-02-28T12:00:00Z', '2026-03-01T00:00:00.000Z'],
    ['0 6 29 2 *', '2026-03-01T00:00:00Z', '2028-02-29T06:00:00.000Z'],
    ['15 0 * * *', '2026-12-31T23:59:59Z', '2027-01-01T00:15:00.000Z'],
    ['0 */6 * * *', '2026-03-29T00:30:00Z', '2026-03-29T06:00:00.000Z'],
    ['0 2 * * *', '2026-03-29T01:59:59Z', '2026-03-29T02:00:00.000Z'],
  ])('%s after %s is %s (UTC: no daylight saving shift, whatever TZ the process has)', (schedule, after, next) => {
    expect(nextScheduledAt(schedule, new Date(after)).toISOString()).toBe(next);
  });
});

describeEachDatabase('refresh dispatch', (db) => {
  it('a SERVICE token claims due data sources with their connection and filter; each gets a RUNNING run, and a second claim gets none of them', async () => {
    await inRollback(db(), async (tx) => {
      const t = await tenant(tx, 'claim');
      await nothingDue(tx, t);
      const sources = await addSources(tx, t, 3);
      const first = await claim(tx, t, { integrations: ['google-analytics-4'], max: 2 });
      expect(first.__typename).toBe('ClaimRefreshesSuccess');
      // Oldest due first.
      expect(first.claims!.map((c) => c.dataSource.name)).toEqual(['Due 2', 'Due 1']);
      expect(first.claims![0]).toMatchObject({ filter: { metric: 'm2' }, refreshRun: { status: 'RUNNING' }, connection: { id: t.connections.shared.gid, status: 'ACTIVE' } });
      const second = await claim(tx, t, { integrations: ['google-analytics-4'], max: 10 });
      expect(second.claims!.map((c) => c.dataSource.name)).toEqual(['Due 0']);
      expect(await claim(tx, t, { integrations: ['google-analytics-4'] })).toMatchObject({ claims: [] });
      const runs = await tx.select().from(refreshRuns).where(inArray(refreshRuns.dataSourceId, sources.map((s) => s.id)));
      expect(runs.map((run) => run.status)).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);
      const [row] = await tx.select().from(dataSources).where(eq(dataSources.id, sources[0].id));
      expect(row.refreshRunId).toBe(runs.find((run) => run.dataSourceId === sources[0].id)!.id);
      // Still due by its schedule, but leased: it is running, not late.
      const node = await graphql(tx, t.owner.viewer, SOURCE, { id: encodeGlobalId('DataSource', sources[0].id) });
      expect(node.data!.node).toMatchObject({ late: false, runningRun: { status: 'RUNNING' }, nextRefreshAt: nextScheduledAt('0 * * * *', new Date()).toISOString() });
    });
  });

  it('a claim costs the same statements for one data source or a hundred', async () => {
    await inRollback(db(), async (tx) => {
      const t = await tenant(tx, 'count');
      await nothingDue(tx, t);
      await addSources(tx, t, 101);
      const one = await countStatements(() => graphql(tx, t.service.viewer, CLAIM, { input: { integrations: ['google-analytics-4'], max: 1 } }));
      const hundred = await countStatements(() => graphql(tx, t.service.viewer, CLAIM, { input: { integrations: ['google-analytics-4'], max: 100 } }));
      expect((one.result.data!.claimRefreshes as { claims: unknown[] }).claims).toHaveLength(1);
      expect((hundred.result.data!.claimRefreshes as { claims: unknown[] }).claims).toHaveLength(100);
      expect(hundred.statements.length).toBe(one.statements.length);
      // One claim statement (in a savepoint here); then one read per table the answer shows (runs, sources, connections).
      expect(hundred.statements.filter((s) => /for update of ds skip locked/.test(s))).toHaveLength(1);
      expect(hundred.statements.filter((s) => /^(insert|update)/i.test(s.trim()))).toHaveLength(0);
      expect(hundred.statements.length).toBeLessThanOrEqual(7);
    });
  });

  it('bad input and other tokens get typed errors and change nothing', async () => {
    await inRollback(db(), async (tx) => {
      const t = await tenant(tx, 'bad');
      const before = await tx.select().from(refreshRuns).where(eq(refreshRuns.accountId, t.account.id));
      const user = await graphql(tx, t.owner.viewer, CLAIM, { input: { integrations: ['google-analytics-4'] } });
      expect(user.data!.claimRefreshes).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
      expect(await claim(tx, t, { integrations: ['no-such-service'] })).toMatchObject({ __typename: 'ValidationError', field: 'integrations' });
      expect(await claim(tx, t, { integrations: [] })).toMatchObject({ __typename: 'ValidationError', field: 'integrations' });
      expect(await claim(tx, t, { integrations: ['google-analytics-4'], max: 0 })).toMatchObject({ __typename: 'ValidationError', field: 'max' });
      expect(await claim(tx, t, { integrations: ['google-analytics-4'], max: 101 })).toMatchObject({ __typename: 'ValidationError', field: 'max' });
      expect(await claim(tx, t, { integrations: ['google-analytics-4'], leaseSeconds: 5 })).toMatchObject({ __typename: 'ValidationError', field: 'leaseSeconds' });
      const abandoned = await graphql(tx, t.service.viewer, UPDATE_RUN, { input: { id: t.refreshRun.gid, status: 'ABANDONED' } });
      expect(abandoned.data!.updateRefreshRun).toMatchObject({ __typename: 'ValidationError' });
      expect(await tx.select().from(refreshRuns).where(eq(refreshRuns.accountId, t.account.id))).toEqual(before);
    });
  });

  it('a worker never claims another account’s data sources, nor names its custom integrations', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'mine');
      const b = await tenant(tx, 'theirs');
      await nothingDue(tx, a);
      await addSources(tx, b, 3);
      expect(await claim(tx, a, { integrations: ['google-analytics-4'], max: 100 })).toMatchObject({ claims: [] });
      const theirs = await claim(tx, b, { integrations: ['google-analytics-4'], max: 100 });
      expect(theirs.claims!.length).toBeGreaterThanOrEqual(3);
      const [run] = theirs.claims!;
      // Their run is "not found" for a, exactly like a made-up id.
      const update = await graphql(tx, a.service.viewer, UPDATE_RUN, { input: { id: run.refreshRun.id, rows: 1 } });
      expect(update.data!.updateRefreshRun).toMatchObject({ __typename: 'NotFoundError' });
      const now = await graphql(tx, a.owner.viewer, REFRESH_NOW, { id: run.dataSource.id });
      expect(now.data!.refreshDataSourceNow).toMatchObject({ __typename: 'NotFoundError' });
    });
  });

  it('progress renews the lease; the end releases it and sets the next refresh from the schedule, once however many were missed', async () => {
    await inRollback(db(), async (tx) => {
      const t = await tenant(tx, 'missed');
      await nothingDue(tx, t);
      // Hourly, and nothing claimed for ten hours: due once, not ten times.
      const [source] = await addSources(tx, t, 1, { nextRefreshAt: new Date(Date.now() - 10 * 3_600_000).toISOString() });
      const { claims } = await claim(tx, t, { integrations: ['google-analytics-4'], max: 100, leaseSeconds: 60 });
      expect(claims!.map((c) => c.dataSource.name)).toEqual(['Due 0']);
      expect(await claim(tx, t, { integrations: ['google-analytics-4'], max: 100 })).toMatchObject({ claims: [] });
      // Pretend the lease is nearly over; a progress report pushes it out again by its 60 s.
      await tx.update(dataSources).set({ refreshLeaseUntil: sql`now() + interval '1 second'`, nextRefreshAt: sql`now() + interval '1 second'` }).where(eq(dataSources.id, source.id));
      const progress = await graphql(tx, t.service.viewer, UPDATE_RUN, { input: { id: claims![0].refreshRun.id, rows: 500 } });
      expect(progress.data!.updateRefreshRun).toMatchObject({ refreshRun: { status: 'RUNNING', rows: 500 } });
      const [renewed] = rowsOf<{ left: number; due: number }>(
        await tx.execute(sql`select extract(epoch from refresh_lease_until - now())::int as left, extract(epoch from next_refresh_at - now())::int as due from data_sources where id = ${source.id}`),
      );
      // Renewed by its 60 s; should the worker go silent, the source is due again when the lease ends.
      expect([Number(renewed.left), Number(renewed.due)]).toEqual([60, 60]);
      const live = await graphql(tx, t.owner.viewer, SOURCE, { id: encodeGlobalId('DataSource', source.id) });
      expect(live.data!.node).toMatchObject({ runningRun: { rows: 500 } });
      const end = await graphql(tx, t.service.viewer, UPDATE_RUN, { input: { id: claims![0].refreshRun.id, status: 'SUCCEEDED', rows: 800 } });
      expect(end.data!.updateRefreshRun).toMatchObject({ refreshRun: { status: 'SUCCEEDED', rows: 800 } });
      const [row] = await tx.select().from(dataSources).where(eq(dataSources.id, source.id));
      expect(row).toMatchObject({ refreshRunId: null, refreshLeaseUntil: null });
      expect(row.lastRefreshedAt).toBeTruthy();
      // The next whole hour after the end, in the future.
      expect(new Date(row.nextRefreshAt).toISOString()).toBe(nextScheduledAt('0 * * * *', new Date()).toISOString());
      expect(await claim(tx, t, { integrations: ['google-analytics-4'], max: 100 })).toMatchObject({ claims: [] });
      const node = await graphql(tx, t.owner.viewer, SOURCE, { id: encodeGlobalId('DataSource', source.id) });
      expect(node.data!.node).toMatchObject({ late: false, runningRun: null, nextRefreshAt: new Date(row.nextRefreshAt).toISOString() });
    });
  });

  it('an expired lease ends the run ABANDONED and the data source is due again, whether the sweep or the next claim finds it', async () => {
    await inRollback(db(), async (tx) => {
      const t = await tenant(tx, 'expiry');
      await nothingDue(tx, t);
      const [one, two] = await addSources(tx, t, 2);
      const { claims } = await claim(tx, t, { integrations: ['google-analytics-4'], max: 2 });
      expect(claims).toHaveLength(2);
      const runOf = (id: string) => claims!.find((c) => c.dataSource.id === encodeGlobalId('DataSource', id))!.refreshRun.id;
      // Both workers went silent; their leases ran out (the clock is the transaction's here).
      const expire = (ids: string[]) =>
        tx.update(dataSources).set({ refreshLeaseUntil: sql`now() - interval '1 second'`, nextRefreshAt: sql`now() - interval '1 second'` }).where(inArray(dataSources.id, ids));
      // The sweep ends one...
      await expire([one.id]);
      expect(await abandonExpiredLeases(tx)).toBeGreaterThanOrEqual(1);
      const [swept] = await tx.select().from(refreshRuns).where(eq(refreshRuns.dataSourceId, one.id));
      expect(swept).toMatchObject({ status: 'ABANDONED' });
      expect(swept.error).toMatch(/lease expired/);
      const late = await graphql(tx, t.service.viewer, UPDATE_RUN, { input: { id: runOf(one.id), status: 'SUCCEEDED' } });
      expect(late.data!.updateRefreshRun).toMatchObject({ __typename: 'ValidationError' });
      // ...the other expires later and a claim finds it: it ends the old run in the same statement.
      await expire([two.id]);
      const again = await claim(tx, t, { integrations: ['google-analytics-4'], max: 10 });
      expect(again.claims!.map((c) => c.dataSource.name).sort()).toEqual(['Due 0', 'Due 1']);
      const twoRuns = await tx.select().from(refreshRuns).where(eq(refreshRuns.dataSourceId, two.id));
      expect(twoRuns.map((r) => r.status).sort()).toEqual(['ABANDONED', 'RUNNING']);
      expect(encodeGlobalId('RefreshRun', twoRuns.find((r) => r.status === 'ABANDONED')!.id)).toBe(runOf(two.id));
    });
  });

  it('Refresh now makes a data source due at once, and is refused while it runs', async () => {
    await inRollback(db(), async (tx) => {
      const t = await tenant(tx, 'now');
      await nothingDue(tx, t);
      const before = await graphql(tx, t.editor.viewer, SOURCE, { id: t.dataSource.gid });
      expect(before.data!.node).toMatchObject({ nextRefreshAt: '2999-01-01T00:00:00.000Z', late: false });
      const member = await graphql(tx, t.member.viewer, REFRESH_NOW, { id: t.dataSource.gid });
      expect(member.data!.refreshDataSourceNow).toMatchObject({ __typename: 'ForbiddenError' });
      const now = await graphql(tx, t.editor.viewer, REFRESH_NOW, { id: t.dataSource.gid });
      expect(now.data!.refreshDataSourceNow).toMatchObject({ __typename: 'RefreshDataSourceNowSuccess', dataSource: { late: false, runningRun: null } });
      expect(new Date((now.data!.refreshDataSourceNow as { dataSource: { nextRefreshAt: string } }).dataSource.nextRefreshAt).getTime()).toBeLessThanOrEqual(Date.now());
      const { claims } = await claim(tx, t, { integrations: ['google-analytics-4'] });
      expect(claims!.map((c) => c.dataSource.id)).toEqual([t.dataSource.gid]);
      const refused = await graphql(tx, t.editor.viewer, REFRESH_NOW, { id: t.dataSource.gid });
      expect(refused.data!.refreshDataSourceNow).toMatchObject({ __typename: 'RefreshRunningError', code: 'REFRESH_RUNNING' });
      const broken = await graphql(tx, t.owner.viewer, REFRESH_NOW, { id: encodeGlobalId('DataSource', (await addSources(tx, t, 1, { connectionId: t.connections.sharedSalesforce.id, status: 'BROKEN' }))[0].id) });
      expect(broken.data!.refreshDataSourceNow).toMatchObject({ __typename: 'ValidationError' });
    });
  });

  it('a connection that breaks while its data sources are leased: the next progress report ends the run FAILED with the reason, and the source is due again once it is repaired', async () => {
    await inRollback(db(), async (tx) => {
      const t = await tenant(tx, 'broken');
      await nothingDue(tx, t);
      const [source] = await addSources(tx, t, 1);
      const { claims } = await claim(tx, t, { integrations: ['google-analytics-4'] });
      const [connection] = await tx.select().from(connections).where(eq(connections.id, t.connections.shared.id));
      const broken = await transaction(tx, (inner) =>
        transition(inner, connection, 'DISCONNECTED', { kind: 'SYSTEM' }, { reason: 'INVALID_REFRESH_TOKEN', message: 'invalid_grant' }),
      );
      const hidden = await graphql(tx, t.owner.viewer, SOURCE, { id: encodeGlobalId('DataSource', source.id) });
      expect(hidden.data!.node).toMatchObject({ status: 'BROKEN', nextRefreshAt: null, late: false });
      const report = await graphql(tx, t.service.viewer, UPDATE_RUN, { input: { id: claims![0].refreshRun.id, rows: 10 } });
      expect(report.data!.updateRefreshRun).toMatchObject({ refreshRun: { status: 'FAILED', rows: 10 } });
      expect((report.data!.updateRefreshRun as { refreshRun: { error: string } }).refreshRun.error).toBe('Its connection is DISCONNECTED (INVALID_REFRESH_TOKEN); the refresh was stopped');
      const [row] = await tx.select().from(dataSources).where(eq(dataSources.id, source.id));
      expect(row).toMatchObject({ refreshRunId: null, refreshLeaseUntil: null });
      expect(new Date(row.nextRefreshAt).getTime()).toBeLessThanOrEqual(Date.now());
      // A broken connection's sources are never handed out.
      expect(await claim(tx, t, { integrations: ['google-analytics-4'] })).toMatchObject({ claims: [] });
      await transaction(tx, (inner) => transition(inner, broken, 'ACTIVE', { kind: 'SYSTEM' }));
      const repaired = await claim(tx, t, { integrations: ['google-analytics-4'] });
      expect(repaired.claims!.map((c) => c.dataSource.id)).toEqual([encodeGlobalId('DataSource', source.id)]);
    });
  });

  it('a new schedule applies at once to an idle data source, and when the run ends to a leased one (its lease keeps it due on expiry)', async () => {
    await inRollback(db(), async (tx) => {
      const t = await tenant(tx, 'reschedule');
      await nothingDue(tx, t);
      const [idle, leasedSource] = await addSources(tx, t, 2);
      await tx.update(dataSources).set({ nextRefreshAt: '2999-01-01T00:00:00Z' }).where(eq(dataSources.id, idle.id));
      const { claims } = await claim(tx, t, { integrations: ['google-analytics-4'] });
      expect(claims!.map((c) => c.dataSource.id)).toEqual([encodeGlobalId('DataSource', leasedSource.id)]);
      const UPDATE_SOURCE = `mutation($id: ID!) { updateDataSource(input: { id: $id, schedule: "0 0 1 1 *" }) { __typename } }`;
      for (const source of [idle, leasedSource]) {
        const result = await graphql(tx, t.editor.viewer, UPDATE_SOURCE, { id: encodeGlobalId('DataSource', source.id) });
        expect(result.data!.updateDataSource).toMatchObject({ __typename: 'UpdateDataSourceSuccess' });
      }
      const rows = await tx.select().from(dataSources).where(inArray(dataSources.id, [idle.id, leasedSource.id]));
      const byId = new Map(rows.map((row) => [row.id, row]));
      expect(new Date(byId.get(idle.id)!.nextRefreshAt).toISOString()).toBe(nextScheduledAt('0 0 1 1 *', new Date()).toISOString());
      // Still the lease's end: should the worker go silent, the source is due again then, not next January.
      expect(byId.get(leasedSource.id)!.nextRefreshAt).toBe(byId.get(leasedSource.id)!.refreshLeaseUntil);
      const end = await graphql(tx, t.service.viewer, UPDATE_RUN, { input: { id: claims![0].refreshRun.id, status: 'SUCCEEDED' } });
      expect(end.data!.updateRefreshRun).toMatchObject({ refreshRun: { status: 'SUCCEEDED' } });
      const [ended] = await tx.select().from(dataSources).where(eq(dataSources.id, leasedSource.id));
      expect(new Date(ended.nextRefreshAt).toISOString()).toBe(nextScheduledAt('0 0 1 1 *', new Date()).toISOString());
    });
  });

  it('a data source due past the grace and not started is late', async () => {
    await inRollback(db(), async (tx) => {
      const t = await tenant(tx, 'late');
      await nothingDue(tx, t);
      await tx.update(dataSources).set({ nextRefreshAt: new Date(Date.now() - 3_600_000).toISOString() }).where(eq(dataSources.id, t.dataSource.id));
      const node = await graphql(tx, t.owner.viewer, SOURCE, { id: t.dataSource.gid });
      expect(node.data!.node).toMatchObject({ late: true, runningRun: null });
    });
  });
});
