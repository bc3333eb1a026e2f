/**
 * One control-plane call per step, through the part of the control plane for its kind
 * (partOf: a plan has no step for a part the backend lacks), made idempotent with respect to
 * what already happened:
 * a re-run after a crash (or after a transient failure whose call did land) finds some
 * work done and must neither do it twice nor fail on it.
 */
import { partOf, type ControlPlane } from '../controlplane/types.js';
import { isControlPlaneError } from '../controlplane/errors.js';
import type { PoolContract, QueueSpec } from '../model/common.js';
import type { Step } from '../model/plan.js';

/** A step's work was found already done; the note says how. */
export interface StepOutcome {
  note: string | null;
}

/** The live object is not what the step would have made: stop instead of guessing. */
export class StepConflictError extends Error {
  override readonly name = 'StepConflictError';
}

const DONE: StepOutcome = { note: null };

/** Runs every op except the waits, `wait_idle` and `wait_drained` (see wait.ts). */
export async function runCallStep(
  cp: ControlPlane,
  step: Exclude<Step, { op: 'wait_idle' | 'wait_drained' }>,
): Promise<StepOutcome> {
  switch (step.op) {
    case 'create_pool': {
      const { name, contract } = step.args;
      try {
        await partOf(cp, 'pools', step.target).createPool(name, contract);
        return DONE;
      } catch (err) {
        // P3: a crash (or a lost response) after the create landed. Same contract → done.
        if (!isControlPlaneError(err, 'ALREADY_EXISTS')) throw err;
        const live = await partOf(cp, 'pools', step.target).getPool(name);
        if (sameContract(live.contract, contract)) return { note: 'already exists' };
        throw new StepConflictError(
          `${step.target} already exists with a different contract (P4 forbids changing it); run \`poolsync plan\` again`,
        );
      }
    }
    case 'delete_pool':
      return ignoreNotFound(
        () => partOf(cp, 'pools', step.target).deletePool(step.args.name),
        'already deleted',
      );
    case 'register_cluster': {
      const { name, pool } = step.args;
      try {
        await partOf(cp, 'clusters', step.target).registerCluster(step.args);
        return DONE;
      } catch (err) {
        // C7: ALREADY_EXISTS means the same pool (another pool is FAILED_PRECONDITION).
        if (!isControlPlaneError(err, 'ALREADY_EXISTS')) throw err;
        const live = await partOf(cp, 'clusters', step.target).getCluster(name);
        if (live.pool === pool) return { note: 'already registered' };
        throw new StepConflictError(
          `${step.target} is already registered in pool "${live.pool}", not "${pool}" (C7); run \`poolsync plan\` again`,
        );
      }
    }
    case 'update_cluster':
      await partOf(cp, 'clusters', step.target).updateCluster(step.args.name, {
        enabled: step.args.enabled,
      });
      return DONE;
    case 'delete_cluster':
      return ignoreNotFound(
        () => partOf(cp, 'clusters', step.target).deleteCluster(step.args.name),
        'already deleted',
      );
    case 'create_queue': {
      const { name, ...spec } = step.args;
      try {
        await partOf(cp, 'queues', step.target).createQueue(step.args);
        return DONE;
      } catch (err) {
        // Q2 also answers ALREADY_EXISTS for a cluster's name; then there is no such queue.
        if (!isControlPlaneError(err, 'ALREADY_EXISTS')) throw err;
        let live;
        try {
          live = await partOf(cp, 'queues', step.target).getQueue(name);
        } catch (getErr) {
          if (isControlPlaneError(getErr, 'NOT_FOUND')) throw err;
          throw getErr;
        }
        const differing = queueSpecDiff(live, spec);
        if (differing.length === 0) return { note: 'already exists' };
        throw new StepConflictError(
          `${step.target} already exists with a different ${differing.join(', ')}; run \`poolsync plan\` again`,
        );
      }
    }
    case 'update_queue': {
      const { name, ...spec } = step.args;
      await partOf(cp, 'queues', step.target).updateQueue(name, spec);
      return DONE;
    }
    case 'set_assignment':
      // A1: an upsert, idempotent by nature.
      await partOf(cp, 'assignments', step.target).setAssignment(step.args);
      return DONE;
    case 'delete_assignment':
      return ignoreNotFound(
        () =>
          partOf(cp, 'assignments', step.target).deleteAssignment({
            project: step.args.project,
            domain: step.args.domain,
            workflow: step.args.workflow,
          }),
        'already deleted',
      );
    // Capability steps (domain.md, Capabilities): each is idempotent on the control plane.
    case 'drain_queue':
      // Draining a drained queue changes nothing; a queue already deleted has nothing to drain.
      return ignoreNotFound(
        async () =>
          void (await partOf(cp, 'capabilityCalls', step.target).drainQueue(step.args.name)),
        'already deleted',
      );
    case 'activate_queue':
      await partOf(cp, 'capabilityCalls', step.target).activateQueue(step.args.name);
      return DONE;
    case 'undelete_queue': {
      const queues = partOf(cp, 'queues', step.target);
      if (!queues.undeleteQueue)
        throw new StepConflictError(
          `${step.target}: the ${cp.backend.name} control plane has no soft-deleted queues; run \`poolsync plan\` again`,
        );
      await queues.undeleteQueue(step.args.name);
      return DONE;
    }
    case 'undelete_pool': {
      const pools = partOf(cp, 'pools', step.target);
      if (!pools.undeletePool) throw noSoftDeletes(cp, step.target, 'pools');
      await pools.undeletePool(step.args.name);
      return DONE;
    }
    case 'undelete_cluster': {
      const clusters = partOf(cp, 'clusters', step.target);
      if (!clusters.undeleteCluster) throw noSoftDeletes(cp, step.target, 'clusters');
      await clusters.undeleteCluster(step.args.name);
      return DONE;
    }
    case 'delete_queue':
      return ignoreNotFound(
        () => partOf(cp, 'capabilityCalls', step.target).deleteQueue(step.args.name),
        'already deleted',
      );
    case 'move_cluster': {
      const live = await partOf(cp, 'capabilityCalls', step.target).moveCluster(
        step.args.name,
        step.args.pool,
      );
      if (live.pool !== step.args.pool) {
        throw new StepConflictError(
          `${step.target} is in pool "${live.pool}" after the move to "${step.args.pool}"; run \`poolsync plan\` again`,
        );
      }
      return DONE;
    }
    case 'update_pool':
      await partOf(cp, 'capabilityCalls', step.target).updatePool(
        step.args.name,
        step.args.contract,
      );
      return DONE;
    case 'move_queue': {
      // queue_move: the update naming the new pool, on the DRAINED queue (a re-run after the
      // move landed sends the same spec again: nothing changes).
      const { name, ...spec } = step.args;
      const live = await partOf(cp, 'queues', step.target).updateQueue(name, spec);
      if (live.pool !== spec.pool) {
        throw new StepConflictError(
          `${step.target} is in pool "${live.pool}" after the move to "${spec.pool}"; run \`poolsync plan\` again`,
        );
      }
      return DONE;
    }
    case 'set_default_queue':
      // An upsert, like an assignment.
      await partOf(cp, 'defaultQueues', step.target).setDefaultQueue(
        step.args.project,
        step.args.domain,
        step.args.queue,
      );
      return DONE;
    case 'delete_default_queue':
      return ignoreNotFound(
        () =>
          partOf(cp, 'defaultQueues', step.target).deleteDefaultQueue(
            step.args.project,
            step.args.domain,
          ),
        'already deleted',
      );
    case 'set_execution_cluster_label':
      // An upsert (flyteadmin's Update*Attributes), idempotent by nature.
      await partOf(cp, 'executionClusterLabels', step.target).setExecutionClusterLabel(step.args);
      return DONE;
    case 'delete_execution_cluster_label':
      return ignoreNotFound(
        () =>
          partOf(cp, 'executionClusterLabels', step.target).deleteExecutionClusterLabel(step.args),
        'already deleted',
      );
    default: {
      const unknown: never = step;
      throw new StepConflictError(`unknown step op ${JSON.stringify((unknown as Step).op)}`);
    }
  }
}

