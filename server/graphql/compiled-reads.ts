/**
 * The compiled read path for the connection graph: a query that reads only
 * `viewer { account { connections(first) { nodes { ... } } } }` with fields this module knows is
 * compiled into ONE SQL statement that checks the request's API token, applies the visibility
 * rules (from domain/viewer.ts, the same SQL the Pothos path uses) and builds the response's
 * compact JSON text in PostgreSQL, which is written out as is: Node does no per-field work.
 * Anything else (fragments, directives, other arguments, pageInfo, cursors, totalCount, fields
 * not listed here, a page size out of range) is executed by Pothos as before: the compiled path
 * answers exactly what the schema would, or does not answer at all.
 *
 * The statement's text is built once per document, operation and kind of viewer (service
 * worker, admin, member: the three ways domain/viewer.ts's rules come out) and sent as a
 * prepared statement; the viewer's ids and the page sizes are its parameters.
 *
 * The token check is inside the statement: its `ok` column says whether the token is still
 * unrevoked and its user still has the account, role and owner flag the viewer was built from.
 * When it is not, the answer is dropped and the viewer is looked up again (edge/viewer-cache.ts:
 * a revoked token gets the 401 an unknown one gets), so a gateway may take the viewer of a
 * recently seen token from memory and still answer with one statement per request.
 *
 * The integration of each connection comes from the built-in catalog in code (its JSON is written
 * into the statement) or the account's custom integrations, in that order, as
 * domain/integrations.ts reads them.
 */
