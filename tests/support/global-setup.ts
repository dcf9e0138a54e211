/**
 * Once per test run: make sure Debian's Chromium is there for the browser suites (see
 * chromium.ts) and build the dashboard they load, and when TEST_DATABASE_URL is set, give the
 * PostgreSQL test database a clean schema and apply the migrations, so test files only open pools
 * and roll back their work.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { openPostgres } from '../../server/db/client.js';
import { chromiumAvailable, ensureChromium } from './chromium.js';
import { runScript } from './processes.js';

export default async function setup(project: TestProject) {
  ensureChromium();
  const teardown = chromiumAvailable() ? await buildDashboard(project) : undefined;
  await migrateTestDatabase();
  return teardown;
}

/**
 * The dashboard the browser suites serve: the current client/ source, built once per run as
 * `npm install` builds it (in its own process: under vitest's NODE_ENV=test, Vite would bundle
 * React's development build). Suites read its directory with `builtDashboard()`.
 */
async function buildDashboard(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'patchbay-test-dashboard-'));
  const built = await runScript('scripts/build-dashboard.ts', [dir], { NODE_ENV: 'production' }, 180_000);
  if (built.code !== 0) throw new Error(`The dashboard did not build:\n${built.stderr}`);
  project.provide('dashboardDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}

async function migrateTestDatabase() {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return;
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe('drop schema if exists drizzle cascade; drop schema if exists public cascade; create schema public;');
  } finally {
    await sql.end();
  }
  const database = await openPostgres(url, { max: 1 });
  try {
    await database.migrate();
  } finally {
    await database.close();
  }
}
