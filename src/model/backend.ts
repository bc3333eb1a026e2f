/** A control-plane backend as the planner sees it (plain data plus one pure function). */
import type { ObjectKind } from './common.js';
import type { ManualInstruction, Step } from './plan.js';

/**
 * What a backend says of itself; what it manages and its manual steps follow from the parts it
 * has (BackendInfo).
 */
export interface BackendProfile {
  /** For messages: `embedded`, `poolsync REST API`, `union`, `flyteadmin`. */
  name: string;
  /**
   * Kinds a repository may declare although this backend has no API for them: they are
   * rendered to configuration files (`poolsync render`) and never planned against the backend.
   */
  configKinds?: readonly ObjectKind[];
  /**
   * Union: queues carry caps and scheduling (QueueCaps, model/common.ts), read and written. A
   * repository declaring them against a backend without is refused (QUEUE_CAPS). Absent: none.
   */
  queueCaps?: true;
  /**
   * Kinds its API replaced by another (Union v2: a default queue per project/domain replaced
   * pool assignments). A declared object of one is planned blocked, saying what to declare
   * instead (src/plan/index.ts), not refused with BACKEND_KIND; nothing is sent for it.
   */
  replacedKinds?: Readonly<{ PoolAssignment?: 'DefaultQueue' }>;
}

/** A backend and the manifest kinds it manages (reads and plans). */
export interface BackendInfo extends BackendProfile {
  /**
   * A repository declaring another kind is refused with an error naming the backend. Derived
   * from the calls the control plane has (controlplane/types.ts `backendInfo`), never written.
   */
  kinds: readonly ObjectKind[];
  /**
   * For steps this backend has no public API for: what a person runs instead (the step is then
   * planned as `execution: "manual"`); null for steps it makes by API. Absent: all by API.
   * Derived from the control plane's `manual` part (controlplane/types.ts `backendInfo`).
   */
  manualStep?: (step: Step) => ManualInstruction | null;
}
