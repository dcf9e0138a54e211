import { eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { countStatements } from '../server/db/client.js';
import { connections, oauthApps } from '../server/db/schema.js';
import { BUILT_IN_INTEGRATIONS } from '../server/domain/catalog.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, tenant } from './support/fixtures.js';

const REGISTER = `mutation($input: RegisterIntegrationInput!) {
  registerIntegration(input: $input) {
    __typename
    ... on RegisterIntegrationSuccess { integration { key name authMethod isCustom endpoints { tokenUrl verifyUrl } credentialFields { key secret } } }
    ... on Error { message }
    ... on ValidationError { field }
  }
}`;

describeEachDatabase('the integration catalog API', (db) => {
  it('pages, filters by auth method and searches the catalog', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const all = await graphql(tx, a.member.viewer, `{ integrations(first: 100) { totalCount nodes { key } } }`);
      expect(all.data!.integrations.nodes).toHaveLength(BUILT_IN_INTEGRATIONS.length);
      const oauth1 = await graphql(tx, a.member.viewer, `{ integrations(first: 10, filter: { authMethod: OAUTH1 }) { nodes { key } } }`);
      expect(oauth1.data!.integrations.nodes.map((node: { key: string }) => node.key).sort()).toEqual(['trello', 'x-twitter']);
      const search = await graphql(tx, a.member.viewer, `{ integrations(first: 10, filter: { search: "quickbooks" }) { nodes { key connectionPolicy requirements tokenLifetime { rotatesRefreshToken } } } }`);
      expect(search.data!.integrations.nodes).toEqual([
        expect.objectContaining({ key: 'quickbooks-online', connectionPolicy: 'ONE_PER_RESOURCE', tokenLifetime: { rotatesRefreshToken: true } }),
      ]);
      const page1 = await graphql(tx, a.member.viewer, `{ integrations(first: 10) { pageInfo { hasNextPage endCursor } nodes { key } } }`);
      const page2 = await graphql(tx, a.member.viewer, `query($after: String) { integrations(first: 10, after: $after) { nodes { key } } }`, {
        after: page1.data!.integrations.pageInfo.endCursor,
      });
      expect(page1.data!.integrations.pageInfo.hasNextPage).toBe(true);
      expect(page2.data!.integrations.nodes[0].key).toBe(BUILT_IN_INTEGRATIONS[10].key);
      const one = await graphql(tx, a.member.viewer, `{ integration(key: "linkedin") { name tokenLifetime { accessTokenSeconds note } } missing: integration(key: "nope") { name } }`);
      expect(one.data!.integration.tokenLifetime.accessTokenSeconds).toBe(60 * 86_400);
      expect(one.data!.missing).toBeNull();
      const big = await graphql(tx, a.member.viewer, `{ integrations(first: 101) { totalCount } }`);
      expect(big.errors?.[0].message).toBe('first must be between 0 and 100');
    });
  });

  it('admins register custom integrations that only their account sees', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const b = await tenant(tx, 'b');
      const input = {
        key: 'acme-crm',
        name: 'Acme CRM',
        authMethod: 'API_KEY',
        verifyUrl: 'https://crm.acme.example/api/me',
        apiKeyHeader: 'X-Api-Key',
      };
      const byMember = await graphql(tx, a.member.viewer, REGISTER, { input });
      expect(byMember.data!.registerIntegration.__typename).toBe('ForbiddenError');
      const created = await graphql(tx, a.admin.viewer, REGISTER, { input });
      expect(created.data!.registerIntegration).toEqual({
        __typename: 'RegisterIntegrationSuccess',
        integration: {
          key: 'acme-crm',
          name: 'Acme CRM',
          authMethod: 'API_KEY',
          isCustom: true,
          endpoints: { tokenUrl: null, verifyUrl: 'https://crm.acme.example/api/me' },
          credentialFields: [{ key: 'apiKey', secret: true }],
        },
      });
      const again = await graphql(tx, a.admin.viewer, REGISTER, { input });
      expect(again.data!.registerIntegration).toMatchObject({ __typename: 'ValidationError', field: 'key' });
      const builtIn = await graphql(tx, a.admin.viewer, REGISTER, { input: { ...input, key: 'stripe' } });
      expect(builtIn.data!.registerIntegration).toMatchObject({ __typename: 'ValidationError', field: 'key' });
      const insecure = await graphql(tx, a.admin.viewer, REGISTER, {
        input: { key: 'plain-oauth', name: 'Plain', authMethod: 'OAUTH2', authorizeUrl: 'http://example.com/auth', tokenUrl: 'https://example.com/token' },
      });
      expect(insecure.data!.registerIntegration).toMatchObject({ __typename: 'ValidationError', field: 'authorizeUrl' });
      // A connection to it resolves its integration, in one batch with built-ins.
      await tx.insert(connections).values({ accountId: a.account.id, ownerId: a.admin.user.id, integrationKey: 'acme-crm', name: 'CRM', shared: true });
      const list = await graphql(tx, a.member.viewer, `{ connections(first: 10, filter: { integration: "acme-crm" }) { nodes { integration { key isCustom } } } }`);
      expect(list.data!.connections.nodes).toEqual([{ integration: { key: 'acme-crm', isCustom: true } }]);
      const elsewhere = await graphql(tx, b.admin.viewer, `{ integration(key: "acme-crm") { key } integrations(first: 1, filter: { search: "acme" }) { totalCount } }`);
      expect(elsewhere.data).toEqual({ integration: null, integrations: { totalCount: 0 } });
    });
  });

  it('OAuth apps: an operator default serves accounts that configured none; without any, starting explains what to register', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const start = `mutation($key: String!) { startConnection(input: { integration: $key, name: "x" }) { __typename ... on Error { message } ... on StartConnectionSuccess { result { authorizationUrl connection { status } } } } }`;
      const hubspot = await graphql(tx, a.member.viewer, start, { key: 'hubspot' });
      const url = new URL(hubspot.data!.startConnection.result.authorizationUrl);
      expect(url.origin + url.pathname).toBe('https://app.hubspot.com/oauth/authorize');
      expect(Object.fromEntries(url.searchParams)).toMatchObject({
        client_id: 'operator-hubspot',
        redirect_uri: 'http://127.0.0.1:1/oauth/callback',
        response_type: 'code',
        code_challenge_method: 'S256',
      });
      const info = await graphql(tx, a.member.viewer, `{ hubspot: integration(key: "hubspot") { oauthClientId callbackUrl } ga: integration(key: "google-analytics-4") { oauthClientId } stripe: integration(key: "stripe") { callbackUrl } }`);
      expect(info.data).toEqual({
        hubspot: { oauthClientId: 'operator-hubspot', callbackUrl: 'http://127.0.0.1:1/oauth/callback' },
        ga: { oauthClientId: null },
        stripe: { callbackUrl: null },
      });
      const mine = () => tx.select().from(connections).where(eq(connections.accountId, a.account.id));
      const before = await mine();
      const ga = await graphql(tx, a.member.viewer, start, { key: 'google-analytics-4' });
      expect(ga.data!.startConnection.__typename).toBe('ValidationError');
      expect(ga.data!.startConnection.message).toContain('http://127.0.0.1:1/oauth/callback');
      expect(await mine()).toEqual(before);
    });
  });

  it("OAuth app scopes: the catalog shows each app's scopes in one statement per page; the operator's default app has no secret to keep", async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const CONFIGURE = `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename ... on ValidationError { field } } }`;
      // HubSpot runs on the operator's default app: the account has no secret of its own to keep.
      expect((await graphql(tx, a.admin.viewer, CONFIGURE, { input: { integration: 'hubspot', clientId: 'mine' } })).data!.configureIntegration).toEqual({ __typename: 'ValidationError', field: 'clientSecret' });
      expect(await tx.select().from(oauthApps).where(eq(oauthApps.accountId, a.account.id))).toEqual([]);
      // An OAuth 1.0a app has no scopes to set.
      const oauth1 = BUILT_IN_INTEGRATIONS.find((integration) => integration.authMethod === 'OAUTH1')!;
      expect((await graphql(tx, a.admin.viewer, CONFIGURE, { input: { integration: oauth1.key, clientId: 'k', clientSecret: 's', scopes: ['read'] } })).data!.configureIntegration).toEqual({ __typename: 'ValidationError', field: 'scopes' });
      expect((await graphql(tx, a.admin.viewer, CONFIGURE, { input: { integration: 'hubspot', clientId: 'mine', clientSecret: 's', scopes: ['crm.objects.contacts.read'] } })).data!.configureIntegration.__typename).toBe('ConfigureIntegrationSuccess');

      const page = (fields: string) => `{ integrations(first: 100, filter: { authMethod: OAUTH2 }) { nodes { key defaultScopes ${fields} } } }`;
      const bare = await countStatements(() => graphql(tx, a.member.viewer, page('')));
      const full = await countStatements(() => graphql(tx, a.member.viewer, page('oauthClientId oauthAppConfigured scopes oauthAppScopesCustomized')));
      expect(full.statements.length - bare.statements.length).toBe(1);
      const nodes = full.result.data!.integrations.nodes as { key: string; defaultScopes: string[]; oauthClientId: string | null; oauthAppConfigured: boolean; scopes: string[]; oauthAppScopesCustomized: boolean }[];
      expect(nodes.length).toBeGreaterThan(10);
      for (const node of nodes) {
        expect(node).toEqual(
          node.key === 'hubspot'
            ? { ...node, oauthClientId: 'mine', oauthAppConfigured: true, scopes: ['crm.objects.contacts.read'], oauthAppScopesCustomized: true }
            : { ...node, oauthClientId: null, oauthAppConfigured: false, scopes: node.defaultScopes, oauthAppScopesCustomized: false },
        );
      }
      // A member may read the scopes but not change them.
      expect((await graphql(tx, a.member.viewer, CONFIGURE, { input: { integration: 'hubspot', clientId: 'mine', scopes: ['x'] } })).data?.configureIntegration?.__typename ?? 'refused').not.toBe('ConfigureIntegrationSuccess');
      expect((await tx.select().from(oauthApps).where(eq(oauthApps.accountId, a.account.id)))[0].scopes).toEqual(['crm.objects.contacts.read']);
    });
  });
});
