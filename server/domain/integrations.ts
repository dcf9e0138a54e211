/**
 * The integrations an account can connect to: the built-in catalog plus the custom ones its
 * admins register. Lookups take the account, so a custom integration is only ever seen by its own.
 */
import * as oauth from 'oauth4webapi';
import type { Database } from '../db/client.js';
import { integrations } from '../db/schema.js';
import { oauthRequestOptions, outboundFailure, urlTarget } from '../edge/outbound.js';
import { BUILT_IN_INTEGRATIONS, builtInIntegration } from './catalog.js';
import type { AuthMethod, ConnectionPolicy, IntegrationDefinition } from './catalog-types.js';
import { ForbiddenError, ValidationError } from './errors.js';
import { serviceTimeoutSignal } from './service-calls.js';
import type { CustomIntegrationRow } from './types.js';
import { validName } from './validation.js';
import { isAdmin, type Viewer } from './viewer.js';

/** An integration as the API shows it: a definition and whether an account registered it. */
export interface Integration extends IntegrationDefinition {
  /** The custom integration's row id; undefined for built-ins. */
  customId?: string;
}

function fromRow(row: CustomIntegrationRow): Integration {
  return {
    ...(row.definition as unknown as Omit<IntegrationDefinition, 'key' | 'name' | 'authMethod'>),
    key: row.key,
    name: row.name,
    authMethod: row.authMethod,
    customId: row.id,
  };
}

/**
 * Resolves integration keys for one account, in the order given (undefined for unknown keys).
 * Built-ins cost nothing; custom ones cost one statement for the whole batch.
 */
export async function loadIntegrations(
  db: Database,
  accountId: string,
  keys: readonly string[],
): Promise<(Integration | undefined)[]> {
  const customKeys = keys.filter((key) => !builtInIntegration(key));
  const custom = new Map<string, Integration>();
  if (customKeys.length > 0) {
    const rows = await db.query.integrations.findMany({
      where: { accountId, key: { in: [...new Set(customKeys)] } },
    });
    for (const row of rows) custom.set(row.key, fromRow(row));
  }
  return keys.map((key) => builtInIntegration(key) ?? custom.get(key));
}

/** The account's catalog: built-ins then custom integrations, filtered by method and search text. */
export async function listIntegrations(
  db: Database,
  accountId: string,
  filter: { authMethod?: AuthMethod | null; search?: string | null } = {},
): Promise<Integration[]> {
  const rows = await db.query.integrations.findMany({
    where: { accountId },
    orderBy: { name: 'asc', id: 'asc' },
  });
  const search = filter.search?.trim().toLowerCase();
  return [...BUILT_IN_INTEGRATIONS, ...rows.map(fromRow)].filter(
    (integration) =>
      (!filter.authMethod || integration.authMethod === filter.authMethod) &&
      (!search ||
        integration.name.toLowerCase().includes(search) ||
        integration.key.includes(search) ||
        integration.description.toLowerCase().includes(search)),
  );
}

const KEY = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

function httpsUrl(value: string | null | undefined, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(`${field} must be a URL`, field);
  }
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    throw new ValidationError(`${field} must use https`, field);
  }
  return url.toString();
}

/** What an admin supplies to register a custom integration. */
export interface CustomIntegrationInput {
  key: string;
  name: string;
  authMethod: AuthMethod;
  description?: string | null;
  authorizeUrl?: string | null;
  tokenUrl?: string | null;
  revokeUrl?: string | null;
  verifyUrl?: string | null;
  scopes?: string[] | null;
  /** API_KEY: the header carrying the key, and an optional prefix such as "Bearer ". */
  apiKeyHeader?: string | null;
  apiKeyPrefix?: string | null;
  /** ONE_PER_RESOURCE when the service allows one live connection per resource. */
  connectionPolicy?: ConnectionPolicy | null;
  /** OAUTH1: the request-token endpoint. */
  requestTokenUrl?: string | null;
  /** OAUTH2: an issuer URL whose discovery document gives the endpoints (and enables the `iss` check). */
  issuerUrl?: string | null;
}

/** Reads an OAuth 2.0 / OpenID issuer's metadata (RFC 8414 / OIDC discovery) with oauth4webapi, through the outbound guard. */
async function discover(issuerUrl: string) {
  const issuer = new URL(httpsUrl(issuerUrl, 'issuerUrl')!);
  let response: Response;
  try {
    response = await oauth.discoveryRequest(issuer, oauthRequestOptions(serviceTimeoutSignal()));
  } catch (error) {
    throw new ValidationError(`Discovery at ${issuer.origin} failed: ${outboundFailure(error, urlTarget(issuer)).message}`, 'issuerUrl');
  }
  try {
    return await oauth.processDiscoveryResponse(issuer, response);
  } catch (error) {
    throw new ValidationError(`Discovery at ${issuer.origin} failed: ${(error as Error).message}`, 'issuerUrl');
  }
}

