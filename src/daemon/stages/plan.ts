/**
 * Stage plan: read the live state and plan the desired state against it (src/ops/plan-run.ts,
 * shared with `poolsync plan` and pull-request comments), then publish the plan's summary,
 * blocked changes, warnings and errors to /status and count drift: changes found although the
 * repository has not moved since it was last applied. A plan with errors ends the run.
 */
import { backendInfo, type ControlPlane } from '../../controlplane/types.js';
import type { DesiredState } from '../../model/desired.js';
import type { SettingsNeed } from '../../model/live.js';
import { isActionable, type Change, type Plan } from '../../model/plan.js';
import { planRun } from '../../ops/plan-run.js';
import { countPlan } from '../../plan/counts.js';
import { errorText } from '../../render/reasons.js';
import { warningDocument } from '../../render/json.js';
import { manualSteps } from '../../render/runbook.js';
import { deepFreeze } from '../../util/deep-freeze.js';
import { MANAGED_LISTED } from '../status.js';
import type { LiveState } from '../../model/live.js';
import { managedObjects } from '../../plan/inventory.js';
import { briefOf } from './gate.js';
import { runWords } from '../../render/daemon-words.js';
import { plural } from '../../render/index.js';
import { errorCode, type RunContext, type RunProducts, type Staged } from './context.js';
import { mergeUpdates, problemsUpdate, reachedUpdate, type StatusUpdate } from './status-update.js';

export async function planStage(
  ctx: RunContext,
  cp: ControlPlane,
  desired: DesiredState,
  commit: string | null,
): Promise<Staged<Plan>> {
  const { o } = ctx;
  ctx.enter('plan');
  let liveInventory: RunProducts['liveInventory'] = undefined;
  let live: LiveState | null = null;
  const readLive = (need: SettingsNeed) =>
    ctx.timed('live', async () => {
      live = await o.pipeline.readLiveState(cp, need);
      liveInventory = live.inventory;
      return live;
    });
  const controlPlane = o.planControlPlane?.();
  const outcome = await planRun({
    source: {
      kind: 'open',
      readLive,
      backend: backendInfo(cp),
      ...(controlPlane ? { controlPlane } : {}),
    },
    desired: { kind: 'loaded', desired, plans: o.pipeline.plans },
    commit,
    environment: null,
  }).catch((error: unknown) => ({ kind: 'unreadable' as const, error }));
  // A run that could not plan (the live state unread, or the planner failed) is retried.
  if (outcome.kind === 'unreadable')
    return { ...unreadable(ctx, cp, outcome.error, commit), products: { liveInventory } };
  const { plan } = outcome;
  const remember = { controlPlaneAnswered: true, lastEvaluatedCommit: commit };
  const status = mergeUpdates(
    reachedUpdate(cp.backend.name, null, ctx.now()),
    shownOf(ctx, plan),
    managedOf(live),
  );
  if (outcome.kind === 'errors') {
    const message = runWords.planErrors(plan.errors.length);
    return {
      value: { result: 'failed', commit, message },
      status,
      products: { plan, liveInventory },
      remember,
    };
  }
  const drift = driftOf(ctx, plan, commit);
  return { value: plan, status, products: { plan, liveInventory, drift }, remember };
}

/** /status `managed` of a plan's live state. */
function managedOf(live: LiveState | null): StatusUpdate {
  return live === null ? {} : managedUpdate(live);
}

/** /status `managed`: the inventory with live status, as `poolsync state list` shows it. */
export function managedUpdate(live: LiveState): StatusUpdate {
  if (live.inventory === undefined) return {};
  const { objects, ...m } = managedObjects(live, MANAGED_LISTED);
  return {
    managed: deepFreeze({
      ...m,
      objects: objects.map(({ address, status }) => ({ address, status })),
    }),
  };
}

function unreadable(
  ctx: RunContext,
  cp: ControlPlane,
  err: unknown,
  commit: string | null,
): Staged<Plan> {
  const message = runWords.liveStateUnreadable(ctx.o.redactor.errorMessage(err));
  const status = mergeUpdates(
    reachedUpdate(cp.backend.name, message, ctx.now()),
    problemsUpdate([
      { code: errorCode(err, 'CONTROL_PLANE'), message, location: null, address: null },
    ]),
  );
  return { value: { result: 'failed', commit, message, transient: true }, status };
}

/** What /status shows of the plan, frozen (and the blocked changes' gauge). */
function shownOf(ctx: RunContext, plan: Plan): StatusUpdate {
  const { o } = ctx;
  const view = deepFreeze({
    counts: countPlan(plan),
    manualSteps: manualSteps(plan),
    blocked: plan.changes.filter((c) => c.action === 'blocked').map(briefOf),
    warnings: plan.warnings.map((w) => warningDocument(w, true)),
    errors: plan.errors.map((e) => ({
      code: e.code,
      message: errorText(e),
      location: e.location ? ctx.repoRelative(e.location) : null,
      address: e.address,
    })),
  });
  o.metrics.blockedChanges.set(view.blocked.length);
  return {
    summary: { ...plan.summary },
    counts: view.counts,
    blocked: view.blocked,
    warnings: view.warnings,
    manualSteps: view.manualSteps,
    errors: view.errors,
  };
}

/** The changes found although the repository has not moved since it was applied, counted and logged. */
function driftOf(ctx: RunContext, plan: Plan, commit: string | null): Change[] {
  const actionable = plan.changes.filter((c) => isActionable(c.action));
  // A folder on disk has no commit: it moved when the watcher (or startup) says so.
  const repoMoved =
    commit === null
      ? ctx.reasons.has('watch') || ctx.reasons.has('startup')
      : commit !== ctx.state.appliedCommit;
  if (actionable.length === 0 || !ctx.memory.converged || repoMoved) return [];
  ctx.o.metrics.driftDetected.inc(actionable.length);
  ctx.o.logger.warn(
    { commit, drift: actionable.map((c) => `${c.action} ${c.address}`) },
    `drift: ${plural(actionable.length, 'object')} differ from the repository`,
  );
  return actionable;
}
