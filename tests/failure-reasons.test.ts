/**
 * Failure classification by evidence: every SQLSTATE, MySQL error number and network code Patchbay
 * maps (table-driven, so a mapping added without a case here fails), then the same reasons from
 * this machine's real PostgreSQL and MariaDB, a closed port and an unresolvable name; texts for a
 * connection being created apart from an existing one; only secret fields redacted.
 */
import { createServer } from 'node:http';
import { eq } from 'drizzle-orm';
import type { AddressInfo } from 'node:net';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import type { Database } from '../server/db/client.js';
import { connections, disconnectReason } from '../server/db/schema.js';
import { DISCONNECT_REASONS, reasonText } from '../server/domain/disconnect-reasons.js';
import {
  classifyDatabaseLoginFailure,
  classifyNetworkFailure,
  MYSQL_LOGIN_REFUSALS,
  POSTGRES_LOGIN_REFUSALS,
  withoutSecrets,
} from '../server/domain/failures.js';
import type { IntegrationDefinition } from '../server/domain/catalog-types.js';
import { verifyAccessToken } from '../server/domain/oauth2.js';
import { createLog } from '../server/log.js';
import type { DisconnectReason } from '../server/domain/types.js';
import { describeEachDatabase, inRollback } from './support/db.js';
import { graphql, tenant, type Tenant, testVault } from './support/fixtures.js';
import { postGraphql } from './support/graphql-http.js';
import { startStubService, type StubService } from './support/stub-service.js';

const TARGET = { host: 'db.example.test', port: 5432 };

/** A PostgreSQL server's refusal as postgres.js throws it. */
const postgresError = (code: string, message: string) => Object.assign(new Error(message), { name: 'PostgresError', code, severity: 'FATAL' });
/** A MySQL / MariaDB server's refusal as mysql2 throws it. */
const mysqlError = (errno: number, message: string) => Object.assign(new Error(message), { errno, sqlMessage: message, sqlState: '28000', fatal: true });
/** A socket-level error, as Node raises it (and as undici wraps it: `fetch failed` with a cause). */
const networkError = (code: string) => Object.assign(new Error(`${code} something`), { code });
const wrapped = (code: string) => new TypeError('fetch failed', { cause: networkError(code) });

