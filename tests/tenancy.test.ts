import { eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { connectionEvents } from '../server/db/schema.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, tenant } from './support/fixtures.js';

const NODE = `query($id: ID!) { node(id: $id) { id __typename } }`;

describeEachDatabase('tenancy', (db) => {
  it('answers another account’s ids exactly like missing ones, for every node type', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const b = await tenant(tx, 'b');
      const foreign = [
        b.accountGid,
        b.owner.id,
        b.connections.shared.gid,
        b.dataSource.gid,
        b.refreshRun.gid,
      ];
      const missing = encodeGlobalId('Connection', '00000000-0000-4000-8000-000000000000');
      for (const id of [...foreign, missing]) {
        const result = await graphql(tx, a.owner.viewer, NODE, { id });
        expect(result).toEqual({ data: { node: null } });
      }
      const many = await graphql(tx, a.owner.viewer, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, {
        ids: [a.connections.shared.gid, b.connections.shared.gid, a.dataSource.gid],
      });
      expect(many.data).toEqual({ nodes: [{ id: a.connections.shared.gid }, null, { id: a.dataSource.gid }] });
      // The owner of B sees B's objects through the same ids.
      const own = await graphql(tx, b.owner.viewer, NODE, { id: b.dataSource.gid });
      expect(own.data).toEqual({ node: { id: b.dataSource.gid, __typename: 'DataSource' } });
    });
  });

  it('lists, counts and lookups never include another account’s connections', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const b = await tenant(tx, 'b');
      const result = await graphql(
        tx,
        a.owner.viewer,
        `query($id: ID!) {
          connections(first: 100) { totalCount nodes { id } }
          viewer { account { connections(first: 100) { nodes { id } } } }
          connection(id: $id) { id }
        }`,
        { id: b.connections.shared.gid },
      );
      expect(result.errors).toBeUndefined();
      const ids = result.data!.connections.nodes.map((node: { id: string }) => node.id);
      expect(ids).toHaveLength(4);
      expect(ids).not.toContain(b.connections.shared.gid);
      expect(result.data!.connections.totalCount).toBe(4);
      expect(result.data!.viewer.account.connections.nodes).toHaveLength(4);
      expect(result.data!.connection).toBeNull();
    });
  });

  it('a private connection is invisible to another member', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const hidden = a.connections.memberPrivate;
      const result = await graphql(
        tx,
        a.member2.viewer,
        `query($id: ID!, $source: ID!) {
          connections(first: 50) { totalCount nodes { id } }
          connection(id: $id) { id }
          node(id: $id) { id }
          source: node(id: $source) { id }
        }`,
        { id: hidden.gid, source: a.privateDataSource.gid },
      );
      expect(result.errors).toBeUndefined();
      const ids = result.data!.connections.nodes.map((node: { id: string }) => node.id);
      expect(ids).not.toContain(hidden.gid);
      expect(ids).toContain(a.connections.shared.gid);
      expect(ids).toContain(a.connections.member2Private.gid);
      expect(result.data!.connections.totalCount).toBe(ids.length);
      expect(result.data!.connection).toBeNull();
      expect(result.data!.node).toBeNull();
      expect(result.data!.source).toBeNull();
    });
  });

  it('admins and the owner see that a private connection exists, not its details', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const hidden = a.connections.memberPrivate;
      for (const viewer of [a.admin.viewer, a.owner.viewer]) {
        const result = await graphql(
          tx,
          viewer,
          `query($id: ID!) { connection(id: $id) {
            id name status shared resourceId owner { id } integration { key }
            viewerCan { use edit delete }
            dataSources(first: 10) { totalCount nodes { id } }
            events(first: 10) { totalCount }
          } }`,
          { id: hidden.gid },
        );
        expect(result.errors).toBeUndefined();
        expect(result.data!.connection).toEqual({
          id: hidden.gid,
          name: null,
          status: 'ACTIVE',
          shared: false,
          resourceId: null,
          owner: { id: a.member.id },
          integration: { key: 'google-analytics-4' },
          viewerCan: { use: false, edit: false, delete: false },
          dataSources: null,
          events: { totalCount: 1 },
        });
      }
      // Its status changes are as visible as its status: through the list, the feed and by id.
      const [event] = await tx.select().from(connectionEvents).where(eq(connectionEvents.connectionId, hidden.id));
      const eventId = encodeGlobalId('ConnectionEvent', event.id);
      const byId = async (viewer: typeof a.admin.viewer) => (await graphql(tx, viewer, NODE, { id: eventId })).data!.node;
      expect(await byId(a.admin.viewer)).toEqual({ id: eventId, __typename: 'ConnectionEvent' });
      expect(await byId(a.member.viewer)).toEqual({ id: eventId, __typename: 'ConnectionEvent' });
      expect(await byId(a.member2.viewer)).toBeNull();
      const owner = await graphql(tx, a.member.viewer, `query($id: ID!) { connection(id: $id) { name dataSources(first: 5) { totalCount } } }`, {
        id: hidden.gid,
      });
      expect(owner.data!.connection).toEqual({ name: hidden.name, dataSources: { totalCount: 1 } });
    });
  });

  it('a SERVICE token sees every connection of its account with details', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const result = await graphql(tx, a.service.viewer, `{ viewer { tokenKind } connections(first: 50) { totalCount nodes { name } } }`);
      expect(result.data!.viewer.tokenKind).toBe('SERVICE');
      expect(result.data!.connections.totalCount).toBe(4);
      expect(result.data!.connections.nodes.every((node: { name: string | null }) => node.name)).toBe(true);
    });
  });

  it('anonymous requests get an authentication error and no data', async () => {
    await inRollback(db(), async (tx) => {
      await tenant(tx, 'a');
      const result = await graphql(tx, null, `{ connections(first: 5) { totalCount } }`);
      expect(result.data).toBeNull();
      expect(result.errors?.[0].originalError?.name).toBe('AuthenticationError');
      const mutation = await graphql(tx, null, `mutation { createApiToken(input: { name: "x" }) { __typename ... on Error { code } } }`);
      expect(mutation.data).toEqual({ createApiToken: { __typename: 'AuthenticationError', code: 'UNAUTHENTICATED' } });
    });
  });
});
