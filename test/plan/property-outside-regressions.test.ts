/**
 * Shrunk counterexamples of the outside-observer property (test/plan/property-outside.test.ts,
 * bench/property-outside.ts), each kept as a named case: generated, seeded, edited, planned with
 * `plan --out`, applied with `apply FILE` and planned again, as the property does. `found`: what
 * the property saw; `fixed`: where it was fixed.
 */
import { describe, expect, it } from 'vitest';
import { flyteadminTargets } from '../flyteadmin/targets.js';
import { flyteadminTarget } from './property/outside/flyteadmin.js';
import { runCase } from './property/outside/outside.js';
import { PROJECTS, type BackendName, type Case, type RepoSpec } from './property/outside/world.js';

/** A repository with only what `r` sets. */
const repo = (r: Partial<RepoSpec> = {}): RepoSpec => ({
  prune: false,
  manage: null,
  absent: [],
  pools: [],
  clusters: [],
  queues: [],
  conamed: [],
  defaultQueue: null,
  assignments: [],
  settings: [],
  labels: [],
  target: null,
  accept: false,
  ...r,
});
const cluster = (name: number, pool: number, enabled: boolean) => ({
  name,
  pool,
  enabled,
  guard: false,
});

const queue = (
  name: number,
  pool: number,
  selector: { pick?: number[]; wildcard?: boolean } = {},
) => ({
  name,
  pool,
  wildcard: selector.wildcard ?? false,
  pick: selector.pick ?? [],
  run: 0,
  priority: 0,
  fairness: 0,
  depth: false,
  caps: null,
  guard: false,
});

interface Regression {
  name: string;
  /** Every backend it was found on (union: Union's capabilities, whatever `caps` says). */
  backends: BackendName[];
  found: string;
  fixed: string;
  case: Case;
}

