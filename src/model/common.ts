/**
 * Shared vocabulary of the control plane (domain.md), plain JSON data. Each kind's fields are
 * declared once, by schemas/<kind>.schema.json; types, defaults and lists here derive from it
 * (src/gen/manifests/kinds.ts, `npm run generate:validators`).
 */
import { isDeepStrictEqual } from 'node:util';
import {
  MANIFEST_KINDS,
  SPEC_FIELDS,
  type ManifestKind,
  type ManifestSpecs,
  type SpecField,
} from '../gen/manifests/kinds.js';
import type { PlanParts } from '../gen/manifests/plan-parts.js';
import { isMap } from '../util/json-shape.js';

export const SECRET_STORE_TYPES = SPEC_FIELDS.ClusterPool.secret_store.fields.type.values;
export type SecretStoreType = (typeof SECRET_STORE_TYPES)[number];

export const PRIORITIES = SPEC_FIELDS.Queue.priority.values;

export const FAIRNESS_POLICIES = SPEC_FIELDS.Queue.fairness.values;

/** N1. */
export const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const NAME_MAX_LENGTH = 63;
/** N1: whether `name` can be a metadata.name (and a file name). */
export function isValidName(name: string): boolean {
  return name.length <= NAME_MAX_LENGTH && NAME_PATTERN.test(name);
}

export const DEFAULT_POOL = 'default';
export const DEFAULT_QUEUE = 'default';
export const WILDCARD = '*';

type Fields = Readonly<Record<string, SpecField>>;

/**
 * A record written as `W` (ManifestSpecs) as the model keeps it, by its schema's fields `F`
 * (SPEC_FIELDS): a field the schema requires or gives a default is always there, any other is
 * null when omitted; so are the fields of a nested mapping (model/shapes.ts reads them so).
 */
export type Stored<W, F> = {
  -readonly [K in keyof F & keyof W]-?: F[K] extends { required: true } | { default: unknown }
    ? StoredValue<W[K], F[K]>
    : StoredValue<W[K], F[K]> | null;
};
type StoredValue<T, F> = F extends { fields: infer G } ? Stored<NonNullable<T>, G> : NonNullable<T>;
/** A kind's spec as the model keeps it, from schemas/<kind>.schema.json. */
export type StoredSpec<K extends ManifestKind> = Stored<ManifestSpecs[K], (typeof SPEC_FIELDS)[K]>;

/**
 * `fields` of `value` as a manifest writes them (export): a null (omitted) field left out, and
 * so is a nested mapping's field at its default (`endpoint: ""`); a spec's own fields are
 * written, defaults too, so an exported file says its pool and state.
 */
export function writtenOf(fields: Fields, value: object, nested = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of Object.keys(fields)) {
    const f = fields[n]!;
    const v = (value as Record<string, unknown>)[n];
    if (v === null || v === undefined) continue;
    if (nested && 'default' in f && isDeepStrictEqual(v, f.default)) continue;
    out[n] = f.fields && isMap(v) ? writtenOf(f.fields, v, true) : structuredClone(v);
  }
  return out;
}

/**
 * `fields` of `value` as one list of leaves, in the schema's order, null for each leaf of an
 * omitted mapping: a canonical key (plan/fingerprint.ts) that no key order changes.
 */
export function leavesOf(fields: Fields, value: object | null, out: unknown[] = []): unknown[] {
  // for…in, not Object.keys: no array an object (a fingerprint keys every assignment).
  for (const n in fields) {
    const f = fields[n]!;
    const v = value === null ? null : (value as Record<string, unknown>)[n];
    if (f.fields) leavesOf(f.fields, isMap(v) ? v : null, out);
    else out.push(v ?? null);
  }
  return out;
}

/** P2: a pool's data-plane contract (cluster-pool.schema.json), each default applied. */
export type PoolContract = StoredSpec<'ClusterPool'>;

