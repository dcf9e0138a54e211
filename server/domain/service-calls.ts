/**
 * How long Patchbay waits for a third-party service (verification calls, token endpoints,
 * database logins) before the call counts as a transient timeout. One setting for every call;
 * the gateway sets it from PATCHBAY_SERVICE_TIMEOUT_MS at start.
 */
import { operationSignal } from '../db/cancellation.js';

let serviceTimeoutMs = 10_000;

/** The current service timeout in milliseconds. */
export function serviceTimeout(): number {
  return serviceTimeoutMs;
}

/** Changes the service timeout (config at start; tests that need a fast timeout). */
export function setServiceTimeout(ms: number): void {
  if (!Number.isInteger(ms) || ms < 1) throw new RangeError('service timeout must be a positive integer');
  serviceTimeoutMs = ms;
}

/**
 * An abort signal that fires after the service timeout, or when the operation the call is made
 * for stops (its caller gave up, or it ran out of time): a call no one waits for is not kept open.
 * Calls that must complete (a token refresh) run outside any operation.
 */
export function serviceTimeoutSignal(): AbortSignal {
  const timeout = AbortSignal.timeout(serviceTimeoutMs);
  const operation = operationSignal();
  return operation ? AbortSignal.any([timeout, operation]) : timeout;
}
