/**
 * Stage plan (src/ops/plan-run.ts, shared with `poolsync plan` and pull-request comments): the
 * plan's summary, blocked changes, warnings and errors go to /status, and drift is counted. A
 * plan with errors ends the run.
 */
import { backendInfo, type ControlPlane } from '../../controlplane/types.js';
import type { DesiredState } from '../../model/desired.js';
import type { LiveState, SettingsNeed } from '../../model/live.js';
import { type Change, isActionable, type Plan } from '../../model/plan.js';
import { classify, planRun } from '../../ops/plan-run.js';
import { countPlan, heldByOtherRepository, type PlanCounts } from '../../plan/counts.js';
import { errorText } from '../../render/reasons.js';
import { warningDocument } from '../../render/json.js';
import { manualSteps } from '../../render/runbook.js';
import { deepFreeze } from '../../util/deep-freeze.js';
import { lastAppliedCommit, MANAGED_LISTED } from '../status.js';
import { declaredObjectsAt, managedObjects } from '../../plan/inventory.js';
import { liveStatusWords } from '../../render/live-status.js';
import { sameJson } from '../../util/same-json.js';
import { unnamedTargets } from '../../render/rendered-files.js';
import { freezeWords, lastAppliedPolicy, runWords } from '../../render/daemon-words.js';
import {
  adoptedOnly,
  countsText,
  earlierUnpruned,
  earlierUnprunedLine,
  earlierUnprunedWarning,
  EARLIER_UNPRUNED,
  heldForApproval,
  repositoryConflictLines,
  warningText,
} from '../../render/common.js';
import {
  type Outcome,
  reachedUpdate,
  unreachedUpdate,
  type RunContext,
  type RunMemory,
  type RunPolicy,
  type RunProducts,
  type Staged,
  type StatusUpdate,
} from './context.js';
import { splitHeld } from '../../plan/hold.js';
import {
  GUARD_RULES,
  guardrailHold,
  onlyHeldErrors,
  type GuardRule,
} from '../../plan/guardrails.js';
import { approvalFields, type ApprovalRecord, briefOf } from '../approvals.js';

export async function planStage(
  ctx: RunContext,
  cp: ControlPlane,
  desired: DesiredState,
  commit: string | null,
  /** The run plans the branch head's checkout: the last applied commit may be read beside it. */
  headCheckout = true,
): Promise<Staged<Plan>> {
  const { o } = ctx;
  ctx.enter('plan');
  let liveInventory: RunProducts['liveInventory'] = undefined;
  let live: LiveState | null = null;
  const readLive = (need: SettingsNeed, before?: LiveState) =>
    ctx.timed('live', async () => {
      live = await o.pipeline.readLiveState(cp, need, before);
      liveInventory = live.inventory;
      return live;
    });
  const outcome = await planRun({
    source: {
      kind: 'open',
      readLive,
      backend: backendInfo(cp),
      controlPlane: o.planControlPlane?.(),
    },
    desired: { kind: 'loaded', desired, plans: o.pipeline.plans },
    commit,
    environment: null,
    ...(o.pipeline.repository ? { repository: o.pipeline.repository } : {}),
    ...(o.pipeline.folder ? { folder: o.pipeline.folder } : {}),
    ...(o.pipeline.applier ? { applier: o.pipeline.applier } : {}),
  }).catch((error: unknown) => ({ kind: 'unreadable' as const, error }));
  // A run that could not plan (the live state unread, or the planner failed) is retried.
  if (outcome.kind === 'unreadable') {
    const { error } = outcome;
    const message = runWords.liveStateUnreadable(o.redactor.errorMessage(error));
    return {
      value: { result: 'failed', commit, message, transient: true },
      status: unreachedUpdate(cp.backend.name, error, message, ctx.now()),
      products: { liveInventory },
    };
  }
  const { plan } = outcome;
  const counts = countPlan(plan);
  let remember: Partial<RunMemory> = { controlPlaneAnswered: true, lastEvaluatedCommit: commit };
  // Only the first of these sets the control plane's fields.
  const status = {
    ...reachedUpdate(cp.backend.name, null, ctx.now()),
    ...shownOf(ctx, plan, counts),
  };
  // A destroy budget exceeded is held for approval by the gate, not a failed run (guardrails.ts).
  const value: Plan | Outcome =
    outcome.kind === 'errors' && !onlyHeldErrors(plan)
      ? {
          result: 'failed',
          commit,
          message: runWords.planErrors(plan.errors.length),
          planFailed: true,
        }
      : plan;
  let drift: Change[] = [];
  if (value === plan) {
    const found = await driftOf(ctx, plan, desired, commit, headCheckout);
    drift = found.drift;
    // Read from the history once: later runs measure from it until one converges again.
    const { converged } = found;
    if (converged !== ctx.memory.converged) remember = { ...remember, converged };
    remember = { ...remember, driftCounted: countDrift(ctx, drift) };
  }
  // As `poolsync plan` says them (render/cli-output.ts renderedFileChanges): the backend's kinds.
  const unnamedRender = unnamedTargets(desired, outcome.configKinds ?? []);
  return {
    value,
    status,
    products: { plan, counts, desired, live, liveInventory, drift, unnamedRender },
    remember,
  };
}

