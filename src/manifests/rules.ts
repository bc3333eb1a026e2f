/**
 * Cross-document rules V1–V8 of manifests.md. Pure: manifests in, errors out. Every
 * lookup goes through a Map built once, so the pass stays linear in the number of objects.
 */
import {
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  WILDCARD,
  assignmentKeyString,
  dataPlaneMismatches,
  type DataPlaneMismatch,
  type PoolContract,
} from '../model/common.js';
import type {
  AssignmentManifest,
  ClusterManifest,
  DefaultQueueManifest,
  Manifest,
  PoolManifest,
  QueueManifest,
} from './documents.js';
import { intact, positionOf, usable } from './documents.js';
import { didYouMean } from './suggest.js';
import { checkFlyteRules, emptyFlyteGroup, type FlyteGrouped } from './rules-multicluster.js';
import { checkObjectStores, clusterPools, sameBucket } from './rules-buckets.js';
import { err, firstByName, where } from './rule-helpers.js';
import { checkQueueCaps } from './rules-queue-caps.js';
import type { ValidationError } from './types.js';

export interface Grouped {
  pools: PoolManifest[];
  clusters: ClusterManifest[];
  queues: QueueManifest[];
  assignments: AssignmentManifest[];
  defaultQueues: DefaultQueueManifest[];
  flyte: FlyteGrouped;
}

export function groupManifests(manifests: readonly Manifest[]): Grouped {
  const g: Grouped = {
    pools: [],
    clusters: [],
    queues: [],
    assignments: [],
    defaultQueues: [],
    flyte: emptyFlyteGroup(),
  };
  for (const m of manifests) {
    if (m.kind === 'ClusterPool') g.pools.push(m);
    else if (m.kind === 'Cluster') g.clusters.push(m);
    else if (m.kind === 'Queue') g.queues.push(m);
    else if (m.kind === 'DefaultQueue') g.defaultQueues.push(m);
    else if (m.kind === 'PoolAssignment') g.assignments.push(m);
    else if (m.kind === 'ExecutionCluster') g.flyte.executionClusters.push(m);
    else if (m.kind === 'ClusterLabel') g.flyte.labels.push(m);
    else g.flyte.executionClusterLabels.push(m);
  }
  return g;
}

/** The key as written, or the document's name when the key is not even strings. */
function assignmentLabel(a: AssignmentManifest): string {
  return a.key.project !== '' && a.key.domain !== '' ? assignmentKeyString(a.key) : `'${a.name}'`;
}

function keyUsable(a: AssignmentManifest): boolean {
  return usable(a, '/spec/project') && usable(a, '/spec/domain') && usable(a, '/spec/workflow');
}

/**
 * Names declared by documents that failed their schema: they count as declared, so one
 * broken pool does not also make every cluster and queue in it an error.
 */
export interface BrokenNames {
  pools: ReadonlySet<string>;
  clusters: ReadonlySet<string>;
  /** Queues whose document failed its schema (V12 counts them as declared). */
  queues?: ReadonlySet<string>;
}

const NONE: BrokenNames = { pools: new Set(), clusters: new Set() };

export function checkRules(g: Grouped, broken: BrokenNames = NONE): ValidationError[] {
  const errors: ValidationError[] = [];
  const pools = firstByName(g.pools, errors);
  const clusters = firstByName(g.clusters, errors);
  const queues = firstByName(g.queues, errors);
  firstByName(g.assignments, errors);
  firstByName(g.defaultQueues, errors);

  const poolExists = (name: string): boolean =>
    name === DEFAULT_POOL || pools.has(name) || broken.pools.has(name);
  // Built on the first unknown pool only: a clean repository pays nothing for it.
  let declared: string[] | null = null;
  const unknownPool = (name: string): string => {
    declared ??= [...pools.keys()].sort();
    const hint = didYouMean(name, [...declared, DEFAULT_POOL]);
    return `pool '${name}' is not declared${hint} (declared: ${declared.length > 0 ? declared.join(', ') + ', ' : ''}default)`;
  };

  for (const c of g.clusters) checkCluster(c, pools, poolExists, unknownPool, errors);

  for (const q of g.queues)
    errors.push(...checkQueue(q, clusters, broken.clusters, poolExists, unknownPool));

  checkAssignments(g.assignments, poolExists, unknownPool, errors);
  errors.push(...checkDefaultQueues(g.defaultQueues, queues, clusters, broken));
  errors.push(...checkObjectStores(pools, g.clusters), ...checkFlyteRules(g.flyte));
  errors.push(...checkQueueCaps(g.queues));
  return errors;
}

