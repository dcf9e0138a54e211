/**
 * The connect form of one integration per auth method, in a real browser against the real gateway:
 * which fields it asks for (generated from the catalog) and the validation messages it shows, the
 * browser's for a missing required field and the gateway's typed ones in place. Jira asks for its
 * site once, completes ".atlassian.net" itself and never doubles it; database logins ask for no
 * "Table" (data sources choose tables).
 *
 * PGlite only, as tests/dashboard.test.ts.
 */
import './support/outbound.js';
import type { Locator, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeInBrowser, screenshot, seriousAxeViolations } from './support/browser.js';
import { signIn, useDashboardRig } from './support/dashboard-rig.js';
import { graphqlData } from './support/graphql-http.js';
import type { Tenant } from './support/fixtures.js';

const SOON = { timeout: 10_000 };

describeInBrowser('the connect form for each auth method', { timeout: 60_000 }, () => {
  let url: string;
  let a: Tenant;
  let page: Page;
  useDashboardRig('forms', async (rig) => {
    ({ url, a, page } = rig);
    await signIn(page, url, a.member.token);
  });


  /** Opens the connect form of `key` and returns it with its fields' labels, in order. */
  async function open(key: string): Promise<{ form: Locator; labels: string[] }> {
    await page.goto(`${url}/connect/${key}`);
    const form = page.locator('form.stacked-form');
    await form.waitFor(SOON);
    const labels = (await form.locator('.field > label, label.checkbox').allTextContents()).map((label) => label.trim());
    return { form, labels };
  }

  const connectionsNamed = async (name: string) =>
    ((await graphqlData(url, a.member.token, 'query($q: String) { connections(first: 10, filter: { search: $q }) { totalCount } }', { q: name })).connections as { totalCount: number })
      .totalCount;

  it('OAuth 2.0 (HubSpot): a name and the optional portal, no credential fields; without an app it says an admin must configure one', async () => {
    const { form, labels } = await open('hubspot');
    expect(labels).toEqual(['Connection name', 'HubSpot portal (optional)', 'Share with everyone in the account']);
    await page.getByText('An admin must configure this integration first').waitFor();
    expect(await form.getByRole('button', { name: 'Continue to HubSpot' }).isDisabled()).toBe(true);
    expect({ violations: await seriousAxeViolations(page) }).toEqual({ violations: [] });
  });

  it('OAuth 1.0a (Trello): a name and the optional board, no credential fields', async () => {
    const { form, labels } = await open('trello');
    expect(labels).toEqual(['Connection name', 'Board (optional)', 'Share with everyone in the account']);
    expect(await form.locator('input[type="password"]').count()).toBe(0);
    expect(await form.getByRole('button', { name: 'Continue to Trello' }).count()).toBe(1);
  });

  it('API key (Ahrefs): the key is masked and required; the browser says so before anything is sent', async () => {
    const { form, labels } = await open('ahrefs');
    expect(labels).toEqual(['Connection name', 'API key', 'Share with everyone in the account']);
    const key = form.getByLabel('API key');
    expect(await key.getAttribute('type')).toBe('password');
    await form.getByRole('button', { name: 'Test and connect' }).click();
    expect(await key.evaluate((input: HTMLInputElement) => ({ missing: input.validity.valueMissing, message: input.validationMessage }))).toEqual({
      missing: true,
      message: 'Please fill out this field.',
    });
    expect(await connectionsNamed('Ahrefs connection')).toBe(0);
  });

  it('Basic (Jira with an API token): the site once, ".atlassian.net" shown after it and never doubled, no second site field', async () => {
    const { form, labels } = await open('jira-basic');
    expect(labels).toEqual(['Connection name', 'Site name', 'Atlassian account email', 'API token', 'Share with everyone in the account']);
    expect(await form.locator('.input-suffix').textContent()).toBe('.atlassian.net');
    await screenshot(page, 'connect-jira-basic');
    // What the old label asked for ("your-site.atlassian.net") is taken as the site name: the gateway
    // calls acme-forms.atlassian.net (tests/catalog.test.ts checks the URL it builds without a network).
    await form.getByLabel('Site name').fill('acme-forms.atlassian.net');
    await form.getByLabel('Atlassian account email').fill('pam@example.com');
    await form.getByLabel('API token').fill('not-a-real-token');
    await form.getByRole('button', { name: 'Test and connect' }).click();
    const problem = form.locator('.notice');
    await problem.waitFor(SOON);
    const text = (await problem.textContent()) ?? '';
    expect(text).not.toContain('atlassian.net.atlassian.net');
    expect(await connectionsNamed('Jira (API token) connection')).toBe(0);
  });

  it('Database login (PostgreSQL): host, port, database, user, password and no "Table"; a bad port is the gateway’s typed error on that field', async () => {
    const { form, labels } = await open('postgresql');
    expect(labels).toEqual(['Connection name', 'Host', 'Port', 'Database', 'User', 'Password (optional)', 'Share with everyone in the account']);
    expect(await form.getByLabel(/table/i).count()).toBe(0);
    await form.getByLabel('Host').fill('127.0.0.1');
    await form.getByLabel('Port').fill('five');
    await form.getByLabel('Database').fill('analytics');
    await form.getByLabel('User').fill('reader');
    await form.getByRole('button', { name: 'Test and connect' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor(SOON);
    expect(await alert.textContent()).toContain('Port must be a number from 1 to 65535 (got "five")');
    expect(await form.getByLabel('Port').getAttribute('aria-invalid')).toBe('true');
    expect(await connectionsNamed('PostgreSQL connection')).toBe(0);
    expect({ violations: await seriousAxeViolations(page) }).toEqual({ violations: [] });
    await screenshot(page, 'connect-postgresql-error');
  });
});
