/** The plan (plan.md): data, never mutated; its JSON is this object (schemas/plan.schema.json). */
import type { AssignmentKey, Capabilities, ObjectKind, PoolContract, QueueSpec } from './common.js';
import type { RegisterClusterRequest } from './requests.js';
import type { DeployedRouting, ExecutionClusterLabel } from './flyte.js';
import type { PlanParts } from '../gen/manifests/plan-parts.js';

export const PLAN_FORMAT_VERSION = '1';

export type ChangeAction =
  'create' | 'update' | 'replace' | 'delete' | 'blocked' | 'unmanaged' | 'noop';

/** The actions poolsync makes calls for (a step acts on the object), in the order counts list them. */
export const ACTIONABLE_ACTIONS = ['create', 'update', 'replace', 'delete'] as const;
type ActionableAction = (typeof ACTIONABLE_ACTIONS)[number];

export function isActionable(action: ChangeAction): action is ActionableAction {
  return (ACTIONABLE_ACTIONS as readonly ChangeAction[]).includes(action);
}

/** A `--target` plan (its PARTIAL_PLAN warning): some changes only, every address declared. */
export function isTargeted(plan: Pick<Plan, 'warnings'>): boolean {
  return plan.warnings.some((w) => w.code === 'PARTIAL_PLAN');
}

/** A nested reason is worded where the parameter is read. */
type ReasonParam = string | number | boolean | string[] | number[] | Reason | null;
export type ReasonParams = Record<string, ReasonParam>;

/** A reason as data (docs/plan.md, One voice), worded by src/render/reasons.ts for every renderer. */
export interface Reason {
  code: string;
  params: ReasonParams;
}

export interface FieldDiff {
  /** Dotted path within the object's comparable form, e.g. `run_concurrency`, `contract.secret_store.type`. */
  path: string;
  before: unknown;
  after: unknown;
  forces_replacement: boolean;
}

export interface Change {
  address: string;
  kind: ObjectKind;
  name: string;
  action: ChangeAction;
  /** Comparable forms of the live object and of the object once applied; null when absent. */
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  diff: FieldDiff[];
  /** Why it is blocked, unmanaged or left as it is, as data (worded by render/common.ts whyText). */
  why?: Reason | null;
  /** Read from a plan file: the JSON's `reason`, all it keeps of `why` for some codes (reasonInJson). */
  reason?: string | null;
  destructive: boolean;
  /**
   * The object whose step causes this change, when it has no step of its own (C2/C3 queues made
   * by a registration, C8 selectors pruned by a cluster delete).
   */
  caused_by?: string | null;
  /**
   * What the step of `caused_by` does to this object (worded by src/render/reasons.ts): the
   * change's `# …` line, and the cause every warning about the object names.
   */
  cause?: Reason | null;
  /**
   * The object as the step of `caused_by` alone leaves it, when the change has steps of its own
   * too (C2: a co-named queue created with defaults, then updated): a `--target` plan keeping the
   * cause but not those steps shows this as `after`.
   */
  caused_after?: Record<string, unknown> | null;
  /**
   * Why the steps of a capability-enabled change are safe (drain, queue delete, move, pool
   * update), as data from the planner; words (`; ` between) in a change read from a plan file.
   */
  note?: Reason[] | string | null;
  /**
   * Why the plan cannot tell whether this change is safe now (a label whose deployment poolsync
   * cannot read, docs/flyte-oss.md): policy `safe` holds it. Words in a change read from a file.
   */
  unverified?: Reason | string | null;
}

/**
 * Why a cluster's wait watches a queue (docs/apply.md, Waits): its co-named queue moving with it,
 * one routing only to clusters the plan takes away, one an earlier apply's cut-short wait
 * recorded (`cluster_waits`), a `*` queue of the pool the plan empties, a retired one of its pool.
 */
export type WaitWhy = 'co_named' | 'only_leaving' | 'recorded' | 'wildcard' | 'retired';

