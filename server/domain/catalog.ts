/**
 * The built-in catalog: services Patchbay connects to out of the box, with the public facts from
 * each service's developer documentation (endpoints, scopes, token lifetimes, requirements).
 * Placeholders in braces ({shop}, {subdomain}, {instance}) are filled from the connection's resource.
 */
import type { CredentialField, IntegrationDefinition } from './catalog-types.js';

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type Entry = Omit<IntegrationDefinition, 'credentialFields' | 'requirements' | 'connectionPolicy' | 'revocable' | 'defaultScopes'> &
  Partial<Pick<IntegrationDefinition, 'credentialFields' | 'requirements' | 'connectionPolicy' | 'defaultScopes'>>;

/** Fills the defaults every entry shares; `revocable` follows from a revoke endpoint. */
function define(entry: Entry): IntegrationDefinition {
  return {
    credentialFields: [],
    requirements: [],
    connectionPolicy: 'MULTIPLE',
    defaultScopes: [],
    ...entry,
    revocable: Boolean(entry.endpoints.revoke),
  };
}

const GOOGLE_OAUTH = {
  authorize: 'https://accounts.google.com/o/oauth2/v2/auth',
  token: 'https://oauth2.googleapis.com/token',
  revoke: 'https://oauth2.googleapis.com/revoke',
};
/** Google: 1-hour access tokens; refresh tokens only with access_type=offline, and prompt=consent to get one again. */
const GOOGLE_LIFETIME = {
  accessTokenSeconds: HOUR,
  refreshable: true,
  note: 'Refresh tokens stop working when the user revokes access, changes password (Gmail scopes), or is over the 100-token limit per client.',
};
const GOOGLE_PARAMS = { access_type: 'offline', prompt: 'consent', include_granted_scopes: 'true' };

const apiKeyField: CredentialField = { key: 'apiKey', label: 'API key', secret: true, required: true };
const databaseFields: CredentialField[] = [
  { key: 'host', label: 'Host', secret: false, required: true },
  { key: 'port', label: 'Port', secret: false, required: true },
  { key: 'database', label: 'Database', secret: false, required: true },
  { key: 'user', label: 'User', secret: false, required: true },
  { key: 'password', label: 'Password', secret: true, required: false },
];

