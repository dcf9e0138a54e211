/**
 * Why a connection broke, in words the dashboard shows: what it means and what to do. Each reason
 * has two texts: one for an existing connection (something changed since it worked: reauthenticate)
 * and one for a connection being created (nothing ever worked: check what was just typed).
 */
import type { DisconnectReason } from './types.js';

export interface ReasonText {
  /** What most likely happened, for the person who owns the connection. */
  interpretation: string;
  /** What to do about it. */
  resolution: string;
}

/** The texts of one reason: for an existing connection, and for one being created. */
export interface ReasonTexts extends ReasonText {
  /** The same reason met while creating a connection, before anything was stored. */
  whenNew: ReasonText;
}

/** Whether a failure concerns a connection that worked before, or one being created. */
export type ReasonContext = 'existing' | 'new';

export const DISCONNECT_REASONS: Record<DisconnectReason, ReasonTexts> = {
  INVALID_CREDENTIALS: {
    interpretation:
      'The service rejected the stored credentials: the password, API key or client secret was changed or deleted.',
    resolution:
      'Reauthenticate the connection with the current credentials. Its data sources keep working once it is active again.',
    whenNew: {
      interpretation: 'The service rejected the credentials entered: the user name, password, API key or client secret is wrong.',
      resolution: 'Check the user name and the password (or key) you entered, then try again.',
    },
  },
  INVALID_REFRESH_TOKEN: {
    interpretation:
      'The service no longer accepts the authorization: access was revoked in the service, the password was changed, the user logged out everywhere, the user account was deleted, or too many newer authorizations replaced this one.',
    resolution:
      'The connection owner (or an admin) reauthenticates it, signing in to the service again. The connection keeps its id and data sources.',
    whenNew: {
      interpretation: 'The service did not accept the authorization it had just granted.',
      resolution: 'Start the connection again and complete the sign-in at the service.',
    },
  },
  INSUFFICIENT_PRIVILEGES: {
    interpretation:
      'The connected user no longer has the permissions this integration needs (for example a lost admin role or a narrowed grant).',
    resolution:
      'Ask an administrator of the service to restore the required role or permission, then reauthenticate and grant every requested scope.',
    whenNew: {
      interpretation:
        'The login works but lacks the permissions this integration needs (for a database: CONNECT on the database, or access from this address, and SELECT on the tables to read).',
      resolution: 'Ask an administrator of the service to grant the required role or permission, or use a login that has it, then try again.',
    },
  },
  EXPIRED_TOKEN: {
    interpretation:
      'The authorization reached the end of the lifetime the service allows and can no longer be refreshed (some services require a new sign-in every year).',
    resolution:
      'Reauthenticate the connection to start a new authorization period.',
    whenNew: {
      interpretation: 'The service answered that the new authorization had already expired.',
      resolution: 'Start the connection again; if it keeps happening, check the clock of the service and its token lifetime settings.',
    },
  },
  PROVIDER_ERROR: {
    interpretation:
      'The service refused access for a reason of its own, such as a lapsed subscription that included API access or a deleted API key; its message is shown alongside.',
    resolution:
      'Fix the problem in the service (renew the plan, create a new key), then reauthenticate the connection.',
    whenNew: {
      interpretation:
        'The service refused access for a reason of its own, such as a plan without API access or a disabled key; its message is shown alongside.',
      resolution: 'Fix the problem in the service as its message says, then try again.',
    },
  },
  SUPERSEDED: {
    interpretation:
      'The service allows one live connection per resource, and a newer connection to the same resource replaced this one.',
    resolution:
      'Use the newer connection, move data sources to it, or reauthenticate this one (which supersedes the other in turn).',
    whenNew: {
      interpretation: 'The service allows one live connection per resource, and another connection to the same resource replaced this one.',
      resolution: 'Use the other connection, or connect this one again.',
    },
  },
  UNKNOWN: {
    interpretation: 'The service failed in a way Patchbay could not classify.',
    resolution:
      'Test the connection again; if it still fails, reauthenticate it, and contact support with the error message if that does not help.',
    whenNew: {
      interpretation: 'The service failed in a way Patchbay could not classify; its message is shown alongside.',
      resolution: 'Check what you entered and try again; contact support with the error message if it keeps failing.',
    },
  },
  DATABASE_NOT_FOUND: {
    interpretation: 'The database server answered, but the database named in the connection no longer exists there (dropped or renamed).',
    resolution:
      "Ask the database's administrator whether it was renamed or moved, then reauthenticate the connection with the current database name.",
    whenNew: {
      interpretation: 'The database server answered, but it has no database by the name entered.',
      resolution: 'Check the database name you entered (names are case-sensitive in PostgreSQL), then try again.',
    },
  },
  USER_NOT_FOUND: {
    interpretation: 'The database server answered, but the user (role) of this connection no longer exists there (dropped or renamed).',
    resolution: "Ask the database's administrator to restore the user, or reauthenticate the connection with another user.",
    whenNew: {
      interpretation: 'The database server answered, but it has no user (role) by the name entered.',
      resolution: 'Check the user name you entered, or ask the database administrator to create that user, then try again.',
    },
  },
  TLS_REQUIRED: {
    interpretation:
      "The database server no longer accepts an unencrypted login from Patchbay's address: it now requires TLS (PostgreSQL hostssl, MySQL require_secure_transport or REQUIRE SSL), or no rule admits this address. Patchbay's database logins do not use TLS yet.",
    resolution:
      "Ask the database's administrator to allow an unencrypted login for this user from Patchbay's address (for PostgreSQL a host line in pg_hba.conf), then test the connection again.",
    whenNew: {
      interpretation:
        "The database server does not accept an unencrypted login from Patchbay's address: it requires TLS (PostgreSQL hostssl, MySQL require_secure_transport or REQUIRE SSL), or no rule admits this address. Patchbay's database logins do not use TLS yet.",
      resolution:
        "Ask the database's administrator to allow an unencrypted login for this user from Patchbay's address (for PostgreSQL a host line in pg_hba.conf), then try again.",
    },
  },
  HOST_UNREACHABLE: {
    interpretation:
      'Patchbay could not reach the host and port of this connection: the server is down, moved to another address or port, or a firewall now blocks Patchbay.',
    resolution:
      'Patchbay retries on its own. If it lasts, check that the server is up and accepts connections from Patchbay; if it moved, reauthenticate the connection with its new host and port.',
    whenNew: {
      interpretation:
        'Patchbay could not reach the host and port entered: nothing answered there, or a firewall blocks Patchbay.',
      resolution:
        'Check the host and port you entered (PostgreSQL usually listens on 5432, MySQL on 3306) and that the server accepts connections from Patchbay, then try again.',
    },
  },
  HOST_NOT_FOUND: {
    interpretation: 'The host name of this connection no longer resolves (DNS): it was renamed or its record removed, or DNS is failing.',
    resolution:
      'Patchbay retries on its own. If it lasts, check the name with whoever runs the server, and reauthenticate the connection with the current host name.',
    whenNew: {
      interpretation: 'The host name entered does not resolve (DNS): there is no such name.',
      resolution: 'Check the spelling of the host you entered, then try again.',
    },
  },
  TLS_CERTIFICATE: {
    interpretation:
      "The server's TLS certificate is not trusted: it expired, is self-signed, or is issued for another name.",
    resolution:
      'Patchbay retries on its own. Ask whoever runs the service to renew or fix its certificate; the connection works again once it is trusted.',
    whenNew: {
      interpretation:
        "The server's TLS certificate is not trusted: it expired, is self-signed, or is issued for another name than the host entered.",
      resolution: 'Check that the host you entered is the name on the certificate, or ask whoever runs the service to fix its certificate, then try again.',
    },
  },
};

/** The text of a reason for an existing connection, or for one being created. */
export function reasonText(reason: DisconnectReason, context: ReasonContext): ReasonText {
  const texts = DISCONNECT_REASONS[reason];
  return context === 'new' ? texts.whenNew : { interpretation: texts.interpretation, resolution: texts.resolution };
}
