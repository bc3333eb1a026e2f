/**
 * A hand-tester's finds around a cluster delete, through the CLI (in process) against the embedded
 * control plane served with simulated in-flight work (`control-plane serve --simulate`):
 *
 * - C9: a queue retired (`clusters: []`) by an earlier apply, or by an apply stopped during its
 *   wait, still has runs in flight on the cluster; metrics are per queue (Q7), so the delete
 *   waits on it (only a queue whose live selector still named the cluster was watched, and the
 *   cluster was deleted under its runs);
 * - C8 on a queue the repository does not declare is a side effect of the delete, counted; a
 *   deleted cluster's co-named queue it leaves retired is said so, and is not reported again; a
 *   hand-made queue it empties is reported unmanaged (plan.md, "Selectors and deleted clusters");
 * - C9 when a wait ends: a queue the plan repointed away, pointed back by another client during
 *   the wait, refuses the delete (the plan's `before` of it counted as shown); a wait cut short
 *   (timed out, or the apply killed) is watched again by the next apply (the repointed queue's runs
 *   may be on the cluster, and its re-plan watched only the co-named queue);
 * - a live cluster the repository does not declare: a Queue of its name is told to take another
 *   name (not a new cluster name), and `--replace` of it is told it is live, not "did you mean".
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { countPlan } from '../../src/plan/counts.js';
import { interruptedWhen, runInProcess } from '../support/memory-io.js';
import { startCli } from '../support/cli.js';
import { retuneQueue } from '../support/retune-queue.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { poolContract } from '../support/builders.js';

const SERVING: RepoSpec = {
  pools: ['p'],
  clusters: { c1: 'p', c3: 'p' },
  queues: { q3: { pool: 'p', clusters: ['c3'] } },
};
const RETIRED: RepoSpec = { ...SERVING, queues: { q3: { pool: 'p', clusters: [] } } };
const C3_GONE: RepoSpec = { ...RETIRED, clusters: { c1: 'p' } };
const BUSY = { runs_in_flight: 2, actions_in_flight: 3 };
const IDLE = { runs_in_flight: 0, actions_in_flight: 0 };
const STILL_BUSY =
  /WAIT_TIMEOUT \(C9\): queues still busy after 1(\.0)?s: q3 \(2 runs, 3 actions in flight\); the cluster was not deleted/;

async function setup(spec: RepoSpec = SERVING) {
  const root = await tempDir('poolsync-cluster-delete-');
  const repo = await writeRepo(join(root, 'repo'), spec);
  const served = await servedControlPlane({ port: 0, simulate: true });
  const poolsync = (...args: string[]) =>
    runInProcess([...args, '--control-plane', served.url], { NO_COLOR: '1' });
  const apply = (...args: string[]) =>
    poolsync('apply', repo, '--auto-approve', '--state-dir', join(root, 'st'), ...args);
  const planJson = async () => {
    const r = await poolsync('plan', repo, '--output', 'json');
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as Plan;
  };
  const clusters = async () => (await served.embedded.listClusters()).map((c) => c.name);
  expect((await apply()).code).toBe(0);
  return { root, repo, served, poolsync, apply, planJson, clusters };
}

/** The steps of a plan as `op target args.queues`. */
const stepsOf = (plan: Plan) =>
  plan.steps.map((s) => {
    const queues = (s.args as { queues?: string[] }).queues;
    return `${s.op} ${s.target}${queues ? ` ${queues.join(',')}` : ''}`;
  });

const RECORDED = 'watched by an earlier apply that stopped waiting';

/** The plan waits on q3 (busy) before it deletes c3, and an apply gives up waiting: c3 stays. */
async function expectDeleteWaitsOnQ3(
  t: Awaited<ReturnType<typeof setup>>,
  why = 'retired in its pool',
): Promise<void> {
  expect(stepsOf(await t.planJson())).toEqual([
    'wait_idle Cluster/c3 c3,q3',
    'delete_cluster Cluster/c3',
  ]);
  const waited = await t.apply('--wait-timeout', '1s');
  expect(waited.code).toBe(1);
  expect(waited.stdout).toMatch(STILL_BUSY);
  expect(waited.stdout).toContain(
    `Cluster/c3: Waiting for in-flight work to finish on queues c3 (routed only to clusters this plan takes away), q3 (${why})...`,
  );
  expect(await t.clusters()).toEqual(['c1', 'c3']);
}

