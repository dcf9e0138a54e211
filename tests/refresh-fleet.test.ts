/**
 * The background token refresh for a fleet: due connections claimed in batches in expiry order
 * with SKIP LOCKED (two gateways take disjoint sets), refreshed against a real OAuth server
 * (oidc-provider with rotation and reuse detection, behind a counting proxy) with bounded
 * concurrency, continuously while work is due, each connection at its own point ahead of expiry,
 * in a few SQL statements per refresh.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { countStatements, type Database, type DatabaseHandle, openPostgres, rowsOf } from '../server/db/client.js';
import { connections, credentials, integrations, tokenRefreshes } from '../server/db/schema.js';
import { readCredentials } from '../server/domain/credentials.js';
import type { OAuthSettings, OAuthTokens } from '../server/domain/oauth2.js';
import { claimDueRefreshes } from '../server/domain/token-refresh.js';
import { DEFAULT_HEALTH_OPTIONS, runHealthRound } from '../server/jobs/health.js';
import { refreshDueTokens, startTokenRefreshJobs } from '../server/jobs/token-refresh.js';
import { createLog } from '../server/log.js';
import { describeEachDatabase } from './support/db.js';
import { tenant, testVault as vault } from './support/fixtures.js';
import { type OAuthServer, registerOAuthIntegration, startOAuthServer } from './support/oauth-server.js';
import { until } from './support/wait.js';

const HORIZON_MS = 10 * 60_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const ahead = (ms: number) => new Date(Date.now() + ms).toISOString();

type Seeded = { id: string; refreshToken: string; accessToken: string };

/**
 * Inserts ACTIVE `test-oidc` connections of `accountId` with the given access-token expiries,
 * their tokens stored an hour ago; refresh tokens minted at `provider` (or made up).
 */
async function seed(
  db: Database,
  owner: { accountId: string; id: string },
  expiries: string[],
  provider?: OAuthServer,
  storedAt = ago(3_600_000),
): Promise<Seeded[]> {
  const [custom] = await db.select({ id: integrations.id }).from(integrations).where(and(eq(integrations.accountId, owner.accountId), eq(integrations.key, 'test-oidc')));
  const rows = await db
    .insert(connections)
    .values(
      expiries.map((expiresAt, i) => ({
        accountId: owner.accountId,
        ownerId: owner.id,
        integrationKey: 'test-oidc',
        customIntegrationId: custom?.id ?? null,
        status: 'ACTIVE' as const,
        name: `Fleet ${i}`,
        accessTokenExpiresAt: expiresAt,
        // Out of the health checks' way: only the refresh is under test.
        nextCheckAt: ahead(86_400_000),
      })),
    )
    .returning();
  const seeded: Seeded[] = [];
  for (const [i, row] of rows.entries()) {
    const refreshToken = provider ? await provider.mintRefreshToken() : `made-up-${row.id}`;
    const accessToken = `old-access-${i}`;
    const sealed = vault.seal(row.id, { accessToken, refreshToken, expiresAt: expiries[i], tokenType: 'Bearer' });
    await db.insert(credentials).values({ connectionId: row.id, accountId: row.accountId, ...sealed, updatedAt: storedAt });
    seeded.push({ id: row.id, refreshToken, accessToken });
  }
  return seeded;
}

