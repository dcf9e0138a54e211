/**
 * GraphiQL in a real browser (Debian's Chromium through playwright-core), served by the gateway
 * itself: with every other origin blocked it still renders its editors and runs a query with the
 * Authorization header, and its Content-Security-Policy is never violated. Skipped, saying why,
 * where Chromium is not installed.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { openPglite, type DatabaseHandle } from '../server/db/client.js';
import { DEFAULT_LIMITS } from '../server/edge/limits.js';
import { createLog } from '../server/log.js';
import { describeInBrowser, launchBrowser, openPage, screenshot } from './support/browser.js';
import { tenant, testVault, type Tenant } from './support/fixtures.js';

describeInBrowser('GraphiQL in a browser', { timeout: 60_000 }, () => {
  let database: DatabaseHandle;
  let app: App;
  let url: string;
  let browser: Browser;
  let a: Tenant;

  beforeAll(async () => {
    database = await openPglite();
    await database.migrate();
    a = await tenant(database.db, 'graphiql');
    // Production with GraphiQL enabled: the page is public, every query needs the token.
    app = createApp({
      db: database.db,
      vault: testVault,
      log: createLog('silent'),
      edge: { production: true, graphiql: true, corsOrigins: [], document: { limits: DEFAULT_LIMITS, introspection: true } },
    });
    url = await app.start(0);
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await database?.close();
  });

  /**
   * A page whose requests to any other origin are aborted and counted, and whose CSP violations
   * (the `securitypolicyviolation` event, recorded by a script Playwright adds outside the CSP)
   * are collected with its console errors.
   */
  async function offlinePage(errors: string[], elsewhere: string[]): Promise<Page> {
    const page = await openPage(browser, errors);
    const origin = new URL(url).origin;
    await page.context().route('**/*', (route) => {
      if (new URL(route.request().url()).origin === origin) return route.continue();
      elsewhere.push(route.request().url());
      return route.abort();
    });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    return page;
  }

  it('renders offline and runs a query with the Authorization header, within its CSP', async () => {
    const errors: string[] = [];
    const elsewhere: string[] = [];
    const page = await offlinePage(errors, elsewhere);
    const query = '{ viewer { account { name } } }';
    await page.goto(`${url}/graphql?query=${encodeURIComponent(query)}`);
    // The editors are Monaco's: rendered means the bundle, its styles and workers all loaded.
    await page.locator('.graphiql-query-editor .monaco-editor').waitFor();
    expect(await page.locator('.graphiql-query-editor').innerText()).toContain('viewer');

    await page.getByRole('button', { name: 'Headers' }).click();
    await page.getByRole('region', { name: 'Headers' }).getByRole('code').click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${a.owner.token}` }));
    // Monaco closes the quote and brace it saw opened; what follows the cursor is that surplus.
    await page.keyboard.press('Shift+ControlOrMeta+End');
    await page.keyboard.press('Delete');
    await page.getByRole('button', { name: /Execute query/ }).click();
    // Monaco renders spaces as no-break spaces.
    const response = async () => (await page.locator('.graphiql-response').innerText()).replace(/\s+/g, ' ');
    await expect.poll(response, { timeout: 15_000 }).toContain('"name": "Tenant graphiql"');
    await screenshot(page, 'graphiql-offline');

    expect(elsewhere).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("lets the page open the gateway's own WebSocket under connect-src 'self'", async () => {
    const errors: string[] = [];
    const page = await offlinePage(errors, []);
    await page.goto(`${url}/graphql`);
    const opened = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const socket = new WebSocket(`ws://${location.host}/graphql`, 'graphql-transport-ws');
          socket.onopen = () => (socket.close(), resolve('open'));
          socket.onerror = () => resolve('error');
        }),
    );
    expect(opened).toBe('open');
    expect(errors).toEqual([]);
  });
});
