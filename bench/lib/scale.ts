/**
 * The scale model: a deterministic (seeded) organisation of N objects in the ratios of the
 * reference organisation (quality.md): 0.5% pools, 20% clusters, 70% queues, 10% pool
 * assignments. Pure data; writing it as YAML (yaml-writer.ts) and seeding a control plane
 * with it (seed.ts) are separate.
 *
 * Every generated model satisfies the cross-document rules of manifests.md (V1-V8), so the
 * repository it is written to validates clean, and its seed order satisfies the call rules
 * of domain.md (P3, C1, C4, Q1, Q2, A1).
 */
import type {
  ClusterDataPlane,
  PoolContract,
  QueueSpec,
  SecretStoreType,
} from '../../src/model/common.js';
import { QUEUE_DEFAULTS } from '../../src/model/common.js';
import { poolContract, queueSpec } from '../../test/support/builders.js';

export interface ScalePool {
  name: string;
  contract: PoolContract;
  /** Pools carrying production workloads are protected from destroy. */
  preventDestroy: boolean;
}

export interface ScaleCluster {
  name: string;
  pool: string;
  enabled: boolean;
  /** C4: when declared, equals the pool's contract (V6). */
  data_plane: ClusterDataPlane | null;
}

export interface ScaleQueue {
  name: string;
  /** The complete spec (defaults applied), as the planner and the control plane see it. */
  spec: QueueSpec;
  /** C2/Q4: this document manages a cluster's co-named queue (pool and selector are the cluster's). */
  coNamed: boolean;
  /** Spec fields left out of the YAML because they equal the Q1 defaults (as people write them). */
  omitted: ReadonlyArray<'pool' | 'clusters' | 'depth' | 'priority' | 'fairness'>;
}

export interface ScaleAssignment {
  name: string;
  project: string;
  domain: string;
  workflow: string | null;
  pool: string;
}

export interface ScaleModel {
  objects: number;
  seed: number;
  pools: ScalePool[];
  clusters: ScaleCluster[];
  queues: ScaleQueue[];
  assignments: ScaleAssignment[];
}

export interface ScaleCounts {
  pools: number;
  clusters: number;
  queues: number;
  assignments: number;
}

/** How N objects split into kinds (quality.md: 50 / 2,000 / 7,000 / 1,000 at N = 10,000). */
export function scaleCounts(objects: number): ScaleCounts {
  if (!Number.isInteger(objects) || objects < 4) {
    throw new RangeError(`objects must be an integer >= 4 (got ${objects})`);
  }
  const pools = Math.max(1, Math.round(objects * 0.005));
  const clusters = Math.max(1, Math.round(objects * 0.2));
  const assignments = Math.max(1, Math.round(objects * 0.1));
  const queues = objects - pools - clusters - assignments;
  return { pools, clusters, queues, assignments };
}

/** mulberry32: tiny, fast, and the same sequence on every platform for a given seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)] as T;
const pad = (n: number, width: number) => String(n).padStart(width, '0');

const TEAMS = [
  'ml-platform',
  'search',
  'ads-ranking',
  'payments',
  'genomics',
  'fraud',
  'recsys',
  'vision',
  'speech',
  'forecasting',
  'risk',
  'data-eng',
] as const;
const ENVS = ['prod', 'staging', 'dev'] as const;
const REGIONS = [
  { name: 'us-east-1', store: 's3', secrets: 'AWS_SECRETS_MANAGER' },
  { name: 'us-west-2', store: 's3', secrets: 'AWS_SECRETS_MANAGER' },
  { name: 'eu-west-1', store: 's3', secrets: 'VAULT' },
  { name: 'europe-west4', store: 'gs', secrets: 'GCP_SECRET_MANAGER' },
  { name: 'us-central1', store: 'gs', secrets: 'GCP_SECRET_MANAGER' },
  { name: 'eastus2', store: 'abfs', secrets: 'AZURE_KEY_VAULT' },
] as const satisfies ReadonlyArray<{ name: string; store: string; secrets: SecretStoreType }>;
const WORKLOADS = [
  'training',
  'inference',
  'batch',
  'etl',
  'eval',
  'backfill',
  'gpu-large',
  'interactive',
  'nightly',
  'sweep',
] as const;
const DOMAINS = ['development', 'staging', 'production'] as const;

/**
 * Generates the organisation. The same (objects, seed) always gives the same model, byte for
 * byte once written, so timings from different machines and commits compare like for like.
 */
