/**
 * Steady arrivals for bench/token-handout.ts, in its own process: `rate` connectionAccessToken
 * requests per second, evenly spaced, for `seconds`, over at most `connections` keep-alive sockets
 * (node:http's Agent), the connection rotated per request over `ids`. Each latency counts from when
 * the request was due, not from when it could be sent, so a queue anywhere shows. Input: one JSON
 * argument { url, token, ids, connections, seconds, rate }. Output: one JSON line like
 * handout-load.mjs's.
 */
import http from 'node:http';

const { url, token, ids, connections, seconds, rate } = JSON.parse(process.argv[2]);
const query =
  'mutation($id: ID!) { connectionAccessToken(input: { connectionId: $id }) { __typename ... on ConnectionAccessTokenSuccess { result { expiresAt } } } }';
const bodies = ids.map((id) => JSON.stringify({ query, variables: { id } }));
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const target = new URL(url);
const latencies = [];
let failed = 0;
const samples = new Set();
const cpu = process.cpuUsage();

function send(index, due) {
  return new Promise((resolve) => {
    const body = bodies[index % bodies.length];
    const request = http.request(
      { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => {
          latencies.push(performance.now() - due);
          if (response.statusCode !== 200 || !text.includes('"ConnectionAccessTokenSuccess"')) {
            failed += 1;
            if (samples.size < 3) samples.add(`${response.statusCode} ${text.slice(0, 200)}`);
          }
          resolve();
        });
      },
    );
    request.on('error', (error) => {
      failed += 1;
      if (samples.size < 3) samples.add(error.message);
      resolve();
    });
    request.end(body);
  });
}

const total = Math.round(rate * seconds);
const spacing = 1000 / rate;
const start = performance.now() + 50;
const inFlight = [];
for (let i = 0; i < total; i++) {
  const due = start + i * spacing;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
  inFlight.push(send(i, due));
}
await Promise.all(inFlight);
agent.destroy();
const used = process.cpuUsage(cpu);
latencies.sort((a, b) => a - b);
const at = (p) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]);
console.log(
  JSON.stringify({
    requests: latencies.length,
    rps: latencies.length / ((performance.now() - start) / 1000),
    p50: at(50),
    p99: at(99),
    max: Math.round(latencies[latencies.length - 1]),
    failed,
    samples: [...samples],
    cpuMs: (used.user + used.system) / 1000,
  }),
);
