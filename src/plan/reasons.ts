/**
 * Reasons as data (docs/plan.md, One voice): the planner decides once per object why it
 * changes the way it does and records that decision as a code and its parameters
 * (`Change.cause`, `Change.why`, `PlanWarning.params`). This catalog is the one place that
 * turns a code into words; the text plan, the markdown comment, the JSON's `reason` and
 * `message`, the dashboard and notifications all read it, so they cannot tell different stories.
 *
 * Adding a code: add it to CATALOG with the parameters it reads. A plan carrying a code this
 * poolsync does not know (a newer writer) falls back to the text stored beside it.
 */
import type { ObjectKind } from '../model/common.js';
import type { PlanWarning, PruneScope, Reason, ReasonParams } from '../model/plan.js';

type Render = (p: ReasonParams) => string;

const s = (p: ReasonParams, key: string): string => {
  const v = p[key];
  return typeof v === 'string' ? v : JSON.stringify(v ?? null);
};

/** How a cluster is registered again (`from`: its live pool, null when it is not live). */
function reRegistered(p: ReasonParams): string {
  // A forced replace (--replace) keeps the pool: the cluster is re-registered where it is.
  if (p.from === null || p.from === undefined) return 'is registered again (C7)';
  return p.from === p.to
    ? `is deleted and registered again in pool "${s(p, 'to')}" (C7)`
    : `moves from pool "${s(p, 'from')}" to "${s(p, 'to')}" by delete and re-register (C7)`;
}

const CATALOG: Record<string, Render> = {
  // Causes: what another object's step does to this one (Change.cause, with caused_by).
  CREATED_BY_REGISTRATION: (p) => `created by registering ${s(p, 'by')} (C2)`,
  RECREATED_BY_REGISTRATION: (p) => `recreated by registering ${s(p, 'by')} (C3)`,
  MOVES_WITH_CLUSTER: (p) =>
    `the co-named queue moves with ${s(p, 'by')} to pool "${s(p, 'pool')}" (cluster_move)`,
  LEAVES_MOVED_CLUSTER: (p) =>
    `${s(p, 'by')} moves to pool "${s(p, 'pool')}" (cluster_move): its name leaves the selector (Q1)`,
  CLUSTER_DELETED: (p) => `${s(p, 'by')} is deleted: its name leaves the selector (C8)`,
  CONAMED_LEFT_BEHIND: (p) =>
    `${s(p, 'by')} is deleted and registered again in pool "${s(p, 'to')}" (C7): this co-named queue ` +
    `stays in pool "${s(p, 'pool')}" and its name leaves the selector (C8)`,
  DELETED_WITH_CLUSTER: (p) =>
    `deleted with ${s(p, 'by')} (queue_delete: a cluster delete takes its co-named queue with it)`,
  REPLACED_WITH_CLUSTER: (p) =>
    `deleted with ${s(p, 'by')} (queue_delete) and created again by its registration (C2), with the pool and ` +
    `selector of the cluster: nothing is left behind in pool "${s(p, 'pool')}"`,
  DELETED_WITH_BROADER_ROW: (p) =>
    `deleted along with ${s(p, 'by')} (flyteadmin deletes the narrower rows of its project/domain)` +
    (p.set_again === true ? ' and set again after it' : ''),
  SET_AGAIN_AROUND_REPLACE: (p) =>
    `removed and set again around the replacement of ${s(p, 'by')} (A3)`,
  CAUSED_BY: (p) => `caused by ${s(p, 'by')}`,

  // Why a live object absent from the repository is left alone (Change.why of `unmanaged`).
  PRUNE_OFF: () => 'not in the repository and prune is off: reported, never touched',
  NOT_IN_INVENTORY: (p) =>
    `not in the repository, and poolsync did not apply it (it is not in the inventory): ` +
    `reported, never touched; list ${s(p, 'kind')} in poolsync.yaml manage: to prune every ${s(p, 'kind')}`,
  OUTSIDE_PRUNE_SCOPE: (p) =>
    `not in the repository, and ${s(p, 'kind')} is outside the prune scope (${describeScope(scopeOf(p))}): ` +
    `reported, never touched; list ${s(p, 'kind')} in poolsync.yaml manage: to prune it`,

  // Why a change is blocked (Change.why; `reason` is this text).
  CONAMED_QUEUE_POOL_FIXED: (p) =>
    `${s(p, 'queue')} is the co-named queue of cluster "${s(p, 'cluster')}" and stays in pool "${s(p, 'pool')}": ` +
    `a queue's pool can never change (Q3, Q4). Re-registering a cluster under the same name leaves this queue ` +
    `behind (C7); use a new cluster name.`,

  // Warnings (PlanWarning.params; `message` is this text).
  CONAMED_QUEUE_ORPHANED: (p) =>
    `${s(p, 'cluster')} ${reRegistered(p)}, but its co-named ${s(p, 'queue')} stays in pool "${s(p, 'pool')}" with an ` +
    `empty selector (C8) and registration does not create another (C2): everything that targets queue ` +
    `"${s(p, 'name')}" will route nowhere. Register the cluster under a new name instead (rename it in the repository).`,
  QUEUE_ROUTES_NOWHERE: (p) =>
    `${s(p, 'queue')} will route nowhere: ${s(p, 'cause')}. Work submitted to it waits until it is pointed at a ` +
    `cluster of pool "${s(p, 'pool')}"; if that is intended (a retired queue), no action is needed.`,
  QUEUE_NO_HEALTHY_CLUSTER: (p) =>
    `${s(p, 'queue')} has no enabled, healthy cluster to route to (Q8): ${s(p, 'why')}. ` +
    `Enable a cluster, fix its data plane (see its health in \`poolsync export\`), or point the queue elsewhere.`,
};

