/** Union's messages (src/gen/) ↔ poolsync's model. Pure. */
import { isDeepStrictEqual } from 'node:util';
import { clone, create } from '@bufbuild/protobuf';
import {
  ACCELERATOR_CLASSES,
  CREATED_SCHEDULING,
  DEFAULT_POOL,
  FAIRNESS_POLICIES,
  PRIORITIES,
  QUEUE_DEFAULTS,
  QUEUE_RESOURCE_NAMES,
  type QueueCaps,
  type QueueResourceName,
  QUEUE_SCHEDULING,
  type QueueSpec,
  capsOf,
  queueSpecWithDefaults,
} from '../../model/common.js';
import type { ClusterHealth, LiveCluster, LiveQueue, QueueState } from '../../model/live.js';
import {
  type Cluster,
  ClusterState,
  State,
  Status_Health,
} from '../../gen/cloudidl/cluster/definition_pb.js';
import {
  FairnessAlgorithm,
  Priority as PbPriority,
  type QueueSpec as PbQueueSpec,
  QueueState as PbQueueState,
  type Queue,
  QueueSpecSchema,
  SchedulingAlgorithm,
} from '../../gen/cloudidl/queue/queue_pb.js';
import {
  GPUAccelerator_DeviceClass as DeviceClass,
  type GPUAccelerator,
  GPUAcceleratorSchema,
  Resources_ResourceName as ResourceName,
  type Resources_ResourceEntry,
  Resources_ResourceEntrySchema,
} from '../../gen/flyteidl2/core/tasks_pb.js';
import {
  type AcceleratorCapacity,
  AcceleratorCapacitySchema,
} from '../../gen/cloudidl/cluster/accelerator_definition_pb.js';
import { canonicalDevice } from '../../gen/union/accelerators.js';
import { ControlPlaneError } from '../errors.js';

/** Each of `names` → the member of `pbEnum` its upper case names (`min` → Priority.MIN). */
export function toPbTable<K extends string, T extends Record<Uppercase<K>, unknown>>(
  names: readonly K[],
  pbEnum: T,
) {
  const entries = names.map((n) => [n, pbEnum[n.toUpperCase() as Uppercase<K>]]);
  return Object.fromEntries(entries) as Record<K, T[Uppercase<K>]>;
}

const PRIORITY_TO_PB = toPbTable(PRIORITIES, PbPriority);
const FAIRNESS_TO_PB = toPbTable(FAIRNESS_POLICIES, FairnessAlgorithm);
export const QUEUE_STATE_TO_PB: Record<QueueState, PbQueueState> = toPbTable(
  ['active', 'draining', 'drained', 'deleting'],
  PbQueueState,
);
export const HEALTH_TO_PB: Record<ClusterHealth, Status_Health> = toPbTable(
  ['healthy', 'unhealthy', 'unknown'],
  Status_Health,
);

/** The key of `table` whose message value is `value`, else `otherwise` (an unset or newer value). */
export function fromPb<K extends string, V, O extends K | undefined>(
  table: Record<K, V>,
  value: V | undefined,
  otherwise: O,
): K | O {
  return (Object.keys(table) as K[]).find((k) => table[k] === value) ?? otherwise;
}

/** Q3: every field of the spec, so UpdateQueue (a full replace) never drops one. */
export function queueSpecToPb(spec: QueueSpec): PbQueueSpec {
  return withManagedFields(undefined, spec);
}

/** The stand-in writes them as Union's server would keep them. */
export function managedToPb(spec: QueueSpec): PbQueueSpec {
  return create(QueueSpecSchema, managedFields(spec));
}

function managedFields(spec: QueueSpec) {
  return {
    runConcurrency: spec.run_concurrency,
    actionConcurrency: spec.action_concurrency,
    depth: spec.depth,
    priority: PRIORITY_TO_PB[spec.priority],
    fairness: FAIRNESS_TO_PB[spec.fairness],
    clusters: [...spec.clusters],
    clusterPoolName: spec.pool,
  };
}

