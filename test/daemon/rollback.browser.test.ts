/// <reference lib="dom" />
/**
 * The dashboard's Roll back button (issue 76 item 1; docs/daemon.md#rollback) in a real headless
 * Chromium (browser.ts): after commits A and B, a name, the admin token and "Roll back to run
 * #1" send `POST /rollback` as `poolsync rollback 1` does; the queue is A's again, and the page
 * says the rollback holds. Every wait is for a condition, never for a time.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../support/until.js';
import { browserMissing, launchBrowser, openDashboard, type TestBrowser } from './browser.js';
import { ADMIN_TOKEN, startDashboardDaemon, type DashboardHarness } from './dashboard-harness.js';
import { manifests } from './fixtures.js';
import { TestRepo } from './helpers.js';

const suite = browserMissing ? describe.skip : describe;
const title = browserMissing
  ? `the Roll back button in headless Chromium (SKIPPED: ${browserMissing})`
  : 'the Roll back button in headless Chromium';
const TEST_BOUND_MS = 180_000;

let chrome: TestBrowser | undefined;
let h: DashboardHarness | undefined;

suite(title, () => {
  afterAll(async () => {
    await h?.stop();
    await chrome?.close();
  }, TEST_BOUND_MS);

  it(
    'rolls back to run #1 from the page: the queue is as A left it, and the page says what holds',
    async () => {
      chrome = await launchBrowser();
      const repo = new TestRepo();
      repo.commit(manifests({ batchRunConcurrency: 50 }), 'A');
      h = await startDashboardDaemon({ repo });
      await h.daemon.firstRun;
      repo.commit(manifests({ batchRunConcurrency: 70 }), 'B');
      await h.daemon.reconcile('webhook');
      expect((await h.cp.getQueue('batch')).run_concurrency).toBe(70);

      const page = await openDashboard(chrome!, h.daemon.url);
      await page.$$eval('details', (all) => all.forEach((d) => (d.open = true)));
      await page.locator('#approver').fill('alice');
      await page.locator('#admin-token').fill(ADMIN_TOKEN);
      await page.locator('button.rollback[data-run="1"]').click();
      await page.waitForSelector('#approve-result.ok');
      await until('the rollback run', async () => {
        const s = await h!.status();
        return s.lastRun?.rollback?.to === 1 && s.lastRun.result === 'applied' && s;
      });
      expect((await h.cp.getQueue('batch')).run_concurrency).toBe(50);
      expect((await h.status()).rollback).toMatchObject({ run: 1, by: 'alice' });
      await page.waitForFunction(
        () => document.querySelector('#rollback')?.textContent?.includes('Rolled back to run #1'),
        { polling: 'mutation' },
      );
      expect(await page.$eval('#approve-result', (e) => e.textContent)).toMatch(
        /^Rolling back to run #1: its commit is applied per policy/,
      );
      await page.close();
    },
    TEST_BOUND_MS,
  );
});
