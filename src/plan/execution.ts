/**
 * Which steps a person runs (plan.md, "Manual steps"): the backend names, step by step, the
 * command to run where it has no public API. Pure: the pipeline passes the backend's
 * `manualStep`, the planner itself never sees a backend.
 */
import type { ManualInstruction, Plan, Step } from '../model/plan.js';

export type ManualStepFn = (step: Step) => ManualInstruction | null;

/** The plan with every step's `execution` set: `manual` (+ `manual`) where the backend says so. */
export function withExecution(plan: Plan, manualStep: ManualStepFn | undefined): Plan {
  if (!manualStep) {
    if (plan.steps.every((s) => s.execution !== undefined)) return plan;
    return { ...plan, steps: plan.steps.map((s) => ({ ...s, execution: s.execution ?? 'api' })) };
  }
  return {
    ...plan,
    steps: plan.steps.map((s): Step => {
      const { manual: _drop, ...step } = s;
      const manual = manualStep(step);
      return manual ? { ...step, execution: 'manual', manual } : { ...step, execution: 'api' };
    }),
  };
}

export function isManual(step: Step): boolean {
  return step.execution === 'manual';
}

/**
 * For each step that cannot run before a person acts: the id of the first manual step it
 * (transitively) depends on. Manual steps themselves are not in the map. Steps are in
 * topological order, so one pass suffices.
 */
export function waitingOnManual(steps: readonly Step[]): Map<string, string> {
  const blockedBy = new Map<string, string>();
  const manual = new Set(steps.filter(isManual).map((s) => s.id));
  for (const s of steps) {
    for (const dep of s.depends_on) {
      const by = manual.has(dep) ? dep : blockedBy.get(dep);
      if (by !== undefined && !manual.has(s.id)) {
        blockedBy.set(s.id, by);
        break;
      }
    }
  }
  return blockedBy;
}
