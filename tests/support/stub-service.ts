/**
 * A stand-in for a third-party SaaS API (which cannot run here), on a free localhost port. It
 * checks an API key header like the real services do; tests switch which keys are valid and make
 * it fail the ways services fail (5xx, 429 with Retry-After, reset connections, malformed JSON).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StubMode = 'normal' | 'error500' | 'unavailable503' | 'rateLimited429' | 'reset' | 'malformed' | 'lapsed' | 'hang';

export interface StubService {
  /** Base URL, e.g. http://127.0.0.1:43123 */
  url: string;
  /** Keys the stub accepts right now (as X-Api-Key, or as an OAuth bearer access token). */
  validKeys: Set<string>;
  /** Refresh tokens its OAuth token endpoint accepts; each is single-use (rotation). */
  validRefreshTokens: Set<string>;
  mode: StubMode;
  /** Every request's headers, to check what Patchbay sent. */
  requests: IncomingMessage['headers'][];
  close(): Promise<void>;
}

export async function startStubService(header = 'x-api-key'): Promise<StubService> {
  const stub = {
    validKeys: new Set<string>(),
    validRefreshTokens: new Set<string>(),
    mode: 'normal' as StubMode,
    requests: [] as IncomingMessage['headers'][],
  };
  let issued = 0;
  const readBody = (req: IncomingMessage) =>
    new Promise<URLSearchParams>((resolve) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => resolve(new URLSearchParams(body)));
    });
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  const server = createServer((req, res) => {
    stub.requests.push(req.headers);
    switch (stub.mode) {
      case 'error500':
        return json(res, 500, { message: 'Internal Server Error' });
      case 'unavailable503':
        return json(res, 503, { message: 'Service Unavailable' });
      case 'rateLimited429':
        return json(res, 429, { message: 'Too many requests' }, { 'retry-after': '7' });
      case 'reset':
        return req.socket.destroy();
      case 'hang':
        return; // never answers: the caller's timeout decides
      case 'malformed':
        return res.writeHead(200, { 'content-type': 'application/json' }).end('{"user": ');
      case 'lapsed':
        return json(res, 403, { error: { message: 'API units are not available on your current plan' } });
      case 'normal': {
        if (req.url === '/token') {
          void readBody(req).then((form) => {
            const presented = form.get('refresh_token') ?? '';
            if (form.get('grant_type') !== 'refresh_token' || !stub.validRefreshTokens.delete(presented)) {
              return json(res, 400, { error: 'invalid_grant', error_description: 'refresh token is invalid or expired' });
            }
            issued += 1;
            const accessToken = `stub-access-${issued}`;
            const refreshToken = `stub-refresh-${issued}`;
            stub.validKeys.add(accessToken);
            stub.validRefreshTokens.add(refreshToken);
            json(res, 200, { access_token: accessToken, refresh_token: refreshToken, token_type: 'Bearer', expires_in: 3600 });
          });
          return;
        }
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (basic) {
          const login = Buffer.from(basic, 'base64').toString('utf8');
          return stub.validKeys.has(login) ? json(res, 200, { user: login.split(':')[0] }) : json(res, 401, { message: 'Bad user name or password' });
        }
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (bearer) {
          // Echoes the token it refuses, as some services do (Patchbay must not show it back).
          return stub.validKeys.has(bearer) ? json(res, 200, { sub: 'me' }) : json(res, 401, { error: 'invalid_token', error_description: `Invalid access token: ${bearer}` });
        }
        const key = req.headers[header];
        if (typeof key !== 'string' || !stub.validKeys.has(key)) {
          // Like some real services, echo part of what was sent.
          return json(res, 401, { message: `Invalid API key provided: ${String(key)}` });
        }
        return json(res, 200, { id: 'me', plan: 'pro' });
      }
    }
  });
  // Idle keep-alive sockets are closed by the client (undici: 4 s) before the server would
  // (Node's default is 5 s); otherwise, on a loaded machine, the gateway can reuse a socket the stub
  // is closing and see ECONNRESET (a transient failure) where the test expects a clean answer.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(stub, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