/** P2: the same contract, an omitted field as its default (a caller may leave one out). */
export function sameContract(a: PoolContract, b: PoolContract): boolean {
  return isDeepStrictEqual(leavesOf(POOL_FIELDS, a), leavesOf(POOL_FIELDS, b));
}
const POOL_FIELDS: Fields = SPEC_FIELDS.ClusterPool;

/**
 * The Cluster fields no control plane stores: `data_plane` is what the data plane reports (C5;
 * the declared one is held to the contract, V6), `pools` only Union self-managed's rendered pool
 * map. A field added to the schema is stored unless named here.
 */
const CLUSTER_UNSTORED = ['pools', 'data_plane'] as const;
type ClusterField = keyof typeof SPEC_FIELDS.Cluster;
/** C1, C6: a cluster's stored fields, in the schema's order. */
export const CLUSTER_FIELDS = (Object.keys(SPEC_FIELDS.Cluster) as ClusterField[]).filter(
  (f) => !(CLUSTER_UNSTORED as readonly string[]).includes(f),
) as Exclude<ClusterField, (typeof CLUSTER_UNSTORED)[number]>[];
/** A cluster's stored fields (its pool and whether it takes work), defaults applied. */
export type ClusterSettings = Pick<StoredSpec<'Cluster'>, (typeof CLUSTER_FIELDS)[number]>;

/** C4/C5: what a cluster's data plane is deployed with; every field optional. */
export type ClusterDataPlane = NonNullable<ManifestSpecs['Cluster']['data_plane']>;

type QueueFields = typeof SPEC_FIELDS.Queue;
type QueueField = keyof QueueFields;
type WrittenQueue = ManifestSpecs['Queue'];

/**
 * Union's queue caps and scheduling (QueueSpec fields 8-10, proto/cloudidl/queue/queue.proto of
 * the flyteplugins-union wheel, spelt as remote/_queue.py): the Queue fields with no default that
 * a manifest may omit. Absent: not managed (an update writes the live value back); declared:
 * compared and written whole.
 */
type CapField = {
  [K in QueueField]: QueueFields[K] extends { default: unknown } | { required: true } ? never : K;
}[QueueField];

/** Q1: where a queue is (its pool and its selector); the other fields are its settings and caps. */
export const QUEUE_PLACEMENT = ['pool', 'clusters'] as const;

/**
 * Q1: a queue's whole settable spec (an update replaces all of it, Q3), defaults applied; a type,
 * not an interface, so it is also a plain record (plan/forms.ts).
 */
export type QueueSpec = Required<Omit<WrittenQueue, CapField>> & QueueCaps;

/** Caps of the summed requests of dispatched actions (name → Kubernetes quantity, as text); {} = none. */
export type QueueCaps = {
  [K in CapField]?: K extends 'max_resources'
    ? Partial<Record<QueueResourceName, string>>
    : WrittenQueue[K];
};

const queueFields = Object.keys(SPEC_FIELDS.Queue) as QueueField[];
const queueField = (f: QueueField): SpecField => SPEC_FIELDS.Queue[f];
const isCap = (f: QueueField): boolean => !queueField(f).required && !('default' in queueField(f));
export const QUEUE_CAP_FIELDS = queueFields.filter(isCap) as CapField[];
type UncappedField = Exclude<QueueField, CapField>;
/** The fields every queue has (QueueSpec without its caps), in the schema's order. */
export const QUEUE_SPEC_FIELDS = queueFields.filter((f) => !isCap(f)) as UncappedField[];
type SettingField = Exclude<QueueField, CapField | (typeof QUEUE_PLACEMENT)[number]>;
/** A queue's settings: its fields besides its placement and its caps. */
export type QueueSettings = Pick<QueueSpec, SettingField>;
export const QUEUE_SETTINGS = QUEUE_SPEC_FIELDS.filter(
  (f) => !(QUEUE_PLACEMENT as readonly string[]).includes(f),
) as SettingField[];