/**
 * /status `managed`, as `poolsync state list` shows it (of a run's last live state:
 * Reconciler.status), with `repository`, the one the run planned.
 */
export function managedUpdate(live: LiveState, repository: string | null): StatusUpdate {
  if (live.inventory === undefined) return {};
  const { objects, ...m } = managedObjects(live, MANAGED_LISTED);
  const words = liveStatusWords(live);
  return {
    managed: deepFreeze({
      ...m,
      repository,
      objects: objects.map((o) => ({
        address: o.address,
        status: o.live && words(o),
        ...(o.protection ? { protection: o.protection } : {}),
        ...(o.repository !== undefined ? { repository: o.repository } : {}),
      })),
    }),
  };
}

/** What /status shows of the plan, frozen (and the blocked changes' gauge). */
function shownOf(ctx: RunContext, plan: Plan, counts: PlanCounts): StatusUpdate {
  const { o } = ctx;
  const view = deepFreeze({
    counts,
    manualSteps: manualSteps(plan),
    blocked: plan.changes.filter((c) => c.action === 'blocked').map((c) => briefOf(c)),
    // Objects an earlier poolsync applied left unpruned: one each, every run, until settled.
    warnings: [
      ...plan.warnings.map((w) => warningDocument(w, true)),
      ...earlierUnpruned(plan).map((address) => ({
        code: EARLIER_UNPRUNED,
        address,
        message: earlierUnprunedWarning([address]),
      })),
    ],
    errors: plan.errors.map((e) => ({
      code: e.code,
      message: errorText(e),
      location: e.location ? ctx.repoRelative(e.location) : null,
      address: e.address,
    })),
  });
  o.metrics.blockedChanges.set(view.blocked.length);
  return { summary: { ...plan.summary }, ...view };
}

/**
 * Drift: a change whose object (and cause) the repository declares as it did when the control
 * plane last equalled it: the live object moved, not the repository. An edit held, approved or
 * failed to apply is never drift, in any source mode (a watched folder has no commit to tell by).
 */
async function driftOf(
  ctx: RunContext,
  plan: Plan,
  desired: DesiredState,
  commit: string | null,
  headCheckout: boolean,
): Promise<{ drift: Change[]; converged: DesiredState | null }> {
  const actionable = plan.changes.filter((c) => isActionable(c.action));
  if (actionable.length === 0) return { drift: [], converged: ctx.memory.converged };
  const converged = await convergedOf(ctx, desired, headCheckout);
  if (converged === null) return { drift: [], converged };
  // Only the objects these changes name (and their causes): proportional to the change.
  const named = actionable.flatMap((c) => (c.caused_by ? [c.address, c.caused_by] : [c.address]));
  const before = declaredObjectsAt(converged, named);
  const now = converged === desired ? before : declaredObjectsAt(desired, named);
  // poolsync.yaml changed (prune, manage, absent): what it now deletes is the repository's doing.
  const sameConfig = sameJson(converged.config, desired.config);
  const unmoved = (address: string): boolean => {
    const [a, b] = [before.get(address), now.get(address)];
    if (a === undefined || b === undefined) return a === b && sameConfig;
    return sameJson({ ...a, source: null }, { ...b, source: null });
  };
  // What another poolsync of this repository wrote is Git's doing too, said as its warning.
  const byAnother = new Map(
    plan.warnings
      .filter((w) => w.code === 'APPLIED_BY_ANOTHER_POOLSYNC')
      .map((w) => [w.address, w]),
  );
  const moved = actionable.filter(
    (c) => unmoved(c.address) && (!c.caused_by || unmoved(c.caused_by)),
  );
  for (const w of moved.flatMap((c) => byAnother.get(c.address) ?? []))
    ctx.o.logger.warn({ commit, address: w.address }, warningText(w));
  const drift = moved.filter((c) => !byAnother.has(c.address));
  if (drift.length > 0) {
    ctx.o.logger.warn(
      { commit, drift: drift.map((c) => `${c.action} ${c.address}`) },
      runWords.drift(drift.length),
    );
  }
  return { drift, converged };
}

