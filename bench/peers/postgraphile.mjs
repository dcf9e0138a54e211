/**
 * PostGraphile 5 (amber preset) over Patchbay's tables, for bench/connection-graph.ts. Run on the
 * pinned Node 22. Tenancy is PostgreSQL's: every request runs as the role patchbay_bench_viewer with
 * `bench.token_hash` set to the SHA-256 of its bearer token, and the row-level security policies
 * that bench/connection-graph.ts installs resolve the token to its user and account inside each
 * statement (the same rules as Patchbay's visibility: connections of the account for an admin,
 * data sources only through connections the viewer may use).
 * Environment: DATABASE_URL, PORT.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';

const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString: process.env.DATABASE_URL, schemas: ['public'] })],
  grafast: {
    context(requestContext) {
      const header = requestContext.node?.req?.headers.authorization ?? '';
      const token = header.startsWith('Bearer ') ? header.slice(7) : '';
      return {
        pgSettings: {
          role: 'patchbay_bench_viewer',
          'bench.token_hash': createHash('sha256').update(token).digest('hex'),
        },
      };
    },
  },
  grafserv: { graphiql: false, watch: false },
  schema: { exportSchemaSDLPath: undefined },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
serv.addTo(server).catch((error) => {
  console.error(error);
  process.exit(1);
});
await pgl.getSchema();
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ listening: server.address().port }));
});
process.on('SIGTERM', () => server.close(() => pgl.release().then(() => process.exit(0))));
