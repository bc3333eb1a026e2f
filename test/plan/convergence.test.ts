/**
 * Convergence (plan.md): for seeded random desired/live pairs, executing the plan's steps in
 * dependency order against the embedded control plane (which enforces every rule of
 * domain.md) succeeds, and planning again shows only noop, blocked and unmanaged.
 */
import { whyText } from '../../src/render/common.js';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { formatCapabilities } from '../../src/model/capabilities.js';
import {
  BASELINE_CAPABILITIES,
  type Capabilities,
  DEFAULT_POOL,
  PRIORITIES,
  FAIRNESS_POLICIES,
  WILDCARD,
  assignmentKeyString,
  type PoolContract,
} from '../../src/model/common.js';
import type { DesiredCluster, DesiredQueue, DesiredState } from '../../src/model/desired.js';
import type { LiveState } from '../../src/model/live.js';
import type { Plan } from '../../src/model/plan.js';
import { computePlan } from '../../src/plan/index.js';
import { assertTopological } from './helpers.js';
import { unaccountedStep } from '../../src/plan/steps.js';
import { targetPlan } from '../../src/plan/target.js';
import { runSteps } from './runner.js';
import {
  desiredAssignment,
  desiredCluster,
  desiredPool,
  desiredQueue,
  poolContract,
  queueSpec,
} from '../support/builders.js';

function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    chance: (p: number) => next() < p,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    subset: <T>(xs: readonly T[], p: number): T[] => xs.filter(() => next() < p),
  };
}
type Rng = ReturnType<typeof rng>;

const POOLS = ['pa', 'pb', 'pc', 'pd'];
const CLUSTERS = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'];
const QUEUES = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5'];
const PROJECTS = ['alpha', 'beta'];
const DOMAINS = ['development', 'production'];

const contractOf = (pool: string, version: number): PoolContract =>
  poolContract(`s3://${pool}-v${version}`);

function settings(r: Rng) {
  return {
    run_concurrency: r.int(3) * 10,
    action_concurrency: r.int(3) * 100,
    depth: r.pick([0, 5000, 10000]),
    priority: r.pick(PRIORITIES),
    fairness: r.pick(FAIRNESS_POLICIES),
  };
}

/** A random desired state that passes validation (V1–V8), reusing names the live state may hold. */
function randomDesired(r: Rng, defaultContract: PoolContract): DesiredState {
  const pools = r
    .subset(POOLS, 0.7)
    .map((name) => desiredPool(name, contractOf(name, r.chance(0.15) ? 2 : 1)));
  if (r.chance(0.3)) pools.unshift(desiredPool(DEFAULT_POOL, defaultContract));
  const poolNames = [DEFAULT_POOL, ...pools.map((p) => p.name).filter((n) => n !== DEFAULT_POOL)];
  const clusters: DesiredCluster[] = r.subset(CLUSTERS, 0.6).map((name) => {
    const pool = r.pick(poolNames);
    const declared = pools.find((p) => p.name === pool);
    return desiredCluster(name, {
      pool,
      enabled: !r.chance(0.2),
      // V6: a declared data plane matches the pool's declared contract.
      data_plane:
        declared && r.chance(0.3)
          ? { object_store_uri: declared.contract!.object_store_ref.uri }
          : null,
    });
  });
  const inPool = (pool: string) => clusters.filter((c) => c.pool === pool).map((c) => c.name);
  const queues: DesiredQueue[] = r.subset(QUEUES, 0.6).map((name) => {
    const pool = r.pick(poolNames);
    const selector = r.chance(0.3) ? [WILDCARD] : r.chance(0.2) ? [] : r.subset(inPool(pool), 0.5);
    return desiredQueue(name, { pool, clusters: selector, ...settings(r) });
  });
  // Queue documents for co-named queues (V5: the cluster's pool and selector) and `default`.
  for (const c of clusters) {
    if (r.chance(0.25)) {
      queues.push(desiredQueue(c.name, { pool: c.pool, clusters: [c.name], ...settings(r) }));
    }
  }
  if (r.chance(0.3)) {
    queues.push(
      desiredQueue('default', { pool: DEFAULT_POOL, clusters: [WILDCARD], ...settings(r) }),
    );
  }
  const seen = new Set<string>();
  const assignments = PROJECTS.flatMap((project) =>
    DOMAINS.filter(() => r.chance(0.5)).map((domain) =>
      desiredAssignment({
        project,
        domain,
        workflow: r.chance(0.3) ? 'wf' : null,
        pool: r.pick(poolNames),
      }),
    ),
  ).filter((a) => !seen.has(assignmentKeyString(a)) && Boolean(seen.add(assignmentKeyString(a))));
  const byName = <T extends { name: string }>(xs: T[]) =>
    xs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    pools: byName(pools),
    clusters: byName(clusters),
    queues: byName(queues),
    assignments: assignments.sort((a, b) =>
      assignmentKeyString(a) < assignmentKeyString(b) ? -1 : 1,
    ),
    config: { prune: r.chance(0.5), ignore: [] },
    commit: null,
  };
}

