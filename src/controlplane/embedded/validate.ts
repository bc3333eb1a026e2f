/**
 * Request validation of the control plane: untrusted input (TypeScript callers and JSON
 * bodies alike) in, normalised typed values out, INVALID_ARGUMENT with the object address
 * and the rule otherwise. Pure: no state is consulted here (state rules live in state.ts).
 */
import {
  DEFAULT_POOL,
  NAME_MAX_LENGTH,
  NAME_PATTERN,
  QUEUE_DEFAULTS,
  QUEUE_PLACEMENT,
  QUEUE_SPEC_FIELDS,
  WILDCARD,
  address,
  assignmentKeyString,
  type Assignment,
  type AssignmentKey,
  type ClusterDataPlane,
  type ObjectKind,
  type PoolContract,
  type QueueSettings,
  type QueueSpec,
  type StoredSpec,
} from '../../model/common.js';
import { SPEC_FIELDS, type ManifestKind, type SpecField } from '../../gen/manifests/kinds.js';
import * as SCHEMAS from '../../gen/manifests/validators.js';
import {
  assignmentShape,
  executionClusterLabelShape,
  poolContractShape,
} from '../../model/shapes.js';
import { ControlPlaneError } from '../errors.js';
import type { CreateQueueRequest, RegisterClusterRequest } from '../types.js';
import { type ExecutionClusterLabel, isMap } from '../../model/flyte.js';
import type { ActivityRecord, Op } from './state.js';

type Obj = Record<string, unknown>;

function invalid(message: string, addr: string | null, rule: string | null): ControlPlaneError {
  return new ControlPlaneError('INVALID_ARGUMENT', message, addr, rule);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function requireObject(value: unknown, what: string, addr: string | null): Obj {
  if (!isMap(value)) throw invalid(`${what} must be an object, got ${describe(value)}`, addr, null);
  return value;
}

function rejectUnknown(
  obj: Obj,
  known: readonly string[],
  what: string,
  addr: string | null,
): void {
  const key = Object.keys(obj).find((k) => !known.includes(k));
  if (key === undefined) return;
  throw invalid(`${what} has an unknown field "${key}" (known: ${known.join(', ')})`, addr, null);
}

/** N1. */
export function validateName(kind: ObjectKind, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw invalid(`a ${kind} needs a name (a non-empty string), got ${describe(name)}`, null, 'N1');
  }
  if (name.length > NAME_MAX_LENGTH || !NAME_PATTERN.test(name)) {
    throw invalid(
      `${kind} name ${describe(name)} is invalid: use at most ${NAME_MAX_LENGTH} lower-case letters, digits and "-", starting and ending with a letter or digit (N1)`,
      address(kind, name.slice(0, NAME_MAX_LENGTH)),
      'N1',
    );
  }
  return name;
}

/** `value` when it is one of `allowed`, else INVALID_ARGUMENT naming them and `rule`. */
function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  what: string,
  addr: string,
  rule: string,
): T {
  if (allowed.includes(value as T)) return value as T;
  const why = `${what} ${describe(value)} must be one of ${allowed.join(', ')} (${rule})`;
  throw invalid(why, addr, rule);
}

/** A standalone ajv validator (src/gen/manifests/validators.ts): `errors` the last call's. */
type Validator = ((doc: unknown, options: object) => boolean) & { errors?: AjvError[] | null };
type AjvError = {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
  parentSchema?: { properties?: object };
};
const VALIDATORS = SCHEMAS as unknown as Record<ManifestKind, Validator>;

/**
 * `spec` against its kind's schema, the manifest's own validator: the control plane takes what
 * a manifest may declare. Why not, as one line naming the field within `what`, or null.
 */
function schemaProblem(
  kind: ManifestKind,
  spec: unknown,
  what: string,
  show: (value: unknown) => string = describe,
): string | null {
  const validate = VALIDATORS[kind];
  const doc = { apiVersion: 'poolsync/v1', kind, metadata: { name: 'x' }, spec };
  if (validate(doc, { dynamicAnchors: {} })) return null;
  const err = validate.errors![0]!;
  const at = what + err.instancePath.replace(/^\/spec/, '').replaceAll('/', '.');
  const p = err.params;
  if (err.keyword === 'required') return `${at}.${String(p['missingProperty'])} is required`;
  if (err.keyword === 'additionalProperties') {
    const known = Object.keys(err.parentSchema?.properties ?? {}).join(', ');
    return `${at} has an unknown field "${String(p['additionalProperty'])}" (known: ${known})`;
  }
  const value = err.instancePath
    .split('/')
    .slice(2)
    .reduce<unknown>((v, k) => (v as Obj)?.[k], spec);
  if (err.keyword === 'enum')
    return `${at} ${show(value)} must be one of ${(p['allowedValues'] as unknown[]).join(', ')}`;
  return `${at} ${show(value)} ${err.message ?? 'is invalid'}`;
}

