/// <reference lib="dom" />
/**
 * Headless Chromium for the dashboard's browser tests: Debian's `chromium` (installed by
 * scripts/install-browser.sh, which .ci/run calls before the tests) driven by puppeteer-core,
 * which brings no browser of its own. POOLSYNC_CHROMIUM names another binary (the only one looked for). Where there is
 * none, `browserMissing` says why and the tests skip with that message.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { expect } from 'vitest';

// POOLSYNC_CHROMIUM, when set, is the only candidate: .ci/run hides the browser by naming a path
// that does not exist, to check that these tests skip on a machine without one.
const CANDIDATES = process.env.POOLSYNC_CHROMIUM
  ? [process.env.POOLSYNC_CHROMIUM]
  : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export const chromiumPath: string | null = CANDIDATES.find((p) => existsSync(p)) ?? null;

export const browserMissing: string | null = chromiumPath
  ? null
  : `no Chromium on this machine (looked for ${CANDIDATES.join(', ')}): run scripts/install-browser.sh (apt-get install chromium) or set POOLSYNC_CHROMIUM`;

if (browserMissing) process.stderr.write(`dashboard browser tests skipped: ${browserMissing}\n`);

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'poolsync-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromiumPath!,
    headless: true,
    userDataDir: profile,
    // The flags that work on a closed network as root (no sandbox for root, no GPU, no calls home).
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The dashboard at `url`, once its script ran (it marks the document) and its refresh answered. */
export async function openDashboard(chrome: TestBrowser, url: string): Promise<Page> {
  const page = await chrome.browser.newPage();
  page.setDefaultTimeout(0); // waits end on their condition; the test's bound is the only clock
  await page.setViewport({ width: 1280, height: 900 });
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.goto(`${url}/`, { waitUntil: 'load' });
  await page.waitForFunction(
    () =>
      document.documentElement.classList.contains('js') &&
      document.getElementById('live-state')?.textContent?.startsWith('live, checked') === true,
    { polling: 'mutation' },
  );
  expect(violations).toEqual([]);
  return page;
}
