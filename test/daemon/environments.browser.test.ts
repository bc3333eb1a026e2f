/// <reference lib="dom" />
/**
 * The dashboard's Approve and Roll back buttons with environments (docs/environments.md, The
 * daemon) in a real headless Chromium (browser.ts): dev and prod hold the same changes (one
 * fingerprint), so an approval must name its environment; prod's Approve applies them in prod
 * only, and prod's "Roll back to run #1" rolls back prod only (a rollback naming no environment
 * is refused). Every wait is for a condition, never for a time.
 */
import type { Page } from 'puppeteer-core';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { twoSafeEnvironments } from '../environments/helpers.js';
import { cleanup } from '../support/cleanup.js';
import { until } from '../support/until.js';
import { browserMissing, launchBrowser, openDashboard, type TestBrowser } from './browser.js';
import { ADMIN_TOKEN } from './dashboard-harness.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

const suite = browserMissing ? describe.skip : describe;
const title = browserMissing
  ? `the Approve and Roll back buttons of environments in headless Chromium (SKIPPED: ${browserMissing})`
  : 'the Approve and Roll back buttons of environments in headless Chromium';
const TEST_BOUND_MS = 180_000;

let chrome: TestBrowser | undefined;

suite(title, () => {
  afterAll(() => chrome?.close(), TEST_BOUND_MS);

  it(
    "each environment's buttons act on it: Approve in prod applies prod's held changes, Roll back in prod rolls prod back",
    async () => {
      chrome = await launchBrowser();
      const state = tempDir();
      const repo = new TestRepo();
      cleanup.add(() => repo.cleanup());
      repo.commit(twoSafeEnvironments(state));
      const started = await startOwnTestDaemon({
        repo,
        state,
        env: { POOLSYNC_ADMIN_TOKEN: ADMIN_TOKEN },
        logLevel: 'silent',
      });
      cleanup.add(() => started.stop());
      const { daemon } = started;
      await daemon.firstRun;
      const environments = async () =>
        ((await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus).environments!;
      // Both prune the same cluster, as it is in both: the same held changes, one fingerprint.
      repo.commit({ 'base/shared.yaml': null });
      await daemon.reconcile('webhook');
      const held = await environments();
      const fingerprint = held.prod!.approval!.pending!.fingerprint;
      expect(held.dev!.approval!.pending!.fingerprint).toBe(fingerprint);

      const page = await openDashboard(chrome, daemon.url);
      await page.$$eval('details', (all) => all.forEach((d) => (d.open = true)));
      await page.locator('#approver').fill('alice');
      await page.locator('#admin-token').fill(ADMIN_TOKEN);
      await page.locator('#env-prod button.approve').click();
      expect(await answer(page)).toBe(
        `ok: Approved ${fingerprint} as alice: the daemon applies exactly these changes now.`,
      );
      const approved = await until('prod applied the approved changes', async () => {
        const envs = await environments();
        return envs.prod!.lastRun?.approvedBy === 'alice' && envs;
      });
      expect(approved.dev!.approval!.pending!.fingerprint).toBe(fingerprint);
      expect(await clusters(`${state}/prod.json`)).not.toContain('c-shared');
      expect(await clusters(`${state}/dev.json`)).toContain('c-shared');

      // prod's run #1 (its first apply, which made c-shared): prod's button, prod's rollback.
      // Pressed once the page shows the approved run: its refresh moves run #1's button down,
      // and a click located before it and sent after lands elsewhere (no answer ever comes).
      await page.waitForFunction(
        (newest) => document.querySelector('#env-prod details.run')?.id === newest,
        { polling: 'mutation' },
        `env-prod-run-${approved.prod!.lastRun!.id}`,
      );
      await page.$$eval('details', (all) => all.forEach((d) => (d.open = true)));
      await page.locator('#env-prod button.rollback[data-run="1"]').click();
      expect(await answer(page)).toMatch(/^ok: Rolling back to run #1: its commit is applied/);
      const rolledBack = await until('prod rolled back to run #1', async () => {
        const envs = await environments();
        const run = envs.prod!.lastRun;
        return run?.rollback?.to === 1 && run.result === 'applied' && envs;
      });
      expect(rolledBack.prod!.rollback).toMatchObject({ run: 1, by: 'alice' });
      expect(rolledBack.dev!.rollback ?? null).toBeNull();
      expect(await clusters(`${state}/prod.json`)).toContain('c-shared');
      await page.close();
    },
    TEST_BOUND_MS,
  );
});

/** What the page said of the last button pressed, once it said it (`ok: …` or `bad: …`). */
async function answer(page: Page): Promise<string> {
  const said = await page.waitForFunction(
    () => {
      const e = document.getElementById('approve-result')!;
      return e.className !== '' && `${e.className}: ${e.textContent}`;
    },
    { polling: 'mutation' },
  );
  const text = (await said.jsonValue()) as string;
  // Cleared for the next button, so its answer is waited for, not this one read again.
  await page.$eval('#approve-result', (e) => {
    e.className = '';
    e.textContent = '';
  });
  return text;
}

/** The clusters of a `file:` state, read between runs. */
async function clusters(path: string): Promise<string[]> {
  const cp = await EmbeddedControlPlane.open({ path });
  try {
    return (await cp.listClusters()).map((c) => c.name);
  } finally {
    await cp.close();
  }
}
