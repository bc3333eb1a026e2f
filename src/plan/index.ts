/**
 * The planner (plan.md): desired state + live state → Plan. Pure and deterministic: no I/O,
 * no clock; the same inputs give the same plan, byte for byte. Linear in the number of
 * objects: both states are indexed by name once (PlanContext) and every pass is one sweep.
 */
import type { ApplierSource } from '../model/appliers.js';
import {
  type ObjectKind,
  address,
  assignmentKeyString,
  QUEUE_CAP_FIELDS,
  defaultQueueKeyString,
} from '../model/common.js';
import type { DesiredCluster, DesiredState, Guardrails } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import { routingOf } from '../model/flyte.js';
import {
  PLAN_FORMAT_VERSION,
  type Change,
  type Plan,
  type PlanError,
  type PlanWarning,
  type Reason,
} from '../model/plan.js';
import {
  summarizeChanges,
  makeChange,
  specForm,
  diffForms,
  declaresCaps,
  changeWith,
} from './forms.js';
import { planExecutionClusterLabels } from './cluster-labels.js';
import {
  PlanContext,
  type PlanIndex,
  compare,
  type ClusterDecision,
  type QueueDecision,
  type AssignmentDecision,
  type PoolDecision,
  locationOf,
  preventsDestroy,
  isWildcard,
  keyed,
  push,
  upsertChange,
  compareChanges,
} from './context.js';
import { planFlyteadmin } from './flyteadmin.js';
import { planDefaultQueues } from './default-queues.js';
import { desiredFingerprint, type KeyTexts, liveFingerprint } from './fingerprint.js';
import {
  finalPools,
  planPoolsAndClusters,
  poolBlocked,
  poolBlockedReason,
} from './pools-and-clusters.js';
import { fairnessWarnings, planQueues, withCauses } from './queues.js';
import { buildSteps, withExecution } from './steps.js';
import {
  declaredByKind,
  declaredProtection,
  planInventory,
  repositoryConflicts,
  withFolderRecords,
  withoutAddresses,
} from './inventory.js';
import {
  budgetErrors,
  type BudgetBound,
  confirmDestroy,
  recordedBudget,
  recordedProtectionErrors,
} from './guardrails.js';
import { planError, reasonOf, warning } from './reasons.js';
import type { BackendInfo } from '../model/backend.js';
import { checkReplaceAddresses, targetPlan } from './target.js';
import { append } from '../util/append.js';

export interface PlanOptions {
  /** Defaults to `desired.commit`. */
  commit?: string | null;
  /** `--replace`: addresses to delete and create again. */
  replace?: readonly string[];
  /** `--accept-cascade`: deletes that may take unmanaged flyteadmin rows along (flyteadmin.ts). */
  acceptCascade?: readonly string[];
  /** `--target`: only these and what they depend on (target.ts). */
  targets?: readonly string[];
  /** Its kinds are checked; its `manualStep`: the steps a person runs. */
  backend?: BackendInfo;
  /** The base branch's poolsync.yaml guardrails in pull-request mode: a bound the pull request keeps. */
  baseGuardrails?: Guardrails;
  /** Pull-request mode: the base branch's repository identity, kept whatever the pull request's poolsync.yaml says. */
  baseRepository?: BaseRepository;
  /**
   * The repository planned, as its folder names it (src/ops/repository.ts), when poolsync.yaml
   * names none: prune deletes only what it applied (docs/plan.md, Prune scope).
   */
  repository?: string | null;
  /**
   * The planned folder's path (src/ops/repository.ts): its name when no Git remote names it, else
   * the name it had before, whose records are this repository's (docs/plan.md, Prune scope).
   */
  folder?: string;
  /** Where the plan runs (model/appliers.ts): an object another poolsync wrote last is said. */
  applier?: ApplierSource;
}

/** The base branch's poolsync.yaml `repository:` (docs/plan.md, A pull request keeps the base's repository). */
export interface BaseRepository {
  /** Null: the base sets none, so the folder's own name (PlanOptions.repository). */
  set: string | null;
  /** Why the base's poolsync.yaml could not be read, when it could not (then `set` is null). */
  unread?: string;
}

/** The options a user gives (`plan` and `apply DIR` flags, cli/options.ts SHAPE_FLAGS). */
export type PlanShape = Omit<
  PlanOptions,
  'commit' | 'backend' | 'baseGuardrails' | 'baseRepository' | 'repository' | 'folder' | 'applier'
