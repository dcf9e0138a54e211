/** The shape of an integration, built in (catalog.ts) or registered by an account admin. */

/** How Patchbay authenticates against the service. */
export const AUTH_METHODS = [
  'OAUTH2',
  'OAUTH2_CLIENT_CREDENTIALS',
  'OAUTH1',
  'BASIC',
  'API_KEY',
  'PROXY',
] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** MULTIPLE: any number of live connections; ONE_PER_RESOURCE: a new one supersedes the old. */
export const CONNECTION_POLICIES = ['MULTIPLE', 'ONE_PER_RESOURCE'] as const;
export type ConnectionPolicy = (typeof CONNECTION_POLICIES)[number];

/** The endpoints a connection uses; absent ones do not exist for the service. */
export interface IntegrationEndpoints {
  /** OAuth 2.0 / 1.0a authorization (user consent) URL. */
  authorize?: string;
  /** OAuth 2.0 token endpoint or OAuth 1.0a access-token endpoint. */
  token?: string;
  /** OAuth 1.0a request-token endpoint. */
  requestToken?: string;
  /** RFC 7009 (or service-specific) token revocation endpoint. */
  revoke?: string;
  /** The cheap authenticated call that proves a connection works. */
  verify?: { method: 'GET' | 'POST'; url: string };
  /** Base URL of the API the data sources read. */
  apiBase?: string;
}

/** Facts about how long an authorization lasts, from the service's documentation. */
export interface TokenLifetime {
  /** Access-token lifetime in seconds, when the service documents a fixed one. */
  accessTokenSeconds?: number;
  /** Refresh-token lifetime in seconds (e.g. LinkedIn: 365 days), after which the user must reauthorize. */
  refreshTokenSeconds?: number;
  /** Whether the service issues refresh tokens at all. */
  refreshable: boolean;
  /** Whether a refresh returns a new refresh token that replaces the old one. */
  rotatesRefreshToken?: boolean;
  /** Free-text note shown to users (e.g. "Access tokens last 60 days"). */
  note?: string;
}

/** A credential field a user fills in for BASIC, API_KEY and PROXY integrations. */
export interface CredentialField {
  key: string;
  label: string;
  secret: boolean;
  required: boolean;
  /**
   * What the service appends to the value (Jira's ".atlassian.net"): the form shows it after the
   * field, and a pasted full address ("https://acme.atlassian.net/") is trimmed to the part before it.
   */
  suffix?: string;
}

/** One service in the catalog. */
export interface IntegrationDefinition {
  /** Stable identifier, kebab-case (e.g. "google-analytics-4"). */
  key: string;
  name: string;
  /** One-sentence description shown in the catalog. */
  description: string;
  authMethod: AuthMethod;
  /** The service's developer documentation for its API auth. */
  docsUrl: string;
  endpoints: IntegrationEndpoints;
  /** OAuth scopes requested by default (empty for non-OAuth). */
  defaultScopes: string[];
  /** Fields the user fills in (BASIC, API_KEY, PROXY, client-credentials). */
  credentialFields: CredentialField[];
  /** For API_KEY: the header carrying the key (e.g. "Authorization" with a "Bearer " prefix). */
  apiKeyHeader?: { name: string; prefix?: string };
  /** Further headers; `{field}` placeholders are filled from credential fields (e.g. Copper's "{email}"). */
  credentialHeaders?: Record<string, string>;
  tokenLifetime: TokenLifetime;
  /** Whether the service offers token revocation (OAuth only). */
  revocable: boolean;
  /** What the connecting user must have or be (shown before connecting). */
  requirements: string[];
  connectionPolicy: ConnectionPolicy;
  /** What a connection is bound to (e.g. "QuickBooks company (realm id)"), if anything. */
  resourceKind?: string;
  /** Extra OAuth 2.0 authorization parameters (e.g. access_type=offline for Google). */
  authorizationParams?: Record<string, string>;
  /** Whether the service is an OpenID Connect provider (nonce is sent). */
  openId?: boolean;
  /** The OAuth issuer identifier, when known (checked against the callback's `iss`). */
  issuer?: string;
  /** A callback query parameter naming the resource connected (QuickBooks: "realmId"). */
  callbackResourceParam?: string;
}
