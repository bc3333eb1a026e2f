/**
 * Plan equals apply, as a property (issue 46; docs/union.md, "The rules"): fast-check generates
 * a live history (made of real calls, so the live state is one the control plane can reach) and
 * a repository valid by construction, within one capability set; poolsync plans, the executor
 * applies, and after the apply:
 *  - every step the plan showed succeeded (nothing the control plane refused was planned);
 *  - every change the plan showed (create, update, replace, delete) is what the control plane
 *    now holds;
 *  - the next plan has no step, and nothing but noop, blocked and unmanaged changes.
 * Half the cases run the steps in another order their dependencies allow (latestFirst), as a
 * parallel apply may: a plan that holds only in its own numbering misses an edge.
 * Shared by test/plan/plan-equals-apply.test.ts (a few hundred cases) and
 * bench/plan-equals-apply.ts (thousands, the seed printed on failure).
 */
import { BLOCKED, errorText } from '../../../src/render/reasons.js';
import fc from 'fast-check';
import { executePlan } from '../../../src/apply/executor.js';
import { EmbeddedControlPlane } from '../../../src/controlplane/embedded/embedded.js';
import { readLiveState, type ControlPlane } from '../../../src/controlplane/types.js';
import { UNION_CAPABILITIES } from '../../../src/controlplane/union/union.js';
import {
  BASELINE_CAPABILITIES,
  DEFAULT_POOL,
  FAIRNESS_POLICIES,
  PRIORITIES,
  WILDCARD,
  type Capabilities,
  type PoolContract,
  type QueueSpec,
} from '../../../src/model/common.js';
import type { DesiredQueue, DesiredState } from '../../../src/model/desired.js';
import type { LiveState } from '../../../src/model/live.js';
import type { Change, Plan } from '../../../src/model/plan.js';
import { computePlan } from '../../../src/plan/index.js';
import { unaccountedStep } from '../../../src/plan/steps.js';
import { canonicalSelector } from '../../../src/gen/union/accelerators.js';
import { openUnion, startUnionServer } from '../../controlplane/union/helpers.js';
import {
  desiredCluster,
  desiredDefaultQueue,
  desiredExecutionClusterLabel,
  desiredPool,
  desiredQueue,
  poolContract,
} from '../../support/builders.js';

export type Backend = 'embedded' | 'union-embedded' | 'union';

const POOLS = ['pa', 'pb'];
const CLUSTERS = ['c0', 'c1', 'c2', 'c3'];
const QUEUES = ['q0', 'q1', 'q2'];
const KEYS = ['ml/production', 'ml/staging'];
const ACCELERATORS = ['nvidia_gpu', 'nvidia_gpu/t4', 'nvidia_gpu/nvidia-h100', 'google_tpu/v5e'];

const contractOf = (pool: string, version: number): PoolContract =>
  poolContract(`s3://${pool}-v${version}`);
const canonical = (selector: string): string => {
  const read = canonicalSelector(selector);
  return 'selector' in read ? read.selector : selector;
};

/** One call of a live history; a call the control plane refuses is skipped. */
export type Op =
  | { op: 'pool'; pool: string }
  | { op: 'cluster'; name: string; pool: number }
  | { op: 'disable'; name: string }
  | { op: 'queue'; name: string; pool: number; pick: number[]; wildcard: boolean; run: number }
  | { op: 'delete_cluster'; name: string }
  | { op: 'drain'; name: string }
  | { op: 'delete_queue'; name: string }
  | { op: 'setting'; key: string; queue: string };

/** A repository, before it is made valid (V1-V16) by `desiredOf`. */
export interface Repo {
  prune: boolean;
  pools: { name: string; version: number }[];
  clusters: { name: string; pool: number; enabled: boolean }[];
  queues: {
    name: string;
    pool: number;
    wildcard: boolean;
    pick: number[];
    run: number;
    priority: number;
    fairness: number;
    caps: { accelerators: string[]; scheduling: number } | null;
  }[];
  conamed: { cluster: string; run: number }[];
  defaultQueue: { run: number } | null;
  settings: { key: string; queue: number }[];
  absentDefault: boolean;
}

export interface Case {
  history: Op[];
  repo: Repo;
  /**
   * The order the executor takes the steps in: the plan's own (absent: P 4, as numbered), or the
   * latest ready step first, one at a time (latestFirst).
   */
  order?: 'latest-first';
}

const name = (xs: readonly string[]) => fc.constantFrom(...xs);

