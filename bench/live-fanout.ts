/**
 * Benchmark: one status change fanned out by one gateway process to N graphql-ws subscribers of
 * `connectionStatusChanged` held by another process (one socket per subscriber, as a fleet of
 * dashboards would hold them), next to a bare `ws` server broadcasting a message of the same size
 * to the same number of sockets from the same client process. The two run alternately, round by
 * round, at each N.
 *
 * Per run: server CPU per delivery (utime + stime of the server process from /proc, over all
 * events), the time from the commit (or the bare broadcast) to the last subscriber's message,
 * RSS per idle subscriber (connected and subscribed, after a forced GC, against the server alone),
 * and RSS after 20 and after all events, each after a forced GC, against the idle figure.
 *
 * BENCH_FANOUT_SUBSCRIBERS (default 1000,5000,10000), BENCH_EVENTS (default 100, at least 20),
 * BENCH_ROUNDS (default 1). Results go to the "Fan-out" section of bench/RESULTS.md.
 */
import { type ChildProcess, execSync, fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { MemoryMark } from './fanout/process-stats.js';
import { writeResultsSection } from './results.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const SIZES = (process.env.BENCH_FANOUT_SUBSCRIBERS ?? '1000,5000,10000').split(',').map(Number);
const EVENTS = Math.max(20, Number(process.env.BENCH_EVENTS ?? 100));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const EVENT_TIMEOUT_MS = 120_000;
/** Send each phase's changes back to back instead of one at a time (a status storm). */
const BURST = process.env.BENCH_BURST === 'true';

type Target = 'patchbay' | 'bare';

interface Child {
  process: ChildProcess;
  call<T = Record<string, unknown>>(command: Record<string, unknown>): Promise<T>;
  next(type: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Forks a benchmark process with an RPC over IPC; messages with a `type` wait in a mailbox. */
function start(script: string, env: Record<string, string>, execArgv: string[]): Child {
  const child = fork(script, [], { cwd: root, env: { ...process.env, ...env }, execArgv: [...execArgv, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let nextId = 1;
  const pending = new Map<number, (value: Record<string, unknown>) => void>();
  const mailbox: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  child.on('message', (message: Record<string, unknown>) => {
    if (typeof message.id === 'number') {
      pending.get(message.id)?.(message);
      pending.delete(message.id);
      return;
    }
    if (message.type === 'closed' || message.type === 'error') console.error(`${script}: ${JSON.stringify(message)}`);
    mailbox.push(message);
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    process: child,
    call: (command) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, (reply) => (reply.error ? reject(new Error(String(reply.error))) : resolve(reply as never)));
        child.send({ ...command, id });
      }),
    async next(type, timeoutMs = EVENT_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = mailbox.findIndex((message) => message.type === type);
        if (index >= 0) return mailbox.splice(index, 1)[0];
        if (Date.now() > deadline) throw new Error(`${script}: no ${type} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          waiters.push(() => (clearTimeout(timer), resolve()));
        });
      }
    },
  };
}

async function stop(child: Child): Promise<void> {
  if (child.process.exitCode !== null) return;
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.disconnect();
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(values.length * p) - 1)];
const load = () => loadavg().map((value) => value.toFixed(2)).join(' ');

interface Run {
  target: Target;
  subscribers: number;
  events: number;
  messageBytes: number;
  extensions: string;
  cpuUsPerDelivery: number;
  lastP50Ms: number;
  lastP99Ms: number;
  idleKbPerSubscriber: number;
  /** Subscribers the gateway registered like an earlier one, without Yoga (graphql-ws's lean path). */
  alike?: number;
  rss: { alone: MemoryMark; idle: MemoryMark; after20: MemoryMark; afterAll: MemoryMark };
  load: { start: string; end: string };
}

let payloadBytes = 1000;

async function run(target: Target, subscribers: number): Promise<Run> {
  const loadStart = load();
  // BENCH_SERVER_FLAGS: extra node flags for the server under test, e.g. --cpu-prof (diagnosis only).
  const flags = (process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean);
  const server = start(target === 'patchbay' ? 'bench/fanout/gateway.ts' : 'bench/fanout/bare-ws.ts', {}, ['--expose-gc', ...flags]);
  let clients: Child | undefined;
  try {
    const ready = (await server.next('ready', 120_000)) as { url: string; tokens: string[] };
    const alone = (await server.call<{ memory: MemoryMark }>({ type: 'mark' })).memory;
    clients = start(
      'bench/fanout/clients.ts',
      { BENCH_MODE: target, BENCH_URL: ready.url, BENCH_TOKENS_JSON: JSON.stringify(ready.tokens), BENCH_SUBSCRIBERS: String(subscribers) },
      ['--max-old-space-size=4096'],
    );
    await clients.next('open', 300_000);
    for (let waited = 0; (await server.call<{ count: number }>({ type: 'subscribers' })).count < subscribers; waited += 100) {
      if (waited > 60_000) throw new Error('the subscribers did not all register');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const { memory: idle, stats } = await server.call<{ memory: MemoryMark; stats?: { alike?: number } }>({ type: 'mark' });
    // BENCH_HEAP_SNAPSHOT=dir: a heap snapshot of the idle server, to see what a subscriber holds.
    if (process.env.BENCH_HEAP_SNAPSHOT) await server.call({ type: 'snapshot', dir: process.env.BENCH_HEAP_SNAPSHOT, name: `${target}-${subscribers}` });

    const latencies: number[] = [];
    let cpu = 0;
    let after20: MemoryMark | undefined;
    let delivered: Record<string, unknown> = {};
    // BENCH_CPU_PROFILE=dir: a CPU profile of the server over the events (diagnosis only).
    const profileDir = process.env.BENCH_CPU_PROFILE;
    if (profileDir) await server.call({ type: 'profile', dir: profileDir });
    for (const [first, last] of [[1, 20], [21, EVENTS]]) {
      if (first > last) continue;
      const cpuStart = (await server.call<{ cpuMicros: number }>({ type: 'cpu' })).cpuMicros;
      const sent: number[] = [];
      for (let event = first; event <= last; event++) {
        sent[event] = (await server.call<{ sentAt: number }>({ type: 'event', payloadBytes })).sentAt;
        // Paced: the next change only once every subscriber has this one; a burst sends them all first.
        if (!BURST || event === last) {
          for (let waited = latencies.length + 1; waited <= event; waited++) {
            delivered = await clients.next('delivered');
            if (delivered.event !== waited) throw new Error(`expected event ${waited}, got ${String(delivered.event)}`);
            latencies.push((delivered.last as number) - sent[waited]);
          }
        }
      }
      cpu += (await server.call<{ cpuMicros: number }>({ type: 'cpu' })).cpuMicros - cpuStart;
      if (last === 20) after20 = (await server.call<{ memory: MemoryMark }>({ type: 'mark' })).memory;
    }
    if (profileDir) await server.call({ type: 'profile', dir: profileDir, name: `${target}-${subscribers}` });
    const afterAll = (await server.call<{ memory: MemoryMark }>({ type: 'mark' })).memory;
    if (target === 'patchbay') payloadBytes = delivered.messageBytes as number;
    return {
      target,
      subscribers,
      events: EVENTS,
      messageBytes: delivered.messageBytes as number,
      extensions: (delivered.extensions as string) || 'none',
      cpuUsPerDelivery: cpu / (subscribers * EVENTS),
      lastP50Ms: percentile(latencies, 0.5),
      lastP99Ms: percentile(latencies, 0.99),
      idleKbPerSubscriber: (idle.rssKb - alone.rssKb) / subscribers,
      alike: stats?.alike,
      rss: { alone, idle, after20: after20!, afterAll },
      load: { start: loadStart, end: load() },
    };
  } finally {
    if (clients) await stop(clients);
    await stop(server);
  }
}

const mb = (kb: number) => `${kb >= 0 ? '+' : ''}${(kb / 1024).toFixed(1)} MB`;

function table(runs: Run[]): string {
  const lines = [
    '| N | server | CPU µs/delivery | last-client p50 / p99 ms | RSS KB per idle subscriber | JS heap KB per idle subscriber | lean subscribers | RSS after 20 events | after ' + EVENTS + ' | heap used idle -> after ' + EVENTS + ' | WebAssembly RSS idle -> after ' + EVENTS + ' | message bytes | load avg start -> end |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    lines.push(
      `| ${r.subscribers.toLocaleString('en')} | ${r.target === 'patchbay' ? 'Patchbay' : 'bare ws'} | ${r.cpuUsPerDelivery.toFixed(1)} | ${r.lastP50Ms.toFixed(0)} / ${r.lastP99Ms.toFixed(0)} | ${r.idleKbPerSubscriber.toFixed(1)} | ${((r.rss.idle.heapUsedKb - r.rss.alone.heapUsedKb) / r.subscribers).toFixed(1)} | ${r.alike === undefined ? '-' : r.alike.toLocaleString('en')} | ${mb(r.rss.after20.rssKb - r.rss.idle.rssKb)} | ${mb(r.rss.afterAll.rssKb - r.rss.idle.rssKb)} | ${(r.rss.idle.heapUsedKb / 1024).toFixed(0)} -> ${(r.rss.afterAll.heapUsedKb / 1024).toFixed(0)} MB | ${((r.rss.idle.wasmRssKb ?? 0) / 1024).toFixed(0)} -> ${((r.rss.afterAll.wasmRssKb ?? 0) / 1024).toFixed(0)} MB | ${r.messageBytes} | ${r.load.start} -> ${r.load.end} |`,
    );
  }
  return lines.join('\n');
}

function ratios(runs: Run[]): string {
  const lines = ['| N | CPU per delivery, Patchbay / bare ws | last-client p99, Patchbay / bare ws |', '|---|---|---|'];
  for (const n of SIZES) {
    const median = (target: Target, pick: (r: Run) => number) => percentile(runs.filter((r) => r.subscribers === n && r.target === target).map(pick), 0.5);
    const cpu = median('patchbay', (r) => r.cpuUsPerDelivery) / median('bare', (r) => r.cpuUsPerDelivery);
    const p99 = median('patchbay', (r) => r.lastP99Ms) / median('bare', (r) => r.lastP99Ms);
    lines.push(`| ${n.toLocaleString('en')} | ${cpu.toFixed(2)}x | ${p99.toFixed(2)}x |`);
  }
  return lines.join('\n');
}

const startedAt = new Date().toISOString();
const loadAtStart = load();
const runs: Run[] = [];
for (const n of SIZES) {
  for (let round = 1; round <= ROUNDS; round++) {
    // Patchbay first: its message size is what the bare server then sends.
    for (const target of ['patchbay', 'bare'] as const) {
      const result = await run(target, n);
      runs.push(result);
      console.log(JSON.stringify({ ...result, rss: undefined, rssKb: Object.fromEntries(Object.entries(result.rss).map(([k, v]) => [k, v])) }));
    }
  }
}

const commit = execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim();
const section = `Written by \`npm run bench:live\` (bench/live-fanout.ts) at ${startedAt}, commit ${commit}: ${EVENTS} status changes, ${ROUNDS} round(s) per N,
Patchbay and bare ws alternating. Machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version},
load average (1/5/15 min) ${loadAtStart} at the start and ${load()} at the end; the machine is shared with other work.
Subscribers run in a separate process, one socket each; RSS figures are read after a forced GC.

${table(runs)}

${ratios(runs)}
`;
writeResultsSection('Fan-out', section);
console.log(`\n${section}`);
