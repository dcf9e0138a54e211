/** Page-size limits shared by every connection field. */
import { ValidationError } from '../domain/errors.js';

/** The largest page any list returns. */
export const MAX_PAGE_SIZE = 100;

/**
 * A `maxSize` for connection fields that refuses oversized pages with a clear error instead of
 * silently clamping them (a caller asking for 10,000 should learn it got at most 100).
 */
export function maxPageSize(args: { first?: number | null; last?: number | null }): number {
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value != null && (value < 0 || value > MAX_PAGE_SIZE)) {
      throw new ValidationError(`${name} must be between 0 and ${MAX_PAGE_SIZE}`, name);
    }
  }
  return MAX_PAGE_SIZE;
}
