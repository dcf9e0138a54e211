/**
 * The one error hierarchy. Domain code throws these; GraphQL exposes them as typed errors in
 * mutation result unions and as `extensions.code` elsewhere. Messages are written for people and
 * never carry a secret.
 */

/** Base class: anything thrown as a PatchbayError is safe to show to the caller. */
export class PatchbayError extends Error {
  /** Stable machine-readable code, e.g. NOT_FOUND. */
  readonly code: string = 'PATCHBAY_ERROR';
}

/** The object does not exist, or belongs to another account (the two are indistinguishable). */
export class NotFoundError extends PatchbayError {
  override readonly code = 'NOT_FOUND';
  override name = 'NotFoundError';
  constructor(
    /** The type of the object looked up, e.g. "Connection". */
    readonly typename: string,
    message = `${typename} not found`,
  ) {
    super(message);
  }
}

/** The viewer may see the object but not do this to it. */
export class ForbiddenError extends PatchbayError {
  override readonly code = 'FORBIDDEN';
  override name = 'ForbiddenError';
}

/** No or an invalid credential on the request. */
export class AuthenticationError extends PatchbayError {
  override readonly code = 'UNAUTHENTICATED';
  override name = 'AuthenticationError';
}

/** Input that breaks a rule; `field` names the offending input path. */
export class ValidationError extends PatchbayError {
  override readonly code = 'VALIDATION';
  override name = 'ValidationError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Deleting a connection that data sources still read through. */
export class ConnectionInUseError extends PatchbayError {
  override readonly code = 'CONNECTION_IN_USE';
  override name = 'ConnectionInUseError';
  constructor(readonly dataSourceCount: number) {
    super(
      `This connection feeds ${dataSourceCount} data source${dataSourceCount === 1 ? '' : 's'}; ` +
        'move or delete them first',
    );
  }
}

/** The service refused the credentials; nothing was stored. */
export class CredentialsRejectedError extends PatchbayError {
  override readonly code = 'CREDENTIALS_REJECTED';
  override name = 'CredentialsRejectedError';
  constructor(
    /** The classified reason (a DisconnectReason). */
    readonly reason: string,
    message: string,
    /** Whether the credentials were just entered ('new': creating or reauthenticating) or stored ('existing'). */
    readonly context: 'new' | 'existing' = 'existing',
  ) {
    super(message);
  }
}

/** The service could not be reached or failed transiently; try again later. Nothing changed. */
export class ProviderUnavailableError extends PatchbayError {
  override readonly code = 'PROVIDER_UNAVAILABLE';
  override name = 'ProviderUnavailableError';
  constructor(
    message: string,
    /** When the service asked to be retried, in seconds. */
    readonly retryAfterSeconds?: number,
    /** What the failure is evidence of (a DisconnectReason such as HOST_UNREACHABLE), when known. */
    readonly reason?: string,
    /** Whether the credentials were just entered ('new') or stored ('existing'), for the reason's text. */
    readonly context: 'new' | 'existing' = 'existing',
  ) {
    super(message);
  }
}

/**
 * The operation took too long: it ran past the execution timeout, one of its statements past the
 * statement timeout, or it waited past the lock timeout for data another change holds. Its
 * transaction was rolled back; trying again later is safe.
 */
export class OperationTimeoutError extends PatchbayError {
  override readonly code = 'TIMEOUT';
  override name = 'OperationTimeoutError';
  constructor(message = 'The operation took too long; try again') {
    super(message);
  }
}

/** The caller gave up (disconnected, or completed the operation): its work was stopped. No one reads this. */
export class OperationCancelledError extends PatchbayError {
  override readonly code = 'CANCELLED';
  override name = 'OperationCancelledError';
  constructor() {
    super('The caller cancelled the operation');
  }
}

/**
 * PostgreSQL's codes for "took too long": 57014 query_canceled (statement_timeout, or a cancel
 * sent for a caller that gave up) and 55P03 lock_not_available (lock_timeout).
 */
const TIMEOUT_SQLSTATES: Record<string, string> = {
  '57014': 'The operation took too long; try again',
  '55P03': 'Another change to the same data is in progress; try again',
};

/**
 * The OperationTimeoutError a database error stands for, or undefined when it is another error.
 * Drivers differ (postgres.js, PGlite) and drizzle wraps both, so the cause chain is searched for
 * the SQLSTATE.
 */
export function timeoutFromDatabaseError(error: unknown): OperationTimeoutError | undefined {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && code in TIMEOUT_SQLSTATES) return new OperationTimeoutError(TIMEOUT_SQLSTATES[code]);
  }
  return undefined;
}

/** A refresh of the data source is RUNNING; Refresh now waits for it to end. */
export class RefreshRunningError extends PatchbayError {
  override readonly code = 'REFRESH_RUNNING';
  override name = 'RefreshRunningError';
  constructor() {
    super('A refresh of this data source is running; wait for it to end');
  }
}
