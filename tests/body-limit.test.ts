import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { expect, it } from 'vitest';
import { createApp } from '../server/app.js';
import { Vault } from '../server/domain/vault.js';
import { MAX_REQUEST_BODY_BYTES } from '../server/edge/body-limit.js';
import { createLog } from '../server/log.js';
import { describeEachDatabase } from './support/db.js';

/** POSTs to /graphql with the given headers, writing `chunks` (a chunked body without Content-Length). */
function post(base: string, headers: Record<string, string>, chunks: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    // The server may answer (and close) before the whole body is sent.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    (async () => {
      for (const chunk of chunks) {
        if (req.destroyed) return;
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(reject);
  });
}

describeEachDatabase('the request body limit', (db) => {
  it('answers 413 to a Content-Length over the limit before reading it, and cuts a chunked body past it', async () => {
    const app = createApp({ db: db(), log: createLog('silent'), vault: Vault.fromKeyList(randomBytes(32).toString('base64')) });
    const base = await app.start(0);
    try {
      const declared = await post(base, { 'content-length': String(MAX_REQUEST_BODY_BYTES + 1) }, [Buffer.from('{"query":"{ __typename }"}')]);
      expect(declared.status).toBe(413);
      expect(JSON.parse(declared.body).errors[0].extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
      const chunk = Buffer.alloc(1 << 20, 0x20);
      const streamed = await post(base, {}, [Buffer.from('{"query":"{ __typename }"'), ...Array.from({ length: MAX_REQUEST_BODY_BYTES / chunk.length + 1 }, () => chunk), Buffer.from('}')]);
      // Cut while streaming: the body cannot be read, answered 400 (as Yoga's own limit answers it).
      expect(streamed.status).toBe(400);
      // Within the limit, chunked or not, the request is served (no token: the usual UNAUTHENTICATED).
      const small = await post(base, {}, [Buffer.from('{"query":"{ viewer { user { id } } }"}')]);
      expect(JSON.parse(small.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    } finally {
      await app.stop();
    }
  });
});
