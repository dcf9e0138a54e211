/**
 * The connection lifecycle for credential-based methods (API key, Basic, database login):
 * connect, test, reauthenticate, revoke. Credentials are verified with the service before
 * anything is written; every status change is one transaction (connection, event row, data
 * source statuses), so a crash leaves either the old state or the new one.
 */
import { and, eq, inArray, ne } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { connectionEvents, connections, dataSources } from '../db/schema.js';
import { supportsCredentials, verifyCredentials, type CredentialValues, type Verification } from './auth-methods.js';
import { findConnection } from './connections.js';
import { readCredentials, storeCredentials, wipeCredentials } from './credentials.js';
import { CredentialsRejectedError, ProviderUnavailableError, ValidationError } from './errors.js';
import { type Integration, loadIntegrations } from './integrations.js';
import type { ActorKind, ConnectionRow, ConnectionStatus, DisconnectReason } from './types.js';
import { validName } from './validation.js';
import type { Vault } from './vault.js';
import type { Viewer } from './viewer.js';

const MAX_CREDENTIAL_LENGTH = 4096;

/** Who caused a change, for the event row. */
export interface Actor {
  kind: ActorKind;
  userId?: string | null;
}

/** The actor a viewer's request acts as. */
export function actorOf(viewer: Viewer): Actor {
  return { kind: viewer.tokenKind === 'SERVICE' ? 'SERVICE' : 'USER', userId: viewer.userId };
}

/**
 * Moves a connection to `to` inside the caller's transaction: the row, its event, and its data
 * sources (BROKEN while the connection is not ACTIVE, ACTIVE again when it is).
 */
export async function transition(
  tx: Database,
  connection: ConnectionRow,
  to: ConnectionStatus,
  actor: Actor,
  problem?: { reason: DisconnectReason; message: string | null },
): Promise<ConnectionRow> {
  const now = new Date().toISOString();
  const [row] = await tx
    .update(connections)
    .set({
      status: to,
      disconnectReason: to === 'DISCONNECTED' ? (problem?.reason ?? 'UNKNOWN') : null,
      errorMessage: to === 'DISCONNECTED' ? (problem?.message ?? null) : null,
      updatedAt: now,
    })
    .where(eq(connections.id, connection.id))
    .returning();
  await tx.insert(connectionEvents).values({
    accountId: connection.accountId,
    connectionId: connection.id,
    fromStatus: connection.status,
    toStatus: to,
    reason: to === 'DISCONNECTED' ? (problem?.reason ?? 'UNKNOWN') : null,
    message: problem?.message ?? null,
    actorKind: actor.kind,
    actorUserId: actor.userId ?? null,
  });
  await tx
    .update(dataSources)
    .set(to === 'ACTIVE' ? { status: 'ACTIVE', updatedAt: now } : { status: 'BROKEN', updatedAt: now })
    .where(
      and(
        eq(dataSources.connectionId, connection.id),
        to === 'ACTIVE' ? eq(dataSources.status, 'BROKEN') : eq(dataSources.status, 'ACTIVE'),
      ),
    );
  return row;
}

async function credentialIntegration(db: Database, viewer: Viewer, key: string): Promise<Integration> {
  const [integration] = await loadIntegrations(db, viewer.accountId, [key]);
  if (!integration) throw new ValidationError(`Unknown integration "${key}"`, 'integration');
  if (!supportsCredentials(integration)) {
    throw new ValidationError(
      `${integration.name} connects with ${integration.authMethod}, which this gateway does not accept credentials for yet`,
      'integration',
    );
  }
  return integration;
}

