import { count as countAll, eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { countStatements } from '../server/db/client.js';
import { connections, dataSources, refreshRuns } from '../server/db/schema.js';
import { seedBulk } from '../server/seed/bulk.js';
import { authenticateToken, issueApiToken } from '../server/domain/api-tokens.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, tenant } from './support/fixtures.js';

const GRAPH = /* GraphQL */ `
  query Graph($first: Int!) {
    viewer {
      account {
        name
        connections(first: $first) {
          pageInfo { hasNextPage endCursor }
          nodes {
            id
            name
            status
            integration { key name authMethod }
            owner { name email }
            dataSources(first: 10) {
              nodes {
                name
                refreshRuns(first: 3) { nodes { status startedAt rows } }
              }
            }
          }
        }
      }
    }
  }
`;

describeEachDatabase('the connection graph', (db) => {
  it('loads account -> connections -> integration, owner, data sources -> runs in at most 2 statements at any page size', async () => {
    await inRollback(db(), async (tx) => {
      const [{ accountId, ownerId }] = await seedBulk(tx, { accounts: 1, connections: 60, sources: 12, runs: 5 });
      const { token } = await issueApiToken(tx, { accountId, userId: ownerId, name: 'graph', kind: 'USER' });
      const viewer = (await authenticateToken(tx, token))!;
      const counts: number[] = [];
      for (const first of [1, 10, 50]) {
        const { result, statements } = await countStatements(() => graphql(tx, viewer, GRAPH, { first }));
        expect(result.errors).toBeUndefined();
        const page = result.data!.viewer.account.connections;
        expect(page.nodes).toHaveLength(first);
        expect(page.pageInfo.hasNextPage).toBe(true);
        const node = page.nodes[0];
        expect(node.integration.key).toBeTruthy();
        expect(node.owner.email).toContain('@bench.test');
        expect(node.dataSources.nodes).toHaveLength(10);
        expect(node.dataSources.nodes[0].refreshRuns.nodes).toHaveLength(3);
        counts.push(statements.length);
      }
      expect(Math.max(...counts)).toBeLessThanOrEqual(2);
      expect(new Set(counts).size).toBe(1);
    });
  });

  it('returns the newest refresh runs first and pages connections without gaps or repeats', async () => {
    await inRollback(db(), async (tx) => {
      const [{ accountId, ownerId }] = await seedBulk(tx, { accounts: 1, connections: 25, sources: 1, runs: 4 });
      const { token } = await issueApiToken(tx, { accountId, userId: ownerId, name: 'graph', kind: 'USER' });
      const viewer = (await authenticateToken(tx, token))!;
      const seen: string[] = [];
      let after: string | null = null;
      let total = 0;
      do {
        const result: any = await graphql(
          tx,
          viewer,
          `query($after: String) { connections(first: 7, after: $after, orderBy: NAME_ASC) {
             totalCount pageInfo { hasNextPage endCursor }
             nodes { id name dataSources(first: 1) { nodes { refreshRuns(first: 4) { nodes { startedAt } } } } } } }`,
          { after },
        );
        expect(result.errors).toBeUndefined();
        const page = result.data.connections;
        total = page.totalCount;
        seen.push(...page.nodes.map((node: { id: string }) => node.id));
        const usable = page.nodes.find((node: { dataSources: unknown }) => node.dataSources);
        const starts = usable.dataSources.nodes[0].refreshRuns.nodes.map((run: { startedAt: string }) => run.startedAt);
        expect([...starts].sort().reverse()).toEqual(starts);
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after);
      expect(total).toBe(25);
      expect(seen).toHaveLength(25);
      expect(new Set(seen).size).toBe(25);
      const [{ value: runCount }] = await tx.select({ value: countAll() }).from(refreshRuns).where(eq(refreshRuns.accountId, accountId));
      const [{ value: sourceCount }] = await tx.select({ value: countAll() }).from(dataSources).where(eq(dataSources.accountId, accountId));
      expect(runCount).toBe(sourceCount * 4);
    });
  });
  it('searches connection names and resource names, case-insensitive and literally, never matching a private connection the viewer may not use', async () => {
    await inRollback(db(), async (tx) => {
      const t = await tenant(tx, 'find');
      const names = async (viewer: typeof t.owner.viewer, search: string) => {
        const result: any = await graphql(tx, viewer, `query($search: String) { connections(first: 50, orderBy: NAME_ASC, filter: { search: $search }) { totalCount nodes { name } } }`, { search });
        expect(result.errors).toBeUndefined();
        expect(result.data.connections.totalCount).toBe(result.data.connections.nodes.length);
        return result.data.connections.nodes.map((node: { name: string | null }) => node.name);
      };
      expect(await names(t.member.viewer, 'SHARED')).toEqual(['find shared GA4', 'find shared Salesforce']);
      expect(await names(t.member.viewer, '  private ')).toEqual(['find member private']);
      await tx.update(connections).set({ resourceName: 'Acme Web Property' }).where(eq(connections.id, t.connections.shared.id));
      expect(await names(t.member.viewer, 'acme web')).toEqual(['find shared GA4']);
      // The owner (an admin) sees that both private connections exist, but a search by their names finds neither.
      expect(await names(t.owner.viewer, 'private')).toEqual([]);
      expect(await names(t.owner.viewer, '')).toHaveLength(4);
      // Wildcards are text: "%" and "_" match only themselves.
      expect(await names(t.member.viewer, '%')).toEqual([]);
      expect(await names(t.member.viewer, 'shared_')).toEqual([]);
      const tooLong: any = await graphql(tx, t.member.viewer, `{ connections(first: 5, filter: { search: "${'x'.repeat(121)}" }) { totalCount nodes { id } } }`);
      expect(tooLong.data).toBeNull();
      expect(tooLong.errors[0].message).toBe('filter.search must be at most 120 characters');
    });
  });
});
