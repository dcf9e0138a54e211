/**
 * What the operations side (metrics, access log) says about one GraphQL operation: which one it
 * is and how it ended. One reading of each, so /metrics and the log always agree.
 */
import type { ExecutionArgs, OperationDefinitionNode } from 'graphql';

/** The operation a request runs (its name may be absent). */
export function operationOf(args: Pick<ExecutionArgs, 'document' | 'operationName'>): OperationDefinitionNode | undefined {
  return args.document.definitions.find(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === 'OperationDefinition' && (!args.operationName || definition.name?.value === args.operationName),
  );
}

/** A name safe as a metrics label and a log field: an identifier of at most 64 characters. */
export const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** `ok`, or the first error's code (`VALIDATION`, `RATE_LIMITED`...), or `error` without one. */
export function outcomeOf(result: unknown): string {
  const errors = (result as { errors?: readonly { extensions?: Record<string, unknown> }[] } | null)?.errors ?? [];
  if (errors.length === 0) return 'ok';
  const code = errors[0].extensions?.code;
  return typeof code === 'string' && SAFE_NAME.test(code) ? code : 'error';
}
