/** Accounts (tenants) and their users: what operators create through the CLI and seed. */
import { asc, eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { accounts, users } from '../db/schema.js';
import { NotFoundError, ValidationError } from './errors.js';
import { isUuid } from './global-ids.js';
import type { AccountRow, UserRole, UserRow } from './types.js';
import { validEmail, validName } from './validation.js';

/** Creates an account with its owner (an ADMIN) in one transaction. */
export async function createAccount(
  db: Database,
  input: { name: string; owner: { email: string; name: string } },
): Promise<{ account: AccountRow; owner: UserRow }> {
  const name = validName(input.name);
  const email = validEmail(input.owner.email, 'owner.email');
  const ownerName = validName(input.owner.name, 'owner.name');
  return transaction(db, async (tx) => {
    await assertEmailFree(tx, email);
    const [account] = await tx.insert(accounts).values({ name }).returning();
    const [owner] = await tx
      .insert(users)
      .values({ accountId: account.id, email, name: ownerName, role: 'ADMIN', isOwner: true })
      .returning();
    return { account, owner };
  });
}

/** Adds a user to an existing account. */
export async function createUser(
  db: Database,
  input: { accountId: string; email: string; name: string; role: UserRole },
): Promise<UserRow> {
  const email = validEmail(input.email);
  const name = validName(input.name);
  await findAccount(db, input.accountId);
  await assertEmailFree(db, email);
  const [user] = await db
    .insert(users)
    .values({ accountId: input.accountId, email, name, role: input.role })
    .returning();
  return user;
}

/** The account with this id; NotFoundError for an unknown or malformed id. */
export async function findAccount(db: Database, accountId: string): Promise<AccountRow> {
  const account = isUuid(accountId) ? await db.query.accounts.findFirst({ where: { id: accountId } }) : undefined;
  if (!account) throw new NotFoundError('Account');
  return account;
}

/** Every account, oldest first (for operators: there is no viewer and no paging). */
export function listAccounts(db: Database): Promise<AccountRow[]> {
  return db.select().from(accounts).orderBy(asc(accounts.createdAt), asc(accounts.id));
}

/** The users of one account, or of every account, oldest first (for operators). */
export async function listUsers(db: Database, filter: { accountId?: string } = {}): Promise<UserRow[]> {
  if (filter.accountId !== undefined) await findAccount(db, filter.accountId);
  return db
    .select()
    .from(users)
    .where(filter.accountId !== undefined ? eq(users.accountId, filter.accountId) : undefined)
    .orderBy(asc(users.createdAt), asc(users.id));
}

/** Finds a user by email (case-insensitive). */
export async function findUserByEmail(db: Database, email: string): Promise<UserRow | undefined> {
  const rows = await db.select().from(users).where(eq(users.email, email.trim().toLowerCase()));
  return rows[0];
}

async function assertEmailFree(db: Database, email: string) {
  if (await findUserByEmail(db, email)) {
    throw new ValidationError(`A user with email ${email} already exists`, 'email');
  }
}
