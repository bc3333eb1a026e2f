/**
 * poolsync's own control planes (the embedded store and the REST client) serve every part of
 * poolsync's own kinds from one object (`readonly pools: PoolCalls = this`): tests call them flat.
 */
import type {
  AssignmentCalls,
  CapabilityCalls,
  ClusterCalls,
  ControlPlane,
  PoolCalls,
  QueueCalls,
} from '../../src/controlplane/types.js';

export type CoreCalls = ControlPlane &
  PoolCalls &
  ClusterCalls &
  QueueCalls &
  AssignmentCalls &
  CapabilityCalls;

/** `cp` typed with its core parts' calls; throws (a test bug) when a part is another object. */
export function coreCalls(cp: ControlPlane): CoreCalls {
  for (const part of ['pools', 'clusters', 'queues', 'assignments', 'capabilityCalls'] as const) {
    if ((cp[part] as unknown) !== cp)
      throw new Error(`${cp.backend.name}: its ${part} are not served flat`);
  }
  return cp as CoreCalls;
}