/**
 * Q3 read-modify-write: `current` with the 7 managed fields and the caps `spec` declares set;
 * every other field, declared or not (protobuf-es keeps unknown fields), left as it was.
 */
export function withManagedFields(current: PbQueueSpec | undefined, spec: QueueSpec): PbQueueSpec {
  const out = current ? clone(QueueSpecSchema, current) : create(QueueSpecSchema);
  setCaps(out, spec);
  return Object.assign(out, managedFields(spec));
}

function queueSpecFromPb(spec: PbQueueSpec | undefined): QueueSpec {
  return { ...managedFromPb(spec), ...capsFromPb(spec) };
}

export function managedFromPb(spec: PbQueueSpec | undefined): QueueSpec {
  return {
    pool: spec?.clusterPoolName || DEFAULT_POOL,
    clusters: [...(spec?.clusters ?? [])],
    run_concurrency: spec?.runConcurrency ?? 0,
    action_concurrency: spec?.actionConcurrency ?? 0,
    depth: spec?.depth ?? 0,
    priority: fromPb(PRIORITY_TO_PB, spec?.priority, QUEUE_DEFAULTS.priority),
    fairness: fromPb(FAIRNESS_TO_PB, spec?.fairness, QUEUE_DEFAULTS.fairness),
  };
}

/**
 * The numbers of the spec fields set beyond poolsync's 7: max_resources 8, scheduling 9,
 * max_accelerators 10, and any the .proto does not declare.
 */
export function unmanagedFields(spec: PbQueueSpec | undefined): number[] {
  if (!spec) return [];
  const set = new Set((spec.$unknown ?? []).map((f) => f.no));
  if (spec.maxResources.length > 0) set.add(8);
  if (spec.scheduling !== 0) set.add(9);
  if (spec.maxAccelerators.length > 0) set.add(10);
  return [...set].sort((a, b) => a - b);
}

/**
 * C2: Union does not flag the queue a registration created; a queue may not share a cluster's
 * name otherwise (Q2), so a queue named like a cluster is that cluster's queue.
 */
export function queueFromPb(q: Queue, clusterNames: ReadonlySet<string>): LiveQueue {
  const name = q.id?.name ?? '';
  const unknown = unmanagedFields(q.spec);
  return {
    name,
    ...queueSpecFromPb(q.spec),
    ...(q.deletedAt ? {} : { state: queueStateFromPb(name, q.status?.state) }),
    // Union flags it (QueueStatus.cluster_managed); older servers did not: then by name (Q2).
    cluster_managed: q.status?.clusterManaged === true || clusterNames.has(name),
    available_clusters: (q.status?.availableClusters ?? []).map((c) => c.name).sort(),
    ...(unknown.length > 0 ? { unknown_fields: unknown } : {}),
  };
}

/**
 * A live queue's state (issue 73 item 1): a state this poolsync does not know is an error, never
 * read as a known one (DELETING was read as `active`, and planned as if it served).
 */
function queueStateFromPb(name: string, state: PbQueueState | undefined): QueueState {
  const known = fromPb(QUEUE_STATE_TO_PB, state, undefined);
  if (known) return known;
  const addr = `Queue/${name}`;
  const what = state === undefined ? 'no state' : `state ${PbQueueState[state] ?? state}`;
  throw new ControlPlaneError(
    'FAILED_PRECONDITION',
    `${addr}: Union reports ${what}, which this poolsync does not know: upgrade poolsync, or ask Union's support what the state means`,
    addr,
  );
}

/**
 * C2 without a cluster lookup: a selector names only clusters of its pool (Q1) and a queue shares
 * a name only with its own cluster (Q2), so a queue selecting exactly its own name is that
 * cluster's. (An orphaned one has an empty selector: reported unmanaged by cluster.)
 */
export function selfSelecting(q: Queue): ReadonlySet<string> {
  const name = q.id?.name ?? '';
  const sel = q.spec?.clusters ?? [];
  return new Set(sel.length === 1 && sel[0] === name ? [name] : []);
}