/** Checks credential values against the integration's fields: all required present, none unknown. */
function validCredentials(integration: Integration, values: Record<string, unknown> | null | undefined): CredentialValues {
  if (!values) throw new ValidationError(`${integration.name} needs credentials`, 'credentials');
  const fields = new Map(integration.credentialFields.map((field) => [field.key, field]));
  const result: CredentialValues = {};
  for (const [key, value] of Object.entries(values)) {
    if (!fields.has(key)) throw new ValidationError(`Unknown credential field "${key}"`, `credentials.${key}`);
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new ValidationError(`Credential field "${key}" must be a string`, `credentials.${key}`);
    }
    const text = String(value);
    if (text.length > MAX_CREDENTIAL_LENGTH) {
      throw new ValidationError(`Credential field "${key}" is too long`, `credentials.${key}`);
    }
    result[key] = text;
  }
  for (const field of fields.values()) {
    if (field.required && !result[field.key]?.trim()) {
      throw new ValidationError(`${field.label} is required`, `credentials.${field.key}`);
    }
  }
  return result;
}

/** Turns a failed verification into the error the caller sees; nothing has been written. */
function rejection(verification: Verification & { ok: false }): never {
  const { failure } = verification;
  if (failure.kind === 'transient') {
    throw new ProviderUnavailableError(
      `The service could not be reached: ${failure.message}`,
      failure.retryAfterMs === undefined ? undefined : Math.ceil(failure.retryAfterMs / 1000),
    );
  }
  throw new CredentialsRejectedError(failure.reason, failure.message);
}

/**
 * ONE_PER_RESOURCE: a connection that becomes ACTIVE on a resource supersedes the account's other
 * live connections of that integration on the same resource.
 */
async function supersedeOthers(tx: Database, integration: Integration, connection: ConnectionRow): Promise<void> {
  if (integration.connectionPolicy !== 'ONE_PER_RESOURCE' || !connection.resourceId) return;
  const others = await tx
    .select()
    .from(connections)
    .where(
      and(
        eq(connections.accountId, connection.accountId),
        eq(connections.integrationKey, connection.integrationKey),
        eq(connections.resourceId, connection.resourceId),
        ne(connections.id, connection.id),
        inArray(connections.status, ['ACTIVE', 'PENDING']),
      ),
    )
    .for('update');
  for (const other of others) {
    await transition(tx, other, 'DISCONNECTED', { kind: 'SYSTEM' }, {
      reason: 'SUPERSEDED',
      message: `Replaced by "${connection.name}"`,
    });
  }
}

/** Connects with credentials: verified at the service first, then stored sealed, ACTIVE at once. */
export async function connectWithCredentials(
  db: Database,
  vault: Vault,
  viewer: Viewer,
  input: {
    integration: string;
    name: string;
    shared?: boolean | null;
    resourceId?: string | null;
    resourceName?: string | null;
    credentials?: Record<string, unknown> | null;
  },
): Promise<ConnectionRow> {
  const name = validName(input.name);
  const integration = await credentialIntegration(db, viewer, input.integration);
  const values = validCredentials(integration, input.credentials);
  const verification = await verifyCredentials(integration, values);
  if (!verification.ok) rejection(verification);
  return db.transaction(async (tx) => {
    const [created] = await tx
      .insert(connections)
      .values({
        accountId: viewer.accountId,
        ownerId: viewer.userId,
        integrationKey: integration.key,
        customIntegrationId: integration.customId ?? null,
        name,
        shared: input.shared ?? false,
        status: 'PENDING',
        resourceId: input.resourceId?.trim() || null,
        resourceName: input.resourceName?.trim() || null,
        lastCheckedAt: new Date().toISOString(),
      })
      .returning();
    await storeCredentials(tx, vault, created, values);
    const active = await transition(tx, created, 'ACTIVE', actorOf(viewer));
    await supersedeOthers(tx, integration, active);
    return active;
  });
}

/** The outcome of a connection test. */
export interface TestResult {
  connection: ConnectionRow;
  ok: boolean;
  /** Set when the failure was transient: the status did not change. */
  transientMessage?: string;
}

/**
 * Tests a connection against its service. A definitive failure disconnects it with the
 * classified reason; success repairs a DISCONNECTED one; a transient failure changes nothing
 * but `lastCheckedAt`.
 */
