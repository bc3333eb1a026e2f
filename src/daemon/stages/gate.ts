/**
 * Stage gate: decide what of a plan to apply under the policy. `none` applies nothing; `all`
 * everything; `safe` applies the non-destructive part at once and holds the destructive
 * changes and what depends on them (src/plan/hold.ts) until a person approves exactly their
 * fingerprint (approvals.ts). `blocked` changes never stop the rest (plan.md).
 */
import type { Change, Plan } from '../../model/plan.js';
import { classify } from '../../ops/plan-run.js';
import { splitHeld } from '../../plan/hold.js';
import { countsText, heldForApproval, whyText } from '../../render/index.js';
import type { ApprovalRecord } from '../approvals.js';
import type { ChangeBrief } from '../status.js';
import type { RunContext, Staged } from './context.js';
import type { StatusUpdate } from './status-update.js';
import { countPlan } from '../../plan/counts.js';

export interface GateDecision {
  /** What to apply now (the whole plan, or the part not held). */
  plan: Plan;
  held: Change[];
  heldFingerprint: string | null;
  approval: ApprovalRecord | null;
}

export function briefOf(c: Change): ChangeBrief {
  // The reason in the catalog's words (src/render/reasons.ts), as every other renderer says it.
  return { address: c.address, action: c.action, reason: whyText(c) };
}

export function gateStage(
  ctx: RunContext,
  plan: Plan,
  commit: string | null,
): Staged<GateDecision> {
  const { o } = ctx;
  if (classify(plan) === 'no_changes') {
    const blocked = plan.summary.blocked > 0 ? ` (${plan.summary.blocked} blocked)` : '';
    return {
      value: { result: 'in_sync', commit, message: `in sync${blocked}` },
      status: { ...holding(ctx, [], null, commit), appliedCommit: commit },
      remember: { converged: true },
    };
  }
  const nothingHeld = holding(ctx, [], null, commit);
  if (o.config.policy === 'none') {
    const message = `policy none: planned only: ${countsText(countPlan(plan))}`;
    return { value: { result: 'planned', commit, message }, status: nothingHeld };
  }
  const whole = { plan, held: [], heldFingerprint: null, approval: null };
  if (o.config.policy === 'all') return { value: whole, status: nothingHeld };
  const split = splitHeld(plan);
  if (split.fingerprint === null) return { value: whole, status: nothingHeld };
  return safeGate(ctx, plan, { ...split, fingerprint: split.fingerprint }, commit);
}

/** Policy `safe` with a destructive part: applied when approved, else held. */
function safeGate(
  ctx: RunContext,
  plan: Plan,
  split: ReturnType<typeof splitHeld> & { fingerprint: string },
  commit: string | null,
): Staged<GateDecision> {
  const { o } = ctx;
  const approval = o.approvals.take(split.fingerprint, commit);
  if (approval) {
    const status = holding(ctx, [], null, commit);
    o.logger.info(
      {
        fingerprint: approval.fingerprint,
        approver: approval.approver,
        via: approval.via,
        source: approval.source,
      },
      `approved by ${approval.approver}: applying the held changes`,
    );
    return { value: { plan, held: [], heldFingerprint: split.fingerprint, approval }, status };
  }
  const status = holding(ctx, split.held, split.fingerprint, commit);
  const heldText = `policy safe: ${heldForApproval(split.held, split.fingerprint)} with \`poolsync approve\` or a \`poolsync apply\` comment on the pull request`;
  if (classify(split.now) === 'no_changes') {
    const message = `${heldText}; nothing else to apply`;
    return { value: { result: 'waiting_for_approval', commit, message }, status };
  }
  return {
    value: {
      plan: split.now,
      held: split.held,
      heldFingerprint: split.fingerprint,
      approval: null,
    },
    status,
  };
}

/** The changes held for approval: the approvals' pending record, the gauge, and /status. */
function holding(
  ctx: RunContext,
  held: Change[],
  fingerprint: string | null,
  commit: string | null,
): StatusUpdate {
  const { o } = ctx;
  o.metrics.waitingForApproval.set(held.length);
  o.approvals.hold(
    fingerprint === null ? null : { fingerprint, commit, changes: held.map(briefOf) },
  );
  return { waitingForApproval: held.map(briefOf) };
}
