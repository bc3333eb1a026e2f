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
import { createHash } from 'node:crypto';
import type { ExecutionClusterLabel } from '../model/flyte.js';
import { lastSame } from './same-objects.js';

/**
 * Each entry's JSON written directly, as JSON.stringify writes the array it stands for (an
 * undefined element is null there): no arrays are built for 100,000 objects only to be
 * serialised. fingerprint.test.ts checks them against JSON.stringify.
 */
const v = (x: unknown): string => (x === undefined ? 'null' : JSON.stringify(x));
export const contractJson = (c: PoolContract): string =>
  `[${v(c.object_store_ref.uri)},${v(c.object_store_ref.endpoint ?? '')},${v(c.secret_store.type)},` +
  `${v(c.secret_store.locator)},${v(c.image_registry?.locator ?? null)}]`;
export const dataPlaneJson = (d: ClusterDataPlane | null): string =>
  d === null
    ? 'null'
    : `[${v(d.object_store_uri ?? null)},${v(d.secret_store?.type ?? null)},` +
      `${v(d.secret_store?.locator ?? null)},${v(d.image_registry ?? null)}]`;
export const annotationsJson = (a: Annotations): string => {
  const keys = Object.keys(a);
  if (keys.length === 0) return '[]';
  return `[${keys
    .sort()
    .map((k) => `[${v(k)},${v(a[k])}]`)
    .join(',')}]`;
};
export const specJson = (s: QueueSpec): string =>
  `[${v(s.pool)},${v(s.clusters)},${v(s.run_concurrency)},${v(s.action_concurrency)},` +
  `${v(s.depth)},${v(s.priority)},${v(s.fairness)}]`;

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

/**
 * JSON text fed to sha256 in pieces of ~64 KB: the digest of the whole text, without the whole
 * text in memory (~15 MB at 100,000 objects, the same again for its parts).
 */
class JsonDigest {
  private readonly hash = createHash('sha256');
  private parts: string[] = [];
  private size = 0;

  push(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 65_536) this.flush();
  }

  /** The JSON array of `entry(o)` (each an entry's JSON) for each item; kept for frozen ones. */
  list<T extends object>(items: readonly T[], memo: Fragments, entry: (o: T) => string): void {
    this.push('[');
    for (let i = 0; i < items.length; i++) {
      const o = items[i]!;
      const frozen = Object.isFrozen(o);
      let json = frozen ? memo.get(o) : undefined;
      if (json === undefined) {
        json = entry(o);
        if (frozen) memo.set(o, json);
      }
      if (i > 0) this.push(',');
      this.push(json);
    }
    this.push(']');
  }

  digest(): string {
    this.flush();
    return `sha256:${this.hash.digest('hex')}`;
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    this.hash.update(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}

export function desiredFingerprint(desired: DesiredState, commit: string | null): string {
  const h = new JsonDigest();
  h.push(JSON.stringify(['desired/1', commit, desired.config.prune]).slice(0, -1));
  h.push(',');
  h.list(
    desired.pools,
    kinds.dPool,
    (p) => `[${v(p.name)},${contractJson(p.contract)},${annotationsJson(p.annotations)}]`,
  );
  h.push(',');
  h.list(
    desired.clusters,
    kinds.dCluster,
    (c) =>
      `[${v(c.name)},${v(c.pool)},${v(c.enabled)},${dataPlaneJson(c.data_plane)},${annotationsJson(c.annotations)}]`,
  );
  h.push(',');
  h.list(
    desired.queues,
    kinds.dQueue,
    (q) => `[${v(q.name)},${specJson(q.spec)},${annotationsJson(q.annotations)}]`,
  );
  h.push(',');
  h.list(
    desired.assignments,
    kinds.dAssignment,
    (a) =>
      `[${v(a.project)},${v(a.domain)},${v(a.workflow)},${v(a.pool)},${annotationsJson(a.annotations)}]`,
  );
  // Only when present, so the fingerprints of repositories without the kind are unchanged.
  if (desired.default_queues?.length) {
    h.push(',');
    h.list(
      desired.default_queues,
      kinds.dDefaultQueue,
      (d) => `[${v(d.project)},${v(d.domain)},${v(d.queue)},${annotationsJson(d.annotations)}]`,
    );
  }
  for (const l of labelsKey(desired.execution_cluster_labels)) h.push(`,${l}`);
  h.push(']');
  return h.digest();
}

/** The last live state's fingerprint is reused while the state holds the same frozen objects. */
export const liveFingerprint: (live: LiveState) => string = lastSame(computeLiveFingerprint);

function computeLiveFingerprint(live: LiveState): string {
  const caps = live.capabilities;
  const h = new JsonDigest();
  h.push(
    JSON.stringify([
      'live/1',
      [caps.drain, caps.queue_delete, caps.pool_update, caps.cluster_move],
    ]).slice(0, -1),
  );
  h.push(',');
  h.list(live.pools, kinds.lPool, (p) => `[${v(p.name)},${contractJson(p.contract)}]`);
  h.push(',');
  h.list(live.clusters, kinds.lCluster, (c) => `[${v(c.name)},${v(c.pool)},${v(c.enabled)}]`);
  h.push(',');
  h.list(live.queues, kinds.lQueue, (q) => `[${v(q.name)},${specJson(q)},${v(q.cluster_managed)}]`);
  h.push(',');
  h.list(
    live.assignments,
    kinds.lAssignment,
    (a) => `[${v(a.project)},${v(a.domain)},${v(a.workflow)},${v(a.pool)}]`,
  );
  if (live.default_queues?.length)
    h.push(`,${JSON.stringify(live.default_queues.map((d) => [d.project, d.domain, d.queue]))}`);
  for (const l of labelsKey(live.execution_cluster_labels)) h.push(`,${l}`);
  h.push(']');
  return h.digest();
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
