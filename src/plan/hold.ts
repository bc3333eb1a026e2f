/**
 * Policy `safe` (docs/daemon.md, Approvals): a plan split into the part that applies at once and
 * the part held for approval: destructive changes and everything that depends on them. The
 * daemon's gate and the pull-request comment both use it, so a reviewer approves the fingerprint
 * the daemon compares.
 */
import { isActionable, type Change, type Plan, type Step } from '../model/plan.js';
import { summarizeChanges, sha256 } from './forms.js';

const DRAINING_OPS = new Set<string>(['drain_queue', 'wait_drained', 'delete_queue']);

/** What `safe` holds: destructive changes, and those the plan could not verify (unverified). */
function holdsForSafe(change: Change): boolean {
  const { destructive, action, unverified } = change;
  return destructive || action === 'replace' || action === 'delete' || Boolean(unverified);
}

interface HeldSplit {
  /** The plan less the held steps and changes: applied at once. */
  now: Plan;
  /** Actionable changes held for approval (plan order). */
  held: Change[];
  /** The held steps (plan order). */
  heldSteps: Step[];
  /** `sha256:…` of exactly the held changes; null when nothing is held. */
  fingerprint: string | null;
}

/**
 * Where `safe`'s hold starts, what a reviewer must see first (the pull-request comment): deletes,
 * replaces, unverified changes, and the queues drained or deleted by capability steps (`drained`).
 */
export function destructiveChanges(
  plan: Pick<Plan, 'changes' | 'steps'>,
): { change: Change; drained: boolean }[] {
  // Drains and queue deletes (capabilities drain, queue_delete) are destructive too.
  const drained = new Set(plan.steps.filter((s) => DRAINING_OPS.has(s.op)).map((s) => s.target));
  return plan.changes
    .filter((c) => isActionable(c.action) && (holdsForSafe(c) || drained.has(c.address)))
    .map((change) => ({ change, drained: drained.has(change.address) }));
}

export function splitHeld(plan: Plan): HeldSplit {
  const actionable = plan.changes.filter((c) => isActionable(c.action));
  const heldAddresses = new Set(destructiveChanges(plan).map((d) => d.change.address));
  // A drain's steps, and what waits on them (a cluster moved in place), are held too.
  for (const s of plan.steps) if (DRAINING_OPS.has(s.op)) heldAddresses.add(s.target);
  if (heldAddresses.size === 0) return { now: plan, held: [], heldSteps: [], fingerprint: null };

  // Close over the step graph: a step on a held object, or after a held step, is held.
  const heldIds = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of plan.steps) {
      if (heldIds.has(s.id)) continue;
      if (heldAddresses.has(s.target) || s.depends_on.some((d) => heldIds.has(d))) {
        heldIds.add(s.id);
        heldAddresses.add(s.target);
        grew = true;
      }
    }
    for (const c of actionable) {
      if (!heldAddresses.has(c.address) && c.caused_by && heldAddresses.has(c.caused_by)) {
        heldAddresses.add(c.address);
        grew = true;
      }
    }
  }
  const held = actionable.filter((c) => heldAddresses.has(c.address));
  const nowChanges = plan.changes.filter(
    (c) => !(isActionable(c.action) && heldAddresses.has(c.address)),
  );
  return {
    now: {
      ...plan,
      changes: nowChanges,
      steps: plan.steps.filter((s) => !heldIds.has(s.id)),
      summary: summarizeChanges(nowChanges),
    },
    held,
    heldSteps: plan.steps.filter((s) => heldIds.has(s.id)),
    fingerprint: heldFingerprint(held),
  };
}

/**
 * Of exactly the held changes: an approval is for these. Not of the commit, so a plan approved
 * on a pull request matches the same changes planned from the merge commit.
 */
export function heldFingerprint(held: readonly Change[]): string {
  const rows = held
    .map((c) => [c.address, c.action, c.before, c.after] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return sha256(JSON.stringify(['held/1', rows]));
}
