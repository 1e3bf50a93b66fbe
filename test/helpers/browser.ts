import { accessSync, constants } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { describeWithTool } from './describe-with-tool.js';

// Page-side code below runs in the browser, where these exist (the project's types have no DOM).
declare const document: any;
declare const window: any;

/** Debian's chromium (or `CHROMIUM_PATH`), or null when it is not installed. */
export function findChromium(): string | null {
  const file = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  try {
    accessSync(file, constants.X_OK);
    return file;
  } catch {
    return null;
  }
}

/** `describe` for tests in a real headless browser: fails in CI without it, skips elsewhere (describe-with-tool.ts). */
export function describeWithChromium(name: string, body: () => void): void {
  describeWithTool(name, body, { name: 'chromium', found: findChromium() !== null, install: 'apt-get install chromium, or set CHROMIUM_PATH' });
}

/** Headless chromium with a throwaway profile (--no-sandbox: tests may run as root). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error('chromium is missing');
  return puppeteer.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
  });
}

/**
 * What went wrong in a page: console errors, uncaught exceptions and Content-Security-Policy
 * violations (reported by the page itself, so none goes unnoticed).
 */
export async function watchPage(page: Page): Promise<string[]> {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
  await page.exposeFunction('__reportCspViolation', (text: string) => problems.push(`csp: ${text}`));
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e: { violatedDirective: string; blockedURI: string }) => {
      window.__reportCspViolation(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return problems;
}
