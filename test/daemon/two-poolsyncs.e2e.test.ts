/**
 * Two daemons on two branches of one repository, one control plane (docs/daemon.md, Two
 * poolsyncs on one control plane): each puts Queue/batch back to its branch's value. That is
 * not drift (a change made outside Git): each run says which poolsync wrote the object last
 * (branch, commit, machine, from the inventory's `appliers`), in the log, `/status` warnings and
 * `poolsync plan`, and counts no drift. In process: a real Git repository with two branches, two
 * daemons with state folders of their own, the control plane over its REST API.
 */
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { cleanup } from '../support/cleanup.js';
import { runCli } from '../support/cli.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon } from './harness.js';
import { git, TestRepo } from './helpers.js';

const WARNING = 'APPLIED_BY_ANOTHER_POOLSYNC';

const statusOf = async (url: string) =>
  (await (await fetch(`${url}/status`)).json()) as DaemonStatus;

describe('two poolsyncs applying one repository to one control plane', () => {
  it('each run names the other as the last writer, not drift, and keeps to its own branch', async () => {
    const served = await servedControlPlane();
    const repo = new TestRepo();
    const main = repo.commit(manifests({ batchRunConcurrency: 300 }));
    // Branch alt, one commit on from main, which stays where it was.
    const alt = repo.commit(manifests({ batchRunConcurrency: 10 }), 'alt');
    git(repo.work, 'push', '--quiet', 'origin', `${alt}:refs/heads/alt`);
    git(repo.work, 'push', '--quiet', '--force', 'origin', `${main}:refs/heads/main`);
    git(repo.work, 'reset', '--quiet', '--hard', main);

    const daemon = async (flags: Record<string, unknown>) => {
      const h = await startOwnTestDaemon({
        repo,
        flags: { 'control-plane': served.url, ...flags },
        logLevel: 'info',
      });
      cleanup.add(h.stop);
      await h.daemon.firstRun;
      return h;
    };
    const other = new HttpControlPlane(served.url);
    cleanup.add(() => other.close());
    const concurrency = async () => (await other.getQueue('batch')).run_concurrency;

    const onMain = await daemon({});
    expect(await concurrency()).toBe(300);
    const onAlt = await daemon({ branch: 'alt' });
    expect((await statusOf(onAlt.daemon.url)).lastRun?.result).toBe('applied');
    expect(await concurrency()).toBe(10);

    // The main daemon's drift run: alt's write, not a change by hand.
    onMain.logs.length = 0;
    await onMain.daemon.reconcile('drift');
    let s = await statusOf(onMain.daemon.url);
    const byAlt = `Queue/batch was last applied by another poolsync (branch alt, commit ${alt.slice(0, 8)}, on ${hostname()} at `;
    expect(s.warnings).toEqual([
      expect.objectContaining({ code: WARNING, address: 'Queue/batch' }),
    ]);
    expect(s.warnings[0]!.message).toContain(byAlt);
    expect(s.warnings[0]!.message).toContain(
      'not changed by hand: two poolsyncs apply this repository to one control plane',
    );
    expect(s.lastDrift).toBeNull();
    expect(s.lastRun?.result).toBe('applied');
    const logged = onMain.logs.map((l) => JSON.parse(l) as { msg: string });
    expect(logged.some((l) => l.msg.startsWith(byAlt))).toBe(true);
    expect(logged.some((l) => l.msg.startsWith('drift:'))).toBe(false);
    expect(await concurrency()).toBe(300);

    // `poolsync plan` in a clone of main on this machine is that poolsync too: it says the same.
    await onAlt.daemon.reconcile('drift');
    s = await statusOf(onAlt.daemon.url);
    expect(s.warnings[0]?.message).toContain(
      `Queue/batch was last applied by another poolsync (branch main, commit ${main.slice(0, 8)}, on ${hostname()} at `,
    );
    expect(s.lastDrift).toBeNull();
    const plan = await runCli(['plan', repo.work, '--control-plane', served.url]);
    expect(plan.stdout + plan.stderr).toContain(byAlt);
  });
});
