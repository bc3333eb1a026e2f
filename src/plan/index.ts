/**
 * The planner (plan.md): desired state + live state → Plan. Pure and deterministic: no I/O,
 * no clock; the same inputs give the same plan, byte for byte. Linear in the number of
 * objects: both states are indexed by name once (PlanContext) and every pass is one sweep.
 */
import { address, assignmentKeyString, type ObjectKind } from '../model/common.js';
import type { DesiredState } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import { PLAN_FORMAT_VERSION, type Change, type Plan, type PlanInventory } from '../model/plan.js';
import { summarizeChanges } from './change.js';
import { planAssignments } from './assignments.js';
import { planExecutionClusterLabels } from './cluster-labels.js';
import { PlanContext, compare, locationOf, preventsDestroy } from './context.js';
import { planFlyteadmin } from './flyteadmin.js';
import { planDefaultQueues } from './default-queues.js';
import { desiredFingerprint, liveFingerprint } from './fingerprint.js';
import { finalPools } from './pool-final.js';
import { planPoolsAndClusters } from './pools-and-clusters.js';
import { planQueues } from './queues.js';
import type { QueuePass } from './queue-pass.js';
import { buildSteps } from './steps.js';
import { queueWarnings } from './warnings.js';
import { assignCauses } from './causes.js';
import { planError } from './reasons.js';
import { planInventory } from './inventory.js';
import { SharedCreatedFields } from './created-fields.js';

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
  /**
   * How the queue pass runs over its queues (queue-frame.ts): a long-running process passes one
   * that reuses its last pass's decisions (src/incremental/queue-reuse.ts). Never shapes the plan.
   */
  queuePass?: QueuePass;
}

export function computePlan(desired: DesiredState, live: LiveState, opts: PlanOptions = {}): Plan {
  const commit = opts.commit !== undefined ? opts.commit : desired.commit;
  const ctx = new PlanContext(desired, live, new Set(opts.replace ?? []));
  // Each pass reads the index and the decisions of the passes before it, and returns its own.
  const pc = planPoolsAndClusters(ctx);
  const fields = new SharedCreatedFields();
  const queues = planQueues(ctx, pc, opts.queuePass, fields);
  ctx.pools = finalPools(ctx, pc.pools, queues);
  ctx.clusters = pc.clusters;
  ctx.deletedClusters = pc.deletedClusters;
  ctx.movedClusters = pc.movedClusters;
  ctx.queues = queues;
  ctx.defaultQueues = planDefaultQueues(ctx, queues);
  const labels = planExecutionClusterLabels(ctx);
  const fa = planFlyteadmin(
    ctx,
    { labels: labels.labels, assignments: planAssignments(ctx, ctx.pools) },
    new Set([...(desired.config.accept_cascade ?? []), ...(opts.acceptCascade ?? [])]),
  );
  ctx.assignments = fa.assignments;
  ctx.labels = fa.labels;
  ctx.otherRows = fa.otherRows;
  ctx.warnings.push(...pc.warnings, ...labels.warnings, ...fa.warnings);
  ctx.errors.push(...pc.errors);
  checkReferences(ctx, new Set(opts.configOnlyPools ?? []));
  checkPreventDestroy(ctx);

  const changes: Change[] = [
    ...[...ctx.pools.values()].map((d) => d.change),
    ...[...ctx.clusters.values()].map((d) => d.change),
    ...[...ctx.queues.values()].map((d) => d.change),
    ...withOtherRows(ctx, 'PoolAssignment', [...ctx.assignments.values()]),
    ...[...ctx.defaultQueues.values()].map((d) => d.change),
    ...withOtherRows(ctx, 'ExecutionClusterLabel', [...ctx.labels.values()]),
  ];
  // One decision per object: causes first, so the warnings that name them say the same.
  assignCauses(ctx, changes);
  fields.shareAll(changes);
  queueWarnings(ctx);
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
    warnings: [...ctx.warnings].sort((a, b) =>
      order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0,
    ),
    errors: ctx.errors,
    capabilities: { ...live.capabilities },
    ...(ctx.pruneScope ? { prune_scope: ctx.pruneScope } : {}),
    ...inventoryField(desired, live),
  };
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

/** Plan errors: a desired or would-be-destroyed object annotated prevent-destroy (Terraform's prevent_destroy). */
function checkPreventDestroy(ctx: PlanContext): void {
  const check = (
    kind: 'ClusterPool' | 'Cluster' | 'PoolAssignment',
    name: string,
    change: Change,
    obj: Parameters<typeof preventsDestroy>[0] & { source: Parameters<typeof locationOf>[0] },
  ) => {
    if (!change.destructive || !preventsDestroy(obj)) return;
    const forcing = change.diff.filter((d) => d.forces_replacement);
    const addr = address(kind, name);
    ctx.errors.push(
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
        },
        locationOf(obj?.source),
      ),
    );
  };
  for (const [name, d] of ctx.pools) {
    const obj = ctx.dPools.get(name);
    if (obj) check('ClusterPool', name, d.change, obj);
  }
  for (const [name, d] of ctx.clusters) {
    const obj = ctx.dClusters.get(name);
    if (obj) check('Cluster', name, d.change, obj);
  }
  for (const [k, d] of ctx.assignments) {
    const obj = ctx.dAssignments.get(k);
    if (obj) check('PoolAssignment', k, d.change, obj);
  }
}

/**
 * Defence in depth behind validation (V2, V8): a desired object naming a pool that will
 * not exist would only fail at apply time; fail the plan instead.
 */
function checkReferences(ctx: PlanContext, configOnlyPools: ReadonlySet<string>): void {
  // A declared pool the plan cannot create (contract marked unknown) has its own error.
  const exists = (pool: string) =>
    configOnlyPools.has(pool) ||
    Boolean(ctx.pools.get(pool)?.finalContract) ||
    ctx.dPools.get(pool)?.contract === null;
  for (const c of ctx.desired.clusters) {
    if (!exists(c.pool)) {
      const cluster = address('Cluster', c.name);
      ctx.errors.push(
        planError(
          'UNKNOWN_POOL',
          cluster,
          { cluster, assignment: null, pool: c.pool },
          locationOf(c.source),
        ),
      );
    }
  }
  for (const a of ctx.desired.assignments) {
    if (!exists(a.pool)) {
      ctx.errors.push(
        planError(
          'UNKNOWN_POOL',
          address('PoolAssignment', assignmentKeyString(a)),
          { cluster: null, assignment: a.name, pool: a.pool },
          locationOf(a.source),
        ),
      );
    }
  }
}

export { PLAN_FORMAT_VERSION };
