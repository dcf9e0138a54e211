/** Accounts (tenants) and their users: what operators create through the CLI and seed. */
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { accounts, users } from '../db/schema.js';
import { NotFoundError, ValidationError } from './errors.js';
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
  const account = await db.query.accounts.findFirst({ where: { id: input.accountId } });
  if (!account) throw new NotFoundError('Account');
  await assertEmailFree(db, email);
  const [user] = await db
    .insert(users)
    .values({ accountId: input.accountId, email, name, role: input.role })
    .returning();
  return user;
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
