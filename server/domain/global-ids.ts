/**
 * Opaque global ids: base64url of "<Type>:<uuid>". Decoding checks both parts, so a malformed id
 * is a ValidationError before any SQL runs (PostgreSQL would otherwise reject the uuid). The API,
 * mail links and webhook payloads all name objects by them.
 */
import { ValidationError } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TYPENAME = /^[A-Z][A-Za-z]{1,40}$/;

/** Whether `value` is a row id (a UUID), so a malformed one is refused before any SQL runs. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Encodes a type name and row id as an opaque id. */
export function encodeGlobalId(typename: string, id: string | number | bigint): string {
  return Buffer.from(`${typename}:${id}`).toString('base64url');
}

/** Decodes an opaque id into its type name and row id; throws ValidationError when malformed. */
export function decodeGlobalId(globalId: string): { typename: string; id: string } {
  const decoded = globalId.length <= 100 ? Buffer.from(globalId, 'base64url').toString('utf8') : '';
  const separator = decoded.indexOf(':');
  const typename = decoded.slice(0, separator);
  const id = decoded.slice(separator + 1);
  if (separator < 0 || !TYPENAME.test(typename) || !UUID.test(id)) {
    // The value is not echoed: it may be anything, unprintable included.
    throw new ValidationError('id is not a valid id', 'id');
  }
  return { typename, id };
}

/** Decodes an id that must name `typename`; `field` names the argument in the error. */
export function parseGlobalId(globalId: string, typename: string, field = 'id'): string {
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalId(globalId);
  } catch {
    throw new ValidationError(`${field} is not a valid ${typename} id`, field);
  }
  if (decoded.typename !== typename) {
    throw new ValidationError(`${field} is a ${decoded.typename} id, expected a ${typename} id`, field);
  }
  return decoded.id;
}
