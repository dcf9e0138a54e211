/**
 * Operator CLI (`npm run patchbay -- <command>`): accounts, users and API tokens. Uses the same
 * config as the server (DATABASE_URL or the PGlite data dir) and the same domain functions.
 * Writes print JSON and lists print aligned columns on stdout, only once the database is closed
 * (so what is reported has landed); errors go to stderr as one line with exit code 1 (2 for usage
 * errors). Embedded, the CLI takes the data dir's lock like the gateway, so it refuses to run
 * beside a running gateway instead of writing to a copy of the database that is thrown away.
 */
import { DrizzleQueryError } from 'drizzle-orm';
import { parseArgs } from 'node:util';
import { ConfigError, readConfig } from './config.js';
import { type Database, openDatabase } from './db/client.js';
import { DataDirLockedError, lockDataDir } from './db/data-dir-lock.js';
import { createAccount, createUser, findUserByEmail, listAccounts, listUsers } from './domain/accounts.js';
import { issueApiToken, listApiTokens, revokeApiToken } from './domain/api-tokens.js';
import { NotFoundError, PatchbayError, timeoutFromDatabaseError } from './domain/errors.js';
import type { ApiTokenKind, UserRole, UserRow } from './domain/types.js';
import { resealSecrets } from './domain/key-rotation.js';
import { Vault } from './domain/vault.js';
import { openVault } from './vault-config.js';

const USAGE = `Usage: npm run patchbay -- <command> [options]

Commands:
  accounts create --name <name> --owner-email <email> --owner-name <name>
  accounts list
  users create --account <account id> --email <email> --name <name> [--role MEMBER|EDITOR|ADMIN]
  users list [--account <account id>]
  tokens create --email <user email> --name <name> [--kind USER|SERVICE]
  tokens list [--email <user email>]          (shows each token's prefix, never the token)
  tokens revoke --email <user email> --id <token id>
  keys rotate      re-seal every secret (credentials, OAuth app and webhook secrets) under the newest key
                   (embedded mode: adds a new key to the data dir's key file first; with PATCHBAY_SECRET_KEY, put the new key
                   first in the list, deploy, then run this)
  help             this text (also --help, -h)

Environment: DATABASE_URL (PostgreSQL) or PATCHBAY_DATA_DIR (PGlite, default ./.data).
Embedded, a data dir belongs to one process: stop the gateway before running a command on its
data dir (the command refuses while the gateway holds it), or use PostgreSQL.`;

class UsageError extends Error {}

const ROLES = ['MEMBER', 'EDITOR', 'ADMIN'] as const;
const KINDS = ['USER', 'SERVICE'] as const;

type Values = Record<string, string | boolean | undefined>;

