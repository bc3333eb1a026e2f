/**
 * The catalog of words (docs/plan.md, One voice): the planner records once per object why it
 * changes as a code and its parameters (src/plan/reasons.ts); this is the one place that words a
 * code, for every renderer, the dashboard, pull-request comments and notifications, so they
 * cannot tell different stories. test/plan/reason-catalog.test.ts checks every code the planner
 * uses has words here and gets the parameters they read. A plan file's code this poolsync does
 * not know (a newer writer) falls back to the words stored beside it.
 */
import { isAbsolute } from 'node:path';
import { plural } from '../util/plural.js';
import type { PlanError, Reason, ReasonParams, PruneScope } from '../model/plan.js';
import type { ObjectKind } from '../model/common.js';
import { CONTRACT_ANNOTATION, CONTRACT_UNKNOWN } from '../model/desired.js';

/** Whether the plan JSON carries a reason of this code as data (else its words only). */
export function reasonInJson(code: string): boolean {
  return IN_JSON.has(code);
}

/** A reason in words; null for a code this poolsync does not know. */
export function reasonText(reason: Reason): string | null {
  return Object.hasOwn(CATALOG, reason.code) ? CATALOG[reason.code]!(reason.params) : null;
}

/**
 * A plan error's or warning's message (the JSON's `message`), else the words a plan file stored.
 * Here, beside the catalog, because apply's refusal of a plan with errors words them too.
 */
export function errorText(e: Pick<PlanError, 'code' | 'params' | 'message'>): string {
  return (e.params && reasonText({ code: e.code, params: e.params })) ?? e.message ?? e.code;
}

/** How many errors a refused plan's message names (the count says the rest). */
const NAMED_ERRORS = 20;

/**
 * Why a plan with errors is not applied: each error by its code, address and its words' first
 * line (a plan file's errors carry words only), and what to do.
 */
export function planErrorsRefusal(
  errors: readonly Pick<PlanError, 'code' | 'params' | 'message' | 'address' | 'location'>[],
): string {
  const named = errors.slice(0, NAMED_ERRORS).map((e) => {
    const where = [e.code, e.location ?? e.address].filter(Boolean).join(' ');
    return `  ${where}: ${errorText(e).split('\n')[0]}`;
  });
  if (errors.length > NAMED_ERRORS) named.push(`  … and ${errors.length - NAMED_ERRORS} more`);
  return (
    `the plan has ${plural(errors.length, 'error')}; nothing was applied:\n${named.join('\n')}\n` +
    'Fix each in the repository (or the guardrail it names) and plan again: a plan with errors is never applied'
  );
}

type Words = (p: ReasonParams) => string;

/** Where a destroy budget was read (plan/guardrails.ts BudgetSource). */
const BUDGET_SOURCES: Record<string, string> = {
  repository: "this commit's poolsync.yaml",
  base: "the base branch's poolsync.yaml",
  recorded: 'as last applied',
  recorded_unnamed:
    "as last applied, recorded by an earlier poolsync for every repository until this one's next apply records its own",
};

/** A DESTROY_BUDGET error's bound and where it comes from: `guardrails.max_destroy: 0` (the base branch's poolsync.yaml). */
export function budgetBound(p: ReasonParams): string {
  const from = list(p, 'from').map((f) => BUDGET_SOURCES[f] ?? f);
  return `\`guardrails.${s(p, 'rule')}: ${s(p, 'limit')}\` (${from.join(', ')})`;
}

/** A parameter as text: a string as it is, anything else as JSON. */
export function s(p: ReasonParams, key: string): string {
  const v = p[key];
  if (isReason(v)) return reasonText(v) ?? v.code;
  return typeof v === 'string' ? v : JSON.stringify(v ?? null);
}

/** Whether a parameter is a reason of its own (a nested decision, worded where it is read). */
export function isReason(v: unknown): v is Reason {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'code' in v;
}

/** A list parameter, each item as text, or null when it is not a list (absent, or null: "none"). */
function listOrNull(p: ReasonParams, key: string): string[] | null {
  const v = p[key];
  return Array.isArray(v) ? v.map(String) : null;
}

const list = (p: ReasonParams, key: string): string[] => listOrNull(p, key) ?? [];

/** BACKEND_KIND: the kinds a backend takes as configuration only, apart from what it manages. */
function configOnly(kinds: readonly string[]): string {
  if (kinds.length === 0) return '';
  return ` through its API; ${kinds.join(', ')} it takes as configuration only (validated, rendered to files by \`poolsync render\`, never sent)`;
}

/** Names shown in a message: the first few, then a count. */
export function listAddresses(addresses: readonly string[], max = 5): string {
  const shown = addresses.slice(0, max).join(', ');
  return addresses.length > max ? `${shown} and ${addresses.length - max} more` : shown;
}

const isAre = (n: number): string => (n === 1 ? 'is' : 'are');
const itThem = (n: number): string => (n === 1 ? 'it' : 'them');

/** `assignments` (A3) `is/are not in the repository and outside what prune may delete`. */
function unmanagedAssignments(p: ReasonParams): string {
  const assignments = list(p, 'assignments');
  return `${listAddresses(assignments)} ${isAre(assignments.length)} not in the repository and outside what prune may delete`;
}

/** Words of the causes: what another object's step does to this one (Change.cause, with caused_by). */
const CAUSES: Record<string, Words> = {
  CREATED_BY_REGISTRATION: (p) => `created by registering ${s(p, 'by')} (C2)`,
  RECREATED_BY_REGISTRATION: (p) => `recreated by registering ${s(p, 'by')} (C3)`,
  MOVES_WITH_CLUSTER: (p) =>
    `the co-named queue moves with ${s(p, 'by')} to pool "${s(p, 'pool')}" (cluster_move)`,
  LEAVES_MOVED_CLUSTER: (p) =>
    `${s(p, 'by')} moves to pool "${s(p, 'pool')}" (cluster_move): its name leaves the selector (Q1)`,
  CLUSTER_DELETED: (p) => `${s(p, 'by')} is deleted: its name leaves the selector (C8)`,
  /** C8 empties the selector of a queue the repository does not declare: retired, and left so. */
  CLUSTER_DELETED_RETIRED: (p) =>
    `${s(p, 'by')} is deleted: its name leaves the selector (C8); the queue stays, retired, and later plans ` +
    'do not report it (the repository does not declare it)',
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
  CAUSED_BY: (p: ReasonParams) => `caused by ${s(p, 'by')}`,
  /** A co-named queue's drain state follows its cluster's (U25, U27); also a note. */
  CONAMED_STATE_FOLLOWS_CLUSTER: (p) =>
    s(p, 'state') === 'active'
      ? `activated with ${s(p, 'by')}, which this plan enables (a cluster's activation activates its co-named queue)`
      : `drained with ${s(p, 'by')} (a cluster drained or moved takes its co-named queue along): it takes no new ` +
        'work while its cluster is drained, and is activated with it',
};