/** V5 (a reserved name), pool or pools, V2 and V6 of one cluster. */
function checkCluster(
  c: ClusterManifest,
  pools: Map<string, PoolManifest>,
  poolExists: (name: string) => boolean,
  unknownPool: (name: string) => string,
  errors: ValidationError[],
): void {
  // V5 (C1): `default` is reserved.
  if (c.name === DEFAULT_POOL) {
    errors.push(
      err(
        'V5',
        c,
        positionOf(c.root, 'metadata', 'name'),
        `a cluster cannot be named 'default' (reserved, C1): rename it`,
      ),
    );
  }
  if (c.pool !== null && c.pools !== null)
    errors.push(
      err(
        'SCHEMA',
        c,
        positionOf(c.root, 'spec', 'pools'),
        `cluster '${c.name}': give pool (one pool) or pools (Union self-managed's pool map), not both`,
      ),
    );
  // A pool field that failed its schema is already reported; V2 and V6 need its value.
  if (!usable(c, '/spec/pool') || !usable(c, '/spec/pools')) return;
  clusterPools(c).forEach((poolName, i) => {
    const at = () =>
      c.pools ? positionOf(c.root, 'spec', 'pools', i) : positionOf(c.root, 'spec', 'pool');
    // V2 (C1): the pool must exist.
    if (!poolExists(poolName)) {
      errors.push(err('V2', c, at(), `cluster '${c.name}': ${unknownPool(poolName)}`));
      return;
    }
    // V6 (C4): every declared data-plane value must equal the contract (the object store by
    // bucket, rules-buckets.ts). The `default` pool's contract is set at provisioning; it is
    // only checked when the repo declares it.
    // A pool whose contract is marked unknown (poolsync/contract: unknown) has nothing to check.
    const pool = pools.get(poolName);
    if (pool?.contract && c.data_plane) errors.push(...checkDataPlane(c, pool, pool.contract));
  });
}

/** V8 (A1): assignments name an existing pool, one per key. */
function checkAssignments(
  assignments: AssignmentManifest[],
  poolExists: (name: string) => boolean,
  unknownPool: (name: string) => string,
  errors: ValidationError[],
): void {
  const byKey = new Map<string, AssignmentManifest>();
  for (const a of assignments) {
    if (usable(a, '/spec/pool') && !poolExists(a.pool)) {
      errors.push(
        err(
          'V8',
          a,
          positionOf(a.root, 'spec', 'pool'),
          `assignment ${assignmentLabel(a)}: ${unknownPool(a.pool)}`,
        ),
      );
    }
    if (!keyUsable(a)) continue;
    const key = assignmentKeyString(a.key);
    const first = byKey.get(key);
    if (first) {
      const msg = (other: AssignmentManifest): string =>
        `assignment key ${key} is also set by '${other.name}' at ${where(other)}; keep one (A1)`;
      errors.push(err('V8', a, positionOf(a.root, 'spec'), msg(first)));
      errors.push(err('V8', first, positionOf(first.root, 'spec'), msg(a)));
    } else byKey.set(key, a);
  }
}