>;

/** The repository a plan is made from: poolsync.yaml `repository:`, else the one its caller names. */
function repositoryOfPlan(desired: DesiredState, opts: PlanOptions): string | null {
  return desired.config.repository ?? opts.repository ?? null;
}

/** The live state as the plan's repository reads it, its folder's records its own (withFolderRecords). */
function asPlanned(desired: DesiredState, live: LiveState, opts: PlanOptions) {
  // A name poolsync.yaml sets is the user's choice: no folder's records are taken for it.
  const folder = desired.config.repository === undefined ? opts.folder : undefined;
  return withFolderRecords(live, repositoryOfPlan(desired, opts), folder);
}

/** `configOnlyPools`: pools outside the API (Union self-managed's pool map) assignments may name. */
export function computePlan(
  declared: DesiredState,
  read: LiveState,
  opts: PlanOptions = {},
  configOnlyPools: readonly string[] = [],
): Plan {
  const commit = opts.commit !== undefined ? opts.commit : declared.commit;
  const replace = new Set(opts.replace ?? []);
  const repository = repositoryOfPlan(declared, opts);
  const { live, renamedFrom } = asPlanned(declared, read, opts);
  // What another repository applied is left to it (docs/plan.md, Prune scope): planned as undeclared.
  const conflicts = repositoryConflicts(declared, live, repository);
  const desired = withoutAddresses(declared, conflicts);
  const { ctx, pc, labels, fa, changes: own } = decideAll(desired, live, replace, repository, opts);
  // Where such an object's manifest differs from it, that is a change this plan cannot make:
  // blocked, so the plan never reads "No changes" (docs/plan.md, Prune scope).
  const changes =
    conflicts.size === 0
      ? own
      : heldByConflicts(own, decideAll(declared, live, replace, repository, opts).changes, {
          conflicts,
          here: repository,
        });
  const warnings = [...pc.warnings, ...labels.warnings, ...fa.warnings];
  conflicts.forEach((other, at) =>
    warnings.push(
      warning('REPOSITORY_CONFLICT', at, {
        address: at,
        repository: other,
        here: repository,
        // Named by its folder's path, it may have moved; named by a remote, it may have had none.
        here_is_path: repository !== null && repository === opts.folder,
      }),
    ),
  );
  const errors = [
    ...pc.errors,
    ...checkReferences(ctx, new Set(configOnlyPools)),
    ...checkPreventDestroy(ctx),
  ];

  append(warnings, queueWarnings(ctx, warnings));
  // Only Union's queues carry a scheduling policy (queueCaps).
  if (opts.backend?.queueCaps) append(warnings, fairnessWarnings(changes));
  // Guardrails (guardrails.ts): protection the inventory keeps, and the destroy budget.
  const declaredMarks = declaredProtection(desired);
  append(errors, recordedProtectionErrors(changes, live, declaredMarks, errors));
  const steps = buildSteps(ctx);
  errors.push(...budgetErrors({ changes, steps }, budgetBounds(desired, live, opts)));
  const confirm = confirmDestroy(changes, live, declaredMarks);
  // Each pass visits names in sorted order, so changes are sorted by kind then name.
  const summary = summarizeChanges(changes);
  const { inventory, ...fingerprints } = wholeParts(declared, read, commit, repository, {
    desired,
    live,
    renamedFrom,
    marks: () => declaredMarks,
  });
  const routing = live.flyteadmin ? routingOf(live.flyteadmin.deployed) : null;
  const order = (w: { address: string | null; code: string }) =>
    `${w.address ?? ''}\u0000${w.code}`;
  return {
    format_version: PLAN_FORMAT_VERSION,
    ...fingerprints,
    commit,
    summary,
    changes,
    steps,
    warnings: warnings.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0)),
    errors,
    capabilities: { ...live.capabilities },
    ...(ctx.pruneScope ? { prune_scope: ctx.pruneScope } : {}),
    ...(inventory ? { inventory } : {}),
    ...(confirm.length > 0 ? { confirm_destroy: confirm } : {}),
    ...(live.default_queues_read ? { default_queues_read: live.default_queues_read } : {}),
    ...(routing ? { deployed_routing: routing } : {}),
  };
}

/**
 * The destroy budget's bounds (docs/plan.md, The destroy budget), for a full plan or a targeted
 * one; `planned`, the live state as the plan's repository reads it (asPlanned).
 */
