/**
 * The Patchbay side of the fan-out benchmark, in a process of its own: a gateway (createApp,
 * embedded PGlite, in-process bus) with one account, one shared connection and TOKENS API tokens
 * of a member. The benchmark drives it over the fork IPC channel: commit a status change, read
 * CPU, force a GC and read memory, count live subscribers. Started with --expose-gc.
 */
import { randomBytes } from 'node:crypto';
import { createApp } from '../../server/app.js';
import { openPglite } from '../../server/db/client.js';
import { connections } from '../../server/db/schema.js';
import { transaction } from '../../server/db/transaction.js';
import { createAccount, createUser } from '../../server/domain/accounts.js';
import { issueApiToken } from '../../server/domain/api-tokens.js';
import { transition } from '../../server/domain/lifecycle.js';
import type { ConnectionRow } from '../../server/domain/types.js';
import { Vault } from '../../server/domain/vault.js';
import { RATE_LIMITS_OFF } from '../../server/edge/rate-limit.js';
import { createLog } from '../../server/log.js';
import { cpuMicros, memoryAfterGc, nowMs, serveCommands } from './process-stats.js';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 100);

const handle = await openPglite();
await handle.migrate();
const { account, owner } = await createAccount(handle.db, { name: 'Bench', owner: { email: 'owner@bench.test', name: 'Owner' } });
const member = await createUser(handle.db, { accountId: account.id, email: 'member@bench.test', name: 'Member', role: 'MEMBER' });
const [row] = await handle.db
  .insert(connections)
  .values({ accountId: account.id, ownerId: owner.id, integrationKey: 'google-analytics-4', status: 'ACTIVE', shared: true, name: 'Bench GA4' })
  .returning();
const tokens: string[] = [];
for (let i = 0; i < TOKENS; i++) {
  tokens.push((await issueApiToken(handle.db, { accountId: account.id, userId: member.id, name: `s${i}`, kind: 'USER' })).token);
}
const app = createApp({
  db: handle.db,
  log: createLog('error'),
  vault: Vault.fromKeyList(randomBytes(32).toString('base64')),
  rateLimit: RATE_LIMITS_OFF,
});
const url = await app.start(0);

let connection: ConnectionRow = row;
serveCommands(async (command) => {
  switch (command.type) {
    case 'cpu':
      return { cpuMicros: cpuMicros() };
    case 'mark':
      return { memory: await memoryAfterGc(), stats: { ...app.live.stats } };
    case 'subscribers':
      return { count: app.live.counts().connectionStatus };
    case 'event': {
      const sentAt = nowMs();
      connection = await transaction(handle.db, (tx) =>
        transition(tx, connection, connection.status === 'ACTIVE' ? 'DISCONNECTED' : 'ACTIVE', { kind: 'SYSTEM' }, { reason: 'INVALID_REFRESH_TOKEN', message: null }),
      );
      return { sentAt };
    }
    default:
      return {};
  }
});
process.send!({ type: 'ready', url, tokens });
process.on('disconnect', () => {
  void app.stop().then(() => handle.close()).finally(() => process.exit(0));
});
