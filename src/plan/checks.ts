/**
 * Checks over the assembled decisions (index.ts computePlan): each returns the plan errors it
 * finds; they decide nothing.
 */
import { address, assignmentKeyString } from '../model/common.js';
import type { Change, PlanError } from '../model/plan.js';
import { locationOf, preventsDestroy, type PlanContext } from './context.js';
import { planError } from './reasons.js';

/** Plan errors: a desired or would-be-destroyed object annotated prevent-destroy (Terraform's prevent_destroy). */
export function checkPreventDestroy(ctx: PlanContext): PlanError[] {
  const errors: PlanError[] = [];
  const check = (
    kind: 'ClusterPool' | 'Cluster' | 'PoolAssignment',
    name: string,
    change: Change,
    obj: Parameters<typeof preventsDestroy>[0] & { source: Parameters<typeof locationOf>[0] },
  ) => {
    if (!change.destructive || !preventsDestroy(obj)) return;
    const forcing = change.diff.filter((d) => d.forces_replacement);
    const addr = address(kind, name);
    errors.push(
      planError(
        'PREVENT_DESTROY',
        addr,
        {
          address: addr,
          action: change.action,
          fields: forcing.map((d) => d.path),
          before: forcing.map((d) => JSON.stringify(d.before)),
          after: forcing.map((d) => JSON.stringify(d.after)),
          caused_by: change.caused_by ?? null,
        },
        locationOf(obj?.source),
      ),
    );
  };
  for (const [name, d] of ctx.pools) {
    const obj = ctx.dPools.get(name);
    if (obj) check('ClusterPool', name, d.change, obj);
  }
  for (const [name, d] of ctx.clusters) {
    const obj = ctx.dClusters.get(name);
    if (obj) check('Cluster', name, d.change, obj);
  }
  for (const [k, d] of ctx.assignments) {
    const obj = ctx.dAssignments.get(k);
    if (obj) check('PoolAssignment', k, d.change, obj);
  }
  return errors;
}

/**
 * Defence in depth behind validation (V2, V8): a desired object naming a pool that will
 * not exist would only fail at apply time; fail the plan instead.
 */
export function checkReferences(
  ctx: PlanContext,
  configOnlyPools: ReadonlySet<string>,
): PlanError[] {
  const errors: PlanError[] = [];
  // A declared pool the plan cannot create (contract marked unknown) has its own error.
  const exists = (pool: string) =>
    configOnlyPools.has(pool) ||
    Boolean(ctx.pools.get(pool)?.finalContract) ||
    ctx.dPools.get(pool)?.contract === null;
  for (const c of ctx.desired.clusters) {
    if (!exists(c.pool)) {
      const cluster = address('Cluster', c.name);
      errors.push(
        planError(
          'UNKNOWN_POOL',
          cluster,
          { cluster, assignment: null, pool: c.pool },
          locationOf(c.source),
        ),
      );
    }
  }
  for (const a of ctx.desired.assignments) {
    if (!exists(a.pool)) {
      errors.push(
        planError(
          'UNKNOWN_POOL',
          address('PoolAssignment', assignmentKeyString(a)),
          { cluster: null, assignment: a.name, pool: a.pool },
          locationOf(a.source),
        ),
      );
    }
  }
  return errors;
}
