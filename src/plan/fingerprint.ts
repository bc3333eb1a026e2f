/**
 * Fingerprints (plan.md, "Fingerprints and saved plans"). They cover what the steps depend
 * on, nothing else: source locations (moving a document between files), cluster health and
 * derived views (available_clusters, bound_queues, member_clusters) are left out, so a
 * status report does not make a saved plan stale.
 *
 * Every object is rebuilt with a fixed key order (annotations as sorted pairs), so plain
 * JSON.stringify is canonical: much cheaper than sorting keys generically at 10,000 objects.
 * The text hashed is the JSON of one array holding every object's entry; each entry's JSON is
 * made once per frozen object (a long-running process shares unchanged objects from run to
 * run: desired.ts, list-views.ts) and the whole is joined as JSON.stringify would write it.
 */
import type { ClusterDataPlane, PoolContract, QueueSpec } from '../model/common.js';
import type { Annotations, DesiredState } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import { sha256 } from './forms.js';
import type { ExecutionClusterLabel } from '../model/flyte.js';
import { lastSame } from './same-objects.js';

const contractKey = (c: PoolContract) => [
  c.object_store_ref.uri,
  c.object_store_ref.endpoint ?? '',
  c.secret_store.type,
  c.secret_store.locator,
  c.image_registry?.locator ?? null,
];
const dataPlaneKey = (d: ClusterDataPlane | null) =>
  d === null
    ? null
    : [
        d.object_store_uri ?? null,
        d.secret_store?.type ?? null,
        d.secret_store?.locator ?? null,
        d.image_registry ?? null,
      ];
const annotationsKey = (a: Annotations) =>
  Object.keys(a)
    .sort()
    .map((k) => [k, a[k]]);
const specKey = (s: QueueSpec) => [
  s.pool,
  s.clusters,
  s.run_concurrency,
  s.action_concurrency,
  s.depth,
  s.priority,
  s.fairness,
];

/** Entries' JSON by object, one map per kind of entry (a live and a desired entry differ). */
type Fragments = WeakMap<object, string>;
const kinds = {
  dPool: new WeakMap(),
  dCluster: new WeakMap(),
  dQueue: new WeakMap(),
  dAssignment: new WeakMap(),
  dDefaultQueue: new WeakMap(),
  lPool: new WeakMap(),
  lCluster: new WeakMap(),
  lQueue: new WeakMap(),
  lAssignment: new WeakMap(),
} satisfies Record<string, Fragments>;

/** `[entry(o) for o in list]` as JSON, each entry's JSON kept for frozen objects. */
function list<T extends object>(
  items: readonly T[],
  memo: Fragments,
  entry: (o: T) => unknown,
): string {
  const parts = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    const o = items[i]!;
    let json = memo.get(o);
    if (json === undefined) {
      json = JSON.stringify(entry(o));
      if (Object.isFrozen(o)) memo.set(o, json);
    }
    parts[i] = json;
  }
  return `[${parts.join(',')}]`;
}

export function desiredFingerprint(desired: DesiredState, commit: string | null): string {
  const parts = [
    JSON.stringify(['desired/1', commit, desired.config.prune]).slice(1, -1),
    list(desired.pools, kinds.dPool, (p) => [
      p.name,
      contractKey(p.contract),
      annotationsKey(p.annotations),
    ]),
    list(desired.clusters, kinds.dCluster, (c) => [
      c.name,
      c.pool,
      c.enabled,
      dataPlaneKey(c.data_plane),
      annotationsKey(c.annotations),
    ]),
    list(desired.queues, kinds.dQueue, (q) => [
      q.name,
      specKey(q.spec),
      annotationsKey(q.annotations),
    ]),
    list(desired.assignments, kinds.dAssignment, (a) => [
      a.project,
      a.domain,
      a.workflow,
      a.pool,
      annotationsKey(a.annotations),
    ]),
  ];
  // Only when present, so the fingerprints of repositories without the kind are unchanged.
  if (desired.default_queues?.length) {
    parts.push(
      list(desired.default_queues, kinds.dDefaultQueue, (d) => [
        d.project,
        d.domain,
        d.queue,
        annotationsKey(d.annotations),
      ]),
    );
  }
  parts.push(...labelsKey(desired.execution_cluster_labels));
  return sha256(`[${parts.join(',')}]`);
}

/** The last live state's fingerprint is reused while the state holds the same frozen objects. */
export const liveFingerprint: (live: LiveState) => string = lastSame(computeLiveFingerprint);

function computeLiveFingerprint(live: LiveState): string {
  const caps = live.capabilities;
  const parts = [
    JSON.stringify([
      'live/1',
      [caps.drain, caps.queue_delete, caps.pool_update, caps.cluster_move],
    ]).slice(1, -1),
    list(live.pools, kinds.lPool, (p) => [p.name, contractKey(p.contract)]),
    list(live.clusters, kinds.lCluster, (c) => [c.name, c.pool, c.enabled]),
    list(live.queues, kinds.lQueue, (q) => [q.name, specKey(q), q.cluster_managed]),
    list(live.assignments, kinds.lAssignment, (a) => [a.project, a.domain, a.workflow, a.pool]),
  ];
  if (live.default_queues?.length)
    parts.push(JSON.stringify(live.default_queues.map((d) => [d.project, d.domain, d.queue])));
  parts.push(...labelsKey(live.execution_cluster_labels));
  return sha256(`[${parts.join(',')}]`);
}

/** Execution cluster labels' JSON, only when there are any (fingerprints of states without them stay as they were). */
function labelsKey(labels: readonly ExecutionClusterLabel[] | undefined): string[] {
  return labels && labels.length > 0
    ? [
        JSON.stringify([
          'execution_cluster_labels',
          labels.map((l) => [l.project, l.domain, l.workflow, l.label]),
        ]),
      ]
    : [];
}
