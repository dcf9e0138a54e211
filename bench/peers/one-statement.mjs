/**
 * The one-statement limit for bench/connection-graph.ts: node:http and postgres.js, one
 * hand-written SQL statement per request that authenticates the bearer token, applies Patchbay's
 * visibility rules and builds the whole response as JSON (row_to_json / json_agg) in PostgreSQL;
 * Node only hashes the token and writes the text it gets back. Run on the pinned Node 22.
 * Environment: DATABASE_URL, PORT. `?first=N` sets the connections per request (data sources 10, runs 3).
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import postgres from 'postgres';

const sql = postgres(process.env.DATABASE_URL, { max: 10, onnotice: () => {} });

async function graph(tokenHash, first) {
  const [row] = await sql`
    with viewer as (
      select u.id as user_id, u.account_id, (u.role = 'ADMIN' or u.is_owner) as admin, t.kind = 'SERVICE' as service
      from api_tokens t join users u on u.id = t.user_id
      where t.token_hash = ${tokenHash} and t.revoked_at is null
    )
    select json_build_object('data', json_build_object('viewer', json_build_object('account', json_build_object('connections',
      json_build_object('nodes', coalesce((
        select json_agg(json_build_object(
          'id', c.id, 'name', case when c.usable then c.name end, 'status', c.status,
          'integration', json_build_object('key', c.integration_key, 'name', i.name),
          'owner', json_build_object('name', o.name),
          'dataSources', case when c.usable then json_build_object('nodes', coalesce((
            select json_agg(json_build_object('name', d.name, 'refreshRuns', json_build_object('nodes', coalesce((
              select json_agg(json_build_object('status', r.status, 'startedAt', r.started_at, 'rows', r.rows) order by r.started_at desc, r.id desc)
              from (select * from refresh_runs r where r.data_source_id = d.id order by r.started_at desc, r.id desc limit 3) r
            ), '[]'))) order by d.created_at, d.id)
            from (select * from data_sources d where d.connection_id = c.id order by d.created_at, d.id limit 10) d
          ), '[]')) end
        ) order by c.created_at desc, c.id desc)
        from (
          select c.*, (c.shared or c.owner_id = v.user_id or v.service) as usable
          from connections c
          where c.account_id = v.account_id and (v.admin or v.service or c.shared or c.owner_id = v.user_id)
          order by c.created_at desc, c.id desc limit ${first}
        ) c
        join users o on o.id = c.owner_id
        left join patchbay_bench_integrations i on i.key = c.integration_key
      ), '[]'))))))::text as body
    from viewer v`;
  return row?.body;
}


const server = createServer((req, res) => {
  const header = req.headers.authorization ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7) : '';
  req.resume();
  req.on('end', () => {
    graph(createHash('sha256').update(token).digest('hex'), Number(new URL(req.url, 'http://x').searchParams.get('first') ?? 50)).then(
      (body) => {
        res.writeHead(body ? 200 : 401, { 'content-type': 'application/json' });
        res.end(body ?? '{"errors":[{"message":"Unauthenticated"}]}');
      },
      (error) => {
        res.writeHead(500).end(String(error.message));
      },
    );
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ listening: server.address().port }));
});
process.on('SIGTERM', () => server.close(() => sql.end({ timeout: 1 }).then(() => process.exit(0))));
