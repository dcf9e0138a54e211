/**
 * The outbound address guard (server/edge/outbound.ts) on every call the gateway makes for a
 * user: database logins, HTTP credential checks, OAuth discovery and token endpoints, OAuth 1.0a.
 * Every test server here is on loopback, so refusal is proven with the default policy (nothing
 * allowed, `withOutbound({})`) and allowance with the CIDR list tests start with (127.0.0.0/8,
 * ::1/128). TCP listeners count the connections they accept: a refused destination is never dialled.
 */
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../server/config.js';
import type { Database } from '../server/db/client.js';
import { connections } from '../server/db/schema.js';
import { setServiceTimeout } from '../server/domain/service-calls.js';
import { eq } from 'drizzle-orm';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, tenant, type Tenant } from './support/fixtures.js';
import { MACHINE_CLIENT, type OAuthServer, startOAuthServer } from './support/oauth-server.js';
import { withOutbound } from './support/outbound.js';

const START = `mutation($input: StartConnectionInput!) {
  startConnection(input: $input) {
    __typename
    ... on StartConnectionSuccess { result { connection { id status } } }
    ... on Error { message code }
    ... on ValidationError { field }
  }
}`;
const REGISTER = `mutation($input: RegisterIntegrationInput!) {
  registerIntegration(input: $input) {
    __typename
    ... on Error { message }
    ... on ValidationError { field }
  }
}`;

/** A TCP listener that counts the connections it accepts and then drops them, holds them silently, or is closed. */
interface Listener {
  port: number;
  accepted: number;
  close(): Promise<void>;
}

