/**
 * How long Patchbay waits for a third-party service (verification calls, token endpoints,
 * database logins) before the call counts as a transient timeout. One setting for every call;
 * the gateway sets it from PATCHBAY_SERVICE_TIMEOUT_MS at start.
 */
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

/** An abort signal that fires after the service timeout. */
export function serviceTimeoutSignal(): AbortSignal {
  return AbortSignal.timeout(serviceTimeoutMs);
}
