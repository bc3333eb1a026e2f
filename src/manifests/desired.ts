/** Valid manifests → DesiredState, with the defaults of domain.md applied (manifests.md). */
import {
  DEFAULT_POOL,
  DEFAULT_QUEUE,
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
  DesiredDefaultQueue,
  DesiredPool,
  DesiredQueue,
  DesiredState,
  RepoConfig,
} from '../model/desired.js';
import type { ClusterManifest, QueueManifest } from './documents.js';
import type { Grouped } from './rules.js';
import { MANIFEST_KINDS } from './schema.js';
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
  // Annotations and source named, last, not spread from an object made per object: slow (V8).
  const pools: DesiredPool[] = g.ClusterPool.map((p) => ({
    name: p.name,
    contract: p.contract,
    annotations: p.annotations,
    source: p.source,
  }));
  const clusters: DesiredCluster[] = g.Cluster.map(desiredCluster);
  const clusterPool = new Map(clusters.map((c) => [c.name, c.pool]));
  const queues: DesiredQueue[] = g.Queue.map((q) => desiredQueue(q, clusterPool.get(q.name)));
  const assignments: DesiredAssignment[] = g.PoolAssignment.map((a) => ({
    project: a.project,
    domain: a.domain,
    workflow: a.workflow,
    pool: a.pool,
    name: a.name,
    annotations: a.annotations,
    source: a.source,
  }));
  const default_queues: DesiredDefaultQueue[] = g.DefaultQueue.map((d) => ({
    project: d.project,
    domain: d.domain,
    queue: d.queue,
    name: d.name,
    annotations: d.annotations,
    source: d.source,
  }));
  sortedByKey(default_queues, defaultQueueKeyString);
  pools.sort(byName);
  clusters.sort(byName);
  queues.sort(byName);
  sortedByKey(assignments, assignmentKeyString);
  // The prune scope when poolsync.yaml has no `manage:` (plan/prune-scope.ts).
  const declared_kinds = MANIFEST_KINDS.filter((k) => g[k].length > 0);
  return {
    pools,
    clusters,
    queues,
    assignments,
    default_queues,
    execution_clusters: g.ExecutionCluster.map((c) => ({
      name: c.name,
      endpoint: c.auth?.type === 'in_cluster' ? null : c.endpoint,
      enabled: c.enabled ?? true,
      auth: c.auth ?? { type: 'in_cluster' as const },
      annotations: c.annotations,
      source: c.source,
    })).sort(byName),
    cluster_labels: g.ClusterLabel.map((l) => ({
      name: l.name,
      clusters: l.clusters.map((e) => ({ cluster: e.cluster, weight: e.weight })),
      ...(l.isDefault ? { default: true } : {}),
      annotations: l.annotations,
      source: l.source,
    })).sort(byName),
    execution_cluster_labels: sortedByKey(
      g.ExecutionClusterLabel.map((e) => ({
        project: e.project,
        domain: e.domain,
        workflow: e.workflow,
        label: e.label,
        name: e.name,
        annotations: e.annotations,
        source: e.source,
      })),
      assignmentKeyString,
    ),
    config: { ...config, declared_kinds },
    commit,
  };
}

/** A Cluster document with the defaults applied; its pools listed when it has more than one. */
function desiredCluster(c: ClusterManifest): DesiredCluster {
  const { name, data_plane, annotations, source } = c;
  const pool = c.pools?.[0] ?? c.pool ?? DEFAULT_POOL;
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
  // C2 / P1: a managed queue's pool and selector come from its owner, whatever was omitted.
  const managed =
    owner !== undefined
      ? { pool: owner, clusters: [q.name] }
      : q.name === DEFAULT_QUEUE
        ? { pool: DEFAULT_POOL, clusters: [WILDCARD] }
        : null;
  // Caps assigned, not both spread into a literal (slow in V8: documents.ts manifestOf); the
  // manifest is copied only when a field is replaced.
  return {
    name: q.name,
    spec: Object.assign(
      queueSpecWithDefaults(managed ? { ...q, ...managed } : q),
      canonicalCaps(q.caps),
    ),
    annotations: q.annotations,
    source: q.source,
  };
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
