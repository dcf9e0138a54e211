/**
 * Webhooks for partners: an account's endpoints, and the deliveries every connection status
 * change enqueues in the transaction that makes it (one statement; a rollback takes them back).
 * jobs/webhooks.ts sends them. Bodies follow Standard Webhooks (`{ type, timestamp, data }`) and
 * are built at enqueue time, so every attempt sends the same bytes under the same `webhook-id`.
 *
 * Private connections are named in payloads: a webhook belongs to the account and goes to its
 * partners, who see what the account's SERVICE tokens see (canUseConnection: every connection
 * with its details). Registering an endpoint takes an admin, who can issue a SERVICE token anyway,
 * so an endpoint reveals nothing new. No credential, token or service error message is ever in a
 * payload.
 *
 * Ids in payloads are the API's global ids (global-ids.ts), so a partner can look up what a
 * webhook names.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { transaction } from '../db/transaction.js';
import { webhookDeliveries, webhookEndpoints, webhookPreviousSecrets } from '../db/schema.js';
import { recordOutboxRows } from './changes.js';
import { encodeGlobalId } from './global-ids.js';
import { DISCONNECT_REASONS } from './disconnect-reasons.js';
import { ForbiddenError, NotFoundError, ValidationError } from './errors.js';
import { loadIntegrations } from './integrations.js';
import { checkDestination, DestinationRefusedError } from '../edge/outbound.js';
import { serviceTimeoutSignal } from './service-calls.js';
import type { ConnectionEventRow, ConnectionRow } from './types.js';
import { type SealedSecret, type Vault, VaultError } from './vault.js';
import { canReadWebhooks, isAdmin, type Viewer } from './viewer.js';

export type WebhookEventType = 'connection.status_changed' | 'webhook.test';
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;

const MAX_URL_LENGTH = 2000;
const MAX_DESCRIPTION_LENGTH = 500;
const MAX_INTEGRATION_KEYS = 50;
const SECRET_PREFIX = 'whsec_';
/** How long a rotated-out secret keeps signing, by default and at most (a week). */
export const DEFAULT_KEEP_PREVIOUS_HOURS = 24;
const MAX_KEEP_PREVIOUS_HOURS = 168;

/** What an endpoint's sealed signing secret is bound to. */
export const secretBinding = (endpointId: string) => `webhook-endpoint:${endpointId}`;
/** What an endpoint's sealed previous secret is bound to: not the current one's binding, so the blobs cannot be swapped. */
export const previousSecretBinding = (endpointId: string) => `webhook-endpoint-previous:${endpointId}`;

/** A new Standard Webhooks signing secret: `whsec_` and 32 random bytes, base64. */
function newSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** Opens an endpoint's signing secret (for signing only; never returned or logged). */
export function endpointSecret(vault: Vault, endpoint: Pick<WebhookEndpointRow, 'id' | 'keyId' | 'ciphertext'>): string {
  return vault.open<{ secret: string }>(secretBinding(endpoint.id), endpoint).secret;
}

/** Opens an endpoint's previous secret (for signing only during its grace period; never returned or logged). */
export function previousEndpointSecret(vault: Vault, endpointId: string, sealed: SealedSecret): string {
  return vault.open<{ secret: string }>(previousSecretBinding(endpointId), sealed).secret;
}

/** An ISO 8601 time from a PostgreSQL timestamp string. */
function isoTime(timestamp: string): string {
  return new Date(timestamp).toISOString();
}

/**
 * Checks an endpoint URL: absolute, https or http, no credentials or fragment, and a host the
 * outbound guard allows (public over https; plain http only to private ranges the operator allows).
 */
export async function validWebhookUrl(value: string, field = 'url'): Promise<string> {
  const raw = value.trim();
  if (raw.length === 0 || raw.length > MAX_URL_LENGTH) {
    throw new ValidationError(`${field} must be 1 to ${MAX_URL_LENGTH} characters`, field);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError(`${field} must be an absolute URL`, field);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ValidationError(`${field} must use https:`, field);
  if (url.username || url.password) throw new ValidationError(`${field} must not carry a user name or password`, field);
  if (url.hash) throw new ValidationError(`${field} must not have a fragment`, field);
  try {
    await checkDestination(url, 'webhook', serviceTimeoutSignal());
  } catch (error) {
    throw new ValidationError(
      error instanceof DestinationRefusedError ? `${field} refused: ${error.message}` : `${field}: ${url.hostname} could not be resolved`,
      field,
    );
  }
  return url.toString();
}

function validDescription(value: string | null | undefined): string | null {
  const description = value?.trim() ?? '';
  if (description.length > MAX_DESCRIPTION_LENGTH) {
    throw new ValidationError(`description must be at most ${MAX_DESCRIPTION_LENGTH} characters`, 'description');
  }
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(description)) {
    throw new ValidationError('description must not contain control characters', 'description');
  }
  return description || null;
}

