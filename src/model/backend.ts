/** A control-plane backend as the planner sees it (plain data plus one pure function). */
import type { ObjectKind } from './common.js';
import type { ManualInstruction, Step } from './plan.js';

/** What a backend says of itself (what it manages and its manual steps are derived: BackendInfo). */
export interface BackendProfile {
  /** For messages: `embedded`, `poolsync REST API`, `union`, `flyteadmin`. */
  name: string;
  /** Kinds it has no API for, rendered to files (`poolsync render`) and never planned. */
  configKinds?: readonly ObjectKind[];
  /** Union: queues carry caps and scheduling (QueueCaps); declared elsewhere: QUEUE_CAPS. */
  queueCaps?: true;
  /**
   * Kinds its API replaced (Union v2: default queues replaced pool assignments): planned blocked,
   * saying what to declare instead (src/plan/index.ts), not refused with BACKEND_KIND.
   */
  replacedKinds?: Readonly<{ PoolAssignment?: 'DefaultQueue' }>;
}

/** Derived from the control plane's parts (controlplane/types.ts `backendInfo`), never written. */
export interface BackendInfo extends BackendProfile {
  /** The kinds it reads and plans; another declared is refused, naming the backend. */
  kinds: readonly ObjectKind[];
  /**
   * What a person runs for a step it has no public API for (planned `execution: "manual"`); null
   * for steps made by API. Absent: all by API.
   */
  manualStep?: (step: Step) => ManualInstruction | null;
}
