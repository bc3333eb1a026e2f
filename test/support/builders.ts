/**
 * One builder per kind for tests and benches (issue 77 item 4), as Argo CD's
 * `newTestSyncCtx(..., opts)`: `queueSpec({ run_concurrency: 3 })` fills every other field. Each
 * field comes from its declaration in schemas/ (SPEC_FIELDS, `npm run generate:validators`): its
 * default, or for a required field without one a sample value below, so a field added with a
 * default breaks no fixture.
 */
import { SPEC_FIELDS, type ManifestKind, type SpecField } from '../../src/gen/manifests/kinds.js';
import { QUEUE_SPEC_FIELDS, type PoolContract, type QueueSpec } from '../../src/model/common.js';
import type {
  DesiredAssignment,
  DesiredCluster,
  DesiredDefaultQueue,
  DesiredExecutionClusterLabel,
  DesiredPool,
  DesiredQueue,
  SourceLocation,
} from '../../src/model/desired.js';
import type { LiveCluster, LivePool, LiveQueue } from '../../src/model/live.js';

type Fields = Readonly<Record<string, SpecField>>;
type Plain = Record<string, unknown>;
/** A partial record, nested records partial too (a contract's `secret_store: { locator }`). */
export type Overrides<T> = {
  [K in keyof T]?: T[K] extends object | null ? DeepPartial<T[K]> : T[K];
};
type DeepPartial<T> = T extends unknown[] ? T : T extends object ? Overrides<T> : T;

/**
 * Values of required fields the schema gives no default, by `Kind.path`: what a test means by
 * "any valid value". An enum without a sample takes its first value.
 */
const SAMPLES: Record<string, unknown> = {
  'ClusterPool.object_store_ref.uri': 's3://default-bucket',
  'ClusterPool.secret_store.locator': 'us-east-1',
  'Queue.run_concurrency': 10,
  'Queue.action_concurrency': 100,
  'PoolAssignment.project': 'flytesnacks',
  'PoolAssignment.domain': 'development',
  'PoolAssignment.pool': 'default',
  'DefaultQueue.project': 'flytesnacks',
  'DefaultQueue.domain': 'development',
  'DefaultQueue.queue': 'default',
  'ExecutionClusterLabel.project': 'flytesnacks',
  'ExecutionClusterLabel.domain': 'development',
  'ExecutionClusterLabel.label': 'default',
};

/** `over` without its undefined fields, so a spread of it keeps the defaults they would hide. */
const definedOf = <T extends object>(over: T): T =>
  Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)) as T;

const isPlain = (v: unknown): v is Plain =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `over` on top of `fields` as the model keeps them: a given value (a nested record merged), else
 * the schema's default (a copy), else for a required field a sample, else null (the model's null
 * for a field a manifest may omit, src/model/shapes.ts) or left out where `absent` is 'omit'.
 */
function filled(
  path: string,
  fields: Fields,
  over: Plain,
  absent: 'null' | 'omit' = 'null',
  names: readonly string[] = Object.keys(fields),
): Plain {
  const out: Plain = {};
  for (const name of names) {
    const f = fields[name]!;
    const given = over[name];
    const at = `${path}.${name}`;
    if (given !== undefined)
      out[name] = f.fields && isPlain(given) ? filled(at, f.fields, given) : given;
    else if ('default' in f) out[name] = structuredClone(f.default);
    else if (f.required)
      out[name] = f.fields ? filled(at, f.fields, {}) : (SAMPLES[at] ?? f.values?.[0]);
    else if (absent === 'null') out[name] = null;
  }
  // Fields the schema does not declare (a queue's caps, a record's own fields) pass as given.
  for (const [name, v] of Object.entries(over))
    if (!(name in out) && v !== undefined) out[name] = v;
  return out;
}

const spec = <T>(
  kind: ManifestKind,
  over: object,
  absent?: 'null' | 'omit',
  names?: readonly string[],
) => filled(kind, SPEC_FIELDS[kind], over as Plain, absent, names) as T;

/** P2: a pool's contract, normalised (endpoint "", no registry: null); `uri` its object store. */
export function poolContract(uri?: string, over: Overrides<PoolContract> = {}): PoolContract {
  const store = { ...over.object_store_ref, ...(uri === undefined ? {} : { uri }) };
  return spec<PoolContract>('ClusterPool', { ...over, object_store_ref: store });
}