function budgetBounds(desired: DesiredState, planned: LiveState, opts: PlanOptions): BudgetBound[] {
  return [
    { from: 'repository', guardrails: desired.config.guardrails },
    { from: 'base', guardrails: opts.baseGuardrails },
    recordedBudget(planned, repositoryOfPlan(desired, opts)),
  ];
}

/** What a plan says of the whole organisation, however little of it changes (fingerprints, inventory). */
function wholeParts(
  desired: DesiredState,
  live: LiveState,
  commit: string | null,
  repository: string | null,
  /** What this repository plans (`desired` less what another applied), its marks, the live state as it reads it. */
  own: {
    desired: DesiredState;
    marks: () => ReturnType<typeof declaredProtection>;
    live: LiveState;
    renamedFrom: string | undefined;
  },
  known: Known = {},
) {
  return {
    desired_fingerprint: desiredFingerprint(desired, commit, known.keyTexts),
    live_fingerprint: known.live_fingerprint ?? liveFingerprint(live, known.keyTexts),
    inventory:
      'inventory' in known
        ? known.inventory
        : planInventory(own.desired, own.live, own.marks(), repository, own.renamedFrom),
  };
}

/** Parts the caller knows to be those of equal inputs (src/incremental/plan-slice.ts). */
interface Known {
  live_fingerprint?: string;
  inventory?: Plan['inventory'];
  /** The frozen objects' key texts kept from the last commit's fingerprints (fingerprint.ts). */
  keyTexts?: KeyTexts;
}

/**
 * wholeParts as planAgainst makes them (the backend's view of `desired`): the daemon's plan of
 * a slice of the organisation takes these (src/incremental/plan-slice.ts).
 */
export function organisationParts(
  desired: DesiredState,
  live: LiveState,
  opts: PlanOptions = {},
  known: Known = {},
) {
  const view = opts.backend ? plannableState(desired, opts.backend).desired : desired;
  const commit = opts.commit !== undefined ? opts.commit : view.commit;
  const repository = repositoryOfPlan(view, opts);
  const { live: planned, renamedFrom } = asPlanned(view, live, opts);
  const own = withoutAddresses(view, repositoryConflicts(view, planned, repository));
  const marks = () => declaredProtection(own);
  const parts = { desired: own, marks, live: planned, renamedFrom };
  return wholeParts(view, live, commit, repository, parts, known);
}

/** Every pass over `desired`: the context they decided in, and one change per object. */
function decideAll(
  desired: DesiredState,
  live: LiveState,
  replace: ReadonlySet<string>,
  repository: string | null,
  opts: PlanOptions,
) {
  let ctx = new PlanContext(desired, live, replace, undefined, repository);
  let pc = decide(ctx);
  // A blocked declared setting leaves the live one in place: plan again with it kept.
  const kept = keptSettings(ctx);
  if (kept.size > 0) {
    ctx = new PlanContext(desired, live, replace, kept, repository);
    pc = decide(ctx);
  }
  const labels = planExecutionClusterLabels(ctx);
  const fa = planFlyteadmin(
    ctx,
    { labels: labels.labels, assignments: planAssignments(ctx, ctx.pools) },
    new Set([...(desired.config.accept_cascade ?? []), ...(opts.acceptCascade ?? [])]),
  );
  ctx.assignments = fa.assignments;
  ctx.labels = fa.labels;
  ctx.otherRows = fa.otherRows;
  // One decision per object: causes first, so the warnings that name them say the same.
  // concat, not spreads: no iterator result a change (~100,000).
  const changes = withCauses(
    changesOf(ctx.pools).concat(
      changesOf(ctx.clusters),
      changesOf(ctx.queues),
      withOtherRows(ctx, 'PoolAssignment', changesOf(ctx.assignments)),
      changesOf(ctx.defaultQueues),
      withOtherRows(ctx, 'ExecutionClusterLabel', changesOf(ctx.labels)),
    ),
  );
  return { ctx, pc, labels, fa, changes };
}

/**
 * `own` with each declared object another repository applied blocked where planning it as
 * declared (`taken`) would change it; where it matches, or another step changes it, as it was.
 */
