import { count, eq, inArray } from 'drizzle-orm';
import { expect, it } from 'vitest';
import type { Database } from '../server/db/client.js';
import { apiTokens, connections, dataSources } from '../server/db/schema.js';
import { encodeGlobalId, parseGlobalId } from '../server/domain/global-ids.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, tenant } from './support/fixtures.js';

const UPDATE = `mutation($input: UpdateConnectionInput!) {
  updateConnection(input: $input) {
    __typename
    ... on UpdateConnectionSuccess { connection { id name shared } }
    ... on Error { message code }
    ... on ValidationError { field }
  }
}`;

const DELETE = `mutation($id: ID!) {
  deleteConnection(input: { id: $id }) {
    __typename
    ... on DeleteConnectionSuccess { deletedId }
    ... on ConnectionInUseError { dataSourceCount message }
    ... on Error { message }
  }
}`;

const CREATE_SOURCE = `mutation($input: CreateDataSourceInput!) {
  createDataSource(input: $input) {
    __typename
    ... on CreateDataSourceSuccess { dataSource { id name schedule filter status connection { id } } }
    ... on Error { message }
    ... on ValidationError { field }
  }
}`;

const UPDATE_SOURCE = `mutation($input: UpdateDataSourceInput!) {
  updateDataSource(input: $input) {
    __typename
    ... on UpdateDataSourceSuccess { dataSource { id name connection { id } status } }
    ... on Error { message }
    ... on ValidationError { field }
  }
}`;

/**
 * A snapshot of every row of these accounts a mutation could touch, to prove refused mutations
 * write nothing (scoped: PostgreSQL suites run side by side in one database).
 */
async function snapshot(db: Database, ...accountIds: string[]) {
  return {
    connections: await db.select().from(connections).where(inArray(connections.accountId, accountIds)).orderBy(connections.id),
    dataSources: await db.select().from(dataSources).where(inArray(dataSources.accountId, accountIds)).orderBy(dataSources.id),
    tokens: await db.select().from(apiTokens).where(inArray(apiTokens.accountId, accountIds)).orderBy(apiTokens.id),
  };
}

