/** Valid manifests → DesiredState, with the defaults of domain.md applied (manifests.md). */
import {
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  QUEUE_CAP_FIELDS,
  queueSpecWithDefaults,
  WILDCARD,
  assignmentKeyString,
  defaultQueueKeyString,
  type QueueCaps,
} from '../model/common.js';
import { canonicalSelector } from '../gen/union/accelerators.js';
import type {
  DesiredAssignment,
  DesiredCluster,
  DesiredClusterLabel,
  DesiredDefaultQueue,
  DesiredExecutionCluster,
  DesiredExecutionClusterLabel,
  DesiredPool,
  DesiredQueue,
  DesiredState,
  RepoConfig,
} from '../model/desired.js';
import {
  positionOf,
  type AssignmentManifest,
  type ClusterLabelManifest,
  type ClusterManifest,
  type DefaultQueueManifest,
  type ExecutionClusterLabelManifest,
  type ExecutionClusterManifest,
  type Manifest,
  type PoolManifest,
  type QueueManifest,
} from './documents.js';
import type { Grouped } from './rules.js';
import { MANIFEST_KINDS, type ManifestKind } from './schema.js';
import { comparePaths } from './walk.js';

const byName = <T extends { name: string }>(a: T, b: T): number => comparePaths(a.name, b.name);

/**
 * `list` sorted by `keyOf`, each key string made once, not twice per comparison (n log n
 * strings: ~14 MB of a 100,000-object load).
 */
function sortedByKey<T>(list: T[], keyOf: (item: T) => string): T[] {
  const keyed = list.map((item) => ({ key: keyOf(item), item }));
  keyed.sort((a, b) => comparePaths(a.key, b.key));
  for (let i = 0; i < keyed.length; i++) list[i] = keyed[i]!.item;
  return list;
}

export function buildDesiredState(
  g: Grouped,
  config: RepoConfig,
  commit: string | null,
): DesiredState {
  const clusters: DesiredCluster[] = g.Cluster.map(desiredCluster);
  // Set one by one: `new Map(list.map(…))` made a pair array per cluster and read each through
  // the iterator protocol.
  const clusterPool = new Map<string, string>();
  for (let i = 0; i < clusters.length; i++) clusterPool.set(clusters[i]!.name, clusters[i]!.pool);
  const queues: DesiredQueue[] = g.Queue.map((q) => desiredQueue(q, clusterPool.get(q.name)));
  return desiredStateOf(
    {
      pools: g.ClusterPool.map(desiredPool).sort(byName),
      clusters: clusters.sort(byName),
      queues: queues.sort(byName),
      assignments: sortedByKey(g.PoolAssignment.map(desiredAssignment), assignmentKeyString),
      default_queues: sortedByKey(g.DefaultQueue.map(desiredDefaultQueue), defaultQueueKeyString),
      execution_clusters: g.ExecutionCluster.map(desiredExecutionCluster).sort(byName),
      cluster_labels: g.ClusterLabel.map(desiredClusterLabel).sort(byName),
      execution_cluster_labels: sortedByKey(
        g.ExecutionClusterLabel.map(desiredExecutionClusterLabel),
        assignmentKeyString,
      ),
    },
    MANIFEST_KINDS.filter((k) => g[k].length > 0),
    config,
    commit,
  );
}

/** The desired state's lists, each sorted by its key (`DESIRED_LISTS`). */
export type DesiredLists = Required<Omit<DesiredState, 'config' | 'commit'>>;

/** `declared_kinds`: the prune scope when poolsync.yaml has no `manage:` (plan/prune-scope.ts). */
export function desiredStateOf(
  lists: DesiredLists,
  declared_kinds: ManifestKind[],
  config: RepoConfig,
  commit: string | null,
): DesiredState {
  const { pools, clusters, queues, assignments, default_queues } = lists;
  return {
    pools,
    clusters,
    queues,
    assignments,
    default_queues,
    execution_clusters: lists.execution_clusters,
    cluster_labels: lists.cluster_labels,
    execution_cluster_labels: lists.execution_cluster_labels,
    config: { ...config, declared_kinds },
    commit,
  };
}

/**
 * Each kind's list in the desired state and the key it is sorted by (comparePaths); recheck.ts
 * splices a changed file's objects into the last load's lists by it.
 */
export const DESIRED_LISTS: {
  readonly [K in ManifestKind]: {
    list: keyof DesiredLists;
    key: (m: {
      name: string;
      project?: string;
      domain?: string;
      workflow?: string | null;
    }) => string;
  };
} = {
  ClusterPool: { list: 'pools', key: (m) => m.name },
  Cluster: { list: 'clusters', key: (m) => m.name },
  Queue: { list: 'queues', key: (m) => m.name },
  PoolAssignment: { list: 'assignments', key: (m) => assignmentKeyString(m as Keyed) },
  DefaultQueue: { list: 'default_queues', key: (m) => defaultQueueKeyString(m as Keyed) },
  ExecutionCluster: { list: 'execution_clusters', key: (m) => m.name },
  ClusterLabel: { list: 'cluster_labels', key: (m) => m.name },
  ExecutionClusterLabel: {
    list: 'execution_cluster_labels',
    key: (m) => assignmentKeyString(m as Keyed),
  },
};
type Keyed = { project: string; domain: string; workflow: string | null };