export function generateScaleModel(objects: number, seed = 1): ScaleModel {
  const counts = scaleCounts(objects);
  const random = rng(seed);

  const pools: ScalePool[] = [];
  const poolRegion = new Map<string, (typeof REGIONS)[number]>();
  for (let i = 0; i < counts.pools; i++) {
    const team = TEAMS[i % TEAMS.length] as string;
    const env = ENVS[Math.floor(i / TEAMS.length) % ENVS.length] as string;
    const region = pick(random, REGIONS);
    const name = `${team}-${env}-${pad(i, 3)}`;
    poolRegion.set(name, region);
    pools.push({
      name,
      // P7: one object store per pool (V7).
      contract: poolContract(`${region.store}://union-${name}-metadata/${region.name}`, {
        secret_store: { type: region.secrets, locator: region.name },
        image_registry:
          random() < 0.6
            ? { locator: `123456789012.dkr.ecr.${region.name}.amazonaws.com/${team}` }
            : null,
      }),
      preventDestroy: env === 'prod' && random() < 0.5,
    });
  }

  // Clusters are spread evenly over the pools (never into `default`, whose contract is set
  // when the control plane is provisioned, P1, and so cannot be known here).
  const clusters: ScaleCluster[] = [];
  const clustersByPool = new Map<string, string[]>(pools.map((p) => [p.name, []]));
  for (let i = 0; i < counts.clusters; i++) {
    const pool = pools[i % pools.length] as ScalePool;
    const region = poolRegion.get(pool.name)!;
    const members = clustersByPool.get(pool.name)!;
    const team = pool.name.replace(/-(prod|staging|dev)-\d+$/, '');
    const name = `${team}-${region.name}-${pad(i, 4)}`;
    members.push(name);
    clusters.push({
      name,
      pool: pool.name,
      enabled: random() >= 0.05,
      data_plane: random() < 0.3 ? declaredDataPlane(pool.contract) : null,
    });
  }

  const queues: ScaleQueue[] = [];
  // About 5% of clusters get a document that tunes their co-named queue (C2, Q4).
  const coNamedCount = Math.min(clusters.length, Math.round(counts.queues * 0.05));
  const coNamedStride = clusters.length / Math.max(1, coNamedCount);
  for (let i = 0; i < coNamedCount; i++) {
    const cluster = clusters[Math.floor(i * coNamedStride)] as ScaleCluster;
    queues.push({
      name: cluster.name,
      spec: {
        ...QUEUE_DEFAULTS,
        pool: cluster.pool,
        clusters: [cluster.name],
        run_concurrency: pick(random, [10, 25, 50, 100]),
        action_concurrency: pick(random, [100, 250, 500, 1000]),
      },
      coNamed: true,
      omitted: ['pool', 'clusters', 'depth', 'priority', 'fairness'],
    });
  }
  for (let i = 0; queues.length < counts.queues; i++) {
    queues.push(standaloneQueue(random, i, pools, clustersByPool));
  }
  queues.sort((a, b) => compare(a.name, b.name));

  const assignments: ScaleAssignment[] = [];
  for (let i = 0; i < counts.assignments; i++) {
    // Four keys per project: one per domain and a workflow override in production (A2).
    const project = `${TEAMS[Math.floor(i / 4) % TEAMS.length]}-project-${pad(Math.floor(i / 4), 4)}`;
    const slot = i % 4;
    const domain = DOMAINS[Math.min(slot, 2)] as string;
    const workflow = slot === 3 ? `critical-wf-${pad(Math.floor(random() * 1000), 3)}` : null;
    assignments.push({
      name: workflow === null ? `${project}-${domain}` : `${project}-${domain}-${workflow}`,
      project,
      domain,
      workflow,
      pool: (pick(random, pools) as ScalePool).name,
    });
  }

  return { objects, seed, pools, clusters, queues, assignments };
}

/** The data plane a cluster that keeps its pool's contract declares and reports (C4, C5). */
export function declaredDataPlane(contract: PoolContract): ClusterDataPlane {
  const plane: ClusterDataPlane = {
    object_store_uri: contract.object_store_ref.uri,
    secret_store: { ...contract.secret_store },
  };
  if (contract.image_registry) plane.image_registry = contract.image_registry.locator;
  return plane;
}

