/**
 * The compiled read path for the connection graph: a query that reads only
 * `viewer { account { connections(first) { nodes { ... } } } }` with fields this module knows is
 * compiled into ONE SQL statement that applies the visibility rules (from domain/viewer.ts, the
 * same SQL the Pothos path uses) and builds the response's JSON in PostgreSQL, so Node does no
 * per-field work. Anything else (fragments, directives, other arguments, pageInfo, cursors,
 * totalCount, fields not listed here, a page size out of range) is executed by Pothos as before:
 * the compiled path answers exactly what the schema would, or does not answer at all.
 * The integration of each connection comes from the built-in catalog in code (passed to the
 * statement) or the account's custom integrations, in that order, as domain/integrations.ts reads them.
 */
import type { Plugin } from 'graphql-yoga';
import { Kind, type DocumentNode, type FieldNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { sql, type SQL } from 'drizzle-orm';
import { connections } from '../db/schema.js';
import { rowsOf } from '../db/client.js';
import { BUILT_IN_INTEGRATIONS } from '../domain/catalog.js';
import { usableConnectionsCondition, visibleConnectionsCondition, type Viewer } from '../domain/viewer.js';
import type { Context } from './builder.js';
import { MAX_PAGE_SIZE } from './pagination.js';

/** The page size Pothos uses when `first` is not given (builder.ts, drizzle.defaultConnectionSize). */
const DEFAULT_PAGE_SIZE = 20;

/** ISO 8601 in UTC with milliseconds, as the DateTime scalar serializes (Date#toISOString). */
const dateTime = (column: SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** relay's global id (domain/global-ids.ts): base64url of "<Type>:<uuid>", without padding. */
const globalId = (typename: string, column: SQL) =>
  sql`translate(encode(convert_to(${`${typename}:`} || ${column}::text, 'UTF8'), 'base64'), '+/=', '-_')`;

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

/** The integer value of argument `name`, `fallback` when absent, or null when not compilable. */
function intArgument(field: FieldNode, name: string, variables: Record<string, unknown>, fallback: number): number | null {
  const argument = field.arguments?.find((a) => a.name.value === name);
  if (!argument) return fallback;
  const value =
    argument.value.kind === Kind.INT
      ? Number(argument.value.value)
      : argument.value.kind === Kind.VARIABLE
        ? variables[argument.value.name.value]
        : undefined;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_PAGE_SIZE ? value : null;
}

/** `json_build_object` over the fields, or null when one of them is not compilable. */
function object(
  fields: FieldNode[] | null,
  typename: string,
  compileField: (field: FieldNode) => SQL | null,
): SQL | null {
  if (!fields || fields.length === 0) return null;
  const parts: SQL[] = [];
  for (const field of fields) {
    const value = field.name.value === '__typename' ? sql`${typename}::text` : compileField(field);
    if (!value) return null;
    parts.push(sql`${keyOf(field)}::text, ${value}`);
  }
  return sql`json_build_object(${sql.join(parts, sql`, `)})`;
}

/** A Relay connection field of which only `nodes` (and __typename) is selected. */
function page(
  field: FieldNode,
  typename: string,
  variables: Record<string, unknown>,
  rows: (limit: number) => SQL,
  node: (selection: SelectionSetNode) => SQL | null,
): SQL | null {
  if (field.arguments?.some((a) => a.name.value !== 'first')) return null;
  const limit = intArgument(field, 'first', variables, DEFAULT_PAGE_SIZE);
  if (limit === null) return null;
  return object(plainFields(field.selectionSet), typename, (inner) => {
    if (inner.name.value !== 'nodes' || inner.arguments?.length || !inner.selectionSet) return null;
    const value = node(inner.selectionSet);
    return value && sql`coalesce((select json_agg(${value} order by n.ordinal) from ${rows(limit)} n), '[]'::json)`;
  });
}

const leaf = (field: FieldNode, columns: Record<string, SQL>) =>
  field.arguments?.length || field.selectionSet ? null : (columns[field.name.value] ?? null);

function refreshRun(selection: SelectionSetNode): SQL | null {
  const columns: Record<string, SQL> = {
    id: globalId('RefreshRun', sql.raw('n.id')),
    status: sql.raw('n.status'),
    startedAt: dateTime(sql.raw('n.started_at')),
    finishedAt: dateTime(sql.raw('n.finished_at')),
    rows: sql.raw('n.rows'),
    error: sql.raw('n.error'),
  };
  return object(plainFields(selection), 'RefreshRun', (field) => leaf(field, columns));
}

function dataSource(selection: SelectionSetNode, variables: Record<string, unknown>): SQL | null {
  const columns: Record<string, SQL> = {
    id: globalId('DataSource', sql.raw('n.id')),
    name: sql.raw('n.name'),
    resourceId: sql.raw('n.resource_id'),
    schedule: sql.raw('n.schedule'),
    status: sql.raw('n.status'),
    lastRefreshedAt: dateTime(sql.raw('n.last_refreshed_at')),
    createdAt: dateTime(sql.raw('n.created_at')),
    updatedAt: dateTime(sql.raw('n.updated_at')),
  };
  return object(plainFields(selection), 'DataSource', (field) => {
    if (field.name.value !== 'refreshRuns') return leaf(field, columns);
    const runs = page(
      field,
      'RefreshRunConnection',
      variables,
      (limit) => sql`(select r.*, row_number() over (order by r.started_at desc, r.id desc) as ordinal from refresh_runs r
        where r.data_source_id = n.id order by r.started_at desc, r.id desc limit ${limit})`,
      refreshRun,
    );
    return runs;
  });
}

function user(selection: SelectionSetNode): SQL | null {
  const columns: Record<string, SQL> = {
    id: globalId('User', sql.raw('n.id')),
    name: sql.raw('n.name'),
    email: sql.raw('n.email'),
    role: sql.raw('n.role'),
    isOwner: sql.raw('n.is_owner'),
    createdAt: dateTime(sql.raw('n.created_at')),
  };
  return object(plainFields(selection), 'User', (field) => leaf(field, columns));
}

/** Integration fields, read from the built-in catalog (passed in) or the account's custom integrations. */
const INTEGRATION_COLUMNS: Record<string, SQL> = {
  key: sql.raw('i.key'),
  name: sql.raw('i.name'),
  authMethod: sql.raw('i."authMethod"'),
};

/** The built-in catalog's identity, as a statement parameter (domain/catalog.ts is the source). */
const CATALOG = JSON.stringify(BUILT_IN_INTEGRATIONS.map(({ key, name, authMethod }) => ({ key, name, authMethod })));

function connection(selection: SelectionSetNode, variables: Record<string, unknown>): SQL | null {
  // Details of a connection private to another user are null (graphql/connection.ts hiddenFromNonUsers).
  const usable = sql.raw('n.usable');
  const hidden = (value: SQL) => sql`case when ${usable} then ${value} end`;
  const columns: Record<string, SQL> = {
    id: globalId('Connection', sql.raw('n.id')),
    name: hidden(sql.raw('n.name')),
    resourceId: hidden(sql.raw('n.resource_id')),
    resourceName: hidden(sql.raw('n.resource_name')),
    status: sql.raw('n.status'),
    shared: sql.raw('n.shared'),
    createdAt: dateTime(sql.raw('n.created_at')),
    updatedAt: dateTime(sql.raw('n.updated_at')),
    lastCheckedAt: dateTime(sql.raw('n.last_checked_at')),
    accessTokenExpiresAt: dateTime(sql.raw('n.access_token_expires_at')),
    reauthorizeBy: dateTime(sql.raw('n.reauthorize_by')),
  };
  return object(plainFields(selection), 'Connection', (field) => {
    switch (field.name.value) {
      case 'integration': {
        if (field.arguments?.length) return null;
        const value = object(plainFields(field.selectionSet), 'Integration', (inner) => leaf(inner, INTEGRATION_COLUMNS));
        // A built-in key first, then the account's custom integration (domain/integrations.ts's order).
        return (
          value &&
          sql`coalesce((select ${value} from patchbay_catalog i where i.key = n.integration_key),
            (select ${value} from (select key, name, auth_method::text as "authMethod" from integrations
              where account_id = n.account_id and key = n.integration_key) i))`
        );
      }
      case 'owner': {
        if (field.arguments?.length || !field.selectionSet) return null;
        const value = user(field.selectionSet);
        // Inside the FROM subquery, `n` is still the connection; outside it, the user.
        return value && sql`(select ${value} from (select * from users u where u.id = n.owner_id) n)`;
      }
      case 'dataSources': {
        const sources = page(
          field,
          'DataSourceConnection',
          variables,
          (limit) => sql`(select d.*, row_number() over (order by d.created_at, d.id) as ordinal from data_sources d
            where d.connection_id = n.id order by d.created_at, d.id limit ${limit})`,
          (nodes) => dataSource(nodes, variables),
        );
        return sources && hidden(sources);
      }
      default:
        return leaf(field, columns);
    }
  });
}

/** The statement for `account { ... }`, or null. */
function account(selection: SelectionSetNode, variables: Record<string, unknown>, viewer: Viewer): SQL | null {
  const columns: Record<string, SQL> = {
    id: globalId('Account', sql.raw('a.id')),
    name: sql.raw('a.name'),
    createdAt: dateTime(sql.raw('a.created_at')),
  };
  const fields = plainFields(selection);
  const value = object(fields, 'Account', (field) => {
    if (field.name.value !== 'connections') return leaf(field, columns);
    const list = page(
      field,
      'AccountConnectionsConnection',
      variables,
      // Unaliased: the conditions from domain/viewer.ts name the table itself.
      (limit) => sql`(select connections.*, ${usableConnectionsCondition(connections, viewer)} as usable,
          row_number() over (order by connections.created_at desc, connections.id desc) as ordinal
        from connections where ${visibleConnectionsCondition(connections, viewer)} and connections.account_id = a.id
        order by connections.created_at desc, connections.id desc limit ${limit})`,
      (nodes) => connection(nodes, variables),
    );
    return list;
  });
  return (
    value &&
    sql`with patchbay_catalog as materialized (
        select * from jsonb_to_recordset(${CATALOG}::jsonb) as c(key text, name text, "authMethod" text))
      select ${value}::text as data from accounts a where a.id = ${viewer.accountId}`
  );
}

/**
 * The plan for a document, or null when it is not the compiled shape:
 * `query { viewer { account { ... } } }` with nothing else at the root or in viewer.
 */
export function compiledPlan(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>, viewer: Viewer) {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (document.definitions.length !== operations.length || operations.length !== 1) return null;
  const [operation] = operations;
  if (operation.operation !== 'query' || operation.directives?.length) return null;
  if (operationName && operation.name?.value !== operationName) return null;
  const root = plainFields(operation.selectionSet);
  if (root?.length !== 1 || root[0].name.value !== 'viewer' || root[0].arguments?.length) return null;
  const inViewer = plainFields(root[0].selectionSet);
  if (inViewer?.length !== 1 || inViewer[0].name.value !== 'account' || inViewer[0].arguments?.length) return null;
  const statement = account(inViewer[0].selectionSet!, variables, viewer);
  if (!statement) return null;
  return { statement, viewerKey: keyOf(root[0]), accountKey: keyOf(inViewer[0]), accountField: inViewer[0] };
}

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
 * Runs the compiled statement. The response is PostgreSQL's JSON text as is (Yoga writes it through
 * the result's `stringify`); `data` is parsed only if something reads it (a WebSocket or SSE
 * answer, a plugin). Null, so that Pothos answers with its error, when the account is gone or a
 * connection's integration is missing (the one null PostgreSQL could put where the schema forbids
 * it; in its JSON text an object key is followed by " : ", and quotes inside strings are escaped).
 */
async function run(context: Context, plan: NonNullable<ReturnType<typeof compiledPlan>>) {
  const [row] = rowsOf<{ data: string | null }>(await context.db.execute(plan.statement));
  if (!row?.data) return null;
  if (integrationKeys(plan.accountField).some((key) => row.data!.includes(`${JSON.stringify(key)} : null`))) return null;
  const text = `{"data":{${JSON.stringify(plan.viewerKey)}:{${JSON.stringify(plan.accountKey)}:${row.data}}}}`;
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
 * limits, metrics and the access log see the operation as before.
 */
export function useCompiledReads(): Plugin<Context> {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const context = args.contextValue as Context;
        const viewer = context.viewer;
        const plan = viewer && compiledPlan(args.document, args.operationName, (args.variableValues ?? {}) as Record<string, unknown>, viewer);
        const result = plan ? await run(context, plan) : null;
        return result ?? executeFn(args);
      });
    },
  };
}
