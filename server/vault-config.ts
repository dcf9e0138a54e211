/** The vault a process uses: keys from PATCHBAY_SECRET_KEY, else the embedded data dir's key file. */
import type { Config } from './config.js';
import { Vault } from './domain/vault.js';

/** Opens the configured vault (creating the embedded key file on first use). */
export function openVault(config: Pick<Config, 'secretKey' | 'dataDir'>): Vault {
  return config.secretKey ? Vault.fromKeyList(config.secretKey) : Vault.fromDataDir(config.dataDir);
}
