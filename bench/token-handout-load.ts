/**
 * The load side of bench/token-handout.ts, in its own process so the gateway's CPU is its own:
 * CONCURRENCY callers each send connectionAccessToken requests back to back for DURATION_MS
 * (the connection rotated per request) and print their latencies as JSON on stdout.
 */
const { URL: target, TOKEN, CONNECTIONS, CONCURRENCY, DURATION_MS } = process.env;
const ids = JSON.parse(CONNECTIONS ?? '[]') as string[];
const query = 'mutation($id: ID!) { connectionAccessToken(input: { connectionId: $id }) { __typename ... on ConnectionAccessTokenSuccess { result { expiresAt } } } }';

async function caller(until: number, latencies: number[], failures: string[], offset: number) {
  for (let i = offset; Date.now() < until; i++) {
    const started = performance.now();
    const response = await fetch(`${target}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ query, variables: { id: ids[i % ids.length] } }),
    });
    const body = (await response.json()) as { data?: { connectionAccessToken?: { __typename: string } } };
    latencies.push(performance.now() - started);
    const outcome = body.data?.connectionAccessToken?.__typename;
    if (response.status !== 200 || outcome !== 'ConnectionAccessTokenSuccess') failures.push(`${response.status} ${outcome ?? 'no data'}`);
  }
}

const latencies: number[] = [];
const failures: string[] = [];
const until = Date.now() + Number(DURATION_MS);
await Promise.all(Array.from({ length: Number(CONCURRENCY) }, (_, index) => caller(until, latencies, failures, index)));
process.stdout.write(JSON.stringify({ latencies, failures: failures.slice(0, 5), failed: failures.length }));
