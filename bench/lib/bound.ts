/**
 * The lower bound the step graph sets on an apply (quality.md): with parallelism P and a
 * per-call latency L, no executor can finish N steps faster than
 * max(critical path, ceil(N / P)) × L.
 */
import type { Step } from '../../src/model/plan.js';

export interface StepGraphShape {
  steps: number;
  /** Steps on the longest dependency chain. */
  criticalPath: number;
}

export function stepGraphShape(steps: readonly Step[]): StepGraphShape {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const depth = new Map<string, number>();
  // Iterative DFS: chains can be thousands long, deeper than the call stack allows.
  const chainLength = (root: string): number => {
    const stack: Array<{ id: string; expanded: boolean }> = [{ id: root, expanded: false }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (depth.has(top.id)) {
        stack.pop();
        continue;
      }
      const deps = byId.get(top.id)?.depends_on ?? [];
      if (!top.expanded) {
        top.expanded = true;
        for (const d of deps)
          if (!depth.has(d) && byId.has(d)) stack.push({ id: d, expanded: false });
        continue;
      }
      depth.set(top.id, 1 + Math.max(0, ...deps.map((d) => depth.get(d) ?? 0)));
      stack.pop();
    }
    return depth.get(root)!;
  };
  let criticalPath = 0;
  for (const s of steps) criticalPath = Math.max(criticalPath, chainLength(s.id));
  return { steps: steps.length, criticalPath };
}

export function applyBoundMs(
  shape: StepGraphShape,
  parallelism: number,
  latencyMs: number,
): number {
  return Math.max(shape.criticalPath, Math.ceil(shape.steps / parallelism)) * latencyMs;
}
