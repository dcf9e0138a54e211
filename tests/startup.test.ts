/**
 * Start-up failures are one line that names the problem and the fix, found before anything is
 * opened: a malformed secret key list before the database is dialled, a port in use before the
 * data dir is migrated.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScript } from './support/processes.js';

describe('starting the gateway', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchbay-startup-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a malformed PATCHBAY_SECRET_KEY by name and format before dialling the database', async () => {
    // Nothing listens on port 1: reaching the database would fail differently.
    const env = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere', PATCHBAY_SECRET_KEY: 'k1:not-32-bytes', PORT: '0' };
    const { code, stdout, stderr } = await runScript('server/main.ts', [], env);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^Configuration error: PATCHBAY_SECRET_KEY .*id:base64.*openssl rand -base64 32/);
    expect(stderr).not.toContain('not-32-bytes');
    expect(stdout).toBe('');
  });

  it('says in one line that the port is in use, without a stack trace and before touching the data dir', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dir = dataDir();
      const { code, stderr } = await runScript('server/main.ts', [], { PORT: String(port), HOST: '127.0.0.1', PATCHBAY_DATA_DIR: dir, DATABASE_URL: '' });
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(`Patchbay failed to start: port ${port} on 127.0.0.1 is in use; stop what listens there or choose another with PORT (e.g. PORT=4001)`);
      // The lock file is the only thing written; no database was created.
      expect(readdirSync(dir).filter((entry) => entry !== 'patchbay.lock')).toEqual([]);
    } finally {
      blocker.close();
    }
  });
});
