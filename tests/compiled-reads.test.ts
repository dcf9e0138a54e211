import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { parse } from 'graphql';
import { expect, it } from 'vitest';
import { createApp } from '../server/app.js';
import { executedStatements, rowsOf } from '../server/db/client.js';
import { apiTokens, connections, integrations, users } from '../server/db/schema.js';
import { authenticateToken, issueApiToken } from '../server/domain/api-tokens.js';
import { Vault } from '../server/domain/vault.js';
import type { Viewer } from '../server/domain/viewer.js';
import { compiledPlan } from '../server/graphql/compiled-reads.js';
import { createLog } from '../server/log.js';
import { seedBulk } from '../server/seed/bulk.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql } from './support/fixtures.js';
import { postGraphql } from './support/graphql-http.js';

const GRAPH = `query Graph { viewer { account { connections(first: 50) { nodes {
  id name status integration { key name } owner { name }
  dataSources(first: 10) { nodes { name refreshRuns(first: 3) { nodes { status startedAt rows } } } } } } } } }`;

const WIDE = `query Wide($first: Int!) { viewer { account { __typename id name createdAt list: connections(first: $first) { __typename nodes {
  __typename id name resourceId resourceName status shared createdAt updatedAt lastCheckedAt accessTokenExpiresAt reauthorizeBy
  integration { __typename key name authMethod } owner { id name email role isOwner createdAt }
  sources: dataSources(first: 2) { nodes { id name resourceId schedule status lastRefreshedAt createdAt updatedAt
    refreshRuns { nodes { id status startedAt finishedAt rows error } } } } } } } } }`;

const DEFAULT_PAGE = `{ viewer { account { connections { nodes { name } } } } }`;
const EMPTY_PAGE = `{ viewer { account { connections(first: 0) { nodes { name } } } } }`;

/** Shapes left to Pothos: its answer (data or typed error) is the only answer. */
const NOT_COMPILED = [
  `{ viewer { account { connections(first: 101) { nodes { name } } } } }`,
  `{ viewer { account { connections(first: 5) { pageInfo { hasNextPage } nodes { name } } } } }`,
  `{ viewer { account { connections(first: 5, orderBy: NAME_ASC) { nodes { name } } } } }`,
  `{ viewer { account { connections(first: 5) { nodes { name problem { reason } } } } } }`,
  `{ viewer { account { connections(first: 5) { nodes { ...N } } } } } fragment N on Connection { name }`,
  `{ viewer { account { connections(first: 5) { nodes { name @include(if: false) } } } } }`,
  `{ viewer { account { connections(first: 5) { nodes { dataSources(first: 1) { nodes { name } } dataSources(first: 1) { nodes { status } } } } } } }`,
];

