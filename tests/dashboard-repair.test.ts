/**
 * The repair loop in a real browser (Debian's Chromium through playwright-core) against the real
 * gateway and a real OAuth server (oidc-provider): a member without the rights is told which admins
 * can set up a missing OAuth app; an admin repairing from a card is taken to the OAuth app form and
 * back, and the sign-in continues; a member connects, the connection breaks and they repair it from
 * its card; an admin sends a reconnect link, the owner opens it, signs in at the service and the
 * same connection is ACTIVE with its data source (the link then refuses a second use, and is not
 * found for anyone else); a data source is moved and the emptied connection deleted. What the pages
 * did is checked through the API. The new pages pass axe-core and fit 390 px.
 *
 * PGlite only, as tests/dashboard.test.ts: the resolvers and SQL run on both databases in
 * tests/reconnect-links.test.ts.
 */
import { and, eq } from 'drizzle-orm';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { openPglite, type DatabaseHandle } from '../server/db/client.js';
import { connections, dataSources, integrations } from '../server/db/schema.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { createLog } from '../server/log.js';
import { builtDashboard, describeInBrowser, launchBrowser, openPage, screenshot, seriousAxeViolations } from './support/browser.js';
import { graphqlData } from './support/graphql-http.js';
import { tenant, testVault, type Tenant } from './support/fixtures.js';
import { startOAuthServer, type OAuthServer } from './support/oauth-server.js';

const SOON = { timeout: 10_000 };

