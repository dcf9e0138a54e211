/**
 * Custom scalars: DateTime (ISO 8601 in UTC) and JSONObject (graphql-scalars' parsing). A value of
 * the wrong JSON type (a number for a DateTime, a list for a JSONObject) is a type error here, as
 * for GraphQL's own scalars. Whether a string is a date-time PostgreSQL can store (years 1000 to
 * 9999), and whether an object is JSON it can store (depth, size, no NUL), is checked with every
 * other argument by input-rules.ts, which knows the argument's path: its error names the field
 * and comes back in a mutation's result union.
 */
import { GraphQLError, Kind, type ValueNode } from 'graphql';
import { JSONObjectResolver } from 'graphql-scalars';
import { builder } from './builder.js';

function typeError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'VALIDATION' } });
}

/** Any string parses; one that is no date (an invalid Date) is refused by input-rules, by field. */
function parseDateTime(value: unknown): Date {
  if (typeof value !== 'string') throw typeError('DateTime must be an ISO 8601 date-time string');
  return new Date(value);
}

builder.scalarType('DateTime', {
  description: 'An instant, serialized as an ISO 8601 string in UTC (e.g. 2026-01-31T12:00:00.000Z).',
  // PostgreSQL text ("2026-01-31 12:00:00.123456+00") and Date both normalize to ISO 8601.
  serialize: (value) => new Date(value).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

const notAnObject = () => typeError('JSONObject must be a JSON object');

builder.scalarType('JSONObject', {
  description: JSONObjectResolver.description!,
  specifiedByURL: JSONObjectResolver.specifiedByURL,
  serialize: (value) => JSONObjectResolver.serialize(value) as Record<string, unknown>,
  parseValue: (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw notAnObject();
    return value as Record<string, unknown>;
  },
  parseLiteral: (ast: ValueNode, variables) => {
    if (ast.kind !== Kind.OBJECT) throw notAnObject();
    return JSONObjectResolver.parseLiteral(ast, variables) as Record<string, unknown>;
  },
});
