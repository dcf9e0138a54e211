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
