import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openPostgres } from '../server/db/client.js';
import { connections } from '../server/db/schema.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { tenant, type Tenant } from './support/fixtures.js';
import { postGraphql } from './support/graphql-http.js';
import { settle, wsClient } from './support/live-clients.js';
import { startScript } from './support/processes.js';

const databaseUrl = process.env.TEST_DATABASE_URL;
const redisUrl = process.env.TEST_REDIS_URL;

const STATUS_CHANGED = `subscription { connectionStatusChanged { status connection { id name } } }`;

/** Three gateway processes on one PostgreSQL, fanning out over `transport`. */
const transports = [
  { transport: 'PostgreSQL LISTEN/NOTIFY', env: {} as Record<string, string>, enabled: Boolean(databaseUrl) },
  { transport: 'Redis pub/sub', env: { REDIS_URL: redisUrl ?? '' }, enabled: Boolean(databaseUrl && redisUrl) },
];

for (const { transport, env, enabled } of transports) describe.runIf(enabled)(`live changes across three gateway processes over ${transport}`, () => {
  let database: DatabaseHandle;
  let a: Tenant;
  const gateways: { url: string; stop: () => Promise<number | null> }[] = [];
  const clients: ReturnType<typeof wsClient>[] = [];

  beforeAll(async () => {
    database = await openPostgres(databaseUrl!, { max: 2 });
    a = await tenant(database.db, `cluster-${transport.split(' ')[0].toLowerCase()}`);
    const started = await Promise.all(
      [1, 2, 3].map(() =>
        startScript(
          'server/main.ts',
          {
            DATABASE_URL: databaseUrl,
            PATCHBAY_SECRET_KEY: `ci:${randomBytes(32).toString('base64')}`,
            PORT: '0',
            PATCHBAY_JOBS: 'false',
            PATCHBAY_SEED_DEMO: 'false',
            LOG_LEVEL: 'warn',
            ...env,
          },
          /GraphQL:\s+(\S+)\/graphql/,
        ),
      ),
    );
    for (const gateway of started) {
      const url = /GraphQL:\s+(\S+)\/graphql/.exec(gateway.stdout())![1];
      expect(gateway.stdout()).toContain(`changes fan out ${transport}`);
      gateways.push({ url, stop: gateway.stop });
    }
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await database?.close();
  });

  function subscribe(gateway: number, token: string) {
    const client = wsClient(gateways[gateway].url, token);
    clients.push(client);
    return client.subscribe(STATUS_CHANGED).received;
  }

  async function connection(owner: Tenant['owner'], shared: boolean, name: string) {
    const [row] = await database.db
      .insert(connections)
      .values({ accountId: owner.user.accountId, ownerId: owner.user.id, integrationKey: 'google-analytics-4', status: 'ACTIVE', shared, name })
      .returning();
    return encodeGlobalId('Connection', row.id);
  }

  const report = (gateway: number, id: string) =>
    postGraphql(gateways[gateway].url, a.service.token, 'mutation($id: ID!) { reportConnectionError(input: { id: $id, reason: INVALID_CREDENTIALS }) { __typename } }', { id });

  it('a change made through instance A reaches subscribers on A, B and C once each', async () => {
    const streams = [subscribe(0, a.owner.token), subscribe(1, a.owner.token), subscribe(2, a.owner.token)];
    // Give each socket time to be acknowledged and its subscription registered.
    await settle(500);
    const id = await connection(a.owner, true, 'Cluster shared');
    expect((await report(0, id)).data.reportConnectionError.__typename).toBe('ReportConnectionErrorSuccess');
    for (const stream of streams) {
      const [message] = await stream.until(1, 10_000);
      expect(message.data.connectionStatusChanged).toEqual({ status: 'DISCONNECTED', connection: { id, name: 'Cluster shared' } });
    }
    await settle(500);
    expect(streams.map((stream) => stream.messages.length)).toEqual([1, 1, 1]);
  });

  it('a private connection’s events reach its owner on another instance and never another member on any', async () => {
    const owner = subscribe(2, a.member.token);
    const others = [subscribe(0, a.member2.token), subscribe(1, a.member2.token), subscribe(2, a.member2.token)];
    await settle(500);
    const id = await connection(a.member, false, 'Cluster private');
    await report(1, id);
    const [message] = await owner.until(1, 10_000);
    expect(message.data.connectionStatusChanged.connection).toEqual({ id, name: 'Cluster private' });
    await settle(500);
    expect(others.map((stream) => stream.messages)).toEqual([[], [], []]);
  });
});