const REGRESSIONS: Regression[] = [
  {
    name: 'a partial plan of a co-named queue (--target Queue/c0) shows it created by its cluster’s registration',
    backends: ['file', 'rest', 'union'],
    found:
      'the next plan shows + Queue/c0 again: the partial plan showed it created without the registration that creates it',
    fixed:
      'plan/target.ts (i58-plan 804d9160): a partial plan keeps the step that causes a change it shows',
    case: {
      caps: [],
      seed: repo(),
      edits: [],
      repo: repo({ clusters: [cluster(0, 0, false)], target: 1 }),
    },
  },
  {
    name: 'a cluster enabled: its co-named queue is activated with it',
    backends: ['file', 'rest', 'union'],
    found: 'Queue/c1 changed (state: drained → active), but the plan shows it noop',
    fixed:
      "plan/queues.ts (i58-plan 7137261e, ae2ca67d): the co-named queue's state change is shown, caused by its cluster (U27)",
    case: {
      caps: ['drain'],
      seed: repo({ clusters: [cluster(1, 0, false)] }),
      edits: [],
      repo: repo({ clusters: [cluster(1, 0, true)] }),
    },
  },
  {
    name: 'a cluster disabled: its co-named queue is drained with it',
    backends: ['file', 'rest', 'union'],
    found: 'Queue/c0 changed (state: active → drained), but the plan shows it noop',
    fixed:
      "plan/queues.ts (i58-plan 7137261e, ae2ca67d): the co-named queue's state change is shown, caused by its cluster (U25)",
    case: {
      caps: ['drain'],
      seed: repo({ clusters: [cluster(0, 0, true)] }),
      edits: [],
      repo: repo({ clusters: [cluster(0, 0, false)] }),
    },
  },
  {
    name: 'a cluster replaced into another pool: its co-named queue loses its selector (C8)',
    backends: ['file', 'rest'],
    found: 'Queue/c0: clusters ["c0"] → [] is not in the plan\'s diff (blocked)',
    fixed:
      'plan/queues.ts (i58-plan 804d9160): the selector a re-registration empties (C8) is shown beside the blocked pool change',
    case: {
      caps: [],
      seed: repo({
        pools: [{ name: 0, version: 1, guard: false }],
        clusters: [cluster(0, 1, false)],
      }),
      edits: [],
      repo: repo({ clusters: [cluster(0, 0, false)] }),
    },
  },
  {
    name: 'absent default queue, a partial plan of another queue, a disabled cluster',
    backends: ['file'],
    found: 'next plan: step drain_queue Queue/q0',
    fixed: 'plan/steps.ts (i58-plan 7137261e): only what the plan shows is drained',
    case: {
      caps: ['drain'],
      seed: repo({ clusters: [cluster(0, 0, false)] }),
      edits: [],
      repo: repo({
        prune: true,
        absent: [0],
        queues: [
          {
            name: 0,
            pool: 0,
            wildcard: true,
            pick: [],
            run: 0,
            priority: 0,
            fairness: 0,
            depth: false,
            caps: null,
            guard: false,
          },
        ],
        target: 0,
      }),
    },
  },
  {
    name: 'an active cluster pruned without queue_delete: its co-named queue is drained and left so',
    backends: ['file'],
    found:
      "Queue/c0: state active → drained is not in the plan's diff (update); Queue/c0 is left drained",
    fixed:
      'plan/steps.ts (i58-plan 7137261e): queues routing only to a leaving cluster are watched (wait_idle), never drained',
    case: {
      caps: ['drain'],
      seed: repo({ clusters: [cluster(0, 0, true)] }),
      edits: [],
      repo: repo({ prune: true, absent: [0] }),
    },
  },
  {
    name: 'a partial plan of a queue registers the disabled cluster it selects',
    backends: ['file'],
    found: 'create Cluster/c0: enabled is true, the plan showed false (--target Queue/q0)',
    fixed: "plan/target.ts (i58-plan 804d9160): a partial plan keeps a kept object's own steps",
    case: {
      caps: [],
      seed: repo(),
      edits: [],
      repo: repo({
        clusters: [cluster(0, 0, false)],
        queues: [queue(1, 0), queue(0, 0, { pick: [0] })],
        target: 3,
      }),
    },
  },
  {
    name: 'a queue that routes nowhere moved to another pool (queue_move) is left drained',
    backends: ['file', 'rest', 'union'],
    found:
      "Queue/q0: state active → drained is not in the plan's diff (update); Queue/q0 is left drained",
    fixed: 'plan/queues.ts (i58-plan 804d9160): a moved queue is activated again',
    case: {
      caps: ['drain', 'queue_move'],
      seed: repo({ queues: [queue(0, 0)] }),
      edits: [],
      repo: repo({ pools: [{ name: 0, version: 1, guard: false }], queues: [queue(0, 1)] }),
    },
  },
  {
    name: 'a partial plan enabling a cluster leaves out its co-named queue, which it activates',
    backends: ['file'],
    found:
      'Queue/c1 changed (state: drained → active), but the plan does not list it (--target Cluster/c1)',
    fixed: 'plan/target.ts (i58-plan 804d9160): a partial plan keeps the changes its steps cause',
    case: {
      caps: ['drain'],
      seed: repo({ clusters: [cluster(1, 0, false)] }),
      edits: [],
      repo: repo({ clusters: [cluster(1, 0, true)], conamed: [{ cluster: 1, run: 1 }], target: 0 }),
    },
  },
  {
    name: 'a partial plan of a setting undeletes the default queue it names and leaves it drained',
    backends: ['file', 'union'],
    found:
      'Queue/default is left drained (it was not there) (--target DefaultQueue/ml/development)',
    fixed:
      'plan/target.ts (i58-plan 804d9160): an undelete kept by a partial plan keeps its activation',
    case: {
      caps: ['drain', 'queue_delete', 'soft_delete', 'default_delete'],
      seed: repo({ absent: [0] }),
      edits: [],
      repo: repo({
        pools: [{ name: 0, version: 1, guard: false }],
        defaultQueue: { run: 0 },
        settings: [{ project: 0, domain: 0, queue: 0 }],
        target: 2,
      }),
    },
  },
  {
    name: 'a cluster replaced into another pool and disabled: its co-named queue is drained with it (U25)',
    backends: ['file', 'rest'],
    found: 'Queue/c2: state: "active" → "drained" is not in the plan\'s diff (blocked)',
    fixed:
      "plan (i58-plan 34a8f318): a queue's drain state a kept step changes is shown with a state diff",
    case: {
      caps: ['drain'],
      seed: repo({ clusters: [cluster(2, 0, true)] }),
      edits: [],
      repo: repo({
        pools: [{ name: 0, version: 1, guard: false }],
        clusters: [cluster(2, 1, false)],
      }),
    },
  },
  {
    name: 'a partial plan replacing a cluster shows the selectors its delete empties (C8)',
    backends: ['file', 'rest'],
    found:
      'Queue/q1 changed (clusters: ["c2"] → []), but the plan does not list it (--target Cluster/c2)',
    fixed:
      'plan/target.ts (i58-plan 6a070146): --target shows everything its kept steps change, C8 selectors too',
    case: {
      caps: ['drain', 'queue_move'],
      seed: repo({
        pools: [{ name: 0, version: 1, guard: false }],
        clusters: [cluster(2, 1, false)],
        queues: [queue(1, 1, { pick: [0] })],
      }),
      edits: [],
      repo: repo({ clusters: [cluster(2, 0, false)], queues: [queue(1, 0)], target: 0 }),
    },
  },
  {
    name: 'a partial plan undeleting a cluster shows its co-named queue as the undelete leaves it',
    // Found on union; file: and REST undelete clusters too since their store keeps deleted ones.
    backends: ['union', 'file', 'rest'],
    found:
      'create Queue/c1: run_concurrency is 0, the plan showed 10 (--target Cluster/c1; the next plan: No changes)',
    fixed:
      "plan/queues.ts, plan/target.ts (r58): the undeleted co-named queue's old settings are what the cause alone leaves (caused_after)",
    case: {
      caps: ['drain', 'queue_delete', 'soft_delete'],
      seed: repo({ clusters: [cluster(1, 0, false)] }),
      edits: [{ op: 'delete_cluster', cluster: 1 }],
      repo: repo({
        clusters: [cluster(1, 0, false)],
        conamed: [{ cluster: 1, run: 1 }],
        target: 0,
      }),
    },
  },
  {
    name: 'soft_delete without cluster_move: a cluster declared in another pool is not replaced under its reserved name',
    backends: ['file', 'rest'],
    found:
      'step s3 register_cluster Cluster/c0 failed (its deleted name stays reserved); replace Cluster/c0: missing',
    fixed:
      'plan/pools-and-clusters.ts (r58): with soft_delete a replace is blocked REPLACE_NAME_RESERVED (the store keeps deleted clusters)',
    // Found with soft_delete alone; a delete keeps the cluster only with queue_delete too.
    case: {
      caps: ['queue_delete', 'soft_delete'],
      seed: repo({ pools: [{ name: 0, version: 1, guard: false }] }),
      edits: [{ op: 'register', cluster: 0, pool: 1 }],
      repo: repo({ clusters: [cluster(0, 0, false)] }),
    },
  },
  {
    name: 'soft_delete without queue_delete: a deleted cluster declared in another pool, its co-named queue left behind',
    backends: ['file', 'rest'],
    found:
      'Queue/c0 changed (clusters: [] → ["c0"], pool: "pa" → "default"), but the plan shows it blocked',
    fixed:
      'controlplane/embedded/state.ts (r58): a deleted cluster is kept (soft_delete) only when its co-named queue goes with it (queue_delete)',
    case: {
      caps: ['cluster_move', 'soft_delete'],
      seed: repo({
        pools: [{ name: 0, version: 1, guard: false }],
        clusters: [cluster(0, 1, false)],
      }),
      edits: [{ op: 'delete_cluster', cluster: 0 }],
      repo: repo({ clusters: [cluster(0, 0, false)] }),
    },
  },
  {
    name: 'a cluster registered disabled: the record says its co-named queue is drained, so the drift view right after the apply is empty',
    backends: ['union'],
    found:
      'drift right after apply: changed Queue/c0 [["state","active","drained"]] (issue 73 item 10: the drift view disagreed with the plan, whose note says the queue is drained with its cluster)',
    fixed:
      "plan/inventory.ts (h-observer): appliedState leaves a co-named queue drained or active with its cluster's enabled, as the control plane does",
    case: {
      caps: [],
      seed: repo(),
      edits: [],
      repo: repo({ clusters: [cluster(0, 0, false)] }),
    },
  },
  {
    name: 'a queue that routes nowhere moved while work is in flight: cut at the wait, the next apply ends where an uncut one does',
    backends: ['union'],
    found:
      'converged: Queue/q1 is left drained (it was active): the plan moved it and re-activated it "as it was", the apply stopped at wait_drained (work in flight), and the next plan left the drained queue drained (it routes nowhere)',
    fixed:
      'plan/queues.ts planPoolChange (h-observer): a queue moved to where it routes nowhere is left drained, shown as state: active → drained, as the next plan leaves it',
    case: {
      caps: [],
      seed: repo({ queues: [queue(1, 0)] }),
      edits: [{ op: 'work', queue: 1 }],
      repo: repo({ pools: [{ name: 0, version: 1, guard: false }], queues: [queue(1, 1)] }),
    },
  },
  {
    name: "a disabled cluster's co-named queue deleted by another client between plan and apply: undeleted, it stays drained with its cluster",
    backends: ['union'],
    found:
      'after the edits: step s3 activate_queue Queue/c0 failed: queue "c0" follows its cluster, which is drained (FAILED_PRECONDITION): the undelete chain activated a co-named queue of a drained cluster',
    fixed:
      'plan/queues.ts planUndelete (h-observer): a co-named queue of a cluster left disabled is undeleted and shown drained, never activated (U14)',
    case: {
      caps: [],
      seed: repo({ clusters: [cluster(0, 0, false)] }),
      edits: [],
      repo: repo({ clusters: [cluster(0, 0, false)] }),
      between: [{ op: 'transition', queue: 3, to: 'deleting' }],
      cut: null,
    },
  },
  {
    name: 'a cluster moved while another client deletes its co-named queue: the move is blocked, no drain step for the blocked queue',
    backends: ['union'],
    found:
      'plan --out: poolsync planned a plan its own apply would refuse: step s1 (drain_queue Queue/c0) does not realise the change the plan shows for it (blocked)',
    fixed:
      'plan/pools-and-clusters.ts planMove (h-observer): CLUSTER_MOVE_CONAMED_DELETING blocks the move while its co-named queue is DELETING',
    case: {
      caps: [],
      seed: repo({
        pools: [{ name: 0, version: 1, guard: false }],
        clusters: [cluster(0, 1, false)],
      }),
      edits: [{ op: 'transition', queue: 3, to: 'deleting' }],
      repo: repo({ clusters: [cluster(0, 0, false)] }),
      between: [],
      cut: { at: 1, landed: false },
    },
  },
  {
    name: "a cluster moved after another client deleted its co-named queue: the queue's undelete is blocked (U19), never sent to fail",
    backends: ['union'],
    found:
      'after the edits: step s2 undelete_queue Queue/c0 failed: queue "c0" cannot be undeleted: it names cluster "c0", which is not in pool "pa" (FAILED_PRECONDITION)',
    fixed:
      'plan/queues.ts planUndelete (h-observer): CONAMED_UNDELETE_CLUSTER_MOVED blocks the undelete of a co-named queue whose cluster the plan leaves in another pool',
    case: {
      caps: [],
      seed: repo({
        pools: [{ name: 0, version: 1, guard: false }],
        clusters: [cluster(0, 1, false)],
      }),
      edits: [],
      repo: repo({ clusters: [cluster(0, 0, false)] }),
      between: [{ op: 'transition', queue: 3, to: 'deleting' }],
      cut: null,
    },
  },
  {
    name: 'a disabled cluster replaced (no cluster_move) by an enabled one: its left-behind co-named queue stays drained in the record too',
    backends: ['file'],
    found:
      'drift right after apply: changed Queue/c2 [["state","active","drained"]] (the record had the left-behind queue follow the new registration)',
    fixed:
      "plan/inventory.ts conamedFollow (h-observer): a replaced cluster's old co-named queue follows nothing (C7)",
    case: {
      caps: ['drain'],
      seed: repo({ clusters: [cluster(2, 0, false)] }),
      edits: [],
      repo: repo({
        pools: [{ name: 0, version: 1, guard: false }],
        clusters: [cluster(2, 1, true)],
      }),
      between: [],
      cut: null,
    },
  },
  {
    name: 'a label targeted while the project-wide row is pruned: the delete kept for its order shows the pruned row it takes',
    backends: ['flyteadmin'],
    found:
      'ExecutionClusterLabel/ops/development changed (… → null), but the plan does not list it: --target kept DELETE project_attributes/ops (the target waits for it), which took the pruned ops/development row with its own, dropped, step',
    fixed:
      'plan/flyteadmin.ts planCascade (h-observer): a pruned row a broader delete takes goes with it (caused_by), no step of its own',
    case: {
      caps: [],
      seed: repo({
        labels: [
          { project: 1, domain: 0, workflow: false, label: 0 },
          { project: 1, domain: 2, workflow: false, label: 0 },
        ],
      }),
      edits: [],
      repo: repo({
        prune: true,
        labels: [{ project: 1, domain: 1, workflow: false, label: 0 }],
        target: 0,
      }),
      between: [],
      cut: null,
    },
  },
  {
    name: 'a workflow label targeted while the project-wide row is pruned: the project/domain row the delete takes is set again in the partial plan too',
    backends: ['flyteadmin'],
    found:
      'replace ExecutionClusterLabel/ops/development: missing (--target kept DELETE project_attributes/ops for the target’s order and showed ops/development replaced, without its set step)',
    fixed:
      'plan/target.ts (h-observer): a flyteadmin row a kept delete takes and sets again is kept whole',
    case: {
      caps: [],
      seed: repo({
        labels: [
          { project: 1, domain: 2, workflow: false, label: 0 },
          { project: 1, domain: 0, workflow: false, label: 0 },
        ],
      }),
      edits: [],
      repo: repo({
        prune: true,
        labels: [
          { project: 1, domain: 0, workflow: true, label: 0 },
          { project: 1, domain: 0, workflow: false, label: 0 },
        ],
        target: 0,
      }),
      between: [],
      cut: null,
    },
  },
  {
    name: 'a replace cut short after the delete (work in flight elsewhere): the registration that finishes it leaves the drained co-named queue drained, and so does the record',
    backends: ['file', 'rest'],
    found:
      'drift right after apply: changed Queue/c1 [["state","active","drained"]] (rest, seed 2711615: the record had every registered cluster\'s co-named queue follow its enabled, though a registration leaves one already there as it is, C2 and the C7 trap)',
    fixed:
      'plan/inventory.ts conamedFollow (28 Nov): a co-named queue follows its cluster in the record only where the plan sends update_cluster, as the control plane does',
    case: {
      caps: ['drain'],
      seed: repo({ clusters: [cluster(0, 0, false), cluster(1, 0, false)] }),
      edits: [{ op: 'work', queue: 3 }],
      repo: repo({
        pools: [{ name: 0, version: 1, guard: false }],
        clusters: [cluster(1, 1, true), cluster(0, 1, false)],
      }),
      between: [{ op: 'transition', queue: 0, to: 'draining' }],
      cut: null,
      order: 'latest-first',
    },
  },
  {
    name: 'another client makes a protected pool with another contract between plan and apply: the plan after it refuses the replacement (PREVENT_DESTROY), sending nothing',
    backends: ['file', 'rest'], // Union updates a pool's contract in place: no replacement
    found:
      'plan after the edits exited 1: The plan has errors: the harness took every refusal after the edits for a fault, though replacing a pool annotated poolsync/prevent-destroy is refused by design',
    fixed:
      'test/plan/property/outside/outside.ts (27 Nov): a plan after the edits may refuse with PREVENT_DESTROY, and then nothing may change',
    case: {
      caps: [],
      seed: repo(),
      edits: [],
      repo: repo({ absent: [0], pools: [{ name: 0, version: 2, guard: true }] }),
      between: [{ op: 'create_pool', pool: 0, version: 1 }],
      cut: null,
    },
  },
  {
    name: 'another client makes and soft-deletes a declared pool between plan and apply: its cluster is blocked with the pool, never an unknown pool',
    backends: ['file', 'rest'],
    found:
      'plan after the edits exited 1: UNKNOWN_POOL: Cluster/c0 names pool "pb", which neither the repository nor the control plane has (C1), beside ClusterPool/pb blocked (POOL_UNDELETE_CONTRACT_DIFFERS)',
    fixed:
      'plan/pools-and-clusters.ts poolBlocked (27 Nov): a cluster, queue or assignment in a declared pool left blocked is blocked with it (POOL_BLOCKED)',
    case: {
      caps: ['soft_delete'],
      seed: repo({ absent: [0] }),
      edits: [],
      repo: repo({
        absent: [0],
        pools: [{ name: 1, version: 1, guard: false }],
        clusters: [cluster(0, 1, false)],
      }),
      between: [
        { op: 'create_pool', pool: 1, version: 3 },
        { op: 'delete_pool', pool: 2 },
      ],
      cut: null,
    },
  },
  {
    name: 'a soft-deleted queue declared again in another pool while its old pool is pruned: undeleted and moved out before the pool’s delete',
    backends: ['union'],
    found:
      'step s4 delete_pool ClusterPool/pa failed: pool "pa" is still referenced by queues "q2" (FAILED_PRECONDITION): the delete ran between the undelete, which brings the queue back in pa, and its move',
    fixed:
      'plan/steps.ts orderPools (27 Nov, seed 2711270): a pool is deleted after the undelete and the call of each queue the plan brings back into it',
    case: {
      caps: [],
      seed: repo({ pools: [{ name: 0, version: 1, guard: false }], queues: [queue(2, 1)] }),
      edits: [{ op: 'transition', queue: 2, to: 'deleted' }],
      repo: repo({ prune: true, queues: [queue(2, 0)] }),
      between: [],
      cut: null,
    },
  },
  {
    name: '--target a soft-deleted co-named queue of a disabled cluster the repository enables: the enable is kept, before the activation',
    backends: ['union'],
    found:
      'after the edits: step s3 activate_queue Queue/c0 failed: queue "c0" follows its cluster, which is drained: activate the cluster (FAILED_PRECONDITION); the activation did not wait for the cluster\'s enable, so --target left it out',
    fixed:
      "plan/steps.ts orderQueueLifecycle (27 Nov, seed 2711272): a co-named queue is activated after its cluster's update (U14)",
    case: {
      caps: [],
      seed: repo({ clusters: [cluster(0, 0, false)] }),
      edits: [{ op: 'transition', queue: 3, to: 'deleting' }],
      repo: repo({
        pools: [{ name: 0, version: 1, guard: false }],
        clusters: [cluster(0, 0, true)],
        target: 2,
      }),
      between: [{ op: 'move', cluster: 0, pool: 0 }],
      cut: null,
    },
  },
  {
    name: '`default` listed absent, deleted by another client before a registration brings it back (C3): deleted again in the same plan',
    backends: ['file', 'rest'],
    found:
      'next plan: delete Queue/default, steps drain_queue, wait_drained, delete_queue: the plan after the edits showed it recreated by the registration and left it for another apply',
    fixed:
      'plan/queues.ts planMissingQueue, steps.ts orderQueueLifecycle (27 Nov, seed 2711268): recreated and deletable, it is deleted after every registration',
    case: {
      caps: ['drain', 'queue_delete', 'default_delete'],
      seed: repo(),
      edits: [],
      repo: repo({ absent: [0], clusters: [cluster(0, 0, false)] }),
      between: [{ op: 'transition', queue: 6, to: 'deleted' }],
      cut: null,
    },
  },
  {
    name: '`default` listed absent and missing, `--target` the registration that brings it back: its delete is kept with it',
    backends: ['file', 'rest'],
    found:
      'with the fix above, the partial plan of Cluster/c0 left out the recreated default’s delete, so the registration’s C3 recreation was shown nowhere (found by this case, 27 Nov)',
    fixed:
      'plan/target.ts: a delete a kept step causes (caused_by) and the plan’s own steps make is kept whole, as a flyteadmin row set again',
    case: {
      caps: ['drain', 'queue_delete', 'default_delete'],
      seed: repo(),
      edits: [{ op: 'transition', queue: 6, to: 'deleted' }],
      repo: repo({ absent: [0], clusters: [cluster(0, 0, true)], target: 0 }),
      between: [],
      cut: null,
    },
  },
];

const flyteadmin = flyteadminTargets();

describe('the plan is what happens, seen from outside: shrunk counterexamples', () => {
  for (const r of REGRESSIONS)
    it.each(r.backends)(`${r.name} (%s)`, async (backend) => {
      if (backend !== 'flyteadmin') {
        expect((await runCase(backend, r.case)).wrong).toEqual([]);
        return;
      }
      const standIn = flyteadmin.list.find(
        (t) => t.missing === null && !t.name.startsWith('flyteadmin v'),
      )!;
      const fa = await standIn.start({ projects: PROJECTS });
      try {
        expect(
          (await runCase('flyteadmin', r.case, async () => flyteadminTarget(fa))).wrong,
        ).toEqual([]);
      } finally {
        await fa.close();
      }
    });
});
