/**
 * What the fan-out benchmark reads about a server process from the inside: CPU from
 * /proc/self/stat (utime + stime, the figure `ps` and `top` show), RSS from /proc/self/status,
 * and V8's view (heap, external memory, array buffers) after a forced GC, so a growth of RSS can
 * be told apart from a growth of the JS heap. Only the benchmark's own processes load this.
 */
import { readFileSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { writeHeapSnapshot } from 'node:v8';

let session: Session | undefined;

/** Starts a CPU profile (no name) or stops it and writes `<dir>/<name>.cpuprofile`: diagnosis only. */
async function profile(dir: string, name?: string): Promise<Record<string, unknown>> {
  if (!name) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    return {};
  }
  const { profile: result } = await session!.post('Profiler.stop');
  session!.disconnect();
  const path = `${dir}/${name}.cpuprofile`;
  writeFileSync(path, JSON.stringify(result));
  return { path };
}

const TICKS_PER_SECOND = 100; // CLK_TCK on Linux

/** CPU time this process has used, user plus system, in microseconds. */
export function cpuMicros(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1_000_000) / TICKS_PER_SECOND;
}

/** Resident set size in KB. */
export function rssKb(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
}

export interface MemoryMark {
  rssKb: number;
  /**
   * Of the RSS, what is resident of WebAssembly memories (PGlite's database runs in one): V8 puts
   * each in front of a guard reservation of gigabytes, so it is the read-write mapping right below
   * an inaccessible one of at least 1 GiB. Pages the database touches once stay resident.
   */
  wasmRssKb: number;
  heapUsedKb: number;
  externalKb: number;
  arrayBuffersKb: number;
}

/** Resident KB of this process's WebAssembly memories, from /proc/self/smaps (see MemoryMark). */
export function wasmRssKb(): number {
  const mappings: { start: bigint; end: bigint; perms: string; rssKb: number }[] = [];
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) (\S+)/.exec(line);
    if (range) mappings.push({ start: BigInt(`0x${range[1]}`), end: BigInt(`0x${range[2]}`), perms: range[3], rssKb: 0 });
    else if (line.startsWith('Rss:')) mappings[mappings.length - 1].rssKb = Number(/(\d+)/.exec(line)?.[1] ?? 0);
  }
  let total = 0;
  for (let i = 0; i + 1 < mappings.length; i++) {
    const [memory, guard] = [mappings[i], mappings[i + 1]];
    if (memory.perms.startsWith('rw') && guard.perms.startsWith('---') && memory.end === guard.start && guard.end - guard.start >= 1n << 30n) {
      total += memory.rssKb;
    }
  }
  return total;
}

/** Collects garbage (the process runs with --expose-gc), lets the allocator settle, then reads memory. */
export async function memoryAfterGc(): Promise<MemoryMark> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const usage = process.memoryUsage();
  return {
    rssKb: rssKb(),
    wasmRssKb: wasmRssKb(),
    heapUsedKb: Math.round(usage.heapUsed / 1024),
    externalKb: Math.round(usage.external / 1024),
    arrayBuffersKb: Math.round(usage.arrayBuffers / 1024),
  };
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes of one machine. */
export const nowMs = () => performance.timeOrigin + performance.now();

/** Messages between the benchmark and its processes (over the fork IPC channel). */
export type Command =
  | { type: 'mark'; id: number }
  | { type: 'cpu'; id: number }
  | { type: 'event'; id: number; payloadBytes?: number }
  | { type: 'subscribers'; id: number }
  | { type: 'snapshot'; id: number; dir: string; name: string }
  | { type: 'profile'; id: number; dir: string; name?: string };

/** Answers commands with `handle`, replying `{ id, ...result }`. */
export function serveCommands(handle: (command: Command) => Promise<Record<string, unknown>>): void {
  process.on('message', (message: Command) => {
    const answer =
      message.type === 'snapshot'
        ? Promise.resolve({ path: writeHeapSnapshot(`${message.dir}/${message.name}.heapsnapshot`) })
        : message.type === 'profile'
          ? profile(message.dir, message.name)
          : handle(message);
    answer.then(
      (result) => process.send!({ id: message.id, ...result }),
      (error: unknown) => process.send!({ id: message.id, error: String((error as Error).stack ?? error) }),
    );
  });
}
