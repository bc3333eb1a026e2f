/**
 * Stage gate: decide what of a plan to apply under the policy. `none` applies nothing; `all`
 * everything; `safe` applies the non-destructive part at once and holds the destructive
 * changes and what depends on them (src/plan/hold.ts) until a person approves exactly their
 * fingerprint (approvals.ts). `blocked` changes never stop the rest (plan.md).
 */
import { isActionable, type Change, type Plan } from '../../model/plan.js';
import { splitHeld } from '../../plan/hold.js';
import type { ApprovalRecord } from '../approvals.js';
import type { ChangeBrief } from '../status.js';
import type { Outcome, RunContext } from './context.js';
import { countsText } from '../../render/index.js';
import { countPlan } from '../../plan/counts.js';
import { whyText } from '../../plan/reasons.js';

export interface GateDecision {
  /** What to apply now (the whole plan, or the part not held). */
  plan: Plan;
  held: Change[];
  heldFingerprint: string | null;
  approval: ApprovalRecord | null;
}

export function briefOf(c: Change): ChangeBrief {
  // The reason in the planner's words (src/plan/reasons.ts), as every other renderer says it.
  return { address: c.address, action: c.action, reason: whyText(c) };
}

export function gateStage(
  ctx: RunContext,
  plan: Plan,
  commit: string | null,
): GateDecision | Outcome {
  const { o, memory } = ctx;
  const setHeld = (held: Change[], fingerprint: string | null) => {
    ctx.update({ waitingForApproval: held.map(briefOf) });
    o.metrics.waitingForApproval.set(held.length);
    o.approvals.hold(
      fingerprint === null ? null : { fingerprint, commit, changes: held.map(briefOf) },
    );
  };
  const actionable = plan.changes.filter((c) => isActionable(c.action));
  if (actionable.length === 0) {
    setHeld([], null);
    ctx.update({ appliedCommit: commit });
    memory.converged = true;
    const blocked = plan.summary.blocked > 0 ? ` (${plan.summary.blocked} blocked)` : '';
    return { result: 'in_sync', commit, message: `in sync${blocked}` };
  }
  if (o.policy === 'none') {
    setHeld([], null);
    return {
      result: 'planned',
      commit,
      message: `policy none: planned only: ${countsText(countPlan(plan))}`,
    };
  }
  if (o.policy === 'all') {
    setHeld([], null);
    return { plan, held: [], heldFingerprint: null, approval: null };
  }
  const split = splitHeld(plan);
  if (split.fingerprint === null) {
    setHeld([], null);
    return { plan, held: [], heldFingerprint: null, approval: null };
  }
  const approval = o.approvals.take(split.fingerprint, commit);
  if (approval) {
    setHeld([], null);
    o.logger.info(
      {
        fingerprint: approval.fingerprint,
        approver: approval.approver,
        via: approval.via,
        source: approval.source,
      },
      `approved by ${approval.approver}: applying the held changes`,
    );
    return { plan, held: [], heldFingerprint: split.fingerprint, approval };
  }
  setHeld(split.held, split.fingerprint);
  const heldText = `policy safe: ${split.held.length} change${split.held.length === 1 ? '' : 's'} held for approval (${split.held
    .map((c) => `${c.action} ${c.address}`)
    .join(
      ', ',
    )}); approve ${split.fingerprint} with \`poolsync approve\` or a \`poolsync apply\` comment on the pull request`;
  if (!split.now.changes.some((c) => isActionable(c.action))) {
    return {
      result: 'waiting_for_approval',
      commit,
      message: `${heldText}; nothing else to apply`,
    };
  }
  return { plan: split.now, held: split.held, heldFingerprint: split.fingerprint, approval: null };
}

/** The message of a run that applied the rest of a plan and holds its destructive part. */
export function heldMessage(held: Change[], fingerprint: string): string {
  return `${held.length} change${held.length === 1 ? '' : 's'} held for approval (${held
    .map((c) => `${c.action} ${c.address}`)
    .join(', ')}); approve ${fingerprint}`;
}
