/**
 * The one writer of the daemon's `/status` document during a run: each stage returns what it
 * produced for it as a StatusUpdate (the top-level fields it sets, and the control plane's
 * fields it learnt), the reconcile loop (reconcile.ts) hands it here, and only this function
 * puts it in the document. A field keeps its place in the document (the JSON's key order is
 * that of `initialStatus`).
 */
import type { ControlPlaneStatus, DaemonStatus, StatusError } from '../status.js';

export type StatusUpdate = Partial<
  Omit<DaemonStatus, 'controlPlane' | 'source' | 'policy' | 'approval' | 'leader' | 'environments'>
> & { controlPlane?: Partial<ControlPlaneStatus> };

export function applyStatusUpdate(state: DaemonStatus, update: StatusUpdate): void {
  const { controlPlane, ...fields } = update;
  Object.assign(state, fields);
  if (controlPlane !== undefined) Object.assign(state.controlPlane, controlPlane);
}

/** Updates one after another, as one (the control plane's fields merged). */
export function mergeUpdates(...updates: StatusUpdate[]): StatusUpdate {
  let out: StatusUpdate = {};
  for (const { controlPlane, ...fields } of updates) {
    out = { ...out, ...fields };
    if (controlPlane !== undefined) out.controlPlane = { ...out.controlPlane, ...controlPlane };
  }
  return out;
}

/** Validation, fetch or control-plane problems: there is no plan to show. */
export function problemsUpdate(errors: StatusError[]): StatusUpdate {
  // Keep blocked/waiting of the last plan: they still describe the control plane.
  return { errors, summary: null, counts: null, warnings: [] };
}

/** Whether the control plane answered this run (/status `controlPlane`). */
export function reachedUpdate(
  backend: string | null,
  error: string | null,
  now: Date,
): StatusUpdate {
  return {
    controlPlane: {
      ...(backend !== null ? { backend } : {}),
      reachable: error === null,
      lastError: error,
      ...(error === null ? { lastAnsweredAt: now.toISOString() } : {}),
    },
  };
}
