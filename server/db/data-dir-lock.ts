/**
 * One process per PGlite data dir. PGlite loads the whole database into its process and writes it
 * back from there, so a second process on the same directory (a second gateway, or the CLI while
 * the gateway runs) works on its own copy and one of them silently loses its writes. The embedded
 * gateway and the CLI take this lock before they open PGlite, and refuse to open it when another
 * live process holds it.
 *
 * The lock is `<dataDir>/patchbay.lock`, holding the holder's PID and what it is. It is created
 * complete (written to a temporary file, then hard-linked into place, which fails if the lock
 * exists), so a reader never sees a half-written lock. A lock whose PID is no longer alive (a
 * process killed with SIGKILL, a machine that lost power) is stale and taken over.
 */
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Who holds a data dir: the gateway or an operator's CLI command. */
export type DataDirHolder = 'gateway' | 'cli';

/** Another live process holds the data dir; the message says which and what to do. */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly holder: DataDirHolder | 'process',
  ) {
    const who = holder === 'gateway' ? 'a Patchbay gateway' : holder === 'cli' ? 'a patchbay CLI command' : 'another process';
    super(
      `The data dir ${dataDir} is in use by ${who} (PID ${pid}): ` +
        `stop the ${holder === 'cli' ? 'command' : 'gateway'} (PID ${pid}) first, or point DATABASE_URL at PostgreSQL`,
    );
  }
}

/** A held lock; `release()` is idempotent and only removes a lock this process holds. */
export interface DataDirLock {
  readonly path: string;
  release(): void;
}

/** The lock file of a data dir. */
export function dataDirLockPath(dataDir: string): string {
  return path.join(dataDir, 'patchbay.lock');
}

interface LockContent {
  pid: number;
  holder: DataDirHolder | 'process';
}

function readLock(file: string): { raw: string; content: LockContent | undefined } | undefined {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const [pidLine, holderLine] = raw.split('\n');
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0) return { raw, content: undefined };
  const holder = holderLine === 'gateway' || holderLine === 'cli' ? holderLine : 'process';
  return { raw, content: { pid, holder } };
}

/** Whether a process with this PID is alive (EPERM: alive, just not ours to signal). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the data dir's lock for this process, or throws DataDirLockedError naming the live
 * process that holds it. Creates the data dir if needed. The lock is also released when the
 * process exits (the `exit` event), so a `process.exit()` anywhere does not leave it behind.
 */
export function lockDataDir(dataDir: string, holder: DataDirHolder): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const file = dataDirLockPath(dataDir);
  const mine = `${process.pid}\n${holder}\n`;
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, mine, { mode: 0o644 });
  try {
    // A stale lock is removed and the link retried; a few rounds cover a race with another
    // process doing the same, which then finds this process's live lock.
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        linkSync(temporary, file);
        return holdLock(file, mine);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const existing = readLock(file);
      if (!existing) continue;
      const { content } = existing;
      if (content && content.pid !== process.pid && isAlive(content.pid)) {
        throw new DataDirLockedError(dataDir, content.pid, content.holder);
      }
      // Stale (its process is gone) or unreadable: remove it, unless it changed since it was read.
      if (readLock(file)?.raw === existing.raw) {
        try {
          unlinkSync(file);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
    }
    throw new Error(`Could not take the lock ${file}: it keeps changing; is another process starting on ${dataDir}?`);
  } finally {
    unlinkSync(temporary);
  }
}

function holdLock(file: string, mine: string): DataDirLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    // Only this process's own lock is removed (a stale-lock takeover may have replaced it).
    if (readLock(file)?.raw === mine) {
      try {
        unlinkSync(file);
      } catch {
        // Already gone: nothing to release.
      }
    }
  };
  process.on('exit', release);
  return { path: file, release };
}