function heldByConflicts(
  own: Change[],
  taken: readonly Change[],
  by: { conflicts: ReadonlyMap<string, string>; here: string | null },
): Change[] {
  const held = new Map<string, Change>();
  for (const c of taken) {
    const other = by.conflicts.get(c.address);
    if (other === undefined || c.action === 'noop' || c.action === 'unmanaged') continue;
    const why = reasonOf('HELD_BY_OTHER_REPOSITORY', { repository: other, here: by.here });
    held.set(c.address, makeChange(c.kind, c.name, 'blocked', c.before, c.after, c.diff, { why }));
  }
  if (held.size === 0) return own;
  const out = own.map((c) => {
    const h = held.get(c.address);
    if (h === undefined) return c;
    held.delete(c.address);
    return c.action === 'noop' || c.action === 'unmanaged' ? h : c;
  });
  // Not live: no change of it yet, placed in the planner's order.
  return held.size === 0 ? out : out.concat([...held.values()]).sort(compareChanges);
}

/** The passes up to the default-queue settings, into `ctx`; the pool and cluster pass. */
function decide(ctx: PlanContext) {
  let pc = planPoolsAndClusters(ctx);
  let queues = planQueues(ctx, pc);
  // unpin_first: plan again with the pins kept whose repointing the queue pass blocked.
  const stuck = stuckPins(ctx, pc.clusters, queues);
  if (stuck.size > 0) {
    pc = planPoolsAndClusters(ctx, stuck);
    queues = planQueues(ctx, pc);
  }
  ctx.pools = finalPools(ctx, pc.pools, queues);
  ctx.clusters = pc.clusters;
  ctx.deletedClusters = pc.deletedClusters;
  ctx.movedClusters = pc.movedClusters;
  ctx.queues = queues;
  ctx.defaultQueues = planDefaultQueues(ctx, queues);
  return pc;
}

/** The declared settings planned blocked while a live one of their key names another queue. */
function keptSettings(ctx: PlanContext): Set<string> {
  const kept = new Set<string>();
  if (ctx.keptSettings.size > 0) return kept;
  for (const [key, d] of ctx.defaultQueues)
    if (d.change.action === 'blocked' && d.change.before !== null) kept.add(key);
  return kept;
}

/** Declared queues whose repointing off a leaving or drained cluster is blocked (unpin_first). */
function stuckPins(
  ix: PlanIndex,
  clusters: ReadonlyMap<string, ClusterDecision>,
  queues: ReadonlyMap<string, QueueDecision>,
): Set<string> {
  const stuck = new Set<string>();
  if (!ix.caps.unpin_first) return stuck;
  for (const [name, d] of clusters) {
    const drains = d.change.before?.['enabled'] === true && d.final?.enabled === false;
    if (!drains && !d.deletes && !d.moves) continue;
    for (const q of ix.lQueuesByCluster.get(name) ?? [])
      if (q !== name && ix.dQueues.has(q) && queues.get(q)?.change.action === 'blocked')
        stuck.add(q);
  }
  return stuck;
}

/**
 * The decisions' changes, in their order. With forEach: a for-of loop (or a spread) over a
 * pass's 90,000 decisions, run once, allocated an iterator result each (issue 63).
 */
function changesOf(decided: ReadonlyMap<string, { change: Change }>): Change[] {
  const out: Change[] = [];
  decided.forEach((d) => out.push(d.change));
  return out;
}

/** A kind's changes with the flyteadmin rows of other levels among them, by name. */
function withOtherRows(ctx: PlanContext, kind: ObjectKind, decided: Change[]) {
  const others = [...ctx.otherRows.values()].filter((c) => c.kind === kind);
  if (others.length === 0) return decided;
  return decided.concat(others).sort((a, b) => compare(a.name, b.name));
}

