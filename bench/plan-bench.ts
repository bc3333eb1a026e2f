/**
 * Planner speed and memory (quality.md): builds desired and live states in memory in the
 * reference ratios (~0.5% pools, 20% clusters, 70% queues, 10% assignments) and times
 * computePlan (median of several runs) plus the renderers, at 1,000 and 10,000 objects.
 *
 *   node --import tsx bench/plan-bench.ts [--runs 7]
 */
import { BASELINE_CAPABILITIES, type PoolContract } from '../src/model/common.js';
import type { DesiredState } from '../src/model/desired.js';
import type { LiveState } from '../src/model/live.js';
import { computePlan } from '../src/plan/index.js';
import { renderJson } from '../src/render/json.js';
import { renderMarkdown } from '../src/render/markdown.js';
import { renderText } from '../src/render/text.js';
import {
  desiredAssignment,
  desiredCluster,
  desiredPool,
  desiredQueue,
  liveCluster,
  livePool,
  liveQueue,
  poolContract,
} from '../test/support/builders.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;

const contract = (pool: string, v = 1): PoolContract => poolContract(`s3://${pool}-v${v}`);
const at = { file: 'x.yaml', line: 1, column: 1 };

/** A desired state of `n` objects, and a live state equal to it except for `drift` of the objects. */
function model(n: number, drift: number): { desired: DesiredState; live: LiveState } {
  const nPools = Math.max(2, Math.round(n * 0.005));
  const nClusters = Math.round(n * 0.2);
  const nQueues = Math.round(n * 0.7);
  const nAssign = n - nPools - nClusters - nQueues;
  const pools = Array.from({ length: nPools }, (_, i) => `pool-${i}`);
  const clusters = Array.from({ length: nClusters }, (_, i) => ({
    name: `cluster-${i}`,
    pool: pools[i % nPools]!,
  }));
  const members = new Map<string, string[]>();
  for (const c of clusters) members.set(c.pool, [...(members.get(c.pool) ?? []), c.name]);
  const queues = Array.from({ length: nQueues - nClusters }, (_, i) => {
    const pool = pools[i % nPools]!;
    const m = members.get(pool) ?? [];
    const selector =
      i % 3 === 0
        ? ['*']
        : [m[i % m.length]!, m[(i + 1) % m.length]!].filter((x, j, a) => a.indexOf(x) === j);
    return desiredQueue(
      `queue-${i}`,
      { pool, clusters: selector, run_concurrency: 10 + (i % 50) },
      { source: at },
    );
  });
  // C2: co-named queues keep a registration's settings but their run concurrency.
  const conamed = clusters.map((c, i) =>
    desiredQueue(
      c.name,
      { pool: c.pool, clusters: [c.name], run_concurrency: i % 7, action_concurrency: 0 },
      { source: at },
    ),
  );
  const assignments = Array.from({ length: nAssign }, (_, i) =>
    desiredAssignment({
      name: `a-${i}`,
      project: `project-${Math.floor(i / 3)}`,
      domain: ['development', 'staging', 'production'][i % 3]!,
      pool: pools[i % nPools]!,
      source: at,
    }),
  );
  const byName = <T extends { name: string }>(xs: T[]) =>
    xs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const desired: DesiredState = {
    pools: byName(pools.map((name) => desiredPool(name, contract(name), { source: at }))),
    clusters: byName(clusters.map((c) => desiredCluster(c.name, { pool: c.pool, source: at }))),
    queues: byName([...queues, ...conamed]),
    assignments: assignments.sort((a, b) =>
      `${a.project}/${a.domain}` < `${b.project}/${b.domain}` ? -1 : 1,
    ),
    config: { prune: true, ignore: [] },
    commit: null,
  };
  // Live: the same, with every k-th object drifted (settings changed, cluster disabled, one moved).
  const every = Math.max(1, Math.round(1 / drift));
  const live: LiveState = {
    pools: [
      livePool('default', contract('default')),
      ...desired.pools.map((p) =>
        livePool(p.name, p.contract ?? contract(p.name), members.get(p.name) ?? []),
      ),
    ],
    clusters: desired.clusters.map((c, i) =>
      liveCluster(c.name, { pool: c.pool, enabled: i % every !== 0 }),
    ),
    queues: [
      liveQueue('default', { run_concurrency: 0, action_concurrency: 0 }),
      ...desired.queues.map((q, i) =>
        liveQueue(q.name, {
          ...q.spec,
          run_concurrency: i % every === 0 ? q.spec.run_concurrency + 1 : q.spec.run_concurrency,
          cluster_managed: q.name.startsWith('cluster-'),
        }),
      ),
    ].sort((a, b) => (a.name < b.name ? -1 : 1)),
    assignments: desired.assignments.map(({ project, domain, workflow, pool }) => ({
      project,
      domain,
      workflow,
      pool,
    })),
    capabilities: { ...BASELINE_CAPABILITIES },
  };
  return { desired, live };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time<T>(fn: () => T): [number, T] {
  const t0 = performance.now();
  const r = fn();
  return [performance.now() - t0, r];
}

const empty: LiveState = {
  pools: [livePool('default', contract('default'))],
  clusters: [],
  queues: [liveQueue('default', { run_concurrency: 0, action_concurrency: 0 })],
  assignments: [],
  capabilities: { ...BASELINE_CAPABILITIES },
};

const rows: string[] = [];
const results = new Map<string, number>();
for (const n of [1_000, 10_000]) {
  const { desired, live } = model(n, 0.05);
  for (const [scenario, liveState] of [
    ['empty control plane (all create)', empty],
    ['5% drift', live],
  ] as const) {
    const planTimes: number[] = [];
    let plan = computePlan(desired, liveState); // warm-up (JIT)
    for (let i = 0; i < 2; i++) plan = computePlan(desired, liveState);
    for (let i = 0; i < RUNS; i++) {
      const [ms, p] = time(() => computePlan(desired, liveState));
      planTimes.push(ms);
      plan = p;
    }
    const [textMs] = time(() => renderText(plan, { color: false }));
    const [jsonMs, json] = time(() => renderJson(plan));
    const [mdMs] = time(() => renderMarkdown(plan));
    const objects =
      desired.pools.length +
      desired.clusters.length +
      desired.queues.length +
      desired.assignments.length;
    const m = median(planTimes);
    results.set(`${n}:${scenario}`, m);
    rows.push(
      [
        String(objects).padStart(6),
        scenario.padEnd(34),
        `${m.toFixed(1)} ms`.padStart(10),
        String(plan.steps.length).padStart(6),
        `${textMs.toFixed(1)} ms`.padStart(9),
        `${jsonMs.toFixed(1)} ms`.padStart(9),
        `${(json.length / 1e6).toFixed(1)} MB`.padStart(7),
        `${mdMs.toFixed(1)} ms`.padStart(9),
      ].join('  '),
    );
  }
}
const mem = process.memoryUsage();
console.log(`computePlan, median of ${RUNS} runs (Node ${process.version})`);
console.log(
  ['objects', 'scenario'.padEnd(34), 'plan', 'steps', 'text', 'json', 'size', 'markdown'].join(
    '  ',
  ),
);
for (const r of rows) console.log(r);
for (const s of ['empty control plane (all create)', '5% drift']) {
  const ratio = results.get(`10000:${s}`)! / results.get(`1000:${s}`)!;
  console.log(`growth 1k → 10k (${s}): ${ratio.toFixed(1)}× (target ≤ 12×)`);
}
console.log(
  `memory at the end: rss ${(mem.rss / 1e6).toFixed(0)} MB, heap used ${(mem.heapUsed / 1e6).toFixed(0)} MB`,
);