function standaloneQueue(
  random: Random,
  index: number,
  pools: ScalePool[],
  clustersByPool: Map<string, string[]>,
): ScaleQueue {
  const name = `${pick(random, TEAMS)}-${pick(random, WORKLOADS)}-${pad(index, 5)}`;
  const base = {
    run_concurrency: pick(random, [0, 5, 10, 20, 50, 100, 200]),
    action_concurrency: pick(random, [0, 50, 100, 500, 1000, 5000]),
  };
  const roll = random();
  const omitted: Array<ScaleQueue['omitted'][number]> = [];
  const depth =
    random() < 0.6
      ? (omitted.push('depth'), QUEUE_DEFAULTS.depth)
      : pick(random, [0, 1000, 5000, 20000]);
  const priority =
    random() < 0.7
      ? (omitted.push('priority'), QUEUE_DEFAULTS.priority)
      : pick(random, ['min', 'max'] as const);
  const fairness =
    random() < 0.8
      ? (omitted.push('fairness'), QUEUE_DEFAULTS.fairness)
      : ('shuffle_interleave' as const);

  if (roll < 0.02) {
    // A few org-wide queues live in `default` and route anywhere (pool and selector defaulted).
    omitted.push('pool', 'clusters');
    return {
      name,
      spec: queueSpec({ ...base, pool: 'default', clusters: ['*'], depth, priority, fairness }),
      coNamed: false,
      omitted,
    };
  }
  const pool = pick(random, pools);
  const members = clustersByPool.get(pool.name) ?? [];
  let clusters: string[];
  if (roll < 0.3 || members.length === 0) {
    clusters = ['*'];
    if (roll < 0.1) omitted.push('clusters');
  } else if (roll < 0.31) {
    clusters = []; // Q6: a retired queue that routes nowhere.
  } else {
    // Pinned: one to three distinct clusters of the queue's pool (V3).
    const r = random();
    const wanted = Math.min(members.length, r < 0.6 ? 1 : r < 0.9 ? 2 : 3);
    const chosen = new Set<string>();
    while (chosen.size < wanted) chosen.add(pick(random, members));
    clusters = [...chosen].sort(compare);
  }
  return {
    name,
    spec: queueSpec({ ...base, pool: pool.name, clusters, depth, priority, fairness }),
    coNamed: false,
    omitted,
  };
}

export interface DriftOptions {
  /** Fraction of (standalone) queues whose limits differ live (default 0.1). */
  queueFraction?: number;
  /** Fraction of clusters registered live in another pool than the repo says (default 0.005). */
  clusterMoveFraction?: number;
  seed?: number;
}

export interface DriftSummary {
  queuesChanged: number;
  clustersMoved: number;
  selectorsPruned: number;
}

/**
 * A live state that differs from `model` the way a busy organisation's does: some queues
 * retuned by hand, some clusters re-registered in another pool. The result is itself a
 * consistent control-plane state (Q1: a queue names only clusters of its own pool, so a
 * moved cluster is taken out of its old pool's selectors, as C8 would have done).
 */
export function driftModel(
  model: ScaleModel,
  options: DriftOptions = {},
): { model: ScaleModel; summary: DriftSummary } {
  const random = rng((options.seed ?? model.seed) ^ 0x5eed);
  const queueFraction = options.queueFraction ?? 0.1;
  const moveFraction = options.clusterMoveFraction ?? 0.005;
  const summary: DriftSummary = { queuesChanged: 0, clustersMoved: 0, selectorsPruned: 0 };

  const coNamed = new Set(model.queues.filter((q) => q.coNamed).map((q) => q.name));
  const moved = new Map<string, string>();
  if (model.pools.length > 1) {
    const candidates = model.clusters.filter((c) => !coNamed.has(c.name));
    const wanted = Math.min(
      candidates.length,
      Math.max(1, Math.round(model.clusters.length * moveFraction)),
    );
    const stride = candidates.length / Math.max(1, wanted);
    const poolIndex = new Map(model.pools.map((p, i) => [p.name, i]));
    for (let i = 0; i < wanted; i++) {
      const cluster = candidates[Math.floor(i * stride)] as ScaleCluster;
      const next = model.pools[
        ((poolIndex.get(cluster.pool) ?? 0) + 1) % model.pools.length
      ] as ScalePool;
      moved.set(cluster.name, next.name);
    }
  }
  const clusters = model.clusters.map((c) => {
    const pool = moved.get(c.name);
    if (pool === undefined) return c;
    summary.clustersMoved++;
    // Registered without a declared data plane: the old one would fail C4 in the new pool.
    return { ...c, pool, data_plane: null };
  });

  const standalone = model.queues.filter((q) => !q.coNamed).length;
  const toChange = Math.round(standalone * queueFraction);
  const changeEvery = standalone / Math.max(1, toChange);
  let standaloneIndex = 0;
  let nextChange = 0;
  const queues = model.queues.map((q) => {
    let spec = q.spec;
    if (spec.clusters.some((c) => moved.has(c))) {
      spec = { ...spec, clusters: spec.clusters.filter((c) => !moved.has(c)) };
      summary.selectorsPruned++;
    }
    if (!q.coNamed) {
      if (standaloneIndex >= Math.floor(nextChange) && summary.queuesChanged < toChange) {
        spec = {
          ...spec,
          run_concurrency: spec.run_concurrency + 1 + Math.floor(random() * 20),
          depth: spec.depth === 5000 ? 6000 : 5000,
        };
        summary.queuesChanged++;
        nextChange += changeEvery;
      }
      standaloneIndex++;
    }
    return spec === q.spec ? q : { ...q, spec };
  });

  return { model: { ...model, clusters, queues }, summary };
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
