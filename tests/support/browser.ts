/**
 * A real browser for dashboard tests: Debian's Chromium (CI installs it with apt) driven by
 * playwright-core, never a downloaded browser build. Each launch gets a fresh temporary profile
 * (Playwright creates and removes it); each signed-in person gets their own context (cookies and
 * localStorage). Screenshots go to test-artifacts/ (gitignored) for people to look at.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { describe, inject } from 'vitest';
import { CHROMIUM, chromiumAvailable } from './chromium.js';

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

/**
 * A browser suite: skipped (the global setup has said why, loudly) only where Chromium is missing
 * and could not be installed; CI requires it.
 */
export const describeInBrowser = describe.skipIf(!chromiumAvailable());

declare module 'vitest' {
  export interface ProvidedContext {
    /** The dashboard built once per test run from client/ (global-setup.ts). */
    dashboardDir: string;
  }
}

/** The directory of the dashboard built for this test run (global-setup.ts), to serve with `dashboardDir`. */
export function builtDashboard(): string {
  return inject('dashboardDir');
}

export async function launchBrowser(): Promise<Browser> {
  if (!chromiumAvailable()) {
    throw new Error(
      `The dashboard tests need Chromium at ${CHROMIUM}; install it with "apt-get install -y chromium" ` +
        '(.ci/run does), or point CHROMIUM_PATH at one. Browsers are never downloaded.',
    );
  }
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

/** One accessibility rule broken on a page, with where. */
export interface AxeViolation {
  rule: string;
  impact: string;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (Deque's rules for WCAG 2.x A and AA, and best practices) in the page as it is now,
 * and returns the serious and critical violations. axe-core is a devDependency; its source is
 * injected into the page, so nothing is fetched.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(source);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((violation) => ({
      rule: violation.id,
      impact: violation.impact ?? 'unknown',
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(' ')),
    }));
  });
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}
