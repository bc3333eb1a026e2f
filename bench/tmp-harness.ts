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
import { renderJson, renderMarkdown, renderText } from '../src/render/index.js';

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
        contract: p.contract,
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


const { desired, live } = model(1000, 0.05);
for (let k=0;k<40;k++) computePlan(desired, live);
