/**
 * `npm run build:dashboard [out dir]`, and the prepare step of `npm install` / `npm ci`: builds
 * client/ into client/dist (or the directory given). Without dev dependencies (no Vite) it says so
 * and exits 0, so a production install does not fail; the gateway then answers `/` with a page
 * saying how to build it.
 */
import path from 'node:path';
import { buildDashboard } from '../server/dashboard.js';

const outDir = process.argv[2];
await buildDashboard(outDir ? path.resolve(outDir) : undefined);
