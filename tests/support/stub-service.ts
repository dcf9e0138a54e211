/**
 * A stand-in for a third-party SaaS API (which cannot run here), on a free localhost port. It
 * checks an API key header like the real services do; tests switch which keys are valid and make
 * it fail the ways services fail (5xx, 429 with Retry-After, reset connections, malformed JSON).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StubMode = 'normal' | 'error500' | 'unavailable503' | 'rateLimited429' | 'reset' | 'malformed' | 'lapsed';

export interface StubService {
  /** Base URL, e.g. http://127.0.0.1:43123 */
  url: string;
  /** Keys the stub accepts right now. */
  validKeys: Set<string>;
  mode: StubMode;
  /** Every request's headers, to check what Patchbay sent. */
  requests: IncomingMessage['headers'][];
  close(): Promise<void>;
}

export async function startStubService(header = 'x-api-key'): Promise<StubService> {
  const stub = { validKeys: new Set<string>(), mode: 'normal' as StubMode, requests: [] as IncomingMessage['headers'][] };
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
      case 'malformed':
        return res.writeHead(200, { 'content-type': 'application/json' }).end('{"user": ');
      case 'lapsed':
        return json(res, 403, { error: { message: 'API units are not available on your current plan' } });
      case 'normal': {
        const key = req.headers[header];
        if (typeof key !== 'string' || !stub.validKeys.has(key)) {
          // Like some real services, echo part of what was sent.
          return json(res, 401, { message: `Invalid API key provided: ${String(key)}` });
        }
        return json(res, 200, { id: 'me', plan: 'pro' });
      }
    }
  });
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