/** The resources a queue may cap (Union's `MAX_RESOURCE_NAMES`: what its leasor accounts for). */
export const QUEUE_RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral_storage'] as const;
export type QueueResourceName = (typeof QUEUE_RESOURCE_NAMES)[number];
export const QUEUE_SCHEDULING = SPEC_FIELDS.Queue.scheduling.values;
/**
 * What Union's client, and so poolsync, creates a queue with when none is declared (U8); one the
 * server creates (`default`, a cluster's co-named queue) has no policy, ordered by its fairness.
 */
export const CREATED_SCHEDULING: (typeof QUEUE_SCHEDULING)[number] = 'strict_fifo';
/** Accelerator classes of a cap selector (Union's client `_CLASS_TOKENS`, GPUAccelerator.DeviceClass). */
export const ACCELERATOR_CLASSES = [
  'nvidia_gpu',
  'google_tpu',
  'amazon_neuron',
  'amd_gpu',
  'habana_gaudi',
] as const;

/** C2: a registration's settings where the schema has no default. */
const CREATED: Pick<QueueSettings, RequiredSetting> = { run_concurrency: 0, action_concurrency: 0 };
export type RequiredSetting = {
  [K in SettingField]: QueueFields[K] extends { required: true } ? K : never;
}[SettingField];

/** C2: the settings of a queue created by registration, and Q1 defaults. */
export const QUEUE_DEFAULTS: Readonly<QueueSettings> = Object.fromEntries(
  QUEUE_SETTINGS.map((f) => [
    f,
    Object.hasOwn(CREATED, f) ? CREATED[f as RequiredSetting] : queueField(f).default,
  ]),
) as QueueSettings;

/** The fields `keys` of `from`, in that order. */
export function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  // Indexed, not for-of: no iterator result a key (a queue's settings are picked per queue).
  for (let i = 0; i < keys.length; i++) out[keys[i]!] = from[keys[i]!];
  return out;
}

/** Q1: a spec, each field left out (or null) as the schema's default (pool default, selector *) or C2's. */
export function queueSpecWithDefaults(request: {
  [K in keyof QueueSpec]?: QueueSpec[K] | null;
}): Required<Omit<QueueSpec, CapField>> {
  const out: Record<string, unknown> = {};
  // Indexed, not for-of: run for every Queue document, no iterator result a field (~18 MB at
  // 100,000 objects).
  for (let i = 0; i < QUEUE_SPEC_FIELDS.length; i++) {
    const f = QUEUE_SPEC_FIELDS[i]!;
    const d = QUEUE_DEFAULTS[f as SettingField] ?? queueField(f).default;
    out[f] = request[f] ?? (Array.isArray(d) ? [...d] : d); // a default selector of its own
  }
  return out as Required<Omit<QueueSpec, CapField>>;
}

/** The caps `spec` declares, as given. */
export function capsOf(spec: QueueCaps): QueueCaps {
  const out: Record<string, unknown> = {};
  for (const f of QUEUE_CAP_FIELDS) if (spec[f] !== undefined) out[f] = spec[f];
  return out as QueueCaps;
}

/** A1: a pool assignment (pool-assignment.schema.json); `workflow` null for a project-domain one. */
export type Assignment = StoredSpec<'PoolAssignment'>;
/** A1: the identity of a pool assignment (and of an execution cluster label). */
export type AssignmentKey = Pick<Assignment, 'project' | 'domain' | 'workflow'>;

/**
 * Stable text form of an assignment key: `project/domain` or `project/domain/workflow`; an
 * ExecutionClusterLabel's project-wide key (domain '') is `project/*`, as attributeRowKey names
 * flyteadmin's rows.
 */
export function assignmentKeyString(key: AssignmentKey): string {
  const domain = key.domain === '' ? '*' : key.domain;
  return key.workflow === null
    ? `${key.project}/${domain}`
    : `${key.project}/${domain}/${key.workflow}`;
}

