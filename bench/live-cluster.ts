/**
 * Benchmark: how long a status change made through one gateway process takes to reach a
 * subscriber of another, over PostgreSQL LISTEN/NOTIFY and over Redis pub/sub. Two `main.ts`
 * processes on one PostgreSQL (`BENCH_DATABASE_URL`, a scratch database), and with `REDIS_URL`
 * for the Redis run. Each of `BENCH_EVENTS` (default 50) changes is a `reportConnectionError`
 * through gateway A's API; the time is from sending that request to the subscriber's message
 * arriving from gateway B. Skipped without BENCH_DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { openPostgres } from '../server/db/client.js';
import { connections } from '../server/db/schema.js';
import { createAccount } from '../server/domain/accounts.js';
import { issueApiToken } from '../server/domain/api-tokens.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { postGraphql } from '../tests/support/graphql-http.js';
import { wsClient } from '../tests/support/live-clients.js';
import { startScript } from '../tests/support/processes.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50);
const databaseUrl = process.env.BENCH_DATABASE_URL;
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

async function run(transport: 'postgres' | 'redis') {
  const env = {
    DATABASE_URL: databaseUrl,
    PATCHBAY_SECRET_KEY: `bench:${randomBytes(32).toString('base64')}`,
    PORT: '0',
    PATCHBAY_JOBS: 'false',
    PATCHBAY_SEED_DEMO: 'false',
    LOG_LEVEL: 'warn',
    REDIS_URL: transport === 'redis' ? redisUrl : '',
  };
  const ready = /GraphQL:\s+(\S+)\/graphql/;
  const gateways = await Promise.all([startScript('server/main.ts', env, ready), startScript('server/main.ts', env, ready)]);
  const [a, b] = gateways.map((gateway) => ready.exec(gateway.stdout())![1]);
  const handle = await openPostgres(databaseUrl!, { max: 2 });
  try {
    const { account, owner } = await createAccount(handle.db, {
      name: 'Bench cluster',
      owner: { email: `cluster-${randomBytes(4).toString('hex')}@bench.test`, name: 'Owner' },
    });
    const { token } = await issueApiToken(handle.db, { accountId: account.id, userId: owner.id, name: 'bench', kind: 'SERVICE' });
    const [row] = await handle.db
      .insert(connections)
      .values({ accountId: account.id, ownerId: owner.id, integrationKey: 'google-analytics-4', status: 'ACTIVE', shared: true, name: 'Bench GA4' })
      .returning();
    const id = encodeGlobalId('Connection', row.id);
    const client = wsClient(b, token);
    const { received } = client.subscribe('subscription { connectionStatusChanged { status } }');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const latencies: number[] = [];
    for (let event = 1; event <= EVENTS; event++) {
      const started = performance.now();
      // A reported error disconnects it (the change timed); it is put back to ACTIVE directly in
      // the database, which announces nothing, so each round times exactly one change.
      await postGraphql(a, token, 'mutation($id: ID!) { reportConnectionError(input: { id: $id, reason: INVALID_CREDENTIALS }) { __typename } }', { id });
      await received.until(event, 10_000);
      latencies.push(performance.now() - started);
      await handle.db.update(connections).set({ status: 'ACTIVE', disconnectReason: null }).where(eq(connections.id, row.id));
    }
    await client.dispose();
    return { transport, events: EVENTS, p50Ms: Math.round(percentile(latencies, 0.5)), p95Ms: Math.round(percentile(latencies, 0.95)), maxMs: Math.round(Math.max(...latencies)) };
  } finally {
    await handle.close();
    await Promise.all(gateways.map((gateway) => gateway.stop()));
  }
}

async function main() {
  if (!databaseUrl) {
    process.stdout.write('live-cluster: skipped (set BENCH_DATABASE_URL to a scratch PostgreSQL database)\n');
    return;
  }
  const results = [await run('postgres'), await run('redis')];
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