/** Where V6 reads each compared value: the cluster's declared field and the pool's contract field. */
const DATA_PLANE_POINTERS: Record<DataPlaneMismatch['field'], string> = {
  object_store_uri: '/spec/object_store_ref/uri',
  'secret_store.type': '/spec/secret_store/type',
  'secret_store.locator': '/spec/secret_store/locator',
  image_registry: '/spec/image_registry',
};

function checkDataPlane(
  c: ClusterManifest,
  pool: PoolManifest,
  contract: PoolContract,
): ValidationError[] {
  return (
    dataPlaneMismatches(contract, c.data_plane!)
      // Only values well-formed on both sides are compared: a broken one is already reported.
      .filter(
        (m) =>
          usable(c, `/spec/data_plane/${m.field.replace('.', '/')}`) &&
          usable(pool, DATA_PLANE_POINTERS[m.field]) &&
          !(m.field === 'object_store_uri' && sameBucket(m.declared, m.contract)),
      )
      .map((m) =>
        err(
          'V6',
          c,
          positionOf(c.root, 'spec', 'data_plane', ...m.field.split('.')),
          `cluster '${c.name}': data_plane.${m.field} is ${JSON.stringify(m.declared)} but pool '${pool.name}' requires ` +
            `${m.contract === '' ? 'no image registry' : JSON.stringify(m.contract)} (C4)`,
        ),
      )
  );
}

function checkQueue(
  q: QueueManifest,
  clusters: Map<string, ClusterManifest>,
  brokenClusters: ReadonlySet<string>,
  poolExists: (name: string) => boolean,
  unknownPool: (name: string) => string,
): ValidationError[] {
  const out: ValidationError[] = [];
  const owner = clusters.get(q.name);
  const isDefault = q.name === DEFAULT_QUEUE;
  // V5 (C2, Q4, P1, Q5): a managed queue's pool and selector are not the repo's to choose.
  if (owner || isDefault) return checkManagedQueue(q, owner);
  const poolKnown = usable(q, '/spec/pool');
  const poolName = q.pool ?? DEFAULT_POOL;
  // V2 (Q1)
  if (poolKnown && !poolExists(poolName)) {
    out.push(
      err(
        'V2',
        q,
        positionOf(q.root, 'spec', 'pool'),
        `queue '${q.name}': ${unknownPool(poolName)}`,
      ),
    );
  }
  // A selector that is not a list of entries was reported by the schema; nothing to add.
  if (!intact(q, '/spec/clusters')) return out;
  const selector = q.clusters ?? [WILDCARD];
  // V4 (Q1): "*" must be the only entry.
  const star = selector.indexOf(WILDCARD);
  if (star !== -1 && selector.length > 1) {
    out.push(
      err(
        'V4',
        q,
        positionOf(q.root, 'spec', 'clusters', star),
        `queue '${q.name}': "*" selects every cluster of the pool and must be the only entry; remove it or the cluster names`,
      ),
    );
  }
  out.push(...checkNamedClusters(q, selector, clusters, brokenClusters, poolKnown && poolName));
  return out;
}

/** V3 (Q1): named clusters are declared, in the queue's pool (`poolName`: false when unusable). */
function checkNamedClusters(
  q: QueueManifest,
  selector: readonly string[],
  clusters: Map<string, ClusterManifest>,
  brokenClusters: ReadonlySet<string>,
  poolName: string | false,
): ValidationError[] {
  const out: ValidationError[] = [];
  selector.forEach((name, i) => {
    if (name === WILDCARD || !usable(q, `/spec/clusters/${i}`)) return;
    const c = clusters.get(name);
    // Only an error needs the position (from the analysis cache, positions are parsed on demand).
    const pos = () => positionOf(q.root, 'spec', 'clusters', i);
    if (!c) {
      if (brokenClusters.has(name)) return;
      out.push(err('V3', q, pos(), `queue '${q.name}': cluster '${name}' is not declared`));
    } else if (poolName !== false && usable(c, '/spec/pool') && clusterPools(c)[0] !== poolName) {
      out.push(
        err(
          'V3',
          q,
          pos(),
          `queue '${q.name}' is in pool '${poolName}' but cluster '${name}' is in pool '${clusterPools(c)[0]}'; a queue routes only to clusters of its pool`,
        ),
      );
    }
  });
  return out;
}

