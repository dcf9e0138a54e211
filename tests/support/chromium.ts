/**
 * Debian's Chromium for the browser suites, never a downloaded build. `npm test` on a fresh
 * machine installs it once when it can (root with apt-get); when it cannot, only the browser
 * suites are skipped, with a notice no one can miss. CI sets PATCHBAY_REQUIRE_BROWSER=true, so a
 * missing browser fails the run there instead of skipping anything.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Where the browser suites find Chromium (CHROMIUM_PATH overrides Debian's path). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether the browser suites can run in this process. */
export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

function run(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 15 * 60_000,
  });
  return result.status === 0;
}

function notice(lines: string[]): void {
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n${lines.map((line) => `!! ${line}`).join('\n')}\n${bar}\n\n`);
}

/** Installs Chromium from Debian when it is missing and this process may; says loudly what it did. */
export function ensureChromium(): void {
  if (chromiumAvailable()) return;
  const canInstall = process.getuid?.() === 0 && !process.env.CHROMIUM_PATH && existsSync('/usr/bin/apt-get');
  if (canInstall) {
    process.stderr.write('Chromium is missing: installing Debian\'s package for the browser suites (apt-get install chromium)...\n');
    if (run('apt-get', ['update', '-qq']) && run('apt-get', ['install', '-y', '-qq', 'chromium']) && chromiumAvailable()) return;
  }
  const why = process.env.CHROMIUM_PATH
    ? 'CHROMIUM_PATH points at nothing'
    : canInstall
      ? 'installing it with apt-get failed'
      : 'this user cannot install it (needs root and apt-get)';
  if (process.env.PATCHBAY_REQUIRE_BROWSER === 'true') {
    throw new Error(`The browser suites need Chromium at ${CHROMIUM} and ${why}; PATCHBAY_REQUIRE_BROWSER=true forbids skipping them`);
  }
  notice([
    `BROWSER SUITES SKIPPED: no Chromium at ${CHROMIUM}, and ${why}.`,
    'Every other suite runs. To run them too: sudo apt-get install -y chromium',
    '(or set CHROMIUM_PATH to a Chromium binary). Browsers are never downloaded.',
  ]);
}
