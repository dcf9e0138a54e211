/**
 * GraphiQL served by the gateway itself, so it works offline and under a strict
 * Content-Security-Policy. `@graphql-yoga/render-graphiql` bundles GraphiQL (its script, styles,
 * favicon and Monaco's three workers), but its own page inlines all of them (9 MB of HTML on every
 * load, workers from blob: URLs, an inline script). Here the same bundle is split into static files
 * under /graphiql/, named by their content hash and cached for a year, and the page is a few lines
 * that reference them: no inline script, no other origin.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';
import { escapeHtml } from './html.js';

/** Where GraphiQL's files are served. */
export const GRAPHIQL_ASSETS_PREFIX = '/graphiql/';

const YEAR_SECONDS = 365 * 24 * 3600;

/**
 * Scripts, workers, fonts, styles and requests only from this gateway (`connect-src 'self'`
 * covers its own ws:// for subscriptions; the browser test checks both). What the bundle cannot do
 * without, checked in Chromium by removing each (tests/graphiql.test.ts then sees the violations):
 * - style-src 'unsafe-inline': Monaco inserts <style> elements and style attributes at run time,
 *   with no way to give them a nonce or hash; styles cannot run code, and scripts stay 'self'.
 * - img-src and font-src data:: the stylesheet carries its icons and 36 fonts as data: URLs.
 * No 'unsafe-eval' (the bundle has no eval or new Function) and no blob: (Monaco's workers are
 * served here as same-origin module workers).
 */
export const GRAPHIQL_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self'",
  "connect-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers for the page and every file of it. */
export const GRAPHIQL_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': GRAPHIQL_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

interface Asset {
  body: Buffer;
  gzip?: Buffer;
  contentType: string;
  etag: string;
}

/** The bundle split into files, and the URLs the page refers to them by. */
interface Assets {
  files: Map<string, Asset>;
  urls: { script: string; style: string; favicon: string; start: string };
}

/** Adds a file named `<name>-<hash>.<ext>` and returns its path. */
function addAsset(files: Map<string, Asset>, name: string, ext: string, contentType: string, body: Buffer): string {
  const hash = createHash('sha256').update(body).digest('base64url');
  const pathname = `${GRAPHIQL_ASSETS_PREFIX}${name}-${hash.slice(0, 12)}.${ext}`;
  files.set(pathname, { body, contentType, etag: `"${hash}"` });
  return pathname;
}

/** Reads the 9 MB bundle once, on the first GraphiQL request (never when GraphiQL is off). */
async function loadAssets(): Promise<Assets> {
  const bundle = await import('@graphql-yoga/render-graphiql/graphiql');
  const files = new Map<string, Asset>();
  const script = addAsset(files, 'graphiql', 'js', 'text/javascript; charset=utf-8', Buffer.from(bundle.js));
  const style = addAsset(files, 'graphiql', 'css', 'text/css; charset=utf-8', Buffer.from(bundle.css));
  const [, faviconType, faviconData] = /^data:([^;]+);base64,(.*)$/s.exec(bundle.favicon) ?? [];
  const favicon = addAsset(files, 'favicon', 'ico', faviconType ?? 'image/x-icon', Buffer.from(faviconData ?? '', 'base64'));
  const workers = {
    editorWorkerService: addAsset(files, 'editor.worker', 'js', 'text/javascript; charset=utf-8', Buffer.from(bundle.editorWorkerService)),
    json: addAsset(files, 'json.worker', 'js', 'text/javascript; charset=utf-8', Buffer.from(bundle.jsonWorker)),
    graphql: addAsset(files, 'graphql.worker', 'js', 'text/javascript; charset=utf-8', Buffer.from(bundle.graphqlWorker)),
  };
  // What the package's inline script did, as a file: Monaco's workers by label, then the page's
  // options (a JSON data block in the page) rendered into #root. Monaco turns a worker URL that
  // is not absolute into a blob: wrapper, so each is made absolute against the page's origin.
  const start = `(() => {
  const workers = ${JSON.stringify(workers)};
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: (_moduleId, label) => new URL(workers[label], location.origin).href,
  };
  const options = JSON.parse(document.getElementById('graphiql-options').textContent);
  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), options);
})();
`;
  const startPath = addAsset(files, 'start', 'js', 'text/javascript; charset=utf-8', Buffer.from(start));
  return { files, urls: { script, style, favicon, start: startPath } };
}

/** GraphiQL's page and files; nothing is read until the first request. */
export function createGraphiql() {
  let assets: Promise<Assets> | undefined;
  const load = () => (assets ??= loadAssets());

  /** Yoga's `renderGraphiQL`: the page, referring to the files by their hashed names. */
  async function render(options: GraphiQLOptions): Promise<string> {
    const { urls } = await load();
    // A JSON data block is never executed; `<` is escaped so no value can close the element.
    const json = JSON.stringify(options).replace(/</g, '\\u003c');
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(options.title ?? 'Patchbay')} – GraphiQL</title>
<link rel="icon" href="${urls.favicon}">
<link rel="stylesheet" href="${urls.style}">
</head>
<body id="body" class="no-focus-outline">
<noscript>GraphiQL needs JavaScript.</noscript>
<div id="root"></div>
<script type="application/json" id="graphiql-options">${json}</script>
<script src="${urls.script}"></script>
<script src="${urls.start}"></script>
</body>
</html>
`;
  }

  /** Serves a file under /graphiql/ (GET or HEAD), cached for a year; anything else is a 404. */
  async function serveAsset(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = (req.url ?? '/').split('?', 1)[0];
    const asset = req.method === 'GET' || req.method === 'HEAD' ? (await load()).files.get(pathname) : undefined;
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('Not found\n');
      return;
    }
    const headers: Record<string, string> = {
      ...GRAPHIQL_SECURITY_HEADERS,
      'content-type': asset.contentType,
      'cache-control': `public, max-age=${YEAR_SECONDS}, immutable`,
      etag: asset.etag,
      vary: 'accept-encoding',
    };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers).end();
      return;
    }
    // The script is 5 MB; gzip (made once) makes it about 1.5 MB on the wire.
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? (asset.gzip ??= gzipSync(asset.body)) : asset.body;
    if (gzip) headers['content-encoding'] = 'gzip';
    headers['content-length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  return { render, serveAsset };
}

/** Puts the policy on Yoga's GraphiQL page (Yoga answers it before any other hook runs). */
export function useGraphiqlHeaders(): Plugin {
  return {
    onResponse({ request, response }) {
      if (request.method !== 'GET' || !(response.headers.get('content-type') ?? '').startsWith('text/html')) return;
      for (const [name, value] of Object.entries(GRAPHIQL_SECURITY_HEADERS)) response.headers.set(name, value);
      response.headers.set('cache-control', 'no-cache');
    },
  };
}
