/**
 * A local OAuth 1.0a service provider (request token, authorize, access token, a protected
 * resource) that verifies every HMAC-SHA1 signature with the `oauth-1.0a` library, so a request
 * signed with the wrong secret or token is refused as a real service would refuse it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import OAuth from 'oauth-1.0a';

export interface OAuth1Server {
  url: string;
  consumer: { key: string; secret: string };
  /** Access tokens the provider honours (delete one to revoke it at the service). */
  accessTokens: Map<string, string>;
  /** Plays the user: follows the authorize URL and returns the redirect back to the client. */
  authorize(authorizationUrl: string): Promise<string>;
  close(): Promise<void>;
}

export async function startOAuth1Server(): Promise<OAuth1Server> {
  const consumer = { key: 'patchbay-consumer', secret: 'consumer-secret-0123456789' };
  const oauth = new OAuth({
    consumer,
    signature_method: 'HMAC-SHA1',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
  });
  const requestTokens = new Map<string, { secret: string; callback: string; verifier?: string }>();
  const accessTokens = new Map<string, string>();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const random = () => randomBytes(12).toString('hex');

  /** Checks the Authorization header's signature; returns its OAuth parameters or null. */
  function verified(req: IncomingMessage, body: URLSearchParams, tokenSecret: (token?: string) => string | undefined) {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('OAuth ')) return null;
    const params: Record<string, string> = {};
    for (const part of header.slice(6).split(',')) {
      const [name, value] = part.trim().split('=');
      params[name] = decodeURIComponent(value.replace(/^"|"$/g, ''));
    }
    if (params.oauth_consumer_key !== consumer.key) return null;
    const secret = params.oauth_token ? tokenSecret(params.oauth_token) : undefined;
    if (params.oauth_token && secret === undefined) return null;
    const { oauth_signature: signature, ...oauthData } = params;
    const expected = oauth.getSignature(
      { url: `${url}${req.url!.split('?')[0]}`, method: req.method!, data: Object.fromEntries(body) },
      secret,
      oauthData as unknown as OAuth.Data,
    );
    return expected === signature ? params : null;
  }

  server.on('request', (req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const body = new URLSearchParams(raw);
      const path = new URL(req.url!, url).pathname;
      const form = (status: number, values: Record<string, string>) =>
        res.writeHead(status, { 'content-type': 'application/x-www-form-urlencoded' }).end(new URLSearchParams(values).toString());
      if (path === '/oauth/request_token') {
        const params = verified(req, body, () => undefined);
        if (!params || !body.get('oauth_callback')) return form(401, { error: 'invalid signature' });
        const token = random();
        requestTokens.set(token, { secret: random(), callback: body.get('oauth_callback')! });
        return form(200, { oauth_token: token, oauth_token_secret: requestTokens.get(token)!.secret, oauth_callback_confirmed: 'true' });
      }
      if (path === '/oauth/authorize') {
        const token = new URL(req.url!, url).searchParams.get('oauth_token') ?? '';
        const pending = requestTokens.get(token);
        if (!pending) return form(400, { error: 'unknown request token' });
        pending.verifier = random();
        const back = new URL(pending.callback);
        back.searchParams.set('oauth_token', token);
        back.searchParams.set('oauth_verifier', pending.verifier);
        return res.writeHead(302, { location: back.toString() }).end();
      }
      if (path === '/oauth/access_token') {
        const params = verified(req, body, (token) => requestTokens.get(token ?? '')?.secret);
        const pending = params ? requestTokens.get(params.oauth_token) : undefined;
        if (!params || !pending || pending.verifier !== body.get('oauth_verifier')) return form(401, { error: 'invalid request' });
        requestTokens.delete(params.oauth_token);
        const token = random();
        accessTokens.set(token, random());
        return form(200, { oauth_token: token, oauth_token_secret: accessTokens.get(token)! });
      }
      if (path === '/1/members/me') {
        const params = verified(req, body, (token) => accessTokens.get(token ?? ''));
        if (!params) return res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"invalid token"}');
        return res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"me"}');
      }
      res.writeHead(404).end();
    });
  });

  return {
    url,
    consumer,
    accessTokens,
    authorize: async (authorizationUrl) => {
      const response = await fetch(authorizationUrl, { redirect: 'manual' });
      const location = response.headers.get('location');
      if (!location) throw new Error(`authorize did not redirect (${response.status})`);
      return location;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