async function listen(mode: 'drop' | 'silent'): Promise<Listener> {
  const held = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    listener.accepted += 1;
    if (mode === 'drop') socket.destroy();
    else held.add(socket.on('error', () => {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const listener: Listener = {
    port: (server.address() as AddressInfo).port,
    accepted: 0,
    close: () => {
      for (const socket of held) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return listener;
}

/** A port on loopback where nothing listens (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const listener = await listen('drop');
  await listener.close();
  return listener.port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const dbLogin = (host: string, port: number | string) => ({ host, port: String(port), database: 'app', user: 'reader', password: 'login-secret-123' });

async function start(tx: Database, t: Tenant, integration: string, credentials: Record<string, string>) {
  const result = await graphql(tx, t.member.viewer, START, { input: { integration, name: 'Outbound', credentials } });
  expect(result.errors).toBeUndefined();
  return result.data!.startConnection;
}

/** Registers a custom integration as `t`'s admin; returns the typed result. */
async function register(tx: Database, t: Tenant, input: Record<string, unknown>) {
  const result = await graphql(tx, t.admin.viewer, REGISTER, { input });
  expect(result.errors).toBeUndefined();
  return result.data!.registerIntegration;
}

const PRIVATE_REFUSED = 'private addresses are not allowed';

describe('PATCHBAY_ALLOW_PRIVATE_HOSTS', () => {
  it('is a comma-separated CIDR list, empty by default; anything else is a ConfigError naming the variable with an example', () => {
    expect(readConfig({}).allowPrivateHosts).toEqual([]);
    expect(readConfig({ PATCHBAY_ALLOW_PRIVATE_HOSTS: ' 127.0.0.0/8, ::1/128,10.0.0.0/8 ,' }).allowPrivateHosts).toEqual([
      '127.0.0.0/8',
      '::1/128',
      '10.0.0.0/8',
    ]);
    const cases: [string, RegExp][] = [
      ['10.0.0.5', /"10\.0\.0\.5" is an address, not a range \(write 10\.0\.0\.5\/32 for that one address\)/],
      ['::1', /write ::1\/128/],
      ['localhost/8', /"localhost\/8" is not a CIDR range/],
      ['10.0.0.0/33', /"10\.0\.0\.0\/33" is not a CIDR range/],
      ['127.1/8', /"127\.1\/8" is not a CIDR range/],
    ];
    for (const [value, problem] of cases) {
      const read = () => readConfig({ PATCHBAY_ALLOW_PRIVATE_HOSTS: value });
      expect(read, value).toThrow(ConfigError);
      expect(read, value).toThrow(problem);
      expect(read, value).toThrow(/^PATCHBAY_ALLOW_PRIVATE_HOSTS must be a comma-separated list of CIDR ranges: .*\(example: 127\.0\.0\.0\/8,::1\/128,10\.0\.0\.0\/8\)$/);
    }
  });
});

describeEachDatabase('outbound guard', (db) => {
  let drop: Listener;
  let silent: Listener;
  let provider: OAuthServer;
  beforeAll(async () => {
    [drop, silent, provider] = await Promise.all([listen('drop'), listen('silent'), startOAuthServer('http://127.0.0.1:1/oauth/callback')]);
  });
  afterAll(async () => {
    await Promise.all([drop?.close(), silent?.close(), provider?.close()]);
  });

  it('refuses a PostgreSQL or MySQL login to loopback by default, by literal, IPv6 or a name resolving there, without dialling', async () => {
    await withOutbound({}, () =>
      inRollback(db(), async (tx) => {
        const a = await tenant(tx, 'a');
        const before = drop.accepted;
        const cases: [string, string, string][] = [
          ['postgresql', '127.0.0.1', `127.0.0.1 is a private address; ${PRIVATE_REFUSED}`],
          ['postgresql', 'localhost', `localhost resolves to a private address; ${PRIVATE_REFUSED}`],
          ['postgresql', '::1', `::1 is a private address; ${PRIVATE_REFUSED}`],
          ['postgresql', '::ffff:127.0.0.1', `::ffff:127.0.0.1 is a private address; ${PRIVATE_REFUSED}`],
          ['mysql', '127.0.0.1', `127.0.0.1 is a private address; ${PRIVATE_REFUSED}`],
          ['mysql', 'localhost', `localhost resolves to a private address; ${PRIVATE_REFUSED}`],
        ];
        for (const [integration, host, message] of cases) {
          const refused = await start(tx, a, integration, dbLogin(host, drop.port));
          expect(refused, `${integration} ${host}`).toEqual({ __typename: 'ValidationError', code: 'VALIDATION', field: 'credentials.host', message });
        }
        expect(drop.accepted).toBe(before);
        expect(await tx.select().from(connections).where(eq(connections.name, 'Outbound'))).toHaveLength(0);
      }),
    );
  });

  it('lets a login reach loopback once PATCHBAY_ALLOW_PRIVATE_HOSTS lists it, and only the ranges listed', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      await withOutbound({ PATCHBAY_ALLOW_PRIVATE_HOSTS: '10.0.0.0/8,::1/128' }, async () => {
        const refused = await start(tx, a, 'postgresql', dbLogin('127.0.0.1', drop.port));
        expect(refused).toMatchObject({ __typename: 'ValidationError', message: `127.0.0.1 is a private address; ${PRIVATE_REFUSED}` });
      });
      await withOutbound({ PATCHBAY_ALLOW_PRIVATE_HOSTS: '127.0.0.0/8' }, async () => {
        const before = drop.accepted;
        // Allowed: dialled (the listener drops it, so the login is unreachable, not refused).
        const dialled = await start(tx, a, 'postgresql', dbLogin('127.0.0.1', drop.port));
        expect(dialled).toMatchObject({ __typename: 'ProviderUnavailableError', message: `The service could not be reached: Could not reach 127.0.0.1:${drop.port}` });
        expect(drop.accepted).toBe(before + 1);
      });
    });
  });

  it('says the same "Could not reach host:port" for a closed port, a host that accepts and drops, and one that never answers', async () => {
    setServiceTimeout(500);
    try {
      await inRollback(db(), async (tx) => {
        const a = await tenant(tx, 'a');
        const closed = await closedPort();
        const ports = [closed, drop.port, silent.port];
        // A BASIC integration per port, for the same check over HTTP.
        for (const port of ports) {
          const registered = await register(tx, a, { key: `loopback-basic-${port}`, name: `Loopback ${port}`, authMethod: 'BASIC', verifyUrl: `http://127.0.0.1:${port}/me` });
          expect(registered.__typename).toBe('RegisterIntegrationSuccess');
        }
        for (const port of ports) {
          const expected = `The service could not be reached: Could not reach 127.0.0.1:${port}`;
          for (const integration of ['postgresql', 'mysql']) {
            const result = await start(tx, a, integration, dbLogin('127.0.0.1', port));
            expect(result, `${integration} ${port}`).toMatchObject({ __typename: 'ProviderUnavailableError', message: expected });
          }
          const overHttp = await start(tx, a, `loopback-basic-${port}`, { username: 'someone', password: 'basic-secret-123' });
          expect(overHttp, `http ${port}`).toMatchObject({ __typename: 'ProviderUnavailableError', message: expected });
        }
      });
    } finally {
      setServiceTimeout(10_000);
    }
  });

  it('a database login that fails dials once: nothing redials after the caller has its answer', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      for (const integration of ['postgresql', 'mysql']) {
        const before = drop.accepted;
        const result = await start(tx, a, integration, dbLogin('127.0.0.1', drop.port));
        expect(result, integration).toMatchObject({ __typename: 'ProviderUnavailableError', message: `The service could not be reached: Could not reach 127.0.0.1:${drop.port}` });
        const answered = drop.accepted;
        // A few seconds after the answer: postgres.js used to redial this host hundreds of times a second.
        await sleep(2_500);
        expect(drop.accepted, integration).toBe(answered);
        expect(answered - before, integration).toBe(1);
      }
    });
  });

  it('refuses OAuth discovery and the token endpoint on loopback by default, and reaches them when allowed', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const origin = new URL(provider.issuer).origin;
      const discovery = { key: 'loopback-machine', name: 'Loopback machine', authMethod: 'OAUTH2_CLIENT_CREDENTIALS', issuerUrl: provider.issuer };
      await withOutbound({}, async () => {
        expect(await register(tx, a, discovery)).toEqual({
          __typename: 'ValidationError',
          field: 'issuerUrl',
          message: `Discovery at ${origin} failed: 127.0.0.1 is a private address; ${PRIVATE_REFUSED}`,
        });
      });
      // Allowed (the test default lists 127.0.0.0/8): discovery works and gives the token endpoint.
      expect(await register(tx, a, discovery)).toEqual({ __typename: 'RegisterIntegrationSuccess' });
      const credentials = { clientId: MACHINE_CLIENT.id, clientSecret: MACHINE_CLIENT.secret };
      const tokenRequests = provider.tokenRequests.length;
      await withOutbound({}, async () => {
        expect(await start(tx, a, 'loopback-machine', credentials)).toEqual({
          __typename: 'ValidationError',
          code: 'VALIDATION',
          field: 'integration',
          message: `127.0.0.1 is a private address; ${PRIVATE_REFUSED}`,
        });
      });
      expect(provider.tokenRequests.length).toBe(tokenRequests);
      expect(await start(tx, a, 'loopback-machine', credentials)).toMatchObject({
        __typename: 'StartConnectionSuccess',
        result: { connection: { status: 'ACTIVE' } },
      });
      expect(provider.tokenRequests.length).toBe(tokenRequests + 1);
    });
  });

  it('refuses an OAuth 1.0a request-token endpoint on loopback by default', async () => {
    await inRollback(db(), async (tx) => {
      const a = await tenant(tx, 'a');
      const before = drop.accepted;
      const base = `http://127.0.0.1:${drop.port}`;
      const registered = await register(tx, a, {
        key: 'loopback-oauth1',
        name: 'Loopback OAuth 1',
        authMethod: 'OAUTH1',
        requestTokenUrl: `${base}/request`,
        authorizeUrl: `${base}/authorize`,
        tokenUrl: `${base}/token`,
      });
      expect(registered.__typename).toBe('RegisterIntegrationSuccess');
      const configured = await graphql(tx, a.admin.viewer, `mutation { configureIntegration(input: { integration: "loopback-oauth1", clientId: "k", clientSecret: "s" }) { __typename } }`);
      expect(configured.errors).toBeUndefined();
      await withOutbound({}, async () => {
        const result = await graphql(tx, a.member.viewer, START, { input: { integration: 'loopback-oauth1', name: 'Outbound' } });
        expect(result.data!.startConnection).toEqual({
          __typename: 'ValidationError',
          code: 'VALIDATION',
          field: 'integration',
          message: `127.0.0.1 is a private address; ${PRIVATE_REFUSED}`,
        });
      });
      expect(drop.accepted).toBe(before);
    });
  });
});

const pgUrl = process.env.TEST_DATABASE_URL ? new URL(process.env.TEST_DATABASE_URL) : undefined;

describe.runIf(pgUrl)('a PostgreSQL login to the gateway’s own database server', () => {
  describeEachDatabase('outbound guard', (db) => {
    it('is refused by default and lists tables only once the operator allows loopback', async () => {
      await inRollback(db(), async (tx) => {
        const a = await tenant(tx, 'a');
        const login = { ...dbLogin(pgUrl!.hostname, pgUrl!.port || 5432), database: pgUrl!.pathname.slice(1), user: decodeURIComponent(pgUrl!.username) };
        await withOutbound({}, async () => {
          expect(await start(tx, a, 'postgresql', login)).toMatchObject({ __typename: 'ValidationError', field: 'credentials.host', message: new RegExp(PRIVATE_REFUSED) });
        });
        await withOutbound({ PATCHBAY_ALLOW_PRIVATE_HOSTS: '127.0.0.0/8,::1/128' }, async () => {
          expect(await start(tx, a, 'postgresql', login)).toMatchObject({ __typename: 'StartConnectionSuccess', result: { connection: { status: 'ACTIVE' } } });
        });
      });
    });
  });
});
