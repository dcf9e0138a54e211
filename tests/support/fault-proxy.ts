/**
 * A fault-injecting HTTP proxy in front of a test server (the OAuth provider), for the failures a
 * real provider shows under load: an answer that arrives after the caller's timeout, a connection
 * reset after the provider has acted on the request (its answer lost), a 429/503 with
 * Retry-After, and a request that hangs. Faults apply to one path (the token endpoint); every
 * other request passes through untouched. Requests to that path are counted at the proxy, so a
 * test counts what actually left the gateways.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  /** Forward and answer as the upstream does. */
  | { kind: 'pass' }
  /** Forward at once; hold the upstream's answer for `ms` before relaying it. */
  | { kind: 'delay'; ms: number }
  /** Forward, let the upstream act, then reset the client's connection instead of answering. */
  | { kind: 'resetAfterForward' }
  /** Answer `status` (with Retry-After when given) without forwarding. */
  | { kind: 'status'; status: number; retryAfter?: string }
  /** Neither forward nor answer. */
  | { kind: 'hang' };

export interface FaultProxy {
  url: string;
  /** The fault applied to requests for `path` from now on. */
  fault: Fault;
  /** Requests for `path` that reached the proxy. */
  requests: number;
  /** Requests for `path` the proxy forwarded to the upstream. */
  forwarded: number;
  /** Requests for `path` not yet answered, and the most there were at once (resettable). */
  inFlight: number;
  peakInFlight: number;
  /** Where requests go; set once the upstream listens. */
  upstreamPort: number;
  close(): Promise<void>;
}

/** Starts the proxy on a free loopback port; faults apply to requests whose path is `path`. */
export async function startFaultProxy(path: string): Promise<FaultProxy> {
  const server: Server = createServer();
  const held = new Set<ServerResponse>();
  const proxy: FaultProxy = {
    url: '',
    fault: { kind: 'pass' },
    requests: 0,
    forwarded: 0,
    inFlight: 0,
    peakInFlight: 0,
    upstreamPort: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of held) response.socket?.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  function forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const upstream = request(
        { host: '127.0.0.1', port: proxy.upstreamPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }));
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const faulty = new URL(req.url ?? '/', 'http://proxy').pathname === path;
      const fault: Fault = faulty ? proxy.fault : { kind: 'pass' };
      if (faulty) {
        proxy.requests += 1;
        proxy.inFlight += 1;
        proxy.peakInFlight = Math.max(proxy.peakInFlight, proxy.inFlight);
        res.on('close', () => (proxy.inFlight -= 1));
      }
      if (fault.kind === 'hang') {
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      if (fault.kind === 'status') {
        res.writeHead(fault.status, {
          'content-type': 'application/json',
          ...(fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }),
        });
        res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: `Injected ${fault.status}` }));
        return;
      }
      try {
        if (faulty) proxy.forwarded += 1;
        const answer = await forward(req, Buffer.concat(chunks));
        if (fault.kind === 'resetAfterForward') {
          req.socket.destroy();
          return;
        }
        if (fault.kind === 'delay') {
          held.add(res);
          await new Promise((resolve) => setTimeout(resolve, fault.ms));
          held.delete(res);
          if (res.destroyed) return;
        }
        const headers = { ...answer.headers };
        delete headers['transfer-encoding'];
        headers['content-length'] = String(answer.body.length);
        res.writeHead(answer.status, headers);
        res.end(answer.body);
      } catch {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