/** Words of why a live object absent from the repository is left alone (Change.why of `unmanaged`). */
const UNMANAGED: Record<string, Words> = {
  PRUNE_OFF: () => 'not in the repository and prune is off: reported, never touched',
  FORGOTTEN: () =>
    'taken out of management (`poolsync state forget`): reported, never deleted; `poolsync import` adopts it again',
  NOT_IN_INVENTORY: (p) =>
    `not in the repository, and poolsync did not apply it (it is not in the inventory): ` +
    `reported, never touched; list ${s(p, 'kind')} in poolsync.yaml manage: to prune every ${s(p, 'kind')}`,
  MADE_AGAIN: (p) =>
    'not in the repository, and not the object poolsync applied: an apply from here that never completed ' +
    (p.was === null
      ? `set out to delete the one it applied, and this one has another ${s(p, 'field')}`
      : `set out to delete the one it applied (${s(p, 'field')} ${JSON.stringify(p.was)}), and this one has ${s(p, 'field')} ${JSON.stringify(p.now)}`) +
    ': another client made it again since; reported, never touched (docs/apply.md, What apply records)',
  OTHER_REPOSITORY: (p) =>
    `repository ${s(p, 'repository')} applied it (the inventory says so): only that repository changes ` +
    'or deletes it; reported, never touched (docs/plan.md, Prune scope)',
  RECORDED_WITHOUT_REPOSITORY: () =>
    'not in the repository, and recorded in the inventory by an earlier poolsync that did not say which ' +
    'repository applied it (another may declare it): reported, never deleted; if this repository applied it, ' +
    '`poolsync import` adopts it, and prune deletes it once undeclared (docs/plan.md, Prune scope)',
  CONAMED_OF_DELETING_CLUSTER: (p) =>
    `the co-named queue of ${s(p, 'cluster')}, which Union is deleting (DELETING): the control plane's own (C2), ` +
    'it goes with its cluster, or comes back with its undelete; reported, never touched',
  OUTSIDE_PRUNE_SCOPE: (p) =>
    `not in the repository, and ${s(p, 'kind')} is outside the prune scope (${describeScope(scopeOf(p))}): ` +
    `reported, never touched; list ${s(p, 'kind')} in poolsync.yaml manage: to prune it`,
};

/**
 * `ExecutionClusterLabel, PoolAssignment: the kinds the repository declares`, or the inventory's;
 * `unnamed`: the scope of a plan an earlier build made, whose inventory named no repository.
 */
export function describeScope(scope: PruneScope, unnamed = false): string {
  const kinds = scope.kinds.length > 0 ? scope.kinds.join(', ') : 'no kind';
  const applied = unnamed
    ? 'what poolsync applied (its inventory)'
    : 'what this repository applied (its part of the inventory)';
  if (scope.inventory !== undefined)
    return scope.kinds.length > 0
      ? `${applied}, and every ${kinds} no other repository applied (poolsync.yaml manage:)`
      : applied;
  const why =
    scope.source === 'manage'
      ? 'poolsync.yaml manage:'
      : scope.source === 'declared'
        ? 'the kinds the repository declares'
        : 'every kind';
  return `${kinds}: ${why}`;
}

function scopeOf(p: ReasonParams): PruneScope {
  return {
    kinds: (Array.isArray(p.kinds) ? p.kinds : []) as ObjectKind[],
    source: s(p, 'source') as PruneScope['source'],
    ...(typeof p.inventory === 'boolean' ? { inventory: p.inventory } : {}),
  };
}

/** C4 mismatches of `<prefix>fields`: `object_store_uri is "s3://a", the contract says "s3://b"`. */
function mismatches(p: ReasonParams, prefix = '', withContract = true): string[] {
  const declared = list(p, `${prefix}declared`);
  const contract = withContract ? list(p, `${prefix}contract`) : [];
  return list(p, `${prefix}fields`).map(
    (field, i) =>
      `${field} is ${JSON.stringify(declared[i] ?? null)}` +
      (withContract ? `, the contract says ${JSON.stringify(contract[i] ?? null)}` : ''),
  );
}

function moveMismatches(p: ReasonParams): string {
  return (['reports', 'declares'] as const)
    .map((what) => [what, mismatches(p, `${what}_`)] as const)
    .filter(([, m]) => m.length > 0)
    .map(
      ([what, m]) =>
        `it ${what} a data plane that does not match the contract of ${s(p, 'pool')}: ${m.join('; ')}`,
    )
    .join('; and ');
}

/** Why DATA_PLANE_UNVERIFIED could not read the cluster's report. */
function unreported(p: ReasonParams): string {
  if (p.data_plane_reported === false)
    return "the control plane does not report a cluster's data plane (only its health)";
  if (p.health === 'unknown')
    return 'the cluster has not reported its data plane yet (health unknown)';
  return `the contract of its current pool "${s(p, 'live_pool')}" is not known, so its report cannot be read`;
}

/** The destination's contract as DATA_PLANE_UNVERIFIED describes it. */
function contractWords(p: ReasonParams): string {
  if (p.contract_known !== true)
    return `the contract of ${s(p, 'pool_address')} (which poolsync does not know either: it is marked unknown)`;
  return (
    `the contract of ${s(p, 'pool_address')}: object store ${s(p, 'object_store')}, secret store ` +
    `${s(p, 'secret_type')} ${s(p, 'secret_locator')}, ` +
    (p.image_registry !== null ? `image registry ${s(p, 'image_registry')}` : 'no image registry')
  );
}

/** Why a queue cannot be deleted: the `settings` whose run.default_queue names it, or none (Q5). */
function undeletable(p: ReasonParams): string {
  const settings = list(p, 'settings');
  if (settings.length === 0) return 'the "default" queue is always active (Q5)';
  return (
    `it is the default queue of ${settings.join(', ')} (run.default_queue setting), and Union refuses to delete ` +
    `a queue a setting names (U17, FAILED_PRECONDITION; draining it is allowed): point ${settings.length === 1 ? 'that setting' : 'those settings'} at another queue first`
  );
}

const DELETE_NO_DRAIN =
  `this control plane can delete queues (queue_delete) but not drain them (drain off, C9), ` +
  `and poolsync deletes only drained queues (U15) so that no work is lost. Retire it with \`clusters: []\`, or enable drain.`;
/** The Union rule each refusal of CLUSTER_PINNED names, by its `action`. */
const PIN_RULES: Record<string, string> = { move: 'U23', drain: 'U26', delete: 'U31' };
const ABSENT_DEFAULT = 'listed absent in poolsync.yaml, but it cannot be deleted here: ';
const NOT_THIS_ONE = 'queues can be deleted (queue_delete), but not this one: ';

/** How a cluster is registered again (`from`: its live pool, null when it is not live). */
function reRegistered(p: ReasonParams): string {
  // A forced replace (--replace) keeps the pool: the cluster is re-registered where it is.
  if (p.from === null || p.from === undefined) return 'is registered again (C7)';
  return p.from === p.to
    ? `is deleted and registered again in pool "${s(p, 'to')}" (C7)`
    : `moves from pool "${s(p, 'from')}" to "${s(p, 'to')}" by delete and re-register (C7)`;
}

/** `this repository (github.com/acme/team)`, or without its name when the plan has none. */
const hereWords = (p: ReasonParams) =>
  p.here === null ? 'this repository' : `this repository (${s(p, 'here')})`;

/**
 * What settles a REPOSITORY_CONFLICT when `other` is this repository under an earlier name
 * (docs/plan.md, Which repository), `them` its objects: a path in poolsync.yaml only for a folder
 * still named by its path, since a committed machine path names no clone, CI or daemon checkout.
 * Said by the plan (REPOSITORY_CONFLICT and its line after the plan) and by export alike.
 */
export function earlierNameWords(
  other: string,
  here: unknown,
  hereIsPath: unknown,
  them: 'it' | 'them',
): string {
  if (!isAbsolute(other))
    return `If ${other} is this repository under an earlier name (another Git remote or folder), set \`repository: ${other}\` in poolsync.yaml`;
  if (hereIsPath === true)
    return `If this folder was moved from ${other} (without a Git remote, a folder is named by its path), set \`repository: ${other}\` in poolsync.yaml`;
  const name = typeof here === 'string' ? here : "its Git remote's name";
  // A name poolsync.yaml sets is kept (plan/index.ts asPlanned): that folder's apply takes nothing over.
  return (
    `If ${other} is this repository's folder, applied before its Git remote was added, run \`poolsync apply\` there once: ` +
    `with the remote, it records ${them} under ${name}, unless its poolsync.yaml sets \`repository:\`, which then stays its ` +
    `name: hand ${them} over with \`poolsync import\` here instead`
  );
}

