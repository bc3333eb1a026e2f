/**
 * The planner (plan.md): desired state + live state → Plan. Pure and deterministic: no I/O,
 * no clock; the same inputs give the same plan, byte for byte. Linear in the number of
 * objects: both states are indexed by name once (PlanContext) and every pass is one sweep.
 */
import type { ObjectKind } from '../model/common.js';
import type { DesiredState } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import { PLAN_FORMAT_VERSION, type Change, type Plan, type PlanInventory } from '../model/plan.js';
import { summarizeChanges } from './change.js';
import { planAssignments } from './assignments.js';
import { planExecutionClusterLabels } from './cluster-labels.js';
import { PlanContext, compare, type ClusterDecision, type QueueDecision } from './context.js';
import type { PlanIndex } from './plan-index.js';
import { checkPreventDestroy, checkReferences } from './checks.js';
import { planFlyteadmin } from './flyteadmin.js';
import { planDefaultQueues } from './default-queues.js';
import { desiredFingerprint, liveFingerprint } from './fingerprint.js';
import { finalPools } from './pool-final.js';
import { planPoolsAndClusters, type PoolClusterPass } from './pools-and-clusters.js';
import { planQueues } from './queues.js';
import { buildSteps } from './steps.js';
import { queueWarnings } from './warnings.js';
import { withCauses } from './causes.js';
import { planInventory } from './inventory.js';

export interface PlanOptions {
  /** Git commit of the desired state; defaults to `desired.commit`. */
  commit?: string | null;
  /** `--replace`: addresses to delete and create again (checked by target.ts checkReplaceAddresses). */
  replace?: readonly string[];
  /**
   * Pools that exist outside the control plane's API (a backend whose pools are config only,
   * e.g. Union self-managed's pool → clusters mapping): assignments may name them.
   */
  configOnlyPools?: readonly string[];
  /**
   * `--accept-cascade ADDRESS`: deletes that may take flyteadmin rows poolsync does not manage
   * along (cascade.ts); added to poolsync.yaml `acceptCascade:`.
   */
  acceptCascade?: readonly string[];
}

export function computePlan(desired: DesiredState, live: LiveState, opts: PlanOptions = {}): Plan {
  const commit = opts.commit !== undefined ? opts.commit : desired.commit;
  const replace = new Set(opts.replace ?? []);
  let ctx = new PlanContext(desired, live, replace);
  let pc = decide(ctx);
  // A declared setting the plan cannot set (its queue will not exist) leaves the live one in
  // place: plan once more with it kept, so no delete counts on it being moved.
  const kept = keptSettings(ctx);
  if (kept.size > 0) {
    ctx = new PlanContext(desired, live, replace, kept);
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
  const warnings = [...pc.warnings, ...labels.warnings, ...fa.warnings];
  const errors = [
    ...pc.errors,
    ...checkReferences(ctx, new Set(opts.configOnlyPools ?? [])),
    ...checkPreventDestroy(ctx),
  ];

  // One decision per object: causes first, so the warnings that name them say the same.
  const changes = withCauses(ctx, [
    ...[...ctx.pools.values()].map((d) => d.change),
    ...[...ctx.clusters.values()].map((d) => d.change),
    ...[...ctx.queues.values()].map((d) => d.change),
    ...withOtherRows(ctx, 'PoolAssignment', [...ctx.assignments.values()]),
    ...[...ctx.defaultQueues.values()].map((d) => d.change),
    ...withOtherRows(ctx, 'ExecutionClusterLabel', [...ctx.labels.values()]),
  ]);
  warnings.push(...queueWarnings(ctx, warnings));
  // Each pass visits names in sorted order, so changes are sorted by kind then name.
  const summary = summarizeChanges(changes);
  const order = (w: { address: string | null; code: string }) =>
    `${w.address ?? ''}\u0000${w.code}`;
  return {
    format_version: PLAN_FORMAT_VERSION,
    desired_fingerprint: desiredFingerprint(desired, commit),
    live_fingerprint: liveFingerprint(live),
    commit,
    summary,
    changes,
    steps: buildSteps(ctx),
    warnings: warnings.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0)),
    errors,
    capabilities: { ...live.capabilities },
    ...(ctx.pruneScope ? { prune_scope: ctx.pruneScope } : {}),
    ...inventoryField(desired, live),
    ...(live.default_queues_read ? { default_queues_read: live.default_queues_read } : {}),
  };
}

/** The passes up to the default-queue settings, into `ctx`; the pool and cluster pass. */
function decide(ctx: PlanContext): PoolClusterPass {
  // Each pass reads the index and the decisions of the passes before it, and returns its own.
  let pc = planPoolsAndClusters(ctx);
  let queues = planQueues(ctx, pc);
  // unpin_first: a cluster step assumed a declared queue repointed off it, which the queue pass
  // blocked: plan once more with those pins kept (the clusters' steps then blocked too).
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

/**
 * The declared queues whose repointing off a cluster this plan drains, moves or deletes the
 * queue pass blocked: their live pins stay (unpin_first).
 */
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

/** `inventory` when the live state carries one (read, or known to be absent). */
function inventoryField(desired: DesiredState, live: LiveState): { inventory?: PlanInventory } {
  const inventory = planInventory(desired, live);
  return inventory ? { inventory } : {};
}

/** A kind's changes with the flyteadmin rows of other levels among them, by name. */
function withOtherRows(
  ctx: PlanContext,
  kind: ObjectKind,
  decided: { change: Change }[],
): Change[] {
  const others = [...ctx.otherRows.values()].filter((c) => c.kind === kind);
  const all = [...decided.map((d) => d.change), ...others];
  return others.length === 0 ? all : all.sort((a, b) => compare(a.name, b.name));
}

export { PLAN_FORMAT_VERSION };