describeEachDatabase('background token refresh of a fleet', (db) => {
  let app: App;
  let provider: OAuthServer;
  let settings: OAuthSettings;
  let account: { accountId: string; id: string };

  beforeAll(async () => {
    const a = await tenant(db(), 'fleet');
    account = { accountId: a.account.id, id: a.owner.user.id };
    app = createApp({ db: db(), vault, log: createLog('error') });
    const base = await app.start(0);
    provider = await startOAuthServer(`${base}/oauth/callback`, { accessTokenTtl: 3600, faults: true });
    await registerOAuthIntegration(base, a.admin.token, provider);
    settings = { callbackUrl: `${base}/oauth/callback`, returnOrigins: [] };
  }, 60_000);

  afterAll(async () => {
    await provider?.close();
    await app?.stop();
  });

  /** Moves every connection of the account out of the way (fresh and checked for a year), so a test sees only its own. */
  const quiet = () =>
    db()
      .update(connections)
      .set({ accessTokenExpiresAt: ahead(365 * 86_400_000), nextCheckAt: ahead(365 * 86_400_000) })
      .where(eq(connections.accountId, account.accountId));
  const grants = () => provider.tokenRequests.filter((grant) => grant === 'refresh_token').length;
  const options = (concurrency: number) => ({ concurrency, horizonMs: HORIZON_MS, accountId: account.accountId });

  it('a drain refreshes every due connection once, earliest expiry first, with at most `concurrency` requests at the provider at once, claiming the next batch without waiting', async () => {
    await quiet();
    const expiries = Array.from({ length: 8 }, (_, i) => ago((8 - i) * 60_000));
    const seeded = await seed(db(), account, [...expiries].reverse(), provider);
    const proxy = provider.faults!;
    proxy.fault = { kind: 'delay', ms: 150 };
    proxy.peakInFlight = 0;
    const before = grants();
    const drain = await refreshDueTokens(db(), vault, settings, options(3));
    proxy.fault = { kind: 'pass' };
    expect(drain).toMatchObject({ claimed: 8, refreshed: 8, failed: 0 });
    expect(drain.batches).toBeGreaterThanOrEqual(3);
    expect(proxy.peakInFlight).toBeLessThanOrEqual(3);
    expect(proxy.peakInFlight).toBeGreaterThanOrEqual(2);
    // 0 duplicates, 0 reuse detections: one grant per connection, every one ACTIVE with new tokens.
    expect(grants() - before).toBe(8);
    const ids = seeded.map((row) => row.id);
    const rows = await db().select().from(connections).where(inArray(connections.id, ids));
    expect(rows.every((row) => row.status === 'ACTIVE' && row.refreshLeaseOwner === null && Date.parse(row.accessTokenExpiresAt!) > Date.now() + 3_000_000)).toBe(true);
    for (const row of seeded) {
      const tokens = (await readCredentials<OAuthTokens>(db(), vault, row.id))!;
      expect(tokens.accessToken).not.toBe(row.accessToken);
      expect(tokens.refreshToken).not.toBe(row.refreshToken);
    }
    const attempts = await db().select().from(tokenRefreshes).where(inArray(tokenRefreshes.connectionId, ids)).orderBy(tokenRefreshes.startedAt);
    expect(attempts.map((attempt) => attempt.outcome)).toEqual(Array(8).fill('SUCCEEDED'));
    // The first batch (one claim, one start time) holds the three earliest expiries.
    const firstBatch = attempts.filter((attempt) => attempt.startedAt === attempts[0].startedAt).map((attempt) => attempt.connectionId);
    const byExpiry = [...seeded].map((row, i) => ({ id: row.id, expiresAt: [...expiries].reverse()[i] })).sort((x, y) => x.expiresAt.localeCompare(y.expiresAt));
    expect(new Set(firstBatch)).toEqual(new Set(byExpiry.slice(0, 3).map((row) => row.id)));
  }, 60_000);

  it('a background refresh costs at most 5 SQL statements: the claim reads credentials and the OAuth app, the answer is stored in one statement', async () => {
    await quiet();
    await seed(db(), account, Array.from({ length: 6 }, () => ago(1_000)), provider);
    const { result, statements } = await countStatements(() => refreshDueTokens(db(), vault, settings, options(3)));
    expect(result.refreshed).toBe(6);
    expect(statements.length / result.refreshed).toBeLessThanOrEqual(5);
    expect(statements.filter((statement) => /set_config/.test(statement))).toEqual([]);
    expect(statements.filter((statement) => /^select .* from "oauth_apps"/is.test(statement.trim()))).toEqual([]);
    console.log(`background refresh: ${statements.length} statements for ${result.refreshed} refreshes`);
  }, 60_000);

  it('the job runs its first drain at start and claims batch after batch while work is due, not once an interval', async () => {
    await quiet();
    const seeded = await seed(db(), account, Array.from({ length: 5 }, () => ago(1_000)), provider);
    const drains: number[] = [];
    const job = startTokenRefreshJobs(
      { db: db(), vault, settings, log: createLog('error'), onDrain: (drain) => drains.push(drain.batches) },
      { ...options(2), idleMs: 3_600_000 },
    );
    try {
      const ids = seeded.map((row) => row.id);
      await until(
        async () => (await db().select().from(connections).where(inArray(connections.id, ids))).every((row) => Date.parse(row.accessTokenExpiresAt!) > Date.now() + 3_000_000),
        'all five fresh (an interval of an hour never passed)',
        30_000,
      );
      // The drain reports once its last batch is stored, a moment after the rows are fresh.
      await until(async () => drains.length > 0, 'the drain’s report', 30_000);
      expect(drains[0]).toBeGreaterThanOrEqual(3);
    } finally {
      await job.stop();
    }
  }, 60_000);

  it('each connection is due at its own point of the horizon (between half and all of it) and never before half its token lifetime; cooldowns and live leases are skipped', async () => {
    await quiet();
    const spread = await seed(db(), account, Array.from({ length: 40 }, () => ahead(0.75 * HORIZON_MS)));
    const soon = await seed(db(), account, Array.from({ length: 3 }, () => ahead(0.4 * HORIZON_MS)));
    const later = await seed(db(), account, Array.from({ length: 3 }, () => ahead(1.1 * HORIZON_MS)));
    // A 60-second token stored just now is not due yet; one stored 80 s ago is (past half its life).
    const [young] = await seed(db(), account, [ahead(60_000)], undefined, new Date().toISOString());
    const [old] = await seed(db(), account, [ahead(60_000)], undefined, ago(80_000));
    const [cooling, leased] = await seed(db(), account, [ago(1_000), ago(1_000)]);
    await db().update(connections).set({ refreshBlockedUntil: ahead(60_000) }).where(eq(connections.id, cooling.id));
    await db().update(connections).set({ refreshLeaseOwner: 'elsewhere', refreshLeaseUntil: ahead(60_000) }).where(eq(connections.id, leased.id));
    const shares = new Map(
      rowsOf<{ id: string; share: number }>(
        await db().execute(sql`select id, 0.5 + 0.5 * (hashtext(id::text) & 1023) / 1023.0 as share from ${connections} where id in (${sql.join(spread.map((row) => sql`${row.id}`), sql`, `)})`),
      ).map((row) => [row.id, Number(row.share)]),
    );
    const claimed = new Set((await claimDueRefreshes(db(), vault, { limit: 100, horizonMs: HORIZON_MS, accountId: account.accountId })).map((claim) => claim.claimed.connectionId));
    for (const row of soon) expect(claimed.has(row.id)).toBe(true);
    for (const row of later) expect(claimed.has(row.id)).toBe(false);
    expect(claimed.has(young.id)).toBe(false);
    expect(claimed.has(old.id)).toBe(true);
    expect(claimed.has(cooling.id)).toBe(false);
    expect(claimed.has(leased.id)).toBe(false);
    // Tokens issued together are spread: due exactly where their own share reaches 0.75 (a
    // margin for the seconds this test takes), some now and some later.
    const clear = spread.filter((row) => Math.abs(shares.get(row.id)! - 0.75) > 0.02);
    for (const row of clear) expect(claimed.has(row.id), `share ${shares.get(row.id)}`).toBe(shares.get(row.id)! > 0.75);
    expect(clear.some((row) => claimed.has(row.id))).toBe(true);
    expect(clear.some((row) => !claimed.has(row.id))).toBe(true);
  }, 60_000);

  it('a health check during a long refresh cooldown sends nothing and spends none of the retry budget; the next check waits for the cooldown', async () => {
    await quiet();
    const [cooling] = await seed(db(), account, [ago(60_000)], provider);
    const blockedUntil = ahead(3_600_000);
    await db().update(connections).set({ refreshBlockedUntil: blockedUntil, refreshFailures: 3 }).where(eq(connections.id, cooling.id));
    const sent = provider.faults!.requests;
    const health = { ...DEFAULT_HEALTH_OPTIONS, accountId: account.accountId, refreshTokens: false };
    for (let round = 0; round < DEFAULT_HEALTH_OPTIONS.retryBudget + 1; round++) {
      await db().update(connections).set({ nextCheckAt: ago(1_000) }).where(eq(connections.id, cooling.id));
      expect(await runHealthRound(db(), vault, settings, health)).toMatchObject({ checked: 1, transient: 1, disconnected: 0 });
    }
    const [row] = await db().select().from(connections).where(eq(connections.id, cooling.id));
    expect(row).toMatchObject({ status: 'ACTIVE', transientFailures: 0, refreshFailures: 3 });
    expect(Date.parse(row.nextCheckAt!)).toBeGreaterThanOrEqual(Date.parse(blockedUntil));
    expect(provider.faults!.requests - sent).toBe(0);
  }, 60_000);
});