describe('a cluster delete waits on the queues retired from it (C9, Q7)', () => {
  it('retired by an earlier apply: the delete waits until its runs are done', async () => {
    const t = await setup();
    await t.served.embedded.setQueueActivity('q3', BUSY);
    await writeRepo(t.repo, RETIRED);
    expect((await t.apply()).code).toBe(0);
    await writeRepo(t.repo, C3_GONE);
    // Not c1's co-named queue: it only ever routed to c1 (Q4).
    await expectDeleteWaitsOnQ3(t);

    await t.served.embedded.setQueueActivity('q3', IDLE);
    expect((await t.apply()).code).toBe(0);
    expect(await t.clusters()).toEqual(['c1']);
  });

  it('retired and deleted in one apply stopped during its wait (Ctrl-C): the apply run again waits too', async () => {
    const t = await setup();
    await t.served.embedded.setQueueActivity('q3', BUSY);
    await writeRepo(t.repo, C3_GONE);
    const stopped = await interruptedWhen('still waiting: queue q3 has 2 runs', applyArgs(t));
    expect(stopped.sent).toBe(true);
    expect(stopped.code).toBe(1);
    // The repointing landed; the wait and the delete did not.
    expect((await t.served.embedded.getQueue('q3')).clusters).toEqual([]);
    expect(await t.clusters()).toEqual(['c1', 'c3']);

    // Retired now, and recorded: the first reason is said.
    await expectDeleteWaitsOnQ3(t, RECORDED);
  });
});

/** c3 and c1 serve `crit`; the repository then deletes c3 and repoints `crit` to c1 alone. */
const SHARED: RepoSpec = {
  pools: ['p'],
  clusters: { c1: 'p', c3: 'p' },
  queues: { crit: { pool: 'p', clusters: ['c1', 'c3'] } },
};
const SHARED_C3_GONE: RepoSpec = {
  pools: ['p'],
  clusters: { c1: 'p' },
  queues: { crit: { pool: 'p', clusters: ['c1'] } },
};
/** q3 routes only to c3; the repository then deletes c3 and repoints q3 to c1. */
const Q3_REPOINTED: RepoSpec = {
  pools: ['p'],
  clusters: { c1: 'p' },
  queues: { q3: { pool: 'p', clusters: ['c1'] } },
};

/** `poolsync apply` of the test's repository to its served control plane, with `args`. */
const applyArgs = (t: Awaited<ReturnType<typeof setup>>, ...args: string[]) => [
  'apply',
  t.repo,
  '--auto-approve',
  '--state-dir',
  join(t.root, 'st'),
  '--control-plane',
  t.served.url,
  ...args,
];

/** The apply as a child process (to watch its output, or kill it). */
const applyProcess = (t: Awaited<ReturnType<typeof setup>>, ...args: string[]) =>
  startCli(applyArgs(t, ...args));

describe('a cluster delete when its wait ends (C9)', () => {
  it('a queue the plan repointed away, pointed back only to the cluster during the wait, refuses the delete', async () => {
    const t = await setup(SHARED);
    await t.served.embedded.setQueueActivity('c3', BUSY);
    await writeRepo(t.repo, SHARED_C3_GONE);
    const apply = applyProcess(t);
    await apply.waitForOutput((out) => out.includes('Waiting for in-flight work to finish on'));
    // Another client points crit back at c3 alone, and work starts there.
    expect((await t.served.embedded.getQueue('crit')).clusters).toEqual(['c1']);
    await retuneQueue(t.served.embedded, 'crit', { clusters: ['c3'] });
    await t.served.embedded.setQueueActivity('crit', BUSY);
    await t.served.embedded.setQueueActivity('c3', IDLE);
    const done = await apply.done;
    expect(done.code).toBe(1);
    expect(done.stdout).toContain(
      'CONFLICT: Cluster/c3: Queue/crit routes to it now and the plan did not show it (changed since the plan, C9: its work would be lost); nothing was deleted',
    );
    expect(await t.clusters()).toEqual(['c1', 'c3']);
    expect((await t.served.embedded.getQueue('crit')).clusters).toEqual(['c3']);
  });

  it('a wait the apply was killed in (kill -9), then one timed out: each next apply watches the queue it repointed', async () => {
    const t = await setup();
    await t.served.embedded.setQueueActivity('q3', BUSY);
    await writeRepo(t.repo, Q3_REPOINTED);
    const killed = applyProcess(t);
    await killed.waitForOutput((out) => out.includes('Waiting for in-flight work to finish on'));
    killed.child.kill('SIGKILL');
    expect((await killed.done).signal).toBe('SIGKILL');
    // The repointing landed; the wait and the delete did not.
    expect((await t.served.embedded.getQueue('q3')).clusters).toEqual(['c1']);
    expect(await t.clusters()).toEqual(['c1', 'c3']);

    // q3 routes to c1 alone now: only the record of the cut wait says its runs may be on c3.
    await expectDeleteWaitsOnQ3(t, RECORDED);
    // The timed-out apply left the record as it was: the next one waits on q3 again.
    await expectDeleteWaitsOnQ3(t, RECORDED);

    await t.served.embedded.setQueueActivity('q3', IDLE);
    expect((await t.apply()).code).toBe(0);
    expect(await t.clusters()).toEqual(['c1']);
    // The delete is done: its record goes, and nothing more is waited on.
    const inventory = await t.served.embedded.inventory.readInventory();
    expect(inventory?.cluster_waits).toBeUndefined();
  });

  it('a wait that timed out: the next apply watches the queue it repointed', async () => {
    const t = await setup();
    await t.served.embedded.setQueueActivity('q3', BUSY);
    await writeRepo(t.repo, Q3_REPOINTED);
    const timedOut = await t.apply('--wait-timeout', '1s');
    expect(timedOut.code).toBe(1);
    expect(timedOut.stdout).toMatch(STILL_BUSY);
    expect((await t.served.embedded.getQueue('q3')).clusters).toEqual(['c1']);
    await expectDeleteWaitsOnQ3(t, RECORDED);
  });
});

