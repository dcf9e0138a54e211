/**
 * Webhook delivery: the outbox (jobs/outbox.ts) over webhook_deliveries. Every attempt is signed
 * per Standard Webhooks (`webhook-id` = the delivery id, the same on every retry; a fresh
 * `webhook-timestamp`; `webhook-signature: v1,<HMAC-SHA256>` with the endpoint's current secret,
 * followed during a rotation's grace period by ` v1,<HMAC-SHA256>` with the previous one, so a
 * receiver verifies with either),
 * POSTed once without following redirects, within the service timeout, through the outbound
 * address guard (edge/outbound.ts: public addresses, and over plain http only private ranges the
 * operator allows; checked on the address connected to).
 *
 * Outcomes: 2xx delivered; 410 Gone fails the delivery and disables the endpoint; 3xx (not
 * followed) and other 4xx fail at once, except 408 and 429; a refused address fails at once;
 * 408, 429, 5xx, timeouts and connection errors are retried with backoff, no sooner than a 429's
 * or 503's Retry-After. Every request that got no answer reads "Could not reach <host>:<port>"
 * (only the operator's log has the low-level reason), so what admins read does not tell open ports
 * from closed ones.
 * Only a short sanitized excerpt of a failed response is kept; the secrets are never logged.
 */
import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import type { Database } from '../db/client.js';
import { webhookDeliveries, webhookEndpoints, webhookPreviousSecrets } from '../db/schema.js';
import { networkCode, outboundFailure, outboundFetch, urlTarget } from '../edge/outbound.js';
import { serviceTimeout, serviceTimeoutSignal } from '../domain/service-calls.js';
import type { Vault } from '../domain/vault.js';
import { endpointSecret, previousEndpointSecret } from '../domain/webhooks.js';
import { type Log, redact } from '../log.js';
import { DEFAULT_RETRY_POLICY, type DeliveryOutcome, type Outbox, type RetryPolicy } from './outbox.js';

/** Retries for about 15 hours (30 s doubling to 6 h), so a partner's outage of a night loses nothing. */
export const WEBHOOK_RETRY_POLICY: RetryPolicy = {
  ...DEFAULT_RETRY_POLICY,
  batchSize: 10,
  maxAttempts: 12,
  leaseMs: 300_000,
};

const USER_AGENT = 'Patchbay-Webhooks/1';
/** How much of a failed response's body is kept in `last_error`. */
const EXCERPT_CHARS = 200;

export interface WebhookOutboxOptions {
  vault: Vault;
  log: Log;
  policy?: RetryPolicy;
}

/** One attempt's outcome, the HTTP status when the endpoint answered, and why it did not (for the log). */
interface Attempt {
  outcome: DeliveryOutcome;
  status?: number;
  network?: string;
}

const retry = (error: string, retryAfterMs?: number): Attempt['outcome'] => ({ ok: false, error, retryAfterMs });
const permanent = (error: string): Attempt['outcome'] => ({ ok: false, error, permanent: true });

/** Retry-After as milliseconds (delta-seconds or an HTTP date); undefined when absent or unusable. */
function retryAfterMs(response: Response, capMs: number): number | undefined {
  const header = response.headers.get('retry-after')?.trim();
  if (!header) return undefined;
  const ms = /^\d+$/.test(header) ? Number(header) * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, capMs) : undefined;
}

/**
 * The start of a response body as one line of printable text, with tokens and the endpoint's own
 * secrets (a receiver may echo what it got) redacted; the rest is never read.
 */
async function excerpt(response: Response, secrets: readonly string[]): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_CHARS * 4) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A body cut short still yields what arrived.
  } finally {
    await reader.cancel().catch(() => {});
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, ' ').trim();
  // Each secret whole, and its base64 part without the `whsec_` prefix.
  const scrubbed = redact(text, secrets.flatMap((secret) => [secret, secret.slice(secret.indexOf('_') + 1)]));
  return scrubbed.length > EXCERPT_CHARS ? `${scrubbed.slice(0, EXCERPT_CHARS)}…` : scrubbed;
}

/** Classifies an answer (its body is consumed or cancelled). */
async function answered(response: Response, policy: RetryPolicy, secrets: readonly string[]): Promise<Attempt> {
  const status = response.status;
  if (status >= 200 && status < 300) {
    await response.body?.cancel().catch(() => {});
    return { outcome: { ok: true }, status };
  }
  const body = await excerpt(response, secrets);
  const error = `HTTP ${status}${body ? `: ${body}` : ''}`;
  if (status === 410) return { outcome: permanent(`${error} (the endpoint was disabled)`), status };
  if (status >= 300 && status < 400) return { outcome: permanent(`${error} (redirects are not followed; register the final URL)`), status };
  if (status === 429 || status === 503) return { outcome: retry(error, retryAfterMs(response, policy.maxDelayMs)), status };
  if (status === 408 || status >= 500 || status < 200) return { outcome: retry(error), status };
  return { outcome: permanent(error), status };
}

/** Classifies a request that got no answer: refused by the guard for good, anything else retried. */
function unanswered(error: unknown, url: URL): Attempt {
  const { refused, message } = outboundFailure(error, urlTarget(url));
  if (refused) return { outcome: permanent(`Refused: ${message}`) };
  return { outcome: retry(message), network: networkCode(error) };
}