/** V5 of the default queue, or of a cluster's co-named queue (`owner`). */
function checkManagedQueue(
  q: QueueManifest,
  owner: ClusterManifest | undefined,
): ValidationError[] {
  const out: ValidationError[] = [];
  const managedPool = owner ? clusterPools(owner)[0]! : DEFAULT_POOL;
  const managedSelector = owner ? [owner.name] : [WILDCARD];
  const what = owner
    ? `the co-named queue of cluster '${owner.name}' (C2, Q4)`
    : `the default queue (P1, Q5)`;
  const poolKnown = usable(q, '/spec/pool') && (!owner || usable(owner, '/spec/pool'));
  if (poolKnown && q.pool !== null && q.pool !== managedPool) {
    out.push(
      err(
        'V5',
        q,
        positionOf(q.root, 'spec', 'pool'),
        `queue '${q.name}' is ${what}: its pool is '${managedPool}', not '${q.pool}'; omit spec.pool`,
      ),
    );
  }
  if (
    usable(q, '/spec/clusters') &&
    q.clusters !== null &&
    !sameList(q.clusters, managedSelector)
  ) {
    out.push(
      err(
        'V5',
        q,
        positionOf(q.root, 'spec', 'clusters'),
        `queue '${q.name}' is ${what}: its selector is ${JSON.stringify(managedSelector)}, not ${JSON.stringify(q.clusters)}; omit spec.clusters`,
      ),
    );
  }
  return out;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * V12 (Union v2 default queues): the queue a DefaultQueue names is declared (a Queue
 * document, a cluster's co-named queue, or `default`), and each project/domain has one
 * setting.
 */
function checkDefaultQueues(
  list: readonly DefaultQueueManifest[],
  queues: Map<string, QueueManifest>,
  clusters: Map<string, ClusterManifest>,
  broken: BrokenNames,
): ValidationError[] {
  const out: ValidationError[] = [];
  const queueExists = (name: string): boolean =>
    name === DEFAULT_QUEUE ||
    queues.has(name) ||
    clusters.has(name) ||
    broken.clusters.has(name) ||
    (broken.queues?.has(name) ?? false);
  let declared: string[] | null = null;
  const byKey = new Map<string, DefaultQueueManifest>();
  for (const d of list) {
    // '' is the placeholder of a missing (or misspelt, so not reported missing) field.
    if (usable(d, '/spec/queue') && d.queue !== '' && !queueExists(d.queue)) {
      declared ??= [...new Set([...queues.keys(), ...clusters.keys(), DEFAULT_QUEUE])].sort();
      out.push(
        err(
          'V12',
          d,
          positionOf(d.root, 'spec', 'queue'),
          `default queue of ${d.project}/${d.domain}: queue '${d.queue}' is not declared${didYouMean(d.queue, declared)}; declare it with a Queue document or name one of: ${listShort(declared)}`,
        ),
      );
    }
    if (!usable(d, '/spec/project') || !usable(d, '/spec/domain')) continue;
    const key = `${d.project}/${d.domain}`;
    const first = byKey.get(key);
    if (first) {
      const msg = (other: DefaultQueueManifest): string =>
        `the default queue of ${key} is also set by '${other.name}' at ${where(other)}; keep one (V12)`;
      out.push(err('V12', d, positionOf(d.root, 'spec'), msg(first)));
      out.push(err('V12', first, positionOf(first.root, 'spec'), msg(d)));
    } else byKey.set(key, d);
  }
  return out;
}

function listShort(names: readonly string[]): string {
  return names.length > 10
    ? `${names.slice(0, 10).join(', ')} … (${names.length} queues)`
    : names.join(', ');
}
