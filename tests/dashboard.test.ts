/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the real
 * gateway: createApp on a free port, serving a fresh build of client/, with real tenants, the real
 * graphql-ws subscriptions, and a real OAuth server (oidc-provider) to sign in at.
 *
 * PGlite only: what this suite adds is the browser, the HTTP and WebSocket paths and the client;
 * every resolver and SQL path it touches already runs on both databases in the other suites, and
 * a second run here would double the slowest file in CI for no new coverage.
 */
import { and, eq, ne } from 'drizzle-orm';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { openPglite, type DatabaseHandle } from '../server/db/client.js';
import { connectionEvents, connections, dataSources, notifications, refreshRuns } from '../server/db/schema.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { createLog } from '../server/log.js';
import { builtDashboard, describeInBrowser, launchBrowser, openPage, screenshot } from './support/browser.js';
import { graphqlData } from './support/graphql-http.js';
import { tenant, testVault, type Tenant } from './support/fixtures.js';
import { registerOAuthIntegration, startOAuthServer, type OAuthServer } from './support/oauth-server.js';
import { startStubService, type StubService } from './support/stub-service.js';

/** How long a page may take to show something on this shared 2-core machine (CI included). */
const SOON = { timeout: 10_000 };

// Browser steps are slower than API calls under load: a minute per test, not the default 30 s.
describeInBrowser('the dashboard in a browser', { timeout: 60_000 }, () => {
  let database: DatabaseHandle;
  let app: App;
  let url: string;
  let provider: OAuthServer;
  let stub: StubService;
  let browser: Browser;
  let a: Tenant;
  let owner: Page;
  let member: Page;
  const distDir = builtDashboard();
  const pageErrors: string[] = [];

  const gql = (query: string, variables: Record<string, unknown>, token: string) => graphqlData(url, token, query, variables);

  /** The gateway's dependencies: each start, and each restart on the same address, gets the same. */
  const gatewayDeps = () => ({ db: database.db, vault: testVault, log: createLog('silent'), dashboardDir: distDir });

  /** A shared connection of the owner's, written straight to the database with its creation event. */
  async function insertConnection(name: string, integrationKey: string) {
    const [row] = await database.db
      .insert(connections)
      .values({ accountId: a.account.id, ownerId: a.owner.user.id, integrationKey, status: 'ACTIVE', name, shared: true })
      .returning();
    await database.db.insert(connectionEvents).values({ accountId: a.account.id, connectionId: row.id, toStatus: 'ACTIVE', actorKind: 'USER', actorUserId: a.owner.user.id });
    return { id: row.id, gid: encodeGlobalId('Connection', row.id) };
  }

  /** A partner worker's definitive error report through the gateway at `base`, as a sync job would send it. */
  async function reportError(base: string, connection: string, message: string) {
    const reported = await graphqlData(
      base,
      a.service.token,
      `mutation($id: ID!, $message: String) { reportConnectionError(input: { id: $id, reason: PROVIDER_ERROR, message: $message }) { __typename } }`,
      { id: connection, message },
    );
    expect(reported.reportConnectionError.__typename).toBe('ReportConnectionErrorSuccess');
  }

  /** Runs `work` against a second gateway instance on the same database, started for it alone. */
  async function elsewhere<T>(work: (base: string) => Promise<T>): Promise<T> {
    const other = createApp(gatewayDeps());
    try {
      return await work(await other.start(0));
    } finally {
      await other.stop();
    }
  }

  /** reportError through a second gateway instance. */
  const reportErrorElsewhere = (connection: string, message: string) => elsewhere((base) => reportError(base, connection, message));

  /** The owner connects the stub service with a good API key through a second gateway instance; the new connection's id. */
  const startConnectionElsewhere = (name: string) =>
    elsewhere(async (base) => {
      const started = await graphqlData(
        base,
        a.owner.token,
        `mutation($input: StartConnectionInput!) { startConnection(input: $input) { __typename ... on StartConnectionSuccess { result { connection { id } } } } }`,
        { input: { integration: 'stub-metrics', name, shared: true, credentials: { apiKey: 'sk_dash_good_key' } } },
      );
      expect(started.startConnection.__typename).toBe('StartConnectionSuccess');
      return started.startConnection.result.connection.id as string;
    });

  /** The GraphQL operations a page sends over HTTP from now on (queries go as GET, mutations as POST). */
  function recordOperations(page: Page) {
    const sent: { name: string; variables: Record<string, unknown> }[] = [];
    const listener = (request: Request) => {
      const where = new URL(request.url());
      if (where.pathname !== '/graphql') return;
      const body: { operationName?: string; variables?: Record<string, unknown> } =
        request.method() === 'GET'
          ? { operationName: where.searchParams.get('operationName') ?? undefined, variables: JSON.parse(where.searchParams.get('variables') ?? '{}') }
          : request.postDataJSON();
      sent.push({ name: body.operationName ?? '(unnamed)', variables: body.variables ?? {} });
    };
    page.on('request', listener);
    return {
      names: () => sent.map((operation) => operation.name),
      variablesOf: (name: string) => sent.filter((operation) => operation.name === name).map((operation) => operation.variables),
      stop: () => page.off('request', listener),
    };
  }

  /**
   * Takes the gateway down (the page's socket closes, as in a restart or a dropped network), runs
   * `meanwhile`, then starts it again on the same address and waits for the page to be live again.
   */
  async function whileGatewayDown(page: Page, meanwhile: () => Promise<void>) {
    await app.stop();
    await page.locator('[data-live="reconnecting"]').waitFor(SOON);
    await meanwhile();
    app = createApp(gatewayDeps());
    await app.start(Number(new URL(url).port));
    // graphql-ws retries after a growing, randomized wait (1 s, 2 s, 4 s, … plus up to 3 s).
    await page.locator('[data-live="live"]').waitFor({ timeout: 30_000 });
    // Its attempts while the gateway was down failed, and Chromium logs each: expected here only.
    const unexpected = pageErrors.filter((line) => !/WebSocket connection to '.*' failed/.test(line));
    pageErrors.splice(0, pageErrors.length, ...unexpected);
  }

  async function signIn(page: Page, token: string) {
    await page.goto(url);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connections' }).waitFor();
  }

  /** The header's bell; its accessible name carries the unread count. */
  const bell = (page: Page) => page.getByRole('button', { name: /^Notifications/ });
  const unreadOnServer = async (token: string) => (await gql('{ viewer { unreadNotificationCount } }', {}, token)).viewer.unreadNotificationCount;

  const card = (page: Page, name: string) => page.locator('li.card', { has: page.locator('.card-name', { hasText: name }) });
  const groupKeys = (page: Page) => page.locator('section.group').evaluateAll((groups) => groups.map((group) => group.getAttribute('data-integration')));
  const cardNames = (page: Page, integration: string) =>
    page.locator(`section.group[data-integration="${integration}"] li.card`).evaluateAll((cards) => cards.map((card) => card.querySelector('.card-name')?.textContent ?? '(private)'));

  beforeAll(async () => {
    // The build under test is the current client/ source, built once for the run (global-setup.ts).
    const handle = await openPglite();
    expect(readdirSync(path.join(distDir, 'assets')).some((file) => file.endsWith('.js'))).toBe(true);
    database = handle;
    await database.migrate();
    a = await tenant(database.db, 'dash');
    // A shared GA4 connection of the owner's that sorts first by name while it works.
    await insertConnection('Aardvark GA4', 'google-analytics-4');

    app = createApp(gatewayDeps());
    url = await app.start(0);
    provider = await startOAuthServer(`${url}/oauth/callback`);
    stub = await startStubService();
    stub.validKeys = new Set(['sk_dash_good_key']);
    await registerOAuthIntegration(url, a.admin.token, provider);
    await gql(
      `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename } }`,
      { input: { key: 'stub-metrics', name: 'Stub Metrics', authMethod: 'API_KEY', verifyUrl: `${stub.url}/me`, apiKeyHeader: 'X-Api-Key', description: 'A metrics API that takes an API key' } },
      a.admin.token,
    );
    browser = await launchBrowser();
    owner = await openPage(browser, pageErrors);
    member = await openPage(browser, pageErrors);
  }, 120_000);

  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await stub?.close();
    await provider?.close();
    await app?.stop();
    await database?.close();
  });

  it('refuses a bad token with a clear error, then lists connections by integration, broken first, with the problem and what to do', async () => {
    await owner.goto(url);
    await owner.getByLabel('API token').fill('pb_not-a-real-token-at-all');
    await owner.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => owner.getByRole('alert').textContent(), SOON).toContain('That token was not accepted');
    await screenshot(owner, 'sign-in-rejected');

    await signIn(owner, a.owner.token);
    // The Salesforce group holds the broken connection, so it comes before Google Analytics.
    expect(await groupKeys(owner)).toEqual(['salesforce', 'google-analytics-4']);
    const broken = card(owner, 'dash shared Salesforce');
    expect(await broken.getAttribute('data-status')).toBe('DISCONNECTED');
    const problem = await broken.locator('.problem').textContent();
    expect(problem).toContain('Authorization withdrawn');
    expect(problem).toContain('invalid_grant');
    expect(problem).toContain('The service no longer accepts the authorization');
    expect(problem).toContain('How to fix:');
    // The owner (an admin) sees that members' private connections exist, not their names.
    expect(await cardNames(owner, 'google-analytics-4')).toEqual(['Aardvark GA4', 'dash shared GA4', '(private)', '(private)']);
    // The token is kept for reloads and shown only masked.
    expect(await owner.evaluate(() => localStorage.getItem('patchbay.token'))).toBe(a.owner.token);
    expect(await owner.content()).not.toContain(a.owner.token);
    await expect.poll(() => owner.locator('.token').textContent(), SOON).toBe(`${a.owner.token.slice(0, 5)}…${a.owner.token.slice(-4)}`);
    await owner.reload();
    await owner.getByRole('heading', { name: 'Connections' }).waitFor();
    await screenshot(owner, 'connections');
  });

  it('shows a status change made elsewhere live, without a reload, and moves the broken connection to the top', async () => {
    await owner.locator('[data-live="live"]').waitFor();
    expect(await bell(owner).getAttribute('aria-label')).toBe('Notifications');
    await owner.evaluate(() => Object.assign(window, { sameDocument: true }));
    // A partner worker reports a definitive error through the API, as a sync job would.
    const reported = await gql(
      `mutation($id: ID!) { reportConnectionError(input: { id: $id, reason: PROVIDER_ERROR, message: "API access is not included in your plan" }) { __typename } }`,
      { id: a.connections.shared.gid },
      a.service.token,
    );
    expect(reported.reportConnectionError.__typename).toBe('ReportConnectionErrorSuccess');
    const changed = card(owner, 'dash shared GA4');
    await expect.poll(() => changed.getAttribute('data-status'), SOON).toBe('DISCONNECTED');
    expect(await changed.locator('.badge').textContent()).toBe('Broken');
    expect(await changed.locator('.problem').textContent()).toContain('API access is not included in your plan');
    // Broken first: the connection leads its group, and both groups now hold a broken one.
    expect(await cardNames(owner, 'google-analytics-4')).toEqual(['dash shared GA4', 'Aardvark GA4', '(private)', '(private)']);
    expect(await groupKeys(owner)).toEqual(['google-analytics-4', 'salesforce']);
    // The change wrote the owner a notice: the bell counts it without a reload.
    await expect.poll(() => bell(owner).getAttribute('aria-label'), SOON).toBe('Notifications, 1 unread');
    expect(await bell(owner).locator('.bell-count').textContent()).toBe('1');
    expect(await owner.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await screenshot(owner, 'live-update');
  });

  it('rings the bell when a connection breaks: the notice says what to do, opens the connection and is marked read, and "Mark all read" empties the count without a refetch', async () => {
    const broken = await insertConnection('Bell Box', 'box');
    await owner.evaluate(() => Object.assign(window, { sameDocument: true }));
    await reportError(url, broken.gid, 'The Box account was closed');
    await expect.poll(() => bell(owner).getAttribute('aria-label'), SOON).toBe('Notifications, 2 unread');

    await bell(owner).click();
    const panel = owner.getByRole('dialog', { name: 'Notifications' });
    const notices = panel.locator('li.notification');
    await expect.poll(() => notices.count(), SOON).toBe(2);
    // Focus moves into the panel; newest first, unread ones marked as such.
    expect(await owner.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('dialog');
    expect(await notices.evaluateAll((items) => items.map((item) => item.getAttribute('data-unread')))).toEqual(['true', 'true']);
    const newest = await notices.first().textContent();
    expect(newest).toContain('"Bell Box" (Box) is disconnected');
    expect(newest).toContain('The Box account was closed');
    expect(newest).toContain('The service refused access for a reason of its own');
    expect(newest).toContain('How to fix: Fix the problem in the service (renew the plan, create a new key), then reauthenticate the connection.');
    expect(await notices.nth(1).textContent()).toContain('"dash shared GA4" (Google Analytics 4) is disconnected');
    await screenshot(owner, 'notifications');

    // Escape closes it and gives focus back to the bell; Enter on the bell opens it again.
    await owner.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });
    expect(await owner.evaluate(() => document.activeElement?.getAttribute('aria-haspopup'))).toBe('dialog');
    await owner.keyboard.press('Enter');
    await panel.waitFor();

    // A notice opens its connection's page, where it is reauthenticated, and is read from then on.
    await notices.first().getByRole('link').click();
    await owner.getByRole('heading', { name: /Bell Box/ }).waitFor();
    expect(new URL(owner.url()).pathname).toBe(`/connections/${encodeURIComponent(broken.gid)}`);
    expect(await owner.locator('button[data-action="reauthenticate"]').count()).toBe(1);
    expect(await panel.count()).toBe(0);
    await expect.poll(() => bell(owner).getAttribute('aria-label'), SOON).toBe('Notifications, 1 unread');
    expect(await unreadOnServer(a.owner.token)).toBe(1);

    await bell(owner).click();
    await expect.poll(() => notices.evaluateAll((items) => items.map((item) => item.getAttribute('data-unread'))), SOON).toEqual(['false', 'true']);
    const operations = recordOperations(owner);
    try {
      await panel.getByRole('button', { name: 'Mark all read' }).click();
      await expect.poll(() => bell(owner).getAttribute('aria-label'), SOON).toBe('Notifications');
      expect(await notices.evaluateAll((items) => items.map((item) => item.getAttribute('data-unread')))).toEqual(['false', 'false']);
      expect(await panel.getByRole('button', { name: 'Mark all read' }).getAttribute('aria-disabled')).toBe('true');
      // The cache took the count and the read notices from the mutation: nothing was read again.
      expect(operations.names()).toEqual(['MarkNotificationsRead']);
    } finally {
      operations.stop();
    }
    expect(await unreadOnServer(a.owner.token)).toBe(0);
    expect(await owner.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await owner.keyboard.press('Escape');
    await owner.goto(url);
    await owner.getByRole('heading', { name: 'Connections' }).waitFor();
  });

  it('lists every notice on the notifications page a page at a time, a reauthorization deadline with its date, and marks one read', async () => {
    const yearly = await insertConnection('Yearly LinkedIn', 'linkedin');
    // 11 deadline warnings from over an hour ago (older than the two above), a minute apart, the
    // newest for the latest deadline.
    await database.db.insert(notifications).values(
      Array.from({ length: 11 }, (_, index) => ({
        accountId: a.account.id,
        recipientId: a.owner.user.id,
        connectionId: yearly.id,
        kind: 'REAUTHORIZATION_DUE' as const,
        deadline: new Date(Date.UTC(2031, 0, index + 1)).toISOString(),
        createdAt: new Date(Date.now() - (71 - index) * 60_000).toISOString(),
      })),
    );
    await owner.goto(`${url}/notifications`);
    await owner.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
    const items = owner.getByRole('region', { name: 'Notifications' }).locator('li.notification');
    await expect.poll(() => items.count(), SOON).toBe(10);
    await expect.poll(() => bell(owner).getAttribute('aria-label'), SOON).toBe('Notifications, 11 unread');
    expect(await items.evaluateAll((list) => list.map((item) => item.getAttribute('data-unread')))).toEqual(['false', 'false', ...Array(8).fill('true')]);
    const due = await items.nth(2).textContent();
    expect(due).toContain('"Yearly LinkedIn" (LinkedIn) must be reauthorized by Sat, 11 Jan 2031');
    expect(due).toContain('Sign in again by Jan 11, 2031, 12:00 AM');
    expect(await items.nth(2).getAttribute('data-kind')).toBe('REAUTHORIZATION_DUE');
    await screenshot(owner, 'notifications-page');

    const operations = recordOperations(owner);
    try {
      await owner.getByRole('button', { name: 'Show older notifications' }).click();
      await expect.poll(() => items.count(), SOON).toBe(13);
      expect(await items.last().textContent()).toContain('must be reauthorized by Wed, 01 Jan 2031');
      expect(await owner.getByRole('button', { name: 'Show older notifications' }).count()).toBe(0);
      // One notice marked read on its own: its button goes, focus stays on the notice.
      await items.nth(2).getByRole('button', { name: /^Mark read/ }).click();
      await expect.poll(() => bell(owner).getAttribute('aria-label'), SOON).toBe('Notifications, 10 unread');
      expect(await items.nth(2).getAttribute('data-unread')).toBe('false');
      expect(await owner.evaluate(() => document.activeElement?.textContent)).toContain('"Yearly LinkedIn" (LinkedIn) must be reauthorized by Sat, 11 Jan 2031');
      expect(operations.variablesOf('MarkNotificationsRead')).toEqual([{ input: { ids: [expect.any(String)] } }]);
      expect(operations.names()).toEqual(['Notifications', 'MarkNotificationsRead']);
    } finally {
      operations.stop();
    }
    expect(await unreadOnServer(a.owner.token)).toBe(10);
    await owner.getByRole('button', { name: 'Mark all read' }).click();
    await expect.poll(() => bell(owner).getAttribute('aria-label'), SOON).toBe('Notifications');
    expect(await unreadOnServer(a.owner.token)).toBe(0);
    await owner.goto(url);
    await owner.getByRole('heading', { name: 'Connections' }).waitFor();
  });

  it('shows a connection with its details, data sources and live refresh history, and its event timeline', async () => {
    await card(owner, 'dash shared GA4').locator('.card-name').click();
    await owner.getByRole('heading', { name: /dash shared GA4/ }).waitFor();
    expect(new URL(owner.url()).pathname).toBe(`/connections/${encodeURIComponent(a.connections.shared.gid)}`);
    const sources = owner.getByRole('region', { name: 'Data sources' });
    await sources.locator('.source-name', { hasText: 'Sessions' }).waitFor();
    const run = await sources.locator('table.runs tbody tr').first().textContent();
    expect(run).toContain('Succeeded');
    expect(run).toContain('10');
    const history = owner.getByRole('region', { name: 'History' });
    await expect.poll(() => history.locator('li.event').count(), SOON).toBe(2);
    const [latest, first] = await history.locator('li.event').allTextContents();
    expect(latest).toMatch(/^Active → Broken · Refused by the service/);
    expect(latest).toContain('API access is not included in your plan');
    expect(first).toMatch(/^Created as Active/);
    // A refresh a worker records appears in the history as it happens.
    await owner.evaluate(() => Object.assign(window, { sameDocument: true }));
    const recorded = await gql(
      `mutation($input: RecordRefreshRunInput!) { recordRefreshRun(input: $input) { __typename } }`,
      { input: { dataSourceId: a.dataSource.gid, status: 'SUCCEEDED', startedAt: new Date(Date.now() - 2_000).toISOString(), finishedAt: new Date().toISOString(), rows: 4242 } },
      a.service.token,
    );
    expect(recorded.recordRefreshRun.__typename).toBe('RecordRefreshRunSuccess');
    await expect.poll(() => sources.locator('table.runs tbody tr').first().textContent(), SOON).toContain('4,242');
    expect(await owner.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    // A client route loaded directly is the same page (the gateway answers it with index.html).
    await owner.reload();
    await owner.getByRole('heading', { name: /dash shared GA4/ }).waitFor();
    await screenshot(owner, 'connection');
  });

  it('a data source shows its next refresh in words and a Late badge; Refresh now makes it due, and a worker’s refresh shows its rows live', async () => {
    const connection = await insertConnection('Scheduled GA4', 'google-analytics-4');
    const [source] = await database.db
      .insert(dataSources)
      .values({ accountId: a.account.id, connectionId: connection.id, resourceId: 'properties/late', name: 'Late sessions', schedule: '0 6 * * *', nextRefreshAt: new Date(Date.now() - 3 * 3_600_000).toISOString() })
      .returning();
    const sourceGid = encodeGlobalId('DataSource', source.id);
    // Only this one is due, so the worker below claims nothing another test looks at.
    await database.db.update(dataSources).set({ nextRefreshAt: '2999-01-01T00:00:00Z' }).where(and(eq(dataSources.accountId, a.account.id), ne(dataSources.id, source.id)));
    await owner.goto(`${url}/connections/${encodeURIComponent(connection.gid)}`);
    const item = owner.locator(`li.source[data-data-source="${sourceGid}"]`);
    await item.locator('.source-name', { hasText: 'Late sessions' }).waitFor();
    await expect.poll(() => item.locator('.pill', { hasText: 'Late' }).count(), SOON).toBe(1);
    expect(await item.locator('[data-refresh-schedule]').textContent()).toContain('Next refresh was due 3 hours ago');
    // A worker takes it: the page shows the refresh running and its rows as the worker reports them.
    const claimed = await gql(
      `mutation { claimRefreshes(input: { integrations: ["google-analytics-4"], max: 100 }) { ... on ClaimRefreshesSuccess { claims { refreshRun { id } dataSource { id } } } } }`,
      {},
      a.service.token,
    );
    const run = (claimed.claimRefreshes.claims as { refreshRun: { id: string }; dataSource: { id: string } }[]).find((claim) => claim.dataSource.id === sourceGid)!.refreshRun.id;
    await expect.poll(() => item.locator('[data-running-run]').count(), SOON).toBe(1);
    expect(await item.locator('.pill', { hasText: 'Late' }).count()).toBe(0);
    await gql(`mutation($id: ID!) { updateRefreshRun(input: { id: $id, rows: 1234 }) { __typename } }`, { id: run }, a.service.token);
    await expect.poll(() => item.locator('[data-running-run]').textContent(), SOON).toContain('1,234 rows so far');
    await gql(`mutation($id: ID!) { updateRefreshRun(input: { id: $id, status: SUCCEEDED, rows: 2000 }) { __typename } }`, { id: run }, a.service.token);
    await expect.poll(() => item.locator('[data-refresh-schedule]').textContent(), SOON).toMatch(/Next refresh in \d+ (minutes?|hours?)/);
    expect(await item.locator('table.runs tbody tr').first().textContent()).toContain('2,000');
    // Refresh now: due at once, answered in place.
    await item.getByRole('button', { name: 'Refresh now' }).click();
    await expect.poll(() => item.locator('[data-refresh-schedule]').textContent(), SOON).toContain('Next refresh due now');
    expect(await item.locator('[data-refresh-schedule]').textContent()).toContain('Refresh requested');
    await screenshot(owner, 'refresh-schedule');
    // A member may use the shared connection but not refresh its data sources: no button to refuse.
    const reader = await openPage(browser, pageErrors);
    try {
      await signIn(reader, a.member.token);
      await reader.goto(`${url}/connections/${encodeURIComponent(connection.gid)}`);
      const seen = reader.locator(`li.source[data-data-source="${sourceGid}"]`);
      await seen.locator('[data-refresh-schedule]').waitFor();
      expect(await seen.locator('[data-action="refresh-now"]').count()).toBe(0);
    } finally {
      await reader.context().close();
    }
  });

  it('shows older refreshes and older history a page at a time, reading only the next page', async () => {
    const accountId = a.account.id;
    const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
    const [row] = await database.db
      .insert(connections)
      .values({ accountId, ownerId: a.owner.user.id, integrationKey: 'box', status: 'ACTIVE', name: 'Long history Box', shared: true })
      .returning();
    // 25 status changes a minute apart (two pages of history), the first its creation.
    await database.db.insert(connectionEvents).values(
      Array.from({ length: 25 }, (_, index) => ({
        accountId,
        connectionId: row.id,
        fromStatus: index === 0 ? null : index % 2 === 1 ? ('ACTIVE' as const) : ('DISCONNECTED' as const),
        toStatus: index % 2 === 1 ? ('DISCONNECTED' as const) : ('ACTIVE' as const),
        reason: index % 2 === 1 ? ('PROVIDER_ERROR' as const) : null,
        message: `Change ${index}`,
        actorKind: 'SYSTEM' as const,
        createdAt: minutesAgo(60 - index),
      })),
    );
    // 7 refreshes (two pages), the newest with the most rows.
    const [source] = await database.db
      .insert(dataSources)
      .values({ accountId, connectionId: row.id, resourceId: 'folders/1', name: 'Shared folder', schedule: '0 * * * *' })
      .returning();
    await database.db.insert(refreshRuns).values(
      Array.from({ length: 7 }, (_, index) => ({
        accountId,
        dataSourceId: source.id,
        status: 'SUCCEEDED' as const,
        startedAt: minutesAgo(60 - index),
        finishedAt: minutesAgo(59 - index),
        rows: index + 1,
      })),
    );

    await owner.goto(`${url}/connections/${encodeURIComponent(encodeGlobalId('Connection', row.id))}`);
    const history = owner.getByRole('region', { name: 'History' });
    const events = history.locator('li.event');
    const sources = owner.getByRole('region', { name: 'Data sources' });
    const runs = sources.locator('table.runs tbody tr');
    await expect.poll(() => events.count(), SOON).toBe(20);
    expect(await events.first().textContent()).toContain('Change 24');
    expect(await history.textContent()).toContain('5 older changes not shown');
    expect(await runs.count()).toBe(5);
    expect(await sources.textContent()).toContain('2 older refreshes not shown');
    await screenshot(owner, 'load-more');
    const operations = recordOperations(owner);
    try {
      await history.getByRole('button', { name: 'Show older changes' }).click();
      await expect.poll(() => events.count(), SOON).toBe(25);
      expect(await events.nth(20).textContent()).toContain('Change 4');
      expect(await events.last().textContent()).toMatch(/^Created as Active/);
      expect(await history.getByRole('button', { name: 'Show older changes' }).count()).toBe(0);

      await sources.getByRole('button', { name: 'Show older refreshes' }).click();
      await expect.poll(() => runs.count(), SOON).toBe(7);
      expect(await runs.locator('td.numeric').allTextContents()).toEqual(['7', '6', '5', '4', '3', '2', '1']);
      expect(await sources.getByRole('button', { name: 'Show older refreshes' }).count()).toBe(0);
      // Each button read its next page alone; the connection was not read again.
      expect(operations.names()).toEqual(['MoreConnectionEvents', 'MoreRefreshRuns']);
    } finally {
      operations.stop();
    }
  });

  it('catches up after the live channel was down: changes made meanwhile show without a reload, and only the changed connections are read again', async () => {
    const missedFirst = await insertConnection('Offline HubSpot 1', 'hubspot');
    const seenLive = await insertConnection('Live HubSpot', 'hubspot');
    const missedSecond = await insertConnection('Offline HubSpot 2', 'hubspot');
    // On its first connect the page takes where the event feed ends as its position.
    const positioned = owner.waitForResponse((response) => new URL(response.url()).searchParams.get('operationName') === 'LatestConnectionEvent');
    await owner.goto(url);
    await card(owner, 'Offline HubSpot 2').waitFor();
    await positioned;
    await owner.locator('[data-live="live"]').waitFor(SOON);
    await owner.evaluate(() => Object.assign(window, { sameDocument: true }));
    const operations = recordOperations(owner);
    try {
      // Down: another gateway instance on the same database takes a partner's error report.
      await whileGatewayDown(owner, () => reportErrorElsewhere(missedFirst.gid, 'The portal was deleted'));
      const first = card(owner, 'Offline HubSpot 1');
      await expect.poll(() => first.getAttribute('data-status'), SOON).toBe('DISCONNECTED');
      expect(await first.locator('.problem').textContent()).toContain('The portal was deleted');
      // It read the events after its position, then that one connection (never the whole list),
      // then the bell's count (the connection that broke meanwhile wrote the owner a notice) and
      // the status tiles' counts, in either order.
      await expect.poll(() => operations.variablesOf('ConnectionsById'), SOON).toEqual([{ ids: [missedFirst.gid] }]);
      await expect.poll(() => operations.names(), SOON).toHaveLength(4);
      expect(operations.names().slice(0, 2)).toEqual(['MissedConnectionEvents', 'ConnectionsById']);
      expect(operations.names().slice(2).sort()).toEqual(['ConnectionCounts', 'UnreadNotificationCount']);
      await expect.poll(() => bell(owner).getAttribute('aria-label'), SOON).toBe('Notifications, 1 unread');

      // A change that arrives live moves the position: the next catch-up starts after it.
      await reportError(url, seenLive.gid, 'Seen as it happened');
      await expect.poll(() => card(owner, 'Live HubSpot').getAttribute('data-status'), SOON).toBe('DISCONNECTED');
      await whileGatewayDown(owner, () => reportErrorElsewhere(missedSecond.gid, 'Missed while down'));
      await expect.poll(() => card(owner, 'Offline HubSpot 2').getAttribute('data-status'), SOON).toBe('DISCONNECTED');
      await expect.poll(() => operations.variablesOf('ConnectionsById'), SOON).toHaveLength(2);
      expect(operations.variablesOf('ConnectionsById')[1]).toEqual({ ids: [missedSecond.gid] });
      expect(operations.names()).not.toContain('Connections');
      expect(await owner.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
      await screenshot(owner, 'caught-up');
    } finally {
      operations.stop();
    }
  });

  it('shows a connection created elsewhere while the live channel was down, without a reload, and reads the list again for it', async () => {
    const positioned = owner.waitForResponse((response) => new URL(response.url()).searchParams.get('operationName') === 'LatestConnectionEvent');
    await owner.goto(url);
    await card(owner, 'Aardvark GA4').waitFor();
    await positioned;
    await owner.locator('[data-live="live"]').waitFor(SOON);
    await owner.evaluate(() => Object.assign(window, { sameDocument: true }));
    const operations = recordOperations(owner);
    try {
      let created = '';
      await whileGatewayDown(owner, async () => {
        created = await startConnectionElsewhere('Offline Metrics');
      });
      const made = card(owner, 'Offline Metrics');
      await made.waitFor(SOON);
      expect(await made.getAttribute('data-connection')).toBe(created);
      expect(await made.getAttribute('data-status')).toBe('ACTIVE');
      expect(await groupKeys(owner)).toContain('stub-metrics');
      // It caught up from its position (no full refetch), read the one connection the feed named,
      // and, as the list did not hold it, read the list once.
      expect(operations.variablesOf('ConnectionsById')).toEqual([{ ids: [created] }]);
      expect(operations.names().filter((name) => name === 'Connections')).toHaveLength(1);
      expect(operations.names()).not.toContain('LatestConnectionEvent');
      expect(await owner.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    } finally {
      operations.stop();
    }
  });

  it('reads the whole list again when more than 200 status changes were missed', async () => {
    const busy = await insertConnection('Flapping HubSpot', 'hubspot');
    await owner.goto(url);
    await card(owner, 'Flapping HubSpot').waitFor();
    await owner.locator('[data-live="live"]').waitFor(SOON);
    const operations = recordOperations(owner);
    try {
      await whileGatewayDown(owner, async () => {
        // 201 changes, ending REVOKED, written as a burst the page never heard of.
        const statuses = Array.from({ length: 201 }, (_, index) => (index % 2 === 0 ? 'DISCONNECTED' : 'ACTIVE') as 'DISCONNECTED' | 'ACTIVE' | 'REVOKED');
        statuses[200] = 'REVOKED';
        await database.db.insert(connectionEvents).values(
          statuses.map((toStatus, index) => ({ accountId: a.account.id, connectionId: busy.id, fromStatus: index === 0 ? 'ACTIVE' : statuses[index - 1], toStatus, actorKind: 'SYSTEM' as const })),
        );
        await database.db.update(connections).set({ status: 'REVOKED' }).where(eq(connections.id, busy.id));
      });
      await expect.poll(() => card(owner, 'Flapping HubSpot').getAttribute('data-status'), SOON).toBe('REVOKED');
      // Two pages of 100 and more to come: it stopped reading and asked for the list instead.
      expect(operations.names().filter((name) => name === 'MissedConnectionEvents')).toHaveLength(2);
      expect(operations.names()).toContain('Connections');
      expect(operations.names()).not.toContain('ConnectionsById');
    } finally {
      operations.stop();
    }
  });

  it('connects through OAuth: catalog search, sign-in at the service, and back to the dashboard with the connection active', async () => {
    await owner.goto(`${url}/connect`);
    await owner.getByPlaceholder('Search by name or description…').fill('oidc');
    await expect.poll(() => owner.locator('a.catalog-item').evaluateAll((items) => items.map((item) => item.getAttribute('data-integration'))), SOON).toEqual(['test-oidc']);
    await screenshot(owner, 'catalog');
    await owner.locator('a.catalog-item[data-integration="test-oidc"]').click();
    await owner.getByLabel('Connection name').fill('My OIDC');
    await owner.getByRole('button', { name: 'Continue to Test OIDC' }).click();
    // At the service: its own login and consent pages.
    await owner.waitForURL((where) => where.origin === provider.issuer);
    for (let step = 0; step < 5 && new URL(owner.url()).origin === provider.issuer; step++) {
      const login = owner.locator('input[name="login"]');
      if (await login.count()) {
        await login.fill('pam');
        await owner.locator('input[name="password"]').fill('any');
      }
      await Promise.all([owner.waitForNavigation(), owner.locator('button[type="submit"]').first().click()]);
    }
    await owner.waitForURL((where) => where.origin === url && where.pathname === '/');
    const returned = owner.getByTestId('returned');
    await expect.poll(() => returned.textContent(), SOON).toContain('“My OIDC” is connected and active.');
    expect(await card(owner, 'My OIDC').getAttribute('data-status')).toBe('ACTIVE');
    // The callback's parameters are consumed and removed from the address bar.
    expect(new URL(owner.url()).search).toBe('');
    await screenshot(owner, 'oauth-returned');
  });

  it('connects with an API key: a rejection shows why and what to do and stores nothing; a good key opens the new connection', async () => {
    await signIn(member, a.member.token);
    const before = (await gql('{ connections(first: 100) { totalCount } }', {}, a.member.token)).connections.totalCount;
    await member.goto(`${url}/connect/stub-metrics`);
    await member.getByLabel('Connection name').fill('Metrics (key)');
    await member.getByLabel('API key').fill('sk_dash_wrong_key');
    await member.getByRole('button', { name: 'Test and connect' }).click();
    const alert = member.getByRole('alert');
    await expect.poll(() => alert.textContent(), SOON).toContain('The service rejected these credentials');
    const text = await alert.textContent();
    expect(text).toContain('the user name, password, API key or client secret is wrong');
    expect(text).toContain('What to do:');
    expect(text).toContain('Nothing was stored.');
    expect(text).not.toContain('sk_dash_wrong_key');
    expect((await gql('{ connections(first: 100) { totalCount } }', {}, a.member.token)).connections.totalCount).toBe(before);
    await screenshot(member, 'credentials-rejected');

    await member.getByLabel('API key').fill('sk_dash_good_key');
    await member.getByRole('button', { name: 'Test and connect' }).click();
    await member.getByRole('heading', { name: /Metrics \(key\)/ }).waitFor();
    expect(await member.locator('h1 .badge').getAttribute('data-status')).toBe('ACTIVE');
    expect(await member.content()).not.toContain('sk_dash_good_key');
  });

  it('shows only the actions viewerCan allows: a member cannot revoke, rename or delete a shared connection someone else owns', async () => {
    await member.goto(url);
    await member.getByRole('heading', { name: 'Connections' }).waitFor();
    /** A card's actions: its buttons, and the items of its More menu (opened, read and closed). */
    const actionsOf = async (page: Page, name: string) => {
      const item = card(page, name);
      const buttons = await item.locator('.actions > button, .actions .menu-button').evaluateAll((found) => found.map((button) => button.getAttribute('data-action')));
      if (!buttons.includes('more')) return { buttons, menu: [] };
      await item.locator('.menu-button').click();
      const menu = await item.locator('[role="menuitem"]').evaluateAll((found) => found.map((entry) => entry.getAttribute('data-action')));
      await page.keyboard.press('Escape');
      return { buttons, menu };
    };
    // The owner's shared connection: usable, not manageable.
    await expect.poll(() => actionsOf(member, 'Aardvark GA4'), SOON).toEqual({ buttons: ['test'], menu: [] });
    // Their own private connection feeds a data source: everything but delete; Test in view, the rest in the menu.
    expect(await actionsOf(member, 'dash member private')).toEqual({ buttons: ['test', 'more'], menu: ['reauthenticate', 'rename', 'share', 'revoke'] });
    // Their own broken, unused connection: everything, the repair first.
    expect(await actionsOf(member, 'dash shared Salesforce')).toEqual({ buttons: ['reauthenticate', 'test', 'more'], menu: ['rename', 'share', 'revoke', 'delete'] });
    // The owner manages the shared connection, including revoking it.
    expect((await actionsOf(owner, 'Aardvark GA4')).menu).toContain('revoke');
    await screenshot(member, 'member-view');

    const own = card(member, 'dash member private');
    await own.locator('.menu-button').click();
    await own.locator('[role="menuitem"][data-action="rename"]').click();
    await own.getByLabel('New name').fill('Jim’s GA4 property');
    await own.getByRole('button', { name: 'Save' }).click();
    await card(member, 'Jim’s GA4 property').locator('.notice').getByText('Renamed.').waitFor();
    const renamed = await gql('query($id: ID!) { connection(id: $id) { name } }', { id: a.connections.memberPrivate.gid }, a.member.token);
    expect(renamed.connection.name).toBe('Jim’s GA4 property');

    const unused = card(member, 'dash shared Salesforce');
    await unused.locator('.menu-button').click();
    await unused.locator('[role="menuitem"][data-action="delete"]').click();
    await unused.locator('button[data-action="confirm-delete"]').click();
    await expect.poll(() => card(member, 'dash shared Salesforce').count(), SOON).toBe(0);
    expect((await gql('query($id: ID!) { node(id: $id) { id } }', { id: a.connections.sharedSalesforce.gid }, a.member.token)).node).toBeNull();
  });

  it('signs out on request, and on its own when the token is revoked while the dashboard is open', async () => {
    const created = await gql('mutation { createApiToken(input: { name: "dashboard" }) { ... on CreateApiTokenSuccess { payload { token apiToken { id } } } } }', {}, a.member2.token);
    const { token, apiToken } = created.createApiToken.payload;
    const page = await openPage(browser, pageErrors);
    try {
      await signIn(page, token);
      await gql('mutation($id: ID!) { revokeApiToken(input: { id: $id }) { __typename } }', { id: apiToken.id }, a.member2.token);
      // The open dashboard may notice first (a request or its socket refused) or only on reload:
      // either way the explanation is shown, and it survives a further reload.
      await page.reload();
      await expect.poll(() => page.getByRole('alert').textContent(), SOON).toContain('You were signed out');
      expect(await page.evaluate(() => localStorage.getItem('patchbay.token'))).toBeNull();
      await page.reload();
      await expect.poll(() => page.getByRole('alert').textContent(), SOON).toContain('You were signed out');
      // Signing in again clears it.
      await signIn(page, a.member2.token);
      expect(await page.evaluate(() => sessionStorage.getItem('patchbay.signedOutBecause'))).toBeNull();
    } finally {
      await page.context().close();
    }

    await member.getByRole('button', { name: 'Sign out' }).click();
    await member.getByLabel('API token').waitFor();
    expect(await member.evaluate(() => localStorage.getItem('patchbay.token'))).toBeNull();
  });
});
