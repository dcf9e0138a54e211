/**
 * `npm start` runs the compiled gateway with plain node (no tsx at run time), and a stop signal
 * sent to npm, as a supervisor or a container runtime sends it, reaches the gateway: it tells
 * WebSocket clients it is going away, stops listening, releases its data dir and exits.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { until } from './support/wait.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('npm start and stop signals', { timeout: 180_000 }, () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s to npm stops the compiled gateway: sockets told, port closed, data dir released', async (signal) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-signals-'));
    dirs.push(dataDir);
    const npm = spawn('npm', ['start'], {
      cwd: root,
      env: { ...process.env, PORT: '0', PATCHBAY_DATA_DIR: dataDir, PATCHBAY_JOBS: 'false', LOG_LEVEL: 'warn', DATABASE_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    npm.stdout.on('data', (chunk) => (stdout += chunk));
    npm.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    try {
      await until(() => /GraphQL:\s+http/.test(stdout), `the gateway to start\n${stderr}`, 150_000);
      // The gateway runs from dist/ with node alone.
      const lock = { pid: Number(readFileSync(path.join(dataDir, 'patchbay.lock'), 'utf8').split('\n')[0]) };
      expect(readFileSync(`/proc/${lock.pid}/cmdline`, 'utf8').split('\0')).toContain('dist/server/main.js');
      expect(readFileSync(`/proc/${lock.pid}/cmdline`, 'utf8')).not.toContain('tsx');
      const base = /GraphQL:\s+(http\S+)\/graphql/.exec(stdout)![1];
      const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

      npm.kill(signal);
      expect(await closed).toBe(1001);
      await exited;
      await until(() => !existsSync(`/proc/${lock.pid}`), 'the gateway process to exit', 15_000);
      expect(existsSync(path.join(dataDir, 'patchbay.lock'))).toBe(false);
      await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
    }
  });
});
