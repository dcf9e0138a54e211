/**
 * How each credential-based auth method proves a connection works: API_KEY and BASIC call the
 * integration's verification endpoint over HTTP; PROXY logs in to the database (PostgreSQL through
 * postgres.js, MySQL/MariaDB through mysql2) and lists the tables it can read. Nothing here writes to Patchbay's database.
 * Every connection goes through the outbound address guard (edge/outbound.ts), and a database
 * login dials once: a failed login never redials after its caller got the answer.
 */
import type { Socket } from 'node:net';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import type { IntegrationDefinition } from './catalog-types.js';
import { connectOutbound, outboundFetch, outboundSocket, urlTarget } from '../edge/outbound.js';
import { classifyDatabaseLoginFailure, classifyHttpFailure, classifyNetworkFailure, type Failure, withoutSecrets } from './failures.js';
import { fillPlaceholders } from './endpoints.js';
import { clientCredentialsToken } from './oauth2.js';
import { serviceTimeout, serviceTimeoutSignal } from './service-calls.js';

/** The credential values a user entered, by field key. */
export type CredentialValues = Record<string, string>;

/** A resource a connection can read (a table, a property...). */
export interface AvailableResource {
  id: string;
  name: string;
}

export type Verification = { ok: true; resources?: AvailableResource[] } | { ok: false; failure: Failure };


function requestHeaders(integration: IntegrationDefinition, values: CredentialValues): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (integration.authMethod === 'API_KEY' && integration.apiKeyHeader) {
    headers[integration.apiKeyHeader.name] = `${integration.apiKeyHeader.prefix ?? ''}${values.apiKey}`;
  }
  if (integration.authMethod === 'BASIC') {
    headers.authorization = `Basic ${Buffer.from(`${values.username}:${values.password}`).toString('base64')}`;
  }
  for (const [name, template] of Object.entries(integration.credentialHeaders ?? {})) {
    headers[name] = fillPlaceholders(template, values, false);
  }
  return headers;
}

async function verifyOverHttp(integration: IntegrationDefinition, values: CredentialValues): Promise<Verification> {
  const verify = integration.endpoints.verify;
  if (!verify) return { ok: true };
  const url = fillPlaceholders(verify.url, values);
  let response: Response;
  try {
    response = await outboundFetch(url, {
      method: verify.method,
      headers: requestHeaders(integration, values),
      redirect: 'manual',
      signal: serviceTimeoutSignal(),
    });
  } catch (error) {
    return { ok: false, failure: classifyNetworkFailure(error, urlTarget(url)) };
  }
  const body = await response.text().catch(() => '');
  if (response.ok) {
    try {
      JSON.parse(body || '{}');
    } catch {
      return { ok: false, failure: { kind: 'transient', message: 'The service answered with malformed JSON' } };
    }
    return { ok: true };
  }
  return { ok: false, failure: classifyHttpFailure(response.status, body, response.headers) };
}

/** A database login's port that is not a TCP port (input is checked at the edge; this is for stored values). */
function invalidPort(port: string | undefined): Failure {
  return { kind: 'definitive', reason: 'HOST_UNREACHABLE', message: `The port "${port}" is not a number from 1 to 65535` };
}

/** Whether a database login's port, as typed, is a TCP port (empty: the engine's default). */
export function validDatabasePort(port: string | undefined): boolean {
  if (port === undefined || port.trim() === '') return true;
  return /^\d{1,5}$/.test(port.trim()) && Number(port) >= 1 && Number(port) <= 65535;
}