describe('failure classification, table by table', () => {
  // [SQLSTATE, the server's message, expected reason]: one row per rule of POSTGRES_LOGIN_REFUSALS.
  const postgresCases: [string, string, DisconnectReason][] = [
    ['3D000', 'database "warehouse" does not exist', 'DATABASE_NOT_FOUND'],
    ['28P01', 'password authentication failed for user "reader"', 'INVALID_CREDENTIALS'],
    ['28000', 'role "reader" does not exist', 'USER_NOT_FOUND'],
    ['28000', 'role "reader" is not permitted to log in', 'INSUFFICIENT_PRIVILEGES'],
    ['28000', 'pg_hba.conf rejects connection for host "10.0.0.5", user "reader", database "warehouse", no encryption', 'INSUFFICIENT_PRIVILEGES'],
    ['28000', 'no pg_hba.conf entry for host "10.0.0.5", user "reader", database "warehouse", no encryption', 'TLS_REQUIRED'],
    ['28000', 'no pg_hba.conf entry for host "10.0.0.5", user "reader", database "warehouse", SSL encryption', 'INSUFFICIENT_PRIVILEGES'],
    ['28000', 'authentication failed for some other reason', 'INVALID_CREDENTIALS'],
    ['42501', 'permission denied for database "warehouse"', 'INSUFFICIENT_PRIVILEGES'],
  ];
  const mysqlCases: [number, string, DisconnectReason][] = [
    [1045, "Access denied for user 'reader'@'10.0.0.5' (using password: YES)", 'INVALID_CREDENTIALS'],
    [1820, 'You must SET PASSWORD before executing this statement', 'INVALID_CREDENTIALS'],
    [1862, 'Your password has expired', 'INVALID_CREDENTIALS'],
    [1044, "Access denied for user 'reader'@'%' to database 'warehouse'", 'INSUFFICIENT_PRIVILEGES'],
    [1130, "Host '10.0.0.5' is not allowed to connect to this MariaDB server", 'INSUFFICIENT_PRIVILEGES'],
    [1142, "SELECT command denied to user 'reader'@'%' for table 'orders'", 'INSUFFICIENT_PRIVILEGES'],
    [3118, "Access denied for user 'reader'@'%'. Account is locked.", 'INSUFFICIENT_PRIVILEGES'],
    [4151, 'Access denied, this account is locked', 'INSUFFICIENT_PRIVILEGES'],
    [1049, "Unknown database 'warehouse'", 'DATABASE_NOT_FOUND'],
    [3159, 'Connections using insecure transport are prohibited while --require_secure_transport=ON.', 'TLS_REQUIRED'],
  ];
  const networkCases: [string, DisconnectReason][] = [
    ['ENOTFOUND', 'HOST_NOT_FOUND'],
    ['EAI_AGAIN', 'HOST_NOT_FOUND'],
    ['EAI_NONAME', 'HOST_NOT_FOUND'],
    ['EAI_NODATA', 'HOST_NOT_FOUND'],
    ['EAI_FAIL', 'HOST_NOT_FOUND'],
    ['ECONNREFUSED', 'HOST_UNREACHABLE'],
    ['ETIMEDOUT', 'HOST_UNREACHABLE'],
    ['EHOSTUNREACH', 'HOST_UNREACHABLE'],
    ['ENETUNREACH', 'HOST_UNREACHABLE'],
    ['EHOSTDOWN', 'HOST_UNREACHABLE'],
    ['ECONNRESET', 'HOST_UNREACHABLE'],
    ['EPIPE', 'HOST_UNREACHABLE'],
    ['CONNECT_TIMEOUT', 'HOST_UNREACHABLE'],
    ['CONNECTION_CLOSED', 'HOST_UNREACHABLE'],
    ['CONNECTION_ENDED', 'HOST_UNREACHABLE'],
    ['CONNECTION_DESTROYED', 'HOST_UNREACHABLE'],
    ['PROTOCOL_CONNECTION_LOST', 'HOST_UNREACHABLE'],
    ['UND_ERR_CONNECT_TIMEOUT', 'HOST_UNREACHABLE'],
    ['UND_ERR_SOCKET', 'HOST_UNREACHABLE'],
    ['TimeoutError', 'HOST_UNREACHABLE'],
    ['CERT_HAS_EXPIRED', 'TLS_CERTIFICATE'],
    ['CERT_NOT_YET_VALID', 'TLS_CERTIFICATE'],
    ['CERT_REVOKED', 'TLS_CERTIFICATE'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'TLS_CERTIFICATE'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'TLS_CERTIFICATE'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'TLS_CERTIFICATE'],
    ['UNABLE_TO_GET_ISSUER_CERT', 'TLS_CERTIFICATE'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'TLS_CERTIFICATE'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'TLS_CERTIFICATE'],
  ];

  it('covers every PostgreSQL rule: each SQLSTATE (and message) gives its reason, definitively, in the server\'s words', () => {
    const covered = new Set<string>();
    for (const [code, message, reason] of postgresCases) {
      const failure = classifyDatabaseLoginFailure('postgresql', postgresError(code, message), TARGET);
      expect(failure, `${code} ${message}`).toEqual({ kind: 'definitive', reason, message });
      covered.add(`${code}#${POSTGRES_LOGIN_REFUSALS[code].findIndex((rule) => !rule.when || rule.when.test(message))}`);
    }
    // Every rule of every SQLSTATE is the one some case above went through.
    const rules = Object.entries(POSTGRES_LOGIN_REFUSALS).flatMap(([code, list]) => list.map((_, index) => `${code}#${index}`));
    expect([...covered].sort()).toEqual(rules.sort());
    // Any other answer from the server is transient (too many connections, starting up).
    expect(classifyDatabaseLoginFailure('postgresql', postgresError('53300', 'sorry, too many clients already'), TARGET)).toEqual({
      kind: 'transient',
      message: 'sorry, too many clients already',
    });
  });

  it('covers every MySQL / MariaDB error number', () => {
    for (const [errno, message, reason] of mysqlCases) {
      expect(classifyDatabaseLoginFailure('mysql', mysqlError(errno, message), TARGET), `${errno}`).toEqual({ kind: 'definitive', reason, message });
    }
    expect(mysqlCases.map(([errno]) => errno).sort()).toEqual(Object.keys(MYSQL_LOGIN_REFUSALS).map(Number).sort());
    expect(classifyDatabaseLoginFailure('mysql', mysqlError(1040, 'Too many connections'), TARGET)).toEqual({ kind: 'transient', message: 'Too many connections' });
  });

  it('covers every network code, bare (database drivers) or as a cause (fetch), with the host and port shown', () => {
    for (const [code, reason] of networkCases) {
      for (const error of [networkError(code), wrapped(code)]) {
        const failure = classifyNetworkFailure(error, TARGET);
        expect(failure, code).toMatchObject({ kind: 'transient', reason });
        expect(failure.message, code).toContain('db.example.test');
        // The same from a database login that never got an answer.
        expect(classifyDatabaseLoginFailure('postgresql', error, TARGET), code).toEqual(failure);
      }
    }
    // Closed, dropped, hanging: one message, so an answer does not tell open ports from closed ones.
    const unreachable = networkCases.filter(([, reason]) => reason === 'HOST_UNREACHABLE').map(([code]) => classifyNetworkFailure(networkError(code), TARGET).message);
    expect(new Set(unreachable)).toEqual(new Set(['Could not reach db.example.test:5432']));
    expect(classifyNetworkFailure(networkError('ENOTFOUND'), TARGET).message).toBe('Could not find the host db.example.test (DNS)');
    // An error with no code at all (a socket closed during login) counts as unreachable.
    expect(classifyNetworkFailure(new Error('the database closed the connection during login'), TARGET)).toMatchObject({ reason: 'HOST_UNREACHABLE' });
  });

  it('every reason has a text for an existing connection and a different one for credentials just entered, which never says to reauthenticate', () => {
    expect(Object.keys(DISCONNECT_REASONS).sort()).toEqual([...disconnectReason.enumValues].sort());
    for (const reason of disconnectReason.enumValues) {
      const existing = reasonText(reason, 'existing');
      const fresh = reasonText(reason, 'new');
      for (const text of [existing.interpretation, existing.resolution, fresh.interpretation, fresh.resolution]) expect(text.length, reason).toBeGreaterThan(20);
      expect(fresh, reason).not.toEqual(existing);
      expect(`${fresh.interpretation} ${fresh.resolution}`, reason).not.toMatch(/reauthenticate/i);
    }
    expect(reasonText('HOST_UNREACHABLE', 'new').resolution).toMatch(/Check the host and port you entered/);
    expect(reasonText('HOST_NOT_FOUND', 'new').resolution).toMatch(/Check the spelling of the host you entered/);
    expect(reasonText('DATABASE_NOT_FOUND', 'new').resolution).toMatch(/Check the database name you entered/);
    expect(reasonText('INVALID_CREDENTIALS', 'existing').resolution).toMatch(/Reauthenticate the connection/);
    expect(reasonText('DATABASE_NOT_FOUND', 'existing').interpretation).not.toMatch(/subscription|plan/);
  });
});