function opArb(union: boolean): fc.Arbitrary<Op> {
  const ops: fc.Arbitrary<Op>[] = [
    fc.record({ op: fc.constant('pool' as const), pool: name(POOLS) }),
    fc.record({ op: fc.constant('cluster' as const), name: name(CLUSTERS), pool: fc.nat(2) }),
    fc.record({ op: fc.constant('disable' as const), name: name(CLUSTERS) }),
    fc.record({
      op: fc.constant('queue' as const),
      name: name(QUEUES),
      pool: fc.nat(2),
      pick: fc.array(fc.nat(3), { maxLength: 2 }),
      wildcard: fc.boolean(),
      run: fc.nat(2),
    }),
    fc.record({ op: fc.constant('delete_cluster' as const), name: name(CLUSTERS) }),
  ];
  if (union)
    ops.push(
      fc.record({ op: fc.constant('drain' as const), name: name([...QUEUES, ...CLUSTERS]) }),
      fc.record({ op: fc.constant('delete_queue' as const), name: name(QUEUES) }),
      fc.record({
        op: fc.constant('setting' as const),
        key: name(KEYS),
        queue: name([...QUEUES, ...CLUSTERS, 'default']),
      }),
    );
  return fc.oneof(...ops);
}

/** `caps`: the backend takes Union's queue caps (only the Union backend does: plan/index.ts). */
function repoArb(union: boolean, caps: boolean): fc.Arbitrary<Repo> {
  return fc.record({
    prune: fc.boolean(),
    pools: fc.uniqueArray(fc.record({ name: name(POOLS), version: fc.constantFrom(1, 1, 2) }), {
      selector: (p) => p.name,
      maxLength: 2,
    }),
    clusters: fc.uniqueArray(
      fc.record({ name: name(CLUSTERS), pool: fc.nat(2), enabled: fc.boolean() }),
      { selector: (c) => c.name, maxLength: 4 },
    ),
    queues: fc.uniqueArray(
      fc.record({
        name: name(QUEUES),
        pool: fc.nat(2),
        wildcard: fc.boolean(),
        pick: fc.array(fc.nat(3), { maxLength: 2 }),
        run: fc.nat(2),
        priority: fc.nat(2),
        fairness: fc.nat(1),
        caps: caps
          ? fc.option(
              fc.record({
                accelerators: fc.subarray(ACCELERATORS, { maxLength: 2 }),
                scheduling: fc.nat(1),
              }),
            )
          : fc.constant(null),
      }),
      { selector: (q) => q.name, maxLength: 3 },
    ),
    conamed: fc.uniqueArray(fc.record({ cluster: name(CLUSTERS), run: fc.nat(2) }), {
      selector: (c) => c.cluster,
      maxLength: 2,
    }),
    defaultQueue: fc.option(fc.record({ run: fc.nat(2) })),
    settings: union
      ? fc.uniqueArray(fc.record({ key: name(KEYS), queue: fc.nat(3) }), {
          selector: (s) => s.key,
          maxLength: 2,
        })
      : fc.constant([]),
    absentDefault: union ? fc.boolean() : fc.constant(false),
  });
}

export function caseArb(backend: Backend): fc.Arbitrary<Case> {
  const union = backend !== 'embedded';
  return fc.record({
    history: fc.array(opArb(union), { maxLength: 14 }),
    repo: repoArb(union, backend === 'union'),
    order: fc.constantFrom(undefined, 'latest-first' as const),
  });
}

const sortByName = <T extends { name: string }>(xs: T[]) =>
  xs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** The repository as poolsync's loader would give it: valid by construction (V1-V16). */