/** Each capability on or off at random (domain.md, Capabilities); a third of the seeds keep all off. */
function randomCapabilities(seed: number): Capabilities {
  const r = rng(seed * 7919 + 13);
  if (r.chance(1 / 3)) return { ...BASELINE_CAPABILITIES };
  return {
    drain: r.chance(0.6),
    queue_delete: r.chance(0.5),
    cluster_move: r.chance(0.5),
    pool_update: r.chance(0.5),
    queue_move: r.chance(0.5),
  };
}

/** Random live history made of real calls (so the live state is one the control plane can reach). */
async function randomLive(r: Rng, cp: EmbeddedControlPlane): Promise<void> {
  const pools = r.subset(POOLS, 0.6);
  for (const p of pools) await cp.createPool(p, contractOf(p, 1));
  const poolNames = [DEFAULT_POOL, ...pools];
  const clusters: { name: string; pool: string }[] = [];
  for (const name of r.subset(CLUSTERS, 0.6)) {
    const pool = r.pick(poolNames);
    await cp.registerCluster({ name, pool });
    clusters.push({ name, pool });
    if (r.chance(0.2)) await cp.updateCluster(name, { enabled: false });
  }
  for (const name of r.subset(QUEUES, 0.5)) {
    const pool = r.pick(poolNames);
    const members = clusters.filter((c) => c.pool === pool).map((c) => c.name);
    const spec = queueSpec({
      pool,
      clusters: r.chance(0.3) ? [WILDCARD] : r.subset(members, 0.6),
      ...settings(r),
    });
    await cp.createQueue({ name, ...spec });
  }
  for (const c of clusters) {
    if (r.chance(0.2))
      await cp.deleteCluster(c.name); // leaves an orphaned co-named queue (C7, C8)
    else if (r.chance(0.3))
      await cp.reportClusterStatus(c.name, r.chance(0.5) ? { object_store_uri: 's3://wrong' } : {});
  }
  // With drain: queues left drained (an apply cut short, an operator), some then deleted.
  const caps = await cp.capabilities();
  if (caps.drain) {
    for (const q of await cp.listQueues()) {
      if (q.name === 'default' || !r.chance(0.2)) continue;
      await cp.drainQueue(q.name);
      if (
        caps.queue_delete &&
        r.chance(0.3) &&
        !(q.cluster_managed && clusters.some((c) => c.name === q.name))
      )
        await cp.deleteQueue(q.name).catch(() => undefined);
    }
  }
  for (const project of PROJECTS) {
    if (r.chance(0.5))
      await cp.setAssignment({
        project,
        domain: r.pick(DOMAINS),
        workflow: null,
        pool: r.pick(poolNames),
      });
  }
}

const SETTLED = new Set(['noop', 'blocked', 'unmanaged']);

describe('convergence: plan → apply → plan shows only noop, blocked, unmanaged', () => {
  const seeds = Array.from(
    { length: Number(process.env.CONVERGENCE_SEEDS ?? 150) },
    (_, i) => i + 1,
  );
  it.each(seeds)('seed %i (three generations of desired states)', async (seed) => {
    const r = rng(seed);
    const cp = await EmbeddedControlPlane.open({
      path: null,
      capabilities: randomCapabilities(seed),
    });
    try {
      await randomLive(r, cp);
      const defaultContract = (await cp.getPool(DEFAULT_POOL)).contract;
      for (let generation = 0; generation < 3; generation++) {
        const desired = randomDesired(r, defaultContract);
        const plan = computePlan(desired, await readLiveState(cp));
        assertTopological(plan.steps);
        expect(plan.errors).toEqual([]);
        // No step for a blocked (or any other unmade) change (issue 73 item 4).
        expect(unaccountedStep(plan)).toBeNull();
        // Every partial plan of it (`--target`) is one `apply FILE` accepts.
        for (const c of plan.changes.filter((x) => x.action !== 'noop')) {
          const part = targetPlan(plan, [c.address], []);
          assertTopological(part.steps);
          expect(unaccountedStep(part), `--target ${c.address}`).toBeNull();
        }
        if (process.env.DEBUG_SEED === String(seed))
          console.log(
            generation,
            JSON.stringify(
              plan.changes
                .filter((c) => c.action !== 'noop')
                .map((c) => [c.address, c.action, whyText(c)]),
              null,
              1,
            ),
            plan.steps.map((s) => `${s.id} ${s.op} ${s.target} <- ${s.depends_on.join(',')}`),
          );
        const before = await readLiveState(cp);
        await runSteps(plan, cp);
        const after = await readLiveState(cp);
        expect(unshownChanges(plan, before, after), `generation ${generation}`).toEqual([]);
        const again = computePlan(desired, after);
        const unsettled = again.changes
          .filter((c) => !SETTLED.has(c.action))
          .map((c) => `${c.action} ${c.address} ${JSON.stringify(c.diff)}`);
        expect(
          unsettled,
          `generation ${generation} ${formatCapabilities(after.capabilities)}`,
        ).toEqual([]);
        expect(again.steps).toEqual([]);
        // What the first plan predicted is what the control plane now holds.
        for (const c of plan.changes) {
          if (c.kind !== 'Queue' || c.action === 'blocked' || c.after === null) continue;
          const q = after.queues.find((x) => x.name === c.name);
          expect(q, c.address).toBeDefined();
          expect({ pool: q!.pool, clusters: q!.clusters }, c.address).toEqual({
            pool: c.after.pool,
            clusters: c.after.clusters,
          });
        }
      }
    } finally {
      await cp.close();
    }
  });
});

