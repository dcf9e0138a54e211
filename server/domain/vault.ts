/**
 * The vault: credentials encrypted at rest with AES-256-GCM (node:crypto). Every blob records the
 * id of the key that sealed it, and the connection id is authenticated data, so a blob copied to
 * another row does not decrypt. Keys come from PATCHBAY_SECRET_KEY ("id:base64,id:base64", the
 * first one seals) or, in embedded mode, from a 0600 key file generated once in the data dir.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PatchbayError } from './errors.js';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_FILE = 'secret-keys';

/** The vault cannot open a blob: a missing key or a tampered ciphertext. Never shows the secret. */
export class VaultError extends PatchbayError {
  override readonly code = 'VAULT';
  override name = 'VaultError';
}

/** A sealed secret as stored in the credentials table. */
export interface SealedSecret {
  keyId: string;
  ciphertext: Buffer;
}

/** Encrypts and decrypts credential payloads with a rotating set of keys. */
export class Vault {
  private constructor(
    private readonly keys: Map<string, Buffer>,
    /** The key new blobs are sealed with. */
    readonly currentKeyId: string,
  ) {}

  /**
   * Parses "id:base64key,id:base64key" (or one bare base64 key, whose id is derived from it);
   * the first key seals, all of them open.
   */
  static fromKeyList(list: string): Vault {
    const keys = new Map<string, Buffer>();
    let current: string | undefined;
    for (const entry of list.split(',').map((part) => part.trim()).filter(Boolean)) {
      const separator = entry.indexOf(':');
      const material = Buffer.from(separator < 0 ? entry : entry.slice(separator + 1), 'base64');
      if (material.length !== 32) {
        throw new VaultError('Each secret key must be 32 bytes, base64-encoded (openssl rand -base64 32)');
      }
      const id = separator < 0 ? createHash('sha256').update(material).digest('hex').slice(0, 8) : entry.slice(0, separator);
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new VaultError(`Secret key id "${id}" must be 1-32 letters, digits, - or _`);
      keys.set(id, material);
      current ??= id;
    }
    if (!current) throw new VaultError('No secret key given');
    return new Vault(keys, current);
  }

  /** The key file of an embedded data dir, created (0600) with one new key when absent. */
  static fromDataDir(dataDir: string): Vault {
    const file = path.join(dataDir, KEY_FILE);
    if (!existsSync(file)) {
      writeFileSync(file, `${newKeyEntry()}\n`, { mode: 0o600, flag: 'wx' });
    }
    chmodSync(file, 0o600);
    return Vault.fromKeyList(readFileSync(file, 'utf8'));
  }

  /** Adds a new sealing key to an embedded key file (older keys stay, to open old blobs). */
  static rotateDataDirKey(dataDir: string): Vault {
    const file = path.join(dataDir, KEY_FILE);
    const existing = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
    writeFileSync(file, `${[newKeyEntry(), existing].filter(Boolean).join(',')}\n`, { mode: 0o600 });
    return Vault.fromKeyList(readFileSync(file, 'utf8'));
  }

  /** Seals `payload` (JSON-serializable), bound to `boundTo` (a connection id or another row's identity). */
  seal(boundTo: string, payload: unknown): SealedSecret {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.keys.get(this.currentKeyId)!, iv);
    cipher.setAAD(Buffer.from(boundTo));
    const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
    return { keyId: this.currentKeyId, ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]) };
  }

  /** Opens a blob sealed for `boundTo`; throws VaultError when it cannot. */
  open<T>(boundTo: string, sealed: SealedSecret): T {
    const key = this.keys.get(sealed.keyId);
    if (!key) throw new VaultError(`The secret key "${sealed.keyId}" is not configured`);
    try {
      const iv = sealed.ciphertext.subarray(0, IV_BYTES);
      const tag = sealed.ciphertext.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
      const decipher = createDecipheriv(ALGORITHM, key, iv);
      decipher.setAAD(Buffer.from(boundTo));
      decipher.setAuthTag(tag);
      const body = Buffer.concat([decipher.update(sealed.ciphertext.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      return JSON.parse(body.toString('utf8')) as T;
    } catch {
      throw new VaultError('A stored credential could not be decrypted (wrong key or tampered data)');
    }
  }
}

function newKeyEntry(): string {
  // Time-ordered for people, random so two keys made in one millisecond never share an id.
  return `k${Date.now().toString(36)}${randomBytes(3).toString('hex')}:${randomBytes(32).toString('base64')}`;
}