export function desiredOf(r: Repo): DesiredState {
  const pools = r.pools.map((p) => desiredPool(p.name, contractOf(p.name, p.version)));
  const poolNames = [DEFAULT_POOL, ...pools.map((p) => p.name)];
  const poolAt = (i: number) => poolNames[i % poolNames.length]!;
  const clusters = r.clusters.map((c) =>
    desiredCluster(c.name, { pool: poolAt(c.pool), enabled: c.enabled }),
  );
  const settings = (run: number) => ({ run_concurrency: run * 10, action_concurrency: run * 100 });
  const queues: DesiredQueue[] = r.queues
    .filter((q) => !clusters.some((c) => c.name === q.name))
    .map((q) => {
      const pool = poolAt(q.pool);
      const members = clusters.filter((c) => c.pool === pool).map((c) => c.name);
      const picked = [...new Set(q.pick.map((i) => members[i % Math.max(1, members.length)]))];
      const selector = q.wildcard ? [WILDCARD] : (picked.filter(Boolean) as string[]);
      const caps = q.caps
        ? {
            // Canonical, as the loader makes them (manifests/desired.ts).
            max_accelerators: Object.fromEntries(
              q.caps.accelerators.map((a, i) => [canonical(a), i + 1]),
            ),
            scheduling: (['strict_fifo', 'greedy_capacity'] as const)[q.caps.scheduling]!,
          }
        : {};
      return desiredQueue(q.name, {
        pool,
        clusters: selector,
        ...settings(q.run),
        priority: PRIORITIES[q.priority]!,
        fairness: FAIRNESS_POLICIES[q.fairness]!,
        ...caps,
      });
    });
  for (const c of r.conamed) {
    const cluster = clusters.find((x) => x.name === c.cluster);
    if (!cluster) continue;
    queues.push(
      desiredQueue(c.cluster, { pool: cluster.pool, clusters: [c.cluster], ...settings(c.run) }),
    );
  }
  const declared = queues.map((q) => q.name);
  const defaultQueues = r.settings
    .filter(() => declared.length > 0)
    .map((s) => {
      const [project, domain] = s.key.split('/') as [string, string];
      return desiredDefaultQueue({ project, domain, queue: declared[s.queue % declared.length]! });
    });
  const absent = r.absentDefault && !r.defaultQueue;
  if (r.defaultQueue && !absent)
    queues.push(
      desiredQueue('default', {
        pool: DEFAULT_POOL,
        clusters: [WILDCARD],
        ...settings(r.defaultQueue.run),
      }),
    );
  return {
    pools: sortByName(pools),
    clusters: sortByName(clusters),
    queues: sortByName(queues),
    assignments: [],
    default_queues: defaultQueues.sort((a, b) => (a.name < b.name ? -1 : 1)),
    config: { prune: r.prune, ignore: [], ...(absent ? { absent: ['Queue/default'] } : {}) },
    commit: null,
  };
}

/**
 * Plays the history through the control plane's own calls (its parts); refused calls, and those
 * of a part the control plane does not have, are skipped.
 */
export async function play(cp: ControlPlane, history: readonly Op[]): Promise<void> {
  const pools = [DEFAULT_POOL];
  const clusterPool = new Map<string, string>();
  for (const o of history) {
    const call = async (): Promise<unknown> => {
      switch (o.op) {
        case 'pool':
          await cp.pools!.createPool(o.pool, contractOf(o.pool, 1));
          return pools.push(o.pool);
        case 'cluster': {
          const pool = pools[o.pool % pools.length]!;
          await cp.clusters!.registerCluster({ name: o.name, pool });
          return clusterPool.set(o.name, pool);
        }
        case 'disable':
          return cp.clusters!.updateCluster(o.name, { enabled: false });
        case 'queue': {
          const pool = pools[o.pool % pools.length]!;
          const members = [...clusterPool].filter(([, p]) => p === pool).map(([n]) => n);
          const picked = [...new Set(o.pick.map((i) => members[i % Math.max(1, members.length)]))];
          return cp.queues!.createQueue({
            name: o.name,
            pool,
            clusters: o.wildcard ? [WILDCARD] : (picked.filter(Boolean) as string[]),
            run_concurrency: o.run,
            action_concurrency: o.run,
          });
        }
        case 'delete_cluster':
          await cp.clusters!.deleteCluster(o.name);
          return clusterPool.delete(o.name);
        case 'drain':
          return cp.capabilityCalls!.drainQueue(o.name);
        case 'delete_queue':
          return cp.capabilityCalls!.deleteQueue(o.name);
        case 'setting': {
          const [project, domain] = o.key.split('/');
          return cp.defaultQueues!.setDefaultQueue(project!, domain!, o.queue);
        }
      }
    };
    await call().catch(() => undefined);
  }
}

/** What a case did: what is wrong (empty: the property holds), and the steps it applied. */
export interface Outcome {
  wrong: string[];
  steps: number;
  blocked: number;
}

/** Plays, plans, applies and plans again on one control plane. */
export async function check(cp: ControlPlane, c: Case): Promise<Outcome> {
  await play(cp, c.history);
  return applyAndCheck(cp, desiredOf(c.repo), c.order);
}

