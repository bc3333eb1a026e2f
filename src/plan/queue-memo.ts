/**
 * The queue pass planned again for the queues that changed only. Queues are most of an
 * organisation (70% of its objects) and most of the planner's time; after a one-line commit
 * a long-running process (the daemon) plans 7,000 queues of which one changed.
 *
 * A queue's decision is a function of its own desired and live objects and of the frame: the
 * facts about everything else that the queue pass reads (queues.ts and the modules it calls:
 * queue-decision, queue-move, conamed-cascade, queue-fields) — prune (its scope, and the queues
 * of the inventory),
 * capabilities, default-queue settings, every pool's and cluster's decision (action, registration, delete,
 * move, where it ends up), the desired clusters' pools, the live clusters' names, the clusters
 * leaving, the queues drained for them and the first registration (C3). When the frame is
 * the same as in the last pass, a queue whose desired and live objects are the very same
 * frozen objects as then (desired.ts, list-views.ts) gets the decision it got then. Anything
 * else is planned as usual. The decisions kept are frozen: they are shared by two plans.
 *
 * Only states of frozen objects take part: another caller's plain objects could have been
 * changed in place, so their identity says nothing.
 */
import type { DesiredQueue } from '../model/desired.js';
import type { LiveQueue } from '../model/live.js';
import { deepFreeze } from '../util/deep-freeze.js';
import type { PlanContext, QueueDecision } from './context.js';

interface Kept {
  desired: DesiredQueue | undefined;
  live: LiveQueue | undefined;
  decision: QueueDecision | null;
}

let last: { frame: string; queues: Map<string, Kept> } | null = null;
const stats = { reused: 0, planned: 0 };

/**
 * Sets each name's decision in `ctx.queues` (none when `plan` gives null): the last pass's
 * where nothing it depends on changed, else `plan(name)`.
 */
export function planEachQueue(
  ctx: PlanContext,
  names: readonly string[],
  drainedBy: ReadonlyMap<string, readonly string[]>,
  firstRegistration: string | null,
  plan: (name: string) => QueueDecision | null,
): void {
  const memo = queueMemo(ctx, drainedBy, firstRegistration);
  for (const name of names) {
    let decision = memo?.reuse(name);
    if (decision === undefined) {
      decision = plan(name);
      memo?.remember(name, decision);
    }
    if (decision) ctx.queues.set(name, decision);
  }
  memo?.finish();
}

interface QueueMemo {
  /** The decision of the last pass (null: none), or undefined when `name` must be planned. */
  reuse(name: string): QueueDecision | null | undefined;
  /** A decision planned in this pass. */
  remember(name: string, decision: QueueDecision | null): void;
  /** The pass is over: its decisions are the ones the next pass may reuse. */
  finish(): void;
}

function queueMemo(
  ctx: PlanContext,
  drainedBy: ReadonlyMap<string, readonly string[]>,
  firstRegistration: string | null,
): QueueMemo | null {
  const frozen = (list: readonly object[]) => list.length === 0 || Object.isFrozen(list[0]);
  if (!frozen(ctx.desired.queues) || !frozen(ctx.live.queues)) return null;
  const frame = frameOf(ctx, drainedBy, firstRegistration);
  const previous = last?.frame === frame ? last.queues : null;
  const queues = new Map<string, Kept>();
  const own = (name: string) => ({
    desired: ctx.dQueues.get(name),
    live: ctx.lQueues.get(name),
  });
  const same = (o: object | undefined) => o === undefined || Object.isFrozen(o);
  return {
    reuse(name) {
      const kept = previous?.get(name);
      if (kept === undefined) return undefined;
      const { desired, live } = own(name);
      if (kept.desired !== desired || kept.live !== live || !same(desired) || !same(live))
        return undefined;
      queues.set(name, kept);
      stats.reused++;
      return kept.decision;
    },
    remember(name, decision) {
      queues.set(name, { ...own(name), decision: deepFreeze(decision) });
      stats.planned++;
    },
    finish() {
      last = { frame, queues };
    },
  };
}

/** Everything but a queue's own objects that the queue pass reads (see the header). */
function frameOf(
  ctx: PlanContext,
  drainedBy: ReadonlyMap<string, readonly string[]>,
  firstRegistration: string | null,
): string {
  const clusters: unknown[] = [];
  for (const [name, d] of ctx.clusters)
    clusters.push([
      name,
      d.change.action,
      d.registers,
      d.deletes,
      d.moves ?? false,
      d.final,
      d.undeletes ?? null,
    ]);
  const pools: unknown[] = [];
  for (const [name, d] of ctx.pools)
    pools.push([name, d.finalContract !== null, d.undeletes ?? false]);
  const desiredClusters: unknown[] = [];
  for (const [name, c] of ctx.dClusters) desiredClusters.push([name, c.pool]);
  return JSON.stringify([
    ctx.pruneScope ?? null,
    ctx.absentDefault,
    [...ctx.lDeletedQueues.keys()],
    inventoryQueues(ctx),
    ctx.caps,
    [...ctx.settingQueues],
    clusters,
    pools,
    desiredClusters,
    [...ctx.lClusters.keys()],
    [...ctx.deletedClusters],
    [...ctx.movedClusters],
    [...drainedBy],
    firstRegistration,
  ]);
}

/** Queues reused and planned since the process started (tests, benchmarks). */
export function queueMemoStats(): { reused: number; planned: number } {
  return { ...stats };
}

/** The queues the inventory lists, as one string (a change to them plans every queue again). */
function inventoryQueues(ctx: PlanContext): string | null {
  if (ctx.inventory === null) return null;
  const out: string[] = [];
  for (const a of ctx.inventory) if (a.startsWith('Queue/')) out.push(a);
  return out.join('\n');
}