describe('only secret values are redacted from what a service echoes', () => {
  let stub: StubService;
  beforeAll(async () => {
    stub = await startStubService();
  });
  afterAll(async () => {
    await stub?.close();
  });

  it('an access token a service echoes in its refusal is redacted; the rest of its words stay', async () => {
    const integration = { key: 'stub-oauth', name: 'Stub OAuth', authMethod: 'OAUTH2', endpoints: { verify: { url: `${stub.url}/me`, method: 'GET' } } };
    const tokens = { accessToken: 'stub-access-echoed-secret-4471', refreshToken: 'stub-refresh-echoed-secret-9902' };
    const result = await verifyAccessToken(integration as unknown as IntegrationDefinition, tokens, null);
    expect(result).toEqual({ ok: false, failure: { kind: 'definitive', reason: 'INVALID_CREDENTIALS', message: 'Invalid access token: [redacted]' } });
  });

  it('withoutSecrets removes each secret of 4 characters or more and nothing else', () => {
    const failure = { kind: 'definitive' as const, reason: 'INVALID_CREDENTIALS' as const, message: "Access denied for user 'reader'@'db.example.test' using pw-Secret-1 on port 5432" };
    expect(withoutSecrets(failure, ['pw-Secret-1', null, undefined, 'abc'])).toEqual({ ...failure, message: "Access denied for user 'reader'@'db.example.test' using [redacted] on port 5432" });
    expect(withoutSecrets(failure, [])).toBe(failure);
  });
});

