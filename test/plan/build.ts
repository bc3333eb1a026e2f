/** Compact builders of DesiredState / LiveState for planner tests (defaults of domain.md applied). */
import {
  BASELINE_CAPABILITIES,
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  QUEUE_DEFAULTS,
  WILDCARD,
  type PoolContract,
  type QueueSpec,
} from '../../src/model/common.js';
import type {
  DesiredAssignment,
  DesiredCluster,
  DesiredPool,
  DesiredQueue,
  DesiredState,
} from '../../src/model/desired.js';
import type {
  ClusterHealth,
  LiveCluster,
  LivePool,
  LiveQueue,
  LiveState,
} from '../../src/model/live.js';

export const contract = (bucket: string, extra: Partial<PoolContract> = {}): PoolContract => ({
  object_store_ref: { uri: `s3://${bucket}`, endpoint: '' },
  secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
  image_registry: null,
  ...extra,
});

const src = (file: string, line = 1) => ({ file, line, column: 1 });

export interface DesiredInput {
  /** null: the contract is marked unknown (`poolsync/contract: unknown`). */
  pools?: Record<
    string,
    PoolContract | null | { contract: PoolContract | null; annotations: Record<string, string> }
  >;
  clusters?: Record<
    string,
    { pool?: string; enabled?: boolean; annotations?: Record<string, string> }
  >;
  queues?: Record<string, Partial<QueueSpec> & { annotations?: Record<string, string> }>;
  assignments?: {
    project: string;
    domain: string;
    workflow?: string;
    pool: string;
    annotations?: Record<string, string>;
  }[];
  prune?: boolean;
  commit?: string | null;
}

export function desired(input: DesiredInput = {}): DesiredState {
  const pools: DesiredPool[] = Object.entries(input.pools ?? {}).map(([name, p], i) => {
    const c = p === null ? null : 'contract' in p ? p.contract : p;
    const annotations =
      p !== null && 'annotations' in p
        ? p.annotations
        : c === null
          ? { 'poolsync/contract': 'unknown' }
          : {};
    return { name, contract: c, annotations, source: src('pools.yaml', i * 10 + 1) };
  });
  const clusters: DesiredCluster[] = Object.entries(input.clusters ?? {}).map(([name, c], i) => ({
    name,
    pool: c.pool ?? DEFAULT_POOL,
    enabled: c.enabled ?? true,
    data_plane: null,
    annotations: c.annotations ?? {},
    source: src('clusters.yaml', i * 10 + 1),
  }));
  const queues: DesiredQueue[] = Object.entries(input.queues ?? {}).map(([name, q], i) => {
    const { annotations, ...spec } = q;
    return {
      name,
      spec: {
        pool: DEFAULT_POOL,
        clusters: [WILDCARD],
        run_concurrency: 10,
        action_concurrency: 100,
        depth: QUEUE_DEFAULTS.depth,
        priority: QUEUE_DEFAULTS.priority,
        fairness: QUEUE_DEFAULTS.fairness,
        ...spec,
      },
      annotations: annotations ?? {},
      source: src('queues.yaml', i * 10 + 1),
    };
  });
  const assignments: DesiredAssignment[] = (input.assignments ?? []).map((a, i) => ({
    name: `a${i}`,
    project: a.project,
    domain: a.domain,
    workflow: a.workflow ?? null,
    pool: a.pool,
    annotations: a.annotations ?? {},
    source: src('assignments.yaml', i * 10 + 1),
  }));
  const byName = <T extends { name: string }>(xs: T[]) =>
    xs.sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    pools: byName(pools),
    clusters: byName(clusters),
    queues: byName(queues),
    assignments,
    config: { prune: input.prune ?? false, ignore: [] },
    commit: input.commit ?? null,
  };
}

export interface LiveInput {
  pools?: Record<string, PoolContract>;
  clusters?: Record<string, { pool?: string; enabled?: boolean; health?: ClusterHealth }>;
  /** Queues other than the co-named and default ones (which are added like the control plane does). */
  queues?: Record<string, Partial<QueueSpec> & { cluster_managed?: boolean }>;
  assignments?: { project: string; domain: string; workflow?: string; pool: string }[];
  /** Skip the C2 co-named queues (e.g. to model an orphan differently). */
  noConamed?: string[];
  /** Model a control plane whose `default` queue is missing (C3). */
  noDefaultQueue?: boolean;
}

export const DEFAULT_CONTRACT = contract('default-bucket');

/** A live state as a control plane would report it: default pool and queue (P1), co-named queues (C2). */
export function live(input: LiveInput = {}): LiveState {
  const pools: Record<string, PoolContract> = {
    [DEFAULT_POOL]: DEFAULT_CONTRACT,
    ...(input.pools ?? {}),
  };
  const clusters: LiveCluster[] = Object.entries(input.clusters ?? {}).map(([name, c]) => ({
    name,
    pool: c.pool ?? DEFAULT_POOL,
    enabled: c.enabled ?? true,
    health: c.health ?? 'healthy',
    unhealthy_reasons: [],
    config_drift: [],
    bound_queues: [],
  }));
  const queues = new Map<string, LiveQueue>();
  const q = (name: string, spec: Partial<QueueSpec>, managed: boolean): LiveQueue => ({
    name,
    pool: DEFAULT_POOL,
    clusters: [WILDCARD],
    ...QUEUE_DEFAULTS,
    ...spec,
    cluster_managed: managed,
    available_clusters: [],
  });
  if (!input.noDefaultQueue) queues.set(DEFAULT_QUEUE, q(DEFAULT_QUEUE, {}, false));
  for (const c of clusters) {
    if (!(input.noConamed ?? []).includes(c.name))
      queues.set(c.name, q(c.name, { pool: c.pool, clusters: [c.name] }, true));
  }
  for (const [name, spec] of Object.entries(input.queues ?? {})) {
    const { cluster_managed, ...rest } = spec;
    queues.set(
      name,
      q(name, { run_concurrency: 10, action_concurrency: 100, ...rest }, cluster_managed ?? false),
    );
  }
  const livePools: LivePool[] = Object.entries(pools).map(([name, contract]) => ({
    name,
    contract,
    member_clusters: clusters
      .filter((c) => c.pool === name)
      .map((c) => c.name)
      .sort(),
  }));
  const byName = <T extends { name: string }>(xs: T[]) =>
    xs.sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    pools: byName(livePools),
    clusters: byName(clusters),
    queues: byName([...queues.values()]),
    assignments: (input.assignments ?? []).map((a) => ({ ...a, workflow: a.workflow ?? null })),
    capabilities: { ...BASELINE_CAPABILITIES },
  };
}
