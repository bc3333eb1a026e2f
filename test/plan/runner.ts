/**
 * A minimal sequential step runner for planner tests: runs each step once, in plan order,
 * after checking its dependencies ran. Deliberately not the apply engine (src/apply): these
 * tests hold the planner's predictions against the control plane's real rules.
 */
import type { ControlPlane } from '../../src/controlplane/types.js';
import { coreCalls, type CoreCalls } from '../controlplane/core-calls.js';
import type { Plan, Step } from '../../src/model/plan.js';
import { isControlPlaneError } from '../../src/controlplane/errors.js';

export async function runSteps(plan: Plan, cp: ControlPlane): Promise<void> {
  const done = new Set<string>();
  for (const step of plan.steps) {
    for (const dep of step.depends_on) {
      if (!done.has(dep))
        throw new Error(`${step.id} (${step.op} ${step.target}) runs before its dependency ${dep}`);
    }
    try {
      await runStep(step, coreCalls(cp));
    } catch (err) {
      throw new Error(
        `${step.id} ${step.op} ${step.target} ${JSON.stringify(step.args)} failed: ${(err as Error).message}`,
      );
    }
    done.add(step.id);
  }
}

async function runStep(step: Step, cp: CoreCalls): Promise<void> {
  switch (step.op) {
    case 'create_pool':
      await cp.createPool(step.args.name, step.args.contract);
      return;
    case 'delete_pool':
      await cp.deletePool(step.args.name);
      return;
    case 'register_cluster':
      await cp.registerCluster(step.args);
      return;
    case 'update_cluster':
      await cp.updateCluster(step.args.name, { enabled: step.args.enabled });
      return;
    case 'delete_cluster':
      await cp.deleteCluster(step.args.name);
      return;
    case 'create_queue':
      await cp.createQueue(step.args);
      return;
    case 'update_queue':
    case 'move_queue': {
      const { name, ...spec } = step.args;
      await cp.updateQueue(name, spec);
      return;
    }
    case 'wait_idle':
      for (const q of step.args.queues) {
        // As the executor reads it (src/apply/wait.ts): a queue deleted meanwhile is quiet.
        const m = await cp.queueMetrics(q).catch((err: unknown) => {
          if (isControlPlaneError(err, 'NOT_FOUND')) return null;
          throw err;
        });
        if (m && m.runs_in_flight + m.actions_in_flight > 0) throw new Error(`queue ${q} is busy`);
      }
      return;
    case 'set_assignment':
      await cp.setAssignment(step.args);
      return;
    case 'drain_queue':
      await cp.drainQueue(step.args.name);
      return;
    case 'wait_drained':
      for (const q of step.args.queues) {
        const state = (await cp.getQueue(q)).state;
        if (state !== 'drained') throw new Error(`queue ${q} is ${state}, not drained`);
      }
      return;
    case 'activate_queue':
      await cp.activateQueue(step.args.name);
      return;
    case 'delete_queue':
      await cp.deleteQueue(step.args.name);
      return;
    case 'move_cluster':
      await cp.moveCluster(step.args.name, step.args.pool);
      return;
    case 'update_pool':
      await cp.updatePool(step.args.name, step.args.contract);
      return;
    case 'delete_assignment':
      await cp.deleteAssignment(step.args);
      return;
  }
}