describeInBrowser('the repair loop: OAuth app, reauthenticate, reconnect link', { timeout: 90_000 }, () => {
  let database: DatabaseHandle;
  let app: App;
  let url: string;
  let provider: OAuthServer;
  let browser: Browser;
  let a: Tenant;
  let admin: Page;
  let member: Page;
  /** The member's connection made through the dashboard, and the one written to the database. */
  let connected: { gid: string; id: string };
  let memberOld: { gid: string; id: string };
  let adminOwn: { gid: string; id: string };
  let sourceGid: string;
  const distDir = builtDashboard();
  const pageErrors: string[] = [];

  const gql = (query: string, variables: Record<string, unknown>, token: string) => graphqlData(url, token, query, variables);
  const statusOf = async (gid: string, token = a.admin.token) =>
    (await gql('query($id: ID!) { node(id: $id) { ... on Connection { status } } }', { id: gid }, token)).node?.status as string | undefined;

  /** A DISCONNECTED Test OIDC connection written straight to the database. */
  async function insertBroken(ownerId: string, name: string) {
    const [custom] = await database.db
      .select({ id: integrations.id })
      .from(integrations)
      .where(and(eq(integrations.accountId, a.account.id), eq(integrations.key, 'test-oidc')));
    const [row] = await database.db
      .insert(connections)
      .values({
        accountId: a.account.id,
        ownerId,
        integrationKey: 'test-oidc',
        customIntegrationId: custom.id,
        status: 'DISCONNECTED',
        disconnectReason: 'INVALID_REFRESH_TOKEN',
        errorMessage: 'grant revoked',
        name,
      })
      .returning();
    return { id: row.id, gid: encodeGlobalId('Connection', row.id) };
  }

  async function signIn(page: Page, token: string) {
    await page.goto(url);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
  }

  /** At the service: its own login and consent pages, then back to the gateway. */
  async function signInAtService(page: Page) {
    await page.waitForURL((where) => where.origin === provider.issuer);
    for (let step = 0; step < 5 && new URL(page.url()).origin === provider.issuer; step++) {
      const login = page.locator('input[name="login"]');
      if (await login.count()) {
        await login.fill('pam');
        await page.locator('input[name="password"]').fill('any');
      }
      await Promise.all([page.waitForNavigation(), page.locator('button[type="submit"]').first().click()]);
    }
    await page.waitForURL((where) => where.origin === url);
  }

  const card = (page: Page, name: string) => page.locator('li.card', { has: page.locator('.card-name', { hasText: name }) });
  const pageActions = (page: Page) => page.locator('.panel .actions-block').first();

  /** The page at 390 px: nothing scrolls sideways. */
  async function fitsPhone(page: Page) {
    const size = page.viewportSize()!;
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth), SOON).toBe(390);
    } finally {
      await page.setViewportSize(size);
    }
  }

  beforeAll(async () => {
    const handle = await openPglite();
    database = handle;
    await database.migrate();
    a = await tenant(database.db, 'repair');
    app = createApp({ db: database.db, vault: testVault, log: createLog('silent'), dashboardDir: distDir });
    url = await app.start(0);
    provider = await startOAuthServer(`${url}/oauth/callback`);
    // Registered, but its OAuth app is not configured: the dashboard does that.
    const registered = await gql(
      `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename } }`,
      { input: { key: 'test-oidc', name: 'Test OIDC', authMethod: 'OAUTH2', issuerUrl: provider.issuer, scopes: ['openid', 'email', 'offline_access'] } },
      a.admin.token,
    );
    expect(registered.registerIntegration.__typename).toBe('RegisterIntegrationSuccess');
    memberOld = await insertBroken(a.member.user.id, 'Member old OIDC');
    adminOwn = await insertBroken(a.admin.user.id, 'Admin OIDC');
    browser = await launchBrowser();
    admin = await openPage(browser, pageErrors);
    member = await openPage(browser, pageErrors);
    await signIn(admin, a.admin.token);
    await signIn(member, a.member.token);
  }, 120_000);

  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await provider?.close();
    await app?.stop();
    await database?.close();
  });

  it('tells a member who may not set up the missing OAuth app which admins can, on the card and on the connect page', async () => {
    const own = card(member, 'Member old OIDC');
    await own.locator('[data-action="reauthenticate"]').click();
    const notice = own.locator('.notice', { hasText: 'Test OIDC is not set up for your account yet' });
    await notice.waitFor(SOON);
    await notice.locator('[data-admins]').waitFor(SOON);
    const admins = await notice.locator('[data-admins] li').allTextContents();
    expect(admins.join('\n')).toContain(a.admin.user.name);
    expect(admins.join('\n')).toContain(a.owner.user.name);
    expect(admins.join('\n')).not.toContain(a.member.user.name);
    expect(await notice.textContent()).not.toContain('VALIDATION');
    expect(new URL(member.url()).pathname).toBe('/');

    await member.goto(`${url}/connect/test-oidc`);
    await member.locator('[data-admins]').waitFor(SOON);
    expect(await member.getByRole('button', { name: 'Continue to Test OIDC' }).isDisabled()).toBe(true);
    expect(await member.locator('[data-action="configure-app"]').count()).toBe(0);

    // The OAuth app page itself shows a member the callback and scopes, and who can set it up, with no form.
    await member.goto(`${url}/settings/integrations/test-oidc`);
    await member.locator('[data-admins]').waitFor(SOON);
    expect(await member.locator('input[type="password"]').count()).toBe(0);
    expect(await seriousAxeViolations(member)).toEqual([]);
  });

  it('takes an admin repairing from the card to the OAuth app form (secret written once, exact callback URL, scopes) and back, where the sign-in continues and the connection is ACTIVE', async () => {
    await admin.goto(url);
    const own = card(admin, 'Admin OIDC');
    await own.locator('[data-action="reauthenticate"]').click();
    await admin.waitForURL((where) => where.pathname === '/settings/integrations/test-oidc');
    expect(new URL(admin.url()).searchParams.get('next')).toBe(`/connections/${encodeURIComponent(adminOwn.gid)}?reauthenticate=1`);
    await admin.getByRole('heading', { name: 'Test OIDC OAuth app', level: 1 }).waitFor();
    expect(await admin.getByRole('textbox', { name: 'Callback URL', exact: true }).inputValue()).toBe(`${url}/oauth/callback`);
    // The scopes start at the integration's defaults, editable.
    expect(await admin.getByLabel('Scopes Patchbay asks for').inputValue()).toBe('openid email offline_access');
    expect(await admin.locator('[data-action="reset-scopes"]').isDisabled()).toBe(true);
    expect(await admin.title()).toBe('Test OIDC OAuth app · Patchbay');
    expect(await seriousAxeViolations(admin)).toEqual([]);
    await fitsPhone(admin);
    await screenshot(admin, 'repair-oauth-app-form');

    // Going back without saving does not ask to continue (which would bring the admin straight back here).
    expect(await admin.getByRole('link', { name: 'Back without saving' }).getAttribute('href')).toBe(`/connections/${encodeURIComponent(adminOwn.gid)}`);
    await admin.getByLabel('Client id').fill(provider.clientId);
    await admin.getByLabel('Client secret').fill(provider.clientSecret);
    await admin.getByRole('button', { name: 'Save and go back' }).click();
    // Back on the connection's page, which continues the reauthentication at the service.
    await signInAtService(admin);
    await admin.waitForURL((where) => where.pathname === `/connections/${encodeURIComponent(adminOwn.gid)}`);
    await admin.locator('.notice', { hasText: 'Signed in at Test OIDC: the connection is active.' }).waitFor(SOON);
    expect(new URL(admin.url()).search).toBe('');
    expect(await statusOf(adminOwn.gid)).toBe('ACTIVE');

    // The form now says a secret is set, and never shows it.
    await admin.goto(`${url}/settings/integrations/test-oidc`);
    await admin.locator('[data-secret-state="set"]').waitFor(SOON);
    expect(await admin.getByLabel('Client id').inputValue()).toBe(provider.clientId);
    expect(await admin.content()).not.toContain(provider.clientSecret);
    const secret = admin.getByLabel('Client secret');
    expect([await secret.inputValue(), await secret.getAttribute('placeholder'), await secret.getAttribute('required')]).toEqual(['', 'Set — leave empty to keep it', null]);

    // Scopes are set in the form (commas or spaces) and saved without the secret, which is kept.
    const APP = `query { integration(key: "test-oidc") { scopes oauthAppScopesCustomized oauthAppConfigured } }`;
    await admin.getByLabel('Scopes Patchbay asks for').fill('openid, offline_access');
    await admin.getByRole('button', { name: 'Save', exact: true }).click();
    await admin.locator('.notice', { hasText: 'Saved: everyone in your account can sign in to it now.' }).waitFor(SOON);
    expect((await gql(APP, {}, a.admin.token)).integration).toEqual({ scopes: ['openid', 'offline_access'], oauthAppScopesCustomized: true, oauthAppConfigured: true });
    await admin.reload();
    await admin.locator('[data-secret-state="set"]').waitFor(SOON);
    expect(await admin.getByLabel('Scopes Patchbay asks for').inputValue()).toBe('openid offline_access');
    expect(await seriousAxeViolations(admin)).toEqual([]);
    await fitsPhone(admin);
    await screenshot(admin, 'repair-oauth-app-custom-scopes');
    // A sign-in now asks for them.
    const reauthorization = await gql(
      `mutation($id: ID!) { reauthenticateConnection(input: { id: $id, returnTo: "${url}/" }) { ... on ReauthenticateConnectionSuccess { result { authorizationUrl } } } }`,
      { id: adminOwn.gid },
      a.admin.token,
    );
    expect(new URL(reauthorization.reauthenticateConnection.result.authorizationUrl).searchParams.get('scope')).toBe('openid offline_access');

    // "Reset to defaults" goes back to the integration's scopes (stored as none of the app's own).
    await admin.locator('[data-action="reset-scopes"]').click();
    expect(await admin.getByLabel('Scopes Patchbay asks for').inputValue()).toBe('openid email offline_access');

    // `next` is followed only to a path of this dashboard: another origin is ignored.
    await admin.goto(`${url}/settings/integrations/test-oidc?next=${encodeURIComponent('//evil.example/steal')}`);
    await admin.getByLabel('Client secret').fill(provider.clientSecret);
    await admin.locator('[data-action="reset-scopes"]').click();
    await admin.getByRole('button', { name: 'Save', exact: true }).click();
    await admin.locator('.notice', { hasText: 'Saved: everyone in your account can sign in to it now.' }).waitFor(SOON);
    expect(new URL(admin.url()).origin).toBe(url);
    expect(new URL(admin.url()).pathname).toBe('/settings/integrations/test-oidc');
    expect((await gql(APP, {}, a.admin.token)).integration).toEqual({ scopes: ['openid', 'email', 'offline_access'], oauthAppScopesCustomized: false, oauthAppConfigured: true });
  });

  it('lets the member connect, and repair the connection from its card once it breaks', async () => {
    await member.goto(`${url}/connect/test-oidc`);
    await member.getByLabel('Connection name').fill('Member OIDC');
    await member.getByRole('button', { name: 'Continue to Test OIDC' }).click();
    await signInAtService(member);
    await card(member, 'Member OIDC').waitFor(SOON);
    connected = { gid: (await card(member, 'Member OIDC').getAttribute('data-connection'))!, id: '' };
    connected.id = Buffer.from(connected.gid, 'base64url').toString().split(':')[1];
    expect(await statusOf(connected.gid, a.member.token)).toBe('ACTIVE');
    const [source] = await database.db
      .insert(dataSources)
      .values({ accountId: a.account.id, connectionId: connected.id, resourceId: 'me', name: 'Profile', schedule: '0 6 * * *' })
      .returning();
    sourceGid = encodeGlobalId('DataSource', source.id);

    // A worker reports the grant revoked: the card turns broken, live.
    await gql(`mutation($id: ID!) { reportConnectionError(input: { id: $id, reason: INVALID_REFRESH_TOKEN, message: "grant revoked" }) { __typename } }`, { id: connected.gid }, a.member.token);
    await expect.poll(() => card(member, 'Member OIDC').getAttribute('data-status'), SOON).toBe('DISCONNECTED');
    await screenshot(member, 'repair-card-broken');
    await card(member, 'Member OIDC').locator('[data-action="reauthenticate"]').click();
    await signInAtService(member);
    await member.waitForURL((where) => where.pathname === `/connections/${encodeURIComponent(connected.gid)}`);
    await member.locator('.notice', { hasText: 'Signed in at Test OIDC: the connection is active.' }).waitFor(SOON);
    expect(await statusOf(connected.gid, a.member.token)).toBe('ACTIVE');
  });

  it('lets an admin send a reconnect link; the owner opens it, signs in at the service, and the same connection is ACTIVE with its data source; the link then refuses, and is not found for others', async () => {
    await gql(`mutation($id: ID!) { reportConnectionError(input: { id: $id, reason: INVALID_REFRESH_TOKEN }) { __typename } }`, { id: connected.gid }, a.member.token);
    // The admin sees that the member's private connection exists, and asks its owner to repair it.
    await admin.goto(`${url}/connections/${encodeURIComponent(connected.gid)}`);
    const actions = pageActions(admin);
    await actions.locator('[data-action="reconnect-link"]').click();
    await actions.getByLabel('Valid for').selectOption(String(86_400));
    await actions.getByRole('button', { name: 'Create link' }).click();
    const field = actions.getByRole('textbox', { name: 'Reconnect link', exact: true });
    await field.waitFor(SOON);
    const link = new URL(await field.inputValue());
    expect(link.origin + link.pathname).toBe(`${url}/reconnect`);
    await actions.locator('[data-reconnect-links] li', { hasText: `Asked by ${a.admin.user.name}` }).waitFor(SOON);
    expect(await seriousAxeViolations(admin)).toEqual([]);
    await screenshot(admin, 'repair-reconnect-link-created');
    await actions.locator('[data-action="reconnect-link-done"]').click();

    // Not the admin's to use: it does not exist for them.
    await admin.goto(link.toString());
    await admin.getByRole('heading', { name: 'Reconnect link not found' }).waitFor(SOON);

    // The token never travels in a URL (a GET query would carry it into proxies' logs).
    const token = link.hash.slice(1);
    const urls: string[] = [];
    const listener = (request: Request) => {
      if (new URL(request.url()).pathname === '/graphql') urls.push(request.url());
    };
    member.on('request', listener);
    await member.goto(link.toString());
    const details = member.locator('[data-reconnect-link]');
    await details.waitFor(SOON);
    member.off('request', listener);
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.filter((where) => where.includes(token))).toEqual([]);
    expect(await details.textContent()).toContain(`${a.admin.user.name} asked you to sign in to Test OIDC again for your connection Member OIDC`);
    expect(await seriousAxeViolations(member)).toEqual([]);
    await fitsPhone(member);
    await screenshot(member, 'repair-reconnect-page');
    await member.locator('[data-action="redeem-reconnect-link"]').click();
    await signInAtService(member);
    await member.waitForURL((where) => where.pathname === `/connections/${encodeURIComponent(connected.gid)}`);
    await member.locator('.notice', { hasText: 'Signed in at Test OIDC: the connection is active.' }).waitFor(SOON);
    const after = (await gql(`query($id: ID!) { node(id: $id) { ... on Connection { id status dataSources(first: 5) { nodes { id status } } } } }`, { id: connected.gid }, a.member.token)).node;
    expect(after).toEqual({ id: connected.gid, status: 'ACTIVE', dataSources: { nodes: [{ id: sourceGid, status: 'ACTIVE' }] } });

    await member.goto(link.toString());
    await member.getByRole('heading', { name: 'This reconnect link was already used' }).waitFor(SOON);
    expect(await member.locator('[data-action="redeem-reconnect-link"]').count()).toBe(0);
    await admin.goto(`${url}/connections/${encodeURIComponent(connected.gid)}`);
    await pageActions(admin).locator('[data-action="reconnect-link"]').waitFor(SOON);
    expect(await admin.locator('[data-reconnect-links]').count()).toBe(0);
  });

  it('moves the data source to the member’s other Test OIDC connection, then deletes the emptied one', async () => {
    await member.goto(`${url}/connections/${encodeURIComponent(connected.gid)}`);
    const source = member.locator(`li.source[data-data-source="${sourceGid}"]`);
    await source.locator('[data-action="move-data-source"]').click();
    const select = source.getByLabel('Move Profile to');
    await select.waitFor(SOON);
    await select.selectOption(memberOld.gid);
    await source.locator('[data-action="confirm-move"]').click();
    await expect.poll(() => source.count(), SOON).toBe(0);
    const moved = (await gql(`query($id: ID!) { node(id: $id) { ... on DataSource { connection { id } } } }`, { id: sourceGid }, a.member.token)).node;
    expect(moved.connection.id).toBe(memberOld.gid);

    const actions = pageActions(member);
    await actions.locator('[data-action="delete"]').click();
    await actions.locator('[data-action="confirm-delete"]').click();
    await member.waitForURL((where) => where.pathname === '/');
    expect((await gql(`query($id: ID!) { node(id: $id) { id } }`, { id: connected.gid }, a.member.token)).node).toBeNull();
    await screenshot(member, 'repair-loop-done');
  });
});
