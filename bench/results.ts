/**
 * bench/RESULTS.md as the benchmarks write it: each benchmark owns one "## <title>" section and
 * replaces it on every run (the hand-written history around it stays), with the commit and the
 * machine it ran on. Also what every benchmark reads off the machine: CPU time per process, load.
 */
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = path.join(root, 'bench', 'RESULTS.md');

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process in milliseconds, from /proc/<pid>/stat; 0 once it is gone. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The load average (1/5/15 min) now, as "1.23 0.98 0.50". */
export const loadAverage = () => loadavg().map((value) => value.toFixed(2)).join(' ');

/** The commit the benchmark runs at, marked when the tree has uncommitted changes. */
export function commitHash(): string {
  try {
    const commit = execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim();
    // Results written by an earlier benchmark of the same run do not count as a change.
    const dirty = execSync("git status --porcelain --untracked-files=no -- . ':!bench/RESULTS.md'", { cwd: root }).toString().trim() !== '';
    return dirty ? `${commit} with uncommitted changes` : commit;
  } catch {
    return 'unknown';
  }
}

/** One line about the machine: cores and model, Node. */
export function machineLine(): string {
  return `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), orchestrator Node ${process.version}`;
}

/** A markdown table of rows that share their keys (the first row's, in order). */
export function markdownTable(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows)';
  const keys = Object.keys(rows[0]);
  const cell = (value: unknown) => String(value ?? '').replaceAll('|', '\\|');
  return [`| ${keys.join(' | ')} |`, `|${keys.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${keys.map((key) => cell(row[key])).join(' | ')} |`)].join('\n');
}

/** Replaces the section `## <title>` of bench/RESULTS.md with `body` (or appends it). */
export function writeResultsSection(title: string, body: string): void {
  const heading = `## ${title}`;
  const section = `${heading}\n\n${body.trim()}\n`;
  const existing = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '';
  const at = existing.startsWith(`${heading}\n`) ? 0 : existing.indexOf(`\n${heading}\n`) + 1;
  let updated: string;
  if (at <= 0 && !existing.startsWith(`${heading}\n`)) {
    updated = existing ? `${existing.trimEnd()}\n\n${section}` : `# Benchmark results\n\n${section}`;
  } else {
    const end = existing.indexOf('\n## ', at + heading.length);
    updated = existing.slice(0, at) + section + (end < 0 ? '' : `\n${existing.slice(end + 1)}`);
  }
  writeFileSync(RESULTS, updated);
}
