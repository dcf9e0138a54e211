/**
 * The load generator of bench/connection-graph.ts, in its own process: autocannon with
 * `connections` concurrent clients for `seconds`, the bearer token rotated per request over
 * `tokens` (one per account). Input: one JSON argument { url, body, tokens, connections, seconds }.
 * Output: one JSON line with requests, req/s, p50/p99 ms and non-2xx/error counts.
 */
import autocannon from 'autocannon';

const { url, body, tokens, connections, seconds } = JSON.parse(process.argv[2]);
let next = 0;
const result = await autocannon({
  url,
  connections,
  duration: seconds,
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body,
  requests: [
    {
      setupRequest(request) {
        const token = tokens[next++ % tokens.length];
        return { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } };
      },
    },
  ],
});
console.log(
  JSON.stringify({
    requests: result.requests.total,
    seconds: result.duration,
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }),
);
