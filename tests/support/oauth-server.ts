/**
 * A real OAuth 2.0 / OpenID Connect authorization server for tests: oidc-provider in-process on a
 * free localhost port, with PKCE required, rotating refresh tokens, revocation and introspection,
 * and short-lived access tokens. `authorize(url)` plays the user: it signs in and consents through
 * the provider's own interaction pages (cookies and forms, no shortcuts) and returns the URL the
 * provider redirects back to.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Adapter } from 'oidc-provider';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
import { graphqlData } from './graphql-http.js';

export interface OAuthServer {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Token endpoint requests seen, by grant type (to count refreshes). */
  tokenRequests: string[];
  /** Plays the user through login and consent; resolves with the redirect back to the client. */
  authorize(authorizationUrl: string, login?: string): Promise<string>;
  /**
   * Issues a grant and its refresh token directly in the provider (what a completed sign-in with
   * `offline_access` leaves behind), for tests and benchmarks that need many connections fast.
   */
  mintRefreshToken(login?: string): Promise<string>;
  /** Revokes a token at the provider itself, as a user removing the app's access there would. */
  revoke(token: string): Promise<void>;
  /** Calls `listener` with the description of each token request the provider refused (e.g. a reused refresh token). */
  onGrantError(listener: (message: string) => void): void;
  /** With `faults: true`: the proxy every request goes through (faults apply to the token endpoint). */
  faults?: FaultProxy;
  close(): Promise<void>;
}

/** An app-only client for the client-credentials grant. */
export const MACHINE_CLIENT = { id: 'patchbay-machine', secret: 'machine-secret-that-is-long-enough-0123456789' };

