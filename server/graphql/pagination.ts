/** Page-size limits shared by every connection field. */
import { ValidationError } from '../domain/errors.js';

/** The largest page any list returns. */
export const MAX_PAGE_SIZE = 100;

/**
 * Refuses oversized pages with a clear error instead of silently clamping them (a caller asking
 * for 10,000 should learn it gets at most 100). Called from each connection's query callback,
 * which runs even when only `totalCount` is selected.
 */
export function checkPageSize(args: { first?: number | null; last?: number | null }): void {
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value != null && (value < 0 || value > MAX_PAGE_SIZE)) {
      throw new ValidationError(`${name} must be between 0 and ${MAX_PAGE_SIZE}`, name);
    }
  }
}

/** A connection's query options, after checking its page size. */
export function pageQuery<Query>(args: { first?: number | null; last?: number | null }, query: Query): Query {
  checkPageSize(args);
  return query;
}
