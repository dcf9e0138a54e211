import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../server/config.js';
import { openDatabase } from '../server/db/client.js';
import { eq, isNull } from 'drizzle-orm';
import { apiTokens, connections, credentials } from '../server/db/schema.js';
import { findUserByEmail } from '../server/domain/accounts.js';
import { authenticateToken } from '../server/domain/api-tokens.js';
import { readCredentials, storeCredentials } from '../server/domain/credentials.js';
import { Vault } from '../server/domain/vault.js';
import { runScript, startScript } from './support/processes.js';

const dirs: string[] = [];
function dataDir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'patchbay-test-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('configuration', () => {
  it('reads defaults and rejects bad values with the variable named', () => {
    const config = readConfig({});
    expect(config).toMatchObject({ port: 4000, host: '127.0.0.1', seedDemo: true, logLevel: 'info', checkPeriodMs: 86_400_000, refreshMarginMs: 300_000 });
    expect(() => readConfig({ PATCHBAY_REFRESH_MARGIN_MS: '5' })).toThrow(/PATCHBAY_REFRESH_MARGIN_MS/);
    const key = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
    expect(readConfig({ DATABASE_URL: 'postgres://x@localhost/db', PATCHBAY_SECRET_KEY: key }).seedDemo).toBe(false);
    expect(() => readConfig({ DATABASE_URL: 'postgres://x@localhost/db', PATCHBAY_SECRET_KEY: 'k' })).toThrow(/^PATCHBAY_SECRET_KEY is not a usable key list .*id:base64/);
    expect(() => readConfig({ DATABASE_URL: 'postgres://x@localhost/db' })).toThrow(/PATCHBAY_SECRET_KEY is required/);
    expect(() => readConfig({ PORT: 'eighty' })).toThrow(new ConfigError('PORT must be an integer from 0 to 65535, got "eighty"'));
    expect(() => readConfig({ DATABASE_URL: 'mysql://x', PATCHBAY_SECRET_KEY: key })).toThrow(/DATABASE_URL must use postgres:/);
    expect(() => readConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
    expect(() => readConfig({ PATCHBAY_SEED_DEMO: 'maybe' })).toThrow(/PATCHBAY_SEED_DEMO/);
    const apps = readConfig({ PATCHBAY_OAUTH_QUICKBOOKS_ONLINE_CLIENT_ID: 'qb-id', PATCHBAY_OAUTH_QUICKBOOKS_ONLINE_CLIENT_SECRET: 'qb-secret' });
    expect(apps.defaultOAuthApps.get('quickbooks-online')).toEqual({ clientId: 'qb-id', clientSecret: 'qb-secret' });
    expect(() => readConfig({ PATCHBAY_OAUTH_XERO_CLIENT_ID: 'x' })).toThrow(/PATCHBAY_OAUTH_XERO_CLIENT_SECRET/);
  });
});