const WARNINGS: Record<string, Words> = {
  /** Declared here, applied by another repository: left to it (plan/inventory.ts repositoryConflicts). */
  REPOSITORY_CONFLICT: (p) => {
    const other = s(p, 'repository');
    return (
      `declared in ${hereWords(p)}, but repository ${other} applied it (the inventory says so): left as ${other} ` +
      `applied it; this repository sends, records and prunes nothing of it. Declare it in one repository ` +
      `only, or hand it over: \`poolsync import ${s(p, 'address')}\` here, then remove its manifest from ${other}. ` +
      `${earlierNameWords(other, p.here, p.here_is_path, 'it')} (docs/plan.md, Prune scope).`
    );
  },
  CONAMED_QUEUE_ORPHANED: (p) =>
    `${s(p, 'cluster')} ${reRegistered(p)}, but its co-named ${s(p, 'queue')} stays in pool "${s(p, 'pool')}" with an ` +
    `empty selector (C8) and registration does not create another (C2): everything that targets queue ` +
    `"${s(p, 'name')}" will route nowhere. Register the cluster under a new name instead (rename it in the repository).`,
  /** Its live form is what another poolsync of this repository wrote last (plan/applied-by-another.ts). */
  APPLIED_BY_ANOTHER_POOLSYNC: (p) => {
    const from = [
      p.branch === null ? 'no branch' : `branch ${s(p, 'branch')}`,
      p.commit === null ? 'no commit' : `commit ${s(p, 'commit').slice(0, 8)}`,
      `on ${s(p, 'host')} at ${s(p, 'at')}`,
    ];
    return (
      `${s(p, 'address')} was last applied by another poolsync (${from.join(', ')}), not changed by hand: ` +
      `two poolsyncs apply this repository to one control plane, and each puts back what the other applies. ` +
      `Stop one, or point it at a control plane of its own (docs/daemon.md, Two poolsyncs on one control plane).`
    );
  },
  QUEUE_ROUTES_NOWHERE: (p) =>
    `${s(p, 'queue')} will route nowhere: ${s(p, 'cause')}. Work submitted to it waits until it is pointed at a ` +
    `cluster of pool "${s(p, 'pool')}"; if that is intended (a retired queue), no action is needed.`,
  QUEUE_NO_HEALTHY_CLUSTER: (p) =>
    `${s(p, 'queue')} has no enabled, healthy cluster to route to (Q8): ${s(p, 'why')}. ` +
    `Enable a cluster, fix its data plane (see its health in \`poolsync export\`), or point the queue elsewhere.`,
  QUEUE_FAIRNESS_IGNORED: (p) =>
    `${s(p, 'queue')} gets fairness "${s(p, 'fairness')}", which has no effect: Union applies fairness only to a ` +
    `queue with no scheduling policy (U37), and this one has "${s(p, 'scheduling')}", which orders its runs. ` +
    `Only the default queue and a cluster's co-named queues have none; leave fairness out here.`,
};

/** What a delete of a broader row takes along (`path` of the DELETE, `type` of its rows, their `scope`). */
function cascadeAlong(p: ReasonParams): string {
  return `${s(p, 'path')} also deletes the narrower ${s(p, 'type')} rows of ${s(p, 'scope')}`;
}

/**
 * The other way out of a blocked cascade: a workflow row can be declared in the repository; a
 * launch-plan row cannot (no manifest describes one, and flyteadmin's API writes none: only its
 * database holds them), so for those accepting is the only way short of keeping the broader row.
 */
function keepInstead(p: ReasonParams): string {
  const workflowRows = p.workflow_rows;
  if (p.launch_plan_rows === 0)
    return `; or declare ${workflowRows === 1 ? 'it' : 'them'} in the repository`;
  const lp = `a launch-plan row cannot be declared in the repository (poolsync manages project/domain and workflow rows, and no flyteadmin API writes one)`;
  return workflowRows === 0
    ? `; ${lp}, so accept the delete or keep the row this delete removes`
    : `; or declare the workflow ${workflowRows === 1 ? 'row' : 'rows'} in the repository (${lp})`;
}

/** The rows a delete takes along (`takes`), each with its label or pool (`values`). */
function taken(p: ReasonParams): string[] {
  const what = p.kind === 'ExecutionClusterLabel' ? 'label' : 'pool';
  const values = list(p, 'values');
  return list(p, 'takes').map((a, i) => `${a} (${what} ${values[i] ?? ''})`);
}

/** `cluster weight, …` of the entries `<of>_clusters` with their `<of>_weights`; null when none. */
function entries(p: ReasonParams, of: string): string | null {
  const clusters = listOrNull(p, `${of}_clusters`);
  const weights = list(p, `${of}_weights`);
  return clusters && clusters.map((c, i) => `${c} ${weights[i] ?? ''}`).join(', ');
}

/**
 * How the deployment routes a label other than the repository (flyteadmin.ts): `running` null
 * when it does not route it (`listed`: its clusters, none enabled; null: not listed); `wanted`
 * null when the repository disables every cluster of it; `source`: where flyteadmin read it.
 */
function routing(p: ReasonParams): string {
  const label = s(p, 'label');
  const source = p.source === null ? 'its configuration' : s(p, 'source');
  const running = entries(p, 'running');
  if (running === null) {
    const listed = listOrNull(p, 'listed');
    return listed === null
      ? `label '${label}' is not in the labelClusterMap flyteadmin runs with (${source})`
      : `label '${label}' is in the labelClusterMap flyteadmin runs with (${source}), but none of its clusters (${listed.join(', ')}) is an enabled clusterConfigs entry there, so flyteadmin skips the label`;
  }
  const wanted = entries(p, 'wanted');
  if (wanted === null)
    return `label '${label}' routes to ${running} in flyteadmin (${source}), but the repository disables every cluster of it`;
  const what = p.same_clusters === true ? 'other weights' : 'other clusters';
  return `label '${label}' runs with ${what} in flyteadmin (${running}, ${source}) than the repository gives it (${wanted})`;
}

/** Where flyteadmin sends the label's executions: `running`, else `default_label`, else every `enabled`. */
function goes(p: ReasonParams): string {
  const running = entries(p, 'running');
  if (running !== null) return `${running}, as it runs the label`;
  const fallback = entries(p, 'default');
  if (p.default_label !== null && fallback !== null)
    return `its defaultExecutionLabel '${s(p, 'default_label')}' (${fallback})`;
  return `every enabled cluster with equal weight (${list(p, 'enabled').join(', ') || 'none enabled'})`;
}

