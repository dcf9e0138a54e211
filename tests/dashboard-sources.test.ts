/**
 * Data sources on the connection page, in a real browser (Debian's Chromium through
 * playwright-core) against the real gateway: schedules in words (the cron kept in a tooltip), Edit
 * with a live preview of the schedule and the gateway's typed error in place, Move to another
 * connection of the same integration, Delete after a confirmation naming the data source, and a
 * connection's Delete that says what blocks it until its data sources are gone. What the page did
 * is checked through the API.
 *
 * PGlite only, as tests/dashboard.test.ts: the resolvers and SQL it touches run on both databases
 * in the other suites.
 */
import type { Browser, Page, Request } from 'playwright-core';
import { expect, it } from 'vitest';
import type { DatabaseHandle } from '../server/db/client.js';
import { connections, dataSources } from '../server/db/schema.js';
import { encodeGlobalId } from '../server/domain/global-ids.js';
import { describeInBrowser, openPage, screenshot, seriousAxeViolations } from './support/browser.js';
import { signIn, useDashboardRig } from './support/dashboard-rig.js';
import { graphqlData } from './support/graphql-http.js';
import type { Tenant } from './support/fixtures.js';

const SOON = { timeout: 10_000 };

describeInBrowser('data sources on the connection page', { timeout: 60_000 }, () => {
  let database: DatabaseHandle;
  let url: string;
  let browser: Browser;
  let pageErrors: string[];
  let a: Tenant;
  let owner: Page;
  let target: { id: string; gid: string };
  let other: { id: string; gid: string };
  useDashboardRig('sources', async (rig) => {
    ({ database, url, browser, pageErrors, a, page: owner } = rig);
    target = await insertConnection('sources second GA4', 'google-analytics-4');
    other = await insertConnection('sources HubSpot', 'hubspot');
    await signIn(owner, url, a.owner.token);
  });

  const gql = (query: string, variables: Record<string, unknown>, token: string) => graphqlData(url, token, query, variables);
  const sourceNow = async () =>
    (await gql('query($id: ID!) { node(id: $id) { ... on DataSource { name schedule filter connection { id } } } }', { id: a.dataSource.gid }, a.owner.token)).node as {
      name: string;
      schedule: string;
      filter: Record<string, unknown> | null;
      connection: { id: string };
    } | null;

  /** A shared connection of the owner's, written straight to the database. */
  async function insertConnection(name: string, integrationKey: string) {
    const [row] = await database.db
      .insert(connections)
      .values({ accountId: a.account.id, ownerId: a.owner.user.id, integrationKey, status: 'ACTIVE', name, shared: true })
      .returning();
    return { id: row.id, gid: encodeGlobalId('Connection', row.id) };
  }

  /** The mutations a page sends over HTTP from now on, by operation name. */
  function recordMutations(page: Page) {
    const sent: string[] = [];
    const listener = (request: Request) => {
      if (new URL(request.url()).pathname !== '/graphql' || request.method() !== 'POST') return;
      sent.push((request.postDataJSON() as { operationName?: string }).operationName ?? '(unnamed)');
    };
    page.on('request', listener);
    return { names: () => [...sent], stop: () => page.off('request', listener) };
  }

  const focused = (page: Page) =>
    page.evaluate(() => {
      const element = document.activeElement as HTMLElement | null;
      return { tag: element?.tagName.toLowerCase(), id: element?.id ?? '', action: element?.getAttribute('data-action') ?? null };
    });


  const item = (page: Page) => page.locator(`li.source[data-data-source="${a.dataSource.gid}"]`);

  it('shows the schedule in words with the cron in its tooltip, and says what blocks the connection’s Delete, with a jump to its data sources', async () => {
    await owner.goto(`${url}/connections/${encodeURIComponent(a.connections.shared.gid)}`);
    await item(owner).locator('.source-name', { hasText: 'Sessions' }).waitFor();
    const schedule = item(owner).locator('[data-schedule]');
    expect(await schedule.textContent()).toBe('At 06:00 (UTC)');
    expect(await schedule.getAttribute('title')).toBe('cron: 0 6 * * * (UTC)');

    const actions = owner.locator('.panel .actions-block').first();
    await actions.locator('.actions').waitFor();
    expect(await actions.locator('[data-action="delete"]').count()).toBe(0);
    const blocked = actions.locator('[data-delete-blocked]');
    expect(await blocked.textContent()).toContain('Delete is unavailable: 1 data source reads through it. Move or delete it first.');
    // The note and its link pass axe-core (checked while in view: axe leaves colours off-screen undecided).
    expect(await seriousAxeViolations(owner)).toEqual([]);
    await blocked.locator('[data-action="jump-to-data-sources"]').click();
    await expect.poll(() => focused(owner), SOON).toMatchObject({ tag: 'section', id: 'data-sources' });
  });

  it('edits the schedule with the words shown as one types; a bad cron shows the gateway’s VALIDATION error in place and changes nothing; Escape cancels', async () => {
    const source = item(owner);
    await source.locator('[data-action="edit-data-source"]').click();
    await expect.poll(() => focused(owner), SOON).toMatchObject({ tag: 'input' });
    const cron = source.getByLabel('Schedule (cron, UTC)');
    const preview = source.locator('[data-schedule-preview]');
    expect(await preview.textContent()).toBe('At 06:00 (UTC)');
    // The form passes axe-core (no serious or critical violation).
    await source.scrollIntoViewIfNeeded();
    expect(await seriousAxeViolations(owner)).toEqual([]);
    await cron.fill('*/15 * * * *');
    await expect.poll(() => preview.textContent(), SOON).toBe('Every 15 minutes (UTC)');
    await source.getByLabel('Name').fill('Sessions every quarter hour');
    await source.locator('[data-action="save-data-source"]').click();
    await source.locator('.notice').getByText('Saved.').waitFor(SOON);
    expect(await sourceNow()).toMatchObject({ name: 'Sessions every quarter hour', schedule: '*/15 * * * *', filter: null });
    await expect.poll(() => source.locator('[data-schedule]').textContent(), SOON).toBe('Every 15 minutes (UTC)');
    expect(await source.locator('.source-name').textContent()).toBe('Sessions every quarter hour');

    // A minute of 61: the page cannot read it, the gateway refuses it, nothing changes.
    await source.locator('[data-action="edit-data-source"]').click();
    await cron.fill('61 6 * * *');
    await expect.poll(() => preview.textContent(), SOON).toContain('Not a schedule this page can read');
    await source.locator('[data-action="save-data-source"]').click();
    const refused = source.locator('.notice[role="alert"]');
    await refused.waitFor(SOON);
    expect(await refused.textContent()).toContain('schedule is not a valid cron expression');
    expect(await refused.textContent()).toContain('VALIDATION');
    expect(await sourceNow()).toMatchObject({ schedule: '*/15 * * * *' });

    // A filter that is not a JSON object is caught before anything is sent.
    const mutations = recordMutations(owner);
    await source.getByLabel(/^Filter/).fill('{"country": ');
    await source.locator('[data-action="save-data-source"]').click();
    await source.locator('.notice', { hasText: 'The filter is not valid JSON' }).waitFor(SOON);
    await source.getByLabel(/^Filter/).fill('["FR"]');
    await source.locator('[data-action="save-data-source"]').click();
    await source.locator('.notice', { hasText: 'The filter must be a JSON object' }).waitFor(SOON);
    mutations.stop();
    expect(mutations.names()).toEqual([]);
    expect(await sourceNow()).toMatchObject({ schedule: '*/15 * * * *', filter: null });

    // Escape closes the form and gives the focus back to Edit.
    await source.getByLabel('Name').focus();
    await owner.keyboard.press('Escape');
    await expect.poll(() => source.locator('form').count(), SOON).toBe(0);
    await expect.poll(() => focused(owner), SOON).toMatchObject({ action: 'edit-data-source' });
    await screenshot(owner, 'data-source-edited');
  });

  it('moves the data source to another connection of the same integration; the first connection’s Delete is then available, and the other’s page, opened in the app, shows it', async () => {
    const card = (name: string) => owner.locator('li.card', { has: owner.locator('.card-name', { hasText: name }) });
    /** A connection's page, reached inside the app (no reload). */
    const open = async (name: string) => {
      await owner.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link', { name: 'Connections' }).click();
      await card(name).locator('.card-name').click();
      await owner.getByRole('heading', { name: new RegExp(name) }).waitFor();
    };
    const openTarget = () => open('sources second GA4');
    await openTarget();
    await owner.getByRole('region', { name: 'Data sources' }).getByText('No data source reads through this connection yet.').waitFor(SOON);
    await open('sources shared GA4');
    const source = item(owner);
    await source.locator('[data-action="move-data-source"]').click();
    const select = source.getByLabel('Move Sessions every quarter hour to');
    await select.waitFor(SOON);
    const options = await select.locator('option').allTextContents();
    // Only the other GA4 connection: not this one, not another integration's.
    expect(options).toEqual(['Choose a connection', 'sources second GA4 (Active)']);
    expect(options.join()).not.toContain('sources HubSpot');
    await select.selectOption(target.gid);
    await source.locator('[data-action="confirm-move"]').click();
    await expect.poll(() => item(owner).count(), SOON).toBe(0);
    expect((await sourceNow())?.connection.id).toBe(target.gid);

    const actions = owner.locator('.panel .actions-block').first();
    await actions.locator('[data-action="delete"]').waitFor(SOON);
    expect(await actions.locator('[data-delete-blocked]').count()).toBe(0);

    // The other connection's page, read before the move, shows the data source and no Delete (the client reads pages cache-and-network, so this holds with or without cache.ts's updater).
    await openTarget();
    await item(owner).locator('.source-name', { hasText: 'Sessions every quarter hour' }).waitFor(SOON);
    await owner.locator('[data-delete-blocked]').waitFor(SOON);
    expect(await owner.locator('.panel .actions-block').first().locator('[data-action="delete"]').count()).toBe(0);
  });

  it('deletes the data source after a confirmation naming it; its connection’s Delete is then available', async () => {
    await owner.goto(`${url}/connections/${encodeURIComponent(target.gid)}`);
    const source = item(owner);
    await source.locator('.source-name', { hasText: 'Sessions every quarter hour' }).waitFor();
    const actions = owner.locator('.panel .actions-block').first();
    expect(await actions.locator('[data-delete-blocked]').textContent()).toContain('1 data source reads through it');
    await source.locator('[data-action="delete-data-source"]').click();
    const confirm = source.getByRole('group', { name: 'Confirm deleting Sessions every quarter hour' });
    expect(await confirm.textContent()).toContain('Delete the data source “Sessions every quarter hour”');
    // Cancel first: nothing is deleted.
    await owner.keyboard.press('Escape');
    await expect.poll(() => confirm.count(), SOON).toBe(0);
    expect(await sourceNow()).not.toBeNull();
    await source.locator('[data-action="delete-data-source"]').click();
    await source.locator('[data-action="confirm-delete-data-source"]').click();
    await expect.poll(() => item(owner).count(), SOON).toBe(0);
    expect(await sourceNow()).toBeNull();
    await actions.locator('[data-action="delete"]').waitFor(SOON);
    expect(await actions.locator('[data-delete-blocked]').count()).toBe(0);
  });

  it('offers no data-source action and no blocked-delete note to a member who may not change them', async () => {
    // The owner's shared GA4 connection feeds a data source again: the member may read it, not change it.
    await database.db
      .insert(dataSources)
      .values({ accountId: a.account.id, connectionId: a.connections.shared.id, resourceId: 'properties/9', name: 'Read only sessions', schedule: '30 7 * * 1' });
    const member = await openPage(browser, pageErrors);
    try {
      await signIn(member, url, a.member.token);
      await member.goto(`${url}/connections/${encodeURIComponent(a.connections.shared.gid)}`);
      const sources = member.getByRole('region', { name: 'Data sources' });
      await sources.locator('.source-name', { hasText: 'Read only sessions' }).waitFor();
      expect(await sources.locator('[data-schedule]').textContent()).toBe('At 07:30, only on Monday (UTC)');
      expect(await member.locator('[data-action="edit-data-source"], [data-action="move-data-source"], [data-action="delete-data-source"]').count()).toBe(0);
      expect(await member.locator('[data-delete-blocked]').count()).toBe(0);
    } finally {
      await member.context().close();
    }
  });
});