/** The assignment pass (A1–A3): set (upsert), pruned, and set again around a pool's replace. */
function planAssignments(ctx: PlanIndex, pools: ReadonlyMap<string, PoolDecision>) {
  const out = new Map<string, AssignmentDecision>();
  for (const [key, d, l] of keyed(ctx.dAssignments, ctx.lAssignments)) {
    const before = l ? specForm('PoolAssignment', l) : null;
    const livePool = l?.pool ?? null;
    if (!d) {
      const change = ctx.undeclaredChange('PoolAssignment', key, before);
      const remove = change.action === 'delete';
      out.set(key, { change, set: false, remove, livePool, finalPool: remove ? null : livePool });
      continue;
    }
    const change = upsertChange('PoolAssignment', key, before, specForm('PoolAssignment', d));
    if (change.action !== 'noop' && poolBlocked(pools, d.pool)) {
      // A1: its pool will not exist; the assignment stays as it is, blocked with the pool.
      const blocked = changeWith(change, { action: 'blocked', why: poolBlockedReason(d.pool) });
      out.set(key, { change: blocked, set: false, remove: false, livePool, finalPool: livePool });
      continue;
    }
    const poolReplaced = pools.get(d.pool)?.change.action === 'replace';
    const forced = ctx.forceReplace.has(address('PoolAssignment', key));
    const decision = { change, set: change.action !== 'noop', remove: false, livePool };
    if (change.action === 'noop' && (poolReplaced || forced)) {
      // A3: the pool's delete needs the assignment gone; it is set again once the pool exists.
      const by = poolReplaced ? address('ClusterPool', d.pool) : null;
      const { before: was, after } = change;
      const replace = makeChange('PoolAssignment', key, 'replace', was, after, [], {
        caused_by: by,
      });
      out.set(key, { ...decision, change: replace, set: true, remove: true, finalPool: d.pool });
    } else out.set(key, { ...decision, finalPool: d.pool });
  }
  return out;
}

/** A destroyed object annotated prevent-destroy (Terraform's prevent_destroy). */
function checkPreventDestroy(ctx: PlanContext): PlanError[] {
  const errors: PlanError[] = [];
  for (const [kind, decisions, declared] of [
    ['ClusterPool', ctx.pools, ctx.dPools],
    ['Cluster', ctx.clusters, ctx.dClusters],
    ['PoolAssignment', ctx.assignments, ctx.dAssignments],
  ] as const) {
    decisions.forEach(({ change }, name) => {
      // Destructive first: no lookup for each of 30,000 objects a plan of creates keeps.
      if (!change.destructive) return;
      const obj = declared.get(name);
      if (!obj || !preventsDestroy(obj)) return;
      const forcing = change.diff.filter((d) => d.forces_replacement);
      const addr = address(kind, name);
      errors.push(
        planError(
          'PREVENT_DESTROY',
          addr,
          {
            address: addr,
            action: change.action,
            fields: forcing.map((d) => d.path),
            before: forcing.map((d) => JSON.stringify(d.before)),
            after: forcing.map((d) => JSON.stringify(d.after)),
            caused_by: change.caused_by ?? null,
            recorded: false,
          },
          locationOf(obj.source),
        ),
      );
    });
  }
  return errors;
}

/** V2, V8 again (defence in depth): a pool that will not exist fails the plan, not the apply. */
function checkReferences(ctx: PlanContext, configOnlyPools: ReadonlySet<string>): PlanError[] {
  // A declared pool the plan cannot create (contract marked unknown) has its own error; one it
  // leaves blocked, its clusters and assignments blocked with it.
  const exists = (pool: string) =>
    configOnlyPools.has(pool) ||
    Boolean(ctx.pools.get(pool)?.finalContract) ||
    ctx.dPools.get(pool)?.contract === null ||
    poolBlocked(ctx.pools, pool);
  const unknownPool = (
    at: string,
    assignment: string | null,
    o: Pick<DesiredCluster, 'pool' | 'source'>,
  ) =>
    planError(
      'UNKNOWN_POOL',
      at,
      { cluster: assignment === null ? at : null, assignment, pool: o.pool },
      locationOf(o.source),
    );
  return [
    ...ctx.desired.clusters
      .filter((c) => !exists(c.pool))
      .map((c) => unknownPool(address('Cluster', c.name), null, c)),
    ...ctx.desired.assignments
      .filter((a) => !exists(a.pool))
      .map((a) => unknownPool(address('PoolAssignment', assignmentKeyString(a)), a.name, a)),
  ];
}

type Member = [string, NonNullable<ClusterDecision['final']>];

/**
 * Q8: routing skips disabled and unhealthy clusters. `unknown` (not reported yet) is not
 * counted against the queue: a fresh cluster reports once its data plane runs (C5).
 */
const isDead = (f: Member[1]): boolean => !f.enabled || f.health === 'unhealthy';
const isAlive = (f: Member[1] | null | undefined): boolean => !!f && !isDead(f);

/** Some of `selector` is alive. Indexed, not some(): no closure a queue (~70,000). */
function routesToAlive(
  clusters: ReadonlyMap<string, ClusterDecision>,
  selector: readonly string[],
) {
  for (let i = 0; i < selector.length; i++)
    if (isAlive(clusters.get(selector[i]!)?.final)) return true;
  return false;
}

