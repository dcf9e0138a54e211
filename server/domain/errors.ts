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
  ) {
    super(message);
  }
}