/** Words of the notes of a change (Change.note): what its steps do beyond the diff. */
const NOTES: Record<string, Words> = {
  /** A note (Change.note): a pool's contract updated in place. */
  POOL_UPDATED_IN_PLACE: () =>
    'updated in place (pool_update): no delete and re-create, so its clusters, queues and assignments stay; ' +
    'every member cluster that has reported its data plane matches the new contract (C4)',
  /** A note (Change.note): a soft-deleted pool undeleted; `updated`: then its contract is updated in place. */
  POOL_UNDELETED: (p) =>
    `a pool named "${s(p, 'name')}" was deleted and its name stays reserved (soft_delete): undeleted, it comes back ` +
    `with the contract it had` +
    (p.updated === true ? ', then its contract is updated in place (pool_update)' : ''),
  /** A note (Change.note): moved `from` one pool to another by cluster_move; `drain`: its co-named queue drains first. */
  CLUSTER_MOVED_IN_PLACE: (p) =>
    `moved in place from pool "${s(p, 'from')}" to "${s(p, 'pool')}" (cluster_move) once its co-named ${s(p, 'queue')} ` +
    `is ${p.drain === true ? 'drained' : 'idle'} and the queues that route only to it are idle: no delete and ` +
    're-register, so that queue moves with it and nothing is orphaned (no C7 trap)',
  /** A note (Change.note): a soft-deleted cluster undeleted in pool `from`; `to`: then moved (else null). */
  CLUSTER_UNDELETED: (p) =>
    `a cluster named "${s(p, 'name')}" was deleted and its name stays reserved (soft_delete): undeleted (it comes back ` +
    `DRAINED in pool "${s(p, 'from')}", its co-named queue with it)` +
    (p.to !== null ? `, moved to pool "${s(p, 'to')}" (cluster_move)` : '') +
    (p.enabled === true ? ', then activated' : '; it stays drained (enabled: false)'),
  /** A note (Change.note): the co-named queue back with its `cluster`'s undelete. */
  CONAMED_QUEUE_UNDELETED: (p) =>
    `the deleted co-named queue comes back with ${s(p, 'cluster')}'s undelete (DRAINED, with its old ` +
    `settings)${p.updated === true ? ", is updated to the repository's spec" : ''}, and ` +
    (p.enabled === false ? 'stays drained with its cluster' : 'is activated with its cluster'),
  /** A note (Change.note): a drain on Union, which no read can show is refused for apps. */
  CLUSTER_DRAIN_APPS: () =>
    'Union refuses to drain a cluster while apps are assigned to it (remote/_cluster.py:361), and no call poolsync ' +
    'makes shows app assignments: if this drain is refused, move the apps off the cluster and apply again (only ' +
    'the steps that depend on it wait)',
  /**
   * A note (Change.note): the undeclared fields of Union's QueueSpec (`numbers`) kept by the
   * read-modify-write (Q3); `names`: poolsync's name of each ('' when it has none).
   */
  QUEUE_FIELDS_WRITTEN_BACK: (p) => {
    const numbers = list(p, 'numbers');
    const names = list(p, 'names');
    const one = numbers.length === 1;
    const fields = numbers.map((n, i) => names[i] || `field ${n}, not in poolsync's definition`);
    const listed = one
      ? numbers[0]
      : `${numbers.slice(0, -1).join(', ')} and ${numbers[numbers.length - 1]}`;
    return (
      `the update replaces the whole queue spec, so poolsync reads the queue first and sets only the fields the ` +
      `repository manages: spec ${one ? 'field' : 'fields'} ${listed} (${fields.join(', ')}), which ` +
      `${one ? 'is' : 'are'} not declared, ${one ? 'is' : 'are'} written back unchanged`
    );
  },
  /** A note (Change.note): moved `from` a pool `to` another by queue_move; `activates`: re-activated there. */
  QUEUE_MOVED_IN_PLACE: (p) =>
    `moved in place from pool "${s(p, 'from')}" to "${s(p, 'to')}" (queue_move): drained (no new work), waited for ` +
    `until DRAINED (nothing in flight, so no work is lost), moved with its settings and name (what targets ` +
    `${s(p, 'queue')} keeps working), then ` +
    (p.activates === true
      ? 're-activated'
      : `left drained: it routes to no cluster of pool "${s(p, 'to')}" yet`),
  /** A note (Change.note): an undeclared queue deleted (queue_delete). */
  QUEUE_DELETED_DRAINED: () =>
    'not in the repository: drained (no new work), waited for until DRAINED (nothing in flight), then deleted (queue_delete)',
  /** A note (Change.note): `default`, missing and listed absent, recreated by a registration (C3). */
  DEFAULT_QUEUE_RECREATED_DELETED: () =>
    'listed absent in poolsync.yaml: then drained, waited for until DRAINED and deleted again (queue_delete, default_delete)',
  /** A note (Change.note): replaced `from` a pool `to` another (drain, queue_delete). */
  QUEUE_REPLACED_DRAINED: (p) =>
    `replaced (drain, queue_delete): drained in pool "${s(p, 'from')}" (no new work), deleted once DRAINED ` +
    `(nothing in flight, so no work is lost), then created in pool "${s(p, 'to')}"`,
  /**
   * A note (Change.note): re-activated; `drained_by`: the cluster moved with it (null: it was left
   * `state`); `outside`: it routed somewhere and is not moved, so not drained by a plan of poolsync.
   */
  QUEUE_REACTIVATED: (p) => {
    if (p.outside === true)
      return `found ${s(p, 'state')}, drained by another client or an apply cut short: re-activated, as the repository wants it active`;
    if (p.drained_by === null)
      return `left ${s(p, 'state')} (drain): re-activated, since it routes to clusters again`;
    return (
      `drained (no new work) until nothing is in flight, since ${list(p, 'drained_by').join(', ')} moves only ` +
      'with its co-named queue drained, then re-activated'
    );
  },
  /** A note (Change.note): a soft-deleted queue undeleted. */
  QUEUE_UNDELETED: (p) =>
    `a queue named "${s(p, 'name')}" was deleted and its name stays reserved (soft_delete): undeleted (it comes back DRAINED ` +
    `with its old spec), updated to the repository's spec, then ` +
    (typeof p.follows === 'string'
      ? `left drained with ${s(p, 'follows')}, which stays drained: a co-named queue follows its cluster and is activated with it`
      : 'activated'),
};

/**
 * Why a change is blocked (Change.why of a `blocked` change; `reason` is this text): each cites
 * the rule that blocks it (docs/plan.md, Blocked reasons), test/plan/reason-catalog.test.ts checks so.
 */