/** Integration keys an endpoint listens to: null for every connection, else known keys of the account. */
async function validIntegrationKeys(db: Database, accountId: string, keys: readonly string[] | null | undefined) {
  if (keys == null) return null;
  const unique = [...new Set(keys.map((key) => key.trim()))];
  if (unique.length === 0 || unique.length > MAX_INTEGRATION_KEYS) {
    throw new ValidationError(`integrationKeys must list 1 to ${MAX_INTEGRATION_KEYS} keys (omit it for every connection)`, 'integrationKeys');
  }
  const found = await loadIntegrations(db, accountId, unique);
  const unknown = unique.find((_key, index) => !found[index]);
  if (unknown !== undefined) throw new ValidationError(`Unknown integration "${unknown}"`, 'integrationKeys');
  return unique;
}

function ensureAdmin(viewer: Viewer): void {
  if (!isAdmin(viewer)) throw new ForbiddenError('Only admins can manage webhook endpoints');
}

/**
 * An endpoint of the viewer's account that the viewer may read; another account's, or any for a
 * viewer who may not read webhooks, is NotFound like a missing id.
 */
async function findEndpoint(db: Database, viewer: Viewer, id: string, options: { forUpdate?: boolean } = {}) {
  const query = db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, viewer.accountId)));
  const [row] = options.forUpdate ? await query.for('update') : await query;
  if (!row || !canReadWebhooks(viewer)) throw new NotFoundError('WebhookEndpoint');
  return row;
}

/** What registering an endpoint takes. */
export interface WebhookEndpointInput {
  url: string;
  description?: string | null;
  integrationKeys?: readonly string[] | null;
}

/** Registers an endpoint (admins); the signing secret is returned this once, and stored sealed. */
export async function createWebhookEndpoint(
  db: Database,
  vault: Vault,
  viewer: Viewer,
  input: WebhookEndpointInput,
): Promise<{ secret: string; endpoint: WebhookEndpointRow }> {
  ensureAdmin(viewer);
  const description = validDescription(input.description);
  const integrationKeys = await validIntegrationKeys(db, viewer.accountId, input.integrationKeys);
  const url = await validWebhookUrl(input.url);
  const id = randomUUID();
  const secret = newSecret();
  const [endpoint] = await db
    .insert(webhookEndpoints)
    .values({
      id,
      accountId: viewer.accountId,
      url,
      description,
      integrationKeys,
      ...vault.seal(secretBinding(id), { secret }),
      createdById: viewer.userId,
    })
    .returning();
  return { secret, endpoint };
}

/**
 * Changes an endpoint's URL, description, filter or enabled flag (admins). `integrationKeys:
 * null` means every connection again; re-enabling clears why Patchbay disabled it.
 */
export async function updateWebhookEndpoint(
  db: Database,
  viewer: Viewer,
  id: string,
  input: {
    url?: string | null;
    description?: string | null;
    enabled?: boolean | null;
    integrationKeys?: readonly string[] | null;
  },
): Promise<WebhookEndpointRow> {
  ensureAdmin(viewer);
  if (input.url == null && input.description === undefined && input.enabled == null && input.integrationKeys === undefined) {
    throw new ValidationError('Give a url, description, enabled flag or integrationKeys to change', 'input');
  }
  const description = input.description === undefined ? undefined : validDescription(input.description);
  const integrationKeys =
    input.integrationKeys === undefined ? undefined : await validIntegrationKeys(db, viewer.accountId, input.integrationKeys);
  const url = input.url == null ? undefined : await validWebhookUrl(input.url);
  await findEndpoint(db, viewer, id);
  const [row] = await db
    .update(webhookEndpoints)
    .set({
      ...(url === undefined ? {} : { url }),
      ...(description === undefined ? {} : { description }),
      ...(integrationKeys === undefined ? {} : { integrationKeys }),
      ...(input.enabled == null ? {} : { enabled: input.enabled, disabledReason: null }),
      updatedAt: new Date().toISOString(),
    })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, viewer.accountId)))
    .returning();
  return row;
}

function validKeepPreviousHours(value: number | null | undefined): number {
  const hours = value ?? DEFAULT_KEEP_PREVIOUS_HOURS;
  if (!Number.isInteger(hours) || hours < 0 || hours > MAX_KEEP_PREVIOUS_HOURS) {
    throw new ValidationError(`keepPreviousForHours must be a whole number from 0 to ${MAX_KEEP_PREVIOUS_HOURS}`, 'keepPreviousForHours');
  }
  return hours;
}

/**
 * Replaces an endpoint's signing secret (admins); the new one is returned this once. Deliveries
 * from then on, retries included, are signed with it and, for `keepPreviousForHours` (default 24,
 * at most 168; 0 drops it now), with the secret it replaces too, so the partner's receiver keeps
 * verifying until it deploys the new one. Only one previous secret is kept: rotating during a
 * grace period drops the older one. A current secret the vault can no longer open (its key is
 * gone) cannot be kept, and is dropped.
 */