const START = `mutation StartConnection($input: StartConnectionInput!) {
  startConnection(input: $input) {
    __typename
    ... on Error { message }
    ... on CredentialsRejectedError { reason interpretation resolution }
    ... on ProviderUnavailableError { likelyCause { reason interpretation resolution } }
    ... on ValidationError { field }
    ... on StartConnectionSuccess { result { connection { id status } } }
  }
}`;
const TEST = `mutation($id: ID!) {
  testConnection(input: { id: $id }) {
    __typename
    ... on TestConnectionSuccess { result { ok transientMessage connection { status problem { reason message interpretation resolution } } } }
  }
}`;
const REAUTH = `mutation($id: ID!, $credentials: JSONObject) {
  reauthenticateConnection(input: { id: $id, credentials: $credentials }) {
    __typename
    ... on Error { message }
    ... on CredentialsRejectedError { reason interpretation resolution }
  }
}`;

/** A loopback port where nothing listens (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const texts = (reason: DisconnectReason, context: 'new' | 'existing') => reasonText(reason, context);

/** What startConnection answers for a refusal (reason and texts on the error) or no answer (on its likelyCause). */
const answerFor = (typename: string, message: string, reason: DisconnectReason) =>
  typename === 'ProviderUnavailableError'
    ? { __typename: typename, message, likelyCause: { reason, ...texts(reason, 'new') } }
    : { __typename: typename, message, reason, ...texts(reason, 'new') };

const pgUrl = process.env.TEST_DATABASE_URL ? new URL(process.env.TEST_DATABASE_URL) : undefined;

