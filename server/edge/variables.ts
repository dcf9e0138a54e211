/**
 * Variables that do not fit their types are refused before execution with errors a client can
 * act on: code VALIDATION, the path of the offending value as `field` (e.g. `input.kind`), and a
 * message that never repeats the value. graphql-js's own messages echo what was sent ("got
 * invalid value { ... }"), which for a credential field would put the secret into the response.
 */
import {
  type ExecutionArgs,
  getNamedType,
  getNullableType,
  getVariableValues,
  GraphQLError,
  type GraphQLInputType,
  isEnumType,
  isInputObjectType,
  isListType,
  Kind,
  type OperationDefinitionNode,
  typeFromAST,
  type VariableDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

function selectedOperation(args: ExecutionArgs): OperationDefinitionNode | undefined {
  const operations = args.document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
  return args.operationName ? operations.find((operation) => operation.name?.value === args.operationName) : operations.length === 1 ? operations[0] : undefined;
}

/** The type expected at `path` below a variable of `type` (list indexes and field names). */
function typeAt(type: GraphQLInputType | undefined, path: string[]): GraphQLInputType | undefined {
  let current = type;
  for (const segment of path) {
    const nullable = current && getNullableType(current);
    if (!nullable) return undefined;
    if (isListType(nullable)) current = nullable.ofType;
    else if (isInputObjectType(nullable)) current = nullable.getFields()[segment]?.type;
    else return undefined;
  }
  return current;
}

/** What a value at a path should have been, in words, without the value itself. */
function expectation(type: GraphQLInputType | undefined, original: Error | undefined): string {
  if (original instanceof GraphQLError && typeof original.extensions.code === 'string') return original.message; // our scalars' own, value-free
  const unknownField = /^Field "([^"]+)" is not defined by type "([^"]+)"\./.exec(original?.message ?? '');
  if (unknownField) return `has a field "${unknownField[1]}" that ${unknownField[2]} does not define`;
  if (/Expected non-nullable type/.test(original?.message ?? '')) return 'must not be null';
  const missing = /^Field "([^"]+)" of required type "([^"]+)" was not provided\./.exec(original?.message ?? '');
  if (missing) return `is missing the required field "${missing[1]}" (${missing[2]})`;
  if (!type) return 'is not valid here';
  const named = getNamedType(type);
  if (isEnumType(named)) return `must be one of ${named.name}'s values`;
  if (isListType(getNullableType(type))) return `must be a list of ${String(getNamedType(type))}`;
  if (isInputObjectType(named)) return `must be a ${named.name} object`;
  return `must be a valid ${named.name}`;
}

/** A value-free copy of one of graphql-js's variable errors. */
function rewrite(error: GraphQLError, definitions: readonly VariableDefinitionNode[], args: ExecutionArgs): GraphQLError {
  const match = /^Variable "\$([^"]+)" got invalid value /.exec(error.message);
  if (!match) return new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'VALIDATION' } });
  const name = match[1];
  const original = error.originalError;
  const prefix = original ? error.message.slice(0, error.message.length - original.message.length - 2) : error.message;
  // Paths read like the input rules' (`input.ids.3`), not graphql-js's `input.ids[3]`.
  const field = (/at "([^"]+)"$/.exec(prefix)?.[1] ?? name).replace(/\[(\d+)\]/g, '.$1');
  const definition = definitions.find((candidate) => candidate.variable.name.value === name);
  const type = definition ? (typeFromAST(args.schema, definition.type as never) as GraphQLInputType | undefined) : undefined;
  const path = field.split('.').slice(1);
  return new GraphQLError(`Variable "$${name}" at "${field}" ${expectation(typeAt(type, path), original)}`, {
    nodes: error.nodes,
    extensions: { code: 'VALIDATION', field },
  });
}

/** Most items any list in the variables may hold (pages and `nodes(ids:)` take 100). */
export const MAX_INPUT_LIST_ITEMS = 1_000;

/**
 * The path of the first list longer than the limit, found without recursion (JSON may be nested
 * deeper than the stack) and before graphql-js coerces, or Pothos decodes, every item of it.
 */
function overlongList(variables: Record<string, unknown>): string | undefined {
  const pending: [unknown, string][] = Object.entries(variables).map(([name, value]) => [value, name]);
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, path] = next;
    if (Array.isArray(value)) {
      if (value.length > MAX_INPUT_LIST_ITEMS) return path;
      value.forEach((item, index) => typeof item === 'object' && item !== null && pending.push([item, `${path}.${index}`]));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) if (typeof item === 'object' && item !== null) pending.push([item, `${path}.${key}`]);
    }
  }
  return undefined;
}

/** Checks the variables of the operation about to run; refuses it with value-free errors. */
export function useVariableErrors(): Plugin {
  const check = (args: ExecutionArgs, stop: (result: { errors: GraphQLError[] }) => void) => {
    const operation = selectedOperation(args);
    const definitions = operation?.variableDefinitions ?? [];
    if (definitions.length === 0) return;
    const long = overlongList((args.variableValues ?? {}) as Record<string, unknown>);
    if (long) {
      const message = `${long} holds more than ${MAX_INPUT_LIST_ITEMS} items; send fewer at a time`;
      stop({ errors: [new GraphQLError(message, { extensions: { code: 'VALIDATION', field: long } })] });
      return;
    }
    const coerced = getVariableValues(args.schema, definitions, (args.variableValues ?? {}) as Record<string, unknown>, { maxErrors: 20 });
    if (coerced.errors) stop({ errors: coerced.errors.map((error) => rewrite(error, definitions, args)) });
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
  };
}