export async function rotateWebhookEndpointSecret(
  db: Database,
  vault: Vault,
  viewer: Viewer,
  id: string,
  input: { keepPreviousForHours?: number | null } = {},
): Promise<{ secret: string; endpoint: WebhookEndpointRow }> {
  ensureAdmin(viewer);
  const hours = validKeepPreviousHours(input.keepPreviousForHours);
  return transaction(db, async (tx) => {
    // Locked, so two rotations at once keep the secret that really was current.
    const current = await findEndpoint(tx, viewer, id, { forUpdate: true });
    let previous: string | undefined;
    if (hours > 0) {
      try {
        previous = endpointSecret(vault, current);
      } catch (error) {
        if (!(error instanceof VaultError)) throw error;
      }
    }
    const secret = newSecret();
    const [endpoint] = await tx
      .update(webhookEndpoints)
      .set({ ...vault.seal(secretBinding(id), { secret }), updatedAt: new Date().toISOString() })
      .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, viewer.accountId)))
      .returning();
    if (previous === undefined) {
      await tx.delete(webhookPreviousSecrets).where(eq(webhookPreviousSecrets.endpointId, id));
    } else {
      const kept = {
        ...vault.seal(previousSecretBinding(id), { secret: previous }),
        expiresAt: sql`now() + make_interval(hours => ${hours})`,
      };
      await tx
        .insert(webhookPreviousSecrets)
        .values({ endpointId: id, accountId: current.accountId, ...kept })
        .onConflictDoUpdate({ target: webhookPreviousSecrets.endpointId, set: kept });
    }
    return { secret, endpoint };
  });
}

/** Deletes an endpoint and its delivery log (admins); pending deliveries go with it. */
export async function deleteWebhookEndpoint(db: Database, viewer: Viewer, id: string): Promise<WebhookEndpointRow> {
  ensureAdmin(viewer);
  const endpoint = await findEndpoint(db, viewer, id);
  await db.delete(webhookEndpoints).where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, viewer.accountId)));
  return endpoint;
}

/**
 * Enqueues a `webhook.test` delivery to an enabled endpoint (admins), to check the receiver; the
 * worker of this process sends it as soon as it is committed.
 */
export async function sendTestWebhook(db: Database, viewer: Viewer, id: string): Promise<WebhookDeliveryRow> {
  ensureAdmin(viewer);
  return transaction(db, async (tx) => {
    const endpoint = await findEndpoint(tx, viewer, id);
    if (!endpoint.enabled) throw new ValidationError('The endpoint is disabled; enable it first', 'id');
    const payload = {
      type: 'webhook.test' satisfies WebhookEventType,
      timestamp: new Date().toISOString(),
      data: { endpoint: { id: encodeGlobalId('WebhookEndpoint', endpoint.id) } },
    };
    const [delivery] = await tx
      .insert(webhookDeliveries)
      .values({ accountId: endpoint.accountId, endpointId: endpoint.id, eventType: payload.type, payload })
      .returning();
    recordOutboxRows('webhooks');
    return delivery;
  });
}

/** The body announcing one status change of a connection. */
export function connectionStatusChangedPayload(
  event: Pick<ConnectionEventRow, 'id' | 'fromStatus' | 'toStatus' | 'reason' | 'createdAt'>,
  connection: Pick<ConnectionRow, 'id' | 'name' | 'integrationKey'>,
) {
  const reason = event.reason ? DISCONNECT_REASONS[event.reason] : null;
  return {
    type: 'connection.status_changed' satisfies WebhookEventType,
    timestamp: isoTime(event.createdAt),
    data: {
      eventId: encodeGlobalId('ConnectionEvent', event.id),
      connection: {
        id: encodeGlobalId('Connection', connection.id),
        name: connection.name,
        integration: connection.integrationKey,
        status: event.toStatus,
        previousStatus: event.fromStatus,
        reason: event.reason,
        interpretation: reason?.interpretation ?? null,
        resolution: reason?.resolution ?? null,
        occurredAt: isoTime(event.createdAt),
      },
    },
  };
}

/**
 * Enqueues the delivery of a status change to every enabled endpoint of the account that listens
 * to the connection's integration, inside the caller's transaction: one statement, whether the
 * account has no endpoint or many. Once committed, this process's worker sends them.
 */
export async function enqueueWebhookDeliveries(
  tx: Database,
  event: ConnectionEventRow,
  connection: Pick<ConnectionRow, 'id' | 'name' | 'integrationKey'>,
): Promise<void> {
  const payload = connectionStatusChangedPayload(event, connection);
  // drizzle's insert().select() wants every column; the statement is clearer written out.
  await tx.execute(sql`
    insert into ${webhookDeliveries} (account_id, endpoint_id, event_id, event_type, payload)
    select ${webhookEndpoints.accountId}, ${webhookEndpoints.id}, ${event.id}::uuid, ${payload.type}::text, ${JSON.stringify(payload)}::jsonb
    from ${webhookEndpoints}
    where ${webhookEndpoints.accountId} = ${event.accountId}::uuid and ${webhookEndpoints.enabled}
      and (${webhookEndpoints.integrationKeys} is null or ${connection.integrationKey}::text = any(${webhookEndpoints.integrationKeys}))`);
  recordOutboxRows('webhooks');
}
