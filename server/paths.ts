/**
 * Where the project's files are, the same whether the gateway runs from TypeScript (tsx) or from
 * the compiled dist/: the nearest directory above this module holding package.json.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('Patchbay cannot find its package.json above its own code');
    dir = parent;
  }
  return dir;
}

/** The project's root directory (package.json, drizzle/, client/, schema.graphql). */
export const PROJECT_ROOT = projectRoot();

/** The drizzle migrations folder. */
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'drizzle');
