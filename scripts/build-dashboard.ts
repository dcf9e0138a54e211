/**
 * `npm run build:dashboard`, and the prepare step of `npm install` / `npm ci`: builds client/ into
 * client/dist. Without dev dependencies (no Vite) it says so and exits 0, so a production install
 * does not fail; the gateway then answers `/` with a page saying how to build it.
 */
import { buildDashboard } from '../server/dashboard.js';

await buildDashboard();