async function verifyPostgres(values: CredentialValues): Promise<Verification> {
  const port = Number(values.port || 5432);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return { ok: false, failure: invalidPort(values.port) };
  }
  const target = { host: values.host, port };
  // One dial per login: postgres.js redials at once whenever a connection closes before it is
  // ready, without end, so a host that accepts and drops would be dialled hundreds of times a
  // second long after the caller left. A second dial fails the login instead.
  let dialled = false;
  // `socket` is documented (README, "Custom socket") but missing from postgres.js's types.
  const options: postgres.Options<{}> & { socket: () => Promise<Socket> } = {
    host: values.host,
    port,
    database: values.database,
    username: values.user,
    password: values.password,
    max: 1,
    connect_timeout: Math.max(1, Math.ceil(serviceTimeout() / 1000)),
    idle_timeout: 1,
    onnotice: () => {},
    socket: () => {
      if (dialled) throw new Error('the database closed the connection during login');
      dialled = true;
      return connectOutbound(values.host, port, serviceTimeout());
    },
  };
  const sql = postgres(options);
  try {
    const tables = await sql<{ schema: string; name: string }[]>`
      select table_schema as schema, table_name as name
      from information_schema.tables
      where table_schema not in ('pg_catalog', 'information_schema')
        and has_table_privilege(quote_ident(table_schema) || '.' || quote_ident(table_name), 'SELECT')
      order by 1, 2
      limit 1000`;
    return { ok: true, resources: tables.map((t) => ({ id: `${t.schema}.${t.name}`, name: `${t.schema}.${t.name}` })) };
  } catch (error) {
    return { ok: false, failure: classifyDatabaseLoginFailure('postgresql', error, target) };
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

async function verifyMysql(values: CredentialValues): Promise<Verification> {
  const port = Number(values.port || 3306);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return { ok: false, failure: invalidPort(values.port) };
  }
  const target = { host: values.host, port };
  let connection: mysql.Connection | undefined;
  try {
    connection = await mysql.createConnection({
      host: values.host,
      port,
      user: values.user,
      password: values.password,
      database: values.database,
      connectTimeout: serviceTimeout(),
      // Through the guard; mysql2 dials once per connection and never redials.
      stream: () => outboundSocket(values.host, port, serviceTimeout()),
    });
    // information_schema lists only the tables this login holds some privilege on.
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      'select table_schema as s, table_name as n from information_schema.tables where table_schema = database() order by 2 limit 1000',
    );
    return { ok: true, resources: rows.map((row) => ({ id: `${row.s}.${row.n}`, name: `${row.s}.${row.n}` })) };
  } catch (error) {
    return { ok: false, failure: classifyDatabaseLoginFailure('mysql', error, target) };
  } finally {
    await connection?.end().catch(() => {});
  }
}

/** Client credentials: the token grant itself proves the app's id and secret, then the verify call. */
async function verifyClientCredentials(integration: IntegrationDefinition, values: CredentialValues): Promise<Verification> {
  const granted = await clientCredentialsToken(integration, values);
  if (!granted.ok) return granted;
  const verify = integration.endpoints.verify;
  if (!verify) return { ok: true };
  return verifyOverHttp({ ...integration, authMethod: 'API_KEY', apiKeyHeader: { name: 'Authorization', prefix: 'Bearer ' } }, {
    ...values,
    apiKey: granted.tokens.accessToken,
  });
}

/** Whether Patchbay can verify this integration's credentials in this version. */
export function supportsCredentials(integration: IntegrationDefinition): boolean {
  return (
    integration.authMethod === 'API_KEY' ||
    integration.authMethod === 'BASIC' ||
    integration.authMethod === 'OAUTH2_CLIENT_CREDENTIALS' ||
    (integration.authMethod === 'PROXY' && (integration.key === 'postgresql' || integration.key === 'mysql'))
  );
}

/** Proves the credentials work (and lists resources where the method can). */
export async function verifyCredentials(integration: IntegrationDefinition, values: CredentialValues): Promise<Verification> {
  const result =
    integration.authMethod === 'PROXY'
      ? integration.key === 'mysql'
        ? await verifyMysql(values)
        : await verifyPostgres(values)
      : integration.authMethod === 'OAUTH2_CLIENT_CREDENTIALS'
        ? await verifyClientCredentials(integration, values)
        : await verifyOverHttp(integration, values);
  if (!result.ok) {
    // A service may echo what it was sent; no secret leaves this function. Fields declared not
    // secret (a database's host, port, database and user) stay, so messages name what was typed.
    const shown = new Set(integration.credentialFields.filter((field) => !field.secret).map((field) => field.key));
    return { ok: false, failure: withoutSecrets(result.failure, Object.entries(values).filter(([key]) => !shown.has(key)).map(([, value]) => value)) };
  }
  return result;
}
