/**
 * The operators' CLI and the data dir lock, as operators meet them: real `server/main.ts` and
 * `server/cli.ts` processes on a temporary PGlite data dir.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataDirLockPath } from '../server/db/data-dir-lock.js';
import { runScript, startScript } from './support/processes.js';

const dirs: string[] = [];
function dataDir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'patchbay-cli-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const gatewayReady = /Demo API token[^\n]*\n/;
const cli = (args: string[], dir: string) => runScript('server/cli.ts', args, { PATCHBAY_DATA_DIR: dir });

/** The PID of a process that has exited (for a stale lock). */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '']);
    child.on('error', reject);
    child.on('close', () => resolve(child.pid!));
  });
}

describe('the data dir lock', () => {
  it('a running gateway holds its data dir: the CLI and a second gateway refuse and write nothing', async () => {
    const dir = dataDir();
    const env = { PATCHBAY_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'warn' };
    const gateway = await startScript('server/main.ts', env, gatewayReady);
    let stopped = false;
    try {
      const pid = Number(readFileSync(dataDirLockPath(dir), 'utf8').split('\n')[0]);
      expect(pid).toBeGreaterThan(0);
      const refused = await cli(['tokens', 'create', '--email', 'pam@acme.example', '--name', 'written while running'], dir);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr.trim().split('\n')).toEqual([
        `The data dir ${dir} is in use by a Patchbay gateway (PID ${pid}): stop the gateway (PID ${pid}) first, or point DATABASE_URL at PostgreSQL`,
      ]);
      const second = await runScript('server/main.ts', [], env);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`The data dir ${dir} is in use by a Patchbay gateway (PID ${pid})`);
      expect(second.stdout).not.toContain('Patchbay is running');
      stopped = true;
      expect(await gateway.stop()).toBe(0);
    } finally {
      if (!stopped) await gateway.stop();
    }
    // Released on SIGTERM, and the refused command wrote nothing.
    expect(existsSync(dataDirLockPath(dir))).toBe(false);
    const tokens = await cli(['tokens', 'list', '--email', 'pam@acme.example'], dir);
    expect(tokens.code).toBe(0);
    expect(tokens.stdout).toContain('Demo token');
    expect(tokens.stdout).not.toContain('written while running');
  }, 120_000);

  it('a stale lock, whose process is gone, is taken over and then released', async () => {
    const dir = dataDir();
    writeFileSync(dataDirLockPath(dir), `${await deadPid()}\ngateway\n`);
    const created = await cli(['accounts', 'create', '--name', 'Initech', '--owner-email', 'bill@initech.example', '--owner-name', 'Bill'], dir);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).accountId).toMatch(/^[0-9a-f-]{36}$/);
    expect(existsSync(dataDirLockPath(dir))).toBe(false);
  }, 60_000);
});

describe('the operators’ CLI', () => {
  it('help exits 0 and lists every command; an unknown command exits 2 with usage', async () => {
    const dir = dataDir();
    for (const args of [['--help'], ['-h'], ['help']]) {
      const help = await cli(args, dir);
      expect(help.code).toBe(0);
      for (const command of ['accounts create', 'accounts list', 'users create', 'users list', 'tokens create', 'tokens list', 'tokens revoke', 'keys rotate']) {
        expect(help.stdout).toContain(command);
      }
    }
    const unknown = await cli(['acounts', 'list'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown command "acounts list"');
    expect(unknown.stderr).toContain('Usage:');
    // Usage is checked before the data dir is touched.
    expect(existsSync(path.join(dir, 'pglite'))).toBe(false);
  }, 60_000);

  it('lists what it created, never a token secret; a bad account id is one line without SQL', async () => {
    const dir = dataDir();
    const account = await cli(['accounts', 'create', '--name', 'Initech', '--owner-email', 'bill@initech.example', '--owner-name', 'Bill'], dir);
    const { accountId } = JSON.parse(account.stdout);
    await cli(['users', 'create', '--account', accountId, '--email', 'peter@initech.example', '--name', 'Peter', '--role', 'editor'], dir);
    const created = JSON.parse((await cli(['tokens', 'create', '--email', 'peter@initech.example', '--name', 'nightly export'], dir)).stdout);

    for (const bad of ['nope', '00000000-0000-0000-0000-000000000000']) {
      const refused = await cli(['users', 'create', '--account', bad, '--email', 'x@initech.example', '--name', 'X'], dir);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe('Account not found\n');
      const output = (refused.stdout + refused.stderr).toLowerCase();
      for (const word of ['select', 'insert', 'params']) expect(output).not.toContain(word);
    }

    const accounts = await cli(['accounts', 'list'], dir);
    expect(accounts.stdout).toMatch(new RegExp(`^ID\\s+NAME\\s+CREATED\\n${accountId}\\s+Initech\\s+\\d{4}-`));
    const users = await cli(['users', 'list', '--account', accountId], dir);
    const userLines = users.stdout.trim().split('\n');
    expect(userLines).toHaveLength(3);
    expect(userLines[1]).toMatch(/bill@initech\.example\s+Bill\s+ADMIN \(owner\)/);
    expect(userLines[2]).toMatch(/peter@initech\.example\s+Peter\s+EDITOR/);
    const tokens = await cli(['tokens', 'list'], dir);
    expect(tokens.code).toBe(0);
    expect(tokens.stdout).toContain(created.tokenId);
    expect(tokens.stdout).toContain('nightly export');
    expect(tokens.stdout).toContain(created.token.slice(0, 9));
    expect(tokens.stdout).not.toContain(created.token);
    // The columns line up: every row's NAME starts where its header does.
    const [header, row] = tokens.stdout.split('\n');
    expect(row.indexOf('nightly export')).toBe(header.indexOf('NAME'));

    await cli(['tokens', 'revoke', '--email', 'peter@initech.example', '--id', created.tokenId], dir);
    const revoked = await cli(['tokens', 'list', '--email', 'peter@initech.example'], dir);
    expect(revoked.stdout.trim().split('\n')[1]).toMatch(/\d{2}:\d{2}Z$/);
    const nobody = await cli(['tokens', 'list', '--email', 'nobody@initech.example'], dir);
    expect(nobody).toMatchObject({ code: 1, stderr: 'No user with email nobody@initech.example\n' });
  }, 180_000);
});
