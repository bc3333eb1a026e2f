/// <reference lib="dom" />
/**
 * The dashboard in a real headless Chromium (browser.ts): a daemon that applied a commit,
 * corrected drift and holds a cluster delete for approval; the page shows all three, and
 * approving from the page (name + admin token, the Approve button) applies exactly the held
 * changes and nothing else. Hostile object names (read from the control plane, and in a
 * manifest) render as text: no element, no script, no dialog. Every wait is for a condition
 * on the page or the daemon, never for a time.
 *
 * POOLSYNC_UPDATE_SCREENSHOT=1 writes the screenshot docs/daemon.md shows (docs/dashboard.png).
 */
import { copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/until.js';
import { readLiveState } from '../../src/controlplane/types.js';
import type { LiveState } from '../../src/model/live.js';
import { browserMissing, launchBrowser, openDashboard, type TestBrowser } from './browser.js';
import { ADMIN_TOKEN, startDashboardDaemon, type DashboardHarness } from './dashboard-harness.js';
import { manifests, setRunConcurrency } from './fixtures.js';
import { TestRepo } from './helpers.js';
import { tempFolder } from '../support/temp-folder.js';
import { liveQueue } from '../support/builders.js';

const suite = browserMissing ? describe.skip : describe;
const title = browserMissing
  ? `the dashboard in headless Chromium (SKIPPED: ${browserMissing})`
  : 'the dashboard in headless Chromium';

/** Browser tests drive a whole daemon and a browser on a shared machine: one bound for each. */
const TEST_BOUND_MS = 180_000;

let chrome: TestBrowser;
const harnesses: DashboardHarness[] = [];

suite(title, () => {
  beforeAll(async () => {
    chrome = await launchBrowser();
  }, TEST_BOUND_MS);
  afterAll(async () => {
    for (const h of harnesses.splice(0)) await h.stop();
    await chrome?.close();
  }, TEST_BOUND_MS);

  it(
    'shows a run, a drift and a held change; approving it on the page applies exactly that change',
    async () => {
      const repo = new TestRepo();
      repo.commit(manifests({ clusters: ['prod-1', 'prod-2'] }), 'two clusters');
      const h = await startDashboardDaemon({ repo });
      harnesses.push(h);
      await h.daemon.firstRun;
      expect((await h.status()).outcome).toBe('applied');

      // Drift: someone lowers the queue's concurrency by hand; the drift run puts it back.
      await setRunConcurrency(h.cp, 'batch', 7);
      await h.daemon.reconcile('drift');
      expect((await h.cp.getQueue('batch')).run_concurrency).toBe(50);

      // The repository drops prod-2: policy safe holds the delete.
      h.repo.commit(manifests({ clusters: ['prod-1'] }), 'retire prod-2', { replaceAll: true });
      await h.daemon.reconcile('poll');
      const held = (await h.status()).approval!.pending!;
      expect(held.changes.map((c) => `${c.action} ${c.address}`)).toContain(
        'delete Cluster/prod-2',
      );

      const page = await openDashboard(chrome, h.daemon.url);
      await screenshot(page);
      await page.$$eval('details', (all) => all.forEach((d) => (d.open = true)));
      const live = await text(page, '#live');
      // A run: the plan of the first run, with the terminal's symbols and colours.
      const runs = await text(page, '#runs');
      expect(runs).toMatch(/#1\b/);
      expect(
        await page.$$eval('#runs pre.plan span.t-green', (spans) =>
          spans.map((s) => s.textContent?.trim()),
        ),
      ).toContain('+');
      expect(runs).toContain('Cluster/prod-1');
      expect(runs).toMatch(/fetch \d+ ms/);
      // The drift, and that it was corrected.
      expect(await text(page, '#drift')).toMatch(/~\s+Queue\/batch \(update\)\s+corrected/);
      // The held change, with its fingerprint on the button.
      expect(await text(page, '#held')).toContain('Cluster/prod-2');
      expect(await page.$eval('button.approve', (b) => b.getAttribute('data-fingerprint'))).toBe(
        held.fingerprint,
      );
      expect(live).toContain(held.fingerprint);

      const before = await readLiveState(h.cp);
      await page.locator('#approver').fill('alice');
      await page.locator('#admin-token').fill(ADMIN_TOKEN);
      await page.locator('button.approve').click();
      await page.waitForSelector('#approve-result.ok');
      // The page updates itself: the approved run shows up without a reload.
      await page.waitForFunction(
        () =>
          document.querySelector('#outcome')?.textContent?.includes('applied') === true &&
          document.querySelector('#held')?.textContent?.includes('Last approval applied') === true,
        { polling: 'mutation' },
      );
      expect(await text(page, '#held')).toContain('approved by alice (api');
      expect(await text(page, '#held')).toContain('Nothing is held');

      const after = await readLiveState(h.cp);
      expect(changedAddresses(before, after)).toEqual(held.changes.map((c) => c.address).sort());
      const st = await h.status();
      expect(st.approval!.lastApplied!.fingerprint).toBe(held.fingerprint);
      expect(st.approval!.lastApplied!.via).toBe('api');
      expect(st.lastRun!.result).toBe('applied');
      // Sync now: a new commit, fetched and applied at once from the page (POST /reconcile).
      const runsBefore = st.lastRun!.id;
      h.repo.commit(manifests({ clusters: ['prod-1'], batchRunConcurrency: 75 }), 'more batch', {
        replaceAll: true,
      });
      await page.locator('#sync').click();
      await page.waitForSelector('#approve-result.ok');
      await until('the run Sync now asked for', async () => {
        const s = await h.status();
        return s.lastRun!.id > runsBefore && s.lastRun!.result === 'applied' && s;
      });
      // Nothing the page showed or sent left the token in it.
      expect(await page.content()).not.toContain(ADMIN_TOKEN.slice(0, 12) + 'x');
      expect(await text(page, '#live')).not.toContain(ADMIN_TOKEN);
      await page.close();
    },
    TEST_BOUND_MS,
  );

  it(
    'renders hostile object names inert, and is readable without JavaScript',
    async () => {
      const hostileQueue = '<img src=x onerror="window.__pwned=1">';
      const hostileManifest = '<script>window.__pwned=2</script>';
      const repo = new TestRepo();
      repo.commit(manifests({ clusters: ['prod-1'], prune: false }), 'one cluster');
      const h = await startDashboardDaemon({
        repo,
        deps: {
          // A control plane that returns an object whose name is markup (read, never managed).
          pipeline: {
            readLiveState: async (cp) => {
              const live = await readLiveState(cp);
              return {
                ...live,
                queues: [...live.queues, hostile(hostileQueue)].sort((a, b) =>
                  a.name.localeCompare(b.name),
                ),
              };
            },
          },
        },
      });
      harnesses.push(h);
      await h.daemon.firstRun;
      expect((await h.status()).outcome).toBe('applied');
      const files = manifests({ clusters: ['prod-1'], prune: false });
      files['queues/hostile.yaml'] = [
        'apiVersion: poolsync/v1',
        'kind: Queue',
        'metadata:',
        `  name: ${JSON.stringify(hostileManifest)}`,
        'spec:',
        '  pool: prod',
        '  clusters: ["*"]',
        '  run_concurrency: 1',
        '  action_concurrency: 1',
        '',
      ].join('\n');
      h.repo.commit(files, 'a hostile name');
      await h.daemon.reconcile('poll');
      expect((await h.status()).outcome).toBe('invalid');

      const page = await openDashboard(chrome, h.daemon.url);
      const dialogs: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      // The unmanaged queue in run #1's plan and the manifest's name in the validation error.
      await page.$$eval('details', (all) => all.forEach((d) => (d.open = true)));
      const runs = await text(page, '#runs');
      expect(runs).toContain(`Queue/${hostileQueue}`);
      expect(await text(page, '#problems')).toContain(hostileManifest);
      expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await page.$$('#live img, #live script')).toHaveLength(0);
      expect(await page.$$eval('script', (s) => s.length)).toBe(1);
      expect(dialogs).toEqual([]);

      // Without JavaScript: the same facts, rendered by the server alone.
      const plain = await h.daemon.status();
      await page.setJavaScriptEnabled(false);
      await page.goto(`${h.daemon.url}/`, { waitUntil: 'load' });
      expect(await page.evaluate(() => 1).catch(() => 'no js')).toBeDefined();
      const noJs = await text(page, '#live');
      expect(noJs).toContain(`#${plain.runs[0]!.id}`);
      expect(noJs).toContain(hostileManifest);
      expect(await page.$$('#live img, #live script')).toHaveLength(0);
      await page.close();
    },
    TEST_BOUND_MS,
  );
});

/** A page on the daemon, with the CSP checked: any violation (our own script or style) fails. */
async function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (e) => (e as HTMLElement).innerText);
}

