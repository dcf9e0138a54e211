/**
 * The load generator of bench/token-handout.ts, in its own process: autocannon with
 * `connections` concurrent callers of `connectionAccessToken` for `seconds`, the connection rotated
 * per request over `ids`; back to back, or `rate` requests per second in all when given (each
 * caller sends its share at the start of each of its seconds, so the load comes in bursts; latencies
 * are corrected for coordinated omission: a late request counts from when it was due).
 * Input: one JSON argument { url, token, ids, connections, seconds, rate? }. Output: one JSON line
 * with requests, req/s, p50/p99/max ms, failures (anything but ConnectionAccessTokenSuccess) and
 * this process's own CPU in ms.
 */
import autocannon from 'autocannon';

const { url, token, ids, connections, seconds, rate } = JSON.parse(process.argv[2]);
const query =
  'mutation($id: ID!) { connectionAccessToken(input: { connectionId: $id }) { __typename ... on ConnectionAccessTokenSuccess { result { expiresAt } } } }';
const bodies = ids.map((id) => JSON.stringify({ query, variables: { id } }));
let next = 0;
let failed = 0;
const samples = new Set();
const cpu = process.cpuUsage();
const result = await autocannon({
  url,
  connections,
  duration: seconds,
  ...(rate ? { overallRate: rate } : {}),
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  requests: [
    {
      setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }),
      onResponse: (status, body) => {
        if (status === 200 && body.includes('"ConnectionAccessTokenSuccess"')) return;
        failed += 1;
        if (samples.size < 3) samples.add(`${status} ${body.slice(0, 200)}`);
      },
    },
  ],
});
const used = process.cpuUsage(cpu);
console.log(
  JSON.stringify({
    requests: result.requests.total,
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    failed: failed + result.errors + result.timeouts,
    samples: [...samples],
    cpuMs: (used.user + used.system) / 1000,
  }),
);