export async function testConnection(db: Database, vault: Vault, viewer: Viewer, id: string): Promise<TestResult> {
  const connection = await findConnection(db, viewer, id, 'use');
  const integration = await credentialIntegration(db, viewer, connection.integrationKey);
  if (connection.status === 'REVOKED' || connection.status === 'PENDING') {
    throw new ValidationError(`A ${connection.status} connection cannot be tested; reauthenticate it`, 'id');
  }
  const values = await readCredentials<CredentialValues>(db, vault, connection.id);
  const verification: Verification = values
    ? await verifyCredentials(integration, values)
    : { ok: false, failure: { kind: 'definitive', reason: 'INVALID_CREDENTIALS', message: 'No credentials are stored' } };
  return db.transaction(async (tx) => {
    await findConnection(tx, viewer, id, 'use', { forUpdate: true });
    const [checked] = await tx
      .update(connections)
      .set({ lastCheckedAt: new Date().toISOString() })
      .where(eq(connections.id, id))
      .returning();
    if (verification.ok) {
      const row = checked.status === 'DISCONNECTED' ? await transition(tx, checked, 'ACTIVE', actorOf(viewer)) : checked;
      return { connection: row, ok: true };
    }
    const { failure } = verification;
    if (failure.kind === 'transient') return { connection: checked, ok: false, transientMessage: failure.message };
    const changed = checked.status === 'ACTIVE' || checked.disconnectReason !== failure.reason;
    const row = changed
      ? await transition(tx, checked, 'DISCONNECTED', actorOf(viewer), { reason: failure.reason, message: failure.message })
      : checked;
    return { connection: row, ok: false };
  });
}

/**
 * Replaces a connection's credentials (owner or admin): verified first, then swapped in one
 * transaction with the return to ACTIVE. Same id, so its data sources carry on.
 */
export async function reauthenticateWithCredentials(
  db: Database,
  vault: Vault,
  viewer: Viewer,
  id: string,
  input: { credentials?: Record<string, unknown> | null },
): Promise<ConnectionRow> {
  const connection = await findConnection(db, viewer, id, 'manage');
  const integration = await credentialIntegration(db, viewer, connection.integrationKey);
  const values = validCredentials(integration, input.credentials);
  const verification = await verifyCredentials(integration, values);
  if (!verification.ok) rejection(verification);
  return db.transaction(async (tx) => {
    const current = await findConnection(tx, viewer, id, 'manage', { forUpdate: true });
    await storeCredentials(tx, vault, current, values);
    await tx.update(connections).set({ lastCheckedAt: new Date().toISOString() }).where(eq(connections.id, id));
    const row = current.status === 'ACTIVE' ? current : await transition(tx, current, 'ACTIVE', actorOf(viewer));
    await supersedeOthers(tx, integration, row);
    return row;
  });
}

/** The outcome of a revoke. */
export interface RevokeResult {
  connection: ConnectionRow;
  /** Whether the service confirmed the revocation. */
  providerRevoked: boolean;
  /** What happened at the service, for people. */
  providerMessage: string;
}

/**
 * Revokes a connection (owner or admin): credentials wiped and status REVOKED in one
 * transaction. Credential-based services have no revocation endpoint: the key or password
 * stays valid at the service, and the result says so.
 */
export async function revokeConnection(db: Database, viewer: Viewer, id: string): Promise<RevokeResult> {
  return db.transaction(async (tx) => {
    const connection = await findConnection(tx, viewer, id, 'manage', { forUpdate: true });
    if (connection.status === 'REVOKED') {
      return { connection, providerRevoked: false, providerMessage: 'The connection was already revoked' };
    }
    const [integration] = await loadIntegrations(tx, viewer.accountId, [connection.integrationKey]);
    await wipeCredentials(tx, connection.id);
    const row = await transition(tx, connection, 'REVOKED', actorOf(viewer));
    return {
      connection: row,
      providerRevoked: false,
      providerMessage: `${integration?.name ?? 'The service'} has no revocation endpoint for ${integration?.authMethod ?? 'these'} credentials; delete the key or change the password there if it should stop working everywhere.`,
    };
  });
}