async function screenshot(page: Page): Promise<void> {
  const file = join(tempFolder('poolsync-dashboard-'), 'dashboard.png');
  await page.screenshot({ path: file as `${string}.png`, fullPage: true });
  if (process.env.POOLSYNC_UPDATE_SCREENSHOT === '1') {
    copyFileSync(file, resolve(__dirname, '../../docs/dashboard.png'));
  }
}

const hostile = (name: string) => liveQueue(name, { pool: 'prod' });

/**
 * Addresses whose managed fields differ between two reads of the control plane (what the
 * control plane derives, as a pool's members or a queue's available clusters, left out).
 */
function changedAddresses(before: LiveState, after: LiveState): string[] {
  const index = (s: LiveState) => {
    const m = new Map<string, string>();
    for (const p of s.pools) m.set(`ClusterPool/${p.name}`, JSON.stringify(p.contract));
    for (const c of s.clusters) m.set(`Cluster/${c.name}`, JSON.stringify([c.pool, c.enabled]));
    for (const q of s.queues) {
      const { available_clusters: _derived, state: _state, ...spec } = q;
      m.set(`Queue/${q.name}`, JSON.stringify(spec));
    }
    for (const a of s.assignments) m.set(`PoolAssignment/${JSON.stringify(a)}`, '');
    return m;
  };
  const a = index(before);
  const b = index(after);
  const changed = new Set<string>();
  for (const [k, v] of a) if (b.get(k) !== v) changed.add(k);
  for (const k of b.keys()) if (!a.has(k)) changed.add(k);
  return [...changed].sort();
}