export function clusterName(c: Cluster): string {
  return c.spec?.id?.name ?? '';
}

/** A cluster belongs to one pool (C1): `pool`, `default` when Union names none. */
function clusterPool(c: Cluster): string {
  return c.pool?.name || DEFAULT_POOL;
}

/**
 * `enabled` is Union's drain state (draining stops new work): unless DRAINING or DRAINED. A
 * server without drain states says it through spec.state.
 */
export function clusterEnabled(c: Cluster): boolean {
  const s = c.drainStatus?.overallState ?? ClusterState.UNSPECIFIED;
  if (s === ClusterState.UNSPECIFIED)
    return (c.spec?.state ?? State.UNSPECIFIED) !== State.DISABLED;
  return s !== ClusterState.DRAINING && s !== ClusterState.DRAINED;
}

/** Each cluster's bound queues (C7: the queues whose selector names it), sorted. */
export function boundQueues(queues: readonly LiveQueue[]): (cluster: string) => string[] {
  const bound = new Map<string, string[]>();
  for (const q of queues)
    for (const c of new Set(q.clusters)) {
      const names = bound.get(c);
      if (names) names.push(q.name);
      else bound.set(c, [q.name]);
    }
  for (const names of bound.values()) names.sort();
  return (cluster) => [...(bound.get(cluster) ?? [])];
}

/** `boundOf`: the bound queues indexed once for many clusters (`boundQueues`). */
export function clusterFromPb(c: Cluster, boundOf: (cluster: string) => string[]): LiveCluster {
  const name = clusterName(c);
  return {
    name,
    pool: clusterPool(c),
    enabled: clusterEnabled(c),
    health: fromPb(HEALTH_TO_PB, c.status?.health, 'unknown'),
    unhealthy_reasons: [...(c.status?.unhealthyReasons ?? [])],
    // Union reports a mismatch only as unhealthy_reasons, not field by field: nothing says
    // what the data plane is (model/capabilities.ts reportedDataPlane).
    config_drift: [],
    data_plane_reported: false,
    bound_queues: boundOf(name),
  };
}

/** CreateQueue's spec: Q1 defaults for what the request leaves out (pool default, selector *). */
export function createSpec(request: Partial<QueueSpec>): QueueSpec {
  return {
    // Union's client creates every queue with a scheduling policy (strict_fifo unless told:
    // remote/_queue.py:746, 799); one sent without is UNSPECIFIED, which the leasor orders
    // differently (:83-87). Undeclared, it is not managed after (plan/forms.ts, inheritCaps).
    scheduling: CREATED_SCHEDULING,
    ...capsOf(request),
    ...queueSpecWithDefaults(request),
  };
}

/**
 * Union's queue caps and scheduling (QueueSpec fields 8-10: proto/cloudidl/queue/queue.proto,
 * flyteidl2/core/tasks.proto) ↔ QueueCaps, spelt as Union's client does (flyteplugins-union
 * 0.19.1, remote/_queue.py): resources by lower-case name, accelerators by selector.
 */
const RESOURCE_TO_PB = toPbTable(QUEUE_RESOURCE_NAMES, ResourceName);
const RESOURCE_FROM_PB = new Map<ResourceName, QueueResourceName>(
  QUEUE_RESOURCE_NAMES.map((n) => [RESOURCE_TO_PB[n], n]),
);
/** GPUAccelerator.DeviceClass by number: NVIDIA_GPU = 0 … HABANA_GAUDI = 4, in ACCELERATOR_CLASSES' order. */
const CLASS_TO_PB = new Map<string, DeviceClass>(
  ACCELERATOR_CLASSES.map((c, i) => [c, i as DeviceClass]),
);

const SCHEDULING_TO_PB = toPbTable(QUEUE_SCHEDULING, SchedulingAlgorithm);

