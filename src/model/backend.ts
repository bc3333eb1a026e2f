/** A control-plane backend as the planner sees it (plain data plus one pure function). */
import type { ObjectKind } from './common.js';
import type { ManualInstruction, Step } from './plan.js';

/** What a backend is and which manifest kinds it manages (reads and plans). */
export interface BackendInfo {
  /** For messages: `embedded`, `poolsync REST API`, `union`, `flyteadmin`. */
  name: string;
  /** A repository declaring another kind is refused with an error naming the backend. */
  kinds: readonly ObjectKind[];
  /**
   * For steps this backend has no public API for: what a person runs instead (the step is then
   * planned as `execution: "manual"`); null for steps it makes by API. Absent: all by API.
   */
  manualStep?: (step: Step) => ManualInstruction | null;
  /**
   * Kinds a repository may declare although this backend has no API for them: they are
   * rendered to configuration files (`poolsync render`) and never planned against the backend.
   */
  configKinds?: readonly ObjectKind[];
}