function oneOf<T extends string>(value: string | boolean | undefined, allowed: readonly T[], fallback: T, flag: string): T {
  if (value === undefined) return fallback;
  const upper = String(value).toUpperCase();
  if (!(allowed as readonly string[]).includes(upper)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}`);
  return upper as T;
}

function required(values: Values, flag: string): string {
  const value = values[flag];
  if (typeof value !== 'string' || !value) throw new UsageError(`--${flag} is required`);
  return value;
}

function optional(values: Values, flag: string): string | undefined {
  return values[flag] === undefined ? undefined : required(values, flag);
}

async function userByEmail(db: Database, email: string): Promise<UserRow> {
  const user = await findUserByEmail(db, email);
  if (!user) throw new NotFoundError('User', `No user with email ${email}`);
  return user;
}

/** A timestamp to the minute, in UTC; '-' for none. */
function when(value: string | null): string {
  return value ? `${new Date(value).toISOString().slice(0, 16).replace('T', ' ')}Z` : '-';
}

/** Rows as left-aligned columns under their headers. */
function columns(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, index) => Math.max(header.length, ...rows.map((row) => row[index].length)));
  return [headers, ...rows]
    .map((row) => row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index]))).join('  '))
    .join('\n');
}

/** What a command prints: an object as JSON, a string (a listing) as it is. */
type Output = object | string;

/**
 * The command the arguments name, with its flags checked, as work to run on the open database;
 * usage errors surface here, before any database is opened.
 */
function commandFor(command: string, values: Values, config: ReturnType<typeof readConfig>): (db: Database) => Promise<Output> {
  switch (command) {
    case 'accounts create': {
      const input = {
        name: required(values, 'name'),
        owner: { email: required(values, 'owner-email'), name: required(values, 'owner-name') },
      };
      return async (db) => {
        const { account, owner } = await createAccount(db, input);
        return { accountId: account.id, ownerId: owner.id };
      };
    }
    case 'accounts list':
      return async (db) => {
        const rows = await listAccounts(db);
        return columns(['ID', 'NAME', 'CREATED'], rows.map((row) => [row.id, row.name, when(row.createdAt)]));
      };
    case 'users create': {
      const input = {
        accountId: required(values, 'account'),
        email: required(values, 'email'),
        name: required(values, 'name'),
        role: oneOf<UserRole>(values.role, ROLES, 'MEMBER', 'role'),
      };
      return async (db) => {
        const user = await createUser(db, input);
        return { userId: user.id, role: user.role };
      };
    }
    case 'users list': {
      const accountId = optional(values, 'account');
      return async (db) => {
        const rows = await listUsers(db, { accountId });
        return columns(
          ['ID', 'EMAIL', 'NAME', 'ROLE', 'ACCOUNT', 'CREATED'],
          rows.map((row) => [row.id, row.email, row.name, row.isOwner ? `${row.role} (owner)` : row.role, row.accountId, when(row.createdAt)]),
        );
      };
    }
    case 'tokens create': {
      const email = required(values, 'email');
      const name = required(values, 'name');
      const kind = oneOf<ApiTokenKind>(values.kind, KINDS, 'USER', 'kind');
      return async (db) => {
        const user = await userByEmail(db, email);
        const { token, row } = await issueApiToken(db, { accountId: user.accountId, userId: user.id, name, kind });
        return { tokenId: row.id, kind: row.kind, token, note: 'Store the token now: it is not shown again.' };
      };
    }
    case 'tokens list': {
      const email = optional(values, 'email');
      return async (db) => {
        const user = email === undefined ? undefined : await userByEmail(db, email);
        const rows = await listApiTokens(db, { userId: user?.id });
        return columns(
          ['ID', 'PREFIX', 'NAME', 'KIND', 'USER', 'CREATED', 'LAST USED', 'REVOKED'],
          rows.map((row) => [row.id, `${row.prefix}…`, row.name, row.kind, row.email, when(row.createdAt), when(row.lastUsedAt), when(row.revokedAt)]),
        );
      };
    }
    case 'tokens revoke': {
      const email = required(values, 'email');
      const tokenId = required(values, 'id');
      if (!/^[0-9a-f-]{36}$/i.test(tokenId)) throw new UsageError('--id must be a token id (a UUID)');
      return async (db) => {
        const user = await userByEmail(db, email);
        const viewer = { userId: user.id, accountId: user.accountId, role: user.role, isOwner: user.isOwner, tokenId: '', tokenKind: 'USER' as const };
        const row = await revokeApiToken(db, viewer, tokenId);
        return { tokenId: row.id, revokedAt: row.revokedAt };
      };
    }
    case 'keys rotate':
      return async (db) => {
        const vault = config.secretKey ? openVault(config) : Vault.rotateDataDirKey(config.dataDir);
        const { resealed, unopenable } = await resealSecrets(db, vault);
        return {
          currentKeyId: vault.currentKeyId,
          resealed,
          ...(Object.keys(unopenable).length
            ? { unopenable, note: 'These secrets were sealed with a key that is not configured; they were left as they were.' }
            : {}),
        };
      };
    default:
      throw new UsageError(`Unknown command "${command}"`);
  }
}

/** Runs the command; returns what to print, or 'help'. */
async function main(argv: string[]): Promise<Output | 'help'> {
  let parsed;
  try {
    parsed = parseArgs({
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
  } catch (error) {
    // node:util's messages for an unknown option or a missing value are written for people.
    throw new UsageError((error as Error).message);
  }
  const { positionals, values } = parsed;
  const command = positionals.join(' ');
  if (values.help || command === 'help') return 'help';
  if (!command) throw new UsageError('');
  const config = readConfig();
  const run = commandFor(command, values, config);
  // Embedded: refuse (without opening the database) while the gateway or another command holds it.
  const lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir, 'cli');
  try {
    const database = await openDatabase(config);
    try {
      await database.migrate();
      return await run(database.db);
    } finally {
      // Closing PGlite writes its data dir back: the result is printed only after this.
      await database.close();
    }
  } finally {
    lock?.release();
  }
}

/** A one-line reason for an unexpected failure: the driver's message, never drizzle's SQL and parameters. */
function reason(error: unknown): string {
  const cause = error instanceof DrizzleQueryError && error.cause instanceof Error ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  return message.split('\n')[0];
}

main(process.argv.slice(2)).then(
  (result) => {
    if (result === 'help') process.stdout.write(`${USAGE}\n`);
    else process.stdout.write(typeof result === 'string' ? `${result}\n` : `${JSON.stringify(result, null, 2)}\n`);
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message ? `${error.message}\n\n` : ''}${USAGE}\n`);
      process.exit(2);
    }
    // A statement or lock timeout (the CLI runs under the gateway's limits) says so, not the failed SQL.
    const known = error instanceof PatchbayError ? error : timeoutFromDatabaseError(error);
    if (known || error instanceof DataDirLockedError) process.stderr.write(`${(known ?? (error as Error)).message}\n`);
    else if (error instanceof ConfigError) process.stderr.write(`Configuration error: ${error.message}\n`);
    else process.stderr.write(`Failed: ${reason(error)}\n`);
    process.exit(1);
  },
);