/** Union's `format_accelerator_selector` (remote/_queue.py:349-359): `class[/device[/partition]]`, the device canonical. */
export function acceleratorSelector(a: GPUAccelerator | undefined): string {
  const cls =
    ACCELERATOR_CLASSES[a?.deviceClass ?? DeviceClass.NVIDIA_GPU] ?? `class-${a?.deviceClass}`;
  let out: string = cls;
  // A cap stored before the canonical names (nvidia-tesla-t4) reads as the name it stands for.
  if (a?.device) out += `/${canonicalDevice(a.device) ?? a.device}`;
  if (a?.partitionSizeValue.case === 'partitionSize' && a.partitionSizeValue.value)
    out += `/${a.partitionSizeValue.value}`;
  return out;
}

/**
 * Union's `parse_accelerator_selector` (canonical spelling): the partitioning always declared,
 * as Union's cluster service requires.
 */
export function acceleratorFromSelector(selector: string): GPUAccelerator {
  const [cls, device, partition] = selector.split('/');
  return create(GPUAcceleratorSchema, {
    deviceClass: CLASS_TO_PB.get(cls ?? '') ?? DeviceClass.NVIDIA_GPU,
    device: device ?? '',
    partitionSizeValue: partition
      ? { case: 'partitionSize', value: partition }
      : { case: 'unpartitioned', value: true },
  });
}

/** A field left out when Union has none set. */
export function capsFromPb(spec: PbQueueSpec | undefined): QueueCaps {
  const out: QueueCaps = {};
  const resources = (spec?.maxResources ?? []).filter((e) => RESOURCE_FROM_PB.has(e.name));
  if (resources.length > 0)
    out.max_resources = Object.fromEntries(
      resources.map((e) => [RESOURCE_FROM_PB.get(e.name)!, e.value]),
    );
  if ((spec?.maxAccelerators.length ?? 0) > 0) {
    out.max_accelerators = Object.fromEntries(
      spec!.maxAccelerators.map((c) => [acceleratorSelector(c.accelerator), Number(c.count)]),
    );
  }
  const scheduling = fromPb(SCHEDULING_TO_PB, spec?.scheduling, undefined);
  if (scheduling) out.scheduling = scheduling;
  return out;
}

/**
 * Read-modify-write of the caps: `out` (a copy of the spec as read) gets each cap `caps`
 * declares, unless it reads so already: then, as every undeclared one, it is left as read (its
 * entries keep fields poolsync does not declare, such as GPUAccelerator.accelerator_model).
 */
export function setCaps(out: PbQueueSpec, caps: QueueCaps): void {
  const now = capsFromPb(out);
  if (caps.max_resources && !isDeepStrictEqual(caps.max_resources, now.max_resources ?? {})) {
    const foreign = out.maxResources.filter((e) => !RESOURCE_FROM_PB.has(e.name));
    out.maxResources = [...resourceEntries(caps.max_resources), ...foreign];
  }
  if (
    caps.max_accelerators &&
    !isDeepStrictEqual(caps.max_accelerators, now.max_accelerators ?? {})
  ) {
    const read = new Map(out.maxAccelerators.map((c) => [acceleratorSelector(c.accelerator), c]));
    out.maxAccelerators = acceleratorEntries(caps.max_accelerators, read);
  }
  if (caps.scheduling !== undefined) out.scheduling = SCHEDULING_TO_PB[caps.scheduling];
}

function resourceEntries(m: Partial<Record<QueueResourceName, string>>): Resources_ResourceEntry[] {
  return QUEUE_RESOURCE_NAMES.filter((n) => m[n] !== undefined).map((n) =>
    create(Resources_ResourceEntrySchema, { name: RESOURCE_TO_PB[n], value: m[n]! }),
  );
}

function acceleratorEntries(
  m: Record<string, number>,
  read: ReadonlyMap<string, AcceleratorCapacity> = new Map(),
): AcceleratorCapacity[] {
  return Object.keys(m)
    .sort()
    .map((selector) => {
      const had = read.get(selector)?.accelerator;
      return create(AcceleratorCapacitySchema, {
        accelerator: had ? clone(GPUAcceleratorSchema, had) : acceleratorFromSelector(selector),
        count: BigInt(m[selector]!),
      });
    });
}