describeEachDatabase('connection and data source mutations', (db) => {
  it('the owner renames and shares a connection; the change is stored', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const target = a.connections.memberPrivate;
      const result = await graphql(tx, a.member.viewer, UPDATE, { input: { id: target.gid, name: '  Jim’s GA4  ', shared: true } });
      expect(result.data!.updateConnection).toEqual({
        __typename: 'UpdateConnectionSuccess',
        connection: { id: target.gid, name: 'Jim’s GA4', shared: true },
      });
      const [row] = await tx.select().from(connections).where(eq(connections.id, target.id));
      expect(row.name).toBe('Jim’s GA4');
      expect(row.shared).toBe(true);
    });
  });

  it('only the owner or an admin may change a connection; others get Forbidden or NotFound and nothing changes', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const b = await tenant(tx, 'b');
      const before = await snapshot(tx, a.account.id, b.account.id);
      const shared = await graphql(tx, a.member2.viewer, UPDATE, { input: { id: a.connections.shared.gid, name: 'x' } });
      expect(shared.data!.updateConnection).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
      const hidden = await graphql(tx, a.member2.viewer, UPDATE, { input: { id: a.connections.memberPrivate.gid, name: 'x' } });
      expect(hidden.data!.updateConnection).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
      const foreign = await graphql(tx, b.owner.viewer, UPDATE, { input: { id: a.connections.shared.gid, name: 'x' } });
      expect(foreign.data!.updateConnection).toEqual(hidden.data!.updateConnection);
      expect(await snapshot(tx, a.account.id, b.account.id)).toEqual(before);
      // An admin renames a shared connection someone else owns.
      const admin = await graphql(tx, a.admin.viewer, UPDATE, { input: { id: a.connections.shared.gid, name: 'Team GA4' } });
      expect(admin.data!.updateConnection).toMatchObject({ __typename: 'UpdateConnectionSuccess', connection: { name: 'Team GA4', shared: true } });
    });
  });

  it('a private connection is its owner’s: an admin may revoke or delete it, never share, rename or reauthenticate it', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const before = await snapshot(tx, a.account.id);
      const target = a.connections.memberPrivate.gid;
      for (const input of [{ id: target, shared: true }, { id: target, name: 'Renamed blind' }, { id: target, name: 'x', shared: true }]) {
        const refused = await graphql(tx, a.admin.viewer, UPDATE, { input });
        expect(refused.data!.updateConnection).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
      }
      // The account owner is an admin too, and is refused alike.
      const byOwner = await graphql(tx, a.owner.viewer, UPDATE, { input: { id: target, shared: true } });
      expect(byOwner.data!.updateConnection).toMatchObject({ __typename: 'ForbiddenError', message: 'Only the connection’s owner can change who it is shared with' });
      const reauthenticate = await graphql(tx, a.admin.viewer, `mutation($id: ID!) { reauthenticateConnection(input: { id: $id }) { __typename ... on Error { code } } }`, { id: target });
      expect(reauthenticate.data!.reauthenticateConnection).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
      // Neither may an admin unshare a shared connection of another user.
      const unshare = await graphql(tx, a.admin.viewer, UPDATE, { input: { id: a.connections.sharedSalesforce.gid, shared: false } });
      expect(unshare.data!.updateConnection).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
      expect(await snapshot(tx, a.account.id)).toEqual(before);

      const permissions = `query($id: ID!) { connection(id: $id) { viewerCan { rename share reauthenticate revoke delete editDataSources } } }`;
      expect((await graphql(tx, a.admin.viewer, permissions, { id: target })).data!.connection.viewerCan).toEqual({
        rename: false, share: false, reauthenticate: false, revoke: true, delete: false, editDataSources: false,
      });
      expect((await graphql(tx, a.member.viewer, permissions, { id: target })).data!.connection.viewerCan).toEqual({
        rename: true, share: true, reauthenticate: true, revoke: true, delete: false, editDataSources: true,
      });
      expect((await graphql(tx, a.admin.viewer, permissions, { id: a.connections.sharedSalesforce.gid })).data!.connection.viewerCan).toEqual({
        rename: true, share: false, reauthenticate: true, revoke: true, delete: true, editDataSources: true,
      });
      // A member may use the owner's shared connection, not change or refresh its data sources.
      expect((await graphql(tx, a.member.viewer, permissions, { id: a.connections.shared.gid })).data!.connection.viewerCan).toMatchObject({
        rename: false, share: false, editDataSources: false,
      });

      // The owner shares and unshares it; the admin may still revoke it.
      const shared = await graphql(tx, a.member.viewer, UPDATE, { input: { id: target, shared: true } });
      expect(shared.data!.updateConnection).toMatchObject({ connection: { shared: true } });
      const unshared = await graphql(tx, a.member.viewer, UPDATE, { input: { id: target, shared: false } });
      expect(unshared.data!.updateConnection).toMatchObject({ connection: { shared: false } });
      const revoked = await graphql(tx, a.admin.viewer, `mutation($id: ID!) { revokeConnection(input: { id: $id }) { __typename } }`, { id: target });
      expect(revoked.data!.revokeConnection.__typename).toBe('RevokeConnectionSuccess');
    });
  });

  it('deleting a connection that feeds data sources is refused with ConnectionInUseError', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const before = await snapshot(tx, a.account.id);
      const refused = await graphql(tx, a.owner.viewer, DELETE, { id: a.connections.shared.gid });
      expect(refused.data!.deleteConnection).toMatchObject({ __typename: 'ConnectionInUseError', dataSourceCount: 1 });
      expect(await snapshot(tx, a.account.id)).toEqual(before);
      const deleted = await graphql(tx, a.admin.viewer, DELETE, { id: a.connections.member2Private.gid });
      expect(deleted.data!.deleteConnection).toEqual({
        __typename: 'DeleteConnectionSuccess',
        deletedId: a.connections.member2Private.gid,
      });
      const [{ value }] = await tx.select({ value: count() }).from(connections).where(eq(connections.id, a.connections.member2Private.id));
      expect(value).toBe(0);
    });
  });

  it('creates, moves and deletes a data source', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const created = await graphql(tx, a.member.viewer, CREATE_SOURCE, {
        input: {
          connectionId: a.connections.memberPrivate.gid,
          resourceId: 'properties/9',
          name: 'Revenue',
          schedule: '30 5 * * 1',
          filter: { dimensions: ['date'] },
        },
      });
      const source = created.data!.createDataSource;
      expect(source).toMatchObject({
        __typename: 'CreateDataSourceSuccess',
        dataSource: { name: 'Revenue', schedule: '30 5 * * 1', filter: { dimensions: ['date'] }, status: 'ACTIVE' },
      });
      // Moving to the shared GA4 connection keeps the integration, so it is allowed.
      const moved = await graphql(tx, a.member.viewer, UPDATE_SOURCE, {
        input: { id: source.dataSource.id, connectionId: a.connections.shared.gid },
      });
      expect(moved.data!.updateDataSource).toMatchObject({
        __typename: 'UpdateDataSourceSuccess',
        dataSource: { connection: { id: a.connections.shared.gid } },
      });
      const [row] = await tx.select().from(dataSources).where(eq(dataSources.id, parseGlobalId(source.dataSource.id, 'DataSource')));
      expect(row.connectionId).toBe(a.connections.shared.id);
      const otherIntegration = await graphql(tx, a.editor.viewer, UPDATE_SOURCE, {
        input: { id: source.dataSource.id, connectionId: a.connections.sharedSalesforce.gid },
      });
      expect(otherIntegration.data!.updateDataSource).toMatchObject({ __typename: 'ValidationError', field: 'connectionId' });
      const notUsable = await graphql(tx, a.member2.viewer, CREATE_SOURCE, {
        input: { connectionId: a.connections.memberPrivate.gid, resourceId: 'p', name: 'n', schedule: '0 * * * *' },
      });
      expect(notUsable.data!.createDataSource.__typename).toBe('NotFoundError');
      const deleted = await graphql(tx, a.editor.viewer, `mutation($id: ID!) { deleteDataSource(input: { id: $id }) { __typename } }`, {
        id: source.dataSource.id,
      });
      expect(deleted.data!.deleteDataSource.__typename).toBe('DeleteDataSourceSuccess');
      expect(await tx.select().from(dataSources).where(eq(dataSources.id, row.id))).toEqual([]);
    });
  });

  it('a data source on a broken connection is BROKEN; a member cannot edit another’s data source on a shared connection', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const created = await graphql(tx, a.member.viewer, CREATE_SOURCE, {
        input: { connectionId: a.connections.sharedSalesforce.gid, resourceId: 'Opportunity', name: 'Pipeline', schedule: '0 * * * *' },
      });
      expect(created.data!.createDataSource.dataSource.status).toBe('BROKEN');
      const byMember2 = await graphql(tx, a.member2.viewer, UPDATE_SOURCE, { input: { id: a.dataSource.gid, name: 'Mine now' } });
      expect(byMember2.data!.updateDataSource.__typename).toBe('ForbiddenError');
      const byEditor = await graphql(tx, a.editor.viewer, UPDATE_SOURCE, { input: { id: a.dataSource.gid, name: 'Edited' } });
      expect(byEditor.data!.updateDataSource).toMatchObject({ dataSource: { name: 'Edited' } });
    });
  });
});

