/** Input rules shared by every entry point (GraphQL, CLI, seed). */
import { ValidationError } from './errors.js';

/** Longest name we accept for anything a person names. */
export const MAX_NAME_LENGTH = 120;

/** Trims a person-given name and checks it is 1..120 characters. */
export function validName(value: string, field = 'name'): string {
  const name = value.trim();
  if (name.length === 0) throw new ValidationError(`${field} must not be empty`, field);
  if (name.length > MAX_NAME_LENGTH) {
    throw new ValidationError(`${field} must be at most ${MAX_NAME_LENGTH} characters`, field);
  }
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    throw new ValidationError(`${field} must not contain control characters`, field);
  }
  return name;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Lower-cases and checks an email address. */
export function validEmail(value: string, field = 'email'): string {
  const email = value.trim().toLowerCase();
  if (!EMAIL.test(email) || email.length > 254) {
    throw new ValidationError(`${field} must be an email address`, field);
  }
  return email;
}

/**
 * Rules every value sent to the API obeys before any code acts on it; the GraphQL edge applies
 * them to every argument (graphql/input-rules.ts). Each returns what is wrong, for a message that
 * names the field, or null. None echoes the value: it may be a secret or unprintable.
 */

/** Text is single-line (names, keys, ids, URLs: no control characters) or multi-line free text. */
export type TextKind = 'line' | 'multiline';

const NUL = /\u0000/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LINE_CONTROLS = /[\u0001-\u001f\u007f]/;
/** Free text keeps tab, line feed and carriage return. */
const MULTILINE_CONTROLS = /[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** NUL never (PostgreSQL cannot store it), nor half a surrogate pair; other controls by kind. */
export function textProblem(value: string, kind: TextKind): string | null {
  if (NUL.test(value)) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode text';
  if (kind === 'line' && LINE_CONTROLS.test(value)) return 'must not contain control characters';
  if (kind === 'multiline' && MULTILINE_CONTROLS.test(value)) {
    return 'must not contain control characters other than tab and line breaks';
  }
  return null;
}

/**
 * The instants accepted: four-digit years, 1000 to 9999 (UTC). PostgreSQL stores years 4713 BC to
 * 294276 AD and JavaScript ±275760, but ISO 8601 wants expanded years signed and PostgreSQL refuses
 * those, and timestamps are read back through JavaScript's Date, which misreads PostgreSQL's text
 * for years below 100 (year 1 comes back as 2001). Nothing Patchbay records predates year 1000.
 */
export const EARLIEST_INSTANT = '1000-01-01T00:00:00.000Z';
export const LATEST_INSTANT = '9999-12-31T23:59:59.999Z';

/** A date-time must be one, in years 1000 to 9999 (UTC). */
export function instantProblem(value: Date): string | null {
  const time = value.getTime();
  if (Number.isNaN(time)) return 'must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z';
  if (time < Date.parse(EARLIEST_INSTANT) || time > Date.parse(LATEST_INSTANT)) {
    return `must be between ${EARLIEST_INSTANT} and ${LATEST_INSTANT}`;
  }
  return null;
}

/** How deeply JSON values (filters, credentials) may nest: `{"a": {"b": 1}}` is 2 deep. */
export const MAX_JSON_DEPTH = 10;
/** The largest JSON value, serialized. */
export const MAX_JSON_BYTES = 65_536;

/**
 * JSON values: at most MAX_JSON_DEPTH deep and MAX_JSON_BYTES long, and no key or string with a
 * NUL or half a surrogate pair (PostgreSQL's jsonb refuses both). The depth is checked first and
 * the walk stops at the limit, so a hostile 20,000-deep value costs no more than a legal one.
 */
export function jsonProblem(value: unknown): string | null {
  const walk = (node: unknown, depth: number): string | null => {
    if (typeof node === 'string') return NUL.test(node) || LONE_SURROGATE.test(node) ? stringProblem(node) : null;
    if (node === null || typeof node !== 'object') return null;
    if (depth > MAX_JSON_DEPTH) return `must be nested at most ${MAX_JSON_DEPTH} levels deep`;
    for (const [key, child] of Array.isArray(node) ? node.entries() : Object.entries(node)) {
      if (typeof key === 'string' && (NUL.test(key) || LONE_SURROGATE.test(key))) return stringProblem(key);
      const problem = walk(child, depth + 1);
      if (problem) return problem;
    }
    return null;
  };
  const problem = walk(value, 1);
  if (problem) return problem;
  if (Buffer.byteLength(JSON.stringify(value) ?? '') > MAX_JSON_BYTES) {
    return `must be at most ${MAX_JSON_BYTES} bytes of JSON`;
  }
  return null;
}

function stringProblem(text: string): string {
  return NUL.test(text) ? 'must not contain NUL characters' : 'must be valid Unicode text';
}

/** Throws a ValidationError naming `field` when `problem` is not null. */
export function refuse(field: string, problem: string | null): void {
  if (problem) throw new ValidationError(`${field} ${problem}`, field);
}
