import { describe, expect, it } from 'vitest';
import { BUILT_IN_INTEGRATIONS, builtInIntegration } from '../server/domain/catalog.js';

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

  it('covers every auth method', () => {
    const methods = new Set(BUILT_IN_INTEGRATIONS.map((integration) => integration.authMethod));
    expect([...methods].sort()).toEqual(['API_KEY', 'BASIC', 'OAUTH1', 'OAUTH2', 'OAUTH2_CLIENT_CREDENTIALS', 'PROXY']);
  });
});
