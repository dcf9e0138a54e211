import { randomUUID } from 'node:crypto';
import { and, count, eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { countStatements } from '../server/db/client.js';
import { accessTokenGrants, connections } from '../server/db/schema.js';
import { recordAccessTokenGrant } from '../server/domain/access-token-grants.js';
import { runForOperation } from '../server/db/cancellation.js';
import { OperationCancelledError } from '../server/domain/errors.js';
import { storeCredentials } from '../server/domain/credentials.js';
import type { Database } from '../server/db/client.js';
import { describeEachDatabase } from './support/db.js';
import { graphql, type Tenant, tenant, testVault } from './support/fixtures.js';

const HANDOUT = `mutation($id: ID!) { connectionAccessToken(input: { connectionId: $id }) { __typename ... on ConnectionAccessTokenSuccess { result { accessToken expiresAt } } ... on Error { message } } }`;

async function grantsOf(db: Database, t: Tenant): Promise<number> {
  const [{ value }] = await db
    .select({ value: count() })
    .from(accessTokenGrants)
    .where(and(eq(accessTokenGrants.connectionId, t.connections.shared.id), eq(accessTokenGrants.apiTokenId, t.service.viewer.tokenId)));
  return value;
}

describeEachDatabase('handing out access tokens', (db) => {
  it('a fresh token costs one read and the grant insert, and every hand-out is recorded for its SERVICE token', async () => {
    const t = await tenant(db(), 'handout');
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    await storeCredentials(db(), testVault, t.connections.shared, { accessToken: 'fresh-access', refreshToken: 'refresh', expiresAt, tokenType: 'Bearer' });
    const { result, statements } = await countStatements(() => graphql(db(), t.service.viewer, HANDOUT, { id: t.connections.shared.gid }));
    expect(result.errors).toBeUndefined();
    expect(result.data!.connectionAccessToken).toEqual({ __typename: 'ConnectionAccessTokenSuccess', result: { accessToken: 'fresh-access', expiresAt } });
    // The connection with its sealed credentials, then the grant (the token lookup is the request's, before this).
    expect(statements).toHaveLength(2);
    expect(await grantsOf(db(), t)).toBe(1);

    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => graphql(db(), t.service.viewer, HANDOUT, { id: t.connections.shared.gid })),
    );
    expect(outcomes.map((outcome) => outcome.data?.connectionAccessToken.__typename)).toEqual(Array(10).fill('ConnectionAccessTokenSuccess'));
    expect(await grantsOf(db(), t)).toBe(11);
  });

  it('hand-outs recorded at once share one insert; a row that cannot be written fails alone', async () => {
    const t = await tenant(db(), 'grants');
    const grant = { accountId: t.account.id, connectionId: t.connections.shared.id, apiTokenId: t.service.viewer.tokenId };
    const { statements } = await countStatements(() => Promise.all(Array.from({ length: 20 }, () => recordAccessTokenGrant(db(), grant))));
    // The first goes alone; the 19 that arrive while it is in flight go together.
    expect(statements).toHaveLength(2);
    expect(await grantsOf(db(), t)).toBe(20);

    const first = recordAccessTokenGrant(db(), grant);
    const outcomes = await Promise.allSettled([
      first,
      recordAccessTokenGrant(db(), grant),
      recordAccessTokenGrant(db(), { ...grant, connectionId: randomUUID() }), // no such connection
      recordAccessTokenGrant(db(), grant),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await grantsOf(db(), t)).toBe(23);
  });

  it('a caller who leaves while its grant is being written fails nobody else: the inserts run for all, outside any one caller', async () => {
    const t = await tenant(db(), 'leaving');
    const grant = { accountId: t.account.id, connectionId: t.connections.shared.id, apiTokenId: t.service.viewer.tokenId };
    const caller = new AbortController();
    // The first caller starts the writing; the second arrives while that insert is in flight.
    const leaving = runForOperation(caller.signal, async () => await recordAccessTokenGrant(db(), grant));
    const staying = recordAccessTokenGrant(db(), grant);
    caller.abort(new OperationCancelledError());
    // Before: the next insert ran in the first caller's (aborted) operation and was refused.
    await expect(staying).resolves.toBeUndefined();
    await leaving.catch(() => undefined);
    expect(await grantsOf(db(), t)).toBe(2);
  });

  it('a token within the refresh margin is not handed out as is: the refresh path decides (here its cooldown refuses, recording nothing)', async () => {
    const t = await tenant(db(), 'due');
    // Expired, and the connection in a refresh cooldown: the refresh path refuses without asking the provider.
    await storeCredentials(db(), testVault, t.connections.shared, { accessToken: 'stale-access', expiresAt: new Date(Date.now() - 1000).toISOString(), tokenType: 'Bearer' });
    await db().update(connections).set({ refreshBlockedUntil: new Date(Date.now() + 60_000).toISOString() }).where(eq(connections.id, t.connections.shared.id));
    const result = await graphql(db(), t.service.viewer, HANDOUT, { id: t.connections.shared.gid });
    expect(result.data!.connectionAccessToken.__typename).toBe('ProviderUnavailableError');
    expect(await grantsOf(db(), t)).toBe(0);
  });
});
