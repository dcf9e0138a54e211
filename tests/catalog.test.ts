import { describe, expect, it } from 'vitest';
import { BUILT_IN_INTEGRATIONS, builtInIntegration } from '../server/domain/catalog.js';
import { fillPlaceholders, valueBeforeSuffix } from '../server/domain/endpoints.js';

const DAY = 86_400;

describe('the built-in catalog', () => {
  it('has at least 25 integrations with unique kebab-case keys', () => {
    expect(BUILT_IN_INTEGRATIONS.length).toBeGreaterThanOrEqual(25);
    const keys = BUILT_IN_INTEGRATIONS.map((integration) => integration.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) expect(key).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it('gives every OAuth 2.0 integration https authorize and token endpoints, and every revocable one a revoke endpoint', () => {
    for (const integration of BUILT_IN_INTEGRATIONS) {
      if (integration.authMethod === 'OAUTH2') {
        expect(integration.endpoints.authorize, integration.key).toMatch(/^https:\/\//);
        expect(integration.endpoints.token, integration.key).toMatch(/^https:\/\//);
        expect(integration.credentialFields, integration.key).toEqual([]);
      }
      expect(integration.revocable, integration.key).toBe(Boolean(integration.endpoints.revoke));
      expect(integration.description.length, integration.key).toBeGreaterThan(10);
    }
  });

  it('records the documented facts the product depends on', () => {
    const qbo = builtInIntegration('quickbooks-online')!;
    expect(qbo.connectionPolicy).toBe('ONE_PER_RESOURCE');
    expect(qbo.requirements.join(' ')).toMatch(/company admin/i);
    expect(qbo.resourceKind).toMatch(/realm/i);
    const linkedin = builtInIntegration('linkedin')!;
    expect(linkedin.tokenLifetime.accessTokenSeconds).toBe(60 * DAY);
    expect(linkedin.tokenLifetime.refreshTokenSeconds).toBe(365 * DAY);
    for (const key of ['trello', 'x-twitter']) {
      const oauth1 = builtInIntegration(key)!;
      expect(oauth1.authMethod).toBe('OAUTH1');
      expect(oauth1.endpoints.requestToken).toMatch(/^https:\/\//);
    }
    expect(builtInIntegration('ahrefs')!.requirements.join(' ')).toMatch(/subscription/i);
    expect(builtInIntegration('copper')!.credentialFields.map((field) => field.key)).toEqual(['apiKey', 'email']);
    expect(builtInIntegration('salesforce')!.requirements.join(' ')).toMatch(/API Enabled/);
    for (const key of ['postgresql', 'mysql']) {
      const proxy = builtInIntegration(key)!;
      expect(proxy.authMethod).toBe('PROXY');
      expect(proxy.credentialFields.find((field) => field.key === 'password')?.secret).toBe(true);
    }
    expect(builtInIntegration('stripe')!.apiKeyHeader).toEqual({ name: 'Authorization', prefix: 'Bearer ' });
    expect(builtInIntegration('no-such-service')).toBeUndefined();
  });

  it('asks for each thing once: Jira’s site name with ".atlassian.net" completed (never doubled), no "Table" for database logins', () => {
    const jira = builtInIntegration('jira-basic')!;
    const site = jira.credentialFields.find((field) => field.key === 'site')!;
    expect(site.suffix).toBe('.atlassian.net');
    expect(jira.resourceKind).toBeUndefined();
    for (const typed of ['acme', 'acme.atlassian.net', 'https://acme.atlassian.net/', 'https://ACME.atlassian.net/jira/your-work?x=1', ' acme.Atlassian.net ']) {
      const url = fillPlaceholders(jira.endpoints.verify!.url, { site: valueBeforeSuffix(typed, site.suffix!) });
      expect(url.toLowerCase(), typed).toBe('https://acme.atlassian.net/rest/api/3/myself');
    }
    for (const key of ['postgresql', 'mysql']) expect(builtInIntegration(key)!.resourceKind, key).toBeUndefined();
  });

  it('covers every auth method', () => {
    const methods = new Set(BUILT_IN_INTEGRATIONS.map((integration) => integration.authMethod));
    expect([...methods].sort()).toEqual(['API_KEY', 'BASIC', 'OAUTH1', 'OAUTH2', 'OAUTH2_CLIENT_CREDENTIALS', 'PROXY']);
  });
});
