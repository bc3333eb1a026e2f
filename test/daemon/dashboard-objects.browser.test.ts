/// <reference lib="dom" />
/**
 * The dashboard's Objects in a real headless Chromium (browser.ts; issue 61 item 8): each object
 * with its sync status (synced, out of sync, held, blocked) and its live state in colour, in a
 * pool → clusters → queues tree, with where it is declared, the commit, and its change; a
 * filter (words, status, kind) over any number of objects, kept by the page's refresh; the
 * embedded control plane's clusters read "health not reported", not as if broken. Every wait is
 * for a condition on the page or the daemon, never for a time.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, launchBrowser, openDashboard, type TestBrowser } from './browser.js';
import { ADMIN_TOKEN, startDashboardDaemon } from './dashboard-harness.js';
import { manifests } from './fixtures.js';
import { startTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';
import { generateScaleModel } from '../../bench/lib/scale.js';
import { writeRepository } from '../../bench/lib/yaml-writer.js';

const suite = browserMissing ? describe.skip : describe;
const title = browserMissing
  ? `the dashboard's objects in headless Chromium (SKIPPED: ${browserMissing})`
  : "the dashboard's objects in headless Chromium";

/** Browser tests drive a whole daemon and a browser on a shared machine: one bound for each. */
const TEST_BOUND_MS = 180_000;

let chrome: TestBrowser;
const stops: (() => Promise<void>)[] = [];

/** A second pool and a queue in `prod`: moving that queue to `dev` is blocked (Q3). */
function withDev(files: Record<string, string>, otherPool: string): Record<string, string> {
  return {
    ...files,
    'pools/dev.yaml': files['pools/prod.yaml']!.replace('name: prod', 'name: dev').replace(
      'acme-prod',
      'acme-dev',
    ),
    'queues/other.yaml': files['queues/batch.yaml']!.replace('name: batch', 'name: other').replace(
      'pool: prod',
      `pool: ${otherPool}`,
    ),
  };
}

