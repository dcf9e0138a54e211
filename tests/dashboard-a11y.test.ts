/**
 * The dashboard at scale, by keyboard, for screen readers and on a phone, in a real browser
 * (Debian's Chromium through playwright-core) against the real gateway with 200 more connections
 * than the usual tenant: the list's search, filters and order kept in the address, status tiles,
 * the actions menu, focus after route changes and actions, page titles, the skip link, axe-core's
 * rules (no serious or critical violation on any page) and no sideways scrolling at 390 px.
 *
 * PGlite only, as tests/dashboard.test.ts: the resolvers and SQL it touches run on both databases
 * in the other suites.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { connections } from '../server/db/schema.js';
import { describeInBrowser, screenshot, seriousAxeViolations } from './support/browser.js';
import { signIn, useDashboardRig } from './support/dashboard-rig.js';
import { graphqlData } from './support/graphql-http.js';
import type { Tenant } from './support/fixtures.js';
import { startStubService, type StubService } from './support/stub-service.js';

const SOON = { timeout: 10_000 };
const BULK = 200;
const INTEGRATIONS = ['google-analytics-4', 'salesforce', 'hubspot', 'google-sheets', 'copper'];

/** Bulk connection `index`'s status: a few broken, pending and revoked among the active ones. */
function bulkStatus(index: number): 'ACTIVE' | 'DISCONNECTED' | 'PENDING' | 'REVOKED' {
  if (index % 10 === 3) return 'DISCONNECTED';
  if (index % 20 === 7) return 'PENDING';
  if (index % 25 === 11) return 'REVOKED';
  return 'ACTIVE';
}

