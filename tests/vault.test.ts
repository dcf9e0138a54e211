import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { connections, credentials, webhookEndpoints, webhookPreviousSecrets } from '../server/db/schema.js';
import { readCredentials, storeCredentials } from '../server/domain/credentials.js';
import { loadIntegrations } from '../server/domain/integrations.js';
import { resealSecrets } from '../server/domain/key-rotation.js';
import { configureIntegration, loadApp } from '../server/domain/oauth2.js';
import { Vault, VaultError } from '../server/domain/vault.js';
import { createWebhookEndpoint, endpointSecret, previousEndpointSecret, rotateWebhookEndpointSecret } from '../server/domain/webhooks.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { tenant, testOAuthSettings } from './support/fixtures.js';

const key = () => randomBytes(32).toString('base64');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the vault', () => {
  it('seals with AES-256-GCM under the first key and opens with any configured key', () => {
    const old = Vault.fromKeyList(`old:${key()}`);
    const sealed = old.seal('conn-1', { apiKey: 'secret-value' });
    expect(sealed.keyId).toBe('old');
    expect(sealed.ciphertext.toString('latin1')).not.toContain('secret-value');
    expect(old.open('conn-1', sealed)).toEqual({ apiKey: 'secret-value' });
    // A blob copied to another connection does not open; neither does a tampered one.
    expect(() => old.open('conn-2', sealed)).toThrow(VaultError);
    const tampered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext) };
    tampered.ciphertext[tampered.ciphertext.length - 1] ^= 1;
    expect(() => old.open('conn-1', tampered)).toThrow(VaultError);
    // Without the key that sealed it, the error names the key id, never the secret.
    expect(() => Vault.fromKeyList(`new:${key()}`).open('conn-1', sealed)).toThrow('The secret key "old" is not configured');
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => Vault.fromKeyList('short:c2hvcnQ=')).toThrow(/32 bytes/);
    expect(() => Vault.fromKeyList('')).toThrow(/No secret key/);
  });

  it('generates one key file with 0600 permissions in an embedded data dir and rotates it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchbay-vault-'));
    dirs.push(dir);
    const first = Vault.fromDataDir(dir);
    expect(statSync(path.join(dir, 'secret-keys')).mode & 0o777).toBe(0o600);
    expect(Vault.fromDataDir(dir).currentKeyId).toBe(first.currentKeyId);
    const sealed = first.seal('c', { password: 'p' });
    const rotated = Vault.rotateDataDirKey(dir);
    expect(rotated.currentKeyId).not.toBe(first.currentKeyId);
    expect(rotated.open('c', sealed)).toEqual({ password: 'p' });
    expect(statSync(path.join(dir, 'secret-keys')).mode & 0o777).toBe(0o600);
  });
});

describeEachDatabase('key rotation', (db) => {
  it('re-seals every credential, OAuth app secret and webhook secret, current and previous, under the new key; all still open', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const oldKey = `old:${key()}`;
      const before = Vault.fromKeyList(oldKey);
      const rows = await tx.select().from(connections).where(eq(connections.accountId, a.account.id));
      for (const row of rows) await storeCredentials(tx, before, row, { apiKey: `key-for-${row.id}` });
      await configureIntegration(tx, before, a.admin.viewer, { integration: 'salesforce', clientId: 'sf-client', clientSecret: 'sf-app-secret' });
      const hook = await createWebhookEndpoint(tx, before, a.admin.viewer, { url: 'https://8.8.8.8/patchbay' });
      // Rotated with a grace period: the first secret is now the previous one, sealed on its own.
      const rotated = await rotateWebhookEndpointSecret(tx, before, a.admin.viewer, hook.endpoint.id, { keepPreviousForHours: 24 });
      const newKey = `new:${key()}`;
      const after = Vault.fromKeyList(`${newKey},${oldKey}`);
      // Other suites may have committed secrets under keys this vault lacks: reported, not fatal.
      const { resealed } = await resealSecrets(tx, after, 2);
      expect(resealed.credentials).toBeGreaterThanOrEqual(rows.length);
      expect(resealed.oauthApps).toBeGreaterThanOrEqual(1);
      expect(resealed.webhookEndpoints).toBeGreaterThanOrEqual(1);
      expect(resealed.webhookPreviousSecrets).toBeGreaterThanOrEqual(1);
      const onlyNew = Vault.fromKeyList(newKey);
      for (const row of rows) {
        const [stored] = await tx.select().from(credentials).where(eq(credentials.connectionId, row.id));
        expect(stored.keyId).toBe('new');
        expect(await readCredentials(tx, onlyNew, row.id)).toEqual({ apiKey: `key-for-${row.id}` });
      }
      const [salesforce] = await loadIntegrations(tx, a.account.id, ['salesforce']);
      expect(await loadApp(tx, onlyNew, a.account.id, salesforce!, testOAuthSettings)).toMatchObject({ clientId: 'sf-client', clientSecret: 'sf-app-secret' });
      const [endpoint] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, hook.endpoint.id));
      expect(endpointSecret(onlyNew, endpoint)).toBe(rotated.secret);
      const [previous] = await tx.select().from(webhookPreviousSecrets).where(eq(webhookPreviousSecrets.endpointId, hook.endpoint.id));
      expect(previous.keyId).toBe('new');
      expect(previousEndpointSecret(onlyNew, previous.endpointId, previous)).toBe(hook.secret);
      // The two blobs are bound apart: swapped between their columns, neither opens.
      expect(() => previousEndpointSecret(onlyNew, endpoint.id, endpoint)).toThrow(VaultError);
      expect(() => endpointSecret(onlyNew, { id: endpoint.id, keyId: previous.keyId, ciphertext: previous.ciphertext })).toThrow(VaultError);
      expect((await resealSecrets(tx, after)).resealed).toEqual({
        credentials: 0,
        oauthApps: 0,
        oauthAttempts: 0,
        grantRevocations: 0,
        webhookEndpoints: 0,
        webhookPreviousSecrets: 0,
      });
      await tx.update(credentials).set({ keyId: 'gone' }).where(eq(credentials.connectionId, rows[0].id));
      expect((await resealSecrets(tx, after)).unopenable.credentials).toContain(rows[0].id);
      // A current webhook secret whose key is gone cannot be kept: rotating it (the remedy) drops it.
      await tx.update(webhookEndpoints).set({ keyId: 'gone' }).where(eq(webhookEndpoints.id, hook.endpoint.id));
      const remedied = await rotateWebhookEndpointSecret(tx, after, a.admin.viewer, hook.endpoint.id, { keepPreviousForHours: 24 });
      expect(endpointSecret(after, remedied.endpoint)).toBe(remedied.secret);
      expect(await tx.select().from(webhookPreviousSecrets).where(eq(webhookPreviousSecrets.endpointId, hook.endpoint.id))).toHaveLength(0);
    });
  });
});
