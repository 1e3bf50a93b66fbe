import { accessSync, constants } from 'node:fs';
import { describe, it } from 'vitest';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

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

const inCi = () => !['', '0', 'false', undefined].includes(process.env.CI?.toLowerCase());

/**
 * `describe` for tests in a real headless browser. Without chromium they fail in CI (CI=true: .ci/run
 * installs it), and elsewhere skip with the reason printed.
 */
export function describeWithChromium(name: string, body: () => void): void {
  if (findChromium()) {
    describe(name, body);
  } else if (inCi()) {
    describe(name, () => {
      it('needs chromium', () => {
        throw new Error('chromium is missing: .ci/run installs it with apt-get (apt-get install chromium), or set CHROMIUM_PATH');
      });
    });
  } else {
    console.warn(`skipping "${name}": chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)`);
    describe.skip(name, body);
  }
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
