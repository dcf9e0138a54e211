/**
 * Two tenants with every role and every kind of connection, built through the domain (real
 * tokens, real authentication), plus an in-process GraphQL runner.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { execute, type ExecutionResult, parse } from 'graphql';
import type { Database } from '../../server/db/client.js';
import { connectionEvents, connections, dataSources, refreshRuns } from '../../server/db/schema.js';
import { createAccount, createUser } from '../../server/domain/accounts.js';
import { authenticateToken, issueApiToken } from '../../server/domain/api-tokens.js';
import type { ApiTokenKind, ConnectionRow, UserRole, UserRow } from '../../server/domain/types.js';
import type { Viewer } from '../../server/domain/viewer.js';
import type { Context } from '../../server/graphql/builder.js';
import { encodeGlobalId } from '../../server/domain/global-ids.js';
import { schema } from '../../server/graphql/schema.js';
import { Vault } from '../../server/domain/vault.js';

/** OAuth settings for in-process tests (no server listens on this callback). */
export const testOAuthSettings = {
  callbackUrl: 'http://127.0.0.1:1/oauth/callback',
  returnOrigins: ['http://app.example.test'],
  defaultApps: new Map([['hubspot', { clientId: 'operator-hubspot', clientSecret: 'operator-secret' }]]),
};

/** The vault in-process tests use: a fixed random key for this run. */
export const testVault = Vault.fromKeyList(`test:${randomBytes(32).toString('base64')}`);

export interface Person {
  user: UserRow;
  token: string;
  viewer: Viewer;
  id: string;
}

async function person(db: Database, user: UserRow, kind: ApiTokenKind = 'USER'): Promise<Person> {
  const { token } = await issueApiToken(db, { accountId: user.accountId, userId: user.id, name: 'test', kind });
  const viewer = await authenticateToken(db, token);
  if (!viewer) throw new Error('fixture token did not authenticate');
  return { user, token, viewer, id: encodeGlobalId('User', user.id) };
}

async function connection(
  db: Database,
  owner: UserRow,
  values: Partial<typeof connections.$inferInsert> & { name: string },
): Promise<ConnectionRow & { gid: string }> {
  const [row] = await db
    .insert(connections)
    .values({ accountId: owner.accountId, ownerId: owner.id, integrationKey: 'google-analytics-4', status: 'ACTIVE', ...values })
    .returning();
  await db.insert(connectionEvents).values({
    accountId: owner.accountId,
    connectionId: row.id,
    toStatus: row.status,
    actorKind: 'USER',
    actorUserId: owner.id,
  });
  return { ...row, gid: encodeGlobalId('Connection', row.id) };
}

/** Builds one tenant: owner, admin, editor, two members, and connections of each visibility. */
export async function tenant(db: Database, label: string) {
  const suffix = randomUUID().slice(0, 8);
  const email = (name: string) => `${name}.${suffix}@${label}.test`;
  const { account, owner } = await createAccount(db, {
    name: `Tenant ${label}`,
    owner: { email: email('owner'), name: `${label} Owner` },
  });
  const add = (name: string, role: UserRole) => createUser(db, { accountId: account.id, email: email(name), name, role });
  const people = {
    owner: await person(db, owner),
    admin: await person(db, await add('admin', 'ADMIN')),
    editor: await person(db, await add('editor', 'EDITOR')),
    member: await person(db, await add('member', 'MEMBER')),
    member2: await person(db, await add('member2', 'MEMBER')),
  };
  const service = await person(db, people.admin.user, 'SERVICE');
  const conns = {
    shared: await connection(db, owner, { name: `${label} shared GA4`, shared: true }),
    memberPrivate: await connection(db, people.member.user, { name: `${label} member private`, shared: false }),
    member2Private: await connection(db, people.member2.user, { name: `${label} member2 private`, shared: false }),
    sharedSalesforce: await connection(db, people.member.user, {
      name: `${label} shared Salesforce`,
      integrationKey: 'salesforce',
      shared: true,
      status: 'DISCONNECTED',
      disconnectReason: 'INVALID_REFRESH_TOKEN',
      errorMessage: 'invalid_grant',
    }),
  };
  const [source] = await db
    .insert(dataSources)
    .values({ accountId: account.id, connectionId: conns.shared.id, resourceId: 'properties/1', name: 'Sessions', schedule: '0 6 * * *' })
    .returning();
  const [privateSource] = await db
    .insert(dataSources)
    .values({ accountId: account.id, connectionId: conns.memberPrivate.id, resourceId: 'properties/2', name: 'Private sessions', schedule: '0 6 * * *' })
    .returning();
  const [run] = await db.insert(refreshRuns).values({ accountId: account.id, dataSourceId: source.id, status: 'SUCCEEDED', rows: 10 }).returning();
  return {
    account,
    accountGid: encodeGlobalId('Account', account.id),
    ...people,
    service,
    connections: conns,
    dataSource: { ...source, gid: encodeGlobalId('DataSource', source.id) },
    privateDataSource: { ...privateSource, gid: encodeGlobalId('DataSource', privateSource.id) },
    refreshRun: { ...run, gid: encodeGlobalId('RefreshRun', run.id) },
  };
}

export type Tenant = Awaited<ReturnType<typeof tenant>>;

/** Executes a GraphQL document in-process as `viewer` (null: anonymous) on `db`; `context` adds settings. */
export async function graphql<T = Record<string, any>>(
  db: Database,
  viewer: Viewer | null,
  document: string,
  variables?: Record<string, unknown>,
  context: Partial<Context> = {},
): Promise<ExecutionResult<T>> {
  return (await execute({
    schema,
    document: parse(document),
    contextValue: { db, viewer, vault: testVault, oauth: testOAuthSettings, ...context } satisfies Context,
    variableValues: variables,
  })) as ExecutionResult<T>;
}
