import { expect } from 'vitest';
import type { Change, Plan, Step, StepKind } from '../../src/model/plan.js';
import { STEP_OPS } from '../../src/plan/graph.js';
import { unaccountedStep } from '../../src/plan/steps.js';

/**
 * Every op the planner can emit, in one list (STEP_OPS is a record over StepKind): saved-plan
 * readers accept exactly these, and test/apply/planfile-ops.test.ts walks them all.
 */
export const STEP_KINDS = Object.keys(STEP_OPS) as StepKind[];

export function change(plan: Plan, address: string): Change {
  const c = plan.changes.find((x) => x.address === address);
  if (!c)
    throw new Error(
      `no change for ${address}; have ${plan.changes.map((x) => x.address).join(', ')}`,
    );
  return c;
}

/** `op target`, e.g. `register_cluster Cluster/a`. */
export function step(plan: Plan, label: string): Step {
  const s = plan.steps.find((x) => `${x.op} ${x.target}` === label);
  if (!s)
    throw new Error(
      `no step "${label}"; have:\n${plan.steps.map((x) => `${x.op} ${x.target}`).join('\n')}`,
    );
  return s;
}

export function hasStep(plan: Plan, label: string): boolean {
  return plan.steps.some((x) => `${x.op} ${x.target}` === label);
}

/** True when `later` (transitively) depends on `earlier`. */
export function runsAfter(plan: Plan, later: string, earlier: string): boolean {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const target = step(plan, earlier).id;
  const seen = new Set<string>();
  const stack = [...step(plan, later).depends_on];
  while (stack.length) {
    const id = stack.pop()!;
    if (id === target) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...byId.get(id)!.depends_on);
  }
  return false;
}

export function expectOrder(plan: Plan, ...labels: string[]): void {
  for (let i = 1; i < labels.length; i++) {
    expect(
      runsAfter(plan, labels[i]!, labels[i - 1]!),
      `${labels[i]} should run after ${labels[i - 1]}`,
    ).toBe(true);
  }
}

/** Throws when a step depends on a later (or unknown) step: the invariant tests assert. */
export function assertTopological(steps: readonly Step[]): void {
  const seen = new Set<string>();
  for (const step of steps) {
    for (const dep of step.depends_on) {
      if (!seen.has(dep))
        throw new Error(`step ${step.id} depends on ${dep}, which does not come before it`);
    }
    seen.add(step.id);
  }
}

/**
 * Invariants every plan holds: ids in topological order, no cycle, summary matches changes, and
 * every step accounted for by the changes (what `apply FILE` checks: a plan saved is applied).
 */
export function expectWellFormed(plan: Plan): void {
  assertTopological(plan.steps);
  expect(unaccountedStep(plan)).toBeNull();
  plan.steps.forEach((s, i) => expect(s.id).toBe(`s${i + 1}`));
  const counts: Record<string, number> = {};
  for (const c of plan.changes) counts[c.action] = (counts[c.action] ?? 0) + 1;
  for (const [action, n] of Object.entries(plan.summary))
    expect(n, action).toBe(counts[action] ?? 0);
}

export function actions(plan: Plan): Record<string, string> {
  return Object.fromEntries(
    plan.changes.filter((c) => c.action !== 'noop').map((c) => [c.address, c.action]),
  );
}

export function warningCodes(plan: Plan): string[] {
  return plan.warnings.map((w) => `${w.code} ${w.address}`);
}

/** A step's args, loosely typed for assertions. */
export function argsOf(plan: Plan, label: string): Record<string, unknown> {
  return step(plan, label).args as Record<string, unknown>;
}

/** An in-cluster ExecutionCluster `cp`, a ClusterLabel `l1` on it, and team1/development → l1. */
export const FLYTE_LABEL_DOCS = `apiVersion: poolsync/v1
kind: ExecutionCluster
metadata: {name: cp}
spec: {inCluster: true}
---
apiVersion: poolsync/v1
kind: ClusterLabel
metadata: {name: l1}
spec: {clusters: [{cluster: cp, weight: 1}]}
---
apiVersion: poolsync/v1
kind: ExecutionClusterLabel
metadata: {name: e}
spec: {project: team1, domain: development, label: l1}
`;