/** One manifest's desired object; a queue's `owner`: the pool of its co-named cluster. */
export function desiredOf(m: Manifest, owner: string | undefined): object {
  switch (m.kind) {
    case 'ClusterPool':
      return desiredPool(m);
    case 'Cluster':
      return desiredCluster(m);
    case 'Queue':
      return desiredQueue(m, owner);
    case 'PoolAssignment':
      return desiredAssignment(m);
    case 'DefaultQueue':
      return desiredDefaultQueue(m);
    case 'ExecutionCluster':
      return desiredExecutionCluster(m);
    case 'ClusterLabel':
      return desiredClusterLabel(m);
    case 'ExecutionClusterLabel':
      return desiredExecutionClusterLabel(m);
  }
}

// Annotations and source named, last, not spread from an object made per object: slow (V8).
function desiredPool(p: PoolManifest): DesiredPool {
  return { name: p.name, contract: p.contract, annotations: p.annotations, source: p.source };
}

function desiredAssignment(a: AssignmentManifest): DesiredAssignment {
  return {
    project: a.project,
    domain: a.domain,
    workflow: a.workflow,
    pool: a.pool,
    name: a.name,
    annotations: a.annotations,
    source: a.source,
  };
}

function desiredDefaultQueue(d: DefaultQueueManifest): DesiredDefaultQueue {
  return {
    project: d.project,
    domain: d.domain,
    queue: d.queue,
    name: d.name,
    annotations: d.annotations,
    source: d.source,
  };
}

function desiredExecutionCluster(c: ExecutionClusterManifest): DesiredExecutionCluster {
  return {
    name: c.name,
    endpoint: c.auth?.type === 'in_cluster' ? null : c.endpoint,
    enabled: c.enabled ?? true,
    auth: c.auth ?? { type: 'in_cluster' as const },
    annotations: c.annotations,
    source: c.source,
  };
}

function desiredClusterLabel(l: ClusterLabelManifest): DesiredClusterLabel {
  return {
    name: l.name,
    clusters: l.clusters.map((e) => ({ cluster: e.cluster, weight: e.weight })),
    ...(l.isDefault ? { default: true } : {}),
    annotations: l.annotations,
    source: l.source,
  };
}

function desiredExecutionClusterLabel(
  e: ExecutionClusterLabelManifest,
): DesiredExecutionClusterLabel {
  return {
    project: e.project,
    domain: e.domain,
    workflow: e.workflow,
    label: e.label,
    name: e.name,
    annotations: e.annotations,
    source: e.source,
  };
}

/** A cluster's pool in the desired state: its first, else `default`. */
export function clusterPoolOf(c: ClusterManifest): string {
  return c.pools?.[0] ?? c.pool ?? DEFAULT_POOL;
}

/** A Cluster document with the defaults applied; its pools listed when it has more than one. */
function desiredCluster(c: ClusterManifest): DesiredCluster {
  const { name, data_plane, annotations, source } = c;
  const pool = clusterPoolOf(c);
  const enabled = c.enabled ?? true;
  const pools = c.pools && c.pools.length > 1 ? [...new Set(c.pools)] : null;
  // Two literals, not `...(pools ? { pools } : {})` inside one (a spread in a literal is V8's
  // slow path, documents.ts manifestOf): each cluster one object of its final shape.
  return pools !== null && pools.length > 1
    ? { name, pool, pools, enabled, data_plane, annotations, source }
    : { name, pool, enabled, data_plane, annotations, source };
}

/** A Queue document with the defaults applied; `owner`: the pool of its co-named cluster. */
function desiredQueue(q: QueueManifest, owner: string | undefined): DesiredQueue {
  const spec = queueSpecWithDefaults(q);
  // C2 / P1: a managed queue's pool and selector come from its owner, whatever was omitted: set
  // on the spec made, not on a copy of the manifest (two spreads of its 17 fields per queue).
  if (owner !== undefined) {
    spec.pool = owner;
    spec.clusters = [q.name];
  } else if (q.name === DEFAULT_QUEUE) {
    spec.pool = DEFAULT_POOL;
    spec.clusters = [WILDCARD];
  }
  // Caps assigned, not spread into a literal (slow in V8: documents.ts manifestOf).
  Object.assign(spec, canonicalCaps(q.caps));
  const queue: DesiredQueue = { name: q.name, spec, annotations: q.annotations, source: q.source };
  const cap = QUEUE_CAP_FIELDS.find((f) => q.caps[f] !== undefined);
  if (cap !== undefined) {
    const { file = q.source.file, line, column } = positionOf(q.root, 'spec', cap);
    queue.caps_source = { file, line, column };
  }
  return queue;
}

/**
 * The caps with each accelerator selector spelled as Union writes it (remote/_queue.py:349-359:
 * `nvidia_gpu/t4` is `nvidia_gpu/nvidia-t4`), so the plan compares and sends canonical names
 * (V15 has refused those that are not a spelling of one).
 */
function canonicalCaps(caps: QueueCaps): QueueCaps {
  if (!caps.max_accelerators) return caps;
  const accelerators: Record<string, number> = {};
  for (const [selector, count] of Object.entries(caps.max_accelerators)) {
    const read = canonicalSelector(selector);
    accelerators['selector' in read ? read.selector : selector] = count;
  }
  return { ...caps, max_accelerators: accelerators };
}
