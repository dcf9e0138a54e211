/**
 * The dashboard (client/, built by Vite into client/dist) served at `/` by sirv, the static
 * server Vite's own preview uses: Vite's hashed files under /assets are cached for a year,
 * index.html is revalidated on every load, and a client route such as /connections/<id> is
 * answered with index.html. sirv serves only the files it listed at start, so no path (`..`,
 * encoded or not) reaches outside the directory; a missing file with an extension is a 404.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import sirv from 'sirv';
import type { Log } from './log.js';
import { PROJECT_ROOT } from './paths.js';

const CLIENT_ROOT = path.join(PROJECT_ROOT, 'client');

/** Where `npm install` (the prepare script) and `npm start` build the dashboard. */
export const DASHBOARD_DIR = path.join(CLIENT_ROOT, 'dist');

const YEAR_SECONDS = 365 * 24 * 3600;

/**
 * The page may talk only to this gateway (HTTP and its WebSocket) and load only its own files;
 * the token it keeps is worth a strict policy.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

export type DashboardHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** GET and HEAD outside the API are the dashboard's: its files and its client routes. */
export function isDashboardRequest(req: IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const pathname = (req.url ?? '/').split('?', 1)[0];
  return pathname !== '/graphql' && !pathname.startsWith('/graphql/');
}

/** Serves the built dashboard in `dir`; until it is built, a 503 page says how to build it. */
export function serveDashboard(dir = DASHBOARD_DIR): DashboardHandler {
  let serve: ReturnType<typeof sirv> | undefined;
  return (req, res) => {
    // Looked up again while missing, so a build finishing after start is picked up.
    serve ??= existsSync(path.join(dir, 'index.html')) ? staticFiles(dir) : undefined;
    if (!serve) {
      res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'retry-after': '30' }).end(NOT_BUILT);
      return;
    }
    if (isForbiddenPath(req.url ?? '/')) return notFound(res);
    serve(req, res, () => notFound(res));
  };
}

function notFound(res: ServerResponse) {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('Not found\n');
}

/**
 * A `..` segment, a dotfile or an encoded separator is never a dashboard path. sirv would not
 * serve a file for it anyway; answering 404 keeps it from passing as a client route (index.html).
 */
function isForbiddenPath(url: string): boolean {
  const pathname = url.split('?', 1)[0];
  if (/%2f|%5c|\\/i.test(pathname)) return true;
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return true;
  }
  return decoded.split('/').some((segment) => segment.startsWith('.'));
}

function staticFiles(dir: string) {
  return sirv(dir, {
    single: true,
    etag: true,
    dotfiles: false,
    setHeaders(res, pathname) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
      // Only real files carry an extension here (extension paths never fall back to index.html),
      // and Vite names everything under assets/ by its content hash.
      const hashedAsset = pathname.startsWith('/assets/') && /\.\w+$/.test(pathname);
      res.setHeader('cache-control', hashedAsset ? `public, max-age=${YEAR_SECONDS}, immutable` : 'no-cache');
    },
  });
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Dashboard not built – Patchbay</title>
<main style="font:16px/1.5 system-ui;max-width:36rem;margin:4rem auto;padding:0 1rem">
<h1>The dashboard has not been built</h1>
<p>Run <code>npm install</code> (it builds the dashboard) or <code>npm run build:dashboard</code>, then reload.
The API is available at <a href="/graphql">/graphql</a>.</p></main>`;

/**
 * Builds client/ into `outDir` with Vite. Resolves false, having said why, when Vite is not
 * installed (an install without dev dependencies): the gateway then serves the 503 page.
 */
export async function buildDashboard(outDir = DASHBOARD_DIR, log?: Log): Promise<boolean> {
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    const message = 'The dashboard cannot be built: Vite is not installed (install with dev dependencies: npm install)';
    if (log) log.warn(message);
    else process.stderr.write(`${message}\n`);
    return false;
  }
  await vite.build({
    root: CLIENT_ROOT,
    configFile: path.join(CLIENT_ROOT, 'vite.config.ts'),
    logLevel: log ? 'warn' : 'info',
    build: { outDir, emptyOutDir: true },
  });
  return true;
}

/** At start: builds the dashboard when client/dist is missing (a checkout that skipped install). */
export async function ensureDashboardBuilt(log: Log): Promise<void> {
  if (existsSync(path.join(DASHBOARD_DIR, 'index.html'))) return;
  log.info('building the dashboard (client/dist is missing)');
  await buildDashboard(DASHBOARD_DIR, log);
}