describe('queues the repository does not declare, and a cluster delete (C8)', () => {
  it('a changed one is a counted side effect of the delete; one left retired is said so, then not reported again; a hand-made one is reported', async () => {
    const t = await setup(RETIRED);
    const by = { run_concurrency: 0, action_concurrency: 0, pool: 'p' };
    await t.served.embedded.createQueue({ name: 'hq', clusters: ['c3'], ...by });
    await t.served.embedded.createQueue({ name: 'hq2', clusters: ['c1', 'c3'], ...by });
    await t.served.embedded.createQueue({ name: 'hq0', clusters: [], ...by });
    await writeRepo(t.repo, C3_GONE);

    const plan = await t.poolsync('plan', t.repo);
    expect(plan.code).toBe(0);
    const retired =
      '# Cluster/c3 is deleted: its name leaves the selector (C8); the queue stays, retired, and later plans do not report it (the repository does not declare it)';
    // hq was made by hand: emptied all the same, but not poolsync's to retire.
    expect(plan.stdout).toContain(
      '  ~ Queue/hq\n      # Cluster/c3 is deleted: its name leaves the selector (C8)\n      clusters: ["c3"] → []\n',
    );
    expect(plan.stdout).toContain(`  ~ Queue/c3\n      ${retired}\n`);
    expect(plan.stdout).toContain(
      '  ~ Queue/hq2\n      # Cluster/c3 is deleted: its name leaves the selector (C8)\n      clusters: ["c1", "c3"] → ["c1"]\n',
    );
    // hq0 was made by hand with an empty selector: reported, as every live object poolsync does not manage.
    expect(plan.stdout).toContain('  ? Queue/hq0  (unmanaged)\n');
    expect(plan.stdout).toContain(
      'Plan: 0 to create, 0 to update, 0 to replace, 1 to delete, 0 blocked.\n3 more changes follow from these steps (marked #)',
    );
    expect(countPlan(await t.planJson())).toMatchObject({ delete: 1, side_effects: 3 });
    const applied = await t.apply();
    expect(applied.stdout).toContain(
      'Apply complete: 0 created, 0 updated, 0 replaced, 1 deleted; 0 blocked; 3 more changes made by the control plane itself',
    );

    // Retired: the co-named queue left behind; the hand-made ones are reported, never touched.
    const next = await t.poolsync('plan', t.repo);
    expect(next.stdout).toContain('No changes.');
    expect(next.stdout).not.toMatch(/Queue\/c3\b/);
    expect(next.stdout).toContain('? Queue/hq0  (unmanaged)');
    expect(next.stdout).toContain('? Queue/hq  (unmanaged)');
    expect(next.stdout).toContain('? Queue/hq2  (unmanaged)');
  });
});

describe('a live cluster the repository does not declare', () => {
  const withGpu1 = async () => {
    const t = await setup(SERVING);
    await t.served.embedded.createPool('gpu', poolContract('s3://gpu/meta'));
    await t.served.embedded.registerCluster({ name: 'gpu-1', pool: 'gpu' });
    return t;
  };

  it('a Queue of its name is told to take another queue name, not a new cluster name', async () => {
    const t = await withGpu1();
    await writeRepo(t.repo, {
      ...SERVING,
      queues: { ...SERVING.queues, 'gpu-1': { pool: 'p', clusters: ['c1'] } },
    });
    const plan = await t.poolsync('plan', t.repo);
    expect(plan.stdout).toContain(
      '! Queue/gpu-1: Queue/gpu-1 is the co-named queue of cluster "gpu-1" and stays in pool "gpu": a queue\'s pool can never change (Q3, Q4). Its name is taken (N2): declare your queue under another name.\n',
    );
    expect(plan.stdout).not.toContain('use a new cluster name');
  });

  it('--replace of it says it is live but not declared, with no "did you mean" another', async () => {
    const t = await withGpu1();
    const replace = await t.poolsync('plan', t.repo, '--replace', 'Cluster/gpu-1');
    expect(replace.code).toBe(1);
    expect(replace.stderr).toBe(
      'Error: --replace Cluster/gpu-1: live on the control plane but not declared in the repository, so there is nothing to create again: declare it (or adopt it with `poolsync import Cluster/gpu-1`), then replace it\n',
    );
    // Not live: the closest declared name, as before.
    const typo = await t.poolsync('plan', t.repo, '--replace', 'Cluster/c2');
    expect(typo.stderr).toContain('(did you mean Cluster/c1');
  });
});
