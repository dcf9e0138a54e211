/** Custom scalars: DateTime (ISO 8601 in UTC) and JSONObject (from graphql-scalars). */
import { GraphQLError, Kind } from 'graphql';
import { JSONObjectResolver } from 'graphql-scalars';
import { builder } from './builder.js';

function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new GraphQLError('DateTime must be an ISO 8601 date-time string', {
      extensions: { code: 'VALIDATION' },
    });
  }
  return date;
}

builder.scalarType('DateTime', {
  description: 'An instant, serialized as an ISO 8601 string in UTC (e.g. 2026-01-31T12:00:00.000Z).',
  // PostgreSQL text ("2026-01-31 12:00:00.123456+00") and Date both normalize to ISO 8601.
  serialize: (value) => new Date(value).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

builder.addScalarType('JSONObject', JSONObjectResolver);
