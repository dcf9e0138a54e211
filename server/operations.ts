/**
 * What the operations side (metrics, access log) says about one GraphQL operation: which one it
 * is and how it ended. One reading of each, so /metrics and the log always agree.
 */
import { PothosValidationError } from '@pothos/core';
import { type ExecutionArgs, GraphQLError, type OperationDefinitionNode } from 'graphql';
import { PatchbayError, timeoutFromDatabaseError } from './domain/errors.js';

/** The operation a request runs (its name may be absent). */
export function operationOf(args: Pick<ExecutionArgs, 'document' | 'operationName'>): OperationDefinitionNode | undefined {
  return args.document.definitions.find(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === 'OperationDefinition' && (!args.operationName || definition.name?.value === args.operationName),
  );
}

/** A name safe as a metrics label and a log field: an identifier of at most 64 characters. */
export const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * The code a thrown error reaches the caller with (app.ts's error masking gives it), or undefined
 * for an unexpected one: ours keep their code, Pothos' input validation is VALIDATION, and a
 * statement or lock timeout is TIMEOUT.
 */
export function typedErrorCode(error: unknown): string | undefined {
  const thrown = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (thrown instanceof PatchbayError) return thrown.code;
  if (thrown instanceof PothosValidationError) return 'VALIDATION';
  return timeoutFromDatabaseError(thrown)?.code;
}

/**
 * `ok`, or the first error's code (`VALIDATION`, `RATE_LIMITED`...), or `error` without one. A
 * resolver's error is read before the masking gives it its code, so that code is found here too.
 */
export function outcomeOf(result: unknown): string {
  const errors = (result as { errors?: readonly { extensions?: Record<string, unknown> }[] } | null)?.errors ?? [];
  if (errors.length === 0) return 'ok';
  const code = errors[0].extensions?.code ?? typedErrorCode(errors[0]);
  return typeof code === 'string' && SAFE_NAME.test(code) ? code : 'error';
}