/** `ExecutionClusterLabel, PoolAssignment: the kinds the repository declares`, or the inventory's. */
export function describeScope(scope: PruneScope): string {
  const kinds = scope.kinds.length > 0 ? scope.kinds.join(', ') : 'no kind';
  if (scope.inventory === true) {
    return scope.kinds.length > 0
      ? `what poolsync applied (its inventory), and every ${kinds} (poolsync.yaml manage:)`
      : 'what poolsync applied (its inventory)';
  }
  const why =
    scope.source === 'manage'
      ? 'poolsync.yaml manage:'
      : scope.source === 'declared'
        ? 'the kinds the repository declares'
        : 'every kind';
  return `${kinds}: ${why}`;
}

/** The prune scope as reason parameters, and back. */
export function scopeParams(scope: PruneScope): ReasonParams {
  return {
    kinds: [...scope.kinds],
    source: scope.source,
    ...(scope.inventory !== undefined ? { inventory: scope.inventory } : {}),
  };
}
function scopeOf(p: ReasonParams): PruneScope {
  return {
    kinds: (Array.isArray(p.kinds) ? p.kinds : []) as ObjectKind[],
    source: s(p, 'source') as PruneScope['source'],
    ...(typeof p.inventory === 'boolean' ? { inventory: p.inventory } : {}),
  };
}

/** Whether this poolsync has words for `code`. */
export function knownReason(code: string): boolean {
  return Object.hasOwn(CATALOG, code);
}

/** A reason in words; null for a code this poolsync does not know. */
export function reasonText(reason: Reason): string | null {
  return knownReason(reason.code) ? CATALOG[reason.code]!(reason.params) : null;
}

/** A reason made from its code and parameters (the code must be in the catalog). */
export function reasonOf(code: string, params: ReasonParams): Reason {
  if (!knownReason(code)) throw new Error(`no words for reason ${code}`);
  return { code, params };
}

/** A warning whose message is rendered from its code and parameters. */
export function warning(code: string, address: string, params: ReasonParams): PlanWarning {
  return { code, address, message: reasonText(reasonOf(code, params))!, params };
}

/** The message of a warning as this poolsync words it (its stored text for an unknown code). */
export function warningText(w: PlanWarning): string {
  return (w.params && reasonText({ code: w.code, params: w.params })) ?? w.message;
}

/** The words of a change's cause (Change.cause), or null when it has none. */
export function causeText(change: { cause?: Reason | null }): string | null {
  return change.cause ? reasonText(change.cause) : null;
}

/** The words of a change's reason: from its code when known, else the stored text. */
export function whyText(change: { why?: Reason | null; reason: string | null }): string | null {
  return (change.why && reasonText(change.why)) ?? change.reason;
}
