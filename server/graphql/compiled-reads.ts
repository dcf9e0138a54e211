/**
 * The compiled read path for the connection graph: a query that reads only
 * `viewer { account { connections(first) { nodes { ... } } } }` with fields this module knows is
 * compiled into ONE SQL statement that applies the visibility rules (from domain/viewer.ts, the
 * same SQL the Pothos path uses) and builds the response's JSON in PostgreSQL, so Node does no
 * per-field work. Anything else (fragments, directives, other arguments, pageInfo, cursors,
 * totalCount, fields not listed here, a page size out of range) is executed by Pothos as before:
 * the compiled path answers exactly what the schema would, or does not answer at all.
 * The integration of each connection comes from the catalog in code (and the account's custom
 * integrations), filled in after the statement from its key.
 */
import type { Plugin } from 'graphql-yoga';
import { Kind, type DocumentNode, type FieldNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { sql, type SQL } from 'drizzle-orm';
import { connections } from '../db/schema.js';
import { rowsOf } from '../db/client.js';
import { loadIntegrations } from '../domain/integrations.js';
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

/** Integration fields filled in after the statement (from the catalog in code), by key. */
const INTEGRATION_FIELDS = new Set(['key', 'name', 'authMethod', '__typename']);

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
        const fields = plainFields(field.selectionSet);
        if (field.arguments?.length || !fields?.every((f) => INTEGRATION_FIELDS.has(f.name.value) && !f.arguments?.length)) return null;
        // The key; replaced by the integration's selected fields in fillIntegrations.
        return sql.raw('n.integration_key');
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
  return value && sql`select ${value} as data from accounts a where a.id = ${viewer.accountId}`;
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

interface IntegrationSlot {
  holder: Record<string, unknown>;
  key: string;
  fields: FieldNode[];
}

/** Where the statement left integration keys: each connection node's `integration` fields. */
function integrationSlots(accountValue: Record<string, unknown>, accountField: FieldNode): IntegrationSlot[] {
  const slots: IntegrationSlot[] = [];
  for (const listField of plainFields(accountField.selectionSet) ?? []) {
    if (listField.name.value !== 'connections') continue;
    const list = accountValue[keyOf(listField)] as Record<string, unknown>;
    for (const nodesField of plainFields(listField.selectionSet) ?? []) {
      if (nodesField.name.value !== 'nodes') continue;
      for (const node of list[keyOf(nodesField)] as Record<string, unknown>[]) {
        for (const field of plainFields(nodesField.selectionSet) ?? []) {
          if (field.name.value === 'integration') slots.push({ holder: node, key: keyOf(field), fields: plainFields(field.selectionSet)! });
        }
      }
    }
  }
  return slots;
}

/** Runs the compiled statement; null when an integration is missing (Pothos then answers, with its error). */
async function run(context: Context, viewer: Viewer, plan: NonNullable<ReturnType<typeof compiledPlan>>) {
  const [row] = rowsOf<{ data: Record<string, unknown> | null }>(await context.db.execute(plan.statement));
  if (!row?.data) return null;
  const slots = integrationSlots(row.data, plan.accountField);
  if (slots.length) {
    const keys = [...new Set(slots.map((slot) => slot.holder[slot.key] as string))];
    const found = await loadIntegrations(context.db, viewer.accountId, keys);
    const byKey = new Map(keys.map((key, index) => [key, found[index]]));
    for (const slot of slots) {
      const integration = byKey.get(slot.holder[slot.key] as string);
      if (!integration) return null;
      const value: Record<string, unknown> = {};
      for (const field of slot.fields) {
        value[keyOf(field)] =
          field.name.value === '__typename' ? 'Integration' : (integration[field.name.value as keyof typeof integration] ?? null);
      }
      slot.holder[slot.key] = value;
    }
  }
  return { data: { [plan.viewerKey]: { [plan.accountKey]: row.data } } };
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
        const result = plan ? await run(context, viewer, plan) : null;
        return result ?? executeFn(args);
      });
    },
  };
}