/** Above a manifest's 64 levels (manifests/limits.ts), so any object a manifest declares fits. */
export const MAX_BODY_DEPTH = 100;

/**
 * A request body nested deeper than `limit` refused before anything walks it recursively (the
 * walks here, JSON.stringify, structuredClone would exhaust the stack): INVALID_ARGUMENT naming
 * where. Iterative, so its own depth costs no stack.
 */
export function checkNesting(value: unknown, limit = MAX_BODY_DEPTH): void {
  type Node = { value: unknown; depth: number; key: string; parent: Node | null };
  const stack: Node[] = [{ value, depth: 0, key: '', parent: null }];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (typeof node.value !== 'object' || node.value === null) continue;
    if (node.depth === limit) {
      const keys: string[] = [];
      for (let n: Node | null = node; n?.parent; n = n.parent) keys.unshift(n.key);
      const path = keys.length > 8 ? `${keys.slice(0, 8).join('.')}…` : keys.join('.');
      throw invalid(
        `the request body is nested too deep: over ${limit} levels at ${path} (poolsync's objects are a few levels deep)`,
        null,
        null,
      );
    }
    for (const [key, child] of Object.entries(node.value))
      stack.push({ value: child, depth: node.depth + 1, key, parent: node });
  }
}

/** The model's null for an omitted field (model/common.ts Stored), as a manifest omits it. */
function withoutNulls(value: unknown): unknown {
  if (!isMap(value)) return value;
  const out: Obj = {};
  for (const k of Object.keys(value)) if (value[k] !== null) out[k] = withoutNulls(value[k]);
  return out;
}

/**
 * P2: a contract as given by a caller, checked by cluster-pool.schema.json and normalised by its
 * stored shape: an omitted optional field takes its default (endpoint "") or null
 * (image_registry), as in a snapshot (model/shapes.ts), so a client older than a field is served.
 */
/** `show` says a wrong value in the error: as written (a request's own), or its type (a file's). */
export function validateContract(
  value: unknown,
  addr: string,
  show: (value: unknown) => string = describe,
): PoolContract {
  const contract = withoutNulls(value);
  const problem = schemaProblem('ClusterPool', contract, 'contract', show);
  if (problem !== null) throw invalid(`${problem} (P2)`, addr, 'P2');
  poolContractShape(contract);
  return contract as PoolContract;
}

/** Refuses fields beyond `known`: `what` (`… takes a, b; unknown:`), then the unknown ones. */
function takeOnly(obj: object, known: readonly string[], what: string, addr: string): void {
  const unknown = Object.keys(obj).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw invalid(`${what} ${unknown.join(', ')}`, addr, null);
}

/** A cluster registration (name, pool, data_plane; nothing else) as the op that records it. */
export function validateRegistration(
  request: RegisterClusterRequest,
): Extract<Op, { op: 'register_cluster' }> {
  const name = validateName('Cluster', request?.name);
  const what = 'a cluster registration takes name, pool and data_plane; unknown:';
  takeOnly(request, ['name', 'pool', 'data_plane'], what, address('Cluster', name));
  const pool = validateName('ClusterPool', request.pool ?? DEFAULT_POOL);
  const dp = request.data_plane ?? null;
  const data_plane = dp === null ? null : validateDataPlane(dp, address('Cluster', name));
  return { op: 'register_cluster', name, pool, data_plane };
}

/** Q1: a queue's creation (a name, its spec with defaults applied) as the op that records it. */
export function validateQueueCreation(
  request: CreateQueueRequest,
): Extract<Op, { op: 'create_queue' }> {
  const name = validateName('Queue', request?.name);
  return { op: 'create_queue', name, spec: validateQueueSpec(request, name, false) };
}

