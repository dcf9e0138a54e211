/**
 * Operator CLI (`npm run patchbay -- <command>`): accounts, users and API tokens. Uses the same
 * config as the server (DATABASE_URL or the PGlite data dir) and the same domain functions.
 * Prints JSON on stdout; errors go to stderr with exit code 1 (2 for usage errors).
 */
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { createAccount, createUser, findUserByEmail } from './domain/accounts.js';
import { issueApiToken, revokeApiToken } from './domain/api-tokens.js';
import { PatchbayError, timeoutFromDatabaseError } from './domain/errors.js';
import type { ApiTokenKind, UserRole } from './domain/types.js';
import { resealSecrets } from './domain/key-rotation.js';
import { Vault } from './domain/vault.js';
import { openVault } from './vault-config.js';

const USAGE = `Usage: npm run patchbay -- <command> [options]

Commands:
  accounts create --name <name> --owner-email <email> --owner-name <name>
  users create --account <account id> --email <email> --name <name> [--role MEMBER|EDITOR|ADMIN]
  tokens create --email <user email> --name <name> [--kind USER|SERVICE]
  tokens revoke --email <user email> --id <token id>
  keys rotate      re-seal every secret (credentials, OAuth app and webhook secrets) under the newest key
                   (embedded mode: adds a new key to the data dir's key file first; with PATCHBAY_SECRET_KEY, put the new key
                   first in the list, deploy, then run this)

Environment: DATABASE_URL (PostgreSQL) or PATCHBAY_DATA_DIR (PGlite, default ./.data).
Stop a running embedded server first: PGlite allows one process per data dir.`;

class UsageError extends Error {}

const ROLES = ['MEMBER', 'EDITOR', 'ADMIN'] as const;
const KINDS = ['USER', 'SERVICE'] as const;

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T, flag: string): T {
  if (value === undefined) return fallback;
  const upper = value.toUpperCase();
  if (!(allowed as readonly string[]).includes(upper)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}`);
  return upper as T;
}

function required(values: Record<string, string | boolean | undefined>, flag: string): string {
  const value = values[flag];
  if (typeof value !== 'string' || !value) throw new UsageError(`--${flag} is required`);
  return value;
}

async function main(argv: string[]): Promise<unknown> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      'owner-email': { type: 'string' },
      'owner-name': { type: 'string' },
      account: { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
      kind: { type: 'string' },
      id: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals.join(' ');
  if (values.help || !command) throw new UsageError('');
  const config = readConfig();
  if (!config.databaseUrl) mkdirSync(config.dataDir, { recursive: true });
  const database = await openDatabase(config);
  try {
    await database.migrate();
    const db = database.db;
    switch (command) {
      case 'accounts create': {
        const { account, owner } = await createAccount(db, {
          name: required(values, 'name'),
          owner: { email: required(values, 'owner-email'), name: required(values, 'owner-name') },
        });
        return { accountId: account.id, ownerId: owner.id };
      }
      case 'users create': {
        const user = await createUser(db, {
          accountId: required(values, 'account'),
          email: required(values, 'email'),
          name: required(values, 'name'),
          role: oneOf<UserRole>(values.role, ROLES, 'MEMBER', 'role'),
        });
        return { userId: user.id, role: user.role };
      }
      case 'tokens create': {
        const user = await findUserByEmail(db, required(values, 'email'));
        if (!user) throw new UsageError(`No user with email ${values.email}`);
        const { token, row } = await issueApiToken(db, {
          accountId: user.accountId,
          userId: user.id,
          name: required(values, 'name'),
          kind: oneOf<ApiTokenKind>(values.kind, KINDS, 'USER', 'kind'),
        });
        return { tokenId: row.id, kind: row.kind, token, note: 'Store the token now: it is not shown again.' };
      }
      case 'tokens revoke': {
        const user = await findUserByEmail(db, required(values, 'email'));
        if (!user) throw new UsageError(`No user with email ${values.email}`);
        const viewer = { userId: user.id, accountId: user.accountId, role: user.role, isOwner: user.isOwner, tokenId: '', tokenKind: 'USER' as const };
        const tokenId = required(values, 'id');
        if (!/^[0-9a-f-]{36}$/i.test(tokenId)) throw new UsageError('--id must be a token id (a UUID)');
        const row = await revokeApiToken(db, viewer, tokenId);
        return { tokenId: row.id, revokedAt: row.revokedAt };
      }
      case 'keys rotate': {
        const vault = config.secretKey ? openVault(config) : Vault.rotateDataDirKey(config.dataDir);
        const { resealed, unopenable } = await resealSecrets(db, vault);
        return {
          currentKeyId: vault.currentKeyId,
          resealed,
          ...(Object.keys(unopenable).length
            ? { unopenable, note: 'These secrets were sealed with a key that is not configured; they were left as they were.' }
            : {}),
        };
      }
      default:
        throw new UsageError(`Unknown command "${command}"`);
    }
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message ? `${error.message}\n\n` : ''}${USAGE}\n`);
      process.exit(2);
    }
    // A statement or lock timeout (the CLI runs under the gateway's limits) says so, not the failed SQL.
    const known = error instanceof PatchbayError ? error : timeoutFromDatabaseError(error);
    process.stderr.write(`${known ? known.message : `Failed: ${(error as Error).message}`}\n`);
    process.exit(1);
  },
);
