/** The executor's refusals of a plan it cannot execute safely (executor.ts). */
import { PLAN_FORMAT_VERSION, type Plan } from '../model/plan.js';
import { ApplyRefusedError } from './types.js';

/** Refuses what cannot be executed safely: plan errors, another format, a malformed graph. */
export function checkPlan(plan: Plan): void {
  if (plan.format_version !== PLAN_FORMAT_VERSION) {
    throw new ApplyRefusedError(
      `plan format_version ${JSON.stringify(plan.format_version)} is not supported (expected "${PLAN_FORMAT_VERSION}")`,
    );
  }
  if (plan.errors.length > 0) {
    const first = plan.errors
      .slice(0, 5)
      // A plan file's errors carry their words; a plan made in this process never gets here
      // with errors (ops refuses it first), so its codes say enough.
      .map(
        (e) =>
          `  ${[e.location ?? e.address, e.code].filter(Boolean).join(' ')}${e.message ? `: ${e.message}` : ''}`,
      )
      .join('\n');
    const more = plan.errors.length > 5 ? `\n  … and ${plan.errors.length - 5} more` : '';
    throw new ApplyRefusedError(
      `the plan has ${plan.errors.length} error(s); nothing was applied. Fix them and plan again:\n${first}${more}`,
    );
  }
  const ids = new Set<string>();
  for (const step of plan.steps) {
    if (ids.has(step.id))
      throw new ApplyRefusedError(`the plan's step graph repeats step id ${step.id}`);
    ids.add(step.id);
  }
  for (const step of plan.steps) {
    for (const dep of step.depends_on) {
      if (!ids.has(dep))
        throw new ApplyRefusedError(`step ${step.id} depends on unknown step ${dep}`);
    }
  }
  // A cycle would leave steps waiting forever: every step must be reachable by Kahn's order.
  const indegree = new Map(plan.steps.map((s) => [s.id, new Set(s.depends_on).size]));
  const dependents = new Map<string, string[]>();
  for (const s of plan.steps) {
    for (const d of new Set(s.depends_on)) {
      const list = dependents.get(d);
      if (list) list.push(s.id);
      else dependents.set(d, [s.id]);
    }
  }
  const queue = plan.steps.filter((s) => indegree.get(s.id) === 0).map((s) => s.id);
  let seen = 0;
  while (queue.length > 0) {
    const id = queue.pop()!;
    seen++;
    for (const n of dependents.get(id) ?? []) {
      const left = indegree.get(n)! - 1;
      indegree.set(n, left);
      if (left === 0) queue.push(n);
    }
  }
  if (seen !== plan.steps.length) {
    const stuck = [...indegree].filter(([, n]) => n > 0).map(([id]) => id);
    throw new ApplyRefusedError(
      `the plan's step graph has a cycle through ${stuck.slice(0, 10).join(', ')}`,
    );
  }
}