/**
 * Counts the drift not counted by the run before (found again uncorrected, it is the same change
 * made outside Git) and returns what is counted now: a live object changed again counts again.
 */
function countDrift(ctx: RunContext, drift: readonly Change[]): readonly string[] {
  const counted = new Set(ctx.memory.driftCounted);
  const now = drift.map((c) => `${c.action} ${c.address} ${JSON.stringify(c.before)}`);
  ctx.o.metrics.driftDetected.inc(now.filter((key) => !counted.has(key)).length);
  ctx.o.metrics.driftObjects.set(drift.length);
  return now;
}

/**
 * What the control plane last equalled: the run memory's, else (the first run since a restart or
 * of a new leadership term) the commit the kept runs last applied or found in sync, so that run
 * measures drift as later runs do. A watched folder names no commit, and a run planning from the
 * checkout beside the branch's (a rollback, an invalid head's drift run) reads no other into it:
 * null, and no change is drift.
 */
async function convergedOf(
  ctx: RunContext,
  desired: DesiredState,
  headCheckout: boolean,
): Promise<DesiredState | null> {
  const { memory, o } = ctx;
  if (memory.converged !== null) return memory.converged;
  const commit = lastAppliedCommit(ctx.state.runs);
  if (commit === null || commit === desired.commit) return commit === null ? null : desired;
  if (!headCheckout || !o.source.at) return null;
  try {
    const at = await o.source.at(commit);
    const load = await o.pipeline.loadRepository(at.dir, { commit, root: at.root });
    if (load.valid) return load.desired;
    throw new Error(runWords.invalid(load.errors.length, commit));
  } catch (err) {
    o.logger.warn({ commit }, runWords.driftUnmeasured(commit, o.redactor.errorMessage(err)));
    return null;
  }
}

/**
 * Stage gate: `safe` applies the non-destructive part at once and holds the destructive changes
 * and what depends on them (src/plan/hold.ts) until a person approves exactly their fingerprint
 * (approvals.ts). `blocked` changes never stop the rest (plan.md).
 */
export interface GateDecision {
  /** The whole plan, or the part not held. */
  plan: Plan;
  /** The whole plan: what every place counts (issue 78: a held replace is 1 to replace). */
  whole: Plan;
  /** `whole`'s one count (the plan stage's). */
  counts: PlanCounts;
  /** What the control plane equals once `plan` is applied and nothing is held. */
  desired: DesiredState;
  held: Change[];
  heldFingerprint: string | null;
  /** The guardrails holding `held` whatever the policy (empty: the policy alone). */
  heldBy: readonly GuardRule[];
  /** The policy holding `held`, said when it is the last applied commit's (null: not said). */
  heldByPolicy: string | null;
  approval: ApprovalRecord | null;
  /** Why approvals of the held changes do not release them in this run (approvals.ts `take`). */
  unapproved: string[];
}

