/**
 * What a selection costs, before anything runs: every field costs 1, and what is selected under a
 * list is multiplied by how many items it may hold. A page (`first`/`last`) multiplies by its size,
 * `nodes(ids:)` by its ids, nested pages multiply each other. The Pothos complexity plugin stores
 * this per field (`fieldCost`); `queryCost` sums it over the operation a request runs.
 */
import { createComplexityRule, type FieldComplexityValue } from '@pothos/plugin-complexity';
import { type DocumentNode, type GraphQLField, type GraphQLSchema, getNullableType, isListType, validate } from 'graphql';

/** Items a page holds when the caller gives no size (the drizzle plugin's default). */
export const DEFAULT_PAGE_SIZE = 20;
/** Items assumed in a list that takes no size argument (catalog lists, scopes, resources). */
export const UNSIZED_LIST_ITEMS = 10;

function pageSize(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(0, Math.floor(value)) : undefined;
}

/** The cost of one field and the multiplier of what is selected under it. */
export function fieldCost<Context>(args: Record<string, unknown>, _context: Context, field: GraphQLField<unknown, Context>): FieldComplexityValue {
  if (Array.isArray(args.ids)) return { field: 1, multiplier: args.ids.length };
  if (field.args.some((arg) => arg.name === 'first' || arg.name === 'last')) {
    return { field: 1, multiplier: pageSize(args.first) ?? pageSize(args.last) ?? DEFAULT_PAGE_SIZE };
  }
  if (isListType(getNullableType(field.type))) {
    // A page's own `edges` / `nodes` are already counted by the page size above.
    return { field: 1, multiplier: field.name === 'edges' || field.name === 'nodes' ? 1 : UNSIZED_LIST_ITEMS };
  }
  return 1;
}

/** The operation's cost, or null when its variables do not fit (execution reports that). */
export function queryCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variableValues: Record<string, unknown> | null | undefined,
  operationName: string | null | undefined,
  context: object,
): { cost: number; depth: number } | null {
  let measured: { cost: number; depth: number } | null = null;
  validate(schema, document, [
    createComplexityRule({
      context,
      variableValues: variableValues ?? {},
      operationName: operationName ?? undefined,
      // Without an operation name every operation is measured: keep the dearest.
      validate: (result) => {
        if (!measured || result.complexity > measured.cost) measured = { cost: result.complexity, depth: result.depth };
      },
    }),
  ]);
  return measured;
}