export const BLOCKED: Readonly<Record<string, Words>> = {
  /** Its manifest differs from what another repository applied (plan/index.ts heldByConflicts). */
  HELD_BY_OTHER_REPOSITORY: (p) =>
    `declared in ${hereWords(p)}, but repository ${s(p, 'repository')} applied it (the inventory says so), and ` +
    `this plan sends nothing of it: the control plane keeps what ${s(p, 'repository')} applied (REPOSITORY_CONFLICT)`,
  // Words of why a pool change is blocked (Change.why of ClusterPool; `reason` is this text).
  /** poolsync.yaml lists ClusterPool/default absent on a control plane that never deletes it (P5). */
  DEFAULT_POOL_ABSENT_NO_DELETE: () =>
    'listed absent in poolsync.yaml, but this control plane never deletes the "default" pool (P5; Union does, default_delete)',
  /** P5: an undeclared pool that is still referenced (`refs`: the addresses). */
  POOL_REFERENCED: (p) =>
    `${s(p, 'pool')} is not in the repository, but a pool cannot be deleted while anything references it (P5): ` +
    `${listAddresses(list(p, 'refs'))}. ${p.queue_delete ? `This control plane deletes queues (queue_delete, Q6): delete, move or import ${itThem(list(p, 'refs').length)}, then plan again; or declare the pool again to stop this report.` : 'Queues can never be deleted (Q6), so this pool stays; declare it again to stop this report.'}`,
  DEFAULT_POOL_CONTRACT_FIXED: () =>
    'the contract of the "default" pool is set when the control plane is provisioned and cannot change ' +
    '(P1, P4), and the pool can never be deleted (P5): make ClusterPool/default match the live contract',
  POOL_REPLACE_REFERENCED: (p) =>
    `a pool's contract cannot change in place (P4), and replacing the pool needs a delete, which is rejected ` +
    `while anything references it (P5): ${listAddresses(list(p, 'refs'))}. ` +
    (p.queue_delete
      ? `This control plane deletes queues (queue_delete, Q6): delete or move ${itThem(list(p, 'refs').length)} first, or declare a new pool with the new contract and register new clusters there.`
      : 'Queues can never be deleted (Q6), so declare a new pool with the new contract and register new clusters there.'),
  /** A3: an undeclared pool named by `assignments` prune may not touch. */
  POOL_DELETE_UNMANAGED_ASSIGNMENTS: (p) =>
    `${s(p, 'pool')} is not in the repository, but a pool is deleted only once no assignment names it (A3), and ` +
    `${unmanagedAssignments(p)}: declare the pool again, or remove ${itThem(list(p, 'assignments').length)} first`,
  /** A3: `assignments` name the pool and prune may not touch them. */
  POOL_REPLACE_UNMANAGED_ASSIGNMENTS: (p) => {
    const them = itThem(list(p, 'assignments').length);
    return `replacing the pool (P4) removes and sets again the assignments that name it (A3), but ${unmanagedAssignments(p)}: declare ${them} or remove ${them} first`;
  },
  /** pool_update: `counts[i]` of the `fields` (and `declared` values), in order, are `clusters[i]`'s. */
  POOL_UPDATE_MISMATCH: (p) => {
    const counts = list(p, 'counts').map(Number);
    const fields = list(p, 'fields');
    const declared = list(p, 'declared');
    let at = 0;
    const members = list(p, 'clusters').map((c, i) => {
      const mine = fields.slice(at, at + (counts[i] ?? 0));
      const shown = mine.map((f, j) => `${f} ${JSON.stringify(declared[at + j] ?? null)}`);
      at += mine.length;
      return `${c} (${shown.join(', ')})`;
    });
    return (
      `the contract can be updated in place (pool_update), but member clusters report a data plane that would ` +
      `not match it (C4): ${listAddresses(members)}. Redeploy them with the new values (or move them out) first.`
    );
  },
  /** P5: `queues` whose move to another pool is blocked keep it. */
  POOL_KEPT_BY_REFUSED_MOVES: (p) => {
    const n = list(p, 'queues').length;
    return (
      `${listAddresses(list(p, 'queues'))} stay in this pool: moving ${itThem(n)} ` +
      `to another pool is blocked (see ${n === 1 ? 'that change' : 'those changes'}), so the pool cannot be deleted (P5)`
    );
  },
  /** Also the error POOL_CONTRACT_UNKNOWN. */
  POOL_CONTRACT_UNKNOWN: (p) =>
    `${s(p, 'pool')} is marked \`${CONTRACT_ANNOTATION}: ${CONTRACT_UNKNOWN}\` but does not exist on the control plane, and a ` +
    `pool is created with its contract (P2): write its object_store_ref, secret_store (and image_registry) in ` +
    `spec and remove the annotation`,
  /** soft_delete without pool_update: the deleted pool comes back with its old contract. */
  POOL_UNDELETE_CONTRACT_DIFFERS: (p) =>
    `the name "${s(p, 'name')}" belongs to a deleted pool, which can only be undeleted (its name stays reserved), and it ` +
    `comes back with the contract it had; this control plane cannot change a contract in place (pool_update ` +
    `off, P4): declare ${s(p, 'pool')} with that contract, or use another pool name`,
  CLUSTER_MOVE_DATA_PLANE_MISMATCH: (p) =>
    `the cluster can move in place (cluster_move) only with a data plane matching the destination's contract (C4), but ${moveMismatches(p)}. Redeploy it with the destination pool's values first.`,
  /** N2: the name is a queue's; `reserved`: soft deletes, so deleting the queue would not free it. */
  CLUSTER_NAME_TAKEN: (p) =>
    `the name "${s(p, 'name')}" is taken by ${s(p, 'queue')} (pool "${s(p, 'pool')}"), and clusters and queues share ` +
    `one namespace (N2, remote/_cluster.py:289-291): register the cluster under another name, as ` +
    (p.reserved === true
      ? 'even a deleted queue keeps its name reserved (soft delete)'
      : 'queues cannot be deleted (Q6)'),
  /** unpin_first: `action` refused while `queues` pin the cluster (`unmanaged`: undeclared ones). */
  CLUSTER_PINNED: (p) => {
    const queues = list(p, 'queues');
    const unmanaged = list(p, 'unmanaged');
    const one = queues.length === 1;
    return (
      `Union refuses to ${s(p, 'action')} a cluster another live queue pins (${PIN_RULES[s(p, 'action')] ?? 'U23, U26, U31'}, remote/_cluster.py): ` +
      `${queues.join(', ')} ${one ? 'pins' : 'pin'} it. Unpin it first: take it out of ${one ? 'that' : 'those'} ` +
      `queue${one ? "'s" : "s'"} \`clusters\`` +
      (unmanaged.length > 0
        ? ` (${unmanaged.join(', ')} ${isAre(unmanaged.length)} not managed here: declare ${itThem(unmanaged.length)}, or change ${itThem(unmanaged.length)} with \`flyte update queue NAME --clusters …\`)`
        : '')
    );
  },
  /** queue_delete: the co-named queue a cluster delete takes along is one `settings` name. */
  CLUSTER_CONAMED_UNDELETABLE: (p) =>
    `its co-named queue "${s(p, 'name')}" goes with it, and is the default queue of ${list(p, 'settings').join(', ')} ` +
    `(run.default_queue), which Union never deletes (U17, U30): point ${list(p, 'settings').length === 1 ? 'that setting' : 'those settings'} at another queue first`,
  /** Soft deletes: a replace (delete, then create under the same name) of a pool or cluster. */
  REPLACE_NAME_RESERVED: (p) =>
    `replaced by a delete and a create under the same name, but a deleted ${s(p, 'kind')} keeps its name ` +
    `reserved (soft_delete, ${p.kind === 'pool' ? 'U33' : 'U29'}), so the create would be refused: ` +
    (p.kind === 'pool'
      ? 'update its contract in place (pool_update), or declare the pool under a new name'
      : 'move it in place (cluster_move), or register it under a new name'),
  REPLACE_IN_POOL_NAME_RESERVED: (p) =>
    `--replace asks for a delete and a registration under the same name, but a deleted cluster keeps its name ` +
    `reserved (soft_delete, U29, remote/_cluster.py:440-443) and a move to the pool it is in ("${s(p, 'pool')}") is refused ` +
    `(U23, remote/_cluster.py:323-324): drop --replace, or register the new cluster under a new name and remove this one`,
  CLUSTER_NAME_RESERVED: (p) =>
    `the name "${s(p, 'name')}" belongs to a deleted queue of pool "${s(p, 'pool')}", and a deleted queue keeps its name ` +
    `reserved (U16, remote/_queue.py:1006-1008) while no cluster may take a queue's name (U21, remote/_cluster.py:289-291): ` +
    `register the cluster under another name`,
  REGISTRATION_DATA_PLANE_MISMATCH: (p) =>
    `the registration declares a data plane that does not match the contract ${s(p, 'pool')} ` +
    `will have (C4): ${mismatches(p).join('; ')}. The pool's contract change is blocked; see ${s(p, 'pool')}.`,
  // soft_delete: why a deleted cluster cannot come back as the repository declares it.
  CLUSTER_UNDELETE_DELETING: (p) =>
    `the cluster "${s(p, 'name')}" is being deleted (DELETING: Union is moving its work off) and can be undeleted only ` +
    `once that finishes (U28, remote/_cluster.py); plan again when \`flyte get cluster --deleted\` lists it`,
  CLUSTER_UNDELETE_POOL_DELETED: (p) =>
    `the name "${s(p, 'name')}" belongs to a deleted cluster of pool "${s(p, 'pool')}", which is deleted too (or gone): ` +
    `a cluster is undeleted only into a live pool (U32, remote/_cluster.py); declare ${s(p, 'pool_address')} ` +
    `so that it is undeleted first, or register the cluster under another name`,
  CLUSTER_UNDELETE_NO_MOVE: (p) =>
    `the deleted cluster "${s(p, 'name')}" comes back in its old pool "${s(p, 'from')}" (U32), and this control plane cannot ` +
    `move a cluster to pool "${s(p, 'to')}" (cluster_move off, C7): declare it in pool "${s(p, 'from')}"`,
  CLUSTER_UNDELETE_POOL_MISSING: (p) =>
    `its pool "${s(p, 'pool')}" will not exist (C1): declare ${s(p, 'pool_address')}`,
  CLUSTER_UNDELETE_DATA_PLANE: (p) =>
    `it declares a data plane that does not match the contract of ${s(p, 'pool_address')} (C4): ` +
    mismatches(p, '', false).join('; '),
  CONAMED_QUEUE_POOL_FIXED: (p) =>
    `${s(p, 'queue')} is the co-named queue of cluster "${s(p, 'cluster')}" and stays in pool "${s(p, 'pool')}": ` +
    `a queue's pool can never change (Q3, Q4). ` +
    (p.cluster_moves === false
      ? 'Its name is taken (N2): declare your queue under another name.'
      : `Re-registering a cluster under the same name leaves this queue behind (C7); use a new cluster name.`),
  /** A cluster, queue or assignment in a declared pool the plan leaves blocked (C1, Q1, A1). */
  POOL_BLOCKED: (p) =>
    `its pool ${s(p, 'pool')} is blocked and will not exist (C1, Q1, A1; see that change)`,
  // Q1: the selector against the clusters the plan leaves in the pool.
  QUEUE_POOL_MISSING: (p) =>
    `its pool "${s(p, 'pool')}" will not exist (Q1): declare ${s(p, 'pool_address')}`,
  QUEUE_SELECTS_BLOCKED_CLUSTER: (p) =>
    `it selects ${s(p, 'cluster')}, whose registration is blocked (Q1; see that change)`,
  QUEUE_SELECTS_NON_MEMBER: (p) =>
    `it selects ${s(p, 'cluster')}, which will not be a member of pool "${s(p, 'pool')}" (Q1)`,

  // A queue the repository no longer has (Q6, queue_delete).
  QUEUE_NOT_DELETABLE: () =>
    `not in the repository, but queues cannot be deleted (Q6). To retire it, declare it with \`clusters: []\` ` +
    `(it then routes nowhere; an idle queue costs nothing).`,
  QUEUE_DELETE_UNDELETABLE: (p) => `not in the repository; ${NOT_THIS_ONE}${undeletable(p)}`,
  QUEUE_DELETE_NO_DRAIN: () => `not in the repository; ${DELETE_NO_DRAIN}`,
  DEFAULT_QUEUE_ABSENT_UNDELETABLE: (p) => `${ABSENT_DEFAULT}${NOT_THIS_ONE}${undeletable(p)}`,
  DEFAULT_QUEUE_ABSENT_NO_DRAIN: () => `${ABSENT_DEFAULT}${DELETE_NO_DRAIN}`,
  DEFAULT_QUEUE_ABSENT_NO_DELETE: () =>
    `${ABSENT_DEFAULT}this control plane deletes no queues (queue_delete off, Q6)`,

  // A queue's pool (Q3) and selector (Q4, Q5).
  QUEUE_POOL_CHANGE_UNDELETABLE: (p) =>
    `a queue's pool can change here only by drain, delete and create (drain, queue_delete), and this one cannot be deleted: ${undeletable(p)}`,
  QUEUE_POOL_CHANGE_NAME_RESERVED: (p) =>
    `a queue's pool can change only by moving it (queue_move, off here: Q3) or by delete and create, and a deleted ` +
    `queue keeps its name reserved (soft delete, U16): the create in pool "${s(p, 'pool')}" would be refused. Declare a new ` +
    `queue (another name) there and retire this one with \`pool: ${s(p, 'live_pool')}\` and \`clusters: []\``,
  /** `missing`: the capability of drain and queue_delete this control plane lacks, when it has the other. */
  QUEUE_POOL_FIXED: (p) => {
    const missing = list(p, 'missing');
    return (
      `a queue's pool can never change (Q3) and queues cannot be deleted (Q6): declare a new queue (another name) ` +
      `in pool "${s(p, 'pool')}" and retire this one with \`pool: ${s(p, 'live_pool')}\` and \`clusters: []\`.` +
      (p.hint === true
        ? ` (With both drain and queue_delete this would be a drain → delete → create; this control plane lacks ${missing.join(' and ')}.)`
        : '')
    );
  },
  DEFAULT_QUEUE_SELECTOR_FIXED: () => 'the selector of the "default" queue cannot change (Q5)',
  CONAMED_SELECTOR_FIXED: (p) =>
    `the selector of a co-named queue is managed by its cluster and cannot be set (Q4)` +
    (p.emptied === true
      ? `; this one was emptied when cluster "${s(p, 'name')}" was deleted (C8) and a new registration does not restore it (C7): use a new cluster name`
      : ''),
  CREATED_QUEUE_SELECTOR_FIXED: (p) =>
    `this queue was created by cluster "${s(p, 'name')}" (C2), so its selector cannot be set (Q4); it stays ` +
    `${JSON.stringify(list(p, 'clusters'))}`,
  CONAMED_QUEUE_FOLLOWS_CLUSTER: (p) =>
    `the pool and selector of a co-named queue follow its cluster (Q4): pool "${s(p, 'pool')}", clusters ["${s(p, 'name')}"]`,
  /** Q2: the name is a live cluster's. */
  QUEUE_NAME_TAKEN: (p) =>
    `the name "${s(p, 'name')}" is taken by ${s(p, 'cluster')}: clusters and queues share one namespace (Q2)`,
  /** A DefaultQueue setting naming a queue the plan leaves absent. */
  DEFAULT_QUEUE_TARGET_MISSING: (p) =>
    `its queue "${s(p, 'queue')}" will not exist once the plan is applied: see ${s(p, 'queue_address')}`,
  DEFAULT_QUEUE_MISSING: () =>
    'the "default" queue is missing and its name is reserved (Q2): the next cluster registration recreates it (C3)',

  // queue_move and soft_delete.
  QUEUE_MOVE_NO_DRAIN: (p) =>
    `this control plane can move a queue to another pool (queue_move) but not drain it (drain off, C9), and ` +
    `poolsync moves only drained queues (U9) so that no work is lost: enable drain, or declare a new queue in pool "${s(p, 'pool')}"`,
  QUEUE_DELETE_SETTINGS_UNREADABLE: (p) =>
    `Union refuses to delete a queue a run.default_queue setting of any scope names (U17, remote/_queue.py:1011-1014), ` +
    `and the settings of ${list(p, 'unreadable').join(', ')} could not be read: give poolsync's credentials read access to those settings and plan again`,
  CONAMED_UNDELETE_CLUSTER_MOVED: (p) =>
    `the deleted co-named queue "${s(p, 'name')}" is in pool "${s(p, 'pool')}" and names cluster "${s(p, 'name')}", which this plan leaves in pool "${s(p, 'cluster_pool')}": Union undeletes a queue only with the clusters it names in its pool (U19), so it stays deleted (its name reserved); move the cluster back to "${s(p, 'pool')}" to get it back`,
  CLUSTER_MOVE_CONAMED_DELETING: (p) =>
    `its co-named queue "${s(p, 'name')}" is being deleted by another client: the move drains that queue (U23), which Union refuses until the deletion ends (remote/_queue.py:938-939); wait until it is deleted and plan again`,
  QUEUE_DELETING: (p) =>
    `queue "${s(p, 'name')}" is being deleted by another client: Union refuses every change to it until the deletion ends (U13, remote/_queue.py:938-939, 1044-1045); wait until it is deleted and plan again (it is then undeleted as declared)`,
  QUEUE_UNDELETE_CONAMED: (p) =>
    `the name "${s(p, 'name')}" belongs to the deleted co-named queue of cluster "${s(p, 'name')}": it comes back only with its cluster (U19); declare the cluster, or use another queue name`,
  QUEUE_UNDELETE_POOL_GONE: (p) =>
    `the name "${s(p, 'name')}" belongs to a deleted queue of pool "${s(p, 'pool')}", which no longer exists: it cannot be undeleted (U19; its name stays reserved); use another queue name`,
  QUEUE_UNDELETE_CLUSTER_GONE: (p) =>
    `the name "${s(p, 'name')}" belongs to a deleted queue that names ${s(p, 'cluster')}, which is not live in pool "${s(p, 'pool')}": it cannot be undeleted (U19); use another queue name`,
  QUEUE_UNDELETE_NO_MOVE: (p) =>
    `the deleted queue "${s(p, 'name')}" was in pool "${s(p, 'from')}": undeleted, it comes back there (U19), and this control plane cannot move a queue to pool "${s(p, 'to')}" (queue_move off, Q3); use another queue name`,
  // flyteadmin's own refusals, which no rule of the spec names: they cite its source where one says so.
  /** A delete that would take along rows poolsync does not manage, not accepted for `address`. */
  CASCADE_NOT_ACCEPTED: (p) => {
    const takes = taken(p);
    const one = takes.length === 1;
    return (
      `${cascadeAlong(p)} (flyteadmin's delete skips empty fields, gormimpl/resource_repo.go), and poolsync does not manage ` +
      `${one ? 'this one' : 'these'}: ${takes.join(', ')}. Nothing is sent. To delete ${one ? 'it' : 'them'} along, ` +
      `accept it with \`--accept-cascade ${s(p, 'address')}\` or in poolsync.yaml (acceptCascade: [${s(p, 'address')}])${keepInstead(p)}`
    );
  },
  /** A delete whose narrower rows the repository wants again (`stuck`) but cannot set now. */
  CASCADE_RESTORE_BLOCKED: (p) => {
    const stuck = list(p, 'stuck');
    const one = stuck.length === 1;
    return `${cascadeAlong(p)}, and ${stuck.join(', ')} could not be set again now (blocked: see ${one ? 'that change' : 'those changes'}); nothing is sent until ${one ? 'it' : 'they'} can be`;
  },
  PROJECT_NOT_REGISTERED: (p) =>
    `project '${s(p, 'project')}' is not registered in flyteadmin, which refuses its attributes (InvalidArgument): ` +
    `register it (flytectl create project --id ${s(p, 'project')} --name ${s(p, 'project')}) or correct the project`,
  /** `state`: flyteadmin's (ARCHIVED, SYSTEM_GENERATED); `set`: a write, else a delete of a `what` (pool or label). */
  PROJECT_NOT_ACTIVE: (p) =>
    `project '${s(p, 'project')}' is ${s(p, 'state').toLowerCase().replace('_', ' ')} in flyteadmin, which refuses attributes of a project that is not active` +
    (p.set === true
      ? `: activate it (flytectl update project -p ${s(p, 'project')} --activate) or remove the manifest`
      : `, deletes included: the ${s(p, 'what')} stays in flyteadmin until the project is activated (flytectl update project -p ${s(p, 'project')} --activate), and the next plan deletes it`),
  UNKNOWN_DOMAIN: (p) =>
    `domain '${s(p, 'domain')}' is not one of flyteadmin's domains (${list(p, 'domains').join(', ') || 'none'}), which refuses its attributes: correct the domain`,
  // What a backend's own API refuses, which no rule of the spec names (src/plan/index.ts).
  /**
   * A PoolAssignment on a backend whose API replaced them by default-queue settings
   * (replacedKinds); `declared`: the DefaultQueue of its project/domain (or null).
   */
  ASSIGNMENT_REPLACED_BY_DEFAULT_QUEUE: (p) => {
    const queues = list(p, 'queues');
    const scope = `${s(p, 'project')}/${s(p, 'domain')}`;
    const aQueue =
      `a queue of pool "${s(p, 'pool')}"` +
      (queues.length > 0
        ? ` (${listAddresses(queues)})`
        : ` (the repository declares none: add a Queue with pool: ${s(p, 'pool')})`);
    const instead =
      p.workflow !== null
        ? `A workflow's queue is chosen in its code: set queue= on the TaskEnvironment of workflow ${s(p, 'workflow')} (or run it with flyte run --queue) naming ${aQueue}`
        : p.declared !== null
          ? `${s(p, 'declared')} already sets the default queue of ${scope}: check that it names ${aQueue}`
          : `Declare a DefaultQueue for ${scope} naming ${aQueue}`;
    return (
      `the ${s(p, 'backend')} backend has no pool assignments: a default queue per project/domain replaced them (run.default_queue). ` +
      `${instead}, then remove this PoolAssignment`
    );
  },
  /** A label set before flyteadmin runs with it (flyteadmin.ts); `file`: what to deploy. */
  LABEL_NOT_DEPLOYED: (p) =>
    `${routing(p)}; flyteadmin accepts any label and would send these executions to ${goes(p)}. ` +
    `Deploy ${s(p, 'file')} (helm upgrade restarts flyteadmin with it); the next plan sets this label`,
};