describe.runIf(pgUrl)('database logins against this machine’s PostgreSQL (trust auth on 127.0.0.1)', () => {
  // Cluster-wide objects with names no other suite uses; dropped afterwards.
  const NOLOGIN = 'patchbay_reasons_nologin';
  const READER = 'patchbay_reasons_reader';
  const CLOSED_DB = 'patchbay_reasons_noconnect';
  const SECRET = 'pg-Secret-Value-8071';
  let admin: postgres.Sql;

  beforeAll(async () => {
    admin = postgres(pgUrl!.toString(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${CLOSED_DB}`);
    await admin.unsafe(`drop role if exists ${NOLOGIN}`);
    await admin.unsafe(`drop role if exists ${READER}`);
    await admin.unsafe(`create role ${NOLOGIN} nologin`);
    await admin.unsafe(`create role ${READER} login password '${SECRET}'`);
    await admin.unsafe(`create database ${CLOSED_DB}`);
    await admin.unsafe(`revoke connect on database ${CLOSED_DB} from public`);
  });
  afterAll(async () => {
    await admin.unsafe(`drop database if exists ${CLOSED_DB}`);
    await admin.unsafe(`drop role if exists ${NOLOGIN}`);
    await admin.unsafe(`drop role if exists ${READER}`);
    await admin.end();
  });

  describeEachDatabase('postgresql reasons', (db) => {
    const login = (overrides: Record<string, string> = {}) => ({
      host: '127.0.0.1',
      port: pgUrl!.port || '5432',
      database: pgUrl!.pathname.slice(1),
      user: READER,
      password: SECRET,
      ...overrides,
    });

    it('a new connection: missing database, missing role, a role that may not log in, no CONNECT, a closed port and an unknown host each get their reason and a "check what you entered" text; the password never comes back', async () => {
      const port = await closedPort();
      await inRollback(db(), async (tx) => {
        const a = await tenant(tx, 'a');
        const start = async (credentials: Record<string, string>) =>
          (await graphql(tx, a.member.viewer, START, { input: { integration: 'postgresql', name: 'Warehouse', credentials } })).data!.startConnection;
        const cases: [Record<string, string>, string, DisconnectReason, string][] = [
          [login({ database: 'patchbay_reasons_no_such_db' }), 'CredentialsRejectedError', 'DATABASE_NOT_FOUND', 'database "patchbay_reasons_no_such_db" does not exist'],
          [login({ user: 'patchbay_reasons_no_such_role' }), 'CredentialsRejectedError', 'USER_NOT_FOUND', 'role "patchbay_reasons_no_such_role" does not exist'],
          [login({ user: NOLOGIN }), 'CredentialsRejectedError', 'INSUFFICIENT_PRIVILEGES', `role "${NOLOGIN}" is not permitted to log in`],
          [login({ database: CLOSED_DB }), 'CredentialsRejectedError', 'INSUFFICIENT_PRIVILEGES', `permission denied for database "${CLOSED_DB}"`],
          [login({ port: String(port) }), 'ProviderUnavailableError', 'HOST_UNREACHABLE', `The service could not be reached: Could not reach 127.0.0.1:${port}`],
          [login({ host: 'patchbay-reasons.invalid' }), 'ProviderUnavailableError', 'HOST_NOT_FOUND', 'The service could not be reached: Could not find the host patchbay-reasons.invalid (DNS)'],
        ];
        const answers = [];
        for (const [credentials, typename, reason, message] of cases) {
          const answer = await start(credentials);
          answers.push(answer);
          expect(answer, reason).toEqual(answerFor(typename, message, reason));
          expect(JSON.stringify(answer), reason).not.toMatch(/reauthenticate/i);
        }
        expect(await tx.select().from(connections).where(eq(connections.name, 'Warehouse'))).toHaveLength(0);
        expect(JSON.stringify(answers)).not.toContain(SECRET);
        // The login itself works.
        expect(await start(login())).toMatchObject({ __typename: 'StartConnectionSuccess', result: { connection: { status: 'ACTIVE' } } });
      });
    });

    it('an existing connection whose database was dropped disconnects with DATABASE_NOT_FOUND and a "reauthenticate" text, not a lapsed subscription', async () => {
      const scratch = 'patchbay_reasons_dropped';
      await admin.unsafe(`drop database if exists ${scratch}`);
      await admin.unsafe(`create database ${scratch}`);
      try {
        await inRollback(db(), async (tx) => {
          const a = await tenant(tx, 'a');
          const started = await graphql(tx, a.member.viewer, START, { input: { integration: 'postgresql', name: 'Scratch', credentials: login({ database: scratch }) } });
          const id = started.data!.startConnection.result.connection.id;
          await admin.unsafe(`drop database ${scratch}`);
          const tested = (await graphql(tx, a.member.viewer, TEST, { id })).data!.testConnection.result;
          expect(tested).toEqual({
            ok: false,
            transientMessage: null,
            connection: { status: 'DISCONNECTED', problem: { reason: 'DATABASE_NOT_FOUND', message: `database "${scratch}" does not exist`, ...texts('DATABASE_NOT_FOUND', 'existing') } },
          });
          expect(tested.connection.problem.resolution).toMatch(/reauthenticate the connection/);
          // Reauthenticating with another database name that does not exist either: the text for what was just entered.
          const reauth = (await graphql(tx, a.member.viewer, REAUTH, { id, credentials: login({ database: scratch }) })).data!.reauthenticateConnection;
          expect(reauth).toMatchObject({ __typename: 'CredentialsRejectedError', reason: 'DATABASE_NOT_FOUND', ...texts('DATABASE_NOT_FOUND', 'new') });
        });
      } finally {
        await admin.unsafe(`drop database if exists ${scratch}`);
      }
    });

    it('a port that is not a TCP port is a ValidationError on credentials.port, before anything is dialled', async () => {
      await inRollback(db(), async (tx) => {
        const a = await tenant(tx, 'a');
        for (const port of ['54321x', '0', '70000', '-1']) {
          const answer = (await graphql(tx, a.member.viewer, START, { input: { integration: 'postgresql', name: 'Warehouse', credentials: login({ port }) } })).data!.startConnection;
          expect(answer, port).toEqual({ __typename: 'ValidationError', field: 'credentials.port', message: `Port must be a number from 1 to 65535 (got "${port}")` });
        }
      });
    });
  });
});

const mysqlUrl = process.env.TEST_MYSQL_URL ? new URL(process.env.TEST_MYSQL_URL) : undefined;

describe.runIf(mysqlUrl)('database logins against this machine’s MariaDB', () => {
  const USER = 'patchbay_reasons';
  const SECRET = 'maria-Secret-Value-5523';
  const CHANGED = 'maria-Changed-Value-9106';
  const database = mysqlUrl?.pathname.slice(1) ?? 'test';
  let root: mysql.Connection;
  let app: App;
  let url: string;
  let tenantForHttp: Tenant;
  const logLines: string[] = [];

  const resetUser = async () => {
    await root.query(`drop user if exists '${USER}'@'%'`);
    await root.query(`create user '${USER}'@'%' identified by '${SECRET}'`);
    await root.query(`grant select on \`${database}\`.* to '${USER}'@'%'`);
  };

  beforeAll(async () => {
    root = await mysql.createConnection({ host: mysqlUrl!.hostname, port: Number(mysqlUrl!.port || 3306), user: decodeURIComponent(mysqlUrl!.username), password: decodeURIComponent(mysqlUrl!.password) });
    await resetUser();
  });
  afterAll(async () => {
    await root.query(`drop user if exists '${USER}'@'%'`);
    await root.end();
  });

  describeEachDatabase('mysql reasons', (db) => {
    const login = (overrides: Record<string, string> = {}) => ({
      host: mysqlUrl!.hostname,
      port: mysqlUrl!.port || '3306',
      database,
      user: USER,
      password: SECRET,
      ...overrides,
    });

    beforeAll(async () => {
      tenantForHttp = await tenant(db(), `reasons-http-${Math.random().toString(36).slice(2, 8)}`);
      app = createApp({ db: db() as Database, vault: testVault, log: createLog('debug', (line) => logLines.push(line)) });
      url = await app.start(0);
    });
    afterAll(async () => {
      await app?.stop();
    });

    it('a new connection: wrong password, unknown user, a database without a grant, a missing database, a closed port and an unknown host; host, port, database and user shown, the password never', async () => {
      await resetUser();
      const port = await closedPort();
      const host = mysqlUrl!.hostname;
      const cases: [Record<string, string>, string, DisconnectReason, string][] = [
        [login({ password: 'maria-Wrong-Value-3391' }), 'CredentialsRejectedError', 'INVALID_CREDENTIALS', `Access denied for user '${USER}'@'${host}' (using password: YES)`],
        [login({ user: 'patchbay_reasons_nobody' }), 'CredentialsRejectedError', 'INVALID_CREDENTIALS', `Access denied for user 'patchbay_reasons_nobody'@'${host}' (using password: YES)`],
        [login({ database: 'mysql' }), 'CredentialsRejectedError', 'INSUFFICIENT_PRIVILEGES', `Access denied for user '${USER}'@'%' to database 'mysql'`],
        [login({ user: 'root', password: decodeURIComponent(mysqlUrl!.password), database: 'patchbay_reasons_no_such_db' }), 'CredentialsRejectedError', 'DATABASE_NOT_FOUND', "Unknown database 'patchbay_reasons_no_such_db'"],
        [login({ port: String(port) }), 'ProviderUnavailableError', 'HOST_UNREACHABLE', `The service could not be reached: Could not reach ${host}:${port}`],
        [login({ host: 'patchbay-reasons.invalid' }), 'ProviderUnavailableError', 'HOST_NOT_FOUND', 'The service could not be reached: Could not find the host patchbay-reasons.invalid (DNS)'],
      ];
      // Over HTTP, through the real gateway, so its log lines are checked too.
      const bodies: string[] = [];
      for (const [credentials, typename, reason, message] of cases) {
        const body = await postGraphql(url, tenantForHttp.member.token, START, { input: { integration: 'mysql', name: 'Shop DB', credentials } });
        bodies.push(JSON.stringify(body));
        expect(body.errors, reason).toBeUndefined();
        expect(body.data.startConnection, reason).toEqual(answerFor(typename, message, reason));
      }
      const everything = bodies.join('\n') + logLines.join('\n');
      expect(logLines.filter((line) => line.includes('"operation":"StartConnection"')).length).toBeGreaterThanOrEqual(cases.length);
      for (const secret of [SECRET, 'maria-Wrong-Value-3391']) expect(everything).not.toContain(secret);
      expect(everything).not.toContain('[redacted]');
      const ok = await postGraphql(url, tenantForHttp.member.token, START, { input: { integration: 'mysql', name: 'Shop DB', credentials: login() } });
      expect(ok.data.startConnection).toMatchObject({ __typename: 'StartConnectionSuccess', result: { connection: { status: 'ACTIVE' } } });
    });

    it('an existing connection whose password was changed disconnects with INVALID_CREDENTIALS and "reauthenticate"; reauthenticating with the new password repairs it', async () => {
      await resetUser();
      await inRollback(db(), async (tx) => {
        const a = await tenant(tx, 'a');
        const started = await graphql(tx, a.member.viewer, START, { input: { integration: 'mysql', name: 'Shop DB', credentials: login() } });
        const id = started.data!.startConnection.result.connection.id;
        await root.query(`alter user '${USER}'@'%' identified by '${CHANGED}'`);
        const tested = (await graphql(tx, a.member.viewer, TEST, { id })).data!.testConnection.result;
        expect(tested.connection).toEqual({
          status: 'DISCONNECTED',
          problem: { reason: 'INVALID_CREDENTIALS', message: `Access denied for user '${USER}'@'${mysqlUrl!.hostname}' (using password: YES)`, ...texts('INVALID_CREDENTIALS', 'existing') },
        });
        expect(tested.connection.problem.resolution).toMatch(/Reauthenticate the connection/);
        const wrong = (await graphql(tx, a.member.viewer, REAUTH, { id, credentials: login() })).data!.reauthenticateConnection;
        expect(wrong).toMatchObject({ __typename: 'CredentialsRejectedError', reason: 'INVALID_CREDENTIALS', ...texts('INVALID_CREDENTIALS', 'new') });
        const repaired = (await graphql(tx, a.member.viewer, REAUTH, { id, credentials: login({ password: CHANGED }) })).data!.reauthenticateConnection;
        expect(repaired.__typename).toBe('ReauthenticateConnectionSuccess');
        expect(JSON.stringify([started, tested, wrong, repaired])).not.toContain(SECRET);
        expect(JSON.stringify([started, tested, wrong, repaired])).not.toContain(CHANGED);
      });
    });
  });
});
