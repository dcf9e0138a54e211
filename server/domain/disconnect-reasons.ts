/** Why a connection broke, in words the dashboard shows: what it means and what to do. */
import type { DisconnectReason } from './types.js';

export interface ReasonText {
  /** What most likely happened, for the person who owns the connection. */
  interpretation: string;
  /** What to do about it. */
  resolution: string;
}

export const DISCONNECT_REASONS: Record<DisconnectReason, ReasonText> = {
  INVALID_CREDENTIALS: {
    interpretation:
      'The service rejected the stored credentials: the password, API key or client secret was changed or deleted.',
    resolution:
      'Reauthenticate the connection with the current credentials. Its data sources keep working once it is active again.',
  },
  INVALID_REFRESH_TOKEN: {
    interpretation:
      'The service no longer accepts the authorization: access was revoked in the service, the password was changed, the user logged out everywhere, the user account was deleted, or too many newer authorizations replaced this one.',
    resolution:
      'The connection owner (or an admin) reauthenticates it, signing in to the service again. The connection keeps its id and data sources.',
  },
  INSUFFICIENT_PRIVILEGES: {
    interpretation:
      'The connected user no longer has the permissions this integration needs (for example a lost admin role or a narrowed grant).',
    resolution:
      'Ask an administrator of the service to restore the required role or permission, then reauthenticate and grant every requested scope.',
  },
  EXPIRED_TOKEN: {
    interpretation:
      'The authorization reached the end of the lifetime the service allows and can no longer be refreshed (some services require a new sign-in every year).',
    resolution:
      'Reauthenticate the connection to start a new authorization period.',
  },
  PROVIDER_ERROR: {
    interpretation:
      'The service refused access for a reason of its own, such as a lapsed subscription that included API access or a deleted API key; its message is shown alongside.',
    resolution:
      'Fix the problem in the service (renew the plan, create a new key), then reauthenticate the connection.',
  },
  SUPERSEDED: {
    interpretation:
      'The service allows one live connection per resource, and a newer connection to the same resource replaced this one.',
    resolution:
      'Use the newer connection, move data sources to it, or reauthenticate this one (which supersedes the other in turn).',
  },
  UNKNOWN: {
    interpretation: 'The service failed in a way Patchbay could not classify.',
    resolution:
      'Test the connection again; if it still fails, reauthenticate it, and contact support with the error message if that does not help.',
  },
};