/** Why the queue routes nowhere, or null (it routes, or names no cluster the plan keeps). */
function noRoute(routed: readonly Member[]): Reason | null {
  if (routed.length === 0) return null;
  const dead = routed.filter(([, f]) => isDead(f));
  if (dead.length !== routed.length) return null;
  const shown = dead.slice(0, 5);
  const clusters = shown.map(([c]) => address('Cluster', c));
  const states = shown.map(([, f]) => (f.enabled ? 'unhealthy' : 'disabled'));
  return reasonOf('NO_ROUTE', { clusters, states, more: dead.length - shown.length });
}

function queueWarnings(ctx: PlanContext, earlier: readonly PlanWarning[]): PlanWarning[] {
  const out: PlanWarning[] = [];
  // A co-named queue a re-registration leaves behind is told once, by CONAMED_QUEUE_ORPHANED.
  const orphaned = new Set(
    earlier
      .filter((w) => w.code === 'CONAMED_QUEUE_ORPHANED')
      .map((w) => w.address.slice('Cluster/'.length)),
  );
  const wildcardVerdicts = new Map<string, Reason | null>();
  const members = new Map<string, Member[]>();
  ctx.clusters.forEach((d, name) => {
    if (d.final) push(members, d.final.pool, [name, d.final]);
  });

  // forEach, not for-of: see changesOf.
  ctx.queues.forEach((q, name) => {
    const final = q.final;
    if (!final) return;
    if (final.clusters.length === 0) {
      // Only emptied now, or blocked: a queue retired on purpose earlier is not re-reported.
      const emptiedNow = q.live === null || q.live.clusters.length > 0;
      // A default-queue setting sends runs to it: said, even of an orphaned co-named queue.
      const settings = ctx.settingQueues.get(name);
      if ((emptiedNow || q.change.action === 'blocked') && (!orphaned.has(name) || settings)) {
        const by = q.change.caused_by;
        const why = by
          ? (q.change.cause ?? reasonOf('CAUSED_BY', { by }))
          : q.change.action === 'blocked'
            ? reasonOf('ROUTES_NOWHERE_BLOCKED', {})
            : reasonOf('ROUTES_NOWHERE_EMPTY_SELECTOR', {});
        const cause = settings
          ? reasonOf('ROUTES_NOWHERE_DEFAULT_OF', { why, settings: [...settings] })
          : why;
        const addr = address('Queue', name);
        out.push(warning('QUEUE_ROUTES_NOWHERE', addr, { queue: addr, cause, pool: final.pool }));
      }
      return;
    }
    if (!q.declared) return;
    const wildcard = isWildcard(final.clusters);
    if (wildcard && !members.has(final.pool)) {
      // `*` in a pool no cluster is registered in: nothing to route to until one is.
      const addr = address('Queue', name);
      const cause = reasonOf('ROUTES_NOWHERE_EMPTY_POOL', { pool: final.pool });
      out.push(warning('QUEUE_ROUTES_NOWHERE', addr, { queue: addr, cause, pool: final.pool }));
      return;
    }
    // A pool's `*` queues all route to its members: judged once per pool.
    let why = wildcard ? wildcardVerdicts.get(final.pool) : undefined;
    // Most pinned queues name a live, enabled cluster: settled without building the list.
    if (!wildcard && routesToAlive(ctx.clusters, final.clusters)) return;
    if (why === undefined) {
      why = noRoute(
        wildcard
          ? (members.get(final.pool) ?? [])
          : final.clusters.flatMap((c) => {
              const f = ctx.clusters.get(c)?.final;
              return f ? [[c, f] as Member] : [];
            }),
      );
      if (wildcard) wildcardVerdicts.set(final.pool, why);
    }
    if (why !== null) {
      const addr = address('Queue', name);
      out.push(warning('QUEUE_NO_HEALTHY_CLUSTER', addr, { queue: addr, why }));
    }
  });
  return out;
}

/** The planner as one call, without I/O; the edge that reads is src/ops/plan-run.ts. */
export function planAgainst(declared: DesiredState, live: LiveState, opts: PlanOptions = {}): Plan {
  const { desired, changed } = pinnedToBase(declared, live, opts);
  const plan = planUnpinned(desired, live, opts);
  if (changed) plan.errors.unshift(changed);
  return plan;
}