export async function startOAuthServer(
  redirectUri: string,
  options: {
    accessTokenTtl?: number;
    /** Put a fault-injecting proxy in front: the issuer is the proxy's URL. */
    faults?: boolean;
    /** Keep every grant (the quick-start store forgets beyond 1,000 entries): benchmarks mint thousands. */
    unbounded?: boolean;
  } = {},
): Promise<OAuthServer> {
  const clientId = 'patchbay-test';
  const clientSecret = 'test-client-secret-that-is-long-enough-0123456789';
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const faults = options.faults ? await startFaultProxy('/token') : undefined;
  if (faults) faults.upstreamPort = port;
  const issuer = faults?.url ?? `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    ...(options.unbounded ? { adapter: await unboundedAdapter() } : {}),
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
      {
        client_id: MACHINE_CLIENT.id,
        client_secret: MACHINE_CLIENT.secret,
        redirect_uris: [],
        grant_types: ['client_credentials'],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
    },
    rotateRefreshToken: true,
    ttl: { AccessToken: options.accessTokenTtl ?? 60 },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, email: `${sub}@example.test` }) }),
  });
  const tokenRequests: string[] = [];
  provider.on('grant.success', (ctx) => tokenRequests.push(String((ctx.oidc.params as { grant_type?: string })?.grant_type ?? '')));
  provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error', error));
  const handler = provider.callback();
  server.on('request', handler);

  async function authorize(authorizationUrl: string, login = 'pam'): Promise<string> {
    const cookies = new Map<string, string>();
    const cookieHeader = () => [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    let url = authorizationUrl;
    let method = 'GET';
    let body: URLSearchParams | undefined;
    for (let step = 0; step < 20; step++) {
      if (url.startsWith(redirectUri)) return url;
      const response = await fetch(url, { method, body, redirect: 'manual', headers: { cookie: cookieHeader() } });
      for (const setCookie of response.headers.getSetCookie()) {
        const [pair] = setCookie.split(';');
        const index = pair.indexOf('=');
        cookies.set(pair.slice(0, index), pair.slice(index + 1));
      }
      const location = response.headers.get('location');
      if (location) {
        url = new URL(location, url).toString();
        method = 'GET';
        body = undefined;
        continue;
      }
      const html = await response.text();
      const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
      if (!form) throw new Error(`No form at ${url} (${response.status}): ${html.slice(0, 300)}`);
      body = new URLSearchParams();
      for (const [tag] of form[2].matchAll(/<input[^>]*>/g)) {
        const name = /name="([^"]*)"/.exec(tag)?.[1];
        if (name) body.set(name, /value="([^"]*)"/.exec(tag)?.[1] ?? '');
      }
      if (body.has('login')) body.set('login', login);
      if (body.has('password')) body.set('password', 'any');
      url = new URL(form[1], url).toString();
      method = 'POST';
    }
    throw new Error('Authorization did not come back to the client');
  }

  return {
    issuer,
    clientId,
    clientSecret,
    tokenRequests,
    authorize,
    onGrantError: (listener) => {
      provider.on('grant.error', (_ctx, error) => listener(String((error as { error_description?: string }).error_description ?? error.message)));
    },
    mintRefreshToken: async (login = 'pam') => {
      const scope = 'openid email offline_access';
      const client = (await provider.Client.find(clientId))!;
      const grant = new provider.Grant({ accountId: login, clientId });
      grant.addOIDCScope(scope);
      const grantId = await grant.save();
      return new provider.RefreshToken({ accountId: login, client, grantId, scope, gty: 'authorization_code' }).save();
    },
    revoke: async (token: string) => {
      const response = await fetch(`${issuer}/token/revocation`, {
        method: 'POST',
        body: new URLSearchParams({ token, client_id: clientId, client_secret: clientSecret }),
      });
      if (!response.ok) throw new Error(`revocation failed: ${response.status}`);
    },
    faults,
    close: async () => {
      await faults?.close();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

/** oidc-provider's own in-memory adapter over a plain Map, without the quick-start store's size limit. */
async function unboundedAdapter() {
  // @ts-expect-error: a deep import of oidc-provider's quick-start adapter, which ships no types
  const { default: MemoryAdapter } = (await import('oidc-provider/lib/adapters/memory_adapter.js')) as {
    default: new (model: string, store: Map<string, unknown>) => Adapter;
  };
  const store = new Map<string, unknown>();
  return (model: string) => new MemoryAdapter(model, store);
}

/** The integration key `registerOAuthIntegration` gives the provider in the gateway. */
const OAUTH_INTEGRATION = 'test-oidc';

/** What the gateway answered when the provider was registered and configured. */
export interface RegisteredOAuthIntegration {
  callbackUrl: string;
  endpoints: { authorizeUrl: string; revokeUrl: string | null; verifyUrl: string | null };
  oauthClientId: string;
}

/**
 * Registers `provider` in the gateway at `base` as the custom integration `test-oidc` (endpoints
 * found by discovery from its issuer) and configures the provider's client for it, as an account
 * admin would; throws with the gateway's message if either step is refused.
 */
export async function registerOAuthIntegration(base: string, adminToken: string, provider: OAuthServer): Promise<RegisteredOAuthIntegration> {
  const registered = await graphqlData(
    base,
    adminToken,
    `mutation($input: RegisterIntegrationInput!) { registerIntegration(input: $input) { __typename ... on Error { message } ... on RegisterIntegrationSuccess { integration { callbackUrl endpoints { authorizeUrl revokeUrl verifyUrl } } } } }`,
    { input: { key: OAUTH_INTEGRATION, name: 'Test OIDC', authMethod: 'OAUTH2', issuerUrl: provider.issuer, scopes: ['openid', 'email', 'offline_access'] } },
  );
  if (registered.registerIntegration.__typename !== 'RegisterIntegrationSuccess') throw new Error(`registerIntegration: ${registered.registerIntegration.message}`);
  const configured = await graphqlData(
    base,
    adminToken,
    `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename ... on Error { message } ... on ConfigureIntegrationSuccess { integration { oauthClientId } } } }`,
    { input: { integration: OAUTH_INTEGRATION, clientId: provider.clientId, clientSecret: provider.clientSecret } },
  );
  if (configured.configureIntegration.__typename !== 'ConfigureIntegrationSuccess') throw new Error(`configureIntegration: ${configured.configureIntegration.message}`);
  return { ...registered.registerIntegration.integration, oauthClientId: configured.configureIntegration.integration.oauthClientId };
}
