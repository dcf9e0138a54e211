/**
 * The hand-out of access tokens to SERVICE tokens: the read a fresh-token hand-out needs (the
 * connection and its sealed credentials in one prepared statement) and the audit rows
 * (`access_token_grants`, one per hand-out), written by group commit: while one insert is in
 * flight, the hand-outs that finish meanwhile wait and go together in the next one, so 200
 * concurrent callers cost a few statements, not 200. A caller gets its token only once its row
 * is committed; one who leaves meanwhile stops waiting, but its row is written with the others.
 */
import { eq, sql } from 'drizzle-orm';
import { outsideOperation } from '../db/cancellation.js';
import type { Database } from '../db/client.js';
import { accessTokenGrants, connections, credentials } from '../db/schema.js';
import type { ConnectionRow } from './types.js';
import type { SealedSecret } from './vault.js';

/** One hand-out to record. */
export interface AccessTokenGrant {
  accountId: string;
  connectionId: string;
  apiTokenId: string;
}

interface Pending {
  grant: AccessTokenGrant;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Recorder {
  waiting: Pending[];
  flushing: boolean;
}

const recorders = new WeakMap<Database, Recorder>();

/** Records one hand-out; resolves once its row is committed (together with any others waiting). */
export function recordAccessTokenGrant(db: Database, grant: AccessTokenGrant): Promise<void> {
  let recorder = recorders.get(db);
  if (!recorder) recorders.set(db, (recorder = { waiting: [], flushing: false }));
  const done = new Promise<void>((resolve, reject) => recorder.waiting.push({ grant, resolve, reject }));
  // Outside the caller's operation: the inserts are everyone's, and a caller who leaves (its
  // operation aborted) must not stop the writing the others wait on.
  if (!recorder.flushing) void outsideOperation(() => flush(db, recorder));
  return done;
}

async function flush(db: Database, recorder: Recorder): Promise<void> {
  recorder.flushing = true;
  try {
    while (recorder.waiting.length > 0) {
      const batch = recorder.waiting.splice(0);
      try {
        await db.insert(accessTokenGrants).values(batch.map((pending) => pending.grant));
        for (const pending of batch) pending.resolve();
      } catch (error) {
        if (batch.length === 1) {
          batch[0].reject(error);
          continue;
        }
        // One bad row (a connection deleted meanwhile) must not fail the others: each alone.
        await Promise.all(
          batch.map((pending) => db.insert(accessTokenGrants).values(pending.grant).then(pending.resolve, pending.reject)),
        );
      }
    }
  } finally {
    recorder.flushing = false;
  }
}

/** A connection with its sealed credentials (none when it has no credentials row). */
export interface ConnectionWithSealed {
  row: ConnectionRow;
  sealed: (SealedSecret & { updatedAt: string }) | null;
}

function prepareRead(db: Database) {
  return db
    .select({ row: connections, sealed: { keyId: credentials.keyId, ciphertext: credentials.ciphertext, updatedAt: credentials.updatedAt } })
    .from(connections)
    .leftJoin(credentials, eq(credentials.connectionId, connections.id))
    .where(eq(connections.id, sql.placeholder('id')))
    .prepare('patchbay_handout_read');
}

const reads = new WeakMap<Database, ReturnType<typeof prepareRead>>();

/**
 * Reads a connection and its sealed credentials in one statement, built once per database (a
 * hand-out is the hottest path a partner's workers call).
 */
export async function readConnectionWithSealed(db: Database, id: string): Promise<ConnectionWithSealed | undefined> {
  let read = reads.get(db);
  if (!read) reads.set(db, (read = prepareRead(db)));
  const [found] = await read.execute({ id });
  return found as ConnectionWithSealed | undefined;
}