/** Each pool, cluster, queue and assignment as the control plane has it, by address. */
function objectsOf(l: LiveState): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of l.pools) m.set(`ClusterPool/${p.name}`, JSON.stringify(p.contract));
  for (const c of l.clusters)
    m.set(`Cluster/${c.name}`, JSON.stringify({ pool: c.pool, enabled: c.enabled }));
  // available_clusters is derived (a `*` selector's members), not written.
  for (const q of l.queues)
    m.set(`Queue/${q.name}`, JSON.stringify({ ...q, available_clusters: [] }));
  for (const a of l.assignments)
    m.set(`PoolAssignment/${assignmentKeyString(a)}`, JSON.stringify(a));
  return m;
}

/**
 * What changed on the control plane that the plan does not show: objects whose change has no
 * diff, and queues whose drain state changed without a `state` diff.
 */
function unshownChanges(plan: Plan, before: LiveState, after: LiveState): string[] {
  const shown = new Set(plan.changes.filter((x) => x.diff.length > 0).map((x) => x.address));
  const b = objectsOf(before);
  const a = objectsOf(after);
  const changed = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
  const stateShown = new Set(
    plan.changes.filter((x) => x.diff.some((d) => d.path === 'state')).map((x) => x.address),
  );
  const active = (l: LiveState, q: string) =>
    (l.queues.find((x) => x.name === q)?.state ?? 'active') === 'active';
  const drainFlipped = after.queues
    .filter((q) => before.queues.some((x) => x.name === q.name))
    .filter((q) => active(before, q.name) !== active(after, q.name))
    .map((q) => `Queue/${q.name}`);
  return [
    ...changed.filter((k) => !shown.has(k)),
    ...drainFlipped.filter((k) => !stateShown.has(k)),
  ];
}

describe('partial convergence: plan --target X → apply changes only what it shows → plan --target X shows nothing to do', () => {
  const seeds = Array.from(
    { length: Number(process.env.CONVERGENCE_SEEDS ?? 100) },
    (_, i) => i + 1,
  );
  it.each(seeds)('seed %i (each changed address targeted alone)', async (seed) => {
    // The live state of `seed`, made again for each target (the same draws in the same order).
    const seeded = async () => {
      const cp = await EmbeddedControlPlane.open({
        path: null,
        capabilities: randomCapabilities(seed),
      });
      const r = rng(seed);
      await randomLive(r, cp);
      return { cp, r };
    };
    const first = await seeded();
    const desired = randomDesired(first.r, (await first.cp.getPool(DEFAULT_POOL)).contract);
    const live = await readLiveState(first.cp);
    const plan = computePlan(desired, live);
    await first.cp.close();
    for (const c of plan.changes.filter((x) => !SETTLED.has(x.action))) {
      const { cp } = await seeded();
      try {
        const partial = targetPlan(plan, [c.address], []);
        await runSteps(partial, cp);
        const after = await readLiveState(cp);
        expect(unshownChanges(partial, live, after), `--target ${c.address}`).toEqual([]);
        const again = computePlan(desired, after);
        // Deleted: nothing left to target.
        if (!again.changes.some((x) => x.address === c.address)) continue;
        const left = targetPlan(again, [c.address], [])
          .changes.filter((x) => !SETTLED.has(x.action))
          .map((x) => `${x.action} ${x.address} ${JSON.stringify(x.diff)}`);
        expect(left, `--target ${c.address}`).toEqual([]);
      } finally {
        await cp.close();
      }
    }
  });
});