/** C4/C5: a declared or reported data plane, as cluster.schema.json's data_plane (all optional). */
export function validateDataPlane(value: unknown, addr: string): ClusterDataPlane {
  const problem = schemaProblem('Cluster', { data_plane: value }, 'cluster');
  if (problem !== null) throw invalid(`${problem} (C4)`, addr, 'C4');
  return structuredClone(value) as ClusterDataPlane;
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** A count (an integer >= 0), else INVALID_ARGUMENT citing `rule`. */
function count(value: unknown, what: string, addr: string, rule: string): number {
  if (isCount(value)) return value;
  throw invalid(`${what} must be an integer >= 0, got ${describe(value)} (${rule})`, addr, rule);
}

/** Q1: the shape of a selector (membership is a state rule). */
export function validateSelector(value: unknown, addr: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw invalid(
      `queue clusters (the selector) must be a list of cluster names, got ${describe(value)} (Q1)`,
      addr,
      'Q1',
    );
  }
  const selector = value as string[];
  if (selector.includes(WILDCARD) && selector.length > 1) {
    throw invalid(
      `queue selector ${describe(selector)}: "*" must be the only entry (Q1)`,
      addr,
      'Q1',
    );
  }
  // Most selectors name one cluster: no set of names for them (issue 79, 70,000 creates).
  const seen = selector.length > 1 ? new Set<string>() : null;
  for (const name of selector) {
    if (name !== WILDCARD) validateName('Cluster', name);
    if (seen?.has(name))
      throw invalid(`queue selector names cluster "${name}" twice (Q1)`, addr, 'Q1');
    seen?.add(name);
  }
  return selector.slice();
}

/**
 * Q1: a setting's value as the Queue schema declares it (an integer is a count, 0 = no limit),
 * its default when omitted and it has one.
 */
function validateSetting(s: Obj, f: keyof QueueSettings, addr: string): unknown {
  const field: SpecField = SPEC_FIELDS.Queue[f];
  const fallback = field.required ? undefined : QUEUE_DEFAULTS[f];
  const value = s[f] ?? fallback;
  if (field.type === 'integer') {
    if (value === undefined)
      throw invalid(`queue ${f} is required (an integer >= 0, 0 = no limit) (Q1)`, addr, 'Q1');
    // The message's words only for a refusal: this runs 5 times per queue written.
    return isCount(value) ? value : count(value, `queue ${f}`, addr, 'Q1');
  }
  if (field.type === 'enum')
    return (field.values as unknown[]).includes(value)
      ? value
      : oneOf(value, field.values as string[], `queue ${f}`, addr, 'Q1');
  if (typeof value === field.type) return value;
  throw invalid(`queue ${f} must be a ${field.type}, got ${describe(value)} (Q1)`, addr, 'Q1');
}

/**
 * Q3: what an update must state, as it replaces the whole spec: the fields the schema requires
 * and the queue's placement (an absent pool would read as a move to "default", an absent
 * selector as "*"). A setting left out takes its default, as in a create: a client older than
 * a field never sends it (docs/versioning.md).
 */
const UPDATE_REQUIRES = QUEUE_SPEC_FIELDS.filter(
  (f) => SPEC_FIELDS.Queue[f].required || (QUEUE_PLACEMENT as readonly string[]).includes(f),
);

/** A queue spec's fields, and a `name` equal to the queue's. */
const QUEUE_SPEC_KNOWN: readonly string[] = [...QUEUE_SPEC_FIELDS, 'name'];

/**
 * Q1 (create, defaults applied) and Q3 (update, `complete`: the fields UPDATE_REQUIRES names
 * required). A `name` field is tolerated when it equals the queue's.
 */
export function validateQueueSpec(value: unknown, name: string, complete: boolean): QueueSpec {
  const addr = address('Queue', name);
  const s = requireObject(value, 'queue spec', addr);
  if (s.name !== undefined && s.name !== name) {
    throw invalid(`queue spec names "${String(s.name)}" but the call is for "${name}"`, addr, null);
  }
  rejectUnknown(s, QUEUE_SPEC_KNOWN, 'queue spec', addr);
  if (complete) {
    const missing = UPDATE_REQUIRES.filter((f) => s[f] === undefined);
    if (missing.length > 0) {
      throw invalid(
        `a queue update replaces the whole spec (Q3): missing ${missing.join(', ')}`,
        addr,
        'Q3',
      );
    }
  }
  const pool = s.pool ?? DEFAULT_POOL;
  if (typeof pool !== 'string')
    throw invalid(`queue pool must be a pool name, got ${describe(pool)} (Q1)`, addr, 'Q1');
  validateName('ClusterPool', pool);
  const clusters = validateSelector(s.clusters ?? [WILDCARD], addr);
  // One literal, in QUEUE_SETTINGS' order: the state keeps this object (state.ts createQueue),
  // 40 bytes rather than 95 with its fields spread in (~5 MB at 100,000 objects, issue 63).
  return {
    pool,
    clusters,
    run_concurrency: validateSetting(s, 'run_concurrency', addr) as number,
    action_concurrency: validateSetting(s, 'action_concurrency', addr) as number,
    depth: validateSetting(s, 'depth', addr) as number,
    priority: validateSetting(s, 'priority', addr) as QueueSettings['priority'],
    fairness: validateSetting(s, 'fairness', addr) as QueueSettings['fairness'],
  };
}