describeEachDatabase('bad input', (db) => {
  it('malformed ids, wrong-type ids, bad names and schedules get typed errors and write nothing', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const before = await snapshot(tx, a.account.id);
      const cases: [Record<string, unknown>, string, string | null][] = [
        [{ id: 'not-an-id', name: 'x' }, 'ValidationError', 'id'],
        [{ id: encodeGlobalId('Connection', '42'), name: 'x' }, 'ValidationError', 'id'],
        [{ id: a.dataSource.gid, name: 'x' }, 'ValidationError', 'id'],
        [{ id: a.connections.shared.gid, name: '' }, 'ValidationError', 'name'],
        [{ id: a.connections.shared.gid, name: '   ' }, 'ValidationError', 'name'],
        [{ id: a.connections.shared.gid, name: 'x'.repeat(300) }, 'ValidationError', 'name'],
        [{ id: a.connections.shared.gid }, 'ValidationError', 'input'],
      ];
      for (const [input, typename, field] of cases) {
        const result = await graphql(tx, a.owner.viewer, UPDATE, { input });
        expect(result.errors).toBeUndefined();
        expect(result.data!.updateConnection).toMatchObject({ __typename: typename, field });
        expect(result.data!.updateConnection.message).toMatch(/\w/);
      }
      const sourceCases: [Record<string, unknown>, string][] = [
        [{ schedule: 'every day' }, 'schedule'],
        [{ schedule: '* * * * * *' }, 'schedule'],
        [{ schedule: '61 * * * *' }, 'schedule'],
        [{ name: 'y'.repeat(300) }, 'name'],
        [{ resourceId: '' }, 'resourceId'],
        [{ connectionId: a.dataSource.gid }, 'connectionId'],
        [{ filter: { blob: 'z'.repeat(20_000) } }, 'filter'],
      ];
      for (const [override, field] of sourceCases) {
        const input = { connectionId: a.connections.shared.gid, resourceId: 'r', name: 'n', schedule: '0 6 * * *', ...override };
        const result = await graphql(tx, a.owner.viewer, CREATE_SOURCE, { input });
        expect(result.data!.createDataSource).toMatchObject({ __typename: 'ValidationError', field });
      }
      expect(await snapshot(tx, a.account.id)).toEqual(before);
    });
  });

  it('oversized pages, unknown integrations and malformed node ids are clear errors', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const big = await graphql(tx, a.owner.viewer, `{ connections(first: 10000) { totalCount } }`);
      expect(big.errors?.[0].message).toBe('first must be between 0 and 100');
      const nested = await graphql(tx, a.owner.viewer, `{ connections(first: 5) { nodes { dataSources(first: 101) { totalCount } } } }`);
      expect(nested.errors?.[0].message).toBe('first must be between 0 and 100');
      const unknown = await graphql(tx, a.owner.viewer, `{ connections(first: 5, filter: { integration: "no-such-thing" }) { totalCount } }`);
      expect(unknown.errors?.[0].message).toBe('Unknown integration "no-such-thing"');
      const malformed = await graphql(tx, a.owner.viewer, `{ node(id: "%%%") { id } }`);
      expect(malformed.errors?.[0].message).toMatch(/is not a valid id/);
      const wrongType = await graphql(tx, a.owner.viewer, `query($id: ID!) { connection(id: $id) { id } }`, { id: a.dataSource.gid });
      expect(wrongType.errors?.[0].message).toBe('id is a DataSource id, expected a Connection id');
    });
  });
});

