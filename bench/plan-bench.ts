/**
 * Planner speed and memory (quality.md): builds desired and live states in memory in the
 * reference ratios (~0.5% pools, 20% clusters, 70% queues, 10% assignments) and times
 * computePlan (median of several runs) plus the renderers, at 1,000 and 10,000 objects.
 *
 *   node --import tsx bench/plan-bench.ts [--runs 7]
 */
import {
  BASELINE_CAPABILITIES,
  QUEUE_DEFAULTS,
  type PoolContract,
  type QueueSpec,
} from '../src/model/common.js';
import type { DesiredState } from '../src/model/desired.js';
import type { LiveState } from '../src/model/live.js';
import { computePlan } from '../src/plan/index.js';
import { renderJson } from '../src/render/json.js';
import { renderMarkdown } from '../src/render/markdown.js';
import { renderText } from '../src/render/text.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;

const contract = (pool: string, v = 1): PoolContract => ({
  object_store_ref: { uri: `s3://${pool}-v${v}`, endpoint: '' },
  secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
  image_registry: null,
});
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
    const spec: QueueSpec = {
      pool,
      clusters:
        i % 3 === 0
          ? ['*']
          : [m[i % m.length]!, m[(i + 1) % m.length]!].filter((x, j, a) => a.indexOf(x) === j),
      run_concurrency: 10 + (i % 50),
      action_concurrency: 100,
      depth: 10000,
      priority: 'medium',
      fairness: 'round_robin',
    };
    return { name: `queue-${i}`, spec };
  });
  const conamed = clusters.map((c, i) => ({
    name: c.name,
    spec: {
      pool: c.pool,
      clusters: [c.name],
      ...QUEUE_DEFAULTS,
      run_concurrency: i % 7,
    } as QueueSpec,
  }));
  const assignments = Array.from({ length: nAssign }, (_, i) => ({
    name: `a-${i}`,
    project: `project-${Math.floor(i / 3)}`,
    domain: ['development', 'staging', 'production'][i % 3]!,
    workflow: null,
    pool: pools[i % nPools]!,
    annotations: {},
    source: at,
  }));
  const byName = <T extends { name: string }>(xs: T[]) =>
    xs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const desired: DesiredState = {
    pools: byName(
      pools.map((name) => ({ name, contract: contract(name), annotations: {}, source: at })),
    ),
    clusters: byName(
      clusters.map((c) => ({ ...c, enabled: true, data_plane: null, annotations: {}, source: at })),
    ),
    queues: byName([...queues, ...conamed].map((q) => ({ ...q, annotations: {}, source: at }))),
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
      { name: 'default', contract: contract('default'), member_clusters: [] },
      ...desired.pools.map((p) => ({
        name: p.name,
        contract: p.contract ?? contract(p.name),
        member_clusters: members.get(p.name) ?? [],
      })),
    ],
    clusters: desired.clusters.map((c, i) => ({
      name: c.name,
      pool: c.pool,
      enabled: i % every !== 0,
      health: 'healthy' as const,
      unhealthy_reasons: [],
      config_drift: [],
      bound_queues: [],
    })),
    queues: [
      {
        name: 'default',
        pool: 'default',
        clusters: ['*'],
        ...QUEUE_DEFAULTS,
        cluster_managed: false,
        available_clusters: [],
      },
      ...desired.queues.map((q, i) => ({
        name: q.name,
        ...q.spec,
        run_concurrency: i % every === 0 ? q.spec.run_concurrency + 1 : q.spec.run_concurrency,
        cluster_managed: q.name.startsWith('cluster-'),
        available_clusters: [],
      })),
    ].sort((a, b) => (a.name < b.name ? -1 : 1)),
    assignments: desired.assignments.map((a) => ({
      project: a.project,
      domain: a.domain,
      workflow: a.workflow,
      pool: a.pool,
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
  pools: [{ name: 'default', contract: contract('default'), member_clusters: [] }],
  clusters: [],
  queues: [
    {
      name: 'default',
      pool: 'default',
      clusters: ['*'],
      ...QUEUE_DEFAULTS,
      cluster_managed: false,
      available_clusters: [],
    },
  ],
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