/** The addresses an identity's prune scope holds, named in REPOSITORY_CHANGED. */
const NAMED_TAKEN = 10;

/**
 * In pull-request mode, `desired` as the base branch names its repository, and the error when
 * the pull request names another: a plan under the base's name is not what the merge does, and
 * one under the pull request's lets it choose whose objects its prune deletes (docs/plan.md).
 */
function pinnedToBase(
  desired: DesiredState,
  live: LiveState,
  opts: PlanOptions,
): { desired: DesiredState; changed?: PlanError } {
  const base = opts.baseRepository;
  if (!base) return { desired };
  const from = base.set ?? opts.repository ?? null;
  const to = repositoryOfPlan(desired, opts);
  if (from === to || from === null || to === null) return { desired };
  const held = new Set(live.inventory_owners?.[from] ?? []);
  const taken = (live.inventory_owners?.[to] ?? []).filter((a) => !held.has(a));
  const config = { ...desired.config, repository: base.set ?? undefined };
  const changed = planError(
    'REPOSITORY_CHANGED',
    null,
    {
      from,
      to,
      taken: taken.slice(0, NAMED_TAKEN),
      more: Math.max(0, taken.length - NAMED_TAKEN),
      unread: base.unread ?? null,
    },
    null,
  );
  return { desired: { ...desired, config }, changed };
}

/** planAgainst of `desired` as it names its repository. */
function planUnpinned(desired: DesiredState, live: LiveState, opts: PlanOptions): Plan {
  if (opts.replace?.length) checkReplaceAddresses(opts.replace, desired, live);
  const { backend } = opts;
  const planned = planForBackend(desired, live, backend, opts);
  // After planning: the planner stays pure; only the backend knows what has no public API.
  const full = withExecution(planned, backend?.manualStep?.bind(backend));
  if (!opts.targets?.length) return full;
  // A targeted plan spends the budget on what it does, not on the full plan it filters.
  return targetPlan(
    full,
    opts.targets,
    budgetBounds(desired, asPlanned(desired, live, opts).live, opts),
  );
}

/**
 * One BACKEND_KIND error per declared kind the backend cannot manage; kinds it takes as
 * configuration only (`poolsync render`, no API) or replaced by another (replacedKinds) are not.
 */
function backendKindErrors(desired: DesiredState, backend: BackendInfo): PlanError[] {
  const accepted = new Set<ObjectKind>([...backend.kinds, ...(backend.configKinds ?? [])]);
  const out: PlanError[] = [];
  // Only the kinds refused get their addresses (not 100,000 for a backend that takes them all).
  const refused = (kind: ObjectKind) =>
    !accepted.has(kind) && !(kind in (backend.replacedKinds ?? {}));
  for (const [kind, objects] of declaredByKind(desired, refused)) {
    if (objects.length === 0) continue;
    const first = objects[0]!;
    const location = locationOf(first.source);
    out.push(
      planError(
        'BACKEND_KIND',
        first.address,
        {
          backend: backend.name,
          kind,
          address: first.address,
          location,
          more: objects.length - 1,
          // What it manages by API; the configuration-only kinds apart (never sent).
          accepted: [...backend.kinds],
          config_only: [...(backend.configKinds ?? [])],
        },
        location,
      ),
    );
  }
  return out;
}

/**
 * The desired state with only the kinds the backend manages: the others are rendered or
 * BACKEND_KIND errors, so the plan shows no steps or blocked changes for them.
 */
function plannableState(desired: DesiredState, backend: BackendInfo) {
  const managed = new Set(backend.kinds);
  const keep = <T>(kind: ObjectKind, list: T[]): T[] => (managed.has(kind) ? list : []);
  const view: DesiredState = {
    ...desired,
    pools: keep('ClusterPool', desired.pools),
    clusters: keep('Cluster', desired.clusters),
    queues: keep('Queue', desired.queues),
    assignments: keep('PoolAssignment', desired.assignments),
    execution_cluster_labels: keep('ExecutionClusterLabel', desired.execution_cluster_labels ?? []),
    default_queues: keep('DefaultQueue', desired.default_queues ?? []),
  };
  // Pools Union keeps outside the API: the declared ones and `default` (P1).
  const configOnlyPools = (backend.configKinds ?? []).includes('ClusterPool')
    ? ['default', ...desired.pools.map((p) => p.name)]
    : [];
  return { desired: view, configOnlyPools };
}

