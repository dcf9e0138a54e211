/**
 * Settings in a real browser (Debian's Chromium through playwright-core) against the real gateway:
 * an admin creates an API token (its secret shown once, gone after a reload) and revokes it; registers
 * a webhook endpoint against a real receiver, rotates its secret, sends a test and sees the delivery
 * in the log; registers a custom integration (the typed error in place, then a success); the
 * account's people with their roles; a member sees what they may use, read-only elsewhere. Every tab
 * passes axe-core and fits 390 px. What the page did is checked through the API and the receiver.
 *
 * PGlite only, as tests/dashboard.test.ts: the resolvers and SQL it touches run on both databases
 * in the other suites.
 */
import './support/outbound.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { openPglite, type DatabaseHandle } from '../server/db/client.js';
import { drainOutbox } from '../server/jobs/outbox.js';
import { webhookOutbox } from '../server/jobs/webhooks.js';
import { createLog } from '../server/log.js';
import { builtDashboard, describeInBrowser, launchBrowser, openPage, screenshot, seriousAxeViolations } from './support/browser.js';
import { graphqlData, postGraphql } from './support/graphql-http.js';
import { tenant, testVault, type Tenant } from './support/fixtures.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const SOON = { timeout: 10_000 };

describeInBrowser('settings: integrations, API tokens, webhooks, people', { timeout: 90_000 }, () => {
  let database: DatabaseHandle;
  let app: App;
  let url: string;
  let browser: Browser;
  let receiver: WebhookReceiver;
  let a: Tenant;
  let admin: Page;
  let member: Page;
  const distDir = builtDashboard();
  const pageErrors: string[] = [];

  async function signIn(page: Page, token: string) {
    await page.goto(url);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
  }

  async function expectAccessible(page: Page, name: string) {
    expect({ page: name, violations: await seriousAxeViolations(page) }).toEqual({ page: name, violations: [] });
  }

  const focusedText = (page: Page) => page.evaluate(() => ({ tag: document.activeElement?.tagName.toLowerCase(), text: document.activeElement?.textContent ?? '' }));

  beforeAll(async () => {
    const [handle, started] = await Promise.all([
      openPglite(),
      startWebhookReceiver(),
    ]);
    database = handle;
    receiver = started;
    await database.migrate();
    a = await tenant(database.db, 'settings');
    // Salesforce has the operator's default app (environment), which Settings tells from the account's own.
    const defaultOAuthApps = new Map([['salesforce', { clientId: 'operator-salesforce-client', clientSecret: 'operator-secret' }]]);
    app = createApp({ db: database.db, vault: testVault, log: createLog('silent'), dashboardDir: distDir, defaultOAuthApps });
    url = await app.start(0);
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
    await app?.stop();
    await receiver?.close();
    await database?.close();
  });

  it('opens from the header: a titled page whose heading takes the focus, with a tab per area', async () => {
    await admin.getByRole('banner').getByRole('link', { name: 'Settings', exact: true }).click();
    await admin.getByRole('heading', { name: 'Integrations', level: 1 }).waitFor();
    expect(new URL(admin.url()).pathname).toBe('/settings/integrations');
    expect(await admin.title()).toBe('Integrations · Settings · Patchbay');
    expect(await focusedText(admin)).toEqual({ tag: 'h1', text: 'Integrations' });
    const tabs = admin.getByRole('navigation', { name: 'Settings' }).getByRole('link');
    expect(await tabs.allTextContents()).toEqual(['Integrations', 'API tokens', 'Webhooks', 'People']);
    expect(await admin.getByRole('navigation', { name: 'Settings' }).locator('[aria-current="page"]').textContent()).toBe('Integrations');

    // The OAuth integrations say whether the app is configured and link to its form.
    const hubspot = admin.locator('li[data-integration="hubspot"]');
    expect(await hubspot.locator('.pill').textContent()).toBe('Not configured');
    expect(await admin.locator('li[data-integration="salesforce"] .pill').textContent()).toBe('Operator’s default app');
    expect(await hubspot.getByRole('link', { name: 'Configure the HubSpot app' }).getAttribute('href')).toBe('/settings/integrations/hubspot');
    await expectAccessible(admin, 'settings integrations');
    await screenshot(admin, 'settings-integrations');
  });

  it('registers a custom integration: the typed error in place on the field at fault, then the new one listed', async () => {
    await admin.goto(`${url}/settings/integrations`);
    const form = admin.locator('form', { hasText: 'Register an OAuth 2.0 service' });
    await form.getByLabel('Name').fill('Acme CRM');
    await form.getByLabel('Key').fill('acme-crm');
    await form.getByLabel('Issuer URL', { exact: true }).fill('http://issuer.acme.example');
    await form.getByRole('button', { name: 'Register' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor(SOON);
    expect(await alert.textContent()).toContain('issuerUrl must use https');
    expect(await form.getByLabel('Issuer URL', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await focusedText(admin)).toMatchObject({ tag: 'div' });
    await expectAccessible(admin, 'custom integration error');
    await screenshot(admin, 'settings-integration-error');

    // By its endpoints instead.
    await form.getByLabel('By its endpoints').check();
    await form.getByLabel('Authorization endpoint').fill('https://auth.acme.example/authorize');
    await form.getByLabel('Token endpoint').fill('https://auth.acme.example/token');
    await form.getByLabel('Scopes').fill('read, offline_access');
    await form.getByRole('button', { name: 'Register' }).click();
    await admin.getByText('Acme CRM is registered').waitFor(SOON);
    await admin.locator('ul[aria-label="Custom integrations"] li[data-integration="acme-crm"]').waitFor(SOON);
    const registered = await graphqlData(url, a.admin.token, '{ integration(key: "acme-crm") { name isCustom defaultScopes endpoints { authorizeUrl } } }');
    expect(registered.integration).toEqual({ name: 'Acme CRM', isCustom: true, defaultScopes: ['read', 'offline_access'], endpoints: { authorizeUrl: 'https://auth.acme.example/authorize' } });
  });

  it('creates an API token whose secret is shown once (gone after a reload), lists it with its owner, and revokes it after a confirmation', async () => {
    await admin.goto(`${url}/settings/tokens`);
    await admin.getByLabel('Token name').fill('Nightly sync');
    await admin.getByLabel('Kind').selectOption('SERVICE');
    await admin.getByRole('button', { name: 'Create token' }).click();
    const shown = admin.locator('[data-secret-once]');
    await shown.waitFor(SOON);
    const secret = await shown.getByRole('textbox').inputValue();
    expect(secret.length).toBeGreaterThan(20);
    // The secret works, as a SERVICE token.
    expect((await graphqlData(url, secret, '{ viewer { tokenKind user { email } } }')).viewer).toEqual({ tokenKind: 'SERVICE', user: { email: a.admin.user.email } });
    const row = admin.locator('li[data-token="Nightly sync"]');
    await row.waitFor(SOON);
    expect(await row.textContent()).toContain('admin');
    expect(await row.locator('.pill').first().textContent()).toBe('Service');
    // Admins see every token of the account, with whose it is.
    expect(await admin.locator('ul[aria-label="API tokens"] li').count()).toBeGreaterThanOrEqual(5);
    await expectAccessible(admin, 'token created');
    await screenshot(admin, 'settings-token-created');

    await admin.reload();
    await row.waitFor(SOON);
    expect(await admin.locator('[data-secret-once]').count()).toBe(0);
    expect(await admin.content()).not.toContain(secret);

    await row.getByRole('button', { name: 'Revoke Nightly sync' }).click();
    const confirm = admin.getByRole('group', { name: 'Revoke Nightly sync' });
    await confirm.waitFor();
    // Escape cancels, and the focus goes back to Revoke.
    await admin.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    expect(await focusedText(admin)).toEqual({ tag: 'button', text: 'Revoke' });
    await row.getByRole('button', { name: 'Revoke Nightly sync' }).click();
    await confirm.getByRole('button', { name: 'Revoke token' }).click();
    await admin.getByText('“Nightly sync” is revoked').waitFor(SOON);
    await row.locator('.pill', { hasText: 'Revoked' }).waitFor(SOON);
    const refused = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify({ query: '{ viewer { tokenKind } }' }),
    });
    expect(refused.status).toBe(401);
  });

  it('registers a webhook endpoint, rotates its secret, sends a test the receiver verifies, and shows it in the delivery log', async () => {
    await admin.goto(`${url}/settings/webhooks`);
    await admin.getByLabel('URL').fill(receiver.url);
    await admin.getByLabel('Description').fill('Partner sync');
    await admin.getByLabel('Only these integrations').fill('hubspot, salesforce');
    await admin.getByRole('button', { name: 'Add endpoint' }).click();
    const created = admin.locator('[data-secret-once]');
    await created.waitFor(SOON);
    const first = await created.getByRole('textbox').inputValue();
    expect(first).toMatch(/^whsec_/);
    await created.getByRole('button', { name: 'Done, I have stored it' }).click();
    const row = admin.locator(`li[data-endpoint="${receiver.url}"]`);
    await row.waitFor(SOON);
    expect(await row.textContent()).toContain('only hubspot, salesforce');

    await row.getByRole('button', { name: 'Rotate secret' }).click();
    await row.getByRole('group').getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = row.locator('[data-secret-once]');
    await rotated.waitFor(SOON);
    const second = await rotated.getByRole('textbox').inputValue();
    expect(second).toMatch(/^whsec_/);
    expect(second).not.toBe(first);
    receiver.secret = second;

    await row.getByRole('button', { name: 'Send test' }).click();
    await row.getByText('A test delivery is queued').waitFor(SOON);
    // The gateway's outbox worker runs in main.ts; here one round is driven by hand.
    await drainOutbox(database.db, webhookOutbox({ vault: testVault, log: createLog('silent') }), { accountId: a.account.id });
    expect(receiver.received.map((request) => [request.status, request.verified.ok])).toEqual([[200, true]]);
    expect((receiver.received[0].verified as { payload: { type: string } }).payload.type).toBe('webhook.test');

    await row.getByRole('button', { name: 'Refresh log' }).click();
    const delivery = row.locator('tr[data-delivery="webhook.test"]');
    await delivery.and(row.locator('tr[data-status="SENT"]')).waitFor(SOON);
    expect((await delivery.locator('td').allTextContents()).slice(0, 4)).toEqual(['webhook.test', 'Sent', '1', '200']);
    await expectAccessible(admin, 'webhooks');
    await screenshot(admin, 'settings-webhooks');

    // Disable, then delete after a confirmation naming it.
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.locator('.pill', { hasText: 'Disabled' }).waitFor(SOON);
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('group', { name: `Delete ${receiver.url}` }).getByRole('button', { name: 'Delete endpoint' }).click();
    await row.waitFor({ state: 'detached', ...SOON });
    const left = await graphqlData(url, a.admin.token, '{ viewer { account { webhookEndpoints(first: 10) { totalCount } } } }');
    expect(left.viewer.account.webhookEndpoints.totalCount).toBe(0);
  });

  it('lists the account’s people with their roles', async () => {
    await member.goto(`${url}/settings/people`);
    const people = member.locator('ul[aria-label="People"] li');
    await people.first().waitFor(SOON);
    expect(await people.count()).toBe(5);
    const owner = member.locator(`li[data-user="${a.owner.user.email}"]`);
    expect(await owner.locator('.pill').allTextContents()).toEqual(['Admin', 'Owner']);
    expect(await member.locator(`li[data-user="${a.admin.user.email}"] .pill`).allTextContents()).toEqual(['Admin']);
    await expectAccessible(member, 'people');
    await screenshot(member, 'settings-people');
  });

  it('shows a member what they may use, read-only where they may not change it', async () => {
    await member.goto(`${url}/settings/integrations`);
    await member.locator('li[data-integration="hubspot"]').waitFor(SOON);
    expect(await member.getByRole('link', { name: 'View the HubSpot app' }).count()).toBe(1);
    expect(await member.locator('form', { hasText: 'Register' }).count()).toBe(0);

    await member.goto(`${url}/settings/webhooks`);
    await member.getByText('Only admins change this').waitFor(SOON);
    expect(await member.getByRole('button', { name: 'Add endpoint' }).count()).toBe(0);

    // Members create USER tokens for themselves (no kind to pick) and see only their own.
    await member.goto(`${url}/settings/tokens`);
    await member.getByRole('heading', { name: 'Your tokens' }).waitFor(SOON);
    expect(await member.getByLabel('Kind').count()).toBe(0);
    await member.getByLabel('Token name').fill('My script');
    await member.getByRole('button', { name: 'Create token' }).click();
    await member.locator('[data-secret-once]').waitFor(SOON);
    await member.locator('li[data-token="My script"]').waitFor(SOON);
    const names = await member.locator('ul[aria-label="API tokens"] li .settings-row-title').allTextContents();
    const own = await graphqlData(url, a.member.token, '{ viewer { apiTokens(first: 100) { nodes { name } } } }');
    expect(names.sort()).toEqual(own.viewer.apiTokens.nodes.map((token: { name: string }) => token.name).sort());
    // The account-wide list is an admin's: null to a member.
    const body = await postGraphql(url, a.member.token, '{ viewer { account { apiTokens(first: 5) { totalCount } } } }');
    expect(body.data.viewer.account.apiTokens).toBeNull();
    await expectAccessible(member, 'member tokens');
    await screenshot(member, 'settings-member-tokens');
  });

  it('fits a 390 px phone on every tab, without sideways scrolling, and passes axe-core', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US', timezoneId: 'UTC', isMobile: true, hasTouch: true });
    const page = await phone.newPage();
    page.on('pageerror', (error) => pageErrors.push(`page error: ${error.message}`));
    try {
      await signIn(page, a.admin.token);
      for (const tab of ['integrations', 'tokens', 'webhooks', 'people']) {
        await page.goto(`${url}/settings/${tab}`);
        await page.locator('.settings-section').first().waitFor(SOON);
        await page.locator('.skeleton').waitFor({ state: 'detached', ...SOON });
        expect({ tab, width: await page.evaluate(() => document.documentElement.scrollWidth) }).toEqual({ tab, width: 390 });
        await expectAccessible(page, `phone ${tab}`);
        await screenshot(page, `phone-settings-${tab}`);
      }
    } finally {
      await phone.close();
    }
  });
});