/** The built-in integrations, in catalog order. */
export const BUILT_IN_INTEGRATIONS: readonly IntegrationDefinition[] = [
  // --- Google -------------------------------------------------------------------------------
  define({
    key: 'google-analytics-4',
    name: 'Google Analytics 4',
    description: 'Website and app analytics: sessions, users, conversions by GA4 property.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://developers.google.com/analytics/devguides/reporting/data/v1',
    endpoints: {
      ...GOOGLE_OAUTH,
      verify: { method: 'GET', url: 'https://analyticsadmin.googleapis.com/v1beta/accountSummaries?pageSize=1' },
      apiBase: 'https://analyticsdata.googleapis.com/v1beta',
    },
    defaultScopes: ['openid', 'email', 'https://www.googleapis.com/auth/analytics.readonly'],
    tokenLifetime: GOOGLE_LIFETIME,
    requirements: ['Viewer (or higher) role on the GA4 property'],
    resourceKind: 'GA4 property',
    authorizationParams: GOOGLE_PARAMS,
    openId: true,
  }),
  define({
    key: 'google-sheets',
    name: 'Google Sheets',
    description: 'Spreadsheets in Google Drive, read as tables.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://developers.google.com/sheets/api/guides/authorizing',
    endpoints: {
      ...GOOGLE_OAUTH,
      verify: { method: 'GET', url: 'https://www.googleapis.com/drive/v3/about?fields=user' },
      apiBase: 'https://sheets.googleapis.com/v4',
    },
    defaultScopes: ['openid', 'email', 'https://www.googleapis.com/auth/spreadsheets.readonly', 'https://www.googleapis.com/auth/drive.metadata.readonly'],
    tokenLifetime: GOOGLE_LIFETIME,
    resourceKind: 'Spreadsheet',
    authorizationParams: GOOGLE_PARAMS,
    openId: true,
  }),
  define({
    key: 'google-ads',
    name: 'Google Ads',
    description: 'Campaign, ad group and keyword performance.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://developers.google.com/google-ads/api/docs/oauth/overview',
    endpoints: {
      ...GOOGLE_OAUTH,
      verify: { method: 'GET', url: 'https://googleads.googleapis.com/v21/customers:listAccessibleCustomers' },
      apiBase: 'https://googleads.googleapis.com/v21',
    },
    defaultScopes: ['openid', 'email', 'https://www.googleapis.com/auth/adwords'],
    tokenLifetime: GOOGLE_LIFETIME,
    requirements: ['An approved Google Ads developer token', 'Access to the Google Ads customer account'],
    resourceKind: 'Google Ads customer',
    authorizationParams: GOOGLE_PARAMS,
    openId: true,
  }),
  // --- CRM and sales ------------------------------------------------------------------------
  define({
    key: 'salesforce',
    name: 'Salesforce',
    description: 'CRM objects: accounts, opportunities, leads, custom objects.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm',
    endpoints: {
      authorize: 'https://login.salesforce.com/services/oauth2/authorize',
      token: 'https://login.salesforce.com/services/oauth2/token',
      revoke: 'https://login.salesforce.com/services/oauth2/revoke',
      verify: { method: 'GET', url: 'https://login.salesforce.com/services/oauth2/userinfo' },
    },
    defaultScopes: ['api', 'refresh_token', 'openid'],
    tokenLifetime: {
      accessTokenSeconds: 2 * HOUR,
      refreshable: true,
      note: 'Access tokens follow the org session timeout (2 hours by default); refresh tokens last until revoked unless the connected app sets a policy.',
    },
    requirements: ['"API Enabled" permission on the user profile', 'An edition with API access (Enterprise, Unlimited, Developer or Performance)'],
    resourceKind: 'Salesforce org',
    openId: true,
  }),
  define({
    key: 'hubspot',
    name: 'HubSpot',
    description: 'CRM contacts, companies, deals and marketing data.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://developers.hubspot.com/docs/api/oauth-quickstart-guide',
    endpoints: {
      authorize: 'https://app.hubspot.com/oauth/authorize',
      token: 'https://api.hubapi.com/oauth/v1/token',
      verify: { method: 'GET', url: 'https://api.hubapi.com/account-info/v3/details' },
      apiBase: 'https://api.hubapi.com',
    },
    defaultScopes: ['oauth', 'crm.objects.contacts.read', 'crm.objects.companies.read', 'crm.objects.deals.read'],
    tokenLifetime: { accessTokenSeconds: 30 * MINUTE, refreshable: true },
    requirements: ['Super admin or app-install permission in the HubSpot account'],
    resourceKind: 'HubSpot portal',
  }),
  define({
    key: 'copper',
    name: 'Copper',
    description: 'CRM for Google Workspace: people, companies, opportunities.',
    authMethod: 'API_KEY',
    docsUrl: 'https://developer.copper.com/introduction/authentication.html',
    endpoints: {
      verify: { method: 'GET', url: 'https://api.copper.com/developer_api/v1/account' },
      apiBase: 'https://api.copper.com/developer_api/v1',
    },
    credentialFields: [apiKeyField, { key: 'email', label: 'Email of the key’s user', secret: false, required: true }],
    apiKeyHeader: { name: 'X-PW-AccessToken' },
    credentialHeaders: { 'X-PW-UserEmail': '{email}', 'X-PW-Application': 'developer_api' },
    tokenLifetime: { refreshable: false, note: 'Keys last until deleted; the X-PW-UserEmail header must name the key’s user.' },
    requirements: ['A Copper admin generates the API key (Settings > Integrations > API Keys)'],
  }),
  define({
    key: 'pipedrive',
    name: 'Pipedrive',
    description: 'Sales pipeline: deals, persons, organizations, activities.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://pipedrive.readme.io/docs/marketplace-oauth-authorization',
    endpoints: {
      authorize: 'https://oauth.pipedrive.com/oauth/authorize',
      token: 'https://oauth.pipedrive.com/oauth/token',
      revoke: 'https://oauth.pipedrive.com/oauth/revoke',
      verify: { method: 'GET', url: 'https://api.pipedrive.com/v1/users/me' },
    },
    tokenLifetime: { accessTokenSeconds: HOUR, refreshTokenSeconds: 60 * DAY, refreshable: true, note: 'Refresh tokens expire after 60 days without use.' },
    resourceKind: 'Pipedrive company',
  }),
  // --- Accounting and payments --------------------------------------------------------------
  define({
    key: 'quickbooks-online',
    name: 'QuickBooks Online',
    description: 'Accounting: invoices, payments, profit and loss per company.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0',
    endpoints: {
      authorize: 'https://appcenter.intuit.com/connect/oauth2',
      token: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
      revoke: 'https://developer.api.intuit.com/v2/oauth2/tokens/revoke',
      verify: { method: 'GET', url: 'https://quickbooks.api.intuit.com/v3/company/{realmId}/companyinfo/{realmId}' },
      apiBase: 'https://quickbooks.api.intuit.com/v3',
    },
    defaultScopes: ['com.intuit.quickbooks.accounting'],
    tokenLifetime: {
      accessTokenSeconds: HOUR,
      refreshTokenSeconds: 100 * DAY,
      refreshable: true,
      rotatesRefreshToken: true,
      note: 'Refresh tokens last 100 days and each refresh may return a new one; reconnect at least every 5 years.',
    },
    requirements: ['The user must be a QuickBooks company admin (master admin or company admin)'],
    connectionPolicy: 'ONE_PER_RESOURCE',
    resourceKind: 'QuickBooks company (realm id)',
    callbackResourceParam: 'realmId',
  }),
  define({
    key: 'xero',
    name: 'Xero',
    description: 'Accounting: invoices, bank transactions, reports per organisation.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://developer.xero.com/documentation/guides/oauth2/auth-flow',
    endpoints: {
      authorize: 'https://login.xero.com/identity/connect/authorize',
      token: 'https://identity.xero.com/connect/token',
      revoke: 'https://identity.xero.com/connect/revocation',
      verify: { method: 'GET', url: 'https://api.xero.com/connections' },
      apiBase: 'https://api.xero.com/api.xro/2.0',
    },
    defaultScopes: ['openid', 'profile', 'email', 'offline_access', 'accounting.transactions.read', 'accounting.reports.read'],
    tokenLifetime: {
      accessTokenSeconds: 30 * MINUTE,
      refreshTokenSeconds: 60 * DAY,
      refreshable: true,
      rotatesRefreshToken: true,
      note: 'Each refresh returns a new refresh token; an unused one expires after 60 days.',
    },
    requirements: ['Standard or adviser access to the Xero organisation'],
    resourceKind: 'Xero organisation (tenant id)',
    openId: true,
  }),
  define({
    key: 'stripe',
    name: 'Stripe',
    description: 'Payments: charges, balance transactions, subscriptions.',
    authMethod: 'API_KEY',
    docsUrl: 'https://docs.stripe.com/keys',
    endpoints: { verify: { method: 'GET', url: 'https://api.stripe.com/v1/balance' }, apiBase: 'https://api.stripe.com/v1' },
    credentialFields: [{ key: 'apiKey', label: 'Restricted or secret key (rk_live_… / sk_live_…)', secret: true, required: true }],
    apiKeyHeader: { name: 'Authorization', prefix: 'Bearer ' },
    tokenLifetime: { refreshable: false, note: 'Keys last until rolled or deleted in the Dashboard.' },
    requirements: ['A restricted key with read access to the resources you sync is recommended'],
  }),
  // --- Social and advertising ---------------------------------------------------------------
  define({
    key: 'linkedin',
    name: 'LinkedIn',
    description: 'Company pages and ad accounts: followers, posts, campaign analytics.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow',
    endpoints: {
      authorize: 'https://www.linkedin.com/oauth/v2/authorization',
      token: 'https://www.linkedin.com/oauth/v2/accessToken',
      revoke: 'https://www.linkedin.com/oauth/v2/revoke',
      verify: { method: 'GET', url: 'https://api.linkedin.com/v2/userinfo' },
    },
    defaultScopes: ['openid', 'profile', 'r_organization_social', 'rw_organization_admin', 'r_ads_reporting'],
    tokenLifetime: {
      accessTokenSeconds: 60 * DAY,
      refreshTokenSeconds: 365 * DAY,
      refreshable: true,
      note: 'Access tokens last 60 days; refresh tokens last 365 days, after which the user must reauthorize (yearly).',
    },
    requirements: ['Administrator of the LinkedIn page or ad account', 'App approved for the Marketing Developer Platform'],
    resourceKind: 'LinkedIn organization',
    openId: true,
  }),
  define({
    key: 'facebook-ads',
    name: 'Facebook Ads',
    description: 'Meta ad accounts: campaigns, ad sets, insights.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived',
    endpoints: {
      authorize: 'https://www.facebook.com/v21.0/dialog/oauth',
      token: 'https://graph.facebook.com/v21.0/oauth/access_token',
      verify: { method: 'GET', url: 'https://graph.facebook.com/v21.0/me?fields=id,name' },
      apiBase: 'https://graph.facebook.com/v21.0',
    },
    defaultScopes: ['ads_read', 'read_insights'],
    tokenLifetime: {
      accessTokenSeconds: 60 * DAY,
      refreshable: false,
      note: 'Long-lived user tokens last about 60 days and cannot be refreshed without the user; reauthorize before they expire.',
    },
    requirements: ['A role on the ad account (Advertiser or Analyst)'],
    resourceKind: 'Ad account',
  }),
  define({
    key: 'x-twitter',
    name: 'X (Twitter)',
    description: 'Posts, followers and engagement of an X account.',
    authMethod: 'OAUTH1',
    docsUrl: 'https://docs.x.com/resources/fundamentals/authentication/oauth-1-0a/obtaining-user-access-tokens',
    endpoints: {
      requestToken: 'https://api.twitter.com/oauth/request_token',
      authorize: 'https://api.twitter.com/oauth/authorize',
      token: 'https://api.twitter.com/oauth/access_token',
      verify: { method: 'GET', url: 'https://api.twitter.com/1.1/account/verify_credentials.json' },
    },
    tokenLifetime: { refreshable: false, note: 'OAuth 1.0a tokens do not expire; they end when the user revokes the app.' },
    requirements: ['An X developer app with a plan that includes the endpoints you read'],
    resourceKind: 'X account',
  }),
  define({
    key: 'mailchimp',
    name: 'Mailchimp',
    description: 'Email marketing: audiences, campaigns, reports.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/',
    endpoints: {
      authorize: 'https://login.mailchimp.com/oauth2/authorize',
      token: 'https://login.mailchimp.com/oauth2/token',
      verify: { method: 'GET', url: 'https://login.mailchimp.com/oauth2/metadata' },
    },
    tokenLifetime: { refreshable: false, note: 'Access tokens do not expire; they end when the user revokes access.' },
    resourceKind: 'Mailchimp account (data center)',
  }),
  // --- Files and collaboration --------------------------------------------------------------
  define({
    key: 'box',
    name: 'Box',
    description: 'Files and folders in Box.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://developer.box.com/guides/authentication/oauth2/',
    endpoints: {
      authorize: 'https://account.box.com/api/oauth2/authorize',
      token: 'https://api.box.com/oauth2/token',
      revoke: 'https://api.box.com/oauth2/revoke',
      verify: { method: 'GET', url: 'https://api.box.com/2.0/users/me' },
    },
    tokenLifetime: {
      accessTokenSeconds: HOUR,
      refreshTokenSeconds: 60 * DAY,
      refreshable: true,
      rotatesRefreshToken: true,
      note: 'Refresh tokens are single-use and expire after 60 days.',
    },
    resourceKind: 'Folder',
  }),
  define({
    key: 'dropbox',
    name: 'Dropbox',
    description: 'Files and folders in Dropbox.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://developers.dropbox.com/oauth-guide',
    endpoints: {
      authorize: 'https://www.dropbox.com/oauth2/authorize',
      token: 'https://api.dropboxapi.com/oauth2/token',
      revoke: 'https://api.dropboxapi.com/2/auth/token/revoke',
      verify: { method: 'POST', url: 'https://api.dropboxapi.com/2/users/get_current_account' },
    },
    defaultScopes: ['account_info.read', 'files.metadata.read', 'files.content.read'],
    tokenLifetime: { accessTokenSeconds: 4 * HOUR, refreshable: true, note: 'Short-lived access tokens; refresh tokens need token_access_type=offline.' },
    resourceKind: 'Folder',
    authorizationParams: { token_access_type: 'offline' },
  }),
  define({
    key: 'slack',
    name: 'Slack',
    description: 'Channels, messages and users of a Slack workspace.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://api.slack.com/authentication/oauth-v2',
    endpoints: {
      authorize: 'https://slack.com/oauth/v2/authorize',
      token: 'https://slack.com/api/oauth.v2.access',
      revoke: 'https://slack.com/api/auth.revoke',
      verify: { method: 'POST', url: 'https://slack.com/api/auth.test' },
    },
    defaultScopes: ['channels:read', 'channels:history', 'users:read'],
    tokenLifetime: { refreshable: false, note: 'Bot tokens do not expire unless token rotation is enabled for the app (then 12 hours).' },
    requirements: ['Permission to install apps in the workspace'],
    resourceKind: 'Slack workspace',
  }),
  define({
    key: 'trello',
    name: 'Trello',
    description: 'Boards, lists and cards.',
    authMethod: 'OAUTH1',
    docsUrl: 'https://developer.atlassian.com/cloud/trello/guides/rest-api/authorization/',
    endpoints: {
      requestToken: 'https://trello.com/1/OAuthGetRequestToken',
      authorize: 'https://trello.com/1/OAuthAuthorizeToken',
      token: 'https://trello.com/1/OAuthGetAccessToken',
      verify: { method: 'GET', url: 'https://api.trello.com/1/members/me' },
    },
    tokenLifetime: { refreshable: false, note: 'Tokens granted with expiration=never last until revoked.' },
    resourceKind: 'Board',
  }),
  define({
    key: 'jira',
    name: 'Jira',
    description: 'Issues, projects and sprints in Jira Cloud.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/',
    endpoints: {
      authorize: 'https://auth.atlassian.com/authorize',
      token: 'https://auth.atlassian.com/oauth/token',
      verify: { method: 'GET', url: 'https://api.atlassian.com/oauth/token/accessible-resources' },
      apiBase: 'https://api.atlassian.com/ex/jira/{cloudId}',
    },
    defaultScopes: ['read:jira-work', 'read:jira-user', 'offline_access'],
    tokenLifetime: {
      accessTokenSeconds: HOUR,
      refreshTokenSeconds: 90 * DAY,
      refreshable: true,
      rotatesRefreshToken: true,
      note: 'Rotating refresh tokens expire after 90 days of inactivity.',
    },
    resourceKind: 'Atlassian site (cloud id)',
    authorizationParams: { audience: 'api.atlassian.com', prompt: 'consent' },
  }),
  define({
    key: 'github',
    name: 'GitHub',
    description: 'Repositories, issues and pull requests.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps',
    endpoints: {
      authorize: 'https://github.com/login/oauth/authorize',
      token: 'https://github.com/login/oauth/access_token',
      verify: { method: 'GET', url: 'https://api.github.com/user' },
      apiBase: 'https://api.github.com',
    },
    defaultScopes: ['read:user', 'repo'],
    tokenLifetime: { refreshable: false, note: 'OAuth app tokens do not expire; GitHub revokes tokens unused for a year.' },
    requirements: ['Organizations with OAuth app restrictions must approve the app'],
    resourceKind: 'Organization or user',
  }),
  define({
    key: 'zendesk',
    name: 'Zendesk',
    description: 'Support tickets, users and satisfaction ratings.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://developer.zendesk.com/documentation/ticketing/working-with-oauth/using-oauth-authentication-with-your-application/',
    endpoints: {
      authorize: 'https://{subdomain}.zendesk.com/oauth/authorizations/new',
      token: 'https://{subdomain}.zendesk.com/oauth/tokens',
      verify: { method: 'GET', url: 'https://{subdomain}.zendesk.com/api/v2/users/me.json' },
    },
    defaultScopes: ['read'],
    tokenLifetime: { refreshable: false, note: 'Access tokens last until revoked unless the OAuth client sets an expiry.' },
    requirements: ['Zendesk admin or agent role'],
    resourceKind: 'Zendesk subdomain',
  }),
  define({
    key: 'intercom',
    name: 'Intercom',
    description: 'Conversations, contacts and companies.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://developers.intercom.com/docs/build-an-integration/learn-more/authentication/setting-up-oauth',
    endpoints: {
      authorize: 'https://app.intercom.com/oauth',
      token: 'https://api.intercom.io/auth/eagle/token',
      verify: { method: 'GET', url: 'https://api.intercom.io/me' },
    },
    tokenLifetime: { refreshable: false, note: 'Access tokens do not expire; they end when the workspace uninstalls the app.' },
    resourceKind: 'Intercom workspace',
  }),
  // --- Commerce -----------------------------------------------------------------------------
  define({
    key: 'shopify',
    name: 'Shopify',
    description: 'Orders, products and customers of a Shopify store.',
    authMethod: 'OAUTH2',
    docsUrl: 'https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant',
    endpoints: {
      authorize: 'https://{shop}.myshopify.com/admin/oauth/authorize',
      token: 'https://{shop}.myshopify.com/admin/oauth/access_token',
      verify: { method: 'GET', url: 'https://{shop}.myshopify.com/admin/api/2025-01/shop.json' },
    },
    defaultScopes: ['read_orders', 'read_products', 'read_customers'],
    tokenLifetime: { refreshable: false, note: 'Offline access tokens last until the app is uninstalled.' },
    requirements: ['Store owner or staff with permission to install apps'],
    resourceKind: 'Shopify store',
  }),
  // --- SEO ----------------------------------------------------------------------------------
  define({
    key: 'ahrefs',
    name: 'Ahrefs',
    description: 'SEO: backlinks, organic keywords, domain rating.',
    authMethod: 'API_KEY',
    docsUrl: 'https://docs.ahrefs.com/docs/api/reference/introduction',
    endpoints: {
      verify: { method: 'GET', url: 'https://api.ahrefs.com/v3/subscription-info/limits-and-usage' },
      apiBase: 'https://api.ahrefs.com/v3',
    },
    credentialFields: [apiKeyField],
    apiKeyHeader: { name: 'Authorization', prefix: 'Bearer ' },
    tokenLifetime: { refreshable: false, note: 'Keys last until deleted; API access stops when the subscription lapses.' },
    requirements: ['An active Ahrefs subscription that includes API access (API units)'],
  }),
  // --- App-level (client credentials) -------------------------------------------------------
  define({
    key: 'microsoft-graph-app',
    name: 'Microsoft Graph (app-only)',
    description: 'Microsoft 365 data with an app registration and client credentials (no signed-in user).',
    authMethod: 'OAUTH2_CLIENT_CREDENTIALS',
    docsUrl: 'https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow',
    endpoints: {
      token: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
      verify: { method: 'GET', url: 'https://graph.microsoft.com/v1.0/organization' },
    },
    defaultScopes: ['https://graph.microsoft.com/.default'],
    credentialFields: [
      { key: 'tenant', label: 'Directory (tenant) id', secret: false, required: true },
      { key: 'clientId', label: 'Application (client) id', secret: false, required: true },
      { key: 'clientSecret', label: 'Client secret', secret: true, required: true },
    ],
    tokenLifetime: { accessTokenSeconds: HOUR, refreshable: true, note: 'A new token is requested with the client secret; secrets expire (max 24 months).' },
    requirements: ['Admin consent for the application permissions in Entra ID'],
    resourceKind: 'Entra tenant',
  }),
  // --- Databases (the gateway logs in itself) -------------------------------------------------
  define({
    key: 'postgresql',
    name: 'PostgreSQL',
    description: 'Tables of a PostgreSQL database, read with a database login.',
    authMethod: 'PROXY',
    docsUrl: 'https://www.postgresql.org/docs/current/client-authentication.html',
    endpoints: {},
    credentialFields: databaseFields,
    tokenLifetime: { refreshable: false, note: 'The login lasts until its password changes or the role is dropped.' },
    requirements: ['A role with CONNECT on the database and SELECT on the tables to read'],
  }),
  define({
    key: 'mysql',
    name: 'MySQL',
    description: 'Tables of a MySQL or MariaDB database, read with a database login.',
    authMethod: 'PROXY',
    docsUrl: 'https://dev.mysql.com/doc/refman/8.4/en/access-control.html',
    endpoints: {},
    credentialFields: databaseFields,
    tokenLifetime: { refreshable: false, note: 'The login lasts until its password changes or the user is dropped.' },
    requirements: ['A user with SELECT on the tables to read'],
  }),
  define({
    key: 'jira-basic',
    name: 'Jira (API token)',
    description: 'Jira Cloud with an Atlassian account email and API token (HTTP Basic).',
    authMethod: 'BASIC',
    docsUrl: 'https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/',
    endpoints: { verify: { method: 'GET', url: 'https://{site}.atlassian.net/rest/api/3/myself' } },
    credentialFields: [
      { key: 'site', label: 'Site name', secret: false, required: true, suffix: '.atlassian.net' },
      { key: 'username', label: 'Atlassian account email', secret: false, required: true },
      { key: 'password', label: 'API token', secret: true, required: true },
    ],
    tokenLifetime: { refreshable: false, note: 'API tokens expire after at most one year.' },
    // The site is a credential field (it is in the verify URL); no second "resource" to ask for.
  }),
];

const BY_KEY = new Map(BUILT_IN_INTEGRATIONS.map((integration) => [integration.key, integration]));

/** Looks up a built-in integration by key. */
export function builtInIntegration(key: string): IntegrationDefinition | undefined {
  return BY_KEY.get(key);
}
