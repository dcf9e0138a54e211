/**
 * The audit trail in a real browser (Debian's Chromium through playwright-core) against the real
 * gateway: the connection page's history says who changed what, the audit page's filters live in
 * the address, and an admin deleting another member's private connection is told whose it is.
 *
 * PGlite only, as tests/dashboard.test.ts: the resolvers and SQL it touches run on both databases
 * in tests/audit.test.ts.
 */
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeInBrowser, screenshot, seriousAxeViolations } from './support/browser.js';
import { signIn as signInAt, useDashboardRig } from './support/dashboard-rig.js';
import { graphqlData } from './support/graphql-http.js';
import type { Tenant } from './support/fixtures.js';

const SOON = { timeout: 10_000 };

describeInBrowser('the audit trail in a browser', { timeout: 60_000 }, () => {
  let url: string;
  let a: Tenant;
  let page: Page;
  useDashboardRig('audit-ui', (rig) => ({ url, a, page } = rig));

  const rename = (token: string, id: string, name: string) =>
    graphqlData(url, token, `mutation($input: UpdateConnectionInput!) { updateConnection(input: $input) { __typename } }`, { input: { id, name } });

  async function signIn(token: string) {
    await page.context().clearCookies();
    await page.goto(url);
    await page.evaluate(() => {
      localStorage.clear();
      sessionStorage.clear();
    });
    await signInAt(page, url, token);
  }


  it('the connection page’s history says who renamed it, from what to what', async () => {
    const renamed = (await rename(a.member.token, a.connections.memberPrivate.gid, 'Pam’s GA4')).updateConnection;
    expect(renamed.__typename).toBe('UpdateConnectionSuccess');
    await signIn(a.member.token);
    await page.goto(`${url}/connections/${encodeURIComponent(a.connections.memberPrivate.gid)}`);
    const history = page.getByRole('region', { name: 'History' });
    const latest = history.locator('li.event').first();
    await latest.waitFor(SOON);
    expect((await latest.textContent())?.replace(/\s+/g, ' ')).toContain('member renamed it from “audit-ui member private” to “Pam’s GA4”');
    await screenshot(page, 'audit-history-rename');
  });

  it('an admin reaches the audit page from the header; its filters live in the address and narrow the list; axe finds nothing serious', async () => {
    await rename(a.owner.token, a.connections.shared.gid, 'Team GA4');
    await signIn(a.admin.token);
    await page.getByRole('link', { name: 'Audit trail' }).click();
    await page.getByRole('heading', { name: 'Audit trail', level: 1 }).waitFor(SOON);
    const items = page.locator('li.audit-item');
    await items.first().waitFor(SOON);
    // Another member's private connection: the admin learns that it was renamed, not its names.
    const privateRename = items.filter({ hasText: 'renamed a private connection' });
    await privateRename.first().waitFor(SOON);
    expect(await privateRename.first().textContent()).not.toContain('Pam’s GA4');

    await page.getByLabel('Change', { exact: true }).selectOption('RENAMED');
    await expect.poll(() => new URL(page.url()).searchParams.get('kind'), SOON).toBe('RENAMED');
    await expect.poll(async () => new Set(await items.evaluateAll((els) => els.map((el) => el.getAttribute('data-kind')))), SOON).toEqual(new Set(['RENAMED']));
    await expect.poll(() => items.count(), SOON).toBe(2);

    await page.getByLabel('Person').selectOption({ label: 'audit-ui Owner' });
    await expect.poll(() => items.count(), SOON).toBe(1);
    expect((await items.first().textContent())?.replace(/\s+/g, ' ')).toContain('audit-ui Owner renamed “Team GA4” from “audit-ui shared GA4” to “Team GA4”');
    const params = Object.fromEntries(new URL(page.url()).searchParams);
    expect(params).toEqual({ kind: 'RENAMED', actor: a.owner.id });

    // The address alone restores the view.
    await page.reload();
    await page.getByRole('heading', { name: 'Audit trail', level: 1 }).waitFor(SOON);
    await expect.poll(() => items.count(), SOON).toBe(1);
    expect(await page.getByLabel('Change', { exact: true }).inputValue()).toBe('RENAMED');
    expect({ violations: await seriousAxeViolations(page) }).toEqual({ violations: [] });
    await screenshot(page, 'audit-page-filtered');

    // A member has no header link.
    await signIn(a.member.token);
    expect(await page.getByRole('link', { name: 'Audit trail' }).count()).toBe(0);
  });

  it('an admin deleting another member’s private connection confirms with the owner named, and the deletion stays in the audit trail', async () => {
    await signIn(a.admin.token);
    await page.goto(`${url}/connections/${encodeURIComponent(a.connections.member2Private.gid)}`);
    const actions = page.locator('.panel .actions-block').first();
    await actions.locator('[data-action="delete"]').waitFor(SOON);
    // Sharing a private connection is its owner's alone.
    expect(await actions.locator('[data-action="share"]').count()).toBe(0);
    await actions.locator('[data-action="delete"]').click();
    const confirm = page.getByRole('group', { name: 'Confirm deleting' });
    await confirm.waitFor(SOON);
    expect(await confirm.textContent()).toContain('Delete member2’s connection?');
    expect({ violations: await seriousAxeViolations(page) }).toEqual({ violations: [] });
    await screenshot(page, 'audit-admin-delete-confirmation');
    await confirm.locator('[data-action="confirm-delete"]').click();
    await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor(SOON);

    await page.goto(`${url}/audit?kind=DELETED`);
    const deleted = page.locator('li.audit-item');
    await expect.poll(() => deleted.count(), SOON).toBe(1);
    expect((await deleted.first().textContent())?.replace(/\s+/g, ' ')).toContain('admin deleted a private connection (deleted)');
  });

  it('a reconnect link sent and withdrawn by an admin is in the audit trail, named as such', async () => {
    const created = await graphqlData(url, a.admin.token, `mutation($id: ID!) { createReconnectLink(input: { connectionId: $id }) { ... on CreateReconnectLinkSuccess { result { link { id } } } } }`, {
      id: a.connections.shared.gid,
    });
    await graphqlData(url, a.admin.token, `mutation($id: ID!) { revokeReconnectLink(input: { id: $id }) { __typename } }`, { id: created.createReconnectLink.result.link.id });
    await signIn(a.admin.token);
    await page.goto(`${url}/audit?kind=RECONNECT_LINK_CREATED`);
    const items = page.locator('li.audit-item');
    await expect.poll(() => items.count(), SOON).toBe(1);
    expect((await items.first().textContent())?.replace(/\s+/g, ' ')).toContain('admin made a reconnect link for the owner of “Team GA4”');
    expect(await page.getByLabel('Change', { exact: true }).inputValue()).toBe('RECONNECT_LINK_CREATED');
    await page.getByLabel('Change', { exact: true }).selectOption('RECONNECT_LINK_REVOKED');
    await expect.poll(() => items.count(), SOON).toBe(1);
    expect((await items.first().textContent())?.replace(/\s+/g, ' ')).toContain('admin withdrew a reconnect link for “Team GA4”');
  });
});
