/**
 * The gateway serves the built dashboard at `/` next to its API: content types, caching (hashed
 * assets for a year, index.html revalidated), client routes answered with index.html, no way out
 * of the dist directory, 404 for missing files, and a 503 page until the dashboard is built.
 * A small stand-in dist directory keeps this independent of the Vite build.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../server/app.js';
import { openPglite, type DatabaseHandle } from '../server/db/client.js';
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
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // Only GET and HEAD are the dashboard's.
    expect((await fetch(`${url}/`, { method: 'POST', body: '{}' })).status).toBe(404);
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