/** Plans `desired`, applies it, holds the control plane to the plan and plans again. */
async function applyAndCheck(
  cp: ControlPlane,
  desired: DesiredState,
  order?: Case['order'],
): Promise<Outcome> {
  const live = await readLiveState(cp);
  const plan = computePlan(desired, live);
  const blocked = plan.changes.filter((ch) => ch.action === 'blocked').length;
  const wrong: string[] = plan.errors.map(
    (e) => `plan error ${e.code} ${e.address}: ${errorText(e)}`,
  );
  // Blocked means nothing is sent (issue 73 item 4): every step realises a change the plan makes.
  const unaccounted = unaccountedStep(plan);
  if (unaccounted !== null) wrong.push(`unaccounted step: ${unaccounted}`);
  // The catalog's BLOCKED is every reason a blocked change gives (reason-catalog.test.ts reads it).
  for (const ch of plan.changes)
    if (ch.action === 'blocked' && !Object.hasOwn(BLOCKED, ch.why?.code ?? ''))
      wrong.push(
        `blocked ${ch.address} by ${ch.why?.code ?? 'no code'}, not in the catalog's BLOCKED`,
      );
  if (wrong.length > 0) return { wrong, steps: 0, blocked };
  const latest = order === 'latest-first';
  const result = await executePlan(latest ? latestFirst(plan) : plan, cp, {
    parallelism: latest ? 1 : 4,
    waitTimeoutMs: 5_000,
    pollIntervalMs: { initial: 5, max: 20 },
  });
  for (const s of result.steps)
    if (s.status !== 'done')
      wrong.push(
        `step ${s.id} ${s.op} ${s.target} ${s.status}: ${s.error?.message ?? s.note ?? ''}`,
      );
  const after = await readLiveState(cp);
  wrong.push(...unlike(plan, after));
  const again = computePlan(desired, after);
  for (const ch of again.changes)
    if (!['noop', 'blocked', 'unmanaged'].includes(ch.action))
      wrong.push(`next plan: ${ch.action} ${ch.address} ${JSON.stringify(ch.diff)}`);
  for (const s of again.steps) wrong.push(`next plan: step ${s.op} ${s.target}`);
  return { wrong, steps: plan.steps.length, blocked };
}

/**
 * The same steps in another order their dependencies allow: the latest ready step first. At
 * P > 1 any such order can happen, so a plan that holds only in its own order misses an edge.
 */
export function latestFirst(plan: Plan): Plan {
  const index = new Map(plan.steps.map((s, i) => [s.id, i]));
  const waiting = plan.steps.map((s) => s.depends_on.length);
  const next = plan.steps.map((): number[] => []);
  plan.steps.forEach((s, i) => s.depends_on.forEach((d) => next[index.get(d)!]!.push(i)));
  const ready = plan.steps.flatMap((_, i) => (waiting[i] === 0 ? [i] : []));
  const order: number[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const i = ready.pop()!;
    order.push(i);
    for (const j of next[i]!) if (--waiting[j]! === 0) ready.push(j);
  }
  const ids = new Map(order.map((i, k) => [plan.steps[i]!.id, `s${k + 1}`]));
  const steps = order.map((i) => {
    const s = plan.steps[i]!;
    return { ...s, id: ids.get(s.id)!, depends_on: s.depends_on.map((d) => ids.get(d)!) };
  });
  return { ...plan, steps };
}

/** The changes the plan showed that the control plane does not now hold. */
export function unlike(plan: Plan, live: LiveState): string[] {
  const out: string[] = [];
  for (const ch of plan.changes) {
    if (!['create', 'update', 'replace', 'delete'].includes(ch.action)) continue;
    const now = holds(ch, live);
    if (now !== null) out.push(`${ch.action} ${ch.address}: ${now}`);
  }
  return out;
}

function holds(ch: Change, live: LiveState): string | null {
  const after = ch.after as Record<string, unknown> | null;
  const find = <T extends { name: string }>(xs: readonly T[]) => xs.find((x) => x.name === ch.name);
  switch (ch.kind) {
    case 'ClusterPool': {
      const p = find(live.pools);
      if (!after) return p ? 'still there' : null;
      return p ? null : 'missing';
    }
    case 'Cluster': {
      const c = find(live.clusters);
      if (!after) return c ? 'still there' : null;
      if (!c) return 'missing';
      return c.pool === after['pool'] && c.enabled === after['enabled']
        ? null
        : `is ${c.pool}/${c.enabled}, the plan showed ${String(after['pool'])}/${String(after['enabled'])}`;
    }
    case 'Queue': {
      const q = find(live.queues);
      if (!after) return q ? 'still there' : null;
      if (!q) return 'missing';
      const spec = after as unknown as QueueSpec;
      const fields = [
        'pool',
        'run_concurrency',
        'action_concurrency',
        'depth',
        'priority',
        'fairness',
      ] as const;
      const diff = fields.filter((f) => q[f] !== spec[f]);
      if (JSON.stringify(q.clusters) !== JSON.stringify(spec.clusters))
        diff.push('clusters' as never);
      return diff.length === 0 ? null : `differs in ${diff.join(', ')}`;
    }
    case 'ExecutionClusterLabel': {
      const l = (live.execution_cluster_labels ?? []).find(
        (x) => [x.project, x.domain, x.workflow].filter(Boolean).join('/') === ch.name,
      );
      if (!after) return l ? 'still there' : null;
      return l?.label === after['label'] ? null : `is ${l?.label ?? 'missing'}`;
    }
    case 'DefaultQueue': {
      const key = ch.name;
      const s = (live.default_queues ?? []).find((d) => `${d.project}/${d.domain}` === key);
      if (!after) return s ? 'still there' : null;
      return s?.queue === after['queue'] ? null : `names ${s?.queue ?? 'nothing'}`;
    }
    default:
      return null;
  }
}