async function ignoreNotFound(call: () => Promise<void>, note: string): Promise<StepOutcome> {
  try {
    await call();
    return DONE;
  } catch (err) {
    if (isControlPlaneError(err, 'NOT_FOUND')) return { note };
    throw err;
  }
}

export function sameContract(a: PoolContract, b: PoolContract): boolean {
  return (
    a.object_store_ref.uri === b.object_store_ref.uri &&
    (a.object_store_ref.endpoint ?? '') === (b.object_store_ref.endpoint ?? '') &&
    a.secret_store.type === b.secret_store.type &&
    a.secret_store.locator === b.secret_store.locator &&
    (a.image_registry?.locator ?? null) === (b.image_registry?.locator ?? null)
  );
}

/** Names of the fields where the live queue differs from the spec; the selector compared as a set. */
export function queueSpecDiff(live: QueueSpec, want: QueueSpec): string[] {
  const out: string[] = [];
  for (const field of [
    'pool',
    'run_concurrency',
    'action_concurrency',
    'depth',
    'priority',
    'fairness',
  ] as const) {
    if (live[field] !== want[field]) out.push(field);
  }
  const a = [...live.clusters].sort();
  const b = [...want.clusters].sort();
  if (a.length !== b.length || a.some((c, i) => c !== b[i])) out.push('clusters');
  return out;
}

function noSoftDeletes(cp: ControlPlane, target: string, what: string): StepConflictError {
  return new StepConflictError(
    `${target}: the ${cp.backend.name} control plane has no soft-deleted ${what}; run \`poolsync plan\` again`,
  );
}
