/** Shared vocabulary of the control plane (domain.md). Plain data, JSON-serialisable. */

export const SECRET_STORE_TYPES = [
  'AWS_SECRETS_MANAGER',
  'GCP_SECRET_MANAGER',
  'AZURE_KEY_VAULT',
  'KUBERNETES',
  'VAULT',
  'OCI_VAULT',
] as const;
export type SecretStoreType = (typeof SECRET_STORE_TYPES)[number];

export const PRIORITIES = ['min', 'medium', 'max'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const FAIRNESS_POLICIES = ['round_robin', 'shuffle_interleave'] as const;
export type Fairness = (typeof FAIRNESS_POLICIES)[number];

/** N1. */
export const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const NAME_MAX_LENGTH = 63;
/** N1, as a check: whether `name` can be a manifest's metadata.name (and a file name). */
export function isValidName(name: string): boolean {
  return name.length <= NAME_MAX_LENGTH && NAME_PATTERN.test(name);
}

export const DEFAULT_POOL = 'default';
export const DEFAULT_QUEUE = 'default';
export const WILDCARD = '*';

/** P2: a pool's data-plane contract, normalised (endpoint "" when absent, image_registry null when absent). */
export interface PoolContract {
  object_store_ref: { uri: string; endpoint: string };
  secret_store: { type: SecretStoreType; locator: string };
  image_registry: { locator: string } | null;
}

/** C4/C5: what a cluster's data plane is deployed with; every field optional. */
export interface ClusterDataPlane {
  object_store_uri?: string;
  secret_store?: { type?: SecretStoreType; locator?: string };
  image_registry?: string;
}

/**
 * Q1: the whole settable spec of a queue (an update replaces all of it, Q3). A type, not an
 * interface, so a spec is also a plain record (plan forms, plan/forms.ts).
 */
export type QueueSpec = {
  pool: string;
  /** The selector: ["*"], a list of cluster names, or [] (routes nowhere). */
  clusters: string[];
  run_concurrency: number;
  action_concurrency: number;
  depth: number;
  priority: Priority;
  fairness: Fairness;
} & QueueCaps;

/**
 * Union's queue caps and scheduling (QueueSpec fields 8-10, proto/cloudidl/queue/queue.proto,
 * from the flyteplugins-union wheel), in the spelling Union's client uses (remote/_queue.py).
 * Each is optional: absent means "not managed", and a queue update writes the live value back
 * unchanged (read-modify-write); declared, it is compared and written as a whole.
 */
export type QueueCaps = {
  /** Caps of the summed requests of dispatched actions: name → Kubernetes quantity. {} = none. */
  max_resources?: Partial<Record<QueueResourceName, string>>;
  /** In-flight devices per accelerator: `class[/device[/partition]]` → count. {} = none. */
  max_accelerators?: Record<string, number>;
  scheduling?: QueueScheduling;
};

/** The resources a queue may cap (Union's `MAX_RESOURCE_NAMES`: what its leasor accounts for). */
export const QUEUE_RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral_storage'] as const;
export type QueueResourceName = (typeof QUEUE_RESOURCE_NAMES)[number];
/** `strict_fifo` is also what Union does for a queue with none set. */
export const QUEUE_SCHEDULING = ['strict_fifo', 'greedy_capacity'] as const;
export type QueueScheduling = (typeof QUEUE_SCHEDULING)[number];
export const QUEUE_CAP_FIELDS = ['max_resources', 'max_accelerators', 'scheduling'] as const;
/** Accelerator classes of a cap selector (Union's client `_CLASS_TOKENS`, GPUAccelerator.DeviceClass). */
export const ACCELERATOR_CLASSES = [
  'nvidia_gpu',
  'google_tpu',
  'amazon_neuron',
  'amd_gpu',
  'habana_gaudi',
] as const;

/** C2: the settings of a queue created by registration, and Q1 defaults. */
export const QUEUE_DEFAULTS = {
  run_concurrency: 0,
  action_concurrency: 0,
  depth: 10000,
  priority: 'medium',
  fairness: 'round_robin',
} as const satisfies Omit<QueueSpec, 'pool' | 'clusters'>;

/** A1: the identity of a pool assignment. `workflow` null for a project-domain assignment. */
export interface AssignmentKey {
  project: string;
  domain: string;
  workflow: string | null;
}

export interface Assignment extends AssignmentKey {
  pool: string;
}

/** Stable text form of an assignment key: `project/domain` or `project/domain/workflow`. */
export function assignmentKeyString(key: AssignmentKey): string {
  return key.workflow === null
    ? `${key.project}/${key.domain}`
    : `${key.project}/${key.domain}/${key.workflow}`;
}

export type ObjectKind =
  | 'ClusterPool'
  | 'Cluster'
  | 'Queue'
  | 'PoolAssignment'
  | 'DefaultQueue'
  | 'ExecutionCluster'
  | 'ClusterLabel'
  | 'ExecutionClusterLabel';

/** Union v2: the identity of a default-queue setting (`DefaultQueue/<project>/<domain>`). */
export function defaultQueueKeyString(key: { project: string; domain: string }): string {
  return `${key.project}/${key.domain}`;
}

/** Plan and error addresses: `<Kind>/<name>`; for assignments the name is the key string. */
export function address(kind: ObjectKind, name: string): string {
  return `${kind}/${name}`;
}

/** A declared (or reported) data-plane value that differs from the pool contract (C4, C5). */
export interface DataPlaneMismatch {
  field: 'object_store_uri' | 'secret_store.type' | 'secret_store.locator' | 'image_registry';
  /** The contract's value; "" for the image registry of a pool that has none. */
  contract: string;
  declared: string;
}

/**
 * C4/C5: compares each declared data-plane value with the pool contract; undeclared values are
 * not checked. Shared by the control plane (registration, status reports), the validator (V6)
 * and the planner, so all three hold clusters to the same rule.
 */
export function dataPlaneMismatches(
  contract: PoolContract,
  dp: ClusterDataPlane,
): DataPlaneMismatch[] {
  const out: DataPlaneMismatch[] = [];
  const check = (field: DataPlaneMismatch['field'], expected: string, declared?: string) => {
    if (declared !== undefined && declared !== expected)
      out.push({ field, contract: expected, declared });
  };
  check('object_store_uri', contract.object_store_ref.uri, dp.object_store_uri);
  check('secret_store.type', contract.secret_store.type, dp.secret_store?.type);
  check('secret_store.locator', contract.secret_store.locator, dp.secret_store?.locator);
  // A pool without an image registry expects none: any declared registry differs from "".
  check('image_registry', contract.image_registry?.locator ?? '', dp.image_registry);
  return out;
}

export interface Capabilities {
  drain: boolean;
  queue_delete: boolean;
  pool_update: boolean;
  cluster_move: boolean;
  /** A drained queue can move to another pool (Q3 lifted). Absent in older saved plans: off. */
  queue_move: boolean;
  /**
   * Deletes are soft (Union today): a deleted queue keeps its name reserved until it is
   * undeleted, and is listed as deleted. Absent (off) in older saved plans and states.
   */
  soft_delete?: boolean;
  /**
   * Q5 lifted (Union today, flyteplugins-union 0.19.1 remote/_queue.py: "the reserved `default`
   * queue can be drained and deleted like any other"): poolsync still deletes it only when the
   * repository lists it in `absent` (poolsync.yaml). Absent (off) in older saved plans and states.
   */
  default_delete?: boolean;
  /**
   * A cluster another live queue pins explicitly cannot be drained, moved or deleted until
   * unpinned (Union today, flyteplugins-union 0.19.1 remote/_cluster.py:330-331, 363-365,
   * 450-451); without it a delete or move drops the cluster from those selectors (C8). Absent
   * (off) in older saved plans and states.
   */
  unpin_first?: boolean;
}

export const BASELINE_CAPABILITIES: Capabilities = {
  drain: false,
  queue_delete: false,
  pool_update: false,
  cluster_move: false,
  queue_move: false,
};