suite(title, () => {
  beforeAll(async () => {
    chrome = await launchBrowser();
  }, TEST_BOUND_MS);
  afterAll(async () => {
    for (const stop of stops.splice(0)) await stop();
    await chrome?.close();
  }, TEST_BOUND_MS);

  it(
    "shows each object's status and health in colour, in a tree, with its manifest, commit and change; the filter narrows the list and the refresh keeps it",
    async () => {
      const repo = new TestRepo();
      repo.commit(withDev(manifests(), 'prod'), 'two clusters');
      const h = await startDashboardDaemon({ repo });
      stops.push(h.stop);
      await h.daemon.firstRun;
      expect((await h.status()).outcome).toBe('applied');
      // Applies suspended: the update waits out of sync; the delete is held; the move is blocked.
      const suspend = await fetch(`${h.daemon.url}/suspend`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(suspend.status).toBe(200);
      const commit = h.repo.commit(
        withDev(manifests({ clusters: ['prod-1'], batchRunConcurrency: 70 }), 'dev'),
        'retire prod-2, more batch, move other',
        { replaceAll: true },
      );
      await h.daemon.reconcile('poll');
      expect((await h.status()).lastRun!.result).toBe('frozen');

      const page = await openDashboard(chrome, h.daemon.url);
      const status = async (address: string) =>
        page.$eval(
          `#objects details[id="object-${address}"] summary`,
          (s) =>
            Array.from(s.querySelectorAll('.badge')).map((b) => [
              b.textContent,
              getComputedStyle(b).backgroundColor,
            ]) as [string, string][],
        );
      const [GREEN, YELLOW, RED, GREY] = [
        'rgb(218, 251, 225)',
        'rgb(255, 248, 197)',
        'rgb(255, 235, 233)',
        'rgb(234, 238, 242)',
      ];
      // Status, then the live state as the control plane reports it, each in its colour.
      expect(await status('Cluster/prod-1')).toEqual([
        ['synced', GREEN],
        ['pool prod, enabled, health not reported', GREY],
      ]);
      expect(await status('Cluster/prod-2')).toEqual([
        ['held', YELLOW],
        ['pool prod, enabled, health not reported', GREY],
      ]);
      expect((await status('Queue/batch'))[0]).toEqual(['out of sync', YELLOW]);
      expect((await status('Queue/batch'))[1]![0]).toBe(
        'pool prod, active, 2 selected clusters, health not reported',
      );
      expect((await status('Queue/other'))[0]).toEqual(['blocked', RED]);

      // The tree: the pool, its cluster, the queue routed to it.
      const path = await page.$eval('#objects details[id="object-Queue/batch"]', (d) => {
        const up: string[] = [];
        for (let li = d.closest('li'); li; li = li.parentElement!.closest('li'))
          up.push(li.querySelector(':scope > details code.address, :scope > span')!.textContent!);
        return up;
      });
      expect(path).toEqual(['Queue/batch', 'Cluster/prod-1', 'ClusterPool/prod']);

      // Opened: where it is declared, at which commit, and its change as the plan text says it.
      await page.$eval('#objects details[id="object-Queue/batch"]', (d) => {
        (d as HTMLDetailsElement).open = true;
      });
      const batch = await text(page, '#objects details[id="object-Queue/batch"]');
      expect(batch).toContain(`queues/batch.yaml:1 @ ${commit.slice(0, 12)}`);
      expect(batch).toContain('run_concurrency: 50 → 70');

      // The filter: words of the address, then a status; the refresh keeps it.
      await page.locator('#objects input[name="q"]').fill('batch');
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      expect(new URL(page.url()).searchParams.get('q')).toBe('batch');
      expect(await addresses(page)).toEqual(['Queue/batch']);
      await page.select('#objects select[name="status"]', 'held');
      await page.locator('#objects input[name="q"]').fill('');
      await Promise.all([page.waitForNavigation(), page.click('#objects form button')]);
      expect(await addresses(page)).toEqual(['Cluster/prod-2', 'Queue/prod-2']);
      await waitForRefresh(page);
      await h.daemon.reconcile('drift');
      await page.waitForFunction(
        () => !document.querySelector('#live')?.textContent?.includes('As run #3 found'),
        { polling: 'mutation' },
      );
      expect(await addresses(page)).toEqual(['Cluster/prod-2', 'Queue/prod-2']);
      await page.close();
    },
    TEST_BOUND_MS,
  );

  it(
    'searches 10,000 objects: any one is found, the list goes a page at a time',
    async () => {
      const folder = join(tempDir(), 'repo');
      const files = manifests({ clusters: ['prod-1'] });
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(join(folder, path, '..'), { recursive: true });
        writeFileSync(join(folder, path), content);
      }
      const queue = (i: number) =>
        files['queues/batch.yaml']!.replace('name: batch', `name: q-${String(i).padStart(5, '0')}`);
      // Ten files of a thousand (a file is at most 1 MiB).
      for (let f = 0; f < 10; f++)
        writeFileSync(
          join(folder, `queues/many-${f}.yaml`),
          Array.from({ length: 1000 }, (_, i) => queue(f * 1000 + i)).join('---\n'),
        );
      // Policy none: planned only, 10,000 queues out of sync (nothing to wait for).
      const h = await startTestDaemon({
        flags: { watch: folder, 'watch-debounce': '1h', policy: 'none' },
        logLevel: 'silent',
      });
      stops.push(h.stop);
      await h.daemon.firstRun;
      expect(h.daemon.status().counts?.create).toBeGreaterThan(10_000);

      const page = await chrome.browser.newPage();
      page.setDefaultTimeout(0);
      await page.goto(`${h.daemon.url}/`, { waitUntil: 'load' });
      expect(await text(page, '#matched')).toMatch(/^1–200 of 10,?00\d matching objects/);
      expect(await text(page, '#objects')).toMatch(/out of sync 10,?00\d/);
      await page.locator('#objects input[name="q"]').fill('q-09999');
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      expect(await addresses(page)).toEqual(['Queue/q-09999']);
      // The next page of all of them.
      await page.goto(`${h.daemon.url}/?offset=9800#objects`, { waitUntil: 'load' });
      expect(await text(page, '#matched')).toMatch(/^9801–10,?000 of/);
      await page.close();
    },
    TEST_BOUND_MS,
  );

  it(
    'at 10,000 objects (the scale organisation, 344 warnings) the Objects view is one click from the top (issue 78)',
    async () => {
      const folder = join(tempDir(), 'scale');
      await writeRepository(generateScaleModel(10_000, 1), folder);
      const h = await startTestDaemon({
        flags: { watch: folder, 'watch-debounce': '1h', policy: 'none' },
        logLevel: 'silent',
      });
      stops.push(h.stop);
      await h.daemon.firstRun;
      expect(h.daemon.status().warnings).toHaveLength(344);

      const page = await chrome.browser.newPage();
      page.setDefaultTimeout(0);
      await page.setViewport({ width: 1280, height: 900 });
      await page.goto(`${h.daemon.url}/`, { waitUntil: 'load' });
      const top = (selector: string) => page.$eval(selector, (e) => e.getBoundingClientRect().top);
      expect(await page.evaluate(() => window.scrollY)).toBe(0);
      // It was 18,500 px down (24,300 here before the runs' long plans were folded); now the
      // page above it is a screen or two, and from the top it is one click away anyway.
      expect(await top('#objects')).toBeLessThan(3000);
      const plan = await page.$eval('#runs details.plan', (d) => [
        (d as HTMLDetailsElement).open,
        d.querySelector('summary')!.textContent,
      ]);
      expect(plan).toEqual([
        false,
        expect.stringMatching(/^The plan \([\d,]+ lines\): Plan: 10000 to create/),
      ]);
      const link = await top('nav.jump a[href="#objects"]');
      expect(link).toBeGreaterThanOrEqual(0);
      expect(link).toBeLessThan(900);
      await page.locator('nav.jump a[href="#objects"]').click();
      await page.waitForFunction(() => location.hash === '#objects');
      const shown = await top('#objects');
      expect(shown).toBeGreaterThanOrEqual(0);
      expect(shown).toBeLessThan(200);
      expect(await text(page, '#matched')).toMatch(/of 1[01],?\d{3} matching objects/);
      // The bar stays at the top of the window there: the next section is one click too.
      expect(await top('nav.jump')).toBeGreaterThanOrEqual(0);
      expect(await top('nav.jump')).toBeLessThan(10);
      await page.locator('nav.jump a[href="#problems"]').click();
      await page.waitForFunction(() => location.hash === '#problems');
      expect(await top('#problems')).toBeLessThan(200);
      // The 344 warnings: two closed lines, one per code.
      const folded = await page.$$eval('#problems details.warnings', (all) =>
        all.map((d) => [(d as HTMLDetailsElement).open, d.querySelector('summary')!.textContent]),
      );
      expect(folded).toEqual([
        [false, expect.stringMatching(/^warning QUEUE_NO_HEALTHY_CLUSTER × 164: /)],
        [false, expect.stringMatching(/^warning QUEUE_ROUTES_NOWHERE × 180: /)],
      ]);
      expect(await top('#runs')).toBeLessThan(900 + 400);
      await page.close();
    },
    TEST_BOUND_MS,
  );
});
/** The page's script ran and its refresh has answered once. */
async function waitForRefresh(page: Page): Promise<void> {
  await page.waitForFunction(
    () => document.getElementById('live-state')?.textContent?.startsWith('live, checked') === true,
    { polling: 'mutation' },
  );
}

async function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (e) => (e as HTMLElement).innerText);
}

/** The objects listed, each once, in page order. */
async function addresses(page: Page): Promise<string[]> {
  const all = await page.$$eval('#objects code.address', (c) => c.map((e) => e.textContent!));
  return [...new Set(all)];
}