function keyPart(obj: Obj, key: 'project' | 'domain' | 'workflow', addr: string): string {
  const value = obj[key];
  if (typeof value !== 'string' || value === '' || /[\s/]/.test(value)) {
    throw invalid(
      `assignment ${key} must be a non-empty string without spaces or "/", got ${describe(value)} (A1)`,
      addr,
      'A1',
    );
  }
  return value;
}

/** A1: the key of an assignment. */
export function validateAssignmentKey(value: unknown): AssignmentKey {
  const k = requireObject(value, 'assignment', null);
  const shown = [k.project, k.domain, k.workflow].filter((v) => typeof v === 'string' && v !== '');
  const addr = address('PoolAssignment', shown.join('/') || '?');
  const workflow =
    k.workflow === undefined || k.workflow === null ? null : keyPart(k, 'workflow', addr);
  return { project: keyPart(k, 'project', addr), domain: keyPart(k, 'domain', addr), workflow };
}

/** An ExecutionClusterLabel's key: an assignment's, or a project-wide one (domain '', no workflow). */
export function validateLabelKey(value: unknown): AssignmentKey {
  const k = requireObject(value, 'execution cluster label', null);
  if (k.domain !== '' || (k.workflow ?? null) !== null) return validateAssignmentKey(value);
  const addr = address('ExecutionClusterLabel', `${String(k.project)}/*`);
  return { project: keyPart(k, 'project', addr), domain: '', workflow: null };
}

export function validateAssignment(value: unknown): Assignment {
  return validateKeyed('PoolAssignment', value, validateAssignmentKey(value), 'assignment', 'A1');
}

const KEYED_SHAPES = {
  PoolAssignment: assignmentShape,
  ExecutionClusterLabel: executionClusterLabelShape,
};

/**
 * A record keyed like an assignment, as stored: its key checked by A1 (the API takes
 * flyteadmin's keys, wider than a manifest's names), its other fields by the kind's schema, in
 * the schema's order, an omitted one its default.
 */
function validateKeyed<K extends keyof typeof KEYED_SHAPES>(
  kind: K,
  value: unknown,
  key: AssignmentKey,
  what: string,
  rule: string | null,
): StoredSpec<K> {
  const addr = address(kind, assignmentKeyString(key));
  const given = withoutNulls(requireObject(value, what, addr)) as Obj;
  // The key as a placeholder the schema accepts: A1 checked it.
  const problem = schemaProblem(kind, { ...given, project: 'p', domain: 'd', workflow: 'w' }, what);
  if (problem !== null) throw invalid(rule ? `${problem} (${rule})` : problem, addr, rule);
  const out: Obj = {};
  for (const f of Object.keys(SPEC_FIELDS[kind]))
    out[f] = f in key ? key[f as keyof AssignmentKey] : given[f];
  KEYED_SHAPES[kind](out);
  return out as StoredSpec<K>;
}

/** Q7 simulation input. */
export function validateActivity(value: unknown, addr: string): Omit<ActivityRecord, 'at'> {
  const a = requireObject(value, 'queue activity', addr);
  const known = ['runs_in_flight', 'actions_in_flight', 'finish_over_ms'];
  rejectUnknown(a, known, 'queue activity', addr);
  const finish = a.finish_over_ms ?? null;
  const finish_over_ms = finish === null ? null : count(finish, 'finish_over_ms', addr, 'Q7');
  return {
    runs_in_flight: count(a.runs_in_flight, 'runs_in_flight', addr, 'Q7'),
    actions_in_flight: count(a.actions_in_flight, 'actions_in_flight', addr, 'Q7'),
    finish_over_ms,
  };
}

/** A setting's key as the calls receive it: non-empty strings without spaces or "/". */
export function validateDefaultQueueKey(
  project: unknown,
  domain: unknown,
): { project: string; domain: string } {
  const shown = [project, domain].filter((v) => typeof v === 'string' && v !== '').join('/');
  const addr = address('DefaultQueue', shown || '?');
  const part = (what: string, v: unknown): string => {
    if (typeof v === 'string' && v !== '' && !/[\s/]/.test(v)) return v;
    const got = JSON.stringify(v) ?? 'nothing';
    const why = `default-queue ${what} must be a non-empty string without spaces or "/", got ${got}`;
    throw invalid(why, addr, null);
  };
  return { project: part('project', project), domain: part('domain', domain) };
}

/** A label write as the store accepts it: a valid key and a label name (the schema's). */
export function validateExecutionClusterLabel(
  value: unknown,
  key: AssignmentKey,
): ExecutionClusterLabel {
  return validateKeyed('ExecutionClusterLabel', value, key, 'execution cluster label', null);
}
