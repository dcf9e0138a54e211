/**
 * `npm run build`, and the prepare step of `npm install` / `npm ci`: compiles the server with tsc
 * into dist/ (what `npm start` runs with plain node) and builds the dashboard into client/dist.
 * Without dev dependencies (a production install: no TypeScript, no Vite) it says what it could
 * not build and exits 0, so the install does not fail; build on a machine with them and ship dist/.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { buildDashboard } from '../server/dashboard.js';
import { PROJECT_ROOT } from '../server/paths.js';

function typescriptCompiler(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    return undefined;
  }
}

const tsc = typescriptCompiler();
if (tsc) {
  const compiled = spawnSync(process.execPath, [tsc, '-p', path.join(PROJECT_ROOT, 'tsconfig.build.json')], { stdio: 'inherit', cwd: PROJECT_ROOT });
  if (compiled.status !== 0) process.exit(compiled.status ?? 1);
} else {
  process.stderr.write('TypeScript is not installed (a production install?): the server was not compiled; build dist/ where dev dependencies are installed.\n');
}
await buildDashboard();
