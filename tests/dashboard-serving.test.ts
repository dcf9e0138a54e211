/**
 * The gateway serves the built dashboard at `/` next to its API: content types, caching (hashed
 * assets for a year, index.html revalidated), client routes answered with index.html, no way out
 * of the dist directory, 404 for missing files, and a 503 page until the dashboard is built.
 * A small stand-in dist directory keeps this independent of the Vite build. GraphiQL is served
 * beside it from the gateway's own files, under its own policy, and not at all when off.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { openPglite, type DatabaseHandle } from '../server/db/client.js';
import { DEFAULT_LIMITS } from '../server/edge/limits.js';
import type { EdgeSettings } from '../server/edge/requests.js';
import { createLog } from '../server/log.js';
import { testVault } from './support/fixtures.js';

const INDEX = '<!doctype html><title>Patchbay</title><div id="root"></div><script type="module" src="/assets/index-Ab12Cd34.js"></script>';
const SCRIPT = 'console.log("dashboard")';
const SECRET = 'this file is outside the dashboard directory';

/** A raw GET whose path is sent exactly as given (fetch would normalize the dots away). */
function rawGet(base: string, rawPath: string) {
  const { hostname, port } = new URL(base);
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request({ host: hostname, port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serving the dashboard', () => {
  let database: DatabaseHandle;
  let app: App;
  let url: string;
  let notBuilt: App;
  let notBuiltUrl: string;
  const root = mkdtempSync(path.join(tmpdir(), 'patchbay-serving-'));
  const dist = path.join(root, 'dist');
  const later = path.join(root, 'later');

  beforeAll(async () => {
    mkdirSync(path.join(dist, 'assets'), { recursive: true });
    writeFileSync(path.join(dist, 'index.html'), INDEX);
    writeFileSync(path.join(dist, 'assets', 'index-Ab12Cd34.js'), SCRIPT);
    writeFileSync(path.join(dist, 'assets', 'index-Ef56Gh78.css'), 'body{margin:0}');
    writeFileSync(path.join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(path.join(dist, '.env'), SECRET);
    writeFileSync(path.join(root, 'secret.txt'), SECRET);
    database = await openPglite();
    await database.migrate();
    const log = createLog('silent');
    app = createApp({ db: database.db, vault: testVault, log, dashboardDir: dist });
    url = await app.start(0);
    notBuilt = createApp({ db: database.db, vault: testVault, log, dashboardDir: later });
    notBuiltUrl = await notBuilt.start(0);
  });
  afterAll(async () => {
    await notBuilt?.stop();
    await app?.stop();
    await database?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves index.html at / with no-cache and a strict content security policy', async () => {
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html;charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('etag')).toBeTruthy();
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toBe(INDEX);
    const revalidated = await fetch(`${url}/`, { headers: { 'if-none-match': response.headers.get('etag')! } });
    expect(revalidated.status).toBe(304);
    const head = await fetch(`${url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('answers client routes with index.html, and keeps the query string for the OAuth return', async () => {
    for (const route of ['/connections/Q29ubmVjdGlvbjox', '/connect/google-analytics-4', '/?connection=abc&status=ACTIVE']) {
      const response = await fetch(`${url}${route}`);
      expect(response.status, route).toBe(200);
      expect(response.headers.get('content-type'), route).toBe('text/html;charset=utf-8');
      expect(response.headers.get('cache-control'), route).toBe('no-cache');
      expect(await response.text(), route).toBe(INDEX);
    }
  });

  it('serves hashed assets with their content type, cached for a year', async () => {
    const script = await fetch(`${url}/assets/index-Ab12Cd34.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await script.text()).toBe(SCRIPT);
    const style = await fetch(`${url}/assets/index-Ef56Gh78.css`);
    expect(style.headers.get('content-type')).toBe('text/css');
    const icon = await fetch(`${url}/favicon.svg`);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    // Not hashed: revalidated like index.html.
    expect(icon.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers a missing file with 404, not with index.html', async () => {
    for (const missing of ['/assets/index-Zz99.js', '/missing.png', '/assets/app.css.map']) {
      const response = await fetch(`${url}${missing}`);
      expect(response.status, missing).toBe(404);
      expect(await response.text(), missing).not.toContain('<div id="root">');
    }
  });

  it('never serves a file outside the dashboard directory, or a dotfile in it', async () => {
    const attempts = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/%2e%2e%5csecret.txt',
      '//secret.txt',
      '/.env',
      '/assets/..%2f.env',
    ];
    for (const attempt of attempts) {
      const response = await rawGet(url, attempt);
      expect(response.status, attempt).toBe(404);
      expect(response.body, attempt).not.toContain(SECRET);
    }
  });

  it('leaves the API, GraphiQL, the OAuth callback and the health check where they were', async () => {
    const api = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(((await api.json()) as { data: unknown }).data).toEqual({ __typename: 'Query' });
    const graphiql = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await graphiql.text()).toContain('GraphiQL');
    const callback = await fetch(`${url}/oauth/callback?code=x&state=forged`, { redirect: 'manual' });
    expect(callback.status).toBe(400);
    // A refused sign-in says so and links back to the dashboard.
    const refused = await callback.text();
    expect(refused).toContain('<h1>Sign-in link not valid</h1>');
    expect(refused).toContain('<a href="/">Back to the Patchbay dashboard</a>');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // Only GET and HEAD are the dashboard's.
    expect((await fetch(`${url}/`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  describe('GraphiQL', () => {
    const off: EdgeSettings = { production: false, graphiql: false, corsOrigins: [], document: { limits: DEFAULT_LIMITS, introspection: true } };
    let development: App;
    let developmentUrl: string;
    let production: App;
    let productionUrl: string;

    beforeAll(async () => {
      development = createApp({ db: database.db, vault: testVault, log: createLog('silent'), dashboardDir: dist, edge: off });
      developmentUrl = await development.start(0);
      production = createApp({ db: database.db, vault: testVault, log: createLog('silent'), dashboardDir: dist, edge: { ...off, production: true } });
      productionUrl = await production.start(0);
    });
    afterAll(async () => {
      await production?.stop();
      await development?.stop();
    });

    /** The page, and the paths of the files it refers to. */
    async function graphiqlPage(base: string) {
      const response = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
      const html = await response.text();
      const files = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
      return { response, html, files };
    }

    it('is a page of its own files, with no inline script, under a CSP that allows only this gateway', async () => {
      const { response, html, files } = await graphiqlPage(url);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      const csp = response.headers.get('content-security-policy') ?? '';
      for (const directive of ["default-src 'self'", "script-src 'self'", "connect-src 'self'", "worker-src 'self'", "frame-ancestors 'none'"]) {
        expect(csp).toContain(directive);
      }
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(csp).not.toMatch(/https?:|blob:/);
      expect(html).not.toMatch(/https?:\/\//);
      // Scripts only by src; the options are a JSON data block, which never runs.
      expect([...html.matchAll(/<script([^>]*)>/g)].map((match) => match[1].trim())).toEqual([
        'type="application/json" id="graphiql-options"',
        expect.stringMatching(/^src="\/graphiql\/graphiql-[\w-]+\.js"$/),
        expect.stringMatching(/^src="\/graphiql\/start-[\w-]+\.js"$/),
      ]);
      expect(files.length).toBe(4);
      for (const file of files) expect(file, file).toMatch(/^\/graphiql\/[\w.-]+\.(js|css|ico)$/);
    });

    it('serves its files by content hash, cached for a year, revalidated by ETag, gzipped on request', async () => {
      const { files } = await graphiqlPage(url);
      const script = files.find((file) => /\/graphiql-[\w-]+\.js$/.test(file))!;
      const response = await fetch(`${url}${script}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('content-encoding')).toBe('gzip');
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      const body = await response.text();
      expect(body).toContain('renderYogaGraphiQL');
      expect(body).not.toContain('unpkg.com');
      const etag = response.headers.get('etag')!;
      expect(etag).toMatch(/^"[\w-]+"$/);
      expect((await fetch(`${url}${script}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
      for (const file of files) expect((await fetch(`${url}${file}`, { method: 'HEAD' })).status, file).toBe(200);
      for (const missing of ['/graphiql/graphiql.js', '/graphiql/', '/graphiql/../package.json']) {
        expect((await rawGet(url, missing)).status, missing).toBe(404);
      }
    });

    it('serves neither the page nor its files when off: 401 for anonymous production requests, 404 for the files', async () => {
      const { files } = await graphiqlPage(url);
      const page = await graphiqlPage(developmentUrl);
      expect(page.html).not.toContain('GraphiQL');
      const anonymous = await graphiqlPage(productionUrl);
      expect(anonymous.response.status).toBe(401);
      expect(anonymous.html).not.toContain('GraphiQL');
      for (const base of [developmentUrl, productionUrl]) {
        for (const file of files) {
          const response = await fetch(`${base}${file}`);
          expect(response.status, file).toBe(404);
          expect(await response.text()).toBe('Not found\n');
        }
      }
    });
  });

  it('says how to build the dashboard while it is missing, and serves it once built', async () => {
    const missing = await fetch(`${notBuiltUrl}/connections/x`);
    expect(missing.status).toBe(503);
    expect(missing.headers.get('cache-control')).toBe('no-store');
    expect(await missing.text()).toContain('npm run build:dashboard');
    mkdirSync(later, { recursive: true });
    writeFileSync(path.join(later, 'index.html'), INDEX);
    const built = await fetch(`${notBuiltUrl}/connections/x`);
    expect(built.status).toBe(200);
    expect(await built.text()).toBe(INDEX);
  });
});