export type ObjectKind = ManifestKind;

/** Union v2: project/domain → default queue, as schemas/default-queue.schema.json declares it. */
export type DefaultQueueSetting = StoredSpec<'DefaultQueue'>;

/** Union v2: the identity of a default-queue setting (`DefaultQueue/<project>/<domain>`). */
export function defaultQueueKeyString(key: { project: string; domain: string }): string {
  return `${key.project}/${key.domain}`;
}

/** `<Kind>/` of each kind, made once: `${kind}/${name}` made it anew for each address. */
const ADDRESS_PREFIX = Object.freeze(
  Object.fromEntries(MANIFEST_KINDS.map((k) => [k, `${k}/`])) as Record<ObjectKind, string>,
);

/** Plan and error addresses: `<Kind>/<name>`; for assignments the name is the key string. */
export function address(kind: ObjectKind, name: string): string {
  return (ADDRESS_PREFIX[kind] ?? `${kind}/`) + name;
}

/**
 * C4: each data-plane field (cluster.schema.json's data_plane) and the contract field it must
 * equal, dotted; a pool without an image registry expects none (""). One table for the control
 * plane, the validator (V6, which finds each in the pool's document by it) and the planner.
 */
export const DATA_PLANE_CONTRACT = {
  object_store_uri: 'object_store_ref.uri',
  'secret_store.type': 'secret_store.type',
  'secret_store.locator': 'secret_store.locator',
  image_registry: 'image_registry.locator',
} as const;
type DataPlaneField = keyof typeof DATA_PLANE_CONTRACT;
export const DATA_PLANE_FIELDS = Object.keys(DATA_PLANE_CONTRACT) as DataPlaneField[];

/** The value at a dotted `path` of `o`, undefined where a step is absent or null. */
export function at(o: unknown, path: string): unknown {
  return fieldAt(o, path) ?? undefined;
}

/**
 * The value at a dotted `path` of `o` as it is (a null kept: a saved plan's step may send one).
 * A key may hold dots itself (an accelerator's partition, `nvidia_gpu/nvidia-a100/1g.5gb`): at
 * each level the longest key present is taken.
 */
export function fieldAt(o: unknown, path: string): unknown {
  for (let rest = path; rest !== '';) {
    if (!isMap(o)) return undefined;
    let key = rest;
    while (!Object.hasOwn(o, key)) {
      const cut = key.lastIndexOf('.');
      if (cut < 0) return undefined;
      key = key.slice(0, cut);
    }
    o = o[key];
    rest = rest.slice(key.length + 1);
  }
  return o;
}

/** A declared (or reported) data-plane value that differs from the pool contract (C4, C5). */
export interface DataPlaneMismatch {
  field: DataPlaneField;
  /** The contract's value; "" for the image registry of a pool that has none. */
  contract: string;
  declared: string;
}

/**
 * C4/C5: each declared data-plane value against the pool contract. Shared by the control plane,
 * the validator (V6) and the planner, so all three hold clusters to the same rule.
 */
export function dataPlaneMismatches(
  contract: PoolContract,
  dp: ClusterDataPlane,
): DataPlaneMismatch[] {
  const out: DataPlaneMismatch[] = [];
  for (const field of DATA_PLANE_FIELDS) {
    const expected = (at(contract, DATA_PLANE_CONTRACT[field]) ?? '') as string;
    const declared = at(dp, field) as string | undefined;
    if (declared !== undefined && declared !== expected)
      out.push({ field, contract: expected, declared });
  }
  return out;
}

/** domain.md, Capabilities, as plans record them; `queue_move` is absent (off) in older plans. */
export type Capabilities = PlanParts['capabilities'] & { queue_move: boolean };

export const BASELINE_CAPABILITIES: Capabilities = {
  drain: false,
  queue_delete: false,
  pool_update: false,
  cluster_move: false,
  queue_move: false,
};