/** The capability set a backend runs with. */
export function capabilitiesOf(backend: Backend): Capabilities {
  return backend === 'embedded' ? { ...BASELINE_CAPABILITIES } : { ...UNION_CAPABILITIES };
}

/** Runs one case on a fresh control plane of the backend. */
export async function runCase(backend: Backend, c: Case): Promise<Outcome> {
  if (backend !== 'union') {
    const cp = await EmbeddedControlPlane.open({
      path: null,
      capabilities: capabilitiesOf(backend),
    });
    try {
      return await check(cp, c);
    } finally {
      await cp.close();
    }
  }
  const s = await startUnionServer();
  try {
    const cp = await openUnion(s, 'connect');
    try {
      return await check(cp, c);
    } finally {
      await cp.close();
    }
  } finally {
    await s.close();
  }
}

/** The fast-check property of a backend. */
export function property(backend: Backend) {
  return fc.asyncProperty(caseArb(backend), async (c) => {
    const { wrong } = await runCase(backend, c);
    if (wrong.length > 0) throw new Error(wrong.join('\n'));
  });
}

/** flyteadmin's capability set: execution cluster labels at project/domain and workflow level. */
export interface LabelCase {
  history: { project: number; domain: number; workflow: boolean; label: number }[];
  repo: {
    prune: boolean;
    accept: boolean;
    labels: { project: number; domain: number; workflow: boolean; label: number }[];
  };
  order?: Case['order'];
}

const LABEL_PROJECTS = ['flytesnacks', 'project1'];
const LABEL_DOMAINS = ['development', 'production'];
const row = fc.record({
  project: fc.nat(1),
  domain: fc.nat(1),
  workflow: fc.boolean(),
  label: fc.nat(2),
});

export const labelCaseArb: fc.Arbitrary<LabelCase> = fc.record({
  history: fc.array(row, { maxLength: 4 }),
  repo: fc.record({
    prune: fc.boolean(),
    accept: fc.boolean(),
    labels: fc.array(row, { maxLength: 4 }),
  }),
  order: fc.constantFrom(undefined, 'latest-first' as const),
});

const labelOf = (r: LabelCase['history'][number]) => ({
  project: LABEL_PROJECTS[r.project]!,
  domain: LABEL_DOMAINS[r.domain]!,
  workflow: r.workflow ? 'wf.main' : null,
  label: `label-${r.label}`,
});
const keyOf = (l: { project: string; domain: string; workflow: string | null }) =>
  [l.project, l.domain, l.workflow].filter(Boolean).join('/');

/**
 * One flyteadmin case: the rows left by the case before are deleted, the history's rows set,
 * then the repository's labels planned, applied and planned again (`check`).
 */
export async function checkLabels(cp: ControlPlane, c: LabelCase): Promise<Outcome> {
  const calls = cp.executionClusterLabels!;
  const rows = (await readLiveState(cp)).execution_cluster_labels ?? [];
  for (const l of [...rows].sort((a, b) => (b.workflow ? 1 : 0) - (a.workflow ? 1 : 0)))
    await calls.deleteExecutionClusterLabel(l).catch(() => undefined);
  for (const r of c.history) await calls.setExecutionClusterLabel(labelOf(r));
  const labels = new Map(c.repo.labels.map((r) => [keyOf(labelOf(r)), labelOf(r)]));
  const desired: DesiredState = {
    pools: [],
    clusters: [],
    queues: [],
    assignments: [],
    execution_cluster_labels: [...labels.values()]
      .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1))
      .map((l) => desiredExecutionClusterLabel({ ...l, name: keyOf(l).replaceAll('/', '-') })),
    config: {
      prune: c.repo.prune,
      ignore: [],
      manage: ['ExecutionClusterLabel'],
      ...(c.repo.accept
        ? {
            accept_cascade: [...labels.keys(), ...rows.map(keyOf)].map(
              (k) => `ExecutionClusterLabel/${k}`,
            ),
          }
        : {}),
    },
    commit: null,
  };
  return applyAndCheck(cp, desired, c.order);
}