export const CATALOG: Readonly<Record<string, Words>> = {
  ...CAUSES,
  ...UNMANAGED,
  ...BLOCKED,
  ...NOTES,
  ...WARNINGS,
  // The `cause` and `why` of QUEUE_ROUTES_NOWHERE and QUEUE_NO_HEALTHY_CLUSTER (words in the
  // JSON, as they always were).
  ROUTES_NOWHERE_BLOCKED: () => 'the change the repository asks for is blocked (see Blocked)',
  ROUTES_NOWHERE_EMPTY_SELECTOR: () => 'its selector is empty (`clusters: []`)',
  /** `why`: the words of the cause; `settings`: the scopes whose run.default_queue names it. */
  ROUTES_NOWHERE_DEFAULT_OF: (p) =>
    `${s(p, 'why')}, and it is the default queue of ${list(p, 'settings').join(', ')} (run.default_queue): their runs wait there`,
  ROUTES_NOWHERE_EMPTY_POOL: (p) => `pool "${s(p, 'pool')}" has no cluster (register one in it)`,
  NO_ROUTE: (p) => {
    const states = list(p, 'states');
    const shown = list(p, 'clusters')
      .map((c, i) => `${c} is ${states[i]}`)
      .join(', ');
    const more = p.more as number;
    return more > 0 ? `${shown} and ${more} more` : shown;
  },
  DATA_PLANE_UNVERIFIED: (p) =>
    `${s(p, 'cluster')} moves to pool "${s(p, 'pool')}" (cluster_move), but ${unreported(p)}: ` +
    `poolsync could not verify that it is deployed with ${contractWords(p)}.` +
    (p.declared === true
      ? ' Its declared data_plane matches that contract (V6), but that is what the repository says, not what the cluster runs.'
      : '') +
    ` Before applying, check the cluster's data-plane deployment (its object store bucket, ` +
    `secret manager and image registry settings) uses these values; after the move, check that the control plane ` +
    `reports it healthy: a cluster whose data plane does not match its pool is marked unhealthy and gets no work (C4, C5).`,
  /** A note (Change.note): a delete takes narrower rows along; `restored`: set again after it. */
  CASCADE_TAKES_ALONG: (p) =>
    `${cascadeAlong(p)}: ${[
      ...taken(p),
      ...list(p, 'restored').map((a) => `${a} (set again after it)`),
    ].join(', ')}`,
  /** A row at a level poolsync never writes: launch plan (`launch_plan`, `workflow`), project-wide or domain-wide. */
  OTHER_LEVEL_ROW: (p) => {
    const level =
      p.launch_plan !== ''
        ? `a launch-plan-level row (launch plan ${s(p, 'launch_plan')} of workflow ${s(p, 'workflow') || '(none)'})`
        : p.domain === ''
          ? `a project-wide row (project ${s(p, 'project')}, every domain)`
          : `a domain-wide row (domain ${s(p, 'domain')}, every project)`;
    return `${level}: poolsync manages project/domain and workflow rows only; reported, never touched (a delete of a broader row may take it along: see the plan)`;
  },
  // Words of the plan's errors (PlanError.params; `message` is this text).
  /** C1, A1: a cluster (`cluster`, its address) or an assignment (`assignment`, its name) names a pool no one has. */
  UNKNOWN_POOL: (p) =>
    p.assignment !== null
      ? `assignment "${s(p, 'assignment')}" names pool "${s(p, 'pool')}", which neither the repository nor the control plane has (A1)`
      : `${s(p, 'cluster')} names pool "${s(p, 'pool')}", which neither the repository nor the control plane has (C1)`,
  /** `recorded`: kept in the inventory when applied, the manifest no longer saying "true" (plan/guardrails.ts). */
  PREVENT_DESTROY: (p) => {
    if (p.recorded === true)
      return (
        `${s(p, 'address')} was applied with poolsync/prevent-destroy: "true" (the inventory keeps it), but this plan would ${s(p, 'action')} it: ` +
        `its manifest was removed or renamed, or the annotation was dropped in the same change. ` +
        `Declare it again, or lift the protection first: apply a commit that still declares it, without the annotation (or "false"), then delete it (docs/plan.md, Guardrails).`
      );
    const before = list(p, 'before');
    const after = list(p, 'after');
    const what = list(p, 'fields')
      .map((f, i) => `${f}: ${before[i] ?? ''} → ${after[i] ?? ''}`)
      .join(', ');
    const because = p.caused_by !== null ? ` (because ${s(p, 'caused_by')} is replaced)` : '';
    return (
      `${s(p, 'address')} is annotated poolsync/prevent-destroy: "true", but this plan would ${s(p, 'action')} it` +
      `${what ? ` (${what})` : because}. ` +
      `Revert the change, or remove the annotation in a separate commit to allow it.`
    );
  },
  /** plan/guardrails.ts: a bound (`rule`, from poolsync.yaml) the plan's `count` deletes or replaces exceed. */
  DESTROY_BUDGET: (p) => {
    const from = list(p, 'from').map((f) => BUDGET_SOURCES[f] ?? f);
    const shown = list(p, 'addresses');
    const more = Number(p.more) > 0 ? ` and ${s(p, 'more')} more` : '';
    return (
      `this plan would ${s(p, 'action')} ${plural(Number(p.count), 'object')}, over guardrails.${s(p, 'rule')}: ${s(p, 'limit')} (${from.join(', ')}): ` +
      `${shown.join(', ')}${more}. Split the change, or raise ${s(p, 'rule')} in a commit of its own and apply it first; the daemon holds such a plan for approval (docs/plan.md, Guardrails).`
    );
  },
  /** plan/index.ts pinnedToBase: a pull request that names another repository (poolsync.yaml `repository:`). */
  REPOSITORY_CHANGED: (p) => {
    const [from, to] = [s(p, 'from'), s(p, 'to')];
    const taken = list(p, 'taken');
    const n = taken.length + Number(p.more);
    const more = Number(p.more) > 0 ? ` and ${s(p, 'more')} more` : '';
    const holds =
      n > 0
        ? `${to}'s prune scope holds ${n} ${n === 1 ? 'object' : 'objects'} ${from}'s does not: ${taken.join(', ')}${more} (the inventory says ${to} applied ${itThem(n)})`
        : `${to}'s prune scope holds nothing ${from}'s does not (yet)`;
    const unread =
      p.unread !== null
        ? ` (the base branch's poolsync.yaml cannot be read, so its folder's own name stands: ${s(p, 'unread')})`
        : '';
    return (
      `this pull request changes the repository identity from ${from}${unread} to ${to} (poolsync.yaml repository:): ` +
      `once merged, prune deletes what ${to} applied and leaves what ${from} applied unmanaged. ${holds}. ` +
      `This plan is made as ${from}, the base branch's identity: a pull request may not choose whose objects its prune deletes, as it chooses no endpoint, credential or budget. ` +
      `Revert the repository: change; if ${to} is this repository's earlier name, the base branch's maintainers make that change (docs/plan.md, Prune scope)`
    );
  },
  // Errors of what a backend cannot do (src/plan/index.ts).
  BACKEND_KIND: (p) =>
    `the ${s(p, 'backend')} backend cannot manage ${s(p, 'kind')}: ${s(p, 'address')} is declared at ${s(p, 'location')}` +
    `${p.more !== 0 ? ` (and ${s(p, 'more')} more)` : ''}. ` +
    `This backend manages ${list(p, 'accepted').join(', ')}${configOnly(list(p, 'config_only'))}; remove the ${s(p, 'kind')} documents or plan them against a control plane that has them`,
  MULTI_POOL_CLUSTER: (p) =>
    `${s(p, 'cluster')} is in pools ${list(p, 'pools').join(', ')}, but the ${s(p, 'backend')} backend registers a cluster in one pool (C7); ` +
    `a cluster in several pools belongs to Union self-managed's pool map (poolsync render union-cluster-pools): give it one pool, or plan against the flyteadmin backend`,
  QUEUE_CAPS: (p) =>
    `${s(p, 'queue')} sets ${list(p, 'fields').join(', ')}, ` +
    `but the ${s(p, 'backend')} backend has no queue caps or scheduling (Union's queues have them): remove them, or plan against a union+ control plane`,
  /** A note (Change.note) of a partial plan: created by `by` as shown, its own settings not targeted. */
  TARGET_SETTINGS_NOT_APPLIED: (p) =>
    `created by ${s(p, 'by')} as shown: the settings the repository gives it are not applied by ` +
    `this partial plan (add --target ${s(p, 'address')})`,
  LABEL_DEPLOYMENT_UNKNOWN: (p) => {
    const addresses = list(p, 'addresses');
    return (
      `cannot tell whether flyteadmin runs with label '${s(p, 'label')}': ${s(p, 'unavailable')}. flyteadmin accepts any label and routes one it does not know ` +
      `to its defaultExecutionLabel or to every enabled cluster: deploy ${s(p, 'file')} before applying ${addresses.join(', ')}. Policy safe holds ${addresses.length === 1 ? 'it' : 'them'}`
    );
  },
  /** A change's `unverified` text while LABEL_DEPLOYMENT_UNKNOWN holds. */
  LABEL_UNVERIFIED: (p) =>
    `whether flyteadmin runs with label '${s(p, 'label')}' is unknown (see LABEL_DEPLOYMENT_UNKNOWN); policy safe holds this change`,
  LABEL_ROUTED_ELSEWHERE: (p) =>
    `${routing(p)}, so the executions of ${list(p, 'addresses').join(', ')} (label already set in flyteadmin) ` +
    `go to ${goes(p)}. Deploy ${s(p, 'file')} (helm upgrade restarts flyteadmin with it)`,
  /** `clusters` of the label are disabled; `all`: every one is (flyteadmin falls back). */
  LABEL_CLUSTER_DISABLED: (p) => {
    const weights = list(p, 'weights');
    const enabled = list(p, 'enabled');
    const fallback =
      p.default_label !== null
        ? `the default label '${s(p, 'default_label')}'`
        : enabled.length > 0
          ? `every enabled cluster with equal weight (${enabled.join(', ')})`
          : 'no cluster: none is enabled';
    return (
      `label '${s(p, 'label')}' sends work to disabled ExecutionCluster ${list(p, 'clusters')
        .map((c, i) => `'${c}' (weight ${weights[i] ?? ''})`)
        .join(', ')}` +
      (p.all === true
        ? `: every cluster of the label is disabled, so flyteadmin drops the label and sends its executions to ${fallback}`
        : `: flyteadmin skips it, so the other clusters of the label take its share`)
    );
  },
  LABEL_WEIGHTS_RELATIVE: (p) => {
    const percents = list(p, 'percents');
    const shares =
      p.zero === true
        ? 'every weight is 0, so flyteadmin gives each cluster an equal share'
        : list(p, 'clusters')
            .map((c, i) => `'${c}' ${percents[i] ?? ''}%`)
            .join(', ');
    return (
      `the weights of label '${s(p, 'label')}' sum to ${s(p, 'sum')}, not 1: flyteadmin treats them as relative ` +
      `(each cluster gets weight / sum of the weights; 0 skips a cluster): ${shares}`
    );
  },
  PARTIAL_PLAN: (p) => {
    const extra = list(p, 'extra');
    return (
      `this plan is partial: --target ${list(p, 'targets').join(' --target ')}` +
      (extra.length > 0 ? `, and what the targets depend on (${extra.join(', ')})` : '') +
      `. Changes to other objects are not shown and will not be applied, so the control plane may not match the ` +
      `repository afterwards: use --target for exceptional situations (recovering from a mistake, working ` +
      `around a limitation), then run a full plan.`
    );
  },
};

/**
 * The codes the plan JSON carries as data: those it carried before every reason became a code
 * (issue 37); the others are words only, so the JSON stays what it was (docs/plan.md, One voice).
 */
const IN_JSON: ReadonlySet<string> = new Set([
  ...Object.keys(CAUSES),
  ...Object.keys(UNMANAGED),
  'CONAMED_QUEUE_POOL_FIXED',
  // A reader tells a change another repository holds from one the control plane cannot make.
  'HELD_BY_OTHER_REPOSITORY',
  ...Object.keys(WARNINGS),
]);