import type { Plugin } from 'graphql-yoga';
import { Kind, type DocumentNode, type ExecutionResult, type FieldNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { type Query, sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { connections } from '../db/schema.js';
import type { Database } from '../db/client.js';
import { rowsOf } from '../db/client.js';
import { BUILT_IN_INTEGRATIONS } from '../domain/catalog.js';
import { isAdmin, usableConnectionsCondition, visibleConnectionsCondition, type Viewer } from '../domain/viewer.js';
import { unauthenticated, type ViewerCheck } from '../edge/viewer-cache.js';
import type { Context } from './builder.js';
import { MAX_PAGE_SIZE } from './pagination.js';

/** The page size Pothos uses when `first` is not given (builder.ts, drizzle.defaultConnectionSize). */
const DEFAULT_PAGE_SIZE = 20;

/** The statement's viewer parameters, bound per request. */
const P = {
  accountId: sql.placeholder('accountId'),
  userId: sql.placeholder('userId'),
  tokenId: sql.placeholder('tokenId'),
  tokenKind: sql.placeholder('tokenKind'),
  role: sql.placeholder('role'),
  isOwner: sql.placeholder('isOwner'),
};

/** A page size: a literal, or the name of the variable that holds it (checked per request). */
type Limit = number | { variable: string };

/** Compiles one statement: collects the page sizes it binds. */
class Compilation {
  readonly limits: Limit[] = [];
  constructor(readonly variables: Record<string, unknown>) {}
  /** The placeholder for a page size. */
  limit(limit: Limit): SQL {
    this.limits.push(limit);
    return sql`${sql.placeholder(`limit${this.limits.length - 1}`)}`;
  }
}

/** A SQL string literal (the statement's constant text: response keys, typenames, the catalog). */
function literal(text: string): SQL {
  if (text.includes('\0')) throw new Error('NUL in a SQL literal');
  return sql.raw(`'${text.replaceAll("'", "''")}'`);
}

/** A text column as JSON text (null stays null). */
const jsonText = (column: string) => sql.raw(`to_json(${column})::text`);

/** An integer or boolean column as JSON text. */
const jsonPlain = (column: string) => sql.raw(`${column}::text`);

/** ISO 8601 in UTC with milliseconds, as the DateTime scalar serializes (Date#toISOString), as JSON text. */
const dateTime = (column: string) =>
  sql.raw(`to_json(to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text`);

/** relay's global id (domain/global-ids.ts): base64url of "<Type>:<uuid>", without padding, as JSON text. */
const globalId = (typename: string, column: string) =>
  sql.raw(`'"' || translate(encode(convert_to('${typename}:' || ${column}::text, 'UTF8'), 'base64'), '+/=', '-_') || '"'`);

/** The response key of a field: its alias or its name. */
const keyOf = (field: FieldNode) => field.alias?.value ?? field.name.value;

/**
 * The fields of a selection set, or null when it holds fragments, directives or a response key
 * twice (GraphQL merges those; left to Pothos).
 */
function plainFields(selection: SelectionSetNode | undefined): FieldNode[] | null {
  if (!selection) return null;
  const fields: FieldNode[] = [];
  const keys = new Set<string>();
  for (const node of selection.selections) {
    if (node.kind !== Kind.FIELD || node.directives?.length || keys.has(keyOf(node))) return null;
    keys.add(keyOf(node));
    fields.push(node);
  }
  return fields;
}

/** Whether `value` is a page size the schema accepts. */
const validLimit = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_PAGE_SIZE;

/** The page size argument `name`: `fallback` when absent, null when not compilable. */
function limitArgument(field: FieldNode, name: string, compilation: Compilation, fallback: number): Limit | null {
  const argument = field.arguments?.find((a) => a.name.value === name);
  if (!argument) return fallback;
  if (argument.value.kind === Kind.INT) {
    const value = Number(argument.value.value);
    return validLimit(value) ? value : null;
  }
  if (argument.value.kind !== Kind.VARIABLE) return null;
  const variable = argument.value.name.value;
  return validLimit(compilation.variables[variable]) ? { variable } : null;
}

/**
 * The JSON text of an object over the fields, built by concatenation (compact, keys in the
 * query's order), or null when one of them is not compilable.
 */
function object(
  fields: FieldNode[] | null,
  typename: string,
  compileField: (field: FieldNode) => SQL | null,
): SQL | null {
  if (!fields || fields.length === 0) return null;
  const parts: SQL[] = [];
  for (const [index, field] of fields.entries()) {
    const value = field.name.value === '__typename' ? literal(JSON.stringify(typename)) : compileField(field);
    if (!value) return null;
    parts.push(sql`${literal(`${index === 0 ? '{' : ','}${JSON.stringify(keyOf(field))}:`)} || coalesce(${value}, 'null')`);
  }
  return sql`(${sql.join(parts, sql` || `)} || '}')`;
}

/** A Relay connection field of which only `nodes` (and __typename) is selected. */
function page(
  field: FieldNode,
  typename: string,
  compilation: Compilation,
  rows: (limit: SQL) => SQL,
  order: string,
  node: (selection: SelectionSetNode) => SQL | null,
): SQL | null {
  if (field.arguments?.some((a) => a.name.value !== 'first')) return null;
  const limit = limitArgument(field, 'first', compilation, DEFAULT_PAGE_SIZE);
  if (limit === null) return null;
  return object(plainFields(field.selectionSet), typename, (inner) => {
    if (inner.name.value !== 'nodes' || inner.arguments?.length || !inner.selectionSet) return null;
    const value = node(inner.selectionSet);
    return (
      value &&
      sql`coalesce((select '[' || string_agg(${value}, ',' order by ${sql.raw(order)}) || ']' from ${rows(compilation.limit(limit))} n), '[]')`
    );
  });
}

const leaf = (field: FieldNode, columns: Record<string, SQL>) =>
  field.arguments?.length || field.selectionSet ? null : (columns[field.name.value] ?? null);

const REFRESH_RUN_COLUMNS: Record<string, SQL> = {
  id: globalId('RefreshRun', 'n.id'),
  status: jsonText('n.status'),
  startedAt: dateTime('n.started_at'),
  finishedAt: dateTime('n.finished_at'),
  rows: jsonPlain('n.rows'),
  error: jsonText('n.error'),
};

function refreshRun(selection: SelectionSetNode): SQL | null {
  return object(plainFields(selection), 'RefreshRun', (field) => leaf(field, REFRESH_RUN_COLUMNS));
}

const DATA_SOURCE_COLUMNS: Record<string, SQL> = {
  id: globalId('DataSource', 'n.id'),
  name: jsonText('n.name'),
  resourceId: jsonText('n.resource_id'),
  schedule: jsonText('n.schedule'),
  status: jsonText('n.status'),
  lastRefreshedAt: dateTime('n.last_refreshed_at'),
  createdAt: dateTime('n.created_at'),
  updatedAt: dateTime('n.updated_at'),
};

function dataSource(selection: SelectionSetNode, compilation: Compilation): SQL | null {
  return object(plainFields(selection), 'DataSource', (field) => {
    if (field.name.value !== 'refreshRuns') return leaf(field, DATA_SOURCE_COLUMNS);
    return page(
      field,
      'RefreshRunConnection',
      compilation,
      (limit) => sql`(select r.* from refresh_runs r where r.data_source_id = n.id order by r.started_at desc, r.id desc limit ${limit})`,
      'n.started_at desc, n.id desc',
      refreshRun,
    );
  });
}

const USER_COLUMNS: Record<string, SQL> = {
  id: globalId('User', 'n.id'),
  name: jsonText('n.name'),
  email: jsonText('n.email'),
  role: jsonText('n.role'),
  isOwner: jsonPlain('n.is_owner'),
  createdAt: dateTime('n.created_at'),
};

function user(selection: SelectionSetNode): SQL | null {
  return object(plainFields(selection), 'User', (field) => leaf(field, USER_COLUMNS));
}

/** Integration fields of a custom integration row `i`. */
const INTEGRATION_COLUMNS: Record<string, SQL> = {
  key: jsonText('i.key'),
  name: jsonText('i.name'),
  authMethod: jsonText('i.auth_method'),
};

/**
 * `integration { ... }`: the built-in catalog's entry (its JSON text computed here, once per
 * statement) or the account's custom integration, in that order (domain/integrations.ts).
 */
function integration(field: FieldNode): SQL | null {
  if (field.arguments?.length) return null;
  const fields = plainFields(field.selectionSet);
  const custom = object(fields, 'Integration', (inner) => leaf(inner, INTEGRATION_COLUMNS));
  if (!custom || !fields) return null;
  const builtIns: SQL[] = [];
  for (const entry of BUILT_IN_INTEGRATIONS) {
    const values: Record<string, unknown> = { key: entry.key, name: entry.name, authMethod: entry.authMethod };
    const json = `{${fields.map((f) => `${JSON.stringify(keyOf(f))}:${JSON.stringify(f.name.value === '__typename' ? 'Integration' : values[f.name.value])}`).join(',')}}`;
    builtIns.push(sql`when ${literal(entry.key)} then ${literal(json)}`);
  }
  return sql`case n.integration_key ${sql.join(builtIns, sql` `)}
    else (select ${custom} from integrations i where i.account_id = n.account_id and i.key = n.integration_key) end`;
}

const CONNECTION_COLUMNS: Record<string, SQL> = {
  id: globalId('Connection', 'n.id'),
  name: jsonText('n.name'),
  resourceId: jsonText('n.resource_id'),
  resourceName: jsonText('n.resource_name'),
  status: jsonText('n.status'),
  shared: jsonPlain('n.shared'),
  createdAt: dateTime('n.created_at'),
  updatedAt: dateTime('n.updated_at'),
  lastCheckedAt: dateTime('n.last_checked_at'),
  accessTokenExpiresAt: dateTime('n.access_token_expires_at'),
  reauthorizeBy: dateTime('n.reauthorize_by'),
};

/** Details of a connection private to another user are null (graphql/connection.ts hiddenFromNonUsers). */
const HIDDEN = new Set(['name', 'resourceId', 'resourceName', 'dataSources']);
const hidden = (value: SQL) => sql`case when n.usable then ${value} end`;

function connection(selection: SelectionSetNode, compilation: Compilation): SQL | null {
  return object(plainFields(selection), 'Connection', (field) => {
    let value: SQL | null;
    switch (field.name.value) {
      case 'integration':
        value = integration(field);
        break;
      case 'owner': {
        if (field.arguments?.length || !field.selectionSet) return null;
        const owner = user(field.selectionSet);
        // Inside the FROM subquery, `n` is still the connection; outside it, the user.
        value = owner && sql`(select ${owner} from (select * from users u where u.id = n.owner_id) n)`;
        break;
      }
      case 'dataSources':
        value = page(
          field,
          'DataSourceConnection',
          compilation,
          (limit) => sql`(select d.* from data_sources d where d.connection_id = n.id order by d.created_at, d.id limit ${limit})`,
          'n.created_at, n.id',
          (nodes) => dataSource(nodes, compilation),
        );
        break;
      default:
        value = leaf(field, CONNECTION_COLUMNS);
    }
    return value && (HIDDEN.has(field.name.value) ? hidden(value) : value);
  });
}

const ACCOUNT_COLUMNS: Record<string, SQL> = {
  id: globalId('Account', 'a.id'),
  name: jsonText('a.name'),
  createdAt: dateTime('a.created_at'),
};

/** The three ways domain/viewer.ts's rules come out, by the viewer's kind of token and role. */
type ViewerKind = 'service' | 'admin' | 'member';
const viewerKind = (viewer: Viewer): ViewerKind => (viewer.tokenKind === 'SERVICE' ? 'service' : isAdmin(viewer) ? 'admin' : 'member');

/** A viewer of `kind` whose ids are the statement's parameters, for the rules of domain/viewer.ts. */
function parameterViewer(kind: ViewerKind): Viewer {
  return {
    accountId: P.accountId as unknown as string,
    userId: P.userId as unknown as string,
    tokenId: P.tokenId as unknown as string,
    role: kind === 'admin' ? 'ADMIN' : 'MEMBER',
    isOwner: false,
    tokenKind: kind === 'service' ? 'SERVICE' : 'USER',
  };
}

/** The statement for `account { ... }`, or null. */
function account(selection: SelectionSetNode, compilation: Compilation, kind: ViewerKind): SQL | null {
  const viewer = parameterViewer(kind);
  const value = object(plainFields(selection), 'Account', (field) => {
    if (field.name.value !== 'connections') return leaf(field, ACCOUNT_COLUMNS);
    return page(
      field,
      'AccountConnectionsConnection',
      compilation,
      // Unaliased: the conditions from domain/viewer.ts name the table itself.
      (limit) => sql`(select connections.*, ${usableConnectionsCondition(connections, viewer)} as usable
        from connections where ${visibleConnectionsCondition(connections, viewer)} and connections.account_id = a.id
        order by connections.created_at desc, connections.id desc limit ${limit})`,
      'n.created_at desc, n.id desc',
      (nodes) => connection(nodes, compilation),
    );
  });
  // `ok`: the token is unrevoked and its user is still the viewer this statement was bound for.
  return (
    value &&
    sql`select exists (select from api_tokens t join users u on u.id = t.user_id
          where t.id = ${P.tokenId} and t.revoked_at is null and t.kind = ${P.tokenKind}
            and u.id = ${P.userId} and u.account_id = ${P.accountId} and u.role = ${P.role} and u.is_owner = ${P.isOwner}) as ok,
        (select ${value} from accounts a where a.id = ${P.accountId}) as data`
  );
}

/** A compiled statement: its text and parameters, the page sizes to bind, the response keys around it. */
interface Template {
  query: Query;
  limits: Limit[];
  viewerKey: string;
  accountKey: string;
  /** Response keys of `integration` under the connections' nodes. */
  integrationKeys: string[];
}

const dialect = new PgDialect();

/** Compiled statements by document (Yoga's parse cache hands the same document for the same text). */
const templates = new WeakMap<DocumentNode, Map<string, Template | null>>();

/** The response keys of `integration` under the connections' nodes. */
function integrationKeys(accountField: FieldNode): string[] {
  const keys: string[] = [];
  for (const list of plainFields(accountField.selectionSet) ?? []) {
    for (const nodes of plainFields(list.selectionSet) ?? []) {
      for (const field of plainFields(nodes.selectionSet) ?? []) {
        if (field.name.value === 'integration') keys.push(keyOf(field));
      }
    }
  }
  return keys;
}

/**
 * The statement for a document, or null when it is not the compiled shape:
 * `query { viewer { account { ... } } }` with nothing else at the root or in viewer.
 */
function compile(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>, kind: ViewerKind): Template | null {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (document.definitions.length !== operations.length || operations.length !== 1) return null;
  const [operation] = operations;
  if (operation.operation !== 'query' || operation.directives?.length) return null;
  if (operationName && operation.name?.value !== operationName) return null;
  const root = plainFields(operation.selectionSet);
  if (root?.length !== 1 || root[0].name.value !== 'viewer' || root[0].arguments?.length) return null;
  const inViewer = plainFields(root[0].selectionSet);
  if (inViewer?.length !== 1 || inViewer[0].name.value !== 'account' || inViewer[0].arguments?.length) return null;
  const compilation = new Compilation(variables);
  const statement = account(inViewer[0].selectionSet!, compilation, kind);
  if (!statement) return null;
  return {
    query: dialect.sqlToQuery(statement),
    limits: compilation.limits,
    viewerKey: keyOf(root[0]),
    accountKey: keyOf(inViewer[0]),
    integrationKeys: integrationKeys(inViewer[0]),
  };
}

/**
 * The plan for a request: the compiled statement and its parameters, or null when the document is
 * not the compiled shape or a page size given by a variable is out of range (Pothos answers then).
 */
export function compiledPlan(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>, viewer: Viewer) {
  const kind = viewerKind(viewer);
  let byShape = templates.get(document);
  if (!byShape) templates.set(document, (byShape = new Map()));
  const shape = `${operationName ?? ''}\n${kind}`;
  let template = byShape.get(shape);
  if (template === undefined) {
    template = compile(document, operationName, variables, kind);
    // A shape refused because of a variable's value is compiled again with the next request's.
    if (template || !Object.keys(variables).length) byShape.set(shape, template);
  }
  if (!template) return null;
  const values: Record<string, unknown> = {
    accountId: viewer.accountId,
    userId: viewer.userId,
    tokenId: viewer.tokenId,
    tokenKind: viewer.tokenKind,
    role: viewer.role,
    isOwner: viewer.isOwner,
  };
  for (const [index, limit] of template.limits.entries()) {
    const value = typeof limit === 'number' ? limit : variables[limit.variable];
    if (!validLimit(value)) return null;
    values[`limit${index}`] = value;
  }
  return { template, values };
}

type Plan = NonNullable<ReturnType<typeof compiledPlan>>;

/** drizzle's session, which sends a built query as a prepared statement and logs (counts) it. */
interface Session {
  prepareQuery(query: Query, mode: 'raw', name: boolean): { execute(values: Record<string, unknown>): Promise<unknown> };
}

/** The statement's answer when its token check failed: the viewer must be looked up again. */
const STALE = Symbol('stale viewer');

/**
 * Runs the compiled statement. The response is PostgreSQL's JSON text as is (Yoga writes it through
 * the result's `stringify`); `data` is parsed only if something reads it (a WebSocket or SSE
 * answer, a plugin). Null, so that Pothos answers with its error, when the account is gone or a
 * connection's integration is missing (the one null PostgreSQL could put where the schema forbids
 * it; in the compact JSON text an object key is followed by ":", and quotes inside strings are
 * escaped, so `"<key>":null` is that null or, at worst, another field's: Pothos answers either way).
 */
async function run(db: Database, plan: Plan) {
  const session = (db as unknown as { session: Session }).session;
  const [row] = rowsOf<{ ok: boolean; data: string | null }>(await session.prepareQuery(plan.template.query, 'raw', true).execute(plan.values));
  if (!row?.ok) return STALE;
  if (!row.data) return null;
  const { template } = plan;
  if (template.integrationKeys.some((key) => row.data!.includes(`${JSON.stringify(key)}:null`))) return null;
  const text = `{"data":{${JSON.stringify(template.viewerKey)}:{${JSON.stringify(template.accountKey)}:${row.data}}}}`;
  let data: Record<string, unknown> | undefined;
  return {
    get data() {
      return (data ??= (JSON.parse(text) as { data: Record<string, unknown> }).data);
    },
    stringify: () => text,
  };
}

/**
 * Answers compilable queries with one statement; everything else goes on to Pothos. Placed just
 * before the execution timeout, which wraps what it sets: the statement runs under the timeout and
 * is cancelled when the caller goes away, as every other operation's statements are; limits, rate
 * limits, metrics and the access log see the operation as before. A viewer the statement finds
 * stale is looked up again: gone, the answer is the 401 of a revoked token; changed, Pothos answers
 * for the current one.
 */
export function useCompiledReads(): Plugin<Context> {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const context = args.contextValue as Context & ViewerCheck;
        const viewer = context.viewer;
        const plan = viewer && compiledPlan(args.document, args.operationName, (args.variableValues ?? {}) as Record<string, unknown>, viewer);
        if (plan) {
          const result = await run(context.db, plan);
          if (result === STALE) {
            const current = (await context.recheckViewer?.()) ?? null;
            context.recheckViewer = undefined;
            if (!current) return { errors: [unauthenticated()] } satisfies ExecutionResult;
            context.viewer = current;
          } else if (result) {
            return result;
          }
        }
        return executeFn(args);
      });
    },
  };
}