describeEachDatabase('api tokens', (db) => {
  it('creates a token shown once, lists it by prefix, and revokes it', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const created = await graphql(
        tx,
        a.member.viewer,
        `mutation { createApiToken(input: { name: "CI" }) { __typename ... on CreateApiTokenSuccess { payload { token apiToken { id kind prefix } } } } }`,
      );
      const payload = created.data!.createApiToken.payload;
      expect(payload.token).toMatch(/^pb_[A-Za-z0-9_-]{43}$/);
      expect(payload.token.startsWith(payload.apiToken.prefix)).toBe(true);
      const stored = await tx.select().from(apiTokens).where(eq(apiTokens.accountId, a.account.id));
      expect(JSON.stringify(stored)).not.toContain(payload.token);
      const service = await graphql(tx, a.member.viewer, `mutation { createApiToken(input: { name: "w", kind: SERVICE }) { __typename } }`);
      expect(service.data!.createApiToken.__typename).toBe('ForbiddenError');
      const foreign = await tenant(tx, 'b');
      const revokeForeign = await graphql(tx, foreign.owner.viewer, `mutation($id: ID!) { revokeApiToken(input: { id: $id }) { __typename } }`, {
        id: payload.apiToken.id,
      });
      expect(revokeForeign.data!.revokeApiToken.__typename).toBe('NotFoundError');
      const revoked = await graphql(
        tx,
        a.member.viewer,
        `mutation($id: ID!) { revokeApiToken(input: { id: $id }) { __typename ... on RevokeApiTokenSuccess { apiToken { revokedAt } } } }`,
        { id: payload.apiToken.id },
      );
      expect(revoked.data!.revokeApiToken.apiToken.revokedAt).toBeTruthy();
    });
  });
});