/** The webhook outbox (its connections are pooled by the outbound guard). */
export function webhookOutbox(options: WebhookOutboxOptions): Outbox {
  const { vault, log } = options;
  const base = options.policy ?? WEBHOOK_RETRY_POLICY;
  // A claim must outlast its batch: every row of one endpoint may wait out the timeout.
  const policy = { ...base, leaseMs: Math.max(base.leaseMs, base.batchSize * serviceTimeout() + 30_000) };

  /** POSTs a delivery signed with each of `secrets` (the current one first). */
  async function post(row: { id: string; url: string; payload: unknown }, secrets: readonly string[]): Promise<Attempt> {
    let url: URL;
    try {
      url = new URL(row.url);
    } catch {
      return { outcome: permanent('The endpoint URL is invalid') };
    }
    const body = JSON.stringify(row.payload);
    const now = new Date();
    try {
      const response = await outboundFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'webhook-id': row.id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(row.id, now, body)).join(' '),
        },
        body,
        redirect: 'manual',
        signal: serviceTimeoutSignal(),
      }, 'webhook');
      return await answered(response, policy, secrets);
    } catch (error) {
      return unanswered(error, url);
    }
  }

  /**
   * The secrets an endpoint's deliveries are signed with: its current one, then, during a
   * rotation's grace period, the previous one. None when the current one cannot be opened; a
   * previous one that cannot be opened is left out (the current one still signs).
   */
  function signingSecrets(endpoint: {
    endpointId: string;
    keyId: string;
    ciphertext: Buffer;
    previousKeyId: string | null;
    previousCiphertext: Buffer | null;
  }): string[] {
    const { endpointId, previousKeyId, previousCiphertext } = endpoint;
    let current: string;
    try {
      current = endpointSecret(vault, { id: endpointId, keyId: endpoint.keyId, ciphertext: endpoint.ciphertext });
    } catch {
      log.error('webhook secret could not be opened', { endpointId });
      return [];
    }
    if (previousKeyId === null || previousCiphertext === null) return [current];
    try {
      return [current, previousEndpointSecret(vault, endpointId, { keyId: previousKeyId, ciphertext: previousCiphertext })];
    } catch {
      log.error('previous webhook secret could not be opened', { endpointId });
      return [current];
    }
  }

  async function deliver(db: Database, ids: string[]): Promise<Map<string, DeliveryOutcome>> {
    const rows = await db
      .select({
        id: webhookDeliveries.id,
        payload: webhookDeliveries.payload,
        endpointId: webhookEndpoints.id,
        url: webhookEndpoints.url,
        enabled: webhookEndpoints.enabled,
        keyId: webhookEndpoints.keyId,
        ciphertext: webhookEndpoints.ciphertext,
        previousKeyId: webhookPreviousSecrets.keyId,
        previousCiphertext: webhookPreviousSecrets.ciphertext,
      })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .leftJoin(
        webhookPreviousSecrets,
        and(eq(webhookPreviousSecrets.endpointId, webhookEndpoints.id), gt(webhookPreviousSecrets.expiresAt, sql`now()`)),
      )
      .where(inArray(webhookDeliveries.id, ids))
      .orderBy(webhookDeliveries.createdAt, webhookDeliveries.id);
    const byEndpoint = new Map<string, typeof rows>();
    for (const row of rows) byEndpoint.set(row.endpointId, [...(byEndpoint.get(row.endpointId) ?? []), row]);
    const outcomes = new Map<string, DeliveryOutcome>();
    const statuses: { id: string; status: number }[] = [];
    const gone: string[] = [];
    // Endpoints in parallel; one endpoint's deliveries in order, stopping at its first failure
    // that a retry may fix (the rest wait for the next round instead of piling onto it).
    await Promise.all(
      [...byEndpoint.values()].map(async (group) => {
        const [{ endpointId, enabled }] = group;
        const secrets = enabled ? signingSecrets(group[0]) : [];
        for (const row of group) {
          if (!enabled) {
            outcomes.set(row.id, permanent('The endpoint is disabled'));
            continue;
          }
          if (secrets.length === 0) {
            outcomes.set(row.id, permanent('The signing secret could not be opened; rotate it'));
            continue;
          }
          const attempt = await post(row, secrets);
          outcomes.set(row.id, attempt.outcome);
          if (attempt.status !== undefined) statuses.push({ id: row.id, status: attempt.status });
          if (attempt.outcome.ok) continue;
          log.warn('webhook delivery failed', { deliveryId: row.id, endpointId, error: attempt.outcome.error, network: attempt.network });
          if (attempt.status === 410) gone.push(endpointId);
          if (attempt.status === 410 || !attempt.outcome.permanent) break;
        }
        const rest = gone.includes(endpointId)
          ? permanent('The endpoint answered 410 Gone and was disabled')
          : retry('Not attempted: an earlier delivery to this endpoint failed in the same round');
        for (const row of group) if (!outcomes.has(row.id)) outcomes.set(row.id, rest);
      }),
    );
    if (statuses.length > 0) {
      const values = sql.join(statuses.map(({ id, status }) => sql`(${id}::uuid, ${status}::integer)`), sql`, `);
      await db.execute(sql`
        update ${webhookDeliveries} set response_status = answer.status
        from (values ${values}) as answer(id, status) where ${webhookDeliveries.id} = answer.id`);
    }
    if (gone.length > 0) {
      await db
        .update(webhookEndpoints)
        .set({ enabled: false, disabledReason: `The endpoint answered 410 Gone on ${new Date().toISOString()}`, updatedAt: new Date().toISOString() })
        .where(inArray(webhookEndpoints.id, gone));
      log.warn('webhook endpoints disabled after 410 Gone', { endpointIds: gone });
    }
    return outcomes;
  }

  return {
    name: 'webhooks',
    table: webhookDeliveries,
    deliveredAtColumn: 'delivered_at',
    policy,
    deliver,
  };
}