describe.runIf(process.env.TEST_DATABASE_URL)('two gateways claiming at once [postgres]', () => {
  let first: DatabaseHandle;
  let second: DatabaseHandle;

  beforeAll(async () => {
    first = await openPostgres(process.env.TEST_DATABASE_URL!, { max: 2 });
    second = await openPostgres(process.env.TEST_DATABASE_URL!, { max: 2 });
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
  });

  it('take disjoint sets (SKIP LOCKED), each in expiry order, and together every due connection once', async () => {
    const a = await tenant(first.db, 'fleet-claims');
    const expiries = Array.from({ length: 30 }, (_, i) => ago((i + 1) * 1_000));
    const seeded = await seed(first.db, { accountId: a.account.id, id: a.owner.user.id }, expiries);
    const expiryOf = new Map(seeded.map((row, i) => [row.id, expiries[i]]));
    const claim = (handle: DatabaseHandle) => claimDueRefreshes(handle.db, vault, { limit: 10, horizonMs: HORIZON_MS, accountId: a.account.id });
    const rounds = await Promise.all([claim(first), claim(second), claim(first), claim(second)]);
    const sets = rounds.map((batch) => batch.map((item) => item.claimed.connectionId));
    const all = sets.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(all)).toEqual(new Set(seeded.map((row) => row.id)));
    for (const set of sets) {
      const times = set.map((id) => expiryOf.get(id)!);
      expect(times).toEqual([...times].sort());
    }
    // Leased now: nothing is due for anyone until the leases run out.
    expect(await claim(second)).toEqual([]);
  }, 60_000);
});

