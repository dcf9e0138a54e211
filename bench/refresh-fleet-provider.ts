/**
 * The OAuth server for bench/refresh-fleet.ts, in its own process so its CPU is its own:
 * oidc-provider (rotating refresh tokens, reuse detection) as the tests run it. It mints
 * MINT refresh tokens, prints `{ issuer, clientId, clientSecret, tokens }` as one JSON line, and
 * answers GET /bench-stats with the refresh grants it issued and the reuse detections it saw.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startOAuthServer } from '../tests/support/oauth-server.js';

const provider = await startOAuthServer('http://127.0.0.1:1/oauth/callback', { accessTokenTtl: 3600, unbounded: true });
const tokens: string[] = [];
for (let i = 0; i < Number(process.env.MINT ?? 0); i++) tokens.push(await provider.mintRefreshToken());
let reuse = 0;
let errors = 0;
const samples = new Set<string>();
const stats = createServer((_req, res) => {
  const refreshGrants = provider.tokenRequests.filter((grant) => grant === 'refresh_token').length;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ refreshGrants, reuse, errors, samples: [...samples] }));
});
await new Promise<void>((resolve) => stats.listen(0, '127.0.0.1', resolve));
// Counted from the provider's own events: a consumed refresh token presented again revokes the grant.
provider.onGrantError((message) => {
  errors += 1;
  if (samples.size < 5) samples.add(message);
  if (/already used/.test(message)) reuse += 1;
});
process.stdout.write(`${JSON.stringify({ issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret, statsPort: (stats.address() as AddressInfo).port, tokens })}\n`);
