/**
 * A partner's webhook receiver on a free localhost port. It verifies every request with the
 * Standard Webhooks library (as a partner would), rejects a `webhook-id` it has already accepted,
 * and answers with the statuses the test queues (200 when none is queued).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** What the receiver got, and what it made of it. */
export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** The verified payload, or why verification failed. */
  verified: { ok: true; payload: unknown } | { ok: false; error: string };
  status: number;
}

/** An answer to give: a status, optional headers and body, optionally after a delay. */
export interface ReceiverAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
}

export interface WebhookReceiver {
  url: string;
  /** The endpoint's signing secret, set once the test has it. */
  secret?: string;
  /** Answers for the next requests, in order. */
  answers: ReceiverAnswer[];
  received: ReceivedWebhook[];
  /**
   * Verifies a request the way the receiver does (`Webhook.verify`, 5-minute tolerance: any one
   * of the signatures in `webhook-signature` must match), with its secret or the one given.
   */
  verify(request: { headers: IncomingHttpHeaders; body: string }, secret?: string): ReceivedWebhook['verified'];
  close(): Promise<void>;
}

function headerRecord(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const seenIds = new Set<string>();
  const receiver: Omit<WebhookReceiver, 'url' | 'close'> = {
    answers: [],
    received: [],
    verify({ headers, body }, secret = receiver.secret) {
      try {
        return { ok: true, payload: new Webhook(secret ?? 'whsec_AAAA').verify(body, headerRecord(headers)) };
      } catch (error) {
        return { ok: false, error: (error as Error).message };
      }
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified = receiver.verify({ headers: req.headers, body });
      const id = String(req.headers['webhook-id']);
      const answer: ReceiverAnswer = verified.ok
        ? seenIds.has(id)
          ? { status: 409, body: 'replayed webhook-id' }
          : (receiver.answers.shift() ?? { status: 200 })
        : { status: 401, body: verified.error };
      if (verified.ok && answer.status >= 200 && answer.status < 300) seenIds.add(id);
      receiver.received.push({ headers: req.headers, body, verified, status: answer.status });
      setTimeout(() => res.writeHead(answer.status, answer.headers).end(answer.body ?? ''), answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hooks/patchbay`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