/** computePlan for one backend: its kind errors, and config-only kinds kept out of the plan. */
export function planForBackend(
  desired: DesiredState,
  live: LiveState,
  backend: BackendInfo | undefined,
  opts: PlanOptions = {},
): Plan {
  if (!backend) return computePlan(desired, live, opts);
  const view = plannableState(desired, backend);
  const plan = computePlan(view.desired, live, opts, view.configOnlyPools);
  const replaced = replacedAssignments(desired, backend);
  if (replaced.length > 0) {
    // Changes are sorted by kind: assignments come before the settings and labels.
    const at = plan.changes.findIndex(
      (c) => c.kind === 'DefaultQueue' || c.kind === 'ExecutionClusterLabel',
    );
    plan.changes.splice(at < 0 ? plan.changes.length : at, 0, ...replaced);
    plan.summary.blocked += replaced.length;
  }
  plan.errors.push(...backendErrors(desired, backend));
  return plan;
}

/**
 * The plan errors that follow from the repository and the backend alone, whatever the live
 * state: BACKEND_KIND, MULTI_POOL_CLUSTER, QUEUE_CAPS. Every plan against that backend fails on
 * them, so `poolsync check` reports them before any plan (no read needed).
 */
export function backendErrors(desired: DesiredState, backend: BackendInfo): PlanError[] {
  return [
    ...backendKindErrors(desired, backend),
    ...multiPoolErrors(desired, backend),
    ...queueCapsErrors(desired, backend),
  ];
}

/**
 * PoolAssignments against a backend whose API replaced them by DefaultQueue settings (Union v2):
 * each is blocked, naming the setting to declare and the repository's queues in its pool.
 */
function replacedAssignments(desired: DesiredState, backend: BackendInfo): Change[] {
  if (backend.replacedKinds?.PoolAssignment !== 'DefaultQueue') return [];
  const queuesOf = new Map<string, string[]>();
  for (const q of desired.queues) push(queuesOf, q.spec.pool, q.name);
  const settings = new Set((desired.default_queues ?? []).map(defaultQueueKeyString));
  return desired.assignments.map((a) => {
    const after = specForm('PoolAssignment', a);
    const setting = defaultQueueKeyString(a);
    const why = reasonOf('ASSIGNMENT_REPLACED_BY_DEFAULT_QUEUE', {
      backend: backend.name,
      project: a.project,
      domain: a.domain,
      workflow: a.workflow,
      pool: a.pool,
      queues: queuesOf.get(a.pool) ?? [],
      declared: settings.has(setting) ? address('DefaultQueue', setting) : null,
    });
    const key = assignmentKeyString(a);
    const diff = diffForms(null, after);
    return makeChange('PoolAssignment', key, 'blocked', null, after, diff, { why });
  });
}

/**
 * A cluster in several pools (`spec.pools`) exists only in Union self-managed's pool map,
 * which the flyteadmin backend takes as configuration; a backend that registers clusters keeps
 * one pool per cluster record (C7).
 */
function multiPoolErrors(desired: DesiredState, backend: BackendInfo): PlanError[] {
  if (!backend.kinds.includes('Cluster')) return [];
  return desired.clusters
    .filter((c) => (c.pools?.length ?? 0) > 1)
    .map((c) => {
      const cluster = address('Cluster', c.name);
      return planError(
        'MULTI_POOL_CLUSTER',
        cluster,
        { cluster, pools: [...c.pools!], backend: backend.name },
        locationOf(c.source),
      );
    });
}

/**
 * Union's queue caps and scheduling (manifests.md, Queue) exist only on a backend that reads and
 * writes them (`queueCaps`); elsewhere they would never apply, so the plan fails, naming where.
 */
function queueCapsErrors(desired: DesiredState, backend: BackendInfo): PlanError[] {
  if (backend.queueCaps || !backend.kinds.includes('Queue')) return [];
  return desired.queues
    .filter((q) => declaresCaps(q.spec))
    .map((q) => {
      const queue = address('Queue', q.name);
      const fields = QUEUE_CAP_FIELDS.filter((f) => q.spec[f] !== undefined);
      const location = locationOf(q.caps_source ?? q.source);
      return planError('QUEUE_CAPS', queue, { queue, fields, backend: backend.name }, location);
    });
}
