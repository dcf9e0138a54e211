/**
 * What a browser suite of the dashboard stands on: a gateway on embedded PGlite serving the
 * dashboard built for this run, one tenant, Chromium with one page, and the check after each test
 * that the page logged no error. Declared inside a `describeInBrowser` block, before the suite's
 * own hooks; `ready` receives the rig once it runs (the suite keeps what it uses).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { createApp, type App } from '../../server/app.js';
import { type DatabaseHandle, openPglite } from '../../server/db/client.js';
import { createLog } from '../../server/log.js';
import { builtDashboard, launchBrowser, openPage } from './browser.js';
import { tenant, testVault, type Tenant } from './fixtures.js';

export interface DashboardRig {
  database: DatabaseHandle;
  app: App;
  url: string;
  browser: Browser;
  /** The tenant the suite works in (fixtures.ts), labelled as the suite asked. */
  a: Tenant;
  /** A first page, signed in as nobody yet. */
  page: Page;
  /** Errors the suite's pages logged; each test must leave it empty. */
  pageErrors: string[];
}

/** Signs `page` in at `url` with an API token and waits for the connection list. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
}

export function useDashboardRig(label: string, ready: (rig: DashboardRig) => unknown): void {
  let rig: Partial<DashboardRig> = {};
  const pageErrors: string[] = [];
  beforeAll(async () => {
    const database = await openPglite();
    rig = { database, pageErrors };
    await database.migrate();
    const a = await tenant(database.db, label);
    const app = createApp({ db: database.db, vault: testVault, log: createLog('silent'), dashboardDir: builtDashboard() });
    rig.app = app;
    const url = await app.start(0);
    const browser = await launchBrowser();
    rig.browser = browser;
    const page = await openPage(browser, pageErrors);
    rig = { ...rig, a, url, page };
    await ready(rig as DashboardRig);
  }, 120_000);

  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await rig.browser?.close();
    await rig.app?.stop();
    await rig.database?.close();
  });
}