describe('npm start (embedded PGlite)', () => {
  it('migrates, seeds the demo account once, prints URLs and a working demo token, and prints the same token after a restart (a new one once it is revoked)', async () => {
    const dir = dataDir();
    const env = { PATCHBAY_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'warn' };
    const ready = /Demo API token[^\n]*\n/;
    const first = await startScript('server/main.ts', env, ready);
    const out = first.stdout();
    const url = /GraphQL:\s+(\S+)/.exec(out)![1];
    const token = /pb_[A-Za-z0-9_-]+/.exec(out)![0];
    expect(out).toContain('GraphiQL:');
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: '{ viewer { user { name } unreadNotificationCount notifications(first: 20) { nodes { kind } } } connections(first: 100) { totalCount nodes { status } } }',
      }),
    });
    const body = (await response.json()) as any;
    expect(body.data.viewer.user.name).toBe('Pam Beesly');
    // Pam has the notices of the demo's broken connections and of LinkedIn's coming deadline.
    const kinds = body.data.viewer.notifications.nodes.map((node: { kind: string }) => node.kind);
    expect(new Set(kinds)).toEqual(new Set(['CONNECTION_DISCONNECTED', 'REAUTHORIZATION_DUE']));
    expect(body.data.viewer.unreadNotificationCount).toBe(kinds.length);
    const statuses = new Set(body.data.connections.nodes.map((node: { status: string }) => node.status));
    expect([...statuses].sort()).toEqual(['ACTIVE', 'DISCONNECTED', 'PENDING', 'REVOKED']);
    expect(await first.stop()).toBe(0);

    const second = await startScript('server/main.ts', env, ready);
    const token2 = /pb_[A-Za-z0-9_-]+/.exec(second.stdout())![0];
    expect(token2).toBe(token);
    expect(await second.stop()).toBe(0);
    // Kept in the data dir, readable by its owner only.
    expect(readFileSync(path.join(dir, 'demo-token'), 'utf8').trim()).toBe(token);
    expect(statSync(path.join(dir, 'demo-token')).mode & 0o777).toBe(0o600);
    const database = await openDatabase({ dataDir: dir });
    try {
      expect(await authenticateToken(database.db, token)).toMatchObject({ role: 'ADMIN' });
      const accounts = await database.db.query.accounts.findMany();
      expect(accounts).toHaveLength(1);
      // An operator revokes it: the next start issues a new one instead of printing a dead token.
      await database.db.update(apiTokens).set({ revokedAt: new Date().toISOString() }).where(isNull(apiTokens.revokedAt));
    } finally {
      await database.close();
    }
    const third = await startScript('server/main.ts', env, ready);
    const token3 = /pb_[A-Za-z0-9_-]+/.exec(third.stdout())![0];
    const url3 = /GraphQL:\s+(\S+)/.exec(third.stdout())![1];
    const viewer = await fetch(url3, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token3}` },
      body: JSON.stringify({ query: '{ viewer { user { name } } }' }),
    });
    expect(await third.stop()).toBe(0);
    expect(token3).not.toBe(token);
    expect(((await viewer.json()) as any).data.viewer.user.name).toBe('Pam Beesly');
    expect(readFileSync(path.join(dir, 'demo-token'), 'utf8').trim()).toBe(token3);
  }, 180_000);
});

describe('the operators’ CLI', () => {
  it('creates an account, a user and a token that authenticates; bad usage exits 2', async () => {
    const dir = dataDir();
    const env = { PATCHBAY_DATA_DIR: dir };
    const account = await runScript('server/cli.ts', ['accounts', 'create', '--name', 'Initech', '--owner-email', 'bill@initech.example', '--owner-name', 'Bill'], env);
    expect(account.code).toBe(0);
    const { accountId } = JSON.parse(account.stdout);
    const user = await runScript('server/cli.ts', ['users', 'create', '--account', accountId, '--email', 'peter@initech.example', '--name', 'Peter', '--role', 'editor'], env);
    expect(JSON.parse(user.stdout)).toMatchObject({ role: 'EDITOR' });
    const token = await runScript('server/cli.ts', ['tokens', 'create', '--email', 'peter@initech.example', '--name', 'worker', '--kind', 'service'], env);
    const created = JSON.parse(token.stdout);
    expect(created.kind).toBe('SERVICE');
    const duplicate = await runScript('server/cli.ts', ['users', 'create', '--account', accountId, '--email', 'PETER@initech.example', '--name', 'Peter again'], env);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('already exists');
    const usage = await runScript('server/cli.ts', ['tokens', 'create', '--name', 'x'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--email is required');
    const database = await openDatabase({ dataDir: dir });
    let connectionId: string;
    const firstVault = Vault.fromDataDir(dir);
    try {
      expect(await authenticateToken(database.db, created.token)).toMatchObject({ accountId, tokenKind: 'SERVICE', role: 'EDITOR' });
      const owner = (await findUserByEmail(database.db, 'bill@initech.example'))!;
      const [connection] = await database.db
        .insert(connections)
        .values({ accountId, ownerId: owner.id, integrationKey: 'stripe', name: 'Stripe', status: 'ACTIVE' })
        .returning();
      connectionId = connection.id;
      await storeCredentials(database.db, firstVault, connection, { apiKey: 'rk_live_rotate_me' });
    } finally {
      await database.close();
    }
    const rotate = await runScript('server/cli.ts', ['keys', 'rotate'], env);
    expect(JSON.parse(rotate.stdout)).toMatchObject({ resealed: { credentials: 1, oauthApps: 0, oauthAttempts: 0, webhookEndpoints: 0 } });
    const reopened = await openDatabase({ dataDir: dir });
    try {
      const vault = Vault.fromDataDir(dir);
      expect(vault.currentKeyId).not.toBe(firstVault.currentKeyId);
      const [row] = await reopened.db.select().from(credentials).where(eq(credentials.connectionId, connectionId));
      expect(row.keyId).toBe(vault.currentKeyId);
      expect(await readCredentials(reopened.db, vault, connectionId)).toEqual({ apiKey: 'rk_live_rotate_me' });
    } finally {
      await reopened.close();
    }
  }, 120_000);
});