/** Each step carries everything the executor needs, so a saved plan runs without re-planning. */
export type StepOp =
  | { op: 'create_pool'; args: { name: string; contract: PoolContract } }
  | { op: 'delete_pool'; args: { name: string } }
  | { op: 'register_cluster'; args: RegisterClusterRequest & { pool: string } }
  | { op: 'update_cluster'; args: { name: string; enabled: boolean } }
  | { op: 'delete_cluster'; args: { name: string } }
  | { op: 'create_queue'; args: QueueSpec & { name: string } }
  | { op: 'update_queue'; args: QueueSpec & { name: string } }
  | { op: 'wait_idle'; args: { queues: string[]; cluster: string; why?: Record<string, WaitWhy> } }
  | { op: 'set_assignment'; args: AssignmentKey & { pool: string } }
  | { op: 'delete_assignment'; args: AssignmentKey }
  | { op: 'drain_queue'; args: { name: string } }
  | { op: 'wait_drained'; args: { queues: string[] } }
  | { op: 'activate_queue'; args: { name: string } }
  | { op: 'delete_queue'; args: { name: string } }
  /** A soft-deleted queue (Union) the repository declares again: back, DRAINED, with its old spec. */
  | { op: 'undelete_queue'; args: { name: string } }
  /** A soft-deleted pool (Union) the repository declares again: back with its old contract. */
  | { op: 'undelete_pool'; args: { name: string } }
  /** A soft-deleted cluster (Union): back DRAINED in its old pool, its co-named queue with it. */
  | { op: 'undelete_cluster'; args: { name: string } }
  | { op: 'move_cluster'; args: { name: string; pool: string } }
  /** Capability `queue_move`: the queue's whole spec, naming its new pool; runs once it is DRAINED. */
  | { op: 'move_queue'; args: QueueSpec & { name: string } }
  | { op: 'update_pool'; args: { name: string; contract: PoolContract } }
  | { op: 'set_default_queue'; args: { project: string; domain: string; queue: string } }
  | { op: 'delete_default_queue'; args: { project: string; domain: string } }
  | { op: 'set_execution_cluster_label'; args: ExecutionClusterLabel }
  | { op: 'delete_execution_cluster_label'; args: AssignmentKey };

export type StepKind = StepOp['op'];

/**
 * A manual step's command, the backend's own CLI (`flyte create cluster-pool gpu --file gpu.yaml`);
 * `apply --flyte-cli` hands the child its credentials itself.
 */
export type ManualInstruction = PlanParts['manual'];

export type Step = StepOp & {
  /** `s1`, `s2` … in topological order. */
  id: string;
  /** `Cluster/prod-1`. */
  target: string;
  depends_on: string[];
  /** `api` (absent): the executor makes the call; `manual`: the backend has no public API for it (a runbook step). */
  execution?: 'api' | 'manual';
  /**
   * It completes the change a step it depends on made (C6: a registration's disable; a queue's
   * activation after its move): once that step is done it runs even while the apply stops, as a
   * call in flight finishes. Absent: false.
   */
  completes_change?: true;
  manual?: ManualInstruction;
};

/**
 * A warning as data, worded by renderers (src/render/reasons.ts errorText); one read from a plan
 * file keeps the JSON's `message`, and `params` only for the codes the JSON carries.
 */
export interface PlanWarning {
  code: string;
  address: string;
  message?: string;
  params?: ReasonParams;
}

/** An error, as a warning is (its `params` are never in the JSON). */
export interface PlanError extends Omit<PlanWarning, 'address'> {
  address: string | null;
  /** `file:line:col` when the error comes from a manifest. */
  location: string | null;
}

export type PlanSummary = Record<ChangeAction, number>;

export interface Plan {
  format_version: typeof PLAN_FORMAT_VERSION;
  desired_fingerprint: string;
  live_fingerprint: string;
  commit: string | null;
  summary: PlanSummary;
  /** Sorted by kind (pool, cluster, queue, assignment) then name. */
  changes: Change[];
  steps: Step[];
  warnings: PlanWarning[];
  errors: PlanError[];
  capabilities?: Capabilities;
  /** `apply PLANFILE` refuses it anywhere else; absent in plans saved before it was recorded. */
  control_plane?: PlanControlPlane;
  /** What `prune: true` may delete (docs/plan.md, Prune scope); absent when prune is off. */
  prune_scope?: PruneScope;
  /** Present when the control plane's inventory was read: what an apply records in it. */
  inventory?: PlanInventory;
  /**
   * Destroyed addresses marked `poolsync/confirm-destroy` (declared or recorded): applied only
   * once a person approves them (docs/plan.md, Guardrails). Absent: none.
   */
  confirm_destroy?: string[];
  /**
   * The project/domains whose default-queue settings the plan read, when not all were
   * (LiveState.default_queues_read): a check of its live fingerprint reads the same.
   */
  default_queues_read?: { project: string; domain: string }[];
  /** flyteadmin: its clusters ConfigMap's routing as the plan read it, so a stale plan's refusal names what changed. */
  deployed_routing?: DeployedRouting;
  /** A plan file's seal (src/render/plan-file.ts), last: set when read, to render back the same. */
  seal?: string;
}

/** Named in the plan's header (src/controlplane/identity.ts). */
export type PlanControlPlane = PlanParts['control_plane'];

export type PruneScope = PlanParts['prune_scope'];

/** The inventory as this plan reads and leaves it (docs/plan.md, Prune by inventory). */
export type PlanInventory = PlanParts['inventory'];

export function visibleChanges(plan: Pick<Plan, 'changes'>): Change[] {
  return plan.changes.filter((c) => c.action !== 'noop');
}
