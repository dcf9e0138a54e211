/**
 * A caller who gives up cancels its own statements and nobody else's. PostgreSQL's CancelRequest
 * names a session, not a statement: a cancel sent as its statement ends lands on whatever that
 * session runs next (seen in bench/token-handout.ts: 200 callers hanging up at once failed the
 * statements of others). Here the event loop is held while a caller's statement ends on the
 * server, so the client still believes it is running when the caller leaves.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openPostgres } from '../server/db/client.js';
import { runForOperation } from '../server/db/cancellation.js';

const url = process.env.TEST_DATABASE_URL;

/** Holds the event loop (no I/O is read meanwhile), as a busy gateway does. */
function holdEventLoop(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe.skipIf(!url)('cancelling an operation (PostgreSQL)', () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    // One session: the second statement is pipelined behind the first on it.
    handle = await openPostgres(url!, { max: 1 });
    await handle.db.execute(sql`select 1`);
  });
  afterAll(() => handle?.close());

  it('a caller leaving after its statement ended on the server sends no cancel: neither that statement nor the next on the session fails', async () => {
    const controller = new AbortController();
    const own = runForOperation(controller.signal, async () => await handle.db.execute(sql`select pg_sleep(0.1) as own`));
    const other = handle.db.execute(sql`select pg_sleep(0.6), 'other' as other`);
    await new Promise((resolve) => setTimeout(resolve, 20)); // both are sent
    // The first statement ends on the server while the client cannot read it; the other follows.
    holdEventLoop(400);
    controller.abort(new Error('the caller went away'));
    const outcome = (promise: Promise<unknown>) =>
      promise.then(
        () => 'ok',
        (error: { code?: string; cause?: { code?: string } }) => error.cause?.code ?? error.code ?? 'error',
      );
    // Before: a CancelRequest went out for the ended statement, which reported 57014.
    expect(await outcome(own)).toBe('ok');
    expect(await outcome(other)).toBe('ok');
  });

  it('a statement still running after its caller left is cancelled', async () => {
    const controller = new AbortController();
    const own = runForOperation(controller.signal, async () => await handle.db.execute(sql`select pg_sleep(30)`));
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort(new Error('the caller went away'));
    const error = await own.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    const cause = (error as { cause?: { code?: string } } | undefined)?.cause;
    expect(cause?.code ?? (error as { code?: string } | undefined)?.code).toBe('57014');
    // The session is free again at once, not after 30 s.
    await handle.db.execute(sql`select 1`);
  });
});