/** Q1: a queue's whole spec, defaults applied; caps only as given. */
export function queueSpec(over: Partial<QueueSpec> = {}): QueueSpec {
  return spec<QueueSpec>('Queue', over, 'omit', QUEUE_SPEC_FIELDS);
}

/** Where a hand-built object was "declared": `<kind>.yaml` line 1 unless given. */
const at = (file: string): SourceLocation => ({ file, line: 1, column: 1 });

interface Declared {
  name: string;
  annotations: Record<string, string>;
  source: SourceLocation;
}
type DeclaredOverrides = Partial<Omit<Declared, 'name'>>;

/** A ClusterPool document as loaded; `contract` null: marked unknown (`poolsync/contract: unknown`). */
export function desiredPool(
  name: string,
  contract: PoolContract | null = poolContract(),
  over: DeclaredOverrides = {},
): DesiredPool {
  const annotations =
    over.annotations ?? (contract === null ? { 'poolsync/contract': 'unknown' } : {});
  return { name, contract, annotations, source: over.source ?? at(`pools/${name}.yaml`) };
}

/** A Cluster document as loaded: pool `default`, enabled, no data plane declared. */
export function desiredCluster(
  name: string,
  over: Partial<Omit<DesiredCluster, 'name'>> = {},
): DesiredCluster {
  const { pool, enabled } = spec<{ pool: string; enabled: boolean }>('Cluster', {
    pool: over.pool,
    enabled: over.enabled,
  });
  return {
    name,
    data_plane: null,
    annotations: {},
    source: at(`clusters/${name}.yaml`),
    ...definedOf(over),
    pool,
    enabled,
  };
}

/** A Queue document as loaded: `queueSpec(over)`. */
export function desiredQueue(
  name: string,
  over: Partial<QueueSpec> = {},
  declared: DeclaredOverrides = {},
): DesiredQueue {
  return {
    name,
    spec: queueSpec(over),
    annotations: declared.annotations ?? {},
    source: declared.source ?? at(`queues/${name}.yaml`),
  };
}

/**
 * A builder of a kind whose identity is its project/domain key (A1, V11, V12): the document as
 * loaded, named `<project>-<domain>` unless given (A1: workflow null for a project-domain one).
 */
function keyed<T extends { project: string; domain: string } & Declared>(
  kind: ManifestKind,
  file: string,
) {
  return (over: Partial<T> = {}): T => {
    const { annotations, source, name, ...fields } = over;
    const k = spec<T>(kind, fields);
    return {
      ...k,
      name: name ?? `${k.project}-${k.domain}`,
      annotations: annotations ?? {},
      source: source ?? at(file),
    };
  };
}
export const desiredAssignment = keyed<DesiredAssignment>('PoolAssignment', 'assignments.yaml');
export const desiredDefaultQueue = keyed<DesiredDefaultQueue>(
  'DefaultQueue',
  'default-queues.yaml',
);
export const desiredExecutionClusterLabel = keyed<DesiredExecutionClusterLabel>(
  'ExecutionClusterLabel',
  'labels.yaml',
);

/** A pool as a control plane reports it. */
export function livePool(
  name: string,
  contract: PoolContract = poolContract(),
  member_clusters: string[] = [],
): LivePool {
  return { name, contract, member_clusters };
}

/** A cluster as a control plane reports it: pool `default`, enabled, healthy, no drift. */
export function liveCluster(
  name: string,
  over: Partial<Omit<LiveCluster, 'name'>> = {},
): LiveCluster {
  return {
    name,
    pool: 'default',
    enabled: true,
    health: 'healthy',
    unhealthy_reasons: [],
    config_drift: [],
    bound_queues: [],
    ...definedOf(over),
  };
}

/** A queue as a control plane reports it: `queueSpec` of its spec fields, not cluster-managed. */
export function liveQueue(name: string, over: Partial<Omit<LiveQueue, 'name'>> = {}): LiveQueue {
  const { cluster_managed, available_clusters, state, unknown_fields, ...fields } = over;
  return {
    name,
    ...queueSpec(fields),
    cluster_managed: cluster_managed ?? false,
    available_clusters: available_clusters ?? [],
    ...(state === undefined ? {} : { state }),
    ...(unknown_fields === undefined ? {} : { unknown_fields }),
  };
}