export async function gateStage(
  ctx: RunContext,
  planned: Plan,
  desired: DesiredState,
  commit: string | null,
  { policy, lastApplied }: RunPolicy,
  counts = countPlan(planned),
): Promise<Staged<GateDecision>> {
  const { o } = ctx;
  const policyText = `policy ${policy}${lastAppliedPolicy(lastApplied)}`;
  // Guardrails (docs/daemon.md, Guardrails): a budget exceeded or a confirm-destroy mark holds
  // the destructive changes for a person under every policy, as `safe` does (its errors only:
  // the same changes and steps, the same counts).
  const { rules, plan } = guardrailHold(planned);
  // Cleared only where nothing is held: holding the same changes again keeps their `since`.
  const nothingHeld = () => holding(ctx, [], null, commit, []);
  if (classify(plan) === 'no_changes') {
    // Another repository's record holds changes back: the commit is not applied, never in sync.
    const held = heldByOtherRepository(plan);
    if (held.length > 0) {
      const message = runWords.heldByOtherRepository(held, repositoryConflictLines(plan));
      return { value: { result: 'failed', commit, message }, status: nothingHeld() };
    }
    const blocked = plan.summary.blocked > 0 ? ` (${plan.summary.blocked} blocked)` : '';
    // What the run records (adoptions) and what it leaves (objects an earlier build applied, not
    // pruned): said as the CLI says them, never a bare "in sync".
    const adopted = adoptedOnly(plan);
    const unpruned = earlierUnprunedLine(plan);
    const message =
      unpruned === null
        ? `in sync${blocked}${adopted === null ? '' : `: ${adopted}`}`
        : `${adopted ?? 'nothing to send'}${blocked}; the control plane does not match the repository. ${unpruned}`;
    return {
      value: { result: unpruned === null ? 'in_sync' : 'left_unpruned', commit, message },
      status: { ...nothingHeld(), appliedCommit: commit },
      remember: { converged: desired },
    };
  }
  if (policy === 'none') {
    const message = `${policyText}: planned only: ${countsText(counts)}`;
    return { value: { result: 'planned', commit, message }, status: nothingHeld() };
  }
  const frozen = ctx.reasons.has('override') ? null : (o.freeze?.why() ?? null);
  const whole = {
    plan,
    whole: plan,
    counts,
    desired,
    held: [],
    heldFingerprint: null,
    heldBy: [],
    heldByPolicy: null,
    approval: null,
    unapproved: [],
  };
  const guarded = rules.length > 0;
  if (policy === 'all' && frozen === null && !guarded)
    return { value: whole, status: nothingHeld() };
  const split = policy === 'safe' || guarded ? splitHeld(plan) : null;
  const fingerprint = split?.fingerprint ?? null;
  if (frozen !== null) {
    // Nothing applied; what policy safe holds is held still, so it can be approved meanwhile.
    const once = o.config.once ? { windowsOpenAt: o.freeze?.windowsOpenAt?.() } : undefined;
    const message = freezeWords.frozen(frozen, countsText(counts), once);
    const status =
      fingerprint === null ? nothingHeld() : holding(ctx, split!.held, fingerprint, commit, rules);
    return { value: { result: 'frozen', commit, message }, status };
  }
  if (split === null || fingerprint === null) return { value: whole, status: nothingHeld() };
  // An approval by comment is of its pull request merged: this commit must contain it.
  const contains = (ancestor: string) =>
    commit !== null && o.source.contains
      ? o.source.contains(ancestor, commit)
      : Promise.resolve(false);
  const { approval, why } = await o.approvals.take(fingerprint, commit, contains);
  if (approval) {
    const applying = `approved by ${approval.approver}: applying the held changes`;
    o.logger.info(approvalFields(approval), applying);
    // The plan's errors here are the budget's alone (onlyHeldErrors), which the approval lifts.
    const status = { ...nothingHeld(), errors: [] };
    return { value: { ...whole, heldFingerprint: fingerprint, approval }, status };
  }
  const status = holding(ctx, split.held, fingerprint, commit, rules);
  // A comment approves only where the daemon hears pull requests (a followed branch, webhooks).
  const { source, githubWebhookSecret, gitlabWebhookToken } = o.config;
  const comments = source.kind === 'git' && (githubWebhookSecret ?? gitlabWebhookToken) !== null;
  const by = guarded ? runWords.heldByGuardrails(rules) : policyText;
  const unapproved = why.map((w) => `; ${w}`).join('');
  const heldText = `${by}: ${heldForApproval(split.held, fingerprint)} with \`poolsync approve\`${comments ? ' or a `poolsync apply` comment on the pull request' : ''}${unapproved}`;
  if (classify(split.now) === 'no_changes') {
    const message = `${heldText}; nothing else to apply`;
    const heldFingerprint = fingerprint;
    return { value: { result: 'waiting_for_approval', commit, message, heldFingerprint }, status };
  }
  const value = {
    ...whole,
    plan: split.now,
    held: split.held,
    heldFingerprint: fingerprint,
    heldBy: rules,
    heldByPolicy: lastApplied === null ? null : policyText,
    unapproved: why,
  };
  return { value, status };
}

/** The changes held for approval: the approvals' pending record, the gauge, and /status. */
function holding(
  ctx: RunContext,
  held: Change[],
  fingerprint: string | null,
  commit: string | null,
  rules: readonly GuardRule[],
): StatusUpdate {
  const { o } = ctx;
  const changes = held.map((c) => briefOf(c, true));
  o.metrics.waitingForApproval.set(held.length);
  for (const rule of GUARD_RULES)
    o.metrics.guardrailHeld.set({ rule }, rules.includes(rule) ? held.length : 0);
  o.approvals.hold(fingerprint === null ? null : { fingerprint, commit, changes });
  return { waitingForApproval: changes, heldBy: held.length > 0 ? [...rules] : [] };
}