describeInBrowser('the dashboard at scale, by keyboard and on a phone', { timeout: 90_000 }, () => {
  let url: string;
  let browser: Browser;
  let pageErrors: string[];
  let stub: StubService;
  let a: Tenant;
  let owner: Page;
  useDashboardRig('scale', async (rig) => {
    ({ url, browser, pageErrors, a, page: owner } = rig);
    const database = rig.database;
    await database.db.insert(connections).values(
      Array.from({ length: BULK }, (_, index) => {
        const status = bulkStatus(index);
        return {
          accountId: a.account.id,
          ownerId: index % 2 === 0 ? a.owner.user.id : a.editor.user.id,
          integrationKey: INTEGRATIONS[index % INTEGRATIONS.length],
          status,
          name: `Bulk ${String(index).padStart(3, '0')}`,
          resourceName: `Property ${index}`,
          shared: true,
          ...(status === 'DISCONNECTED' ? { disconnectReason: 'INVALID_CREDENTIALS' as const, errorMessage: 'The key was deleted' } : {}),
        };
      }),
    );
    // A service with an API key that a Test can reach: the owner's connection to it passes.
    stub = await startStubService();
    stub.validKeys = new Set(['sk_scale_good_key']);
    await graphqlData(
      url,
      a.admin.token,
      `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename } }`,
      { input: { key: 'stub-metrics', name: 'Stub Metrics', authMethod: 'API_KEY', verifyUrl: `${stub.url}/me`, apiKeyHeader: 'X-Api-Key', description: 'A metrics API that takes an API key' } },
    );
    const started = await graphqlData(
      url,
      a.owner.token,
      `mutation($input: StartConnectionInput!) { startConnection(input: $input) { __typename } }`,
      { input: { integration: 'stub-metrics', name: 'scale stub metrics', shared: true, credentials: { apiKey: 'sk_scale_good_key' } } },
    );
    expect(started.startConnection.__typename).toBe('StartConnectionSuccess');
  });

  afterAll(async () => {
    await stub?.close();
  });

  const cards = (page: Page) => page.locator('li.card');
  const card = (page: Page, name: string) => page.locator('li.card', { has: page.locator('.card-name', { hasText: name }) });
  /** What has the focus: its tag, and its text or label. */
  const focused = (page: Page) =>
    page.evaluate(() => {
      const element = document.activeElement as HTMLElement | null;
      return { tag: element?.tagName.toLowerCase(), text: (element?.getAttribute('aria-label') ?? element?.textContent ?? '').trim(), action: element?.getAttribute('data-action') ?? null };
    });
  const params = (page: Page) => Object.fromEntries(new URL(page.url()).searchParams);


  /** axe-core on the page as it is: no serious or critical violation. */
  async function expectAccessible(page: Page, what: string) {
    expect({ page: what, violations: await seriousAxeViolations(page) }).toEqual({ page: what, violations: [] });
  }


  it('names every page, passes axe on sign-in, and puts the focus on the page’s heading after sign-in and after each route change', async () => {
    await owner.goto(url);
    expect(await owner.title()).toBe('Sign in · Patchbay');
    await expectAccessible(owner, 'sign-in');
    await signIn(owner, url, a.owner.token);
    expect(await owner.title()).toBe('Connections · Patchbay');
    await expect.poll(() => focused(owner), SOON).toMatchObject({ tag: 'h1', text: 'Connections' });

    // Into a connection, by the keyboard, and back.
    await card(owner, 'Bulk 000').locator('.card-name').focus();
    await owner.keyboard.press('Enter');
    await expect.poll(() => focused(owner), SOON).toMatchObject({ tag: 'h1', text: expect.stringContaining('Bulk 000') });
    expect(await owner.title()).toBe('Bulk 000 · Patchbay');
    await owner.goBack();
    await expect.poll(() => focused(owner), SOON).toMatchObject({ tag: 'h1', text: 'Connections' });

    await owner.getByRole('link', { name: 'New connection' }).click();
    await expect.poll(() => focused(owner), SOON).toMatchObject({ tag: 'h1', text: 'Connect a service' });
    expect(await owner.title()).toBe('Connect a service · Patchbay');
    await owner.locator('a.catalog-item[data-integration="hubspot"]').click();
    await expect.poll(() => focused(owner), SOON).toMatchObject({ tag: 'h1', text: 'Connect HubSpot' });
    expect(await owner.title()).toBe('Connect HubSpot · Patchbay');

    // Opened by its address, a page is named but leaves the focus at the top, where the skip link is.
    await owner.goto(`${url}/no/such/page`);
    await owner.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor(SOON);
    expect(await owner.title()).toBe('Page not found · Patchbay');
    expect(await focused(owner)).toMatchObject({ tag: 'body' });
    await owner.goto(`${url}/notifications`);
    await expect.poll(() => owner.title(), SOON).toBe('Notifications · Patchbay');
  });

  it('offers a skip link first on a page opened by its address, which moves the focus to the page’s heading', async () => {
    await owner.goto(`${url}/connect`);
    await owner.getByRole('heading', { name: 'Connect a service' }).waitFor();
    // Opened by its address, the page leaves the focus at the top of the document.
    expect(await focused(owner)).toMatchObject({ tag: 'body' });
    await owner.keyboard.press('Tab');
    expect(await focused(owner)).toMatchObject({ tag: 'a', text: 'Skip to content' });
    expect(await owner.getByRole('link', { name: 'Skip to content' }).isVisible()).toBe(true);
    await owner.keyboard.press('Enter');
    expect(await focused(owner)).toMatchObject({ tag: 'h1', text: 'Connect a service' });
  });

  it('keeps 200 connections usable: a page of 100 with the rest on request, a few buttons per card, and the list narrowed by search, tiles, filters and order, all kept in the address across a reload', async () => {
    await owner.goto(url);
    const total = BULK + 5;
    await expect.poll(() => owner.locator('.list-count').getAttribute('data-total'), SOON).toBe(String(total));
    expect(await cards(owner).count()).toBe(100);
    // The tiles count every status over the whole list, not only the page shown.
    const tile = (status: string) => owner.locator(`[data-status-tile="${status}"]`);
    const expected = { DISCONNECTED: 1, PENDING: 0, ACTIVE: 4, REVOKED: 0 };
    for (let index = 0; index < BULK; index++) expected[bulkStatus(index)] += 1;
    for (const [status, count] of Object.entries(expected)) await expect.poll(() => tile(status).locator('.summary-count').textContent(), SOON).toBe(String(count));
    // At most two buttons and the More menu on any card (there were six).
    const widest = await cards(owner).evaluateAll((items) => Math.max(...items.map((item) => item.querySelectorAll('.actions > button, .actions .menu-button').length)));
    expect(widest).toBeLessThanOrEqual(3);
    await screenshot(owner, 'list-at-scale');
    await owner.getByRole('button', { name: 'Show more connections (105 more)' }).click();
    await expect.poll(() => cards(owner).count(), SOON).toBe(200);
    await owner.getByRole('button', { name: 'Show more connections (5 more)' }).click();
    await expect.poll(() => cards(owner).count(), SOON).toBe(total);
    expect(await owner.getByRole('button', { name: /^Show more connections/ }).count()).toBe(0);

    // Search: the address keeps it, the gateway narrows it.
    await owner.getByLabel('Search', { exact: true }).fill('bulk 01');
    await expect.poll(() => params(owner), SOON).toEqual({ q: 'bulk 01' });
    await expect.poll(() => cards(owner).count(), SOON).toBe(10);
    // A status tile filters, and says it is pressed.
    await tile('ACTIVE').click();
    await expect.poll(() => params(owner), SOON).toEqual({ q: 'bulk 01', status: 'active' });
    await expect.poll(() => cards(owner).evaluateAll((items) => [...new Set(items.map((item) => item.getAttribute('data-status')))]), SOON).toEqual(['ACTIVE']);
    expect(await tile('ACTIVE').getAttribute('aria-pressed')).toBe('true');
    await owner.getByLabel('Integration', { exact: true }).selectOption('salesforce');
    const names = () => cards(owner).evaluateAll((items) => items.map((item) => item.querySelector('.card-name')?.textContent));
    await expect.poll(names, SOON).toEqual(['Bulk 016']);
    // Pressed again, the tile lets go; then the order changes from broken-first to by name.
    await tile('ACTIVE').click();
    await expect.poll(names, SOON).toEqual(['Bulk 016', 'Bulk 011']);
    await owner.getByLabel('Order', { exact: true }).selectOption('name');
    await expect.poll(() => params(owner), SOON).toEqual({ q: 'bulk 01', integration: 'salesforce', sort: 'name' });
    await expect.poll(names, SOON).toEqual(['Bulk 011', 'Bulk 016']);

    await owner.reload();
    await owner.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
    expect(await owner.getByLabel('Search', { exact: true }).inputValue()).toBe('bulk 01');
    expect(await owner.getByLabel('Integration', { exact: true }).inputValue()).toBe('salesforce');
    expect(await owner.getByLabel('Status', { exact: true }).inputValue()).toBe('');
    expect(await owner.getByLabel('Order', { exact: true }).inputValue()).toBe('name');
    await expect.poll(names, SOON).toEqual(['Bulk 011', 'Bulk 016']);
    await screenshot(owner, 'list-filtered');

    await owner.getByLabel('Owner', { exact: true }).selectOption({ label: 'Me' });
    await expect.poll(names, SOON).toEqual(['Bulk 016']);
    await owner.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(() => params(owner), SOON).toEqual({ sort: 'name' });
    await expect.poll(() => owner.locator('.list-count').getAttribute('data-total'), SOON).toBe(String(total));
    await expectAccessible(owner, 'connections list');
    await owner.getByLabel('Order', { exact: true }).selectOption('status');
    await expect.poll(() => params(owner), SOON).toEqual({});
  });

  it('shows actions by status: Test only where a test can pass, Reauthenticate first on a broken connection, the rest in a menu', async () => {
    await owner.goto(`${url}/?q=bulk`);
    await expect.poll(() => cards(owner).count(), SOON).toBe(100);
    const visible = (status: string) =>
      owner.locator(`li.card[data-status="${status}"]`).first().locator('.actions > button, .actions .menu-button').evaluateAll((buttons) => buttons.map((button) => button.getAttribute('data-action')));
    expect(await visible('ACTIVE')).toEqual(['test', 'more']);
    expect(await visible('DISCONNECTED')).toEqual(['reauthenticate', 'test', 'more']);
    expect(await visible('PENDING')).toEqual(['reauthenticate', 'more']);
    expect(await visible('REVOKED')).toEqual(['reauthenticate', 'more']);
    // A revoked connection of their own (Bulk 036) may also be shared or unshared; one another
    // user shared (Bulk 011) the admin may rename and delete, and send its owner a reconnect link,
    // and only its owner unshare.
    for (const [name, items] of [['Bulk 036', ['rename', 'share', 'delete']], ['Bulk 011', ['rename', 'reconnect-link', 'delete']]] as const) {
      await owner.goto(`${url}/?q=${encodeURIComponent(name)}`);
      const revoked = card(owner, name);
      await revoked.waitFor(SOON);
      expect(await revoked.getAttribute('data-status')).toBe('REVOKED');
      await revoked.locator('.menu-button').click();
      expect(await revoked.locator('[role="menuitem"]').evaluateAll((found) => found.map((item) => item.getAttribute('data-action')))).toEqual(items);
      await owner.keyboard.press('Escape');
    }
  });

  it('runs the actions menu, inline forms and confirmations from the keyboard: arrows move, Escape cancels, and the focus goes where the reader is', async () => {
    await owner.goto(`${url}/?q=scale shared GA4`);
    const shared = card(owner, 'scale shared GA4');
    await shared.waitFor(SOON);
    const more = shared.locator('.menu-button');
    expect(await more.getAttribute('aria-label')).toBe('More actions for scale shared GA4');
    await more.focus();
    await owner.keyboard.press('Enter');
    expect(await more.getAttribute('aria-expanded')).toBe('true');
    expect(await focused(owner)).toMatchObject({ action: 'reauthenticate' });
    await owner.keyboard.press('ArrowDown');
    expect(await focused(owner)).toMatchObject({ action: 'rename' });
    await owner.keyboard.press('End');
    expect(await focused(owner)).toMatchObject({ action: 'revoke' });
    await owner.keyboard.press('ArrowDown');
    expect(await focused(owner)).toMatchObject({ action: 'reauthenticate' });
    await owner.keyboard.press('Escape');
    expect(await more.getAttribute('aria-expanded')).toBe('false');
    expect(await focused(owner)).toMatchObject({ action: 'more' });

    // Rename: the field takes the focus; Escape cancels and gives it back to the menu's button.
    await owner.keyboard.press('ArrowDown');
    await owner.keyboard.press('ArrowDown');
    expect(await focused(owner)).toMatchObject({ action: 'rename' });
    await owner.keyboard.press('Enter');
    expect(await focused(owner)).toMatchObject({ tag: 'input' });
    await owner.keyboard.type(' (changed)');
    await owner.keyboard.press('Escape');
    expect(await shared.getByLabel('New name').count()).toBe(0);
    expect(await focused(owner)).toMatchObject({ action: 'more' });
    expect((await graphqlData(url, a.owner.token, 'query($id: ID!) { connection(id: $id) { name } }', { id: a.connections.shared.gid })).connection.name).toBe('scale shared GA4');

    // Revoke asks first, with the focus on Cancel; Escape backs out and nothing changed.
    await owner.keyboard.press('Enter');
    await owner.keyboard.press('End');
    await owner.keyboard.press('Enter');
    expect(await focused(owner)).toMatchObject({ action: 'cancel' });
    expect(await shared.getByRole('group', { name: 'Confirm revoking' }).count()).toBe(1);
    await owner.keyboard.press('Escape');
    expect(await shared.getByRole('group', { name: 'Confirm revoking' }).count()).toBe(0);
    expect(await focused(owner)).toMatchObject({ action: 'more' });
    expect(await shared.getAttribute('data-status')).toBe('ACTIVE');

    // Test answers with a notice that takes the focus.
    await owner.goto(`${url}/?q=stub`);
    const reachable = card(owner, 'scale stub metrics');
    await reachable.locator('button[data-action="test"]').focus();
    await owner.keyboard.press('Enter');
    const focusedNotice = () => owner.evaluate(() => (document.activeElement?.classList.contains('notice') ? document.activeElement.textContent : null));
    await expect.poll(focusedNotice, SOON).toContain('Test passed');

    // A confirmed revoke answers with a notice that takes the focus.
    await reachable.locator('.menu-button').click();
    await reachable.locator('[role="menuitem"][data-action="revoke"]').click();
    expect(await focused(owner)).toMatchObject({ action: 'cancel' });
    await owner.keyboard.press('Shift+Tab');
    expect(await focused(owner)).toMatchObject({ action: 'confirm-revoke' });
    await owner.keyboard.press('Enter');
    await expect.poll(focusedNotice, SOON).toContain('Revoked here.');
    expect(await reachable.getAttribute('data-status')).toBe('REVOKED');

    // A deleted card is gone: the focus goes to the page's heading, not the void.
    await owner.goto(`${url}/?q=bulk 036`);
    const gone = card(owner, 'Bulk 036');
    await gone.locator('.menu-button').click();
    await gone.locator('[role="menuitem"][data-action="delete"]').click();
    await owner.keyboard.press('Shift+Tab');
    await owner.keyboard.press('Enter');
    await expect.poll(() => gone.count(), SOON).toBe(0);
    expect(await focused(owner)).toMatchObject({ tag: 'h1', text: 'Connections' });
    await screenshot(owner, 'actions-keyboard');
  });

  it('highlights and announces a status change made elsewhere', async () => {
    await owner.goto(url);
    const changed = card(owner, 'Bulk 000');
    await changed.waitFor(SOON);
    await owner.locator('[data-live="live"]').waitFor(SOON);
    const reported = await graphqlData(
      url,
      a.service.token,
      `mutation($id: ID!) { reportConnectionError(input: { id: $id, reason: PROVIDER_ERROR, message: "Plan lapsed" }) { __typename } }`,
      { id: await changed.getAttribute('data-connection') },
    );
    expect(reported.reportConnectionError.__typename).toBe('ReportConnectionErrorSuccess');
    await expect.poll(() => changed.getAttribute('data-changed'), SOON).toBe('true');
    expect(await changed.getAttribute('data-status')).toBe('DISCONNECTED');
    expect(await owner.locator('[role="status"][aria-live="polite"]').textContent()).toBe('Bulk 000 is now broken.');
    // The tiles are counted again.
    const broken = 1 + Array.from({ length: BULK }, (_, index) => bulkStatus(index)).filter((status) => status === 'DISCONNECTED').length + 1;
    await expect.poll(() => owner.locator('[data-status-tile="DISCONNECTED"] .summary-count').textContent(), SOON).toBe(String(broken));
  });

  it('passes axe with no serious or critical violation on the connection page, the catalog, a connect form, the notifications page and panel, and a missing page', async () => {
    await owner.goto(`${url}/connections/${encodeURIComponent(a.connections.shared.gid)}`);
    await owner.locator('table.runs').waitFor(SOON);
    await expectAccessible(owner, 'connection');
    await owner.goto(`${url}/connect`);
    await owner.locator('a.catalog-item').first().waitFor(SOON);
    await expectAccessible(owner, 'catalog');
    await owner.goto(`${url}/connect/hubspot`);
    await owner.getByLabel('Connection name').waitFor(SOON);
    await expectAccessible(owner, 'connect form');
    await owner.goto(`${url}/notifications`);
    await owner.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor(SOON);
    await owner.locator('.notification, .empty').first().waitFor(SOON);
    await expectAccessible(owner, 'notifications page');
    await owner.getByRole('button', { name: /^Notifications/ }).click();
    await owner.getByRole('dialog').waitFor(SOON);
    await expectAccessible(owner, 'notifications panel');
    await owner.keyboard.press('Escape');
    await owner.goto(`${url}/nowhere`);
    await owner.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor(SOON);
    await expectAccessible(owner, 'page not found');
  });

  it('fits a 390 px phone: no page scrolls sideways, and the notifications panel opens inside the screen', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US', timezoneId: 'UTC', isMobile: true, hasTouch: true });
    const page = await phone.newPage();
    page.on('pageerror', (error) => pageErrors.push(`page error: ${error.message}`));
    try {
      const overflow = () => page.evaluate(() => document.documentElement.scrollWidth);
      await page.goto(url);
      expect({ page: 'sign-in', width: await overflow() }).toEqual({ page: 'sign-in', width: 390 });
      await signIn(page, url, a.owner.token);
      const pages: [string, string, string][] = [
        ['connections', '/', 'li.card'],
        ['connections filtered', '/?q=bulk&sort=changed', 'li.card'],
        ['connection', `/connections/${encodeURIComponent(a.connections.shared.gid)}`, 'table.runs'],
        ['catalog', '/connect', 'a.catalog-item'],
        ['connect form', '/connect/hubspot', '#root form'],
        ['notifications', '/notifications', 'h1'],
        ['not found', '/nowhere', 'h1'],
      ];
      for (const [name, where, ready] of pages) {
        await page.goto(`${url}${where}`);
        await page.locator(ready).first().waitFor(SOON);
        expect({ page: name, width: await overflow() }).toEqual({ page: name, width: 390 });
        await screenshot(page, `phone-${name.replace(/ /g, '-')}`);
      }
      // The refresh table scrolls inside its data source, not the page.
      await page.goto(`${url}/connections/${encodeURIComponent(a.connections.shared.gid)}`);
      await page.locator('table.runs').waitFor(SOON);
      expect(await page.locator('table.runs').evaluate((table) => table.getBoundingClientRect().right)).toBeLessThanOrEqual(390);

      await page.getByRole('button', { name: /^Notifications/ }).click();
      const panel = page.getByRole('dialog');
      await panel.waitFor(SOON);
      const box = (await panel.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(390);
      expect(await overflow()).toBe(390);
      await screenshot(page, 'phone-notifications-panel');
    } finally {
      await phone.close();
    }
  });
});
