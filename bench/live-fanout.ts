/**
 * Benchmark: one status change fanned out to many graphql-ws subscribers of one gateway, with
 * shared executions (every subscriber sends the same document and has the same access) against
 * unshared ones (each subscriber names its operation differently, so none can share). Prints
 * per-event latency from commit to the last subscriber, documents executed and results
 * serialized per event, and the process CPU time per event (clients run in this process too).
 */
import { randomBytes } from 'node:crypto';
import { createApp } from '../server/app.js';
import { openPglite } from '../server/db/client.js';
import { connections } from '../server/db/schema.js';
import { transaction } from '../server/db/transaction.js';
import { createAccount, createUser } from '../server/domain/accounts.js';
import { issueApiToken } from '../server/domain/api-tokens.js';
import { transition } from '../server/domain/lifecycle.js';
import type { ConnectionRow } from '../server/domain/types.js';
import { Vault } from '../server/domain/vault.js';
import { createLog } from '../server/log.js';
import { wsClient } from '../tests/support/live-clients.js';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const SOCKETS = 50;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 30);

const document = (name: string) => `subscription ${name} { connectionStatusChanged {
  cursor previousStatus status reason occurredAt
  connection { id name status owner { name } integration { key name } problem { reason interpretation resolution } viewerCan { use edit revoke } }
} }`;

async function run(shared: boolean) {
  const handle = await openPglite();
  await handle.migrate();
  const { account, owner } = await createAccount(handle.db, { name: 'Bench', owner: { email: `o-${shared}@bench.test`, name: 'Owner' } });
  const member = await createUser(handle.db, { accountId: account.id, email: `m-${shared}@bench.test`, name: 'Member', role: 'MEMBER' });
  const [row] = await handle.db
    .insert(connections)
    .values({ accountId: account.id, ownerId: owner.id, integrationKey: 'google-analytics-4', status: 'ACTIVE', shared: true, name: 'Bench GA4' })
    .returning();
  const app = createApp({ db: handle.db, log: createLog('error'), vault: Vault.fromKeyList(randomBytes(32).toString('base64')) });
  const url = await app.start(0);
  const tokens = await Promise.all(
    [...Array(SOCKETS)].map(async (_, i) => (await issueApiToken(handle.db, { accountId: account.id, userId: member.id, name: `s${i}`, kind: 'USER' })).token),
  );
  const sockets = tokens.map((token) => wsClient(url, token));
  const streams = [...Array(SUBSCRIBERS)].map((_, i) => sockets[i % SOCKETS].subscribe(document(shared ? 'Status' : `Status${i}`)).received);
  while (app.live.counts().connectionStatus < SUBSCRIBERS) await new Promise((resolve) => setTimeout(resolve, 20));

  let connection: ConnectionRow = row;
  const latencies: number[] = [];
  const statsBefore = { ...app.live.stats };
  const cpuBefore = process.cpuUsage();
  for (let event = 1; event <= EVENTS; event++) {
    const started = performance.now();
    connection = await transaction(handle.db, (tx) =>
      transition(tx, connection, connection.status === 'ACTIVE' ? 'DISCONNECTED' : 'ACTIVE', { kind: 'SYSTEM' }, { reason: 'INVALID_REFRESH_TOKEN', message: null }),
    );
    await Promise.all(streams.map((stream) => stream.until(event, 60_000)));
    latencies.push(performance.now() - started);
  }
  const cpu = process.cpuUsage(cpuBefore);
  const executions = app.live.stats.executions - statsBefore.executions;
  const serializations = app.live.stats.serializations - statsBefore.serializations;
  for (const socket of sockets) await socket.dispose();
  await app.stop();
  await handle.close();
  latencies.sort((a, b) => a - b);
  return {
    mode: shared ? 'shared' : 'unshared',
    subscribers: SUBSCRIBERS,
    events: EVENTS,
    executionsPerEvent: executions / EVENTS,
    serializationsPerEvent: serializations / EVENTS,
    p50ms: Number(latencies[Math.floor(EVENTS / 2)].toFixed(1)),
    p95ms: Number(latencies[Math.min(EVENTS - 1, Math.floor(EVENTS * 0.95))].toFixed(1)),
    cpuMsPerEvent: Number(((cpu.user + cpu.system) / 1000 / EVENTS).toFixed(1)),
  };
}

const results = [await run(true), await run(false)];
console.table(results);
const [sharedRun, unsharedRun] = results;
console.log(
  `unshared/shared: p50 latency x${(unsharedRun.p50ms / sharedRun.p50ms).toFixed(1)}, CPU per event x${(unsharedRun.cpuMsPerEvent / sharedRun.cpuMsPerEvent).toFixed(1)}`,
);
