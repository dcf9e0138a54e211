/**
 * The demo account tells one coherent story: every timestamp agrees with the others. A connection
 * changes status only through its events (the last one is its status, reason and message, and its
 * last change); nothing refreshed through a connection after it broke; refresh runs happened at
 * their schedule's times, in a row, until the breakage (then one failed run with the service's
 * message); a SUPERSEDED login ended when its replacement became ACTIVE; notices are dated when
 * the breakage happened; nothing lies in the future but deadlines and next times.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite, type DatabaseHandle } from '../server/db/client.js';
import { nextScheduledAt } from '../server/domain/refresh-dispatch.js';
import { builtInIntegration } from '../server/domain/catalog.js';
import { demoAccountId, seedDemo } from '../server/seed/demo.js';

const ms = (iso: string | null) => (iso === null ? null : Date.parse(iso));

describe('the demo account', () => {
  let handle: DatabaseHandle;
  let seededAt: number;
  let accountId: string;

  beforeAll(async () => {
    handle = await openPglite();
    await handle.migrate();
    seededAt = Date.now();
    await seedDemo(handle.db);
    accountId = (await demoAccountId(handle.db))!;
  }, 60_000);
  afterAll(async () => {
    await handle?.close();
  });

  const load = () =>
    handle.db.query.connections.findMany({
      where: { accountId },
      with: { events: { orderBy: { createdAt: 'asc' } }, dataSources: { with: { refreshRuns: { orderBy: { startedAt: 'asc' } } } } },
    });

  it('has connections in every status, each reached through its events', async () => {
    const rows = await load();
    expect(new Set(rows.map((row) => row.status))).toEqual(new Set(['ACTIVE', 'DISCONNECTED', 'PENDING', 'REVOKED']));
    for (const row of rows) {
      const events = row.events;
      expect(events.length, row.name).toBeGreaterThan(0);
      expect(events[0].fromStatus, row.name).toBeNull();
      expect(ms(events[0].createdAt), row.name).toBe(ms(row.createdAt));
      for (let step = 1; step < events.length; step++) {
        expect(events[step].fromStatus, row.name).toBe(events[step - 1].toStatus);
        expect(ms(events[step].createdAt)!, row.name).toBeGreaterThan(ms(events[step - 1].createdAt)!);
      }
      const last = events[events.length - 1];
      expect({ name: row.name, status: last.toStatus, reason: last.reason, message: last.message }).toEqual({
        name: row.name,
        status: row.status,
        reason: row.disconnectReason,
        message: row.errorMessage,
      });
      expect(ms(row.updatedAt), row.name).toBe(ms(last.createdAt));
      expect(ms(last.createdAt)!, row.name).toBeLessThanOrEqual(seededAt + 60_000);
      if (row.lastCheckedAt) expect(ms(row.lastCheckedAt)!, row.name).toBeLessThanOrEqual(Date.now());
      if (row.status !== 'ACTIVE' && row.lastCheckedAt) expect(ms(row.lastCheckedAt), row.name).toBe(ms(last.createdAt));
    }
  });

  it('refreshed nothing through a connection after it broke, and ran every refresh at its schedule’s time, in a row', async () => {
    const rows = await load();
    let runsSeen = 0;
    for (const row of rows) {
      const ended = row.status === 'ACTIVE' ? null : ms(row.events[row.events.length - 1].createdAt)!;
      const activated = ms(row.events.find((event) => event.toStatus === 'ACTIVE')?.createdAt ?? null);
      for (const source of row.dataSources) {
        const label = `${row.name} / ${source.name}`;
        expect(activated, label).not.toBeNull();
        expect(ms(source.createdAt)!, label).toBeGreaterThan(activated!);
        expect(source.status, label).toBe(row.status === 'ACTIVE' ? 'ACTIVE' : 'BROKEN');
        const runs = source.refreshRuns;
        runsSeen += runs.length;
        for (const [index, run] of runs.entries()) {
          const started = ms(run.startedAt)!;
          // At a time of its schedule: the schedule's next time after one millisecond before it is it.
          expect(nextScheduledAt(source.schedule, new Date(started - 1)).getTime(), `${label} run ${index}`).toBe(started);
          // The one before it was the schedule's previous time: no gaps, no extra runs.
          if (index > 0) expect(nextScheduledAt(source.schedule, new Date(ms(runs[index - 1].startedAt)!)).getTime(), `${label} run ${index}`).toBe(started);
          expect(started, label).toBeGreaterThan(ms(source.createdAt)!);
          expect(ms(run.finishedAt)!, label).toBeLessThanOrEqual(seededAt);
          if (ended !== null && started > ended) {
            expect({ label, status: run.status, error: run.error }).toEqual({ label, status: 'FAILED', error: row.errorMessage ?? 'The connection is not active' });
          } else {
            expect({ label, status: run.status }).toEqual({ label, status: 'SUCCEEDED' });
          }
        }
        // Nothing after the failed run that found the breakage.
        const afterBreak = runs.filter((run) => ended !== null && ms(run.startedAt)! > ended);
        expect(afterBreak.length, label).toBeLessThanOrEqual(1);
        const succeeded = runs.filter((run) => run.status === 'SUCCEEDED');
        expect(ms(source.lastRefreshedAt), label).toBe(succeeded.length ? ms(succeeded[succeeded.length - 1].finishedAt) : null);
        if (ended !== null && source.lastRefreshedAt) expect(ms(source.lastRefreshedAt)!, label).toBeLessThan(ended);
      }
    }
    expect(runsSeen).toBeGreaterThan(0);
  });

  it('ends a SUPERSEDED login when its replacement became ACTIVE, and dates each breakage’s notices then', async () => {
    const rows = await load();
    const superseded = rows.filter((row) => row.disconnectReason === 'SUPERSEDED');
    expect(superseded.length).toBeGreaterThan(0);
    for (const old of superseded) {
      const replacement = rows.find((row) => row.id !== old.id && row.status === 'ACTIVE' && row.integrationKey === old.integrationKey && row.resourceId === old.resourceId)!;
      expect(replacement, old.name).toBeDefined();
      const became = replacement.events.find((event) => event.toStatus === 'ACTIVE')!;
      expect(ms(old.updatedAt), old.name).toBe(ms(became.createdAt));
      expect(ms(old.createdAt)!, old.name).toBeLessThan(ms(replacement.createdAt)!);
    }
    const notices = await handle.db.query.notifications.findMany({ where: { accountId, kind: 'CONNECTION_DISCONNECTED' }, with: { event: true } });
    expect(notices.length).toBeGreaterThan(0);
    for (const notice of notices) expect(ms(notice.createdAt)).toBe(ms(notice.event!.createdAt));
  });

  it('sets a yearly sign-in’s deadline a year after the sign-in, and asks no database login for a resource', async () => {
    const rows = await load();
    for (const row of rows) {
      const integration = builtInIntegration(row.integrationKey)!;
      if (row.reauthorizeBy) {
        const became = row.events.find((event) => event.toStatus === 'ACTIVE')!;
        expect(ms(row.reauthorizeBy)! - ms(became.createdAt)!, row.name).toBe(integration.tokenLifetime.refreshTokenSeconds! * 1000);
        expect(ms(row.reauthorizeBy)!, row.name).toBeGreaterThan(seededAt);
      }
      if (integration.authMethod === 'PROXY') expect(row.resourceId, row.name).toBeNull();
      if (row.status === 'PENDING') expect(seededAt - ms(row.createdAt)!, row.name).toBeLessThan(24 * 3_600_000);
    }
  });
});