/** Registers a custom integration for the viewer's account (admins only). */
export async function registerCustomIntegration(
  db: Database,
  viewer: Viewer,
  input: CustomIntegrationInput,
): Promise<Integration> {
  if (!isAdmin(viewer)) throw new ForbiddenError('Only admins can register integrations');
  let issuer: string | undefined;
  const key = input.key.trim().toLowerCase();
  if (!KEY.test(key) || key.length > 60) {
    throw new ValidationError('key must be kebab-case letters and digits, at most 60 characters', 'key');
  }
  if (builtInIntegration(key)) {
    throw new ValidationError(`key "${key}" is taken by a built-in integration`, 'key');
  }
  const name = validName(input.name);
  if (input.issuerUrl && (input.authMethod === 'OAUTH2' || input.authMethod === 'OAUTH2_CLIENT_CREDENTIALS')) {
    const metadata = await discover(input.issuerUrl);
    const userFlow = input.authMethod === 'OAUTH2';
    input = {
      ...input,
      authorizeUrl: input.authorizeUrl ?? (userFlow ? metadata.authorization_endpoint : undefined),
      tokenUrl: input.tokenUrl ?? metadata.token_endpoint,
      revokeUrl: input.revokeUrl ?? metadata.revocation_endpoint,
      // userinfo needs a user: only the authorization-code flow can verify with it.
      verifyUrl: input.verifyUrl ?? (userFlow ? metadata.userinfo_endpoint : undefined),
    };
    issuer = metadata.issuer;
  }
  const endpoints = {
    authorize: httpsUrl(input.authorizeUrl, 'authorizeUrl'),
    token: httpsUrl(input.tokenUrl, 'tokenUrl'),
    revoke: httpsUrl(input.revokeUrl, 'revokeUrl'),
    requestToken: httpsUrl(input.requestTokenUrl, 'requestTokenUrl'),
    verify: input.verifyUrl ? { method: 'GET' as const, url: httpsUrl(input.verifyUrl, 'verifyUrl')! } : undefined,
  };
  const definition: Omit<IntegrationDefinition, 'key' | 'name' | 'authMethod'> = {
    description: input.description?.trim() || `Custom ${input.authMethod} integration`,
    docsUrl: endpoints.verify?.url ?? endpoints.authorize ?? '',
    endpoints,
    defaultScopes: input.scopes ?? [],
    credentialFields: [],
    tokenLifetime: { refreshable: input.authMethod !== 'API_KEY' },
    revocable: Boolean(endpoints.revoke),
    requirements: [],
    connectionPolicy: input.connectionPolicy ?? 'MULTIPLE',
    ...(issuer ? { issuer } : {}),
    ...(input.authMethod === 'OAUTH2' && input.scopes?.includes('openid') ? { openId: true } : {}),
    // Refresh tokens for offline access need a fresh consent at most servers.
    ...(input.scopes?.includes('offline_access') ? { authorizationParams: { prompt: 'consent' } } : {}),
  };
  switch (input.authMethod) {
    case 'OAUTH2':
      if (!endpoints.authorize || !endpoints.token) {
        throw new ValidationError('OAUTH2 integrations need authorizeUrl and tokenUrl', 'authorizeUrl');
      }
      break;
    case 'OAUTH1':
      if (!endpoints.requestToken || !endpoints.authorize || !endpoints.token) {
        throw new ValidationError('OAUTH1 integrations need requestTokenUrl, authorizeUrl and tokenUrl', 'requestTokenUrl');
      }
      break;
    case 'BASIC':
      if (!endpoints.verify) throw new ValidationError('BASIC integrations need a verifyUrl to test logins', 'verifyUrl');
      definition.credentialFields = [
        { key: 'username', label: 'User name', secret: false, required: true },
        { key: 'password', label: 'Password', secret: true, required: true },
      ];
      break;
    case 'OAUTH2_CLIENT_CREDENTIALS':
      if (!endpoints.token) {
        throw new ValidationError('OAUTH2_CLIENT_CREDENTIALS integrations need tokenUrl (or issuerUrl)', 'tokenUrl');
      }
      definition.credentialFields = [
        { key: 'clientId', label: 'Client id', secret: false, required: true },
        { key: 'clientSecret', label: 'Client secret', secret: true, required: true },
      ];
      break;
    case 'API_KEY': {
      const header = input.apiKeyHeader?.trim();
      if (!header || !/^[A-Za-z0-9-]{1,64}$/.test(header)) {
        throw new ValidationError('API_KEY integrations need a valid apiKeyHeader', 'apiKeyHeader');
      }
      if (!endpoints.verify) {
        throw new ValidationError('API_KEY integrations need a verifyUrl to test keys', 'verifyUrl');
      }
      definition.apiKeyHeader = { name: header, prefix: input.apiKeyPrefix ?? undefined };
      definition.credentialFields = [{ key: 'apiKey', label: 'API key', secret: true, required: true }];
      break;
    }
    default:
      throw new ValidationError('custom integrations support OAUTH2, OAUTH2_CLIENT_CREDENTIALS, OAUTH1, BASIC and API_KEY', 'authMethod');
  }
  const existing = await db.query.integrations.findFirst({ where: { accountId: viewer.accountId, key } });
  if (existing) throw new ValidationError(`key "${key}" is already registered`, 'key');
  const [row] = await db
    .insert(integrations)
    .values({
      accountId: viewer.accountId,
      key,
      name,
      authMethod: input.authMethod,
      definition: definition as unknown as Record<string, unknown>,
      createdById: viewer.userId,
    })
    .returning();
  return fromRow(row);
}
