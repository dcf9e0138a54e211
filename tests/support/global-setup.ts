/**
 * Once per test run: make sure Debian's Chromium is there for the browser suites (see
 * chromium.ts), and when TEST_DATABASE_URL is set, give the PostgreSQL test database a clean
 * schema and apply the migrations, so test files only open pools and roll back their work.
 */
import postgres from 'postgres';
import { openPostgres } from '../../server/db/client.js';
import { ensureChromium } from './chromium.js';

export default async function setup() {
  ensureChromium();
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
