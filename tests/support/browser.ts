/**
 * A real browser for dashboard tests: Debian's Chromium (CI installs it with apt) driven by
 * playwright-core, never a downloaded browser build. Each launch gets a fresh temporary profile
 * (Playwright creates and removes it); each signed-in person gets their own context (cookies and
 * localStorage). Screenshots go to test-artifacts/ (gitignored) for people to look at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags for a quiet, headless, network-silent Chromium in a container. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts', import.meta.url));

/** Why browser tests cannot run here (no Chromium), or undefined when they can. */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  return (
    `Chromium is not at ${CHROMIUM}; install it with "apt-get install -y chromium" ` +
    '(.ci/run does), or point CHROMIUM_PATH at one. Browsers are never downloaded.'
  );
}

export async function launchBrowser(): Promise<Browser> {
  const missing = chromiumMissing();
  if (missing) throw new Error(`The dashboard tests need a browser. ${missing}`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30_000 });
}

/**
 * A new person at the dashboard: an isolated context and page at a desktop size. Uncaught page
 * errors and console errors are pushed to `errors`, which tests expect to stay empty.
 */
export async function openPage(browser: Browser, errors: string[]): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // The browser's own line for an HTTP error status (a rejected token is a 401) is expected.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(`console error: ${message.text()}`);
  });
  return page;
}

/** Saves a full-page screenshot as test-artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