describeEachDatabase('the compiled connection graph', (db) => {
  it('answers exactly what the Pothos path answers, for owners, members and service tokens, with one statement after the token lookup', async () => {
    await inRollback(db(), async (tx) => {
      const [a, b] = await seedBulk(tx, { accounts: 2, connections: 14, sources: 3, runs: 4 });
      // Timestamps with microseconds and nulls in every optional column the wide query reads.
      await tx.update(connections).set({ lastCheckedAt: sql`now()`, resourceId: 'r-1', resourceName: 'Company A' }).where(eq(connections.accountId, a.accountId));
      // One connection on a custom integration of the account: read from its table, not the catalog.
      const [custom] = await tx
        .insert(integrations)
        .values({ accountId: a.accountId, key: 'acme-crm', name: 'Acme CRM', authMethod: 'API_KEY', definition: {} })
        .returning();
      await tx.execute(sql`update connections set integration_key = ${custom.key} where id = (
        select id from connections where account_id = ${a.accountId} and shared order by created_at desc limit 1)`);
      const [member] = rowsOf<{ id: string }>(await tx.execute(sql`select id from users where account_id = ${a.accountId} and not is_owner`));
      const tokens: { label: string; token: string; viewer: Viewer }[] = [];
      for (const [label, userId, accountId, kind] of [
        ['owner', a.ownerId, a.accountId, 'USER'],
        ['member', member.id, a.accountId, 'USER'],
        ['service', a.ownerId, a.accountId, 'SERVICE'],
        ['other account', b.ownerId, b.accountId, 'USER'],
      ] as const) {
        const { token } = await issueApiToken(tx, { accountId, userId, name: label, kind });
        tokens.push({ label, token, viewer: (await authenticateToken(tx, token))! });
      }
      const app = createApp({ db: tx, log: createLog('silent'), vault: Vault.fromKeyList(randomBytes(32).toString('base64')) });
      const base = await app.start(0);
      try {
        for (const { label, token, viewer } of tokens) {
          for (const [index, [query, variables]] of ([[GRAPH, {}], [WIDE, { first: 9 }], [DEFAULT_PAGE, {}], [EMPTY_PAGE, {}]] as const).entries()) {
            expect(compiledPlan(parse(query), undefined, variables, viewer), `${label}: compiled`).not.toBeNull();
            const before = executedStatements();
            const answer = await postGraphql(base, token, query, variables);
            // The token's first request looks it up (its last_used_at update was done above), then
            // the graph; later ones are the graph alone, which checks the remembered token itself.
            expect(executedStatements() - before, `${label}: statements`).toBe(index === 0 ? 2 : 1);
            const reference = JSON.parse(JSON.stringify(await graphql(tx, viewer, query, variables)));
            expect(answer, `${label}: ${query.slice(0, 30)}`).toEqual(reference);
          }
        }
        // The rules hold in the compiled answer itself: the member sees the shared connections and
        // their own; the owner (an admin) sees every connection of the account but not the contents
        // of the member's private ones; another account sees none of these.
        const ids = async (token: string) =>
          ((await postGraphql(base, token, GRAPH)).data.viewer.account.connections.nodes as { id: string; name: string | null }[]);
        const [owner, mine, other] = [await ids(tokens[0].token), await ids(tokens[1].token), await ids(tokens[3].token)];
        expect(owner).toHaveLength(14);
        expect(owner.filter((c) => c.name === null)).toHaveLength(2); // seedBulk: connections 0 and 12 are the member's, private
        expect(mine).toHaveLength(14 - 4 + 2); // private ones of the owner (4, 8, 20... below 14: 4 and 8) are absent
        expect(mine.every((c) => c.name !== null)).toBe(true);
        expect(other.some((c) => owner.some((o) => o.id === c.id))).toBe(false);
      } finally {
        await app.stop();
      }
    });
  });

  it('checks a remembered token inside the statement: revoked, it is refused at once; changed, the current viewer is answered', async () => {
    await inRollback(db(), async (tx) => {
      const [a] = await seedBulk(tx, { accounts: 1, connections: 14, sources: 1, runs: 1 });
      const [member] = rowsOf<{ id: string }>(await tx.execute(sql`select id from users where account_id = ${a.accountId} and not is_owner`));
      const app = createApp({ db: tx, log: createLog('silent'), vault: Vault.fromKeyList(randomBytes(32).toString('base64')) });
      const base = await app.start(0);
      const post = (token: string, query: string) =>
        fetch(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query }),
        }).then(async (response) => ({ status: response.status, body: (await response.json()) as { data?: any; errors?: any[] } }));
      const names = (body: { data?: any }) => (body.data.viewer.account.connections.nodes as { name: string | null }[]).map((c) => c.name);
      try {
        // Revoked from elsewhere (another gateway, an operator): the next request is a 401, on the
        // compiled path and on any other, although this gateway remembered the token.
        for (const query of [GRAPH, `{ viewer { user { name } } }`]) {
          const { token, row } = await issueApiToken(tx, { accountId: a.accountId, userId: member.id, name: 'revoked', kind: 'USER' });
          expect((await post(token, GRAPH)).status).toBe(200);
          const before = executedStatements();
          expect(names((await post(token, GRAPH)).body)).toHaveLength(12);
          expect(executedStatements() - before).toBe(1);
          await tx.update(apiTokens).set({ revokedAt: new Date().toISOString() }).where(eq(apiTokens.id, row.id));
          const refused = await post(token, query);
          expect(refused.status, query).toBe(401);
          expect(refused.body.data ?? null).toBeNull();
          expect(refused.body.errors?.[0]).toMatchObject({ message: 'The API token is invalid or revoked', extensions: { code: 'UNAUTHENTICATED' } });
          expect((await post(token, GRAPH)).status).toBe(401);
        }
        // The member made an admin: the remembered viewer is stale; the answer is the admin's.
        const { token } = await issueApiToken(tx, { accountId: a.accountId, userId: member.id, name: 'promoted', kind: 'USER' });
        expect(names((await post(token, GRAPH)).body)).toHaveLength(12);
        await tx.update(users).set({ role: 'ADMIN' }).where(eq(users.id, member.id));
        const promoted = names((await post(token, GRAPH)).body);
        expect(promoted).toHaveLength(14);
        expect(promoted.filter((name) => name === null)).toHaveLength(2); // the owner's private ones (4 and 8)
        // And back: a member again sees only the shared connections and their own.
        await tx.update(users).set({ role: 'MEMBER' }).where(eq(users.id, member.id));
        expect(names((await post(token, GRAPH)).body)).toHaveLength(12);
      } finally {
        await app.stop();
      }
    });
  });

  it('leaves every other shape to Pothos, whose answer or typed error is returned', async () => {
    await inRollback(db(), async (tx) => {
      const [a] = await seedBulk(tx, { accounts: 1, connections: 3, sources: 1, runs: 1 });
      const { token } = await issueApiToken(tx, { accountId: a.accountId, userId: a.ownerId, name: 'shapes', kind: 'USER' });
      const viewer = (await authenticateToken(tx, token))!;
      const app = createApp({ db: tx, log: createLog('silent'), vault: Vault.fromKeyList(randomBytes(32).toString('base64')) });
      const base = await app.start(0);
      try {
        for (const query of NOT_COMPILED) {
          expect(compiledPlan(parse(query), undefined, {}, viewer), query).toBeNull();
          const answer = await postGraphql(base, token, query);
          const reference = JSON.parse(JSON.stringify(await graphql(tx, viewer, query)));
          expect(answer.data ?? null, query).toEqual(reference.data ?? null);
          // The reference runs without Yoga's error masking: compare that errors came, not their text.
          expect(answer.errors?.length ?? 0, query).toBe(reference.errors?.length ?? 0);
        }
        const oversized = await postGraphql(base, token, NOT_COMPILED[0]);
        expect(oversized.errors?.[0].extensions.code).toBe('VALIDATION');
        expect(compiledPlan(parse(`query($f: Int!) { viewer { account { connections(first: $f) { nodes { name } } } } }`), undefined, {}, viewer)).toBeNull();
        const missing = await postGraphql(base, token, `query($f: Int!) { viewer { account { connections(first: $f) { nodes { name } } } } }`);
        expect(missing.errors).toHaveLength(1);
      } finally {
        await app.stop();
      }
    });
  });
});
